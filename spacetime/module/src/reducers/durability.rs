//! `checkpoint` and `reopen`: a durability signal and a write fence for a server that cannot
//! flush on demand.
//!
//! SpacetimeDB 1.2.0 acknowledges a transaction before its commit-log write and has no graceful
//! shutdown, so a stop can lose what was acknowledged in the last half second. Transactions
//! reach the commit log in commit order, so once the controller finds a fresh marker's bytes in
//! the commit log on disk, every transaction committed before it is there too, and the server
//! may be stopped. A stop's checkpoint also closes the database for writes in the same
//! transaction (`close`): every later change is refused with `unavailable` (see `access`), so
//! nothing is acknowledged after the marker. `reopen` lifts that; the controller calls it when
//! it starts the server again. Neither is a change to NERV's data: no `event_log` row is
//! written.

use inner_universe_rules::{text, RuleResult};
use spacetimedb::{reducer, ReducerContext};

use crate::access::{self, WRITE_FENCE_ROW};
use crate::store;
use crate::tables::durability_marker::{durability_marker, DurabilityMarker};
use crate::tables::write_fence::{write_fence, WriteFence};

const MARKER_ROW: u8 = 0;

/// Overwrites the single marker row with `marker` (32 lowercase hex digits); with `close`,
/// also closes the database for writes until `reopen`. Admin-only; allowed while closed.
#[reducer]
pub fn checkpoint(ctx: &ReducerContext, marker: String, close: bool) -> RuleResult {
    text::validate_marker("marker", &marker)?;
    access::require_admin_even_closed(ctx, "checkpoint")?;
    if close && ctx.db.write_fence().id().find(WRITE_FENCE_ROW).is_none() {
        let fence = WriteFence {
            id: WRITE_FENCE_ROW,
            closed_by: ctx.sender,
            closed_at: ctx.timestamp,
        };
        store::insert(ctx.db.write_fence(), fence, "the write fence")?;
        log::info!("closed for writes by {}", ctx.sender);
    }
    let row = DurabilityMarker {
        id: MARKER_ROW,
        marker,
        written_at: ctx.timestamp,
    };
    let table = ctx.db.durability_marker();
    if table.id().find(MARKER_ROW).is_some() {
        table.id().update(row);
    } else {
        store::insert(table, row, "the durability marker")?;
    }
    Ok(())
}

/// Opens the database for writes again after a stop's `checkpoint` closed it; a no-op when it
/// is open. Admin-only.
#[reducer]
pub fn reopen(ctx: &ReducerContext) -> RuleResult {
    access::require_admin_even_closed(ctx, "reopen")?;
    if ctx.db.write_fence().id().delete(WRITE_FENCE_ROW) {
        log::info!("reopened for writes by {}", ctx.sender);
    }
    Ok(())
}
