use spacetimedb::{table, Identity, Timestamp};

use crate::types::DeltaOperation;

/// One committed state of a timeline. The state itself is recoverable: `operations` turn the
/// parent's state into this one, and every few versions `snapshot` holds it whole (its hash is
/// checked against `data_hash` on commit).
#[table(
    name = state_version,
    public,
    index(name = state_version_by_timeline, btree(columns = [timeline])),
    index(name = state_version_by_parent, btree(columns = [parent_version_id])),
    index(name = state_version_by_timestamp, btree(columns = [timestamp])),
    index(name = state_version_by_owner, btree(columns = [owner]))
)]
#[derive(Clone, Debug)]
pub struct StateVersion {
    #[primary_key]
    pub version_id: String,
    pub timeline: String,
    pub parent_version_id: Option<String>,
    /// When the server committed it.
    pub timestamp: Timestamp,
    /// When the client made it.
    pub occurred_at: Timestamp,
    pub description: String,
    /// Lowercase hex SHA-256 of the state's canonical JSON.
    pub data_hash: String,
    pub owner: Identity,
    pub operations: Vec<DeltaOperation>,
    /// The whole state as canonical JSON, when stored.
    pub snapshot: Option<String>,
    /// The `event_log.seq` of its `STATE_VERSION_COMMITTED` event.
    pub seq: u64,
}
