use spacetimedb::{table, Identity, ReducerContext, Timestamp};

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

/// The stored (canonical JSON) value of `key`, if the row exists.
pub fn value_of(ctx: &ReducerContext, key: &str) -> Option<String> {
    ctx.db
        .config()
        .key()
        .find(key.to_string())
        .map(|row| row.value)
}
