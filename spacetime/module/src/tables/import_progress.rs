use inner_universe_rules::RuleResult;
use spacetimedb::{table, ReducerContext, Timestamp};

use crate::store;

/// How long an open import may go without a batch and still count as under way: writes
/// meanwhile are refused with `unavailable` (send them again once it has finished), after
/// that with `import_open` (it was refused or cut short: the database is half-imported).
/// Python mirrors it as `contract.IMPORT_STALLED_AFTER_SECONDS`.
pub const STALLED_AFTER_MICROS: i64 = 30_000_000;

/// When the open import's last batch (`import_rows`) committed; present while an import is
/// open, beside `import_state`.
#[table(name = import_progress)]
pub struct ImportProgress {
    #[primary_key]
    pub id: u8,
    pub last_batch_at: Timestamp,
}

/// Records that a batch of the open import committed now.
pub fn touch(ctx: &ReducerContext) -> RuleResult {
    let row = ImportProgress {
        id: 0,
        last_batch_at: ctx.timestamp,
    };
    let table = ctx.db.import_progress();
    if table.id().find(0).is_some() {
        table.id().update(row);
        Ok(())
    } else {
        store::insert(table, row, "the import progress")
    }
}

/// When the open import's last batch committed (None before a first one, or for an import a
/// module without this table opened).
pub fn last_batch_at(ctx: &ReducerContext) -> Option<Timestamp> {
    ctx.db
        .import_progress()
        .id()
        .find(0)
        .map(|row| row.last_batch_at)
}

/// Forgets the progress: the import has finished.
pub fn clear(ctx: &ReducerContext) {
    ctx.db.import_progress().id().delete(0);
}
