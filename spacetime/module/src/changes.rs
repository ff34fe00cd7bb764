//! Counts the changes no `event_log` row records (see `tables::change_counter`), so a reader
//! that sees `log_sequence` and `change_counter` unchanged knows nothing was written.

use inner_universe_rules::RuleResult;
use spacetimedb::ReducerContext;

use crate::store;
use crate::tables::change_counter::{change_counter, ChangeCounter};

/// Counts one call of a reducer that may change exported tables without a log row. Call it
/// once the call is allowed: a refused call rolls the count back with everything else.
pub fn record(ctx: &ReducerContext) -> RuleResult {
    let table = ctx.db.change_counter();
    match table.id().find(0) {
        Some(row) => {
            table.id().update(ChangeCounter {
                changes: row.changes + 1,
                ..row
            });
            Ok(())
        }
        None => store::insert(
            table,
            ChangeCounter { id: 0, changes: 1 },
            "the change counter",
        ),
    }
}
