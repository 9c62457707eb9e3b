//! One `POST /v1/commands`, from token to response, run on the engine thread: authenticate,
//! rate limit, parse with the headless parser, check the role, replay or run, keep the answer.
//! No async here and no HTTP types: the HTTP layer ships bytes in and a [`Reply`] out.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::command::{Rejected, parse_value};
use crate::engine::Engine;
use crate::engine::outcome::Outcome;
use crate::error::{DispatchError, ErrorCode};
use crate::store::tokens::{self as kept_store, Kept};
use crate::tokens::{self, Caller};

use super::limits::{RateLimit, retry_after_secs};

/// How long a response is kept for its `Idempotency-Key`.
pub const KEEP_FOR: chrono::Duration = chrono::Duration::hours(24);

/// What the HTTP layer answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// The JSON object headless would print for this command.
    pub body: Body,
    pub retry_after: Option<u64>,
    /// The token that asked, for the request log (never the token itself).
    pub token_id: Option<String>,
    /// A kept response sent again for a repeated `Idempotency-Key`.
    pub replayed: bool,
}

/// A response body: written, or a command's result still to be written out. A result is
/// written by the runtime's threads after the engine thread has moved on to the next request
/// (12–15 µs of an intake's ~450 µs there); only an answer kept for its `Idempotency-Key` is
/// written on the engine thread, since it is stored.
#[derive(Debug, Clone)]
pub enum Body {
    Text(String),
    Result(&'static str, Box<Result<Outcome, DispatchError>>),
}

impl Body {
    /// The JSON text, as headless prints it.
    pub fn into_text(self) -> String {
        match self {
            Body::Text(text) => text,
            Body::Result(name, result) => crate::headless::response(name, &result),
        }
    }
}

/// The HTTP status of each code (SPEC §13's table): the one place it is decided.
pub fn status_of(code: ErrorCode) -> u16 {
    use ErrorCode as E;
    match code {
        E::ParseError | E::UnknownCommand => 400,
        E::Unauthorized => 401,
        E::Forbidden => 403,
        E::NotFound => 404,
        E::AlreadyTaken
        | E::AtCapacity
        | E::InvalidState
        | E::Expired
        | E::NotOffered
        | E::Offline
        | E::NotEligible => 409,
        E::PayloadTooLarge => 413,
        E::InvalidInput => 422,
        E::RateLimited => 429,
        E::Internal => 500,
        E::Busy => 503,
    }
}

/// Seconds a client should wait before sending a `busy` request again.
pub const BUSY_RETRY_AFTER: u64 = 1;

/// A refusal as headless would print it, with its status.
pub fn refusal(cmd: Option<&str>, error: &DispatchError) -> Reply {
    Reply {
        status: status_of(error.code),
        body: Body::Text(crate::headless::failure(cmd, error)),
        retry_after: (error.code == ErrorCode::Busy).then_some(BUSY_RETRY_AFTER),
        token_id: None,
        replayed: false,
    }
}

/// The caller behind `Authorization`, within its rate: the first step of every request but
/// `/v1/health`.
pub fn admit(
    engine: &Engine,
    limit: &RateLimit,
    bearer: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Caller, Reply> {
    let Some(token) = bearer else {
        return Err(refusal(
            None,
            &DispatchError::new(
                ErrorCode::Unauthorized,
                "Send Authorization: Bearer <token>; make one with `pitwall token create`.",
            ),
        ));
    };
    let caller =
        tokens::authenticate(engine.connection(), token, now).map_err(|e| refusal(None, &e))?;
    if let Err(wait) = limit.check(&caller.token_id) {
        let secs = retry_after_secs(wait);
        let mut reply = refusal(
            None,
            &DispatchError::new(
                ErrorCode::RateLimited,
                format!("Too many requests for this token; try again in {secs} s."),
            ),
        );
        reply.retry_after = Some(secs);
        reply.token_id = Some(caller.token_id);
        return Err(reply);
    }
    Ok(caller)
}

/// A valid `Idempotency-Key`: 1–255 visible ASCII characters.
fn check_key(key: &str) -> Result<(), DispatchError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DispatchError::invalid(
            "Idempotency-Key",
            "An Idempotency-Key is 1 to 255 visible ASCII characters (a UUID is a good one).",
        ));
    }
    Ok(())
}

/// A request body read as far as it can be without the database: its digest (for an
/// `Idempotency-Key`) and its JSON. Done on the runtime's threads before the request joins the
/// engine's queue, so the one engine thread, whose every microsecond each queued request waits
/// for, spends none on it.
pub struct Received {
    /// The body's SHA-256, when an `Idempotency-Key` came with it (replays compare it).
    sha256: Option<Vec<u8>>,
    json: Result<serde_json::Value, DispatchError>,
}

