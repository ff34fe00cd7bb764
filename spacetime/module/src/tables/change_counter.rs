use spacetimedb::table;

/// The single row counting the calls of reducers that change the tables an import restores
/// without writing an `event_log` row (`es_insert_events`, roles and stream grants,
/// `import_rows`). With `log_sequence` it tells an export whether anything changed while it
/// read: both unchanged means none of those tables changed in between (a stop's
/// `durability_marker` and `write_fence`, and `client_connection`, are not counted).
/// Private; never decreases.
#[table(name = change_counter)]
pub struct ChangeCounter {
    #[primary_key]
    pub id: u8,
    pub changes: u64,
}
