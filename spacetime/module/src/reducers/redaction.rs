//! Recovery for admins: redact a poisoned event, state version or delta, or remove a config
//! key, without rewriting history silently.
//!
//! Each reducer is admin-only, needs a reason, validates first, and appends a tombstone to
//! `event_log`: a module event `sys:<seq>` of type `EVENT_REDACTED`, `VERSION_REDACTED`,
//! `DELTA_REDACTED` or `CONFIG_KEY_REMOVED`, whose `source` is the target's id and whose data
//! ([`Redacted`]) names the target, the reason, the admin and the SHA-256 of what was there.
//!
//! - An event (a client's; the module's own events record other rows: redact those) keeps its
//!   row, id and `seq`, so the log stays gap-free; its type becomes `EVENT_REDACTED` and its
//!   data the tombstone, its metadata `{}` and its source none. Replay reads only client
//!   events, so it no longer delivers it.
//! - A state version is removed, and only while it is its timeline's head with no child on any
//!   timeline and no delta on it (a delta's row, redacted or not, keeps naming its version):
//!   every stored version keeps a parent whose state its hash was checked against. The head moves back to its parent (a timeline whose only version it
//!   was disappears). To go further back, redact the new head in turn.
//! - A delta keeps its row and its place in its stream with no operations and the metadata
//!   `{description: "redacted"}`, and only when every later delta of its stream is redacted
//!   too: later deltas were made on top of it. Replay applies the empty delta, so the stream's
//!   numbering goes on past it and its id is never taken again.
//! - A config key's row is deleted (the module falls back to its default); config is current
//!   settings, not history, so the key may be set again.
//!
//! A redacted id stays taken: publishing the event, committing the version or recording the
//! delta again, even identically, is refused with `redacted`, and so is a second redaction.

use inner_universe_rules::{config as settings, json, namespaces, redaction, text};
use inner_universe_rules::{Code, RuleError, RuleResult};
use spacetimedb::{reducer, ReducerContext, Table};

use super::not_found;
use crate::journal::{self, Entry};
use crate::tables::config::config;
use crate::tables::delta_record::{delta_record, DeltaRecord};
use crate::tables::event_log::{event_log, EventLog};
use crate::tables::state_version::state_version;
use crate::tables::timeline::{timeline, Timeline};
use crate::types::{
    DeleteOperation, DeltaMetadata, DeltaOperation, EventData, InsertOperation, PatchOperation,
    Redacted, RedactedKind, RemoveOperation, SetOperation,
};
use crate::{access, checkpoint};

/// Takes a client event out of replay: its row keeps its id and `seq` and holds the tombstone.
#[reducer]
pub fn redact_event(ctx: &ReducerContext, event_id: String, reason: String) -> RuleResult {
    text::validate_id("event_id", &event_id)?;
    redaction::validate_reason(&reason)?;
    access::require_admin(ctx, "redact_event")?;
    let kind = RedactedKind::Event;
    let row = ctx
        .db
        .event_log()
        .event_id()
        .find(&event_id)
        .ok_or_else(|| not_found("event", &event_id))?;
    let content_hash = match &row.data {
        EventData::Custom(data) => json::data_hash(&json::parse("the event's data", data)?),
        EventData::Redacted(tombstone) if tombstone.target_id == event_id => {
            return Err(redacted(kind, &event_id))
        }
        _ => {
            return Err(RuleError::invalid(format!(
                "event {event_id:?} is the module's own {} event; redact the version or delta \
                 it records, or remove the config key, instead",
                row.event_type
            )))
        }
    };
    let tombstone = tombstone(ctx, kind, &event_id, reason, content_hash);
    ctx.db.event_log().event_id().update(EventLog {
        event_type: kind.event_type().to_string(),
        source: None,
        data: tombstone.clone(),
        metadata: "{}".to_string(),
        ..row
    });
    record(ctx, &event_id, tombstone)
}

