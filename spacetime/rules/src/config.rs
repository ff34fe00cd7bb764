//! Config keys: their syntax, the settings the module reads (typed, range-checked and
//! admin-only), which other keys are admin-only, and the defaults `init` writes.

use crate::budget;
use crate::error::{RuleError, RuleResult};
use crate::json::Value;
use crate::limits::{MAX_CONFIG_VALUE_BYTES, MAX_JSON_BYTES, MAX_NAME_LEN};
use crate::snapshots;

/// Admission: at most this many connections are open at once (admins are always admitted).
pub const MAX_CONNECTIONS_KEY: &str = "max_connections";
/// Used when the `max_connections` row is missing or out of range.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 100;
/// The largest `max_connections` an admin may set.
pub const MAX_CONNECTIONS_LIMIT: u64 = 100_000;
/// Whether identities need a role to change anything.
pub const AUTH_REQUIRED_KEY: &str = "auth_required";
/// The largest event (`data` plus `metadata`, canonical bytes) `publish_event(s)` accepts.
pub const MAX_EVENT_BYTES_KEY: &str = "max_event_bytes";
/// Used when the `max_event_bytes` row is missing or out of range (1 MiB).
pub const DEFAULT_MAX_EVENT_BYTES: u64 = 1024 * 1024;
/// The smallest `max_event_bytes` an admin may set.
pub const MIN_EVENT_BYTES: u64 = 1024;
/// A call-timeout hint for clients, in seconds (SpacetimeDB 1.2.0 has no reducer timeout).
pub const TIMEOUT_KEY: &str = "timeout";
/// The largest `timeout` an admin may set, in seconds (one day).
pub const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

const ADMIN_KEYS: &[&str] = &[
    "log_level",
    "cache_size_mb",
    MAX_CONNECTIONS_KEY,
    MAX_EVENT_BYTES_KEY,
    AUTH_REQUIRED_KEY,
    TIMEOUT_KEY,
    snapshots::INTERVAL_KEY,
    budget::EVENTS_KEY,
    budget::BYTES_KEY,
    budget::WINDOW_KEY,
];
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

/// Checks a value for `key`: the settings the module reads have a type and a range; any other
/// key takes any JSON value of at most `MAX_CONFIG_VALUE_BYTES` canonical bytes.
pub fn validate_value(key: &str, value: &Value, canonical: &str) -> RuleResult {
    if canonical.len() > MAX_CONFIG_VALUE_BYTES {
        return Err(RuleError::invalid(format!(
            "the value of {key:?} is {} bytes; the limit is {MAX_CONFIG_VALUE_BYTES}",
            canonical.len()
        )));
    }
    let fits = match key {
        snapshots::INTERVAL_KEY => integer_in(value, 1, snapshots::MAX_INTERVAL),
        MAX_CONNECTIONS_KEY => integer_in(value, 1, MAX_CONNECTIONS_LIMIT),
        MAX_EVENT_BYTES_KEY => integer_in(value, MIN_EVENT_BYTES, MAX_JSON_BYTES as u64),
        AUTH_REQUIRED_KEY => matches!(value, Value::Bool(_)),
        TIMEOUT_KEY => seconds(value).is_some_and(|s| s > 0.0 && s <= MAX_TIMEOUT_SECONDS),
        budget::EVENTS_KEY | budget::BYTES_KEY => integer_in(value, 0, budget::MAX_BUDGET),
        budget::WINDOW_KEY => integer_in(value, 1, budget::MAX_WINDOW_SECONDS),
        _ => true,
    };
    if fits {
        return Ok(());
    }
    let expected = match key {
        snapshots::INTERVAL_KEY => format!("an integer from 1 to {}", snapshots::MAX_INTERVAL),
        MAX_CONNECTIONS_KEY => format!("an integer from 1 to {MAX_CONNECTIONS_LIMIT}"),
        MAX_EVENT_BYTES_KEY => format!("an integer from {MIN_EVENT_BYTES} to {MAX_JSON_BYTES}"),
        AUTH_REQUIRED_KEY => "true or false".to_string(),
        budget::EVENTS_KEY | budget::BYTES_KEY => {
            format!("an integer from 0 (unlimited) to {}", budget::MAX_BUDGET)
        }
        budget::WINDOW_KEY => format!("an integer from 1 to {}", budget::MAX_WINDOW_SECONDS),
        _ => format!("a number of seconds above 0 and at most {MAX_TIMEOUT_SECONDS}"),
    };
    Err(RuleError::invalid(format!(
        "{key} is {canonical}; it must be {expected}"
    )))
}

fn integer_in(value: &Value, min: u64, max: u64) -> bool {
    matches!(value, Value::Integer(n) if u64::try_from(*n).is_ok_and(|n| (min..=max).contains(&n)))
}

