use spacetimedb::{table, Identity, Timestamp};

/// Module configuration; `value` is canonical JSON.
#[table(name = config, public)]
#[derive(Clone, Debug)]
pub struct Config {
    #[primary_key]
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub updated_at: Timestamp,
    pub updated_by: Identity,
}
