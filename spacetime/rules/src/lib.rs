//! Validation rules and canonical JSON for the Inner Universe module.
//!
//! Plain Rust with no SpacetimeDB dependency, so every rule is unit-tested on the host
//! (`cargo test -p inner-universe-rules`) and the module only wires rules to tables.

pub mod budget;
pub mod checkpoints;
pub mod config;
pub mod error;
pub mod json;
pub mod limits;
pub mod members;
pub mod moments;
pub mod namespaces;
pub mod patch;
pub mod pointer;
pub mod redaction;
pub mod snapshots;
pub mod stored_events;
pub mod text;

pub use error::{Code, RuleError, RuleResult};
