//! The per-identity write budget: at most `write_budget_events` events and
//! `write_budget_bytes` bytes per identity in each window of `write_budget_window_seconds`
//! (admin-set config keys; `0` means unlimited, the default). Admins are exempt.
//!
//! An event is one `event_log` row (every change the module logs) or one stored event of an
//! `eventsourcing` store; its bytes are the stored row's BSATN size. A call is charged once,
//! for all the events it writes. A window starts with the identity's first write after the
//! previous window ended. Usage is counted in the call's own transaction, so a refused call
//! (for any reason) counts nothing.

use crate::error::{Code, RuleError};

/// Events an identity may write per window; `0` (the default) is unlimited.
pub const EVENTS_KEY: &str = "write_budget_events";
/// Bytes an identity may write per window; `0` (the default) is unlimited.
pub const BYTES_KEY: &str = "write_budget_bytes";
/// The length of a budget window, in seconds.
pub const WINDOW_KEY: &str = "write_budget_window_seconds";
/// Used when the `write_budget_window_seconds` row is missing or out of range.
pub const DEFAULT_WINDOW_SECONDS: u64 = 60;
/// The longest window an admin may set, in seconds (one day).
pub const MAX_WINDOW_SECONDS: u64 = 86_400;
/// The largest `write_budget_events` or `write_budget_bytes` an admin may set.
pub const MAX_BUDGET: u64 = 1 << 50;

const MICROS_PER_SECOND: i64 = 1_000_000;

/// The configured budget; a limit of `0` is unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub events: u64,
    pub bytes: u64,
    pub window_seconds: u64,
}

impl Budget {
    /// From the stored canonical JSON of the three keys; a missing or out-of-range row is its
    /// default (unlimited, 60 s).
    pub fn parse(events: Option<&str>, bytes: Option<&str>, window: Option<&str>) -> Self {
        let limit = |value: Option<&str>| {
            value
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|n| *n <= MAX_BUDGET)
                .unwrap_or(0)
        };
        Self {
            events: limit(events),
            bytes: limit(bytes),
            window_seconds: parse_window(window),
        }
    }

    pub fn is_unlimited(&self) -> bool {
        self.events == 0 && self.bytes == 0
    }

    fn window_micros(&self) -> i64 {
        i64::try_from(self.window_seconds).map_or(i64::MAX, |s| s * MICROS_PER_SECOND)
    }
}

/// `write_budget_window_seconds` from its stored canonical JSON.
pub fn parse_window(value: Option<&str>) -> u64 {
    value
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|n| (1..=MAX_WINDOW_SECONDS).contains(n))
        .unwrap_or(DEFAULT_WINDOW_SECONDS)
}

/// What an identity wrote in its current window, which began at `window_start` (microseconds
/// since the Unix epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    pub window_start: i64,
    pub events: u64,
    pub bytes: u64,
}

/// A call over budget: which limit, how much of it the window has used, what the call would
/// add, and when the window resets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exceeded {
    pub what: &'static str,
    pub limit: u64,
    pub used: u64,
    pub adding: u64,
    pub window_seconds: u64,
    /// When the window ends, in microseconds since the Unix epoch.
    pub resets_at: i64,
    /// Microseconds from the refused call to `resets_at`.
    pub resets_in: i64,
}

impl Exceeded {
    /// `rate_limited`, naming `who`, the limit, the usage and `resets_at` (the caller's
    /// rendering of [`Exceeded::resets_at`]).
    pub fn error(&self, who: &str, resets_at: &str) -> RuleError {
        #[allow(clippy::cast_precision_loss)] // microseconds to at most a day, shown in seconds
        let seconds = self.resets_in as f64 / 1e6;
        RuleError::new(
            Code::RateLimited,
            format!(
                "{who} is over its write budget of {} {} per {}-second window \
                 (write_budget_{}): {} used and this call adds {}; the window resets at \
                 {resets_at} (resets_at_micros={}, in {seconds:.3} s)",
                self.limit,
                self.what,
                self.window_seconds,
                self.what,
                self.used,
                self.adding,
                self.resets_at
            ),
        )
    }
}

/// What one call writes: its events and their bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub events: u64,
    pub bytes: u64,
}

