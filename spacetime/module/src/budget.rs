//! The per-identity write budget (rules in `inner_universe_rules::budget`): every row the
//! module writes for a caller that adds to the history, an `event_log` row or a stored event,
//! is metered, and the call is charged once, in its own transaction, so a refused call counts
//! nothing.

use inner_universe_rules::budget::{self as rules, Budget, Cost, Usage};
use inner_universe_rules::{RuleError, RuleResult};
use spacetimedb::sats::{bsatn, Serialize};
use spacetimedb::{ReducerContext, Timestamp};

use crate::access;
use crate::store;
use crate::tables::config::value_of as config_value;
use crate::tables::write_usage::{write_usage, WriteUsage};

/// Counts what one call writes; [`Meter::charge`] then charges it to the caller.
pub struct Meter {
    /// None while no budget is set, and for admins: nothing is counted then.
    budget: Option<Budget>,
    cost: Cost,
}

impl Meter {
    /// Reads the budget once for the call.
    pub fn new(ctx: &ReducerContext) -> Self {
        let events = config_value(ctx, rules::EVENTS_KEY);
        let bytes = config_value(ctx, rules::BYTES_KEY);
        let budget = Budget::parse(
            events.as_deref(),
            bytes.as_deref(),
            config_value(ctx, rules::WINDOW_KEY).as_deref(),
        );
        let free = budget.is_unlimited() || access::is_admin(ctx);
        Self {
            budget: (!free).then_some(budget),
            cost: Cost::default(),
        }
    }

    /// Counts `row`, one event of its BSATN size (measured only when bytes are limited).
    pub fn add<T: Serialize>(&mut self, row: &T) -> RuleResult {
        let Some(budget) = &self.budget else {
            return Ok(());
        };
        self.cost.events += 1;
        if budget.bytes > 0 {
            let len = bsatn::to_len(row).map_err(|e| {
                RuleError::invalid(format!("a row to write cannot be encoded: {e}"))
            })?;
            self.cost.bytes = self
                .cost
                .bytes
                .saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
        }
        Ok(())
    }

    /// Charges what was counted to the caller's window: `rate_limited` when that passes the
    /// budget (the call is then rolled back, its rows with it).
    pub fn charge(self, ctx: &ReducerContext) -> RuleResult {
        let Some(budget) = self.budget else {
            return Ok(());
        };
        if self.cost.events == 0 {
            return Ok(());
        }
        let table = ctx.db.write_usage();
        let stored = table.identity().find(ctx.sender);
        let usage = stored.as_ref().map(|row| Usage {
            window_start: row.window_start.to_micros_since_unix_epoch(),
            events: row.events,
            bytes: row.bytes,
        });
        let now = ctx.timestamp.to_micros_since_unix_epoch();
        let charged = rules::charge(&budget, usage, now, self.cost).map_err(|exceeded| {
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
}
