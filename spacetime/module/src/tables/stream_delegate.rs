use spacetimedb::{table, Identity, Timestamp};

/// `owner` lets `delegate` append to every timeline, delta stream and `eventsourcing` store
/// `owner` owns, now and later (`grant_stream_access`); `id` is `<owner>/<delegate>` in hex.
#[table(
    name = stream_delegate,
    public,
    index(name = stream_delegate_by_owner, btree(columns = [owner]))
)]
#[derive(Clone, Debug)]
pub struct StreamDelegate {
    #[primary_key]
    pub id: String,
    pub owner: Identity,
    pub delegate: Identity,
    pub granted_at: Timestamp,
}