impl Received {
    pub fn read(body: &[u8], keyed: bool) -> Received {
        let json = match std::str::from_utf8(body) {
            Err(_) => Err(DispatchError::new(
                ErrorCode::ParseError,
                "The body is not valid UTF-8.",
            )),
            Ok(text) => crate::json::from_str(text).map_err(|e| {
                DispatchError::new(ErrorCode::ParseError, format!("Not valid JSON: {e}."))
            }),
        };
        Received {
            sha256: keyed.then(|| Sha256::digest(body).to_vec()),
            json,
        }
    }
}

/// Runs one command body for `caller`.
pub fn command(engine: &mut Engine, caller: &Caller, key: Option<&str>, body: Received) -> Reply {
    let mut reply = command_reply(engine, caller, key, body);
    reply.token_id = Some(caller.token_id.clone());
    reply
}

fn command_reply(engine: &mut Engine, caller: &Caller, key: Option<&str>, body: Received) -> Reply {
    let now = engine.now();
    let request_sha256 = body.sha256.unwrap_or_default();
    if let Some(key) = key {
        if let Err(e) = check_key(key) {
            return refusal(None, &e);
        }
        match kept_store::kept(engine.connection(), &caller.token_id, key, now - KEEP_FOR) {
            Ok(Some(kept)) if kept.request_sha256 == request_sha256 => {
                return Reply {
                    status: kept.status,
                    body: Body::Text(kept.response),
                    retry_after: None,
                    token_id: None,
                    replayed: true,
                };
            }
            Ok(Some(_)) => {
                return refusal(
                    None,
                    &DispatchError::invalid(
                        "Idempotency-Key",
                        "This Idempotency-Key was used with a different body in the last 24 \
                         hours; use a new key for a new request.",
                    ),
                );
            }
            Ok(None) => {}
            Err(e) => return refusal(None, &e.into()),
        }
    }
    let mut value = match body.json {
        Ok(value) => value,
        Err(e) => return refusal(None, &e),
    };
    // A command outside the role is `forbidden` whatever its fields (SPEC §13): judged by its
    // name before the body is parsed, so a bad body never answers in its place.
    if let Some(name) = value.get("cmd").and_then(serde_json::Value::as_str)
        && let Some(&known) = pitwall_command_name(name)
        && !super::access::role_allows_name(&caller.role, known)
    {
        return refusal(
            Some(known),
            &super::access::forbidden_command(&caller.role, known),
        );
    }
    super::access::fill_in_self(&caller.role, &mut value);
    let command = match parse_value(value) {
        Ok(command) => command,
        Err(Rejected { cmd, error }) => return refusal(cmd.as_deref(), &error),
    };
    let name = command.name();
    if let Err(e) = super::access::check(engine.connection(), &caller.role, &command) {
        return refusal(Some(name), &e);
    }
    let result = engine.execute(command);
    let status = match &result {
        Ok(_) => 200,
        Err(e) => status_of(e.code),
    };
    let retry_after =
        matches!(&result, Err(e) if e.code == ErrorCode::Busy).then_some(BUSY_RETRY_AFTER);
    // A busy or failed database changed nothing: the client should try again, so that answer
    // is not kept. Every answer of a command that ran is.
    let retryable =
        matches!(&result, Err(e) if matches!(e.code, ErrorCode::Busy | ErrorCode::Internal));
    let body = match (key, retryable) {
        (Some(key), false) => {
            let text = crate::headless::response(name, &result);
            let kept = Kept {
                request_sha256,
                status,
                response: text.clone(),
            };
            if let Err(e) = kept_store::keep(engine.connection(), &caller.token_id, key, &kept, now)
            {
                // The command committed; only its replay is lost. Said, not hidden.
                tracing::warn!(error = %e, "could not keep a response for its Idempotency-Key");
            }
            Body::Text(text)
        }
        _ => Body::Result(name, Box::new(result)),
    };
    Reply {
        status,
        body,
        retry_after,
        token_id: None,
        replayed: false,
    }
}

/// The protocol's own spelling of a command name, if it is one.
fn pitwall_command_name(name: &str) -> Option<&'static &'static str> {
    crate::command::Command::NAMES.iter().find(|n| **n == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_status_of_spec_13() {
        let table = [
            ("parse_error", 400),
            ("unknown_command", 400),
            ("unauthorized", 401),
            ("forbidden", 403),
            ("not_found", 404),
            ("already_taken", 409),
            ("at_capacity", 409),
            ("invalid_state", 409),
            ("expired", 409),
            ("not_offered", 409),
            ("offline", 409),
            ("not_eligible", 409),
            ("payload_too_large", 413),
            ("invalid_input", 422),
            ("rate_limited", 429),
            ("internal", 500),
            ("busy", 503),
        ];
        assert_eq!(table.len(), ErrorCode::ALL.len());
        for code in ErrorCode::ALL {
            let want = table.iter().find(|(c, _)| *c == code.as_str()).unwrap().1;
            assert_eq!(status_of(*code), want, "{code:?}");
        }
    }

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(check_key("3f0c-a1").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key("a b").is_err());
        assert!(check_key("é").is_err());
        assert!(check_key(&"k".repeat(256)).is_err());
    }
}
