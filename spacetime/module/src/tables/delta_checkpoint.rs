use spacetimedb::{table, Timestamp};

/// The projected state of each delta stream after its deltas up to `seq`, computed by the
/// module (`rules/src/checkpoints.rs`), never sent by a client: `record_delta` refreshes it
/// when `snapshot_interval` deltas (at most 64) were recorded since the last refresh
/// (`delta_refresh_counter`), applying at most twice that many within a byte budget
/// (`checkpoint.rs`). A row exists once a refresh applied a delta, and is written only when
/// one moves it. A client restores a StateProjector at its head from `state` and the
/// stream's deltas after `seq`.
#[table(name = delta_checkpoint, public)]
#[derive(Clone, Debug)]
pub struct DeltaCheckpoint {
    #[primary_key]
    pub stream: String,
    /// The `seq` of the last delta applied.
    pub seq: u64,
    /// How many of the stream's deltas `state` results from, no-ops included (at least 1).
    pub delta_count: u64,
    /// How many of them were no-ops (their operations did not apply at their place).
    pub noop_count: u64,
    /// The index the first delta after `seq` is numbered from (`checkpoints::delta_index`).
    pub next_index: u64,
    /// The state after those deltas, as canonical JSON except that object members keep the
    /// order the deltas gave them (Python dict order; `json::to_ordered`).
    pub state: String,
    /// The `data_hash` of `state`: SHA-256 (lowercase hex) of its canonical (sorted) form.
    pub data_hash: String,
    /// When a refresh last moved it.
    pub updated_at: Timestamp,
}
