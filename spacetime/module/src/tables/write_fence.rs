use spacetimedb::{table, Identity, Timestamp};

/// Present while the database is closed for writes: a durable stop's `checkpoint` closes it
/// and `reopen` (the controller, on its next start) removes the row. Private.
#[table(name = write_fence)]
pub struct WriteFence {
    #[primary_key]
    pub id: u8,
    pub closed_by: Identity,
    pub closed_at: Timestamp,
}
