//! `es_insert_events`: the write side of the `eventsourcing` persistence module
//! (`nerv_inner_universe.eventsourcing_module`).
//!
//! Who may append: a store belongs to the identity that wrote to it first, as a timeline does
//! (`access::Stream::EsStore`, `stream_owner` key `es:<store>`): only its owner, the owner's
//! delegates (`grant_stream_access`) and admins may append events to it or record tracking
//! records in it, and every caller needs the writer or admin role (`access::require_role`).
//! Within a store the aggregates' versions and the integrity rules, not row owners, decide what
//! is appended, and stored events are never updated or deleted. Each stored event and tracking
//! record counts against its writer's write budget (`budget::Meter`). These stores keep their
//! own total order (`notification_id` per store) and write no `event_log` row: NERV's log
//! stays NERV's; each call counts in `change_counter` instead (`changes::record`), which an
//! export checks.

use inner_universe_rules::stored_events::{
    position_taken, tracking_advances, unique_positions, validate_batch_len, validate_label,
    validate_state,
};
use inner_universe_rules::{text, RuleError, RuleResult};
use spacetimedb::{reducer, ReducerContext};

use crate::access::{self, Stream};
use crate::budget::Meter;
use crate::changes;
use crate::store;
use crate::tables::es_store::{es_store, EsStore};
use crate::tables::es_stored_event::{es_stored_event, EsStoredEvent};
use crate::tables::es_tracking::{es_tracking, EsTracking};
use crate::types::{EsEventInput, EsTrackingInput};

/// Appends `events` to `store` and records `tracking`, all or nothing: the events get the
/// store's next notification ids in the given order. Refused with `integrity_error` when a
/// position (originator id, version) is taken, in the store or twice in the batch, or when
/// `tracking` is not after the application's recorded position; `invalid_argument` for bad
/// input, or when there is nothing to record.
#[reducer]
pub fn es_insert_events(
    ctx: &ReducerContext,
    store: String,
    events: Vec<EsEventInput>,
    tracking: Option<EsTrackingInput>,
) -> RuleResult {
    text::validate_name("store", &store)?;
    validate_batch_len("events", events.len())?;
    for (i, event) in events.iter().enumerate() {
        validate_label(&format!("events[{i}].originator_id"), &event.originator_id)?;
        validate_label(&format!("events[{i}].topic"), &event.topic)?;
        validate_state(&format!("events[{i}].state"), &event.state)?;
    }
    if let Some(tracking) = &tracking {
        text::validate_name("tracking.store", &tracking.store)?;
        validate_label("tracking.application_name", &tracking.application_name)?;
    }
    if events.is_empty() && tracking.is_none() {
        return Err(RuleError::invalid(
            "events is empty and there is no tracking record: nothing to record",
        ));
    }
    unique_positions(
        events
            .iter()
            .map(|e| (e.originator_id.as_str(), e.originator_version)),
    )?;
    access::require_role(ctx, "es_insert_events")?;
    let mut new_owners = Vec::new();
    if !events.is_empty() {
        new_owners.push(access::require_stream_access(ctx, Stream::EsStore(&store))?);
    }
    if let Some(t) = &tracking {
        new_owners.push(access::require_stream_access(
            ctx,
            Stream::EsStore(&t.store),
        )?);
    }
    for event in &events {
        if position_recorded(ctx, &store, &event.originator_id, event.originator_version) {
            return Err(position_taken(
                &event.originator_id,
                event.originator_version,
                &format!("recorded in store {store:?} already"),
            ));
        }
    }
    let recorded_tracking = match &tracking {
        Some(t) => {
            let row = ctx
                .db
                .es_tracking()
                .es_tracking_by_application()
                .filter((t.store.as_str(), t.application_name.as_str()))
                .next();
            tracking_advances(
                &t.application_name,
                row.as_ref().map(|r| r.notification_id),
                t.notification_id,
            )?;
            row
        }
        None => None,
    };

    for new_owner in new_owners {
        access::record_owner(ctx, new_owner)?;
    }
    changes::record(ctx)?;
    let mut meter = Meter::new(ctx);
    if !events.is_empty() {
        append(ctx, store, events, &mut meter)?;
    }
    if let Some(t) = tracking {
        record_tracking(ctx, recorded_tracking, t, &mut meter)?;
    }
    meter.charge(ctx)
}

/// True when `store` holds an event of `originator_id` at `version` (one index lookup).
pub fn position_recorded(
    ctx: &ReducerContext,
    store: &str,
    originator_id: &str,
    version: u64,
) -> bool {
    ctx.db
        .es_stored_event()
        .es_stored_event_by_position()
        .filter((store, originator_id, version))
        .next()
        .is_some()
}

fn append(
    ctx: &ReducerContext,
    store: String,
    events: Vec<EsEventInput>,
    meter: &mut Meter,
) -> RuleResult {
    let heads = ctx.db.es_store();
    let last = heads
        .name()
        .find(&store)
        .map_or(0, |head| head.max_notification_id);
    let mut next = last;
    for event in events {
        next += 1;
        let row = EsStoredEvent {
            row_id: 0,
            store: store.clone(),
            originator_id: event.originator_id,
            originator_version: event.originator_version,
            topic: event.topic,
            state: event.state,
            notification_id: next,
            recorded_at: ctx.timestamp,
            sender: ctx.sender,
        };
        meter.add(&row)?;
        store::insert(ctx.db.es_stored_event(), row, "stored event")?;
    }
    let head = EsStore {
        name: store,
        max_notification_id: next,
    };
    if last == 0 {
        store::insert(heads, head, "store head")?;
    } else {
        heads.name().update(head);
    }
    Ok(())
}

fn record_tracking(
    ctx: &ReducerContext,
    recorded: Option<EsTracking>,
    t: EsTrackingInput,
    meter: &mut Meter,
) -> RuleResult {
    let table = ctx.db.es_tracking();
    match recorded {
        Some(row) => {
            let row = EsTracking {
                notification_id: t.notification_id,
                ..row
            };
            meter.add(&row)?;
            table.row_id().update(row);
        }
        None => {
            let row = EsTracking {
                row_id: 0,
                store: t.store,
                application_name: t.application_name,
                notification_id: t.notification_id,
            };
            meter.add(&row)?;
            store::insert(table, row, "tracking record")?;
        }
    }
    Ok(())
}
