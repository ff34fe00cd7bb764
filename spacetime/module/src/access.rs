//! Who may change what.
//!
//! - Admins (the database's publisher, added by `init`, and whoever an admin grants the admin
//!   role) may do anything. The publisher stays admin: the controller stops the server
//!   durably with its admin-only `checkpoint`.
//! - With `auth_required` (the default) an identity needs a role (writer or admin) to call any
//!   reducer that changes something; without it every identity may write.
//! - A row's owner (the identity that created it) may update or delete it; so may the owner of
//!   an entity a relation points at, delete that relation.
//! - A timeline, delta stream or `eventsourcing` store belongs to the identity that wrote to it
//!   first, as its `stream_owner` row records (that row alone decides; an admin moves or
//!   clears it with `set_stream_owner`); only the owner, the identities it delegated to
//!   (`grant_stream_access`, which covers all its streams, present and future) and admins may
//!   append to it. Timeline `stream.<s>`, the plugin's anchor of projector stream `s`, belongs
//!   to the owner of delta stream `s`.
//!
//! - While a durable stop has closed the database for writes (`checkpoint` with `close`),
//!   every change but `checkpoint` and `reopen` is refused with `unavailable`, admins' too:
//!   [`require_role`] and [`require_admin`] check it, so each mutating reducer does.
//! - While an import is open every change but `import_rows` is refused (its rows are half
//!   there, and a write would meet them, or find the log sequence unset): with `unavailable`
//!   while it is under way, with `import_open` once it has sent no batch for
//!   `import_progress::STALLED_AFTER_MICROS` (it was refused or cut short, and stays open).
//!
//! Reading is open: the public tables can be read by every client (SpacetimeDB 1.2.0 cannot
//! restrict reads per identity).

use inner_universe_rules::{config as settings, namespaces, text, Code, RuleError, RuleResult};
use spacetimedb::{Identity, ReducerContext};

use crate::store;
use crate::tables::admin::admin;
use crate::tables::config::value_of as config_value;
use crate::tables::event_log::event_log;
use crate::tables::import_progress;
use crate::tables::import_state::import_state;
use crate::tables::stream_delegate::stream_delegate;
use crate::tables::stream_owner::{stream_owner, StreamOwner};
use crate::tables::write_fence::write_fence;
use crate::tables::writer::writer;
use crate::types::EventData;

/// The identity that published the database, as `init` named it in `SYSTEM_INITIALIZED`.
pub fn publisher(ctx: &ReducerContext) -> Option<Identity> {
    ctx.db
        .event_log()
        .event_log_by_type()
        .filter("SYSTEM_INITIALIZED")
        .find_map(|row| match row.data {
            EventData::SystemInitialized(init) => Some(init.admin),
            _ => None,
        })
}

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

/// Allows admins, while the database is open for writes.
pub fn require_admin(ctx: &ReducerContext, what: &str) -> RuleResult {
    require_admin_even_closed(ctx, what)?;
    require_open_for_writes(ctx, what)?;
    require_no_import(ctx, what)
}

/// Allows admins, while the database is open for writes, an import being open or not: for
/// `import_rows` only.
pub fn require_admin_importing(ctx: &ReducerContext, what: &str) -> RuleResult {
    require_admin_even_closed(ctx, what)?;
    require_open_for_writes(ctx, what)
}

/// Allows admins, also while the database is closed: for `checkpoint` and `reopen` only.
pub fn require_admin_even_closed(ctx: &ReducerContext, what: &str) -> RuleResult {
    if is_admin(ctx) {
        Ok(())
    } else {
        Err(RuleError::new(
            Code::PermissionDenied,
            format!("{what} is admin-only; {} is not an admin", ctx.sender),
        ))
    }
}

/// Refuses with `unavailable` while a durable stop has closed the database for writes.
fn require_open_for_writes(ctx: &ReducerContext, what: &str) -> RuleResult {
    match ctx.db.write_fence().id().find(WRITE_FENCE_ROW) {
        None => Ok(()),
        Some(fence) => Err(RuleError::new(
            Code::Unavailable,
            format!(
                "{what} cannot run: the database was closed for writes at {} because its \
                 server is stopping; nothing changed, send it again once the server is back",
                fence.closed_at
            ),
        )),
    }
}

