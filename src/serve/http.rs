//! The routes of SPEC §13 on axum, and the two layers every response passes: the request log
//! (method, path, status, token id, duration — never a body or a token) and the coded-error
//! guard, which gives any refusal axum makes itself (an unknown path, a wrong method) the same
//! JSON error shape as the engine's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio_stream::StreamExt as _;

use super::handle::{self, Reply, refusal};
use super::limits::RateLimit;
use super::streams::{Follow, Start};
use super::worker::{Ran, Worker};
use crate::error::{DispatchError, ErrorCode};
use crate::tokens::{Caller, Role};

/// Largest body accepted (SPEC §13).
pub const MAX_BODY: usize = 1 << 20;
/// How long a client may take to send its body.
pub const BODY_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Shared {
    pub worker: Worker,
    pub limit: Arc<RateLimit>,
    pub feed: tokio::sync::broadcast::Sender<Arc<super::feed::Fresh>>,
    /// Flips to true when the server is stopping: event streams end so shutdown can finish.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// Revoked tokens' ids, from the feed: their streams end.
    pub revoked: tokio::sync::watch::Receiver<Arc<std::collections::HashSet<String>>>,
    pub streams: Arc<super::streams::Streams>,
    pub stream_lifetime: Duration,
    pub known: Arc<KnownTokens>,
    /// The pages' CSRF key and public address (SPEC §17).
    pub pages: Arc<super::pages::site::Pages>,
}

/// Tokens that passed lately, by SHA-256, with their id and role: enough to let a request's
/// body in and read it for its role before the engine checks the token for good. Bounded; a
/// revoked token is not vouched for.
#[derive(Default)]
pub struct KnownTokens(std::sync::Mutex<std::collections::HashMap<[u8; 32], (String, Role)>>);

/// Tokens remembered at most; past it the memory starts again (a few more second trips).
const KNOWN_TOKENS: usize = 4096;

impl KnownTokens {
    fn vouch(
        &self,
        hash: &[u8; 32],
        revoked: &std::collections::HashSet<String>,
    ) -> Option<(String, Role)> {
        let known = self.0.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(hash)
            .filter(|(id, _)| !revoked.contains(id))
            .cloned()
    }

    fn note(&self, hash: [u8; 32], caller: &Caller) {
        let mut known = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= KNOWN_TOKENS {
            known.clear();
        }
        known.insert(hash, (caller.token_id.clone(), caller.role.clone()));
    }
}

/// The token id of a request, for the log line.
#[derive(Clone)]
struct TokenId(String);

/// The API's routes with `pages` (the pages' routes, handed in by serve/mod.rs: the pages
/// import this file's state, so this file does not import them).
pub fn router(shared: Shared, pages: Router<Shared>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/commands", post(commands))
        .route("/v1/events", get(events))
        .route("/v1/openapi.json", get(openapi))
        .merge(pages)
        .fallback(no_route)
        .with_state(shared)
        .layer(middleware::from_fn(coded_errors))
        .layer(middleware::from_fn(log_request))
}

async fn health() -> Response {
    json_response(
        StatusCode::OK,
        serde_json::json!({"ok": true, "version": env!("CARGO_PKG_VERSION")}).to_string(),
    )
}

