//! One error type whose text starts with a stable code, so clients can map a reducer's
//! `Err` message to a typed error without parsing prose.

use std::fmt;

/// The stable prefix of every reducer error, e.g. `conflict: ...`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// The input is malformed: bad id, empty type name, invalid JSON, path or limit.
    InvalidArgument,
    /// A row the call refers to does not exist.
    NotFound,
    /// The id exists with different content.
    AlreadyExists,
    /// The caller is neither the row's owner nor an admin.
    PermissionDenied,
    /// The row is still referenced (an entity with relations).
    InUse,
    /// Optimistic concurrency: the timeline's head moved.
    Conflict,
    /// The data does not match its declared hash, or a stored event's position or a tracking
    /// record is taken already.
    IntegrityError,
    /// A state version must carry a full snapshot (a root version, or the timeline's
    /// `snapshot_interval`-th since the last one); send it again with one.
    SnapshotRequired,
    /// A configured limit is reached (`max_connections`); try again later or ask an admin.
    ResourceExhausted,
    /// An admin redacted the row with this id: it is not written again, nor redacted twice.
    Redacted,
    /// The caller's write budget (`write_budget_*`) for the current window is used up; the
    /// message says when the window resets.
    RateLimited,
    /// The database is closed for writes while its server stops, or while an import is under
    /// way; nothing changed: send the call again once the server is back or the import has
    /// finished.
    Unavailable,
    /// An import (`import_rows`) is open but has sent no batch for a while: it was refused
    /// or cut short, and stays open, so sending the call again does not help; import again
    /// into a fresh data dir.
    ImportOpen,
}

impl Code {
    /// The text form clients see before the `: ` of a reducer error. Python mirrors these in
    /// `nerv_inner_universe/contract/errors.py` (`ErrorCode`); a test compares the two.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::InvalidArgument => "invalid_argument",
            Code::NotFound => "not_found",
            Code::AlreadyExists => "already_exists",
            Code::PermissionDenied => "permission_denied",
            Code::InUse => "in_use",
            Code::Conflict => "conflict",
            Code::IntegrityError => "integrity_error",
            Code::SnapshotRequired => "snapshot_required",
            Code::ResourceExhausted => "resource_exhausted",
            Code::Redacted => "redacted",
            Code::RateLimited => "rate_limited",
            Code::Unavailable => "unavailable",
            Code::ImportOpen => "import_open",
        }
    }
}

/// A rule violation: the code plus a message that names the offending field or row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    pub code: Code,
    pub message: String,
}

impl RuleError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for RuleError {}

pub type RuleResult<T = ()> = Result<T, RuleError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_starts_with_the_code() {
        let err = RuleError::new(Code::Conflict, "timeline 'main' moved");
        assert_eq!(err.to_string(), "conflict: timeline 'main' moved");
    }
}
