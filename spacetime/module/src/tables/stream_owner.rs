use spacetimedb::{table, Identity, Timestamp};

/// Who owns a version timeline (`key` = `timeline:<name>`), a delta stream (`deltas:<stream>`)
/// or an `eventsourcing` store (`es:<store>`): the identity that wrote to it first, unless an
/// admin moved or cleared it (`set_stream_owner`). This row alone decides; timeline
/// `stream.<s>` has none of its own (it goes with `deltas:<s>`). Only the owner, the identities
/// the owner delegated to (`stream_delegate`) and admins may append to the stream.
#[table(name = stream_owner, public)]
#[derive(Clone, Debug)]
pub struct StreamOwner {
    #[primary_key]
    pub key: String,
    pub owner: Identity,
    pub created_at: Timestamp,
}
