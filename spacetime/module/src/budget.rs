//! The per-identity write budget (rules in `inner_universe_rules::budget`): every row the
//! module writes for a caller, an `event_log` row or a stored event, is charged here, in the
//! caller's transaction, so a refused call counts nothing.

use inner_universe_rules::budget::{self as rules, Budget, Usage};
use inner_universe_rules::{RuleError, RuleResult};
use spacetimedb::sats::{bsatn, Serialize};
use spacetimedb::{ReducerContext, Timestamp};

use crate::access;
use crate::store;
use crate::tables::config::value_of as config_value;
use crate::tables::write_usage::{write_usage, WriteUsage};

/// Charges the caller one event of `row`'s BSATN size; `rate_limited` when that passes the
/// caller's budget. Free while no budget is set, and for admins.
pub fn charge<T: Serialize>(ctx: &ReducerContext, row: &T) -> RuleResult {
    let events = config_value(ctx, rules::EVENTS_KEY);
    let bytes = config_value(ctx, rules::BYTES_KEY);
    let budget = Budget::parse(
        events.as_deref(),
        bytes.as_deref(),
        config_value(ctx, rules::WINDOW_KEY).as_deref(),
    );
    if budget.is_unlimited() || access::is_admin(ctx) {
        return Ok(());
    }
    let size = if budget.bytes > 0 {
        let len = bsatn::to_len(row)
            .map_err(|e| RuleError::invalid(format!("a row to write cannot be encoded: {e}")))?;
        u64::try_from(len).unwrap_or(u64::MAX)
    } else {
        0
    };
    let table = ctx.db.write_usage();
    let stored = table.identity().find(ctx.sender);
    let usage = stored.as_ref().map(|row| Usage {
        window_start: row.window_start.to_micros_since_unix_epoch(),
        events: row.events,
        bytes: row.bytes,
    });
    let now = ctx.timestamp.to_micros_since_unix_epoch();
    let charged = rules::charge(&budget, usage, now, size).map_err(|exceeded| {
        let resets_at = Timestamp::from_micros_since_unix_epoch(exceeded.resets_at)
            .to_rfc3339()
            .unwrap_or_else(|_| format!("{} µs after the Unix epoch", exceeded.resets_at));
        exceeded.error(&format!("identity {}", ctx.sender), &resets_at)
    })?;
    let row = WriteUsage {
        identity: ctx.sender,
        window_start: Timestamp::from_micros_since_unix_epoch(charged.window_start),
        events: charged.events,
        bytes: charged.bytes,
    };
    if stored.is_some() {
        table.identity().update(row);
        Ok(())
    } else {
        store::insert(table, row, "the caller's write usage")
    }
}
