use spacetimedb::{table, Timestamp};

/// The head of each timeline, for optimistic concurrency: a commit names the parent it
/// expects, and only the current head is accepted.
#[table(name = timeline, public)]
#[derive(Clone, Debug)]
pub struct Timeline {
    #[primary_key]
    pub name: String,
    pub head_version_id: String,
    pub version_count: u64,
    /// Versions committed since the last one that stored a snapshot.
    pub versions_since_snapshot: u64,
    pub updated_at: Timestamp,
}
