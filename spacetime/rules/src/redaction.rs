//! Redaction: an admin takes a poisoned event, version, delta or config key out of what replay
//! restores, leaving a tombstone (see the module's `reducers/redaction.rs`).

use crate::error::{RuleError, RuleResult};
use crate::text;

/// Why a row was redacted: required, free text (at most `MAX_TEXT_LEN` bytes, no NUL) that
/// says more than whitespace, because the tombstone is the only trace of what was there.
pub fn validate_reason(reason: &str) -> RuleResult {
    if reason.trim().is_empty() {
        return Err(RuleError::invalid(
            "reason is empty; say why the row is redacted (it stays in the tombstone)",
        ));
    }
    text::validate_text("reason", reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Code;
    use crate::limits::MAX_TEXT_LEN;

    #[test]
    fn a_reason_is_required_and_bounded() {
        assert!(validate_reason("leaked a token").is_ok());
        for reason in ["", "   ", "\n\t"] {
            let err = validate_reason(reason).unwrap_err();
            assert_eq!(err.code, Code::InvalidArgument);
            assert!(err.message.contains("reason is empty"), "{err}");
        }
        assert!(validate_reason(&"x".repeat(MAX_TEXT_LEN + 1)).is_err());
        assert!(validate_reason("a\0b").is_err());
    }
}
