//! Reducers, grouped by the table they change. Each validates all input before it writes,
//! and returns `Err("<code>: <message>")`; a failed reducer's transaction is rolled back.

mod config;
mod deltas;
mod durability;
mod entities;
mod events;
pub mod import;
mod lifecycle;
mod redaction;
mod relations;
mod roles;
mod stored_events;
mod versions;

use inner_universe_rules::{Code, RuleError};

/// The same id with different content: the caller must pick a new id or send identical data.
fn already_exists(what: &str, id: &str) -> RuleError {
    RuleError::new(
        Code::AlreadyExists,
        format!("{what} {id:?} already exists with different content"),
    )
}

fn not_found(what: &str, id: &str) -> RuleError {
    RuleError::new(Code::NotFound, format!("{what} {id:?} does not exist"))
}
