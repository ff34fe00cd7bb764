use spacetimedb::{table, Identity, Timestamp};

/// Identities with the writer role: with `auth_required` (the default) only writers and admins
/// may call a reducer that changes anything. Admins grant and revoke it (`grant_role`).
#[table(name = writer)]
pub struct Writer {
    #[primary_key]
    pub identity: Identity,
    pub granted_by: Identity,
    pub granted_at: Timestamp,
}