/// Charges a call's `cost` at `now` (microseconds since the Unix epoch) to `usage` (the
/// identity's stored usage, if any): the new usage, or [`Exceeded`] when it would pass a limit.
pub fn charge(
    budget: &Budget,
    usage: Option<Usage>,
    now: i64,
    cost: Cost,
) -> Result<Usage, Exceeded> {
    let window = budget.window_micros();
    let current = usage
        .filter(|u| now < u.window_start.saturating_add(window))
        .unwrap_or(Usage {
            window_start: now,
            events: 0,
            bytes: 0,
        });
    let resets_at = current.window_start.saturating_add(window);
    let over = |what, limit: u64, used: u64, adding: u64| {
        (limit > 0 && used.saturating_add(adding) > limit).then_some(Exceeded {
            what,
            limit,
            used,
            adding,
            window_seconds: budget.window_seconds,
            resets_at,
            resets_in: resets_at.saturating_sub(now),
        })
    };
    if let Some(exceeded) = over("events", budget.events, current.events, cost.events)
        .or_else(|| over("bytes", budget.bytes, current.bytes, cost.bytes))
    {
        return Err(exceeded);
    }
    Ok(Usage {
        window_start: current.window_start,
        events: current.events.saturating_add(cost.events),
        bytes: current.bytes.saturating_add(cost.bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    fn one(bytes: u64) -> Cost {
        Cost { events: 1, bytes }
    }

    fn usage(window_start: i64, events: u64, bytes: u64) -> Usage {
        Usage {
            window_start,
            events,
            bytes,
        }
    }

    fn budget(events: u64, bytes: u64) -> Budget {
        Budget {
            events,
            bytes,
            window_seconds: 10,
        }
    }

    #[test]
    fn parse_falls_back_to_unlimited_and_sixty_seconds() {
        let b = Budget::parse(None, None, None);
        assert!(b.is_unlimited());
        assert_eq!(b.window_seconds, DEFAULT_WINDOW_SECONDS);
        let b = Budget::parse(Some("5"), Some("1000"), Some("2"));
        assert_eq!((b.events, b.bytes, b.window_seconds), (5, 1000, 2));
        assert_eq!(parse_window(Some("0")), DEFAULT_WINDOW_SECONDS);
        assert_eq!(parse_window(Some("86401")), DEFAULT_WINDOW_SECONDS);
        assert_eq!(Budget::parse(Some("-1"), None, None).events, 0);
    }

    #[test]
    fn events_are_counted_until_the_limit() {
        let b = budget(2, 0);
        let u = charge(&b, None, 5 * SECOND, one(100)).unwrap();
        assert_eq!(u, usage(5 * SECOND, 1, 100));
        let batch = Cost {
            events: 2,
            bytes: 0,
        };
        let e = charge(&b, Some(u), 6 * SECOND, batch).unwrap_err();
        assert_eq!((e.what, e.limit, e.used, e.adding), ("events", 2, 1, 2));
        let u = charge(&b, Some(u), 6 * SECOND, one(100)).unwrap();
        assert_eq!(u.events, 2);
        let e = charge(&b, Some(u), 7 * SECOND, one(1)).unwrap_err();
        assert_eq!((e.what, e.limit, e.used, e.adding), ("events", 2, 2, 1));
        assert_eq!(e.resets_at, 15 * SECOND);
        assert_eq!(e.resets_in, 8 * SECOND);
        let message = e.error("identity abc", "then").to_string();
        assert!(message.starts_with(
            "rate_limited: identity abc is over its write budget of 2 events per 10-second \
             window (write_budget_events): 2 used and this call adds 1;"
        ));
        assert!(message.contains("resets at then (resets_at_micros=15000000, in 8.000 s)"));
    }

    #[test]
    fn bytes_are_counted_until_the_limit() {
        let b = budget(0, 150);
        let u = charge(&b, None, 0, one(100)).unwrap();
        let e = charge(&b, Some(u), 1, one(51)).unwrap_err();
        assert_eq!((e.what, e.used, e.adding), ("bytes", 100, 51));
        assert_eq!(charge(&b, Some(u), 1, one(50)).unwrap().bytes, 150);
    }

    #[test]
    fn a_new_window_starts_when_the_old_one_ended() {
        let b = budget(1, 0);
        let u = charge(&b, None, 0, one(1)).unwrap();
        assert!(charge(&b, Some(u), 10 * SECOND - 1, one(1)).is_err());
        let u = charge(&b, Some(u), 10 * SECOND, one(1)).unwrap();
        assert_eq!(u, usage(10 * SECOND, 1, 1));
    }

    #[test]
    fn unlimited_counts_without_refusing() {
        let b = budget(0, 0);
        let full = usage(0, u64::MAX, u64::MAX);
        assert!(charge(&b, Some(full), 1, one(u64::MAX)).is_ok());
    }
}
