//! Config keys: their syntax, which are admin-only, and the defaults `init` writes.

use crate::error::{RuleError, RuleResult};
use crate::limits::MAX_NAME_LEN;
use crate::snapshots;

const ADMIN_KEYS: &[&str] = &["log_level", "cache_size_mb"];
const ADMIN_PREFIXES: &[&str] = &["feature_enable_", "admin_", "security_"];

/// Keys are lowercase identifiers: `[a-z0-9_.]`, starting with a letter.
pub fn validate_key(key: &str) -> RuleResult {
    let valid = key.len() <= MAX_NAME_LEN
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if valid {
        Ok(())
    } else {
        Err(RuleError::invalid(format!(
            "config key {key:?} must start with a-z and use only a-z, 0-9, '_' and '.' \
             (at most {MAX_NAME_LEN} bytes)"
        )))
    }
}

/// Keys that only an admin (the identity that published the database) may change.
pub fn is_admin_only(key: &str) -> bool {
    ADMIN_KEYS.contains(&key) || ADMIN_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// `(key, canonical JSON value, description)` rows written by `init`.
pub const DEFAULTS: &[(&str, &str, &str)] = &[
    ("log_level", "\"info\"", "Module log level"),
    ("cache_size_mb", "64", "Client cache budget hint, in MiB"),
    (
        "max_connections",
        "100",
        "Connection budget hint for clients",
    ),
    ("timeout", "30.0", "Client call timeout hint, in seconds"),
    ("auth_required", "true", "Clients must present a token"),
    (
        snapshots::INTERVAL_KEY,
        "50",
        "A version stores a full snapshot at least every N versions of its timeline",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    #[test]
    fn admin_keys_follow_the_upstream_list() {
        for key in [
            "log_level",
            "cache_size_mb",
            "feature_enable_x",
            "admin_email",
            "security_mode",
        ] {
            assert!(is_admin_only(key), "{key}");
        }
        for key in ["snapshot_interval", "app.theme", "timeout"] {
            assert!(!is_admin_only(key), "{key}");
        }
    }

    #[test]
    fn key_syntax() {
        assert!(validate_key("app.theme_2").is_ok());
        assert!(validate_key("").is_err());
        assert!(validate_key("Theme").is_err());
        assert!(validate_key("2fa").is_err());
        assert!(validate_key("a-b").is_err());
    }

    #[test]
    fn defaults_are_canonical_json() {
        for (key, value, _) in DEFAULTS {
            assert!(validate_key(key).is_ok(), "{key}");
            assert_eq!(json::canonicalize(key, value).unwrap(), *value);
        }
    }
}
