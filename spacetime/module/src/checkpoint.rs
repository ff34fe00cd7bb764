//! Keeps each delta stream's `delta_checkpoint` row (see `rules/src/checkpoints.rs`). When a
//! delta is recorded after `snapshot_interval` others (at most `MAX_REFRESH_DELTAS`) since the
//! last refresh, the checkpoint first moves past at most `CATCH_UP_FACTOR` times that many of
//! the stored deltas after it, in `seq` order (before the new delta's row is written, so the
//! scan reads only committed rows, which an index returns in key order), stopping before its
//! state text plus the operations applied pass `MAX_REFRESH_BYTES`: so each refresh is bounded
//! whatever the interval or the state's size, and a checkpoint is at most about
//! `min(snapshot_interval, MAX_REFRESH_DELTAS)` deltas behind its stream's head once caught up
//! while its state fits the budget (a larger one stays behind). A redaction of a delta inside
//! the checkpoint sends it back to the stream's start, with a refresh due at the next delta.

use inner_universe_rules::{checkpoints, json, snapshots, RuleResult};
use spacetimedb::ReducerContext;

use crate::checks;
use crate::store;
use crate::tables::config::value_of as config_value;
use crate::tables::delta_checkpoint::{delta_checkpoint, DeltaCheckpoint};
use crate::tables::delta_record::delta_record;
use crate::types::{
    DeleteOperation, DeltaOperation, InsertOperation, PatchOperation, RemoveOperation, SetOperation,
};

/// The checkpoint before any delta of `stream`, with `recorded_since` deltas pending.
fn initial(ctx: &ReducerContext, stream: &str, recorded_since: u64) -> RuleResult<DeltaCheckpoint> {
    let state = json::parse("initial state", checkpoints::INITIAL_STATE)?;
    Ok(DeltaCheckpoint {
        stream: stream.to_string(),
        seq: 0,
        delta_count: 0,
        noop_count: 0,
        next_index: 0,
        state: json::to_ordered(&state),
        data_hash: json::data_hash(&state),
        recorded_since,
        updated_at: ctx.timestamp,
    })
}

/// Counts a delta about to be recorded on `stream` (call it before writing the delta's row),
/// first refreshing the stream's checkpoint when one is due.
pub fn count_recorded(ctx: &ReducerContext, stream: &str) -> RuleResult {
    let stored = ctx.db.delta_checkpoint().stream().find(stream.to_string());
    let exists = stored.is_some();
    let mut row = match stored {
        Some(row) => row,
        None => initial(ctx, stream, 0)?,
    };
    let interval = interval(ctx);
    if checkpoints::refresh_due(row.recorded_since, interval) {
        row = refreshed(ctx, row, checkpoints::refresh_limit(interval))?;
    }
    row.recorded_since += 1;
    if exists {
        ctx.db.delta_checkpoint().stream().update(row);
        Ok(())
    } else {
        let what = format!("delta checkpoint {stream:?}");
        store::insert(ctx.db.delta_checkpoint(), row, &what)
    }
}

fn interval(ctx: &ReducerContext) -> u64 {
    snapshots::parse_interval(config_value(ctx, snapshots::INTERVAL_KEY).as_deref())
}

/// `row` moved past at most `limit` of its stream's deltas after it, in `seq` order, and only
/// while its state text plus the operations applied stay within
/// `checkpoints::MAX_REFRESH_BYTES` (a checkpoint whose state is larger stays where it is; a
/// client then reads the deltas after it).
fn refreshed(
    ctx: &ReducerContext,
    mut row: DeltaCheckpoint,
    limit: usize,
) -> RuleResult<DeltaCheckpoint> {
    row.recorded_since = 0;
    let state_bytes = row.state.len();
    if !checkpoints::within_budget(state_bytes, 0, 0) {
        return Ok(row);
    }
    let mut state = json::parse("delta checkpoint state", &row.state)?;
    let deltas = ctx
        .db
        .delta_record()
        .delta_record_by_stream_seq()
        .filter((row.stream.as_str(), (row.seq + 1)..))
        .take(limit);
    let mut spent = 0usize;
    let mut moved = false;
    for delta in deltas {
        let bytes = operations_bytes(&delta.operations);
        if !checkpoints::within_budget(state_bytes, spent, bytes) {
            break;
        }
        spent += bytes;
        let applied;
        (state, applied) = match checks::parsed_operations(&delta.operations) {
            Ok(ops) => checkpoints::apply_delta(state, &ops),
            Err(_) => (state, false),
        };
        row.next_index = checkpoints::delta_index(&row.stream, &delta.delta_id, row.next_index) + 1;
        row.seq = delta.seq;
        row.delta_count += 1;
        row.noop_count += u64::from(!applied);
        moved = true;
    }
    if moved {
        row.state = json::to_ordered(&state);
        row.data_hash = json::data_hash(&state);
        row.updated_at = ctx.timestamp;
    }
    Ok(row)
}

/// The bytes of a delta's operations' paths and JSON texts: what applying it may add to a state.
fn operations_bytes(ops: &[DeltaOperation]) -> usize {
    ops.iter()
        .map(|op| match op {
            DeltaOperation::Set(SetOperation { path, value })
            | DeltaOperation::Insert(InsertOperation { path, value, .. }) => {
                path.len() + value.len()
            }
            DeltaOperation::Patch(PatchOperation { path, patch }) => path.len() + patch.len(),
            DeltaOperation::Delete(DeleteOperation { path })
            | DeltaOperation::Remove(RemoveOperation { path, .. }) => path.len(),
        })
        .sum()
}

/// The delta of `stream` at `seq` was redacted: a checkpoint that applied it goes back to the
/// stream's start, with a refresh due at the next recorded delta.
pub fn forget_redacted(ctx: &ReducerContext, stream: &str, seq: u64) -> RuleResult {
    let Some(row) = ctx.db.delta_checkpoint().stream().find(stream.to_string()) else {
        return Ok(());
    };
    if row.seq < seq {
        return Ok(());
    }
    let reset = initial(ctx, stream, interval(ctx))?;
    ctx.db.delta_checkpoint().stream().update(reset);
    Ok(())
}
