//! Row insertion that cannot panic: `Table::insert` panics on a unique-key collision, which in
//! a lifecycle reducer would refuse every connection. Every insert goes through [`insert`].

use inner_universe_rules::{Code, RuleError, RuleResult};
use spacetimedb::Table;

/// Inserts `row` into `table`; a collision with a unique column is `already_exists` naming
/// `what` (the caller's reducer is then rolled back, changing nothing).
pub fn insert<T: Table>(table: &T, row: T::Row, what: &str) -> RuleResult {
    table.try_insert(row).map(|_| ()).map_err(|_| {
        RuleError::new(
            Code::AlreadyExists,
            format!("{what} collides with a stored row"),
        )
    })
}
