use inner_universe_rules::{
    json, moments, namespaces, patch, snapshots, text, Code, RuleError, RuleResult,
};
use spacetimedb::{reducer, ReducerContext, Timestamp};

use super::{already_exists, not_found, redaction};
use crate::journal::{self, Entry};
use crate::store;
use crate::tables::config::value_of as config_value;
use crate::tables::state_version::{state_version, StateVersion};
use crate::tables::timeline::{timeline, Timeline};
use crate::types::{DeltaOperation, EventData, RedactedKind, StateVersionCommitted};
use crate::{access, checks};

/// Commits a version on `timeline` with optimistic concurrency: `parent_version_id` must be
/// the timeline's current head (or, for a timeline's first version, `None` or any existing
/// version to branch from). `operations` turn the parent's state into this one; `snapshot`,
/// when given, is the whole state and must hash to `data_hash`. A root version, and every
/// `snapshot_interval`-th version of a timeline, must carry a snapshot.
#[reducer]
#[allow(clippy::too_many_arguments)]
pub fn commit_state_version(
    ctx: &ReducerContext,
    version_id: String,
    timeline: String,
    parent_version_id: Option<String>,
    occurred_at: Timestamp,
    description: String,
    data_hash: String,
    operations: Vec<DeltaOperation>,
    snapshot: Option<String>,
) -> RuleResult {
    text::validate_id("version_id", &version_id)?;
    text::validate_name("timeline", &timeline)?;
    if let Some(parent) = &parent_version_id {
        text::validate_id("parent_version_id", parent)?;
    }
    moments::validate_occurred_at("occurred_at", occurred_at.to_micros_since_unix_epoch())?;
    text::validate_text("description", &description)?;
    text::validate_sha256_hex("data_hash", &data_hash)?;
    let operations = checks::operations(operations)?;
    access::require_role(ctx, "commit_state_version")?;
    let snapshot = snapshot
        .map(|s| verified_snapshot(&s, &data_hash))
        .transpose()?;
    namespaces::validate_stream_base(
        &version_id,
        &timeline,
        parent_version_id.is_some(),
        operations.len(),
        snapshot.as_deref(),
    )?;

    if let Some(existing) = ctx.db.state_version().version_id().find(&version_id) {
        let identical = existing.timeline == timeline
            && existing.parent_version_id == parent_version_id
            // A stream anchor's content is fixed; only its description may differ.
            && (existing.description == description
                || namespaces::stream_of_base(&version_id).is_some())
            && existing.data_hash == data_hash
            && existing.operations == operations
            && existing.snapshot == snapshot;
        return if identical {
            Ok(())
        } else {
            Err(already_exists("state version", &version_id))
        };
    }
    redaction::refuse_if_redacted(ctx, RedactedKind::StateVersion, &version_id)?;
    let new_owner = access::require_stream_access(ctx, access::Stream::Timeline(&timeline))?;
    if let Some(parent) = &parent_version_id {
        if ctx.db.state_version().version_id().find(parent).is_none() {
            return Err(redaction::missing(
                ctx,
                RedactedKind::StateVersion,
                "parent state version",
                parent,
            ));
        }
    }
    let head = ctx.db.timeline().name().find(&timeline);
    if let Some(head) = &head {
        if parent_version_id.as_deref() != Some(head.head_version_id.as_str()) {
            return Err(RuleError::new(
                Code::Conflict,
                format!(
                    "timeline {timeline:?} is at {:?}, not at {:?}; reload and retry",
                    head.head_version_id,
                    parent_version_id.as_deref().unwrap_or("<none>")
                ),
            ));
        }
    }
    let since_snapshot = head.as_ref().map_or(0, |h| h.versions_since_snapshot);
    let interval = snapshots::parse_interval(config_value(ctx, snapshots::INTERVAL_KEY).as_deref());
    snapshots::require_snapshot(
        &version_id,
        &timeline,
        snapshot.is_some(),
        parent_version_id.is_some(),
        since_snapshot,
        interval,
    )?;
    if let Some(parent) = &parent_version_id {
        verify_operations(ctx, parent, &version_id, &operations, &data_hash)?;
    }

    access::record_owner(ctx, new_owner)?;
    let seq = journal::record(
        ctx,
        Entry::system(
            Some(version_id.clone()),
            EventData::StateVersionCommitted(StateVersionCommitted {
                version_id: version_id.clone(),
                timeline: timeline.clone(),
                parent_version_id: parent_version_id.clone(),
                description: description.clone(),
                data_hash: data_hash.clone(),
            }),
        ),
    )?;
    let versions_since_snapshot = if snapshot.is_some() {
        0
    } else {
        since_snapshot + 1
    };
    let timeline_row = Timeline {
        name: timeline.clone(),
        head_version_id: version_id.clone(),
        version_count: head.as_ref().map_or(0, |h| h.version_count) + 1,
        versions_since_snapshot,
        updated_at: ctx.timestamp,
    };
    if head.is_some() {
        ctx.db.timeline().name().update(timeline_row);
    } else {
        store::insert(
            ctx.db.timeline(),
            timeline_row,
            &format!("timeline {timeline:?}"),
        )?;
    }
    let what = format!("state version {version_id:?}");
    store::insert(
        ctx.db.state_version(),
        StateVersion {
            version_id,
            timeline,
            parent_version_id,
            timestamp: ctx.timestamp,
            occurred_at,
            description,
            data_hash,
            owner: ctx.sender,
            operations,
            snapshot,
            seq,
        },
        &what,
    )?;
    Ok(())
}