/// Refuses while an import (`import_rows`) is open: with `unavailable` while it is under way
/// (its last batch committed within `import_progress::STALLED_AFTER_MICROS`), so the call may
/// be sent again once it has finished; after that with `import_open`: it was refused or cut
/// short, and the database stays half-imported.
fn require_no_import(ctx: &ReducerContext, what: &str) -> RuleResult {
    let Some(open) = ctx.db.import_state().id().find(0) else {
        return Ok(());
    };
    let last = import_progress::last_batch_at(ctx).unwrap_or(open.started_at);
    let idle = ctx.timestamp.to_micros_since_unix_epoch() - last.to_micros_since_unix_epoch();
    if idle < import_progress::STALLED_AFTER_MICROS {
        return Err(RuleError::new(
            Code::Unavailable,
            format!(
                "{what} cannot run: an import opened by {} at {} is under way (its last batch \
                 at {last}); nothing changed, send it again once the import has finished",
                open.started_by, open.started_at
            ),
        ));
    }
    Err(RuleError::new(
        Code::ImportOpen,
        format!(
            "{what} cannot run: an import opened by {} at {} has sent no batch since {last}: \
             it was refused or cut short, and the database is half-imported; nothing changed. \
             Import into a fresh data dir, or wipe this one (`inner-universe deploy --wipe`) \
             and import again",
            open.started_by, open.started_at
        ),
    ))
}

/// The id of the single `write_fence` row.
pub const WRITE_FENCE_ROW: u8 = 0;

/// The `auth_required` setting (the default when the row is missing or invalid).
pub fn auth_required(ctx: &ReducerContext) -> bool {
    settings::parse_auth_required(config_value(ctx, settings::AUTH_REQUIRED_KEY).as_deref())
}

/// Whether `identity` holds the writer or the admin role.
pub fn has_role(ctx: &ReducerContext, identity: Identity) -> bool {
    ctx.db.admin().identity().find(identity).is_some()
        || ctx.db.writer().identity().find(identity).is_some()
}

/// With `auth_required`, the caller must hold a role (writer or admin) to change anything.
pub fn require_role(ctx: &ReducerContext, what: &str) -> RuleResult {
    if !auth_required(ctx) || has_role(ctx, ctx.sender) {
        require_open_for_writes(ctx, what)?;
        return require_no_import(ctx, what);
    }
    Err(RuleError::new(
        Code::PermissionDenied,
        format!(
            "{what} needs the writer or admin role and {} has none (auth_required is true); \
             an admin grants one with `inner-universe grant`",
            ctx.sender
        ),
    ))
}

