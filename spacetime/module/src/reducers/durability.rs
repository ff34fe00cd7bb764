//! `checkpoint`: a durability signal for a server that cannot flush on demand.
//!
//! SpacetimeDB 1.2.0 acknowledges a transaction before its commit-log write and has no graceful
//! shutdown, so a stop can lose what was acknowledged in the last half second. Transactions
//! reach the commit log in commit order, so once the controller finds a fresh marker's bytes in
//! the commit log on disk, every transaction committed before it is there too, and the server
//! may be stopped. The marker is not a change to NERV's data: no `event_log` row is written.

use inner_universe_rules::{text, RuleResult};
use spacetimedb::{reducer, ReducerContext};

use crate::access;
use crate::store;
use crate::tables::durability_marker::{durability_marker, DurabilityMarker};

const MARKER_ROW: u8 = 0;

/// Overwrites the single marker row with `marker` (32 lowercase hex digits). Admin-only.
#[reducer]
pub fn checkpoint(ctx: &ReducerContext, marker: String) -> RuleResult {
    text::validate_marker("marker", &marker)?;
    access::require_admin(ctx, "checkpoint")?;
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