async fn no_route() -> Response {
    to_response(refusal(
        None,
        &DispatchError::new(
            ErrorCode::NotFound,
            "No such endpoint; see GET /v1/openapi.json.",
        ),
    ))
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Authentication and the rate limit, on the engine thread.
async fn admit(shared: &Shared, headers: &HeaderMap) -> Result<Caller, Response> {
    // Without a token there is nothing to look up.
    let Some(token) = bearer(headers) else {
        return Err(to_response(refusal(None, &no_token())));
    };
    let token = Some(token);
    let limit = shared.limit.clone();
    match shared
        .worker
        .run(move |engine| handle::admit(engine, &limit, token.as_deref(), chrono::Utc::now()))
        .await
    {
        Ok(Ran::Done(Ok(caller))) => Ok(caller),
        Ok(Ran::Done(Err(reply))) => Err(to_response(reply)),
        Ok(Ran::TooLate) => Err(to_response(refusal(
            None,
            &DispatchError::busy(crate::store::lock_wait()),
        ))),
        Err(gone) => Err(no_answer(gone)),
    }
}

async fn commands(State(shared): State<Shared>, headers: HeaderMap, body: Body) -> Response {
    // The token first, before a byte of the body is read: a caller without a good one costs
    // the server no memory (hyper closes the connection rather than read what is left). A token
    // that passed lately and is not revoked since is let through to its body here, and checked
    // for good (with its rate) on the engine's one trip for the command; any other is checked
    // on the engine thread now, at the price of a second trip.
    let Some(token) = bearer(&headers) else {
        return to_response(refusal(None, &no_token()));
    };
    let hash = crate::tokens::sha256(&token);
    let vouched = shared.known.vouch(&hash, &shared.revoked.borrow());
    let (admitted, token_id, role) = match vouched {
        Some((token_id, role)) => (None, token_id, role),
        None => match admit(&shared, &headers).await {
            Ok(caller) => {
                shared.known.note(hash, &caller);
                let (id, role) = (caller.token_id.clone(), caller.role.clone());
                (Some(caller), id, role)
            }
            Err(response) => return response,
        },
    };
    let refuse = |error: DispatchError| {
        let mut reply = refusal(None, &error);
        reply.token_id = Some(token_id.clone());
        to_response(reply)
    };
    if !is_json(&headers) {
        return refuse(DispatchError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the command as JSON, with Content-Type: application/json.",
        ));
    }
    let too_large = || {
        DispatchError::new(
            ErrorCode::PayloadTooLarge,
            format!("The body is over {MAX_BODY} bytes (1 MiB)."),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return refuse(too_large());
    }
    let bytes = match tokio::time::timeout(BODY_WAIT, read_capped(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(Unread::TooLarge)) => return refuse(too_large()),
        Ok(Err(Unread::Broken)) | Err(_) => {
            return refuse(DispatchError::new(
                ErrorCode::ParseError,
                format!(
                    "The body did not arrive whole within {} s.",
                    BODY_WAIT.as_secs()
                ),
            ));
        }
    };
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(key)) => Some(key.to_string()),
        Some(Err(_)) => Some("\u{1}".to_string()), // not visible ASCII: refused by the check
    };
    let received = handle::Received::read(&bytes, key.is_some(), role);
    drop(bytes);
    let limit = shared.limit.clone();
    let pages = shared.pages.clone();
    let reply = shared
        .worker
        .run_grouped(move |engine| {
            let caller = match admitted {
                Some(caller) => caller,
                None => match handle::admit(engine, &limit, Some(&token), chrono::Utc::now()) {
                    Ok(caller) => caller,
                    Err(reply) => return reply,
                },
            };
            handle::command(engine, &caller, key.as_deref(), received, Some(&pages.base))
        })
        .await;
    match reply {
        Ok(Ran::Done(reply)) => {
            if reply.kept_in_transaction {
                handle::die_here_if_asked();
            }
            to_response(reply)
        }
        Ok(Ran::TooLate) => to_response(refusal(
            None,
            &DispatchError::busy(crate::store::lock_wait()),
        )),
        Err(gone) => no_answer(gone),
    }
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

fn no_token() -> DispatchError {
    DispatchError::new(
        ErrorCode::Unauthorized,
        "Send Authorization: Bearer <token>; make one with `pitwall token create`.",
    )
}

enum Unread {
    TooLarge,
    Broken,
}

