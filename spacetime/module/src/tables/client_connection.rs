use spacetimedb::{table, ConnectionId, Identity, Timestamp};

/// Connections open right now. A row lives from `client_connected` to `client_disconnected`,
/// and connecting writes nothing else, so neither this table nor the log grows with every
/// short-lived HTTP call.
#[table(
    name = client_connection,
    public,
    index(name = client_connection_by_identity, btree(columns = [identity]))
)]
#[derive(Clone, Debug)]
pub struct ClientConnection {
    #[primary_key]
    pub connection_id: ConnectionId,
    pub identity: Identity,
    pub connected_at: Timestamp,
    pub last_active_at: Timestamp,
    pub client_info: Option<String>,
}
