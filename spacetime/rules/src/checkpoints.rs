//! The checkpoint of a StateProjector's delta stream: its projected state after the stream's
//! deltas up to one `seq`, which the module keeps (`delta_checkpoint`) so that a client
//! restores a projector at its head from it and the deltas after it, however long the stream.
//!
//! Deltas are applied as a StateProjector replays them (`nerv/projector.py` `restore`,
//! `apply_remote`): in `seq` order, starting from the empty object, each one's operations in
//! order; a delta whose operations do not apply at its place (any [`patch::apply`] error) is a
//! no-op and keeps its place. Each delta's index is the plugin's (`plugin/streams.py`
//! `delta_index`), so a client goes on numbering after the checkpoint as a full replay would.

use crate::json::{self, Value};
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
/// bounded, the checkpoint is left behind, and a client reads the deltas after it. The bytes
/// are counted as the state text will hold them (see [`DeltaCost`]), so the checkpoint's state
/// text never passes this size.
pub const MAX_REFRESH_BYTES: usize = 256 * 1024;

/// A refresh also stops before its work would pass this many units (about one byte of state
/// copied or scanned each): every delta costs twice its state's size (it applies to a copy,
/// and its result's depth is walked), and every operation [`OPERATION_WORK`] plus its bytes
/// plus the state's size (the most a list it moves or an object it scans can hold). So many
/// cheap operations (say 10,000 removals from a long list, which count few bytes) stop a
/// refresh too, and one refresh's work is bounded whatever its deltas hold.
pub const MAX_REFRESH_WORK: u64 = 32 * 1024 * 1024;

/// The passes over its state one delta makes besides its operations' (the copy, the depth
/// walk).
const DELTA_PASSES: u64 = 2;

/// The fixed work of one operation (its parse, its path's walk), in work units.
pub const OPERATION_WORK: u64 = 64;

/// The bytes one operation may add to a state's text beyond its path's (as a JSON string) and
/// its JSON text's: the colon and comma around a new member.
pub const OPERATION_BYTES: usize = 2;

/// What one delta may cost a refresh: the bytes its operations may add to the state's text
/// (each operation's path as a JSON string escapes it, its JSON text and
/// [`OPERATION_BYTES`]), and how many operations it has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeltaCost {
    pub bytes: usize,
    pub operations: usize,
}

impl DeltaCost {
    /// Adds one operation at `path` with `text` (its value's or patch's JSON text, empty for
    /// a removal).
    pub fn add(&mut self, path: &str, text: &str) {
        self.bytes = self
            .bytes
            .saturating_add(json::escaped_len(path))
            .saturating_add(text.len())
            .saturating_add(OPERATION_BYTES);
        self.operations = self.operations.saturating_add(1);
    }
}

/// One refresh's budget: the bytes of the checkpoint's state text plus the operations applied
/// (an upper bound of the state text's size, [`MAX_REFRESH_BYTES`]) and the work done
/// ([`MAX_REFRESH_WORK`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshBudget {
    bytes: usize,
    work: u64,
}

impl RefreshBudget {
    /// The budget of a refresh from a state whose text has `state_bytes`, or `None` when the
    /// state alone passes [`MAX_REFRESH_BYTES`] (no refresh starts).
    pub fn new(state_bytes: usize) -> Option<Self> {
        (state_bytes <= MAX_REFRESH_BYTES).then_some(Self {
            bytes: state_bytes,
            work: 0,
        })
    }

    /// Spends `cost` on one more delta and says true, or says false and spends nothing when
    /// the delta would pass either budget.
    pub fn take(&mut self, cost: DeltaCost) -> bool {
        let bytes = self.bytes.saturating_add(cost.bytes);
        // The state the delta copies, moves and scans is at most `bytes` long.
        let state = u64::try_from(bytes).unwrap_or(u64::MAX);
        let operations = u64::try_from(cost.operations).unwrap_or(u64::MAX);
        let work = operations
            .saturating_add(DELTA_PASSES)
            .saturating_mul(state)
            .saturating_add(operations.saturating_mul(OPERATION_WORK))
            .saturating_add(u64::try_from(cost.bytes).unwrap_or(u64::MAX))
            .saturating_add(self.work);
        if bytes > MAX_REFRESH_BYTES || work > MAX_REFRESH_WORK {
            return false;
        }
        self.bytes = bytes;
        self.work = work;
        true
    }
}

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

    fn cost(bytes: usize, operations: usize) -> DeltaCost {
        DeltaCost { bytes, operations }
    }

    #[test]
    fn a_refresh_stays_within_its_byte_budget() {
        assert!(RefreshBudget::new(MAX_REFRESH_BYTES + 1).is_none());
        let mut budget = RefreshBudget::new(0).unwrap();
        assert!(!budget.take(cost(MAX_REFRESH_BYTES + 1, 0)));
        assert!(budget.take(cost(MAX_REFRESH_BYTES - 10, 0)));
        assert!(!budget.take(cost(11, 0)));
        assert!(budget.take(cost(10, 0)));
        assert!(!budget.take(cost(usize::MAX, usize::MAX)));
    }

    #[test]
    fn every_operation_costs_work_so_cheap_operations_on_a_large_state_stop_a_refresh() {
        // 10,000 removals count few bytes but each may move a list as long as the state.
        let mut budget = RefreshBudget::new(100_000).unwrap();
        let mut removals = DeltaCost::default();
        for _ in 0..10_000 {
            removals.add("", "");
        }
        assert_eq!(removals.bytes, 10_000 * (2 + OPERATION_BYTES));
        assert!(!budget.take(removals));
        // A refused delta spends nothing: an ordinary one still fits.
        assert!(budget.take(cost(100, 3)));
        // Work adds up across deltas: a few hundred such deltas pass the work budget long
        // before their bytes pass the byte budget.
        let taken = (0..1_000).take_while(|_| budget.take(cost(10, 3))).count();
        assert!(taken < 1_000);
        let per_delta = (3 + DELTA_PASSES) * 100_110 + 3 * OPERATION_WORK + 10;
        assert!(taken as u64 <= MAX_REFRESH_WORK / per_delta);
    }

    #[test]
    fn an_ordinary_refresh_fits_the_work_budget() {
        // The 64 deltas a refresh is due after, of 10 small operations each, on a 16 KiB state.
        let mut budget = RefreshBudget::new(16 * 1024).unwrap();
        let mut delta = DeltaCost::default();
        for _ in 0..10 {
            delta.add("/items/-", r#"{"name":"x","n":1}"#);
        }
        assert!((0..MAX_REFRESH_DELTAS).all(|_| budget.take(delta)));
    }

    #[test]
    fn a_path_costs_its_escaped_length() {
        let mut delta = DeltaCost::default();
        delta.add("/\u{1}\"", "1");
        assert_eq!(delta.bytes, 2 + 1 + 6 + 2 + 1 + OPERATION_BYTES);
        assert_eq!(delta.operations, 1);
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
