use inner_universe_rules::limits::MAX_CONFIG_KEYS;
use inner_universe_rules::{config as rules, json, text, Code, RuleError, RuleResult};
use spacetimedb::{reducer, ReducerContext, Table};

use crate::access;
use crate::journal::{self, Entry};
use crate::store;
use crate::tables::config::{config, Config};
use crate::types::{ConfigUpdated, EventData};

/// Sets a config key to a JSON value. The settings the module reads (`snapshot_interval`,
/// `max_connections`, `max_event_bytes`, `auth_required`, `timeout`, `write_budget_*`) are
/// typed and range-checked; they and the
/// other admin-only keys (`log_level`, `cache_size_mb`, `write_budget_*`, `feature_enable_*`,
/// `admin_*`, `security_*`) need an admin; other keys any writer, with a value of at most
/// 64 KiB. A key belongs to whoever set it last: only that identity or an admin may change it
/// (`permission_denied`), so a key an admin sets is the admins' from then on. A writer may not
/// add a key once 1,000 exist (`resource_exhausted`); admins are never refused by that cap.
/// Setting the value it already has is a no-op.
#[reducer]
pub fn update_config(
    ctx: &ReducerContext,
    key: String,
    value: String,
    description: Option<String>,
) -> RuleResult {
    rules::validate_key(&key)?;
    let parsed = json::parse("value", &value)?;
    let value = json::to_canonical(&parsed);
    rules::validate_value(&key, &parsed, &value)?;
    text::validate_optional_text("description", description.as_deref())?;
    if rules::is_admin_only(&key) {
        access::require_admin(ctx, &format!("config key {key:?}"))?;
    } else {
        access::require_role(ctx, "update_config")?;
    }
    let table = ctx.db.config();
    let existing = table.key().find(&key);
    if let Some(row) = &existing {
        if row.value == value && (description.is_none() || row.description == description) {
            return Ok(());
        }
        access::require_owner(ctx, row.updated_by, &format!("config key {key:?}"))?;
    }
    let row = Config {
        key: key.clone(),
        value: value.clone(),
        description: description.or_else(|| existing.as_ref().and_then(|r| r.description.clone())),
        updated_at: ctx.timestamp,
        updated_by: ctx.sender,
    };
    if existing.is_some() {
        table.key().update(row);
    } else if table.count() >= MAX_CONFIG_KEYS as u64 && !access::is_admin(ctx) {
        return Err(RuleError::new(
            Code::ResourceExhausted,
            format!(
                "config has {} keys, the limit for writers; {key:?} would be a new one \
                 (change or reuse a key of yours, or ask an admin)",
                table.count()
            ),
        ));
    } else {
        store::insert(table, row, &format!("config key {key:?}"))?;
    }
    journal::record(
        ctx,
        Entry::system(
            Some(key.clone()),
            EventData::ConfigUpdated(ConfigUpdated { key, value }),
        ),
    )?;
    Ok(())
}