/// A stream an identity can own.
#[derive(Clone, Copy)]
pub enum Stream<'a> {
    Timeline(&'a str),
    Deltas(&'a str),
    /// An `eventsourcing` store (`es_insert_events`): its events and its tracking records.
    EsStore(&'a str),
}

const TIMELINE_KEY: &str = "timeline:";
const DELTAS_KEY: &str = "deltas:";
const ES_STORE_KEY: &str = "es:";

impl<'a> Stream<'a> {
    /// The stream a `stream_owner` key names (`timeline:<name>`, `deltas:<stream>`,
    /// `es:<store>`); `invalid_argument` for another key, and for `timeline:stream.<s>`, whose
    /// owner is the owner of `deltas:<s>`.
    pub fn from_key(key: &'a str) -> RuleResult<Self> {
        let stream = Self::named_by(key)?;
        let owned = stream.owned().key();
        if owned != key {
            return Err(RuleError::invalid(format!(
                "{} belongs to the owner of {owned:?}; change that key instead",
                stream.describe()
            )));
        }
        Ok(stream)
    }

    /// The stream a key names, whoever owns it: a `timeline:stream.<s>` row, which modules
    /// before the anchor timelines went with their delta streams stored, is one too.
    /// `invalid_argument` for a key that names no stream.
    pub fn named_by(key: &'a str) -> RuleResult<Self> {
        let stream = if let Some(name) = key.strip_prefix(TIMELINE_KEY) {
            Stream::Timeline(name)
        } else if let Some(name) = key.strip_prefix(DELTAS_KEY) {
            Stream::Deltas(name)
        } else if let Some(name) = key.strip_prefix(ES_STORE_KEY) {
            Stream::EsStore(name)
        } else {
            return Err(RuleError::invalid(format!(
                "key {key:?} names no stream: it is {TIMELINE_KEY}<timeline>, \
                 {DELTAS_KEY}<stream> or {ES_STORE_KEY}<store>"
            )));
        };
        text::validate_name("the stream name in key", stream.name())?;
        Ok(stream)
    }

    fn name(self) -> &'a str {
        match self {
            Stream::Timeline(name) | Stream::Deltas(name) | Stream::EsStore(name) => name,
        }
    }

    /// The stream whose owner owns this one: the delta stream `s` for its anchor timeline
    /// `stream.<s>`, else itself.
    fn owned(self) -> Self {
        match self {
            Stream::Timeline(name) => {
                namespaces::stream_of_anchor_timeline(name).map_or(self, Stream::Deltas)
            }
            Stream::Deltas(_) | Stream::EsStore(_) => self,
        }
    }

    /// Its `stream_owner` key.
    pub fn key(self) -> String {
        match self {
            Stream::Timeline(name) => format!("{TIMELINE_KEY}{name}"),
            Stream::Deltas(name) => format!("{DELTAS_KEY}{name}"),
            Stream::EsStore(name) => format!("{ES_STORE_KEY}{name}"),
        }
    }

    fn describe(self) -> String {
        match self {
            Stream::Timeline(name) => format!("timeline {name:?}"),
            Stream::Deltas(name) => format!("delta stream {name:?}"),
            Stream::EsStore(name) => format!("eventsourcing store {name:?}"),
        }
    }
}

/// Checks that the caller may append to `stream`: its owner, a delegate of its owner, or an
/// admin. A stream nobody owns yet becomes the caller's; the ownership row is written by
/// [`record_owner`] once the call's other checks have passed.
pub fn require_stream_access(
    ctx: &ReducerContext,
    stream: Stream,
) -> RuleResult<Option<StreamOwner>> {
    let key = stream.owned().key();
    let (owner, new_row) = match ctx.db.stream_owner().key().find(&key) {
        Some(row) => (row.owner, None),
        None => {
            let row = StreamOwner {
                key,
                owner: ctx.sender,
                created_at: ctx.timestamp,
            };
            (ctx.sender, Some(row))
        }
    };
    let delegated = || {
        ctx.db
            .stream_delegate()
            .id()
            .find(delegation_id(owner, ctx.sender))
            .is_some()
    };
    if owner == ctx.sender || is_admin(ctx) || delegated() {
        return Ok(new_row);
    }
    let via = match stream.owned() {
        owned if owned.key() == stream.key() => String::new(),
        owned => format!(" (as the anchor of {})", owned.describe()),
    };
    Err(RuleError::new(
        Code::PermissionDenied,
        format!(
            "{}{via} belongs to {owner}; appending to it needs its owner's grant \
             (grant_stream_access) or an admin",
            stream.describe()
        ),
    ))
}

/// Writes the ownership row [`require_stream_access`] returned for a stream nobody owned yet.
pub fn record_owner(ctx: &ReducerContext, new_row: Option<StreamOwner>) -> RuleResult {
    match new_row {
        // A call that touches the same new stream twice (a store and its tracking) owns it once.
        Some(row) if ctx.db.stream_owner().key().find(&row.key).is_none() => {
            let what = format!("the owner of {:?}", row.key);
            store::insert(ctx.db.stream_owner(), row, &what)
        }
        Some(_) | None => Ok(()),
    }
}

/// The `stream_delegate` id of `owner`'s grant to `delegate`.
pub fn delegation_id(owner: Identity, delegate: Identity) -> String {
    format!("{owner}/{delegate}")
}
