use spacetimedb::{table, Timestamp};

/// The single row that `checkpoint` overwrites with a fresh random marker. Private: it exists
/// only so that the controller can see, in the commit log on disk, that every transaction
/// committed before the marker has been written (see `reducers::durability`).
#[table(name = durability_marker)]
pub struct DurabilityMarker {
    #[primary_key]
    pub id: u8,
    pub marker: String,
    pub written_at: Timestamp,
}