/// Reads a body, stopping as soon as it passes `cap` (a liar's Content-Length or a chunked
/// stream without end costs at most `cap` bytes of memory).
async fn read_capped(body: Body, cap: usize) -> Result<Vec<u8>, Unread> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| Unread::Broken)?;
        if out.len() + chunk.len() > cap {
            return Err(Unread::TooLarge);
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn openapi(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    match admit(&shared, &headers).await {
        Ok(caller) => {
            let text = super::openapi::document_text(caller.role.kind());
            let mut r = json_response(StatusCode::OK, text.to_string());
            r.extensions_mut().insert(TokenId(caller.token_id));
            r
        }
        Err(response) => response,
    }
}

async fn events(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let caller = match admit(&shared, &headers).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let refuse = |error: DispatchError, retry_after: Option<u64>| {
        let mut reply = refusal(None, &error);
        reply.token_id = Some(caller.token_id.clone());
        reply.retry_after = reply.retry_after.or(retry_after);
        let mut response = to_response(reply);
        // A client refused a stream tends to hold its connection open to try again: closed,
        // its file descriptor serves someone else meanwhile.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    };
    if caller.role == crate::tokens::Role::Intake {
        return refuse(
            DispatchError::new(
                ErrorCode::Forbidden,
                "An intake token has no events to follow.",
            ),
            None,
        );
    }
    let slot = match shared.streams.open(&caller.token_id) {
        Ok(slot) => slot,
        // A stream is long: a client should wait before asking again.
        Err(e) => return refuse(e, Some(STREAM_RETRY_AFTER)),
    };
    // Subscribed before the log is read for the missed events, so none falls between the two;
    // the live ones already sent from the log are skipped by id.
    let fresh = shared.feed.subscribe();
    let last_event_id = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("").to_string());
    let start = match last_event_id {
        None => Start::Now,
        Some(text) => match shared
            .worker
            .run(move |engine| super::feed::bounds(engine.connection()))
            .await
        {
            Ok(Ran::Done(Ok(bounds))) => Start::of(Some(&text), bounds),
            Ok(Ran::Done(Err(e))) => return refuse(e.into(), None),
            Ok(Ran::TooLate) => {
                return refuse(DispatchError::busy(crate::store::lock_wait()), None);
            }
            Err(gone) => return no_answer(gone),
        },
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, std::convert::Infallible>>(64);
    let token_id = caller.token_id.clone();
    tokio::spawn(super::streams::follow(
        Follow {
            caller,
            start,
            worker: shared.worker.clone(),
            fresh,
            revoked: shared.revoked.clone(),
            stopping: shared.stopping.clone(),
            lifetime: shared.stream_lifetime,
            slot,
        },
        tx,
    ));
    let mut r = Sse::new(tokio_stream::wrappers::ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response();
    r.extensions_mut().insert(TokenId(token_id));
    r
}

/// Seconds a client refused a stream should wait before asking again.
const STREAM_RETRY_AFTER: u64 = 5;

fn no_answer(gone: super::worker::Gone) -> Response {
    let error = match gone {
        super::worker::Gone::Stopped => DispatchError::new(
            ErrorCode::Busy,
            "The server is shutting down; nothing was run. Try again in a moment.",
        ),
        super::worker::Gone::Failed => DispatchError::new(
            ErrorCode::Internal,
            "The server failed on this request (logged); nothing was changed.",
        ),
        super::worker::Gone::Undone(error) => error,
    };
    to_response(refusal(None, &error))
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

pub fn to_response(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, reply.body.into_text());
    let headers = response.headers_mut();
    if let Some(secs) = reply.retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if reply.replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    if status == StatusCode::UNAUTHORIZED {
        // RFC 9110 §11.6.1: a 401 names the scheme the client should use.
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(id) = reply.token_id {
        response.extensions_mut().insert(TokenId(id));
    }
    response
}

/// A refusal axum made itself (wrong method, a request it could not read into our handler)
/// gets the coded JSON body every other refusal has.
async fn coded_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // The pages answer in HTML or plain words of their own.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            let v = v.as_bytes();
            v.starts_with(b"application/json") || v.starts_with(b"text/")
        });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let code = match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        415 => ErrorCode::UnsupportedMediaType,
        413 => ErrorCode::PayloadTooLarge,
        422 => ErrorCode::InvalidInput,
        429 => ErrorCode::RateLimited,
        408 | 503 => ErrorCode::Busy,
        s if s < 500 => ErrorCode::ParseError,
        _ => ErrorCode::Internal,
    };
    let message = match status.as_u16() {
        405 => "This endpoint does not take that method; see GET /v1/openapi.json.".to_string(),
        _ => format!(
            "The request was refused: {}.",
            status.canonical_reason().unwrap_or("error")
        ),
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut coded = to_response(refusal(None, &DispatchError::new(code, message)));
    *coded.status_mut() = status;
    if let Some(allow) = allow {
        coded.headers_mut().insert(header::ALLOW, allow);
    }
    coded
}

/// One log line per request: method, path, status, token id, duration. Never a body, a query
/// string or a header (a token travels in one).
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // A page's link carries its code (or a sign-in token) in the path: never logged.
    let path: String = crate::text::inert(&super::pages::site::loggable_path(request.uri().path()))
        .chars()
        .take(200)
        .collect();
    let response = next.run(request).await;
    let token = response
        .extensions()
        .get::<TokenId>()
        .map_or("-", |t| t.0.as_str());
    tracing::info!(
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        token = token,
        ms = format!("{:.2}", started.elapsed().as_secs_f64() * 1000.0),
        "request"
    );
    response
}
