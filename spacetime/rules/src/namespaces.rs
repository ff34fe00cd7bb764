//! Ids the module or the NERV plugin makes themselves, which no client may take first.
//!
//! - Event ids starting with `sys:` belong to the module's own events (`sys:<seq>`). A client
//!   event named `sys:<n>` would collide with the module's row once the log reached `n`.
//! - A delta id of the form `<s>:<n>` (`n` ASCII digits) is delta `n` of projector stream `s`,
//!   as the plugin names it, so it may only be recorded on stream `s`.
//! - A version id `stream.<s>.base` is the plugin's anchor for projector stream `s`: the root
//!   of timeline `stream.<s>` with the empty object as its whole state. The whole timeline
//!   `stream.<s>` belongs with projector stream `s`: whoever owns delta stream `s` owns it.
//! - Event types the module gives its own events (`ENTITY_CREATED`, ...: [`MODULE_EVENT_TYPES`])
//!   are refused for client events, which could otherwise pass for the module's confirmations.

use crate::error::{Code, RuleError, RuleResult};

/// The prefix of the module's own event ids.
pub const SYSTEM_EVENT_PREFIX: &str = "sys:";

/// The state of every stream anchor (`stream.<s>.base`), canonical JSON.
pub const STREAM_BASE_STATE: &str = "{}";

const STREAM_BASE_PREFIX: &str = "stream.";
const STREAM_BASE_SUFFIX: &str = ".base";

/// The event types of the module's own events (the `EventData` variants but `Custom`, and the
/// tombstones of redactions): no client event may carry one.
pub const MODULE_EVENT_TYPES: &[&str] = &[
    "ENTITY_CREATED",
    "ENTITY_UPDATED",
    "ENTITY_DELETED",
    "RELATION_CREATED",
    "RELATION_UPDATED",
    "RELATION_DELETED",
    "STATE_VERSION_COMMITTED",
    "DELTA_RECORDED",
    "CLIENT_CONNECTED",
    "CLIENT_DISCONNECTED",
    "SYSTEM_INITIALIZED",
    "CONFIG_UPDATED",
    "EVENT_REDACTED",
    "VERSION_REDACTED",
    "DELTA_REDACTED",
    "CONFIG_KEY_REMOVED",
];

/// A client event may not carry one of the module's own event types ([`MODULE_EVENT_TYPES`]).
pub fn validate_client_event_type(field: &str, event_type: &str) -> RuleResult {
    if MODULE_EVENT_TYPES.contains(&event_type) {
        return Err(RuleError::invalid(format!(
            "{field} {event_type:?} is reserved for the module's own events ({}); pick \
             another type",
            MODULE_EVENT_TYPES.join(", ")
        )));
    }
    Ok(())
}

/// The projector stream `s` whose anchor timeline `timeline` is, if it has the form
/// `stream.<s>`: that timeline belongs to the owner of delta stream `s`.
pub fn stream_of_anchor_timeline(timeline: &str) -> Option<&str> {
    timeline
        .strip_prefix(STREAM_BASE_PREFIX)
        .filter(|stream| !stream.is_empty())
}

/// The id of the module's event number `seq`. `attempt` 0 gives `sys:<seq>`; should that id be
/// taken (by a client event stored before `sys:` was reserved), attempt `n` gives
/// `sys:<seq>.<n>`, so the module's own row never collides.
pub fn system_event_id(seq: u64, attempt: u32) -> String {
    if attempt == 0 {
        format!("{SYSTEM_EVENT_PREFIX}{seq}")
    } else {
        format!("{SYSTEM_EVENT_PREFIX}{seq}.{attempt}")
    }
}

/// A client's event id may not start with `sys:` (in any letter case).
pub fn validate_client_event_id(field: &str, event_id: &str) -> RuleResult {
    let prefix = event_id.get(..SYSTEM_EVENT_PREFIX.len());
    if prefix.is_some_and(|p| p.eq_ignore_ascii_case(SYSTEM_EVENT_PREFIX)) {
        return Err(RuleError::invalid(format!(
            "{field} {event_id:?} starts with {SYSTEM_EVENT_PREFIX:?}, which is reserved for \
             the module's own events; pick another id"
        )));
    }
    Ok(())
}

/// A delta id `<s>:<n>` (the plugin's delta `n` of stream `s`) is refused on any stream but `s`.
pub fn validate_delta_id(delta_id: &str, stream: &str) -> RuleResult {
    let Some((named_stream, index)) = delta_id.rsplit_once(':') else {
        return Ok(());
    };
    let is_index = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
    if is_index && named_stream != stream {
        return Err(RuleError::invalid(format!(
            "delta_id {delta_id:?} names delta {index} of stream {named_stream:?}, so it cannot \
             be recorded on stream {stream:?}"
        )));
    }
    Ok(())
}

