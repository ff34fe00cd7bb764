//! Rules for the `eventsourcing` library's stored events (`es_*` tables): what an event and a
//! tracking record may hold, and the two integrity rules a batch must keep.

use std::collections::HashSet;

use crate::error::{Code, RuleError, RuleResult};
use crate::limits::{MAX_JSON_BYTES, MAX_LABEL_LEN, MAX_STORED_EVENTS};

/// Originator ids, topics and application names: non-empty, at most 256 bytes, no control
/// characters (an `eventsourcing` id may be any `str`, a UUID is sent in its hyphenated form).
pub fn validate_label(field: &str, label: &str) -> RuleResult {
    if label.is_empty() {
        return Err(RuleError::invalid(format!("{field} must not be empty")));
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(RuleError::invalid(format!(
            "{field} is {} bytes long; the limit is {MAX_LABEL_LEN}",
            label.len()
        )));
    }
    if label.chars().any(char::is_control) {
        return Err(RuleError::invalid(format!(
            "{field} {label:?} contains a control character"
        )));
    }
    Ok(())
}

/// A stored event's serialised state: at most 4 MiB.
pub fn validate_state(field: &str, state: &[u8]) -> RuleResult {
    if state.len() > MAX_JSON_BYTES {
        return Err(RuleError::invalid(format!(
            "{field} is {} bytes long; the limit is {MAX_JSON_BYTES}",
            state.len()
        )));
    }
    Ok(())
}

/// A batch size: 0 (a tracking record alone) to 10,000 events.
pub fn validate_batch_len(field: &str, len: usize) -> RuleResult {
    if len > MAX_STORED_EVENTS {
        return Err(RuleError::invalid(format!(
            "{field} has {len} items; the limit is {MAX_STORED_EVENTS} per call"
        )));
    }
    Ok(())
}

/// The same (originator id, version) twice in one batch is an `integrity_error`, as it would
/// be against a stored event.
pub fn unique_positions<'a>(positions: impl IntoIterator<Item = (&'a str, u64)>) -> RuleResult {
    let mut seen = HashSet::new();
    for (originator_id, version) in positions {
        if !seen.insert((originator_id, version)) {
            return Err(position_taken(
                originator_id,
                version,
                "twice in this batch",
            ));
        }
    }
    Ok(())
}

/// The refusal for a position that is taken (`where_` says by what).
pub fn position_taken(originator_id: &str, version: u64, where_: &str) -> RuleError {
    RuleError::new(
        Code::IntegrityError,
        format!("stored event ({originator_id:?}, version {version}) is {where_}"),
    )
}

/// An application's tracking position only moves forward: a notification id at or below the
/// recorded one is an `integrity_error` (processed already, or a gap filled in late).
pub fn tracking_advances(application: &str, recorded: Option<u64>, new: u64) -> RuleResult {
    match recorded {
        Some(current) if new <= current => Err(RuleError::new(
            Code::IntegrityError,
            format!(
                "tracking of {application:?} is at notification {current}; \
                 {new} is not after it"
            ),
        )),
        _ => Ok(()),
    }
}

/// A store's head as `es_insert_events` keeps it: `max_notification_id` is the number of the
/// store's events (their ids are unique, from 1, so the ids are exactly 1..=max), and a head is
/// written with the first event, so it is at least 1. An `integrity_error` otherwise (an
/// imported store whose head and events disagree).
pub fn head_matches_events(store: &str, max_notification_id: u64, events: u64) -> RuleResult {
    if max_notification_id == 0 || events != max_notification_id {
        return Err(RuleError::new(
            Code::IntegrityError,
            format!(
                "store {store:?} has {events} events but its head says {max_notification_id}: \
                 notification ids must run 1, 2, 3... up to the head without a gap"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded_printable_text() {
        assert!(validate_label("originator_id", "3f2b1c9e-0d4a-4c55-9a61-2f3e4d5c6b7a").is_ok());
        assert!(validate_label("topic", "eventsourcing.domain:Aggregate.Created").is_ok());
        assert!(validate_label("topic", "a b é").is_ok());
        let empty = validate_label("topic", "").unwrap_err();
        assert_eq!(empty.code, Code::InvalidArgument);
        assert_eq!(empty.message, "topic must not be empty");
        assert!(validate_label("topic", &"x".repeat(256)).is_ok());
        assert!(validate_label("topic", &"x".repeat(257))
            .unwrap_err()
            .message
            .contains("limit is 256"));
        assert!(validate_label("originator_id", "a\nb").is_err());
    }

    #[test]
    fn states_and_batches_are_bounded() {
        assert!(validate_state("state", &[]).is_ok());
        assert!(validate_state("state", &vec![0; MAX_JSON_BYTES]).is_ok());
        assert!(validate_state("state", &vec![0; MAX_JSON_BYTES + 1]).is_err());
        assert!(validate_batch_len("events", 0).is_ok());
        assert!(validate_batch_len("events", 10_000).is_ok());
        let many = validate_batch_len("events", 10_001).unwrap_err();
        assert_eq!(
            many.message,
            "events has 10001 items; the limit is 10000 per call"
        );
    }

    #[test]
    fn a_position_twice_in_a_batch_is_an_integrity_error() {
        assert!(unique_positions([("a", 1), ("a", 2), ("b", 1)]).is_ok());
        let twice = unique_positions([("a", 1), ("b", 1), ("a", 1)]).unwrap_err();
        assert_eq!(twice.code, Code::IntegrityError);
        assert_eq!(
            twice.to_string(),
            "integrity_error: stored event (\"a\", version 1) is twice in this batch"
        );
    }

    #[test]
    fn tracking_only_moves_forward() {
        assert!(tracking_advances("app", None, 0).is_ok());
        assert!(tracking_advances("app", Some(21), 22).is_ok());
        assert!(tracking_advances("app", Some(21), 30).is_ok());
        let same = tracking_advances("app", Some(21), 21).unwrap_err();
        assert_eq!(same.code, Code::IntegrityError);
        assert!(same.message.contains("at notification 21"), "{same}");
        assert!(tracking_advances("app", Some(24), 23).is_err());
    }

    #[test]
    fn a_head_counts_its_stores_events() {
        assert!(head_matches_events("s", 3, 3).is_ok());
        let gap = head_matches_events("s", 4, 3).unwrap_err();
        assert_eq!(gap.code, Code::IntegrityError);
        assert!(gap
            .message
            .starts_with("store \"s\" has 3 events but its head says 4"));
        assert!(head_matches_events("s", 2, 3).is_err());
        assert!(head_matches_events("s", 0, 0).is_err());
    }
}
