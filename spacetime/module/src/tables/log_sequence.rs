use spacetimedb::table;

/// The single row holding the next `event_log.seq`. A counter of our own, not `auto_inc`,
/// because `auto_inc` may skip ranges after a restart and replay wants a gap-free log.
#[table(name = log_sequence)]
pub struct LogSequence {
    #[primary_key]
    pub id: u8,
    pub next_seq: u64,
}
