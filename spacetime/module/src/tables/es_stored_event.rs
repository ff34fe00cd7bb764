use spacetimedb::{table, Identity, Timestamp};

/// A stored event of an `eventsourcing` application (`nerv_inner_universe.eventsourcing_module`).
/// `store` names the recorder's sequence (an application's events, its snapshots...); within a
/// store (originator id, originator version) is unique and `notification_id` counts 1, 2, 3...
/// in commit order. Rows are never updated or deleted.
#[table(
    name = es_stored_event,
    public,
    index(
        name = es_stored_event_by_position,
        btree(columns = [store, originator_id, originator_version])
    ),
    index(name = es_stored_event_by_notification, btree(columns = [store, notification_id]))
)]
#[derive(Clone, Debug)]
pub struct EsStoredEvent {
    #[primary_key]
    #[auto_inc]
    pub row_id: u64,
    pub store: String,
    pub originator_id: String,
    pub originator_version: u64,
    pub topic: String,
    /// The event's serialised state, as the application's mapper made it.
    pub state: Vec<u8>,
    pub notification_id: u64,
    pub recorded_at: Timestamp,
    pub sender: Identity,
}
