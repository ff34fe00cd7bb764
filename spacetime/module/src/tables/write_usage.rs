use spacetimedb::{table, Identity, Timestamp};

/// What each identity wrote in its current write budget window (`budget::charge`); only
/// identities that wrote while a budget was set have a row.
#[table(name = write_usage)]
pub struct WriteUsage {
    #[primary_key]
    pub identity: Identity,
    pub window_start: Timestamp,
    pub events: u64,
    pub bytes: u64,
}
