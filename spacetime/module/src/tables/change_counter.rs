use spacetimedb::table;

/// The single row counting the calls of reducers that change exported tables without writing
/// an `event_log` row (`es_insert_events`, roles and stream grants, `import_rows`). With
/// `log_sequence` it tells an export whether anything changed while it read: both unchanged
/// means no write committed in between. Private; never decreases.
#[table(name = change_counter)]
pub struct ChangeCounter {
    #[primary_key]
    pub id: u8,
    pub changes: u64,
}
