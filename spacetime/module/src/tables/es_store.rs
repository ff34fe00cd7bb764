use spacetimedb::table;

/// The head of each `es_stored_event` store: its last notification id (gap-free from 1).
/// Clients subscribe to their store's row: an update says new events were recorded, and the
/// caller's own update carries the ids its call was given.
#[table(name = es_store, public)]
#[derive(Clone, Debug)]
pub struct EsStore {
    #[primary_key]
    pub name: String,
    pub max_notification_id: u64,
}
