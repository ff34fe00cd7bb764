//! When a state version must carry a full snapshot, so that rebuilding any version replays a
//! bounded number of operations however long the history grows.
//!
//! Python mirrors this rule in `nerv_inner_universe/contract/snapshots.py`, so that a client
//! sends a snapshot exactly when one is required.

use crate::error::{Code, RuleError, RuleResult};

/// The config key holding the interval.
pub const INTERVAL_KEY: &str = "snapshot_interval";

/// Used when the `snapshot_interval` config row is missing or not an integer in
/// `1..=MAX_INTERVAL`.
pub const DEFAULT_INTERVAL: u64 = 50;

/// The largest interval an admin may set: rebuilding a version's state (to verify its hash on
/// commit, or to read it) applies at most about this many versions' operations.
pub const MAX_INTERVAL: u64 = 10_000;

/// A root version always needs one (there is nothing to apply its operations to); otherwise
/// one is due when `interval` versions would pass without one.
pub fn snapshot_required(has_parent: bool, versions_since_snapshot: u64, interval: u64) -> bool {
    !has_parent || versions_since_snapshot + 1 >= interval.max(1)
}

/// `snapshot_required` as a rule: a version without a snapshot when one is due is refused
/// with [`Code::SnapshotRequired`], which clients answer by sending the snapshot.
pub fn require_snapshot(
    version_id: &str,
    timeline: &str,
    has_snapshot: bool,
    has_parent: bool,
    versions_since_snapshot: u64,
    interval: u64,
) -> RuleResult {
    if has_snapshot || !snapshot_required(has_parent, versions_since_snapshot, interval) {
        return Ok(());
    }
    Err(RuleError::new(
        Code::SnapshotRequired,
        format!(
            "version {version_id:?} needs a snapshot: it is a root version or the \
             {interval}th since the last snapshot on timeline {timeline:?} \
             (snapshot_interval = {interval})"
        ),
    ))
}

/// Reads the configured interval from its canonical JSON text.
pub fn parse_interval(value: Option<&str>) -> u64 {
    value
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| (1..=MAX_INTERVAL).contains(n))
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
    fn a_missing_snapshot_is_refused_with_its_own_code() {
        let err = require_snapshot("v1", "main", false, false, 0, 50).unwrap_err();
        assert_eq!(err.code, Code::SnapshotRequired);
        assert!(err
            .to_string()
            .starts_with("snapshot_required: version \"v1\" needs"));
        assert!(require_snapshot("v1", "main", true, false, 0, 50).is_ok());
        assert!(require_snapshot("v2", "main", false, true, 0, 50).is_ok());
    }

    #[test]
    fn the_default_config_row_holds_the_default_interval() {
        let (_, value, _) = crate::config::DEFAULTS
            .iter()
            .find(|(key, _, _)| *key == INTERVAL_KEY)
            .expect("init writes snapshot_interval");
        assert_eq!(*value, DEFAULT_INTERVAL.to_string());
    }

    #[test]
    fn interval_falls_back_to_the_default() {
        assert_eq!(parse_interval(Some("7")), 7);
        assert_eq!(parse_interval(Some("0")), DEFAULT_INTERVAL);
        assert_eq!(parse_interval(Some("10000")), 10_000);
        assert_eq!(parse_interval(Some("10001")), DEFAULT_INTERVAL);
        assert_eq!(parse_interval(Some("\"x\"")), DEFAULT_INTERVAL);
        assert_eq!(parse_interval(None), DEFAULT_INTERVAL);
    }
}