/// The parent's state with `operations` applied must hash to `data_hash`, so no version whose
/// state differs from its hash can be stored, snapshot or not. The parent's state is rebuilt
/// from its nearest ancestor with a snapshot (at most about `snapshot_interval` versions back
/// per timeline the chain crosses).
fn verify_operations(
    ctx: &ReducerContext,
    parent: &str,
    version_id: &str,
    operations: &[DeltaOperation],
    data_hash: &str,
) -> RuleResult {
    let what = format!("version {version_id:?}");
    let state = patch::apply(
        state_of(ctx, parent)?,
        &checks::parsed_operations(operations)?,
        &what,
    )?;
    let actual = json::data_hash(&state);
    if actual != data_hash {
        return Err(RuleError::new(
            Code::IntegrityError,
            format!(
                "{what}: its parent's state with its operations hashes to {actual}, not to the \
                 declared data_hash {data_hash}"
            ),
        ));
    }
    Ok(())
}

/// The state of stored version `version_id`: its nearest snapshot, then the operations of
/// every version after it, in order.
fn state_of(ctx: &ReducerContext, version_id: &str) -> RuleResult<json::Value> {
    let versions = ctx.db.state_version();
    let mut chain = Vec::new();
    let mut id = version_id.to_string();
    let snapshot = loop {
        let row = versions
            .version_id()
            .find(&id)
            .ok_or_else(|| not_found("ancestor state version", &id))?;
        if let Some(snapshot) = row.snapshot {
            break snapshot;
        }
        let parent = row.parent_version_id.clone().ok_or_else(|| {
            RuleError::new(
                Code::IntegrityError,
                format!("stored version {id:?} has neither a snapshot nor a parent"),
            )
        })?;
        chain.push(row);
        id = parent;
    };
    let mut state = json::parse("snapshot", &snapshot)?;
    for row in chain.iter().rev() {
        state = patch::apply(
            state,
            &checks::parsed_operations(&row.operations)?,
            &format!("stored version {:?}", row.version_id),
        )?;
    }
    Ok(state)
}

fn verified_snapshot(snapshot: &str, data_hash: &str) -> RuleResult<String> {
    let value = json::parse("snapshot", snapshot)?;
    let actual = json::data_hash(&value);
    if actual != data_hash {
        return Err(RuleError::new(
            Code::IntegrityError,
            format!("snapshot hashes to {actual}, not to the declared data_hash {data_hash}"),
        ));
    }
    Ok(json::to_canonical(&value))
}
