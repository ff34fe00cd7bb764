//! Inner Universe: the SpacetimeDB module that persists NERV's entities, relations, state
//! versions, deltas and events.
//!
//! Every mutating reducer validates first (rules live in the host-tested
//! `inner-universe-rules` crate), fails with `Err("<code>: <message>")`, and writes its
//! `event_log` row in the same transaction, numbered by a gap-free sequence. Ids come from the
//! client because reducers cannot return values; a repeated id with identical content is a no-op,
//! unless an admin redacted it (`reducers/redaction.rs`).

mod access;
mod budget;
mod changes;
mod checkpoint;
mod checks;
mod journal;
mod reducers;
mod store;
mod tables;
mod types;

/// Written into the `SYSTEM_INITIALIZED` event and the `module_version` config key.
pub const MODULE_VERSION: &str = env!("CARGO_PKG_VERSION");
