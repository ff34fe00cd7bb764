//! Client-supplied points in time (`occurred_at` of events, versions and deltas).

use crate::error::{RuleError, RuleResult};

/// 0001-01-01T00:00:00Z in microseconds since the Unix epoch: the first instant Python's
/// `datetime` (and so every reader of the log) can represent.
pub const MIN_OCCURRED_AT_MICROS: i64 = -62_135_596_800_000_000;
/// 9999-12-31T23:59:59.999999Z in microseconds since the Unix epoch: the last such instant.
pub const MAX_OCCURRED_AT_MICROS: i64 = 253_402_300_799_999_999;

/// `micros` (microseconds since the Unix epoch) must lie in years 1 to 9999 UTC, so that every
/// stored time converts to a calendar date without overflow.
pub fn validate_occurred_at(field: &str, micros: i64) -> RuleResult {
    if (MIN_OCCURRED_AT_MICROS..=MAX_OCCURRED_AT_MICROS).contains(&micros) {
        return Ok(());
    }
    Err(RuleError::invalid(format!(
        "{field} is {micros} microseconds since the Unix epoch; it must lie in years 1 to 9999 \
         UTC ({MIN_OCCURRED_AT_MICROS}..={MAX_OCCURRED_AT_MICROS})"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    #[test]
    fn the_bounds_are_accepted_and_one_past_them_is_not() {
        for ok in [
            MIN_OCCURRED_AT_MICROS,
            0,
            1_700_000_000_000_000,
            MAX_OCCURRED_AT_MICROS,
        ] {
            assert_eq!(validate_occurred_at("occurred_at", ok), Ok(()));
        }
        for bad in [
            i64::MIN,
            MIN_OCCURRED_AT_MICROS - 1,
            MAX_OCCURRED_AT_MICROS + 1,
            i64::MAX,
        ] {
            let err = validate_occurred_at("event.occurred_at", bad).unwrap_err();
            assert_eq!(err.code, Code::InvalidArgument);
            assert!(
                err.message.starts_with("event.occurred_at is "),
                "{}",
                err.message
            );
            assert!(err.message.contains(&bad.to_string()), "{}", err.message);
        }
    }

    #[test]
    fn the_bounds_are_years_1_and_9999() {
        const DAY: i64 = 86_400_000_000;
        // 719_162 days from 0001-01-01 to 1970-01-01; 2_932_897 days from then to 10000-01-01.
        assert_eq!(MIN_OCCURRED_AT_MICROS, -719_162 * DAY);
        assert_eq!(MAX_OCCURRED_AT_MICROS, 2_932_897 * DAY - 1);
    }
}
