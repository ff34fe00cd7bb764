use spacetimedb::table;

/// How many deltas were recorded on each delta stream since its checkpoint's last refresh
/// (`checkpoint.rs`): the one value `record_delta` changes on every delta, kept apart from
/// `delta_checkpoint` so that a delta that does not refresh the checkpoint writes this small
/// row and leaves the checkpoint's state text alone. Bookkeeping, not imported: a stream
/// without a row counts from 0.
#[table(name = delta_refresh_counter)]
#[derive(Clone, Debug)]
pub struct DeltaRefreshCounter {
    #[primary_key]
    pub stream: String,
    /// Deltas recorded since the last refresh (a redaction that removed the checkpoint sets
    /// it to `snapshot_interval`: a refresh is due at the next delta).
    pub recorded_since: u64,
}
