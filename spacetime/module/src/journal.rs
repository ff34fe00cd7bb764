//! Writes `event_log` rows. Every mutating reducer calls [`record`] inside its own
//! transaction, so a change and its log row commit or fail together.

use inner_universe_rules::{namespaces, RuleResult};
use spacetimedb::{ReducerContext, Timestamp};

use crate::budget::Meter;
use crate::store;

use crate::tables::client_connection::client_connection;
use crate::tables::event_log::{event_log, EventLog};
use crate::tables::log_page::record_page;
use crate::tables::log_sequence::{log_sequence, LogSequence};
use crate::types::EventData;

/// What an `event_log` row needs beyond what the context knows.
pub struct Entry {
    pub event_id: Option<String>,
    pub event_type: String,
    pub source: Option<String>,
    pub occurred_at: Option<Timestamp>,
    pub data: EventData,
    pub metadata: String,
}

impl Entry {
    /// A module event: the module names it `sys:<seq>`, stamps it with the commit time and
    /// types it after its variant ([`EventData::system_event_type`]).
    pub fn system(source: Option<String>, data: EventData) -> Self {
        let event_type = data
            .system_event_type()
            .expect("Entry::system takes module events; a Custom event is a client's Entry");
        Self {
            event_id: None,
            event_type: event_type.to_string(),
            source,
            occurred_at: None,
            data,
            metadata: "{}".to_string(),
        }
    }
}

/// Takes the next sequence number (gap-free, starting at 1).
fn next_seq(ctx: &ReducerContext) -> RuleResult<u64> {
    let table = ctx.db.log_sequence();
    let row = table.id().find(0);
    let seq = row.as_ref().map_or(1, |row| row.next_seq);
    let next = LogSequence {
        id: 0,
        next_seq: seq + 1,
    };
    if row.is_some() {
        table.id().update(next);
        Ok(seq)
    } else {
        store::insert(table, next, "the log sequence").map(|()| seq)
    }
}

/// The module's id for event `seq`: `sys:<seq>`, or `sys:<seq>.<n>` when a client event
/// stored before `sys:` was reserved holds that id already.
fn system_event_id(ctx: &ReducerContext, seq: u64) -> String {
    let log = ctx.db.event_log();
    (0..)
        .map(|attempt| namespaces::system_event_id(seq, attempt))
        .find(|id| log.event_id().find(id).is_none())
        .expect("an unbounded range of distinct ids has a free one")
}

/// Appends an event and returns its `seq`, charged to the caller's write budget
/// (`rate_limited` when over it). Never panics: a collision (which the reserved `sys:` prefix
/// and the gap-free `seq` rule out) is `already_exists`.
pub fn record(ctx: &ReducerContext, entry: Entry) -> RuleResult<u64> {
    let mut meter = Meter::new(ctx);
    let seq = record_metered(ctx, entry, &mut meter)?;
    meter.charge(ctx)?;
    Ok(seq)
}

/// [`record`] for a call that writes several events: `meter` counts this one, and the caller
/// charges them together.
pub fn record_metered(ctx: &ReducerContext, entry: Entry, meter: &mut Meter) -> RuleResult<u64> {
    let seq = next_seq(ctx)?;
    let event_id = match entry.event_id {
        Some(id) => id,
        None => system_event_id(ctx, seq),
    };
    let what = format!("event {event_id:?} (seq {seq})");
    let row = EventLog {
        event_id,
        seq,
        event_type: entry.event_type,
        source: entry.source,
        timestamp: ctx.timestamp,
        occurred_at: entry.occurred_at.unwrap_or(ctx.timestamp),
        sender: ctx.sender,
        data: entry.data,
        metadata: entry.metadata,
    };
    meter.add(&row)?;
    store::insert(ctx.db.event_log(), row, &what)?;
    record_page(ctx, seq)?;
    touch_connection(ctx);
    Ok(seq)
}

/// Marks the caller's connection as active now.
fn touch_connection(ctx: &ReducerContext) {
    let Some(connection_id) = ctx.connection_id else {
        return;
    };
    let connections = ctx.db.client_connection();
    if let Some(mut row) = connections.connection_id().find(connection_id) {
        if row.last_active_at != ctx.timestamp {
            row.last_active_at = ctx.timestamp;
            connections.connection_id().update(row);
        }
    }
}
