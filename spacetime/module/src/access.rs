//! Who may change what: a row's owner (the identity that created it) and admins (the
//! database's publisher, added by `init`). Reading is open: the tables are public.

use inner_universe_rules::{Code, RuleError, RuleResult};
use spacetimedb::{Identity, ReducerContext};

use crate::tables::admin::admin;

pub fn is_admin(ctx: &ReducerContext) -> bool {
    ctx.db.admin().identity().find(ctx.sender).is_some()
}

/// Allows the owner of `what` and admins.
pub fn require_owner(ctx: &ReducerContext, owner: Identity, what: &str) -> RuleResult {
    if ctx.sender == owner || is_admin(ctx) {
        Ok(())
    } else {
        Err(RuleError::new(
            Code::PermissionDenied,
            format!("{what} belongs to {owner}; only its owner or an admin may change it"),
        ))
    }
}

pub fn require_admin(ctx: &ReducerContext, what: &str) -> RuleResult {
    if is_admin(ctx) {
        Ok(())
    } else {
        Err(RuleError::new(
            Code::PermissionDenied,
            format!("{what} is admin-only; {} is not an admin", ctx.sender),
        ))
    }
}
