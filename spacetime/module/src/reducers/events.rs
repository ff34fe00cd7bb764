use inner_universe_rules::config as settings;
use inner_universe_rules::limits::{MAX_BATCH_EVENTS, MAX_JSON_BYTES};
use inner_universe_rules::{json, moments, namespaces, text, RuleError, RuleResult};
use spacetimedb::{reducer, ReducerContext};

use super::{already_exists, redaction};
use crate::access;
use crate::budget::Meter;
use crate::journal::{self, Entry};
use crate::tables::config::value_of as config_value;
use crate::tables::event_log::event_log;
use crate::types::{EventData, EventInput, RedactedKind};

/// Appends one client event (its data becomes `EventData::Custom`).
#[reducer]
pub fn publish_event(ctx: &ReducerContext, event: EventInput) -> RuleResult {
    within_limits(ctx, std::slice::from_ref(&event))?;
    let event = validated("event", event)?;
    access::require_role(ctx, "publish_event")?;
    within_limits(ctx, std::slice::from_ref(&event))?;
    let mut meter = Meter::new(ctx);
    append(ctx, event, &mut meter)?;
    meter.charge(ctx)
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
    within_limits(ctx, &events)?;
    let events = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| validated(&format!("events[{i}]"), e))
        .collect::<RuleResult<Vec<_>>>()?;
    access::require_role(ctx, "publish_events")?;
    within_limits(ctx, &events)?;
    let mut meter = Meter::new(ctx);
    for event in events {
        append(ctx, event, &mut meter)?;
    }
    meter.charge(ctx)
}

fn validated(field: &str, event: EventInput) -> RuleResult<EventInput> {
    let id_field = format!("{field}.event_id");
    text::validate_id(&id_field, &event.event_id)?;
    namespaces::validate_client_event_id(&id_field, &event.event_id)?;
    let type_field = format!("{field}.event_type");
    text::validate_name(&type_field, &event.event_type)?;
    namespaces::validate_client_event_type(&type_field, &event.event_type)?;
    text::validate_optional_text(&format!("{field}.source"), event.source.as_deref())?;
    moments::validate_occurred_at(
        &format!("{field}.occurred_at"),
        event.occurred_at.to_micros_since_unix_epoch(),
    )?;
    Ok(EventInput {
        data: json::canonicalize(&format!("{field}.data"), &event.data)?,
        metadata: json::canonicalize_object(&format!("{field}.metadata"), &event.metadata)?,
        ..event
    })
}

/// Each event's data and metadata together within `max_event_bytes`, and a call's within
/// `MAX_JSON_BYTES`, so no call can write more than a few MiB. Checked on the text as sent,
/// before it is parsed (so an oversized call costs no parse), and again on the canonical text
/// stored (which a number's canonical form may lengthen).
fn within_limits(ctx: &ReducerContext, events: &[EventInput]) -> RuleResult {
    let limit = settings::parse_max_event_bytes(
        config_value(ctx, settings::MAX_EVENT_BYTES_KEY).as_deref(),
    );
    let mut total = 0;
    for (i, event) in events.iter().enumerate() {
        let size = event.data.len() + event.metadata.len();
        if size > limit {
            return Err(RuleError::invalid(format!(
                "event {i} ({:?}) has {size} bytes of data and metadata; max_event_bytes is \
                 {limit}",
                event.event_id
            )));
        }
        total += size;
    }
    if total > MAX_JSON_BYTES {
        return Err(RuleError::invalid(format!(
            "the events have {total} bytes of data and metadata together; the limit is \
             {MAX_JSON_BYTES} per call"
        )));
    }
    Ok(())
}

/// Idempotent by `event_id`: the same event again is a no-op (a retry after an unknown outcome);
/// a redacted event's id is refused (`redacted`), so a re-send does not bring it back.
fn append(ctx: &ReducerContext, event: EventInput, meter: &mut Meter) -> RuleResult {
    if let Some(existing) = ctx.db.event_log().event_id().find(&event.event_id) {
        if matches!(existing.data, EventData::Redacted(_)) {
            return Err(redaction::redacted(RedactedKind::Event, &event.event_id));
        }
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
    journal::record_metered(
        ctx,
        Entry {
            event_id: Some(event.event_id),
            event_type: event.event_type,
            source: event.source,
            occurred_at: Some(event.occurred_at),
            data: EventData::Custom(event.data),
            metadata: event.metadata,
        },
        meter,
    )?;
    Ok(())
}