/// The stream `s` whose anchor `version_id` is, if it has the form `stream.<s>.base`.
pub fn stream_of_base(version_id: &str) -> Option<&str> {
    version_id
        .strip_prefix(STREAM_BASE_PREFIX)
        .and_then(|rest| rest.strip_suffix(STREAM_BASE_SUFFIX))
        .filter(|stream| !stream.is_empty())
}

/// A stream anchor `stream.<s>.base` must be the root of timeline `stream.<s>`, without
/// operations, whose snapshot (canonical JSON) is the empty object.
pub fn validate_stream_base(
    version_id: &str,
    timeline: &str,
    has_parent: bool,
    operations: usize,
    snapshot: Option<&str>,
) -> RuleResult {
    let Some(stream) = stream_of_base(version_id) else {
        return Ok(());
    };
    let expected_timeline = format!("{STREAM_BASE_PREFIX}{stream}");
    if timeline != expected_timeline
        || has_parent
        || operations != 0
        || snapshot != Some(STREAM_BASE_STATE)
    {
        return Err(RuleError::new(
            Code::InvalidArgument,
            format!(
                "version_id {version_id:?} is reserved for the anchor of projector stream \
                 {stream:?}: the root of timeline {expected_timeline:?}, no operations, the \
                 snapshot {STREAM_BASE_STATE}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_event_ids_step_aside_from_taken_ones() {
        assert_eq!(system_event_id(7, 0), "sys:7");
        assert_eq!(system_event_id(7, 2), "sys:7.2");
    }

    #[test]
    fn clients_cannot_use_the_module_event_types() {
        for event_type in ["ENTITY_CREATED", "EVENT_REDACTED", "CONFIG_KEY_REMOVED"] {
            let err = validate_client_event_type("event.event_type", event_type).unwrap_err();
            assert_eq!(err.code, Code::InvalidArgument);
            assert!(err.message.contains("reserved"), "{err}");
            assert!(err.message.contains("SYSTEM_INITIALIZED"), "{err}");
        }
        for event_type in ["entity_created", "ENTITY_CREATED_BY_ME", "X"] {
            assert!(
                validate_client_event_type("t", event_type).is_ok(),
                "{event_type}"
            );
        }
    }

    #[test]
    fn anchor_timelines_name_their_stream() {
        assert_eq!(stream_of_anchor_timeline("stream.s"), Some("s"));
        assert_eq!(stream_of_anchor_timeline("stream.a.b"), Some("a.b"));
        assert_eq!(stream_of_anchor_timeline("stream."), None);
        assert_eq!(stream_of_anchor_timeline("main"), None);
    }

    #[test]
    fn clients_cannot_name_events_sys() {
        for id in ["sys:1", "sys:", "SYS:9", "Sys:x"] {
            let err = validate_client_event_id("event.event_id", id).unwrap_err();
            assert_eq!(err.code, Code::InvalidArgument);
            assert!(err.message.contains("reserved"), "{err}");
        }
        for id in ["sys", "system:1", "a:sys:1", "ev-1"] {
            assert!(
                validate_client_event_id("event.event_id", id).is_ok(),
                "{id}"
            );
        }
    }

    #[test]
    fn plugin_delta_ids_stay_on_their_stream() {
        assert!(validate_delta_id("main:3", "main").is_ok());
        assert!(validate_delta_id("a:b:3", "a:b").is_ok());
        assert!(validate_delta_id("d1", "main").is_ok());
        assert!(validate_delta_id("main:x", "other").is_ok());
        let err = validate_delta_id("main:3", "other").unwrap_err();
        assert!(err.message.contains("stream \"main\""), "{err}");
        assert!(validate_delta_id("a:b:3", "b").is_err());
    }

    #[test]
    fn stream_anchors_are_fixed() {
        assert_eq!(stream_of_base("stream.main.base"), Some("main"));
        assert_eq!(stream_of_base("stream..base"), None);
        assert_eq!(stream_of_base("v1"), None);
        assert!(validate_stream_base("stream.m.base", "stream.m", false, 0, Some("{}")).is_ok());
        assert!(validate_stream_base("v1", "x", true, 3, None).is_ok());
        for (timeline, parent, ops, snapshot) in [
            ("stream.x", false, 0, Some("{}")),
            ("stream.m", true, 0, Some("{}")),
            ("stream.m", false, 1, Some("{}")),
            ("stream.m", false, 0, Some("{\"a\":1}")),
            ("stream.m", false, 0, None),
        ] {
            let err =
                validate_stream_base("stream.m.base", timeline, parent, ops, snapshot).unwrap_err();
            assert!(err.message.contains("reserved"), "{err}");
        }
    }
}
