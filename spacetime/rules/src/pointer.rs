//! RFC 6901 JSON Pointers, the path syntax of delta operations.

use crate::error::{RuleError, RuleResult};
use crate::limits::MAX_PATH_LEN;

/// A pointer is `""` (the whole document) or a sequence of `/token`s in which `~` appears only
/// as `~0` or `~1`.
pub fn validate_pointer(field: &str, path: &str) -> RuleResult {
    if path.len() > MAX_PATH_LEN {
        return Err(RuleError::invalid(format!(
            "{field} is {} bytes long; the limit is {MAX_PATH_LEN}",
            path.len()
        )));
    }
    if path.is_empty() {
        return Ok(());
    }
    if !path.starts_with('/') {
        return Err(RuleError::invalid(format!(
            "{field} {path:?} is not a JSON Pointer: it must be empty or start with '/'"
        )));
    }
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(RuleError::invalid(format!(
                "{field} {path:?} is not a JSON Pointer: '~' must be followed by '0' or '1'"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc6901_examples() {
        for p in ["", "/foo", "/foo/0", "/", "/a~1b", "/c%d", "/m~0n", "/ "] {
            assert!(validate_pointer("path", p).is_ok(), "{p}");
        }
    }

    #[test]
    fn rejects_relative_and_bad_escapes() {
        assert!(validate_pointer("path", "foo")
            .unwrap_err()
            .message
            .contains("must be empty or start with '/'"));
        assert!(validate_pointer("path", "/a~2").is_err());
        assert!(validate_pointer("path", "/a~").is_err());
        assert!(validate_pointer("path", &format!("/{}", "a".repeat(1024))).is_err());
    }
}
