use spacetimedb::{table, Identity, Timestamp};

use crate::types::EventData;

/// Every change, in one total order (`seq`, gap-free). Rows are never deleted, and only an
/// admin's `redact_event` updates one: its data becomes the tombstone (`EventData::Redacted`).
#[table(
    name = event_log,
    public,
    index(name = event_log_by_type, btree(columns = [event_type])),
    index(name = event_log_by_timestamp, btree(columns = [timestamp])),
    index(name = event_log_by_source, btree(columns = [source]))
)]
#[derive(Clone, Debug)]
pub struct EventLog {
    #[primary_key]
    pub event_id: String,
    #[unique]
    pub seq: u64,
    pub event_type: String,
    pub source: Option<String>,
    /// When the server committed it.
    pub timestamp: Timestamp,
    /// When it happened, as the publishing client said; the commit time for module events.
    pub occurred_at: Timestamp,
    pub sender: Identity,
    pub data: EventData,
    /// A canonical JSON object.
    pub metadata: String,
}
