//! Roles and stream grants: `grant_role` / `revoke_role` (admin-only) and
//! `grant_stream_access` / `revoke_stream_access` (a stream owner's delegates). Each writes its
//! table only; none writes an `event_log` row (the rows record who granted and when).

use inner_universe_rules::{Code, RuleError, RuleResult};
use spacetimedb::{reducer, Identity, ReducerContext, Table};

use super::not_found;
use crate::access;
use crate::store;
use crate::tables::admin::{admin, Admin};
use crate::tables::stream_delegate::{stream_delegate, StreamDelegate};
use crate::tables::writer::{writer, Writer};
use crate::types::Role;

/// Gives `identity` `role` (admin-only). Granting a role it holds is a no-op.
#[reducer]
pub fn grant_role(ctx: &ReducerContext, identity: Identity, role: Role) -> RuleResult {
    access::require_admin(ctx, "grant_role")?;
    match role {
        Role::Admin if ctx.db.admin().identity().find(identity).is_none() => store::insert(
            ctx.db.admin(),
            Admin {
                identity,
                added_at: ctx.timestamp,
            },
            &format!("admin {identity}"),
        ),
        Role::Writer if ctx.db.writer().identity().find(identity).is_none() => store::insert(
            ctx.db.writer(),
            Writer {
                identity,
                granted_by: ctx.sender,
                granted_at: ctx.timestamp,
            },
            &format!("writer {identity}"),
        ),
        Role::Admin | Role::Writer => Ok(()),
    }
}

/// Takes `role` from `identity` (admin-only); `not_found` when it does not hold it. The
/// publisher's admin role cannot be revoked (`permission_denied`), nor the last admin's
/// (`in_use`: nobody could grant roles any more).
#[reducer]
pub fn revoke_role(ctx: &ReducerContext, identity: Identity, role: Role) -> RuleResult {
    access::require_admin(ctx, "revoke_role")?;
    let who = identity.to_string();
    match role {
        Role::Admin => {
            let admins = ctx.db.admin();
            if admins.identity().find(identity).is_none() {
                return Err(not_found("admin", &who));
            }
            if access::publisher(ctx) == Some(identity) {
                return Err(RuleError::new(
                    Code::PermissionDenied,
                    format!("{who} published the database and stays admin"),
                ));
            }
            if admins.count() == 1 {
                return Err(RuleError::new(
                    Code::InUse,
                    format!("{who} is the last admin; grant the admin role to another first"),
                ));
            }
            admins.identity().delete(identity);
        }
        Role::Writer => {
            if !ctx.db.writer().identity().delete(identity) {
                return Err(not_found("writer", &who));
            }
        }
    }
    Ok(())
}

/// Lets `delegate` append to every timeline and delta stream the caller owns. Idempotent.
#[reducer]
pub fn grant_stream_access(ctx: &ReducerContext, delegate: Identity) -> RuleResult {
    access::require_role(ctx, "grant_stream_access")?;
    let id = access::delegation_id(ctx.sender, delegate);
    if ctx.db.stream_delegate().id().find(&id).is_some() {
        return Ok(());
    }
    store::insert(
        ctx.db.stream_delegate(),
        StreamDelegate {
            id,
            owner: ctx.sender,
            delegate,
            granted_at: ctx.timestamp,
        },
        &format!("the grant to {delegate}"),
    )
}

/// Withdraws the caller's grant to `delegate`; `not_found` when there is none.
#[reducer]
pub fn revoke_stream_access(ctx: &ReducerContext, delegate: Identity) -> RuleResult {
    access::require_role(ctx, "revoke_stream_access")?;
    let id = access::delegation_id(ctx.sender, delegate);
    if ctx.db.stream_delegate().id().delete(&id) {
        Ok(())
    } else {
        Err(not_found("stream access grant", &id))
    }
}