/// Removes its timeline's head version (see the module docs for why only the head).
#[reducer]
pub fn redact_state_version(
    ctx: &ReducerContext,
    version_id: String,
    reason: String,
) -> RuleResult {
    text::validate_id("version_id", &version_id)?;
    redaction::validate_reason(&reason)?;
    access::require_admin(ctx, "redact_state_version")?;
    let kind = RedactedKind::StateVersion;
    if let Some(stream) = namespaces::stream_of_base(&version_id) {
        return Err(RuleError::invalid(format!(
            "version {version_id:?} is the anchor of projector stream {stream:?} and holds no \
             data (the empty object); redact the stream's deltas instead"
        )));
    }
    let versions = ctx.db.state_version();
    let Some(row) = versions.version_id().find(&version_id) else {
        return Err(match find(ctx, kind, &version_id) {
            Some(_) => redacted(kind, &version_id),
            None => not_found("state version", &version_id),
        });
    };
    let timelines = ctx.db.timeline();
    let head = timelines
        .name()
        .find(&row.timeline)
        .ok_or_else(|| not_found("timeline", &row.timeline))?;
    if head.head_version_id != version_id {
        return Err(RuleError::new(
            Code::InUse,
            format!(
                "version {version_id:?} is not the head of timeline {:?} ({:?} is): later \
                 versions were built on it; redact them first, from the head down",
                row.timeline, head.head_version_id
            ),
        ));
    }
    let child = versions
        .iter()
        .find(|v| v.parent_version_id.as_deref() == Some(version_id.as_str()));
    if let Some(child) = child {
        return Err(RuleError::new(
            Code::InUse,
            format!(
                "version {version_id:?} is the parent of {:?} on timeline {:?}; redact that \
                 branch first",
                child.version_id, child.timeline
            ),
        ));
    }
    let delta = ctx
        .db
        .delta_record()
        .delta_record_by_version()
        .filter(&version_id)
        .next();
    if let Some(delta) = delta {
        return Err(RuleError::new(
            Code::InUse,
            format!(
                "delta {:?} was recorded on version {version_id:?}, and a delta's row (even \
                 redacted) keeps naming its version; a version with deltas stays",
                delta.delta_id
            ),
        ));
    }
    let parent = row
        .parent_version_id
        .as_deref()
        .and_then(|parent| versions.version_id().find(parent.to_string()))
        .filter(|parent| parent.timeline == row.timeline);
    match parent {
        Some(parent) => {
            timelines.name().update(Timeline {
                head_version_id: parent.version_id.clone(),
                version_count: head.version_count.saturating_sub(1),
                versions_since_snapshot: versions_since_snapshot(ctx, &parent.version_id),
                updated_at: ctx.timestamp,
                ..head
            });
        }
        None => {
            timelines.name().delete(&row.timeline);
        }
    }
    versions.version_id().delete(&version_id);
    let tombstone = tombstone(ctx, kind, &version_id, reason, row.data_hash);
    record(ctx, &version_id, tombstone)
}

/// Empties a delta whose later deltas (if any) are all redacted; its row keeps its place.
#[reducer]
pub fn redact_delta(ctx: &ReducerContext, delta_id: String, reason: String) -> RuleResult {
    text::validate_id("delta_id", &delta_id)?;
    redaction::validate_reason(&reason)?;
    access::require_admin(ctx, "redact_delta")?;
    let kind = RedactedKind::Delta;
    let deltas = ctx.db.delta_record();
    let row = deltas
        .delta_id()
        .find(&delta_id)
        .ok_or_else(|| not_found("delta", &delta_id))?;
    if find(ctx, kind, &delta_id).is_some() {
        return Err(redacted(kind, &delta_id));
    }
    let later = deltas
        .delta_record_by_stream()
        .filter(&row.stream)
        .filter(|d| d.seq > row.seq && find(ctx, kind, &d.delta_id).is_none())
        .max_by_key(|d| d.seq);
    if let Some(later) = later {
        return Err(RuleError::new(
            Code::InUse,
            format!(
                "delta {delta_id:?} is followed by delta {:?} on stream {:?}, made on top of \
                 it; redact the later deltas first, from the last one back",
                later.delta_id, row.stream
            ),
        ));
    }
    let content_hash = json::data_hash(&operations_json(&row.operations)?);
    checkpoint::forget_redacted(ctx, &row.stream, row.seq)?;
    deltas.delta_id().update(DeltaRecord {
        operations: Vec::new(),
        metadata: DeltaMetadata {
            description: "redacted".to_string(),
            author: None,
            tags: Vec::new(),
            parent_delta_id: None,
        },
        ..row
    });
    let tombstone = tombstone(ctx, kind, &delta_id, reason, content_hash);
    record(ctx, &delta_id, tombstone)
}

/// Deletes a config key's row; the module then applies its default for a setting it reads.
#[reducer]
pub fn remove_config_key(ctx: &ReducerContext, key: String, reason: String) -> RuleResult {
    settings::validate_key(&key)?;
    redaction::validate_reason(&reason)?;
    access::require_admin(ctx, "remove_config_key")?;
    let table = ctx.db.config();
    let row = table
        .key()
        .find(&key)
        .ok_or_else(|| not_found("config key", &key))?;
    let content_hash = json::data_hash(&json::parse("the stored value", &row.value)?);
    table.key().delete(&key);
    let tombstone = tombstone(ctx, RedactedKind::ConfigKey, &key, reason, content_hash);
    record(ctx, &key, tombstone)
}

