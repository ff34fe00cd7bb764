use spacetimedb::{table, Identity, Timestamp};

/// Identities allowed to change admin-only config and any row. `init` adds the publisher.
#[table(name = admin)]
pub struct Admin {
    #[primary_key]
    pub identity: Identity,
    pub added_at: Timestamp,
}
