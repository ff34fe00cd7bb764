//! Roles and stream grants: `grant_role` / `revoke_role` (admin-only),
//! `grant_stream_access` / `revoke_stream_access` (a stream owner's delegates) and
//! `set_stream_owner` (admin-only). Each writes its table only; none writes an `event_log` row
//! (the rows record who granted and when), so each counts its call (`changes::record`).

use inner_universe_rules::limits::MAX_DELEGATES_PER_OWNER;
use inner_universe_rules::{Code, RuleError, RuleResult};
use spacetimedb::{reducer, Identity, ReducerContext, Table};

use super::not_found;
use crate::access;
use crate::budget::Meter;
use crate::changes;
use crate::store;
use crate::tables::admin::{admin, Admin};
use crate::tables::stream_delegate::{stream_delegate, StreamDelegate};
use crate::tables::stream_owner::{stream_owner, StreamOwner};
use crate::tables::writer::{writer, Writer};
use crate::types::Role;

/// Gives `identity` `role` (admin-only). Granting a role it holds is a no-op.
#[reducer]
pub fn grant_role(ctx: &ReducerContext, identity: Identity, role: Role) -> RuleResult {
    access::require_admin(ctx, "grant_role")?;
    changes::record(ctx)?;
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
    changes::record(ctx)?;
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

/// Lets `delegate` append to every timeline, delta stream and `eventsourcing` store the caller
/// owns, now and later. Idempotent. A grant is charged to the caller's write budget as one
/// row; beyond `MAX_DELEGATES_PER_OWNER` grants it is `resource_exhausted`.
#[reducer]
pub fn grant_stream_access(ctx: &ReducerContext, delegate: Identity) -> RuleResult {
    access::require_role(ctx, "grant_stream_access")?;
    changes::record(ctx)?;
    let id = access::delegation_id(ctx.sender, delegate);
    let delegates = ctx.db.stream_delegate();
    if delegates.id().find(&id).is_some() {
        return Ok(());
    }
    let granted = delegates
        .stream_delegate_by_owner()
        .filter(ctx.sender)
        .count();
    if granted >= MAX_DELEGATES_PER_OWNER {
        return Err(RuleError::new(
            Code::ResourceExhausted,
            format!(
                "{} has granted stream access to {granted} identities, the limit; revoke a \
                 grant first",
                ctx.sender
            ),
        ));
    }
    let row = StreamDelegate {
        id,
        owner: ctx.sender,
        delegate,
        granted_at: ctx.timestamp,
    };
    let mut meter = Meter::new(ctx);
    meter.add(&row)?;
    store::insert(delegates, row, &format!("the grant to {delegate}"))?;
    meter.charge(ctx)
}

/// Gives the stream `key` names (`timeline:<name>`, `deltas:<stream>` or `es:<store>`, as in
/// `stream_owner`) to `owner`, or, with None, clears its ownership: its next writer claims it.
/// Admin-only; `invalid_argument` for a key that names no stream, or, giving an owner, names
/// timeline `stream.<s>` (owned with `deltas:<s>`; clearing such a row, which older modules
/// stored, is allowed); `not_found` when clearing a stream nobody owns.
/// Setting the owner it has is a no-op.
#[reducer]
pub fn set_stream_owner(ctx: &ReducerContext, key: String, owner: Option<Identity>) -> RuleResult {
    if owner.is_some() {
        access::Stream::from_key(&key)?;
    } else {
        // Clearing: also a `timeline:stream.<s>` row an older module stored, which nothing reads.
        access::Stream::named_by(&key)?;
    }
    access::require_admin(ctx, "set_stream_owner")?;
    changes::record(ctx)?;
    let owners = ctx.db.stream_owner();
    let existing = owners.key().find(&key);
    match (owner, existing) {
        (None, None) => Err(not_found("stream owner", &key)),
        (None, Some(_)) => {
            owners.key().delete(&key);
            Ok(())
        }
        (Some(owner), Some(row)) if row.owner == owner => Ok(()),
        (Some(owner), Some(row)) => {
            owners.key().update(StreamOwner {
                owner,
                created_at: ctx.timestamp,
                ..row
            });
            Ok(())
        }
        (Some(owner), None) => store::insert(
            owners,
            StreamOwner {
                key: key.clone(),
                owner,
                created_at: ctx.timestamp,
            },
            &format!("the owner of {key:?}"),
        ),
    }
}

/// Withdraws the caller's grant to `delegate`; `not_found` when there is none.
#[reducer]
pub fn revoke_stream_access(ctx: &ReducerContext, delegate: Identity) -> RuleResult {
    access::require_role(ctx, "revoke_stream_access")?;
    changes::record(ctx)?;
    let id = access::delegation_id(ctx.sender, delegate);
    if ctx.db.stream_delegate().id().delete(&id) {
        Ok(())
    } else {
        Err(not_found("stream access grant", &id))
    }
}
