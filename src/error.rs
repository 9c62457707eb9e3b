//! The one error type every engine operation returns (SPEC §7). A leaf: it names no other
//! module of pitwall, so anything may use it (the store turns its own errors into this one).

use std::time::Duration;

use serde::Serialize;

/// The codes of SPEC §7, plus `internal` for failures that are not the caller's fault
/// (a full disk, a database another program corrupted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    NotFound,
    NotEligible,
    Offline,
    NotOffered,
    AlreadyTaken,
    AtCapacity,
    Expired,
    InvalidState,
    UnknownCommand,
    ParseError,
    /// Another program held the database past the documented wait; nothing changed.
    Busy,
    Internal,
    /// Over HTTP only (SPEC §13): no token, or one that is unknown or revoked.
    Unauthorized,
    /// Over HTTP only: the token's role may not run this command, or not on this object.
    Forbidden,
    /// Over HTTP only: the token sent more requests than its rate allows.
    RateLimited,
    /// Over HTTP only: a body over the limit.
    PayloadTooLarge,
    /// Over HTTP only: a path asked with a method it does not take.
    MethodNotAllowed,
    /// Over HTTP only: a body that is not `application/json`.
    UnsupportedMediaType,
}

impl ErrorCode {
    /// Every code, for tables that must cover them all (the HTTP status map, the OpenAPI text).
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::InvalidInput,
        ErrorCode::NotFound,
        ErrorCode::NotEligible,
        ErrorCode::Offline,
        ErrorCode::NotOffered,
        ErrorCode::AlreadyTaken,
        ErrorCode::AtCapacity,
        ErrorCode::Expired,
        ErrorCode::InvalidState,
        ErrorCode::UnknownCommand,
        ErrorCode::ParseError,
        ErrorCode::Busy,
        ErrorCode::Internal,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::RateLimited,
        ErrorCode::PayloadTooLarge,
        ErrorCode::MethodNotAllowed,
        ErrorCode::UnsupportedMediaType,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::NotFound => "not_found",
            ErrorCode::NotEligible => "not_eligible",
            ErrorCode::Offline => "offline",
            ErrorCode::NotOffered => "not_offered",
            ErrorCode::AlreadyTaken => "already_taken",
            ErrorCode::AtCapacity => "at_capacity",
            ErrorCode::Expired => "expired",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::UnknownCommand => "unknown_command",
            ErrorCode::ParseError => "parse_error",
            ErrorCode::Busy => "busy",
            ErrorCode::Internal => "internal",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
        }
    }
}

/// A rejected command: a code for programs, a sentence for dispatchers, and the offending field
/// (dotted path such as `location.postal_code`) when one input is to blame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct DispatchError {
    pub code: ErrorCode,
    pub message: String,
    pub field: Option<String>,
    /// Why, beyond the code, for the front ends that act on it: not part of the protocol.
    #[serde(skip)]
    pub cause: Cause,
}

/// What stands behind a refusal, where one code covers several causes a front end tells apart
/// (`busy` is both another program's lock and a lost connection to the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cause {
    /// The command itself was refused (bad input, the wrong state) or failed as its code says.
    #[default]
    Refused,
    /// The command lost a race with another transaction and nothing of it was applied: the
    /// engine runs it again (a bounded number of times) before answering.
    RaceLost,
    /// The connection to the database server broke before the command was confirmed.
    ConnectionLost,
}

impl DispatchError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        DispatchError {
            code,
            message: message.into(),
            field: None,
            cause: Cause::Refused,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DispatchError {
            code: ErrorCode::InvalidInput,
            message: message.into(),
            field: Some(field.into()),
            cause: Cause::Refused,
        }
    }

    pub fn not_found(field: &str, what: &str, id: &str) -> Self {
        DispatchError {
            code: ErrorCode::NotFound,
            message: format!("No {what} with id \"{}\".", crate::text::inert(id)),
            field: Some(field.to_string()),
            cause: Cause::Refused,
        }
    }

    /// Another program held the database for the whole `wait` (SPEC §7).
    pub fn busy(wait: Duration) -> Self {
        let wait = if wait >= Duration::from_secs(1) {
            format!("{} seconds", wait.as_secs())
        } else {
            format!("{} ms", wait.as_millis())
        };
        DispatchError::new(
            ErrorCode::Busy,
            format!(
                "The database is busy: another program kept it locked for {wait}. Nothing was \
                 changed; try again in a moment."
            ),
        )
    }

    /// The connection to the database server broke before the command was confirmed.
    pub fn connection_lost() -> Self {
        DispatchError {
            cause: Cause::ConnectionLost,
            ..DispatchError::new(ErrorCode::Busy, CONNECTION_LOST)
        }
    }

    /// Whether the command lost a race and may run again (nothing of it was applied).
    pub fn is_retryable(&self) -> bool {
        self.cause == Cause::RaceLost
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

/// A command whose connection to the database server broke before it was confirmed.
pub const CONNECTION_LOST: &str = "The connection to the database server was lost before the \
     command was confirmed, so it may not have been applied; pitwall reconnects. Look before \
     trying it again.";

/// What a write to a database pitwall may only read is told.
pub const READ_ONLY: &str = "The database is read-only (the file's permissions, or a read-only \
     disk or mount): pitwall can show it but not change it. Nothing was changed.";

pub type DispatchResult<T> = Result<T, DispatchError>;
