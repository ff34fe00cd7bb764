use inner_universe_rules::limits::MAX_BATCH_EVENTS;
use inner_universe_rules::{json, namespaces, text, RuleError, RuleResult};
use spacetimedb::{reducer, ReducerContext};

use super::already_exists;
use crate::access;
use crate::journal::{self, Entry};
use crate::tables::event_log::event_log;
use crate::types::{EventData, EventInput};

/// Appends one client event (its data becomes `EventData::Custom`).
#[reducer]
pub fn publish_event(ctx: &ReducerContext, event: EventInput) -> RuleResult {
    let event = validated("event", event)?;
    access::require_role(ctx, "publish_event")?;
    append(ctx, event)
}

/// Appends up to 1,000 events in one transaction: all or none, in the given order.
#[reducer]
pub fn publish_events(ctx: &ReducerContext, events: Vec<EventInput>) -> RuleResult {
    if events.is_empty() {
        return Err(RuleError::invalid(
            "events is empty; send at least one event",
        ));
    }
    if events.len() > MAX_BATCH_EVENTS {
        return Err(RuleError::invalid(format!(
            "events has {} items; the limit is {MAX_BATCH_EVENTS} per call",
            events.len()
        )));
    }
    let events = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| validated(&format!("events[{i}]"), e))
        .collect::<RuleResult<Vec<_>>>()?;
    access::require_role(ctx, "publish_events")?;
    for event in events {
        append(ctx, event)?;
    }
    Ok(())
}

fn validated(field: &str, event: EventInput) -> RuleResult<EventInput> {
    let id_field = format!("{field}.event_id");
    text::validate_id(&id_field, &event.event_id)?;
    namespaces::validate_client_event_id(&id_field, &event.event_id)?;
    text::validate_name(&format!("{field}.event_type"), &event.event_type)?;
    text::validate_optional_text(&format!("{field}.source"), event.source.as_deref())?;
    Ok(EventInput {
        data: json::canonicalize(&format!("{field}.data"), &event.data)?,
        metadata: json::canonicalize_object(&format!("{field}.metadata"), &event.metadata)?,
        ..event
    })
}

/// Idempotent by `event_id`: the same event again is a no-op (a retry after an unknown outcome).
fn append(ctx: &ReducerContext, event: EventInput) -> RuleResult {
    if let Some(existing) = ctx.db.event_log().event_id().find(&event.event_id) {
        let identical = existing.event_type == event.event_type
            && existing.source == event.source
            && existing.occurred_at == event.occurred_at
            && existing.data == EventData::Custom(event.data.clone())
            && existing.metadata == event.metadata;
        return if identical {
            Ok(())
        } else {
            Err(already_exists("event", &event.event_id))
        };
    }
    journal::record(
        ctx,
        Entry {
            event_id: Some(event.event_id),
            event_type: event.event_type,
            source: event.source,
            occurred_at: Some(event.occurred_at),
            data: EventData::Custom(event.data),
            metadata: event.metadata,
        },
    )?;
    Ok(())
}
