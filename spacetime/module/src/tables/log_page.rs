use inner_universe_rules::RuleResult;
use spacetimedb::{table, ReducerContext, Table};

use crate::store;

/// How many `seq` values one page of [`LogPage`] spans: page `p` holds `seq` in
/// `[p * PAGE_ROWS, (p + 1) * PAGE_ROWS)` (page 0 starts at `seq` 1).
pub const PAGE_ROWS: u64 = 16_384;

/// The page of every `event_log` row, written in the same transaction as the row, so that a
/// replay reads the log a page at a time by an index lookup (`page = p`, joined to `event_log`
/// on `seq`) instead of a `seq` range, which SpacetimeDB 1.2 answers with a scan of the whole
/// table. Rows written by a module from before this table have none: readers fall back to a
/// `seq` range for a page whose rows are not all here. Never updated; rows go only when
/// `import_rows` clears what `init` wrote.
#[table(
    name = log_page,
    public,
    index(name = log_page_by_page, btree(columns = [page]))
)]
#[derive(Clone, Debug)]
pub struct LogPage {
    #[primary_key]
    pub seq: u64,
    pub page: u64,
}

/// Files `event_log` row `seq` under its page (call in the transaction that inserts the row).
pub fn record_page(ctx: &ReducerContext, seq: u64) -> RuleResult {
    let row = LogPage {
        seq,
        page: seq / PAGE_ROWS,
    };
    store::insert(ctx.db.log_page(), row, &format!("the page of seq {seq}"))
}

/// Removes every page row (`import_rows` clears what `init` wrote before the import).
pub fn clear_pages(ctx: &ReducerContext) {
    for row in ctx.db.log_page().iter() {
        ctx.db.log_page().seq().delete(row.seq);
    }
}