fn seconds(value: &Value) -> Option<f64> {
    match value {
        #[allow(clippy::cast_precision_loss)] // seconds, compared with a bound of one day
        Value::Integer(n) => Some(*n as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// `max_connections` from its stored canonical JSON (the default when missing or out of range).
pub fn parse_max_connections(value: Option<&str>) -> u64 {
    value
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| (1..=MAX_CONNECTIONS_LIMIT).contains(n))
        .unwrap_or(DEFAULT_MAX_CONNECTIONS)
}

/// `max_event_bytes` from its stored canonical JSON (the default when missing or out of range).
pub fn parse_max_event_bytes(value: Option<&str>) -> usize {
    let bytes = value
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| (MIN_EVENT_BYTES..=MAX_JSON_BYTES as u64).contains(n))
        .unwrap_or(DEFAULT_MAX_EVENT_BYTES);
    usize::try_from(bytes).unwrap_or(MAX_JSON_BYTES)
}

/// `auth_required` from its stored canonical JSON: only `false` turns it off.
pub fn parse_auth_required(value: Option<&str>) -> bool {
    value != Some("false")
}

/// Keys that only an admin (the identity that published the database) may change.
pub fn is_admin_only(key: &str) -> bool {
    ADMIN_KEYS.contains(&key) || ADMIN_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// `(key, canonical JSON value, description)` rows written by `init`.
pub const DEFAULTS: &[(&str, &str, &str)] = &[
    (
        "max_connections",
        "100",
        "At most this many connections at once; admins are always admitted",
    ),
    (
        "max_event_bytes",
        "1048576",
        "The largest event (data plus metadata, in canonical bytes) a client may publish",
    ),
    (
        "timeout",
        "30.0",
        "A call timeout hint for clients, in seconds (not enforced by the module)",
    ),
    (
        "auth_required",
        "true",
        "Identities need a role to change anything",
    ),
    (
        snapshots::INTERVAL_KEY,
        "50",
        "A version stores a full snapshot at least every N versions of its timeline",
    ),
    (
        budget::EVENTS_KEY,
        "0",
        "Events each identity but an admin may write per budget window; 0 is unlimited",
    ),
    (
        budget::BYTES_KEY,
        "0",
        "Bytes each identity but an admin may write per budget window; 0 is unlimited",
    ),
    (
        budget::WINDOW_KEY,
        "60",
        "The length of a write budget window, in seconds",
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
        for key in [
            "snapshot_interval",
            "max_connections",
            "auth_required",
            "timeout",
            "write_budget_events",
            "write_budget_bytes",
            "write_budget_window_seconds",
        ] {
            assert!(is_admin_only(key), "{key}");
        }
        for key in ["app.theme", "snapshot_interval_x"] {
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
    fn defaults_are_canonical_json_and_valid() {
        for (key, value, _) in DEFAULTS {
            assert!(validate_key(key).is_ok(), "{key}");
            assert_eq!(json::canonicalize(key, value).unwrap(), *value);
            assert!(check(key, value).is_ok(), "{key}");
        }
    }

    fn check(key: &str, text: &str) -> RuleResult {
        let value = json::parse("value", text).unwrap();
        validate_value(key, &value, &json::to_canonical(&value))
    }

    #[test]
    fn settings_are_typed_and_bounded() {
        for (key, good, bad) in [
            (
                "snapshot_interval",
                &["1", "10000"][..],
                &["0", "10001", "1.0", "\"5\"", "-1"][..],
            ),
            (
                "max_connections",
                &["1", "100000"],
                &["0", "-1", "100001", "true"],
            ),
            (
                "max_event_bytes",
                &["1024", "4194304"],
                &["1023", "4194305", "1e6"],
            ),
            (
                "auth_required",
                &["true", "false"],
                &["1", "\"false\"", "null"],
            ),
            (
                "timeout",
                &["30.0", "1", "86400"],
                &["0", "-1.5", "86401", "\"30\""],
            ),
            (
                "write_budget_events",
                &["0", "1", "1125899906842624"],
                &["-1", "1.5", "1125899906842625", "\"5\""],
            ),
            ("write_budget_bytes", &["0", "4096"], &["-1", "null"]),
            (
                "write_budget_window_seconds",
                &["1", "86400"],
                &["0", "86401", "2.5"],
            ),
        ] {
            for text in good {
                assert!(check(key, text).is_ok(), "{key} = {text}");
            }
            for text in bad {
                let err = check(key, text).unwrap_err();
                assert!(err.message.starts_with(&format!("{key} is ")), "{err}");
                assert!(err.message.contains("it must be"), "{err}");
            }
        }
        assert!(check("app.anything", "[1,{\"a\":null}]").is_ok());
        let big = format!("\"{}\"", "x".repeat(MAX_CONFIG_VALUE_BYTES));
        assert!(check("app.big", &big)
            .unwrap_err()
            .message
            .contains("the limit is"));
    }

    #[test]
    fn stored_settings_fall_back_to_their_defaults() {
        assert_eq!(parse_max_connections(Some("7")), 7);
        assert_eq!(parse_max_connections(Some("0")), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(parse_max_connections(None), DEFAULT_MAX_CONNECTIONS);
        assert_eq!(parse_max_event_bytes(Some("2048")), 2048);
        assert_eq!(parse_max_event_bytes(Some("10")), 1024 * 1024);
        assert!(parse_auth_required(None));
        assert!(parse_auth_required(Some("true")));
        assert!(parse_auth_required(Some("1")));
        assert!(!parse_auth_required(Some("false")));
    }
}
