use spacetimedb::{table, Identity, Timestamp};

/// Present while an import (`import_rows`) is under way: rows are written as given, so the
/// imported `seq` numbers stay exactly as exported.
#[table(name = import_state)]
pub struct ImportState {
    #[primary_key]
    pub id: u8,
    pub started_by: Identity,
    pub started_at: Timestamp,
}
