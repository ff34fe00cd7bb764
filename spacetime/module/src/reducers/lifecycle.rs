use inner_universe_rules::{config as rules, text, Code, RuleError, RuleResult};
use spacetimedb::{reducer, ReducerContext, Table};

use crate::access;
use crate::journal::{self, Entry};
use crate::store;
use crate::tables::admin::{admin, Admin};
use crate::tables::client_connection::{client_connection, ClientConnection};
use crate::tables::config::{config, value_of as config_value, Config};
use crate::types::{EventData, SystemInitialized};
use crate::MODULE_VERSION;

/// Runs once, when the database is first published: the publisher becomes the admin, the
/// default config is written and `SYSTEM_INITIALIZED` opens the log.
#[reducer(init)]
pub fn init(ctx: &ReducerContext) -> RuleResult {
    store::insert(
        ctx.db.admin(),
        Admin {
            identity: ctx.sender,
            added_at: ctx.timestamp,
        },
        "the publisher's admin row",
    )?;
    for (key, value, description) in rules::DEFAULTS {
        store::insert(
            ctx.db.config(),
            Config {
                key: (*key).to_string(),
                value: (*value).to_string(),
                description: Some((*description).to_string()),
                updated_at: ctx.timestamp,
                updated_by: ctx.sender,
            },
            &format!("config key {key:?}"),
        )?;
    }
    journal::record(
        ctx,
        Entry::system(
            None,
            EventData::SystemInitialized(SystemInitialized {
                module_version: MODULE_VERSION.to_string(),
                admin: ctx.sender,
            }),
        ),
    )?;
    log::info!(
        "inner universe {MODULE_VERSION} initialized; admin {}",
        ctx.sender
    );
    Ok(())
}

/// Admits a connection while fewer than `max_connections` are open (admins always) and adds its
/// `client_connection` row, which lives until it disconnects. Connecting writes no `event_log`
/// row: anyone may connect (HTTP calls connect around every call), so connections must leave
/// nothing permanent. Never panics: a write it cannot make is logged, not a refusal.
#[reducer(client_connected)]
pub fn client_connected(ctx: &ReducerContext) -> RuleResult {
    admit(ctx)?;
    if let Some(connection_id) = ctx.connection_id {
        let row = ClientConnection {
            connection_id,
            identity: ctx.sender,
            connected_at: ctx.timestamp,
            last_active_at: ctx.timestamp,
            client_info: None,
        };
        // A connection id is unique per connection; should a row linger, the new one is
        // logged and skipped rather than refusing the client.
        if let Err(error) = store::insert(
            ctx.db.client_connection(),
            row,
            &format!("connection {connection_id}"),
        ) {
            log::error!("client_connected: {error}");
        }
    }
    Ok(())
}

/// `resource_exhausted` when `max_connections` connections are open and the caller is not an
/// admin (who must always be able to connect, to raise the limit); with `auth_required`, also
/// when the caller holds no role and identities without one already hold half of
/// `max_connections` (rounded down): anyone can mint identities, so role-less connections must
/// not take the places writers need.
fn admit(ctx: &ReducerContext) -> RuleResult {
    if access::is_admin(ctx) {
        return Ok(());
    }
    let limit =
        rules::parse_max_connections(config_value(ctx, rules::MAX_CONNECTIONS_KEY).as_deref());
    let connections = ctx.db.client_connection();
    let open = connections.count();
    if open >= limit {
        return Err(RuleError::new(
            Code::ResourceExhausted,
            format!("{open} connections are open and max_connections is {limit}; try again later"),
        ));
    }
    if !access::auth_required(ctx) || access::has_role(ctx, ctx.sender) {
        return Ok(());
    }
    let share = limit / 2;
    let roleless = connections
        .iter()
        .filter(|c| !access::has_role(ctx, c.identity))
        .count() as u64;
    if roleless >= share {
        return Err(RuleError::new(
            Code::ResourceExhausted,
            format!(
                "{} holds no role and {roleless} connections of identities without one are open: \
                 they may hold at most half of max_connections ({limit}), so that writers can \
                 connect; try again later, or ask an admin for a role",
                ctx.sender
            ),
        ));
    }
    Ok(())
}

#[reducer(client_disconnected)]
pub fn client_disconnected(ctx: &ReducerContext) {
    if let Some(connection_id) = ctx.connection_id {
        ctx.db
            .client_connection()
            .connection_id()
            .delete(connection_id);
    }
}

/// Lets a client describe itself (`nerv-inner-universe/0.1 host=...`) in `client_connection`.
#[reducer]
pub fn set_client_info(ctx: &ReducerContext, client_info: String) -> RuleResult {
    text::validate_text("client_info", &client_info)?;
    access::require_role(ctx, "set_client_info")?;
    let connections = ctx.db.client_connection();
    let mut row = ctx
        .connection_id
        .and_then(|id| connections.connection_id().find(id))
        .ok_or_else(|| {
            RuleError::new(
                Code::NotFound,
                "this call has no open connection to describe",
            )
        })?;
    row.client_info = Some(client_info);
    row.last_active_at = ctx.timestamp;
    connections.connection_id().update(row);
    Ok(())
}