/// The tombstone of `kind` `target_id`, if an admin redacted it.
pub(super) fn find(ctx: &ReducerContext, kind: RedactedKind, target_id: &str) -> Option<Redacted> {
    ctx.db
        .event_log()
        .event_log_by_type()
        .filter(kind.event_type())
        .find_map(|row| match row.data {
            EventData::Redacted(tombstone) if tombstone.target_id == target_id => Some(tombstone),
            _ => None,
        })
}

/// Refuses to write `kind` `id` again once it was redacted.
pub(super) fn refuse_if_redacted(ctx: &ReducerContext, kind: RedactedKind, id: &str) -> RuleResult {
    match find(ctx, kind, id) {
        Some(_) => Err(redacted(kind, id)),
        None => Ok(()),
    }
}

/// Why `kind` `id`, which a call refers to as `what` (`"parent state version"`), is not there:
/// `redacted` when an admin redacted it, else `not_found`.
pub(super) fn missing(ctx: &ReducerContext, kind: RedactedKind, what: &str, id: &str) -> RuleError {
    match find(ctx, kind, id) {
        Some(_) => RuleError::new(
            Code::Redacted,
            format!(
                "{what} {id:?} was redacted by an admin, so nothing can build on it (see its {} \
                 tombstone in event_log)",
                kind.event_type()
            ),
        ),
        None => not_found(what, id),
    }
}

pub(super) fn redacted(kind: RedactedKind, id: &str) -> RuleError {
    RuleError::new(
        Code::Redacted,
        format!(
            "{} {id:?} was redacted by an admin; its id stays taken (see its {} tombstone in \
             event_log)",
            kind.describe(),
            kind.event_type()
        ),
    )
}

fn tombstone(
    ctx: &ReducerContext,
    kind: RedactedKind,
    target_id: &str,
    reason: String,
    content_hash: String,
) -> EventData {
    EventData::Redacted(Redacted {
        kind,
        target_id: target_id.to_string(),
        reason,
        redacted_by: ctx.sender,
        content_hash,
    })
}

/// Appends the redaction's own log row, `sys:<seq>` with the target's id as its source.
fn record(ctx: &ReducerContext, target_id: &str, tombstone: EventData) -> RuleResult {
    journal::record(ctx, Entry::system(Some(target_id.to_string()), tombstone)).map(|_| ())
}

/// Versions since the last snapshot on `head_id`'s timeline, counted back from `head_id`, as
/// `commit_state_version` counts them forward.
fn versions_since_snapshot(ctx: &ReducerContext, head_id: &str) -> u64 {
    let versions = ctx.db.state_version();
    let mut count = 0;
    let mut current = versions.version_id().find(head_id.to_string());
    let timeline = current.as_ref().map(|row| row.timeline.clone());
    while let Some(row) = current {
        if row.snapshot.is_some() || Some(&row.timeline) != timeline.as_ref() {
            break;
        }
        count += 1;
        current = row
            .parent_version_id
            .and_then(|parent| versions.version_id().find(parent));
    }
    count
}

/// A delta's operations as the JSON its tombstone's hash covers: an array of objects, each
/// `{"op": <variant>, ...its fields}`, JSON-valued fields as JSON, e.g.
/// `[{"op":"Set","path":"/a","value":1}]`.
fn operations_json(operations: &[DeltaOperation]) -> RuleResult<json::Value> {
    let text = |s: &str| json::Value::String(s.to_string());
    let parsed = |field: &str, s: &str| json::parse(field, s);
    let index = |i: Option<u32>| i.map_or(json::Value::Null, |i| json::Value::Integer(i.into()));
    operations
        .iter()
        .map(|op| {
            let mut members = match op {
                DeltaOperation::Set(SetOperation { path, value }) => vec![
                    ("op", text("Set")),
                    ("path", text(path)),
                    ("value", parsed("value", value)?),
                ],
                DeltaOperation::Delete(DeleteOperation { path }) => {
                    vec![("op", text("Delete")), ("path", text(path))]
                }
                DeltaOperation::Insert(InsertOperation {
                    path,
                    index: at,
                    value,
                }) => vec![
                    ("op", text("Insert")),
                    ("path", text(path)),
                    ("index", index(*at)),
                    ("value", parsed("value", value)?),
                ],
                DeltaOperation::Remove(RemoveOperation { path, index: at }) => vec![
                    ("op", text("Remove")),
                    ("path", text(path)),
                    ("index", index(Some(*at))),
                ],
                DeltaOperation::Patch(PatchOperation { path, patch }) => vec![
                    ("op", text("Patch")),
                    ("path", text(path)),
                    ("patch", parsed("patch", patch)?),
                ],
            };
            Ok(json::Value::Object(
                members
                    .drain(..)
                    .map(|(name, value)| (name.to_string(), value))
                    .collect(),
            ))
        })
        .collect::<RuleResult<Vec<_>>>()
        .map(json::Value::Array)
}
