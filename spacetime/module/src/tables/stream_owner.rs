use spacetimedb::{table, Identity, Timestamp};

/// Who owns a version timeline (`key` = `timeline:<name>`) or a delta stream
/// (`deltas:<stream>`): the identity that wrote to it first. Only its owner, the identities the
/// owner delegated to (`stream_delegate`) and admins may append to it.
#[table(name = stream_owner, public)]
#[derive(Clone, Debug)]
pub struct StreamOwner {
    #[primary_key]
    pub key: String,
    pub owner: Identity,
    pub created_at: Timestamp,
}
