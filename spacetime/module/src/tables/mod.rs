//! One table per file. Public tables are readable by every client (subscriptions, SQL);
//! `admin`, `writer`, `write_usage`, `log_sequence`, `change_counter`, `import_state`,
//! `import_progress`, `durability_marker`, `write_fence` and `delta_refresh_counter` are private.

pub mod admin;
pub mod change_counter;
pub mod client_connection;
pub mod config;
pub mod delta_checkpoint;
pub mod delta_record;
pub mod delta_refresh_counter;
pub mod durability_marker;
pub mod entity;
pub mod es_store;
pub mod es_stored_event;
pub mod es_tracking;
pub mod event_log;
pub mod import_progress;
pub mod import_state;
pub mod log_page;
pub mod log_sequence;
pub mod relation;
pub mod state_version;
pub mod stream_delegate;
pub mod stream_owner;
pub mod timeline;
pub mod write_fence;
pub mod write_usage;
pub mod writer;
