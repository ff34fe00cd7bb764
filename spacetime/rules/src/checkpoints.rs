//! The checkpoint of a StateProjector's delta stream: its projected state after the stream's
//! deltas up to one `seq`, which the module keeps (`delta_checkpoint`) so that a client
//! restores a projector at its head from it and the deltas after it, however long the stream.
//!
//! Deltas are applied as a StateProjector replays them (`nerv/projector.py` `restore`,
//! `apply_remote`): in `seq` order, starting from the empty object, each one's operations in
//! order; a delta whose operations do not apply at its place (any [`patch::apply`] error) is a
//! no-op and keeps its place. Each delta's index is the plugin's (`plugin/streams.py`
//! `delta_index`), so a client goes on numbering after the checkpoint as a full replay would.

use crate::json::Value;
use crate::patch::{self, Operation};

/// The state a stream's deltas build on: the empty object, a runtime projector's initial state.
pub const INITIAL_STATE: &str = "{}";

/// A refresh applies at most this many times the deltas it is due after, so a checkpoint
/// left behind (by a redaction, or an import that brought deltas and no checkpoint) catches up
/// while each refresh stays bounded.
pub const CATCH_UP_FACTOR: u64 = 2;

/// A refresh is due after at most this many deltas, whatever `snapshot_interval` says, so one
/// refresh applies at most `CATCH_UP_FACTOR` times this many deltas.
pub const MAX_REFRESH_DELTAS: u64 = 64;

/// A refresh stops before the checkpoint's state text plus the operations it applied would
/// pass this many bytes (and does not start when the state alone does): its work stays
/// bounded, the checkpoint is left behind, and a client reads the deltas after it.
pub const MAX_REFRESH_BYTES: usize = 256 * 1024;

/// The deltas after which a refresh is due: `interval`, at most [`MAX_REFRESH_DELTAS`].
fn refresh_every(interval: u64) -> u64 {
    interval.clamp(1, MAX_REFRESH_DELTAS)
}

/// Whether a refresh is due once `recorded_since` deltas were recorded since the last one.
pub fn refresh_due(recorded_since: u64, interval: u64) -> bool {
    recorded_since >= refresh_every(interval)
}

/// The most deltas one refresh applies.
pub fn refresh_limit(interval: u64) -> usize {
    usize::try_from(refresh_every(interval) * CATCH_UP_FACTOR).unwrap_or(usize::MAX)
}

/// Whether a refresh may apply one more delta of `delta_bytes` to a state of `state_bytes`
/// after applying `spent_bytes` of operations (see [`MAX_REFRESH_BYTES`]).
pub fn within_budget(state_bytes: usize, spent_bytes: usize, delta_bytes: usize) -> bool {
    state_bytes
        .saturating_add(spent_bytes)
        .saturating_add(delta_bytes)
        <= MAX_REFRESH_BYTES
}

/// `state` after one delta, and whether it applied: a delta whose operations do not apply to
/// `state` is a no-op (`state` comes back unchanged, and false).
pub fn apply_delta(state: Value, ops: &[Operation]) -> (Value, bool) {
    match patch::apply(state.clone(), ops, "delta") {
        Ok(after) => (after, true),
        Err(_) => (state, false),
    }
}

/// The longest run of digits a delta id's index may have (`plugin/streams.py`).
const MAX_INDEX_DIGITS: usize = 19;

/// The index a stored delta of `stream` is applied under when the first free index is
/// `lowest` (one past the index of the delta before it in `seq` order, 0 for the first): the
/// `n` of an id `<stream>:<n>` or `<stream>:<n>.<writer>` (1 to 19 ASCII digits) raised to
/// `lowest`, or `lowest` for an id of any other form. Mirrors `plugin/streams.py`
/// `delta_index`.
pub fn delta_index(stream: &str, delta_id: &str, lowest: u64) -> u64 {
    let digits = delta_id
        .strip_prefix(stream)
        .and_then(|rest| rest.strip_prefix(':'))
        .map(|rest| rest.split('.').next().unwrap_or(""))
        .unwrap_or("");
    let parsed = if (1..=MAX_INDEX_DIGITS).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
    {
        digits.parse::<u64>().ok()
    } else {
        None
    };
    parsed.map_or(lowest, |index| index.max(lowest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn set(path: &str, value: &str) -> Operation {
        Operation::Set {
            path: path.to_string(),
            value: json::parse("value", value).unwrap(),
        }
    }

    fn delete(path: &str) -> Operation {
        Operation::Delete {
            path: path.to_string(),
        }
    }

    #[test]
    fn a_delta_that_applies_changes_the_state() {
        let state = json::parse("state", INITIAL_STATE).unwrap();
        let (after, applied) = apply_delta(state, &[set("/a", "1"), set("/b", "[2]")]);
        assert!(applied);
        assert_eq!(json::to_canonical(&after), r#"{"a":1,"b":[2]}"#);
    }

    #[test]
    fn a_delta_that_does_not_apply_is_a_no_op_even_after_a_step_that_did() {
        let state = json::parse("state", r#"{"a":1}"#).unwrap();
        let (after, applied) = apply_delta(state, &[delete("/a"), delete("/missing")]);
        assert!(!applied);
        assert_eq!(json::to_canonical(&after), r#"{"a":1}"#);
    }

    #[test]
    fn a_refresh_is_due_every_interval_deltas_and_applies_twice_that_at_most() {
        assert!(!refresh_due(2, 3));
        assert!(refresh_due(3, 3));
        assert!(refresh_due(1, 0));
        assert_eq!(refresh_limit(50), 100);
        assert_eq!(refresh_limit(0), 2);
    }

    #[test]
    fn a_large_interval_refreshes_every_max_refresh_deltas_and_applies_a_fixed_number() {
        assert!(refresh_due(MAX_REFRESH_DELTAS, 100_000));
        assert!(!refresh_due(MAX_REFRESH_DELTAS - 1, 100_000));
        assert_eq!(refresh_limit(100_000), 128);
        assert_eq!(refresh_limit(u64::MAX), 128);
    }

    #[test]
    fn a_refresh_stays_within_its_byte_budget() {
        assert!(within_budget(0, 0, MAX_REFRESH_BYTES));
        assert!(!within_budget(0, 1, MAX_REFRESH_BYTES));
        assert!(!within_budget(MAX_REFRESH_BYTES + 1, 0, 0));
        assert!(!within_budget(usize::MAX, usize::MAX, 1));
    }

    #[test]
    fn delta_indexes_follow_the_plugin_ids_and_rise_along_the_log() {
        assert_eq!(delta_index("s", "s:5.abc", 0), 5);
        assert_eq!(delta_index("s", "s:5", 0), 5);
        assert_eq!(delta_index("s", "s:5.abc", 6), 6);
        assert_eq!(delta_index("s", "other-form", 4), 4);
        assert_eq!(delta_index("s", "s:x1.abc", 4), 4);
        assert_eq!(delta_index("s", "s:+1", 4), 4);
        assert_eq!(delta_index("s", "s:", 4), 4);
        assert_eq!(delta_index("s", "st:9", 1), 1);
        assert_eq!(
            delta_index("s", "s:1234567890123456789.w", 0),
            1_234_567_890_123_456_789
        );
        assert_eq!(delta_index("s", "s:12345678901234567890.w", 3), 3);
    }
}
