//! Writes `event_log` rows. Every mutating reducer calls [`record`] inside its own
//! transaction, so a change and its log row commit or fail together.

use spacetimedb::{ReducerContext, Table, Timestamp};

use crate::tables::client_connection::client_connection;
use crate::tables::event_log::{event_log, EventLog};
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
pub fn next_seq(ctx: &ReducerContext) -> u64 {
    let table = ctx.db.log_sequence();
    let seq = table.id().find(0).map_or(1, |row| row.next_seq);
    table.id().delete(0);
    table.insert(LogSequence {
        id: 0,
        next_seq: seq + 1,
    });
    seq
}

/// Appends an event and returns its `seq`.
pub fn record(ctx: &ReducerContext, entry: Entry) -> u64 {
    let seq = next_seq(ctx);
    ctx.db.event_log().insert(EventLog {
        event_id: entry.event_id.unwrap_or_else(|| format!("sys:{seq}")),
        seq,
        event_type: entry.event_type,
        source: entry.source,
        timestamp: ctx.timestamp,
        occurred_at: entry.occurred_at.unwrap_or(ctx.timestamp),
        sender: ctx.sender,
        data: entry.data,
        metadata: entry.metadata,
    });
    touch_connection(ctx);
    seq
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
