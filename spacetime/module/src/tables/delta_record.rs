use spacetimedb::{table, Identity, Timestamp};

use crate::types::{DeltaMetadata, DeltaOperation};

/// A delta applied by a StateProjector (`stream` names it) on top of a state version.
#[table(
    name = delta_record,
    public,
    index(name = delta_record_by_version, btree(columns = [state_version_id])),
    index(name = delta_record_by_stream, btree(columns = [stream])),
    index(name = delta_record_by_stream_seq, btree(columns = [stream, seq])),
    index(name = delta_record_by_timestamp, btree(columns = [timestamp]))
)]
#[derive(Clone, Debug)]
pub struct DeltaRecord {
    #[primary_key]
    pub delta_id: String,
    pub stream: String,
    pub state_version_id: String,
    pub operations: Vec<DeltaOperation>,
    pub timestamp: Timestamp,
    pub occurred_at: Timestamp,
    pub metadata: DeltaMetadata,
    pub owner: Identity,
    /// The `event_log.seq` of its `DELTA_RECORDED` event: the replay order.
    pub seq: u64,
}
