//! When a state version must carry a full snapshot, so that rebuilding any version replays a
//! bounded number of operations however long the history grows.

/// Used when the `snapshot_interval` config row is missing or not a positive integer.
pub const DEFAULT_INTERVAL: u64 = 50;

/// A root version always needs one (there is nothing to apply its operations to); otherwise
/// one is due when `interval` versions would pass without one.
pub fn snapshot_required(has_parent: bool, versions_since_snapshot: u64, interval: u64) -> bool {
    !has_parent || versions_since_snapshot + 1 >= interval.max(1)
}

/// Reads the configured interval from its canonical JSON text.
pub fn parse_interval(value: Option<&str>) -> u64 {
    value
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_always_need_a_snapshot() {
        assert!(snapshot_required(false, 0, 50));
    }

    #[test]
    fn every_interval_th_version_needs_one() {
        assert!(!snapshot_required(true, 0, 3));
        assert!(!snapshot_required(true, 1, 3));
        assert!(snapshot_required(true, 2, 3));
        assert!(snapshot_required(true, 0, 1));
        assert!(
            snapshot_required(true, 0, 0),
            "0 behaves as 1, not as 'never'"
        );
    }

    #[test]
    fn interval_falls_back_to_the_default() {
        assert_eq!(parse_interval(Some("7")), 7);
        assert_eq!(parse_interval(Some("0")), DEFAULT_INTERVAL);
        assert_eq!(parse_interval(Some("\"x\"")), DEFAULT_INTERVAL);
        assert_eq!(parse_interval(None), DEFAULT_INTERVAL);
    }
}
