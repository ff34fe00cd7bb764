use inner_universe_rules::{moments, namespaces, text, RuleResult};
use spacetimedb::{reducer, ReducerContext, Timestamp};

use super::{already_exists, redaction};
use crate::journal::{self, Entry};
use crate::store;
use crate::tables::delta_record::{delta_record, DeltaRecord};
use crate::tables::state_version::state_version;
use crate::types::{DeltaMetadata, DeltaOperation, DeltaRecorded, EventData, RedactedKind};
use crate::{access, checkpoint, checks};

/// Records a StateProjector delta on `stream`, applied on top of an existing state version.
#[reducer]
pub fn record_delta(
    ctx: &ReducerContext,
    delta_id: String,
    stream: String,
    state_version_id: String,
    occurred_at: Timestamp,
    operations: Vec<DeltaOperation>,
    metadata: DeltaMetadata,
) -> RuleResult {
    text::validate_id("delta_id", &delta_id)?;
    text::validate_name("stream", &stream)?;
    namespaces::validate_delta_id(&delta_id, &stream)?;
    text::validate_id("state_version_id", &state_version_id)?;
    moments::validate_occurred_at("occurred_at", occurred_at.to_micros_since_unix_epoch())?;
    let operations = checks::operations(operations)?;
    let metadata = checks::delta_metadata(metadata)?;
    access::require_role(ctx, "record_delta")?;
    if let Some(existing) = ctx.db.delta_record().delta_id().find(&delta_id) {
        redaction::refuse_if_redacted(ctx, RedactedKind::Delta, &delta_id)?;
        let identical = existing.stream == stream
            && existing.state_version_id == state_version_id
            && existing.operations == operations
            && existing.metadata == metadata;
        return if identical {
            Ok(())
        } else {
            Err(already_exists("delta", &delta_id))
        };
    }
    if ctx
        .db
        .state_version()
        .version_id()
        .find(&state_version_id)
        .is_none()
    {
        return Err(redaction::missing(
            ctx,
            RedactedKind::StateVersion,
            "state version",
            &state_version_id,
        ));
    }
    let new_owner = access::require_stream_access(ctx, access::Stream::Deltas(&stream))?;
    access::record_owner(ctx, new_owner)?;
    let seq = journal::record(
        ctx,
        Entry::system(
            Some(delta_id.clone()),
            EventData::DeltaRecorded(DeltaRecorded {
                delta_id: delta_id.clone(),
                stream: stream.clone(),
                state_version_id: state_version_id.clone(),
                operations_count: operations.len() as u32,
            }),
        ),
    )?;
    checkpoint::count_recorded(ctx, &stream)?;
    let what = format!("delta {delta_id:?}");
    store::insert(
        ctx.db.delta_record(),
        DeltaRecord {
            delta_id,
            stream,
            state_version_id,
            operations,
            timestamp: ctx.timestamp,
            occurred_at,
            metadata,
            owner: ctx.sender,
            seq,
        },
        &what,
    )
}
