//! One `POST /v1/commands`, from token to response. The body is read first, on the runtime's
//! threads ([`Received::read`]: parsed with the headless parser and screened for the caller's
//! role); then, on the engine thread: authenticate, rate limit, replay or check what the command
//! names and run it, keep the answer. No async here and no HTTP types: the HTTP layer ships
//! bytes in and a [`Reply`] out.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::command::{Command, Rejected, parse_value};
use crate::command_table::Declared;
use crate::engine::outcome::{IntakeOutcome, Outcome};
use crate::engine::{Answer, Engine, WriteHook};
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::store::Db;
use crate::store::tokens::{self as kept_store, Kept};
use crate::tokens::{self, Caller, Role};

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
    /// The answer of a write kept for its `Idempotency-Key` or its owner, made inside its
    /// transaction (the moment [`die_here_if_asked`] stands for comes once that commits).
    pub kept_in_transaction: bool,
}

/// A response body: written, or a command's result (or the fields a role sees of it) still to
/// be written out. A result is written by the runtime's threads after the engine thread has
/// moved on to the next request (12–15 µs of an intake's ~450 µs there); only an answer kept
/// for its `Idempotency-Key` is written on the engine thread, since it is stored.
#[derive(Debug, Clone)]
pub enum Body {
    Text(String),
    Result(&'static str, Box<Result<Outcome, DispatchError>>),
    /// A success's fields, as the caller's role sees them.
    Fields(&'static str, serde_json::Value),
}

impl Body {
    /// The JSON text, as headless prints it.
    pub fn into_text(self) -> String {
        match self {
            Body::Text(text) => text,
            Body::Result(name, result) => crate::headless::response(name, &result),
            Body::Fields(name, fields) => crate::headless::success(name, &fields),
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
        E::MethodNotAllowed => 405,
        E::PayloadTooLarge => 413,
        E::UnsupportedMediaType => 415,
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
        kept_in_transaction: false,
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
/// `Idempotency-Key`), its JSON, screened for the caller's role and parsed into a command. Done
/// on the runtime's threads before the request joins the engine's queue, so the one engine
/// thread, whose every microsecond each queued request waits for, spends none on it (reading
/// an intake's JSON into its command was 4–5 % of that thread's time).
pub struct Received {
    /// The body's SHA-256, when an `Idempotency-Key` came with it (replays compare it).
    sha256: Option<Vec<u8>>,
    /// The role it was screened for: a token's role never changes, so the engine thread's own
    /// look-up of the token finds the same one.
    role: Role,
    screened: Result<Screened, Reply>,
}

/// A body the role's screen let through.
struct Screened {
    /// The command table's entry for the command named, when it names a known one.
    declared: Option<&'static Declared>,
    /// The command, or why its fields do not make one.
    command: Result<Command, Rejected>,
}

impl Received {
    pub fn read(body: &[u8], keyed: bool, role: Role) -> Received {
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
            screened: json
                .map_err(|e| refusal(None, &e))
                .and_then(|value| screen_and_parse(&role, value)),
            role,
        }
    }
}

/// The role and what it may name are judged on the JSON, before its fields are read: a command
/// outside the role is `forbidden` whatever its body holds (never 422 in its place).
fn screen_and_parse(role: &Role, mut value: serde_json::Value) -> Result<Screened, Reply> {
    match super::access::screen(role, &mut value) {
        Ok(declared) => Ok(Screened {
            declared,
            command: parse_value(value),
        }),
        Err(e) => {
            let cmd = value.get("cmd").and_then(serde_json::Value::as_str);
            Err(refusal(cmd, &e))
        }
    }
}

/// Runs one command body for `caller`. `links` is the base of the pages' links: an intake
/// token's new session is answered with its status page's link under it (SPEC §17).
pub fn command(
    engine: &mut Engine,
    caller: &Caller,
    key: Option<&str>,
    body: Received,
    links: Option<&str>,
) -> Reply {
    let mut reply = command_reply(engine, caller, key, body, links);
    reply.token_id = Some(caller.token_id.clone());
    reply
}

fn command_reply(
    engine: &mut Engine,
    caller: &Caller,
    key: Option<&str>,
    body: Received,
    links: Option<&str>,
) -> Reply {
    let now = engine.now();
    if body.role != caller.role {
        // A token's role never changes, so this is a bug; refused rather than run as a command
        // screened for another role (an intake token's ban on choosing ids is only there).
        tracing::error!(
            token = %caller.token_id,
            "a body was read for another role than its token's; refused"
        );
        return refusal(
            None,
            &DispatchError::new(
                ErrorCode::Internal,
                "The request was read for another role than its token's (a bug in pitwall).",
            ),
        );
    }
    let Screened { declared, command } = match body.screened {
        Ok(screened) => screened,
        Err(refused) => return refused,
    };
    // Only commands that write are kept for an Idempotency-Key: a read is safe to repeat, and
    // keeping one (5 KB per `browse`) would only fill the table.
    // A malformed key is refused whatever the command: it is a bad header either way.
    if let Some(Err(e)) = key.map(check_key) {
        return refusal(None, &e);
    }
    let key = match (key, declared) {
        (Some(key), Some(d)) if d.writes => {
            let sha256 = body.sha256.unwrap_or_default();
            // Most repeats are answered here, without the write lock. The claim inside the
            // command's transaction is what makes it exactly once.
            match kept_store::kept(engine.connection(), &caller.token_id, key, now - KEEP_FOR) {
                Ok(Some(kept)) if kept.status != 0 => {
                    return with_status_link(engine, caller, links, replay(kept, &sha256));
                }
                Ok(_) => {}
                Err(e) => return refusal(None, &e.into()),
            }
            Some((key.to_string(), sha256))
        }
        _ => None,
    };
    let command = match command {
        Ok(command) => command,
        Err(Rejected { cmd, error }) => return refusal(cmd.as_deref(), &error),
    };
    let name = command.name();
    if let Err(e) = super::access::check(engine.connection(), caller, &command) {
        return refusal(Some(name), &e);
    }
    let owns_what_it_makes = caller.role == Role::Intake && name == "intake";
    if key.is_none() && !owns_what_it_makes {
        let result = engine.execute(command);
        return answer(engine, caller, name, result);
    }
    let hook = InTransaction {
        token_id: caller.token_id.clone(),
        role: caller.role.clone(),
        name,
        key: key.clone(),
        now,
        links: links.map(str::to_string),
        answer: None,
        replay: None,
    };
    let (result, hook) = engine.execute_with(command, hook);
    if let (Some(kept), Some((_, sha256))) = (hook.replay, &key) {
        // Another request with this key committed first (a retry that overtook this one, or
        // another host): its answer, not a second run.
        return with_status_link(engine, caller, links, replay(kept, sha256));
    }
    if let Some(answer) = hook.answer {
        return Reply {
            status: 200,
            body: answer,
            retry_after: None,
            token_id: None,
            replayed: false,
            kept_in_transaction: true,
        };
    }
    // The command did not commit through the hook: refused (rolled back, claim and all), or a
    // command without a write transaction (`deliver`). Its first answer is kept on its own.
    let mut reply = answer(engine, caller, name, result);
    let retryable = reply.status == 500 || reply.status == 503;
    if let (Some((key, sha256)), false) = (&key, retryable) {
        let body = std::mem::replace(&mut reply.body, Body::Text(String::new())).into_text();
        let kept = Kept {
            request_sha256: sha256.clone(),
            status: reply.status,
            response: body.clone(),
        };
        let conn = engine.connection();
        if let Err(e) =
            kept_store::keep_first(conn, &caller.token_id, key, &kept, now, now - KEEP_FOR)
        {
            tracing::warn!(error = %e, "could not keep a response for its Idempotency-Key");
        }
        return Reply {
            body: Body::Text(body),
            ..reply
        };
    }
    reply
}

/// The test hook for a crash between a command's commit and its reply (SPEC §13 "Exactly
/// once"): with `PITWALL_TEST_DIE_AFTER_COMMIT=1` the server kills itself with SIGKILL right
/// after a write committed, before a byte of the reply is sent, as `kill -9` at that moment
/// would. Called by the HTTP layer when a reply [`Reply::kept_in_transaction`] comes back from
/// the engine thread (whose transaction, grouped or not, has committed by then).
pub fn die_here_if_asked() {
    static ASKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ASKED.get_or_init(|| std::env::var("PITWALL_TEST_DIE_AFTER_COMMIT").is_ok_and(|v| v == "1"))
    {
        // SAFETY: kill(2) on this very process; nothing after it runs.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// A replayed intake answers a booking form with a status link as the first answer did: a new
/// one, since the first one's code was never stored (the kept answer is kept without it). Both
/// open the same session.
fn with_status_link(engine: &Engine, caller: &Caller, links: Option<&str>, reply: Reply) -> Reply {
    let (Some(base), Role::Intake, true, Body::Text(text)) =
        (links, &caller.role, reply.status == 200, &reply.body)
    else {
        return reply;
    };
    let Ok(mut answer) = serde_json::from_str::<serde_json::Value>(text) else {
        return reply;
    };
    let Some(session) = answer["session"]["id"].as_str().map(str::to_string) else {
        return reply;
    };
    if answer["cmd"] != "intake" {
        return reply;
    }
    let minted = crate::links::mint().and_then(|link| {
        crate::store::links::insert_status(
            engine.connection(),
            &link.sha256,
            &session,
            engine.now(),
        )?;
        Ok(link)
    });
    match minted {
        Ok(link) => {
            answer["status_url"] =
                serde_json::Value::String(crate::links::status_url(base, &link.code));
            Reply {
                body: Body::Text(answer.to_string()),
                ..reply
            }
        }
        // The replay is still the answer; the customer's messages carry a link too.
        Err(e) => {
            tracing::warn!(
                code = e.code.as_str(),
                "a replay went without its status link"
            );
            reply
        }
    }
}

/// A kept answer sent again, when the body is the one it answered.
fn replay(kept: Kept, request_sha256: &[u8]) -> Reply {
    if kept.request_sha256 != request_sha256 {
        return refusal(
            None,
            &DispatchError::invalid(
                "Idempotency-Key",
                "This Idempotency-Key was used with a different body in the last 24 hours; use \
                 a new key for a new request.",
            ),
        );
    }
    Reply {
        status: kept.status,
        body: Body::Text(kept.response),
        retry_after: None,
        token_id: None,
        replayed: true,
        kept_in_transaction: false,
    }
}

/// The reply to a command that ran, as the caller's role may see it.
fn answer(
    engine: &Engine,
    caller: &Caller,
    name: &'static str,
    result: Result<Outcome, DispatchError>,
) -> Reply {
    let status = match &result {
        Ok(_) => 200,
        Err(e) => status_of(e.code),
    };
    let retry_after =
        matches!(&result, Err(e) if e.code == ErrorCode::Busy).then_some(BUSY_RETRY_AFTER);
    let body = match (&caller.role, result) {
        // A dispatcher's answer is written by the runtime's threads (see [`Body`]).
        (Role::Dispatcher, result) => Body::Result(name, Box::new(result)),
        (_, Err(e)) => Body::Text(crate::headless::failure(Some(name), &e)),
        (role, Ok(outcome)) => {
            let viewed = serde_json::to_value(&outcome)
                .map_err(|e| {
                    DispatchError::new(ErrorCode::Internal, format!("unserialisable answer: {e}"))
                })
                .and_then(|fields| super::views::view(engine.connection(), role, name, fields));
            match viewed {
                Ok(fields) => Body::Fields(name, fields),
                Err(e) => return refusal(Some(name), &e),
            }
        }
    };
    Reply {
        status,
        body,
        retry_after,
        token_id: None,
        replayed: false,
        kept_in_transaction: false,
    }
}

/// The HTTP API's part of a writing command's transaction: the `Idempotency-Key` claimed first
/// and its answer written last, and an intake token's new session noted as its own, so each
/// commits with the command or not at all (SPEC §13 "Exactly once").
struct InTransaction {
    token_id: String,
    role: Role,
    name: &'static str,
    key: Option<(String, Vec<u8>)>,
    now: DateTime<Utc>,
    /// The base of the status page's link an intake token's new session is answered with.
    links: Option<String>,
    /// The answer as sent (with an intake token's status link), made inside the transaction and
    /// written out by the runtime's threads; the copy kept for an `Idempotency-Key` is written
    /// out inside it, without the link.
    answer: Option<Body>,
    /// What an earlier request with the same key committed.
    replay: Option<Kept>,
}

impl WriteHook for InTransaction {
    fn before(&mut self, conn: &Db) -> DispatchResult<()> {
        let Some((key, sha256)) = &self.key else {
            return Ok(());
        };
        let since = self.now - KEEP_FOR;
        if kept_store::claim(conn, &self.token_id, key, sha256, self.now, since)? {
            return Ok(());
        }
        self.replay = kept_store::kept(conn, &self.token_id, key, since)?;
        // Rolls back; the caller answers with the kept reply instead.
        Err(DispatchError::new(
            ErrorCode::InvalidState,
            "This Idempotency-Key has an answer already.",
        ))
    }

    fn after(&mut self, conn: &Db, answer: Answer<'_>) -> DispatchResult<()> {
        let mut fields = match (&self.role, answer.value::<IntakeOutcome>()) {
            (Role::Intake, Some(intake)) => super::views::intake_for_form(conn, intake)?,
            _ => super::views::view(conn, &self.role, self.name, answer.fields()?)?,
        };
        if let Some((key, _)) = &self.key {
            // Kept without the status link: its code is stored nowhere but as a hash (a
            // replayed answer carries none; the customer's messages carry one).
            let text = crate::headless::success(self.name, &fields);
            kept_store::fill(conn, &self.token_id, key, 200, &text)?;
        }
        if self.role == Role::Intake
            && self.name == "intake"
            && let Some(session) = fields["session"]["id"].as_str()
        {
            let session = session.to_string();
            kept_store::record_owner(conn, &session, &self.token_id)?;
            if let Some(base) = &self.links {
                let link = crate::links::mint()?;
                crate::store::links::insert_status(conn, &link.sha256, &session, self.now)?;
                fields["status_url"] =
                    serde_json::Value::String(crate::links::status_url(base, &link.code));
            }
        }
        // Written out by the runtime's threads, once the engine thread has moved on.
        self.answer = Some(Body::Fields(self.name, fields));
        Ok(())
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::open(None, crate::clock::Clock::manual_default()).unwrap()
    }

    /// `body` read for the role `read_for`, then run for a token of the role `caller`.
    fn run(engine: &mut Engine, body: &[u8], read_for: Role, caller: Role) -> Reply {
        let caller = Caller {
            token_id: "t-1".into(),
            role: caller,
        };
        command(
            engine,
            &caller,
            None,
            Received::read(body, false, read_for),
            None,
        )
    }

    #[test]
    fn a_body_read_for_the_callers_role_is_screened_for_it() {
        let mut engine = engine();
        // An intake token may not run `add_mechanic`: refused by the screen made when the body
        // was read, before its fields are looked at.
        let body = br#"{"cmd":"add_mechanic","name":7}"#;
        let reply = run(&mut engine, body, Role::Intake, Role::Intake);
        assert_eq!(reply.status, 403, "{:?}", reply.body);
        // A dispatcher may: the same body gets as far as its fields.
        let reply = run(&mut engine, body, Role::Dispatcher, Role::Dispatcher);
        assert_eq!(reply.status, 422, "{:?}", reply.body);
    }

    #[test]
    fn a_body_read_for_another_role_than_the_callers_is_refused_not_run() {
        let mut engine = engine();
        // Screened for a dispatcher, who may run `queue`; run for an intake token, which may not.
        let reply = run(
            &mut engine,
            br#"{"cmd":"queue"}"#,
            Role::Dispatcher,
            Role::Intake,
        );
        assert_eq!(reply.status, 500);
        assert!(reply.body.into_text().contains("\"internal\""));
    }

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
            ("method_not_allowed", 405),
            ("payload_too_large", 413),
            ("unsupported_media_type", 415),
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
