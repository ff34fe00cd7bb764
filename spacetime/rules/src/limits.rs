//! Size limits, in one place so the docs and the Python client can quote them.

/// Ids of entities, relations, versions, deltas and events.
pub const MAX_ID_LEN: usize = 128;
/// Entity, relation and event type names; config keys; timeline names.
pub const MAX_NAME_LEN: usize = 128;
/// Names, descriptions, sources, authors, client info.
pub const MAX_TEXT_LEN: usize = 4096;
/// Tags per metadata record.
pub const MAX_TAGS: usize = 64;
/// A JSON document (properties, event data, delta values, snapshots), in bytes.
pub const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;
/// Nesting depth of a JSON document.
pub const MAX_JSON_DEPTH: usize = 128;
/// A JSON Pointer, in bytes.
pub const MAX_PATH_LEN: usize = 1024;
/// Operations in one delta or version.
pub const MAX_OPERATIONS: usize = 10_000;
/// Events in one `publish_events` batch; together at most `MAX_JSON_BYTES` of data and metadata.
pub const MAX_BATCH_EVENTS: usize = 1_000;
/// Originator ids, topics and application names of `eventsourcing` stored events, in bytes.
pub const MAX_LABEL_LEN: usize = 256;
/// Stored events in one `es_insert_events` call.
pub const MAX_STORED_EVENTS: usize = 10_000;
/// A config value's canonical JSON, in bytes.
pub const MAX_CONFIG_VALUE_BYTES: usize = 64 * 1024;
/// Config keys in all; setting a new key beyond this is `resource_exhausted`.
pub const MAX_CONFIG_KEYS: usize = 1_000;
/// Identities one owner may grant access to its streams (`grant_stream_access`); a grant
/// beyond is `resource_exhausted`.
pub const MAX_DELEGATES_PER_OWNER: usize = 1_000;
