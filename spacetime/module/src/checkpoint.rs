//! Keeps each delta stream's `delta_checkpoint` row (see `rules/src/checkpoints.rs`) and its
//! `delta_refresh_counter` row. When a delta is recorded after `snapshot_interval` others (at
//! most `MAX_REFRESH_DELTAS`) since the last refresh, the checkpoint first moves past at most
//! `CATCH_UP_FACTOR` times that many of the stored deltas after it, in `seq` order (before the
//! new delta's row is written, so the scan reads only committed rows, which an index returns in
//! key order), stopping before its state text plus the operations applied pass
//! `MAX_REFRESH_BYTES` or the work they cost passes `MAX_REFRESH_WORK` (every operation costs
//! work, however few bytes it has; the stored state is parsed only when a delta fits): so each
//! refresh is bounded whatever the interval, the state's size or the deltas' operations,
//! and a checkpoint is at most about `min(snapshot_interval, MAX_REFRESH_DELTAS)` deltas behind
//! its stream's head once caught up while its state fits the budget (a larger one stays
//! behind). Every other delta writes only the small counter row: the checkpoint row, state text
//! and all, is written only when a refresh moves it. A redaction of a delta inside the
//! checkpoint removes it (the stream starts over from its first delta), with a refresh due at
//! the next delta.

use inner_universe_rules::{checkpoints, json, snapshots, RuleResult};
use spacetimedb::ReducerContext;

use crate::checks;
use crate::store;
use crate::tables::config::value_of as config_value;
use crate::tables::delta_checkpoint::{delta_checkpoint, DeltaCheckpoint};
use crate::tables::delta_record::delta_record;
use crate::tables::delta_refresh_counter::{delta_refresh_counter, DeltaRefreshCounter};
use crate::types::{
    DeleteOperation, DeltaOperation, InsertOperation, PatchOperation, RemoveOperation, SetOperation,
};

/// Counts a delta about to be recorded on `stream` (call it before writing the delta's row),
/// first refreshing the stream's checkpoint when one is due.
pub fn count_recorded(ctx: &ReducerContext, stream: &str) -> RuleResult {
    let recorded_since = ctx
        .db
        .delta_refresh_counter()
        .stream()
        .find(stream.to_string())
        .map_or(0, |row| row.recorded_since);
    let interval = interval(ctx);
    let recorded_since = if checkpoints::refresh_due(recorded_since, interval) {
        refresh(ctx, stream, checkpoints::refresh_limit(interval))?;
        1
    } else {
        recorded_since + 1
    };
    set_recorded_since(ctx, stream, recorded_since)
}

/// Stores `recorded_since` as `stream`'s counter.
fn set_recorded_since(ctx: &ReducerContext, stream: &str, recorded_since: u64) -> RuleResult {
    let counters = ctx.db.delta_refresh_counter();
    let row = DeltaRefreshCounter {
        stream: stream.to_string(),
        recorded_since,
    };
    if counters.stream().find(stream.to_string()).is_some() {
        counters.stream().update(row);
        Ok(())
    } else {
        store::insert(counters, row, &format!("delta refresh counter {stream:?}"))
    }
}

fn interval(ctx: &ReducerContext) -> u64 {
    snapshots::parse_interval(config_value(ctx, snapshots::INTERVAL_KEY).as_deref())
}

/// The checkpoint before any delta of `stream` (never stored: a stored one results from at
/// least one delta).
fn initial(ctx: &ReducerContext, stream: &str) -> DeltaCheckpoint {
    DeltaCheckpoint {
        stream: stream.to_string(),
        seq: 0,
        delta_count: 0,
        noop_count: 0,
        next_index: 0,
        state: checkpoints::INITIAL_STATE.to_string(),
        data_hash: String::new(),
        updated_at: ctx.timestamp,
    }
}

/// Moves `stream`'s checkpoint (from the stream's start when it has none) past at most `limit`
/// of the stream's deltas after it, in `seq` order, while they fit a
/// `checkpoints::RefreshBudget` (a checkpoint whose state is larger, or whose next delta does
/// not fit, stays where it is; a client then reads the deltas after it). The stored state is
/// parsed only once a delta fits. Writes the checkpoint row only when it moved.
fn refresh(ctx: &ReducerContext, stream: &str, limit: usize) -> RuleResult {
    let stored = ctx.db.delta_checkpoint().stream().find(stream.to_string());
    let exists = stored.is_some();
    let mut row = stored.unwrap_or_else(|| initial(ctx, stream));
    let Some(mut budget) = checkpoints::RefreshBudget::new(row.state.len()) else {
        return Ok(());
    };
    let deltas = ctx
        .db
        .delta_record()
        .delta_record_by_stream_seq()
        .filter((stream, (row.seq + 1)..))
        .take(limit);
    let mut state = None;
    for delta in deltas {
        if !budget.take(cost(&delta.operations)) {
            break;
        }
        let before = match state.take() {
            Some(state) => state,
            None => json::parse("delta checkpoint state", &row.state)?,
        };
        let (after, applied) = match checks::parsed_operations(&delta.operations) {
            Ok(ops) => checkpoints::apply_delta(before, &ops),
            Err(_) => (before, false),
        };
        state = Some(after);
        row.next_index = checkpoints::delta_index(stream, &delta.delta_id, row.next_index) + 1;
        row.seq = delta.seq;
        row.delta_count += 1;
        row.noop_count += u64::from(!applied);
    }
    let Some(state) = state else {
        return Ok(());
    };
    row.state = json::to_ordered(&state);
    row.data_hash = json::data_hash(&state);
    row.updated_at = ctx.timestamp;
    if exists {
        ctx.db.delta_checkpoint().stream().update(row);
        Ok(())
    } else {
        let what = format!("delta checkpoint {stream:?}");
        store::insert(ctx.db.delta_checkpoint(), row, &what)
    }
}

/// What applying a delta's operations may cost a refresh (`checkpoints::DeltaCost`).
fn cost(ops: &[DeltaOperation]) -> checkpoints::DeltaCost {
    let mut cost = checkpoints::DeltaCost::default();
    for op in ops {
        match op {
            DeltaOperation::Set(SetOperation { path, value })
            | DeltaOperation::Insert(InsertOperation { path, value, .. }) => cost.add(path, value),
            DeltaOperation::Patch(PatchOperation { path, patch }) => cost.add(path, patch),
            DeltaOperation::Delete(DeleteOperation { path })
            | DeltaOperation::Remove(RemoveOperation { path, .. }) => cost.add(path, ""),
        }
    }
    cost
}

/// The delta of `stream` at `seq` was redacted: a checkpoint that applied it is removed (a
/// client then reads the stream from its start), with a refresh due at the next recorded
/// delta.
pub fn forget_redacted(ctx: &ReducerContext, stream: &str, seq: u64) -> RuleResult {
    let checkpoints = ctx.db.delta_checkpoint();
    let Some(row) = checkpoints.stream().find(stream.to_string()) else {
        return Ok(());
    };
    if row.seq < seq {
        return Ok(());
    }
    checkpoints.stream().delete(stream.to_string());
    set_recorded_since(ctx, stream, interval(ctx))
}
