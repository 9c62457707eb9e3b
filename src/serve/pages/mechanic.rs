//! `/m`: a mechanic's own page, signed in by the link `pitwall token link` prints. The link
//! holds a mechanic token; its page posts it once into a cookie (HttpOnly, SameSite=Strict,
//! Secure when the public address is https), so it is a mechanic token like any other: `token
//! list` shows it, `token revoke` ends it at the next request, and every command the page runs
//! passes the same role checks as the API's.

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::{Notice, Shared, html, not_found, on_engine, read_form, see_other};
use crate::command::{Command, MechanicRef, SessionMechanic, SessionRef};
use crate::engine::Engine;
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::store;
use crate::tokens::{Caller, Role};

/// The cookie that holds a signed-in mechanic's token.
pub const COOKIE: &str = "pitwall_mechanic";

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    first_name: String,
    csrf: String,
    action: String,
}

#[derive(Template)]
#[template(path = "signed_out.html")]
struct SignedOut;

pub struct Offer {
    pub session: String,
    pub concern: String,
    pub vehicle: String,
    pub city: String,
    pub tier: &'static str,
    pub targeted: bool,
    pub expires_ms: Option<i64>,
    pub left: String,
}

pub struct Job {
    pub session: String,
    pub concern: String,
    pub vehicle: String,
    pub city: String,
    pub customer: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Template)]
#[template(path = "mechanic.html")]
struct MechanicPage {
    first_name: String,
    on_shift: bool,
    offers: Vec<Offer>,
    jobs: Vec<Job>,
    notice: Option<String>,
    csrf: String,
}

/// The token a request's cookie carries.
pub(super) fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The signed-in mechanic, within the API's rate limit; the page to answer instead otherwise.
pub(super) fn signed_in(
    engine: &Engine,
    limit: &crate::serve::limits::RateLimit,
    token: Option<&str>,
) -> Result<(Caller, String), Response> {
    let Some(token) = token else {
        return Err(html(StatusCode::UNAUTHORIZED, &SignedOut));
    };
    let caller = match crate::tokens::authenticate(engine.connection(), token, chrono::Utc::now()) {
        Ok(caller) => caller,
        Err(_) => return Err(html(StatusCode::UNAUTHORIZED, &SignedOut)),
    };
    let Role::Mechanic(me) = caller.role.clone() else {
        return Err(html(StatusCode::UNAUTHORIZED, &SignedOut));
    };
    if let Err(wait) = limit.check(&caller.token_id) {
        return Err(super::too_many(wait));
    }
    Ok((caller, me))
}

/// Runs `command` as `caller`, with the role checks the API makes, and answers what the
/// caller's role may see of it.
fn run_as(engine: &mut Engine, caller: &Caller, command: Command) -> DispatchResult<Value> {
    let name = command.name();
    crate::serve::access::check(engine.connection(), caller, &command)?;
    let outcome = engine.execute(command)?;
    let fields = serde_json::to_value(&outcome).map_err(|e| {
        DispatchError::new(ErrorCode::Internal, format!("unserialisable answer: {e}"))
    })?;
    crate::serve::views::view(engine.connection(), &caller.role, name, fields)
}

fn page(
    engine: &mut Engine,
    caller: &Caller,
    me: &str,
    csrf: &super::csrf::Csrf,
    notice: Option<Notice>,
) -> DispatchResult<MechanicPage> {
    let mechanic = store::mechanics::get(engine.connection(), me)?
        .ok_or_else(|| DispatchError::not_found("mechanic", "mechanic", me))?;
    let queue = run_as(
        engine,
        caller,
        Command::Queue(MechanicRef {
            mechanic: me.to_string(),
        }),
    )?;
    let now = engine.now();
    let mut offers = Vec::new();
    let mut jobs = Vec::new();
    let rows = |v: &Value| v.as_array().cloned().unwrap_or_default();
    for (row, targeted) in rows(&queue["mine"])
        .into_iter()
        .map(|r| (r, true))
        .chain(rows(&queue["open"]).into_iter().map(|r| (r, false)))
    {
        let job = &row["job"];
        let vehicle: crate::serve::views::VehicleView = crate::serve::views::VehicleView {
            year: job["vehicle"]["year"].as_i64(),
            make: job["vehicle"]["make"].as_str().map(str::to_string),
            model: job["vehicle"]["model"].as_str().map(str::to_string),
        };
        let session = row["session"].as_str().unwrap_or_default().to_string();
        let concern = job["concern"].as_str().unwrap_or("A job").to_string();
        let city = job["city"].as_str().unwrap_or("City not given").to_string();
        if row["status"] == "accepted" {
            let customer = &job["customer"];
            jobs.push(Job {
                session,
                concern,
                vehicle: super::vehicle_words(&vehicle),
                city,
                customer: customer["name"].as_str().unwrap_or_default().to_string(),
                phone: customer["phone"].as_str().map(str::to_string),
                email: customer["email"].as_str().map(str::to_string),
            });
            continue;
        }
        let expires = row["expires_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        let tier = row["score"]
            .as_i64()
            .map_or(crate::model::Tier::Broadcast, crate::model::Tier::of_score);
        offers.push(Offer {
            session,
            concern,
            vehicle: super::vehicle_words(&vehicle),
            city,
            tier: super::tier_words(tier),
            targeted,
            expires_ms: expires.map(|t| t.timestamp_millis()),
            left: super::time_left(expires.map_or(0, |t| (t - now).num_seconds())),
        });
    }
    Ok(MechanicPage {
        first_name: crate::serve::views::first_name(&mechanic.name),
        on_shift: mechanic.currently_on_shift,
        offers,
        jobs,
        notice: notice.map(|n| n.0),
        csrf: csrf.token("mechanic", caller.token_id.as_bytes()),
    })
}

pub async fn show(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let token = cookie_token(&headers);
    let pages = shared.pages.clone();
    let limit = shared.limit.clone();
    let shown = on_engine(&shared, move |engine| {
        let (caller, me) = signed_in(engine, &limit, token.as_deref())?;
        match page(engine, &caller, &me, &pages.csrf, None) {
            Ok(page) => Ok(html(StatusCode::OK, &page)),
            Err(e) => Err(failed(e)),
        }
    })
    .await;
    match shown {
        Ok(Ok(r) | Err(r)) | Err(r) => r,
    }
}

/// One of the page's forms: clock in or out, accept, decline, complete.
pub async fn act(State(shared): State<Shared>, headers: HeaderMap, body: Body) -> Response {
    let token = cookie_token(&headers);
    let form = match read_form(&headers, body).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let pages = shared.pages.clone();
    let limit = shared.limit.clone();
    let done = on_engine(&shared, move |engine| -> Result<Response, Response> {
        let (caller, me) = signed_in(engine, &limit, token.as_deref())?;
        let given = form.get("csrf").map(String::as_str);
        if !pages
            .csrf
            .check("mechanic", caller.token_id.as_bytes(), given)
        {
            return Err(super::forbidden());
        }
        let session = form.get("session").cloned().unwrap_or_default();
        let both = || SessionMechanic {
            session: session.clone(),
            mechanic: me.clone(),
        };
        let command = match form.get("action").map(String::as_str) {
            Some("clock_in") => Command::ClockIn(MechanicRef {
                mechanic: me.clone(),
            }),
            Some("clock_out") => Command::ClockOut(MechanicRef {
                mechanic: me.clone(),
            }),
            Some("accept") => Command::Accept(both()),
            Some("decline") => Command::Decline(both()),
            Some("complete") => Command::Complete(SessionRef {
                session: session.clone(),
            }),
            _ => {
                return Err(super::plain(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Unknown action.",
                ));
            }
        };
        // `complete` is the dispatcher's command in the API's table; a mechanic completes only
        // a session matched to him, checked here as `session` is for him.
        let result = if let Command::Complete(r) = &command {
            complete_own(engine, &me, &r.session)
                .and_then(|()| engine.execute(command.clone()).map(|_| Value::Null))
        } else {
            run_as(engine, &caller, command)
        };
        match result {
            Ok(_) => Ok(see_other("/m")),
            Err(e) if e.code == ErrorCode::Internal => Err(failed(e)),
            Err(e) => match page(engine, &caller, &me, &pages.csrf, Some(e.into())) {
                Ok(page) => Ok(html(StatusCode::CONFLICT, &page)),
                Err(e) => Err(failed(e)),
            },
        }
    })
    .await;
    match done {
        Ok(Ok(r) | Err(r)) | Err(r) => r,
    }
}

/// A mechanic completes only a session matched to him; any other is refused as the API refuses
/// a session he does not hold.
fn complete_own(engine: &Engine, me: &str, session: &str) -> DispatchResult<()> {
    let his = store::sessions::get(engine.connection(), session)?
        .is_some_and(|s| s.matched_mechanic_id.as_deref() == Some(me));
    if his {
        Ok(())
    } else {
        Err(DispatchError::new(
            ErrorCode::Forbidden,
            "You can complete only a job that is yours.",
        ))
    }
}

pub async fn sign_in_form(State(shared): State<Shared>, Path(token): Path<String>) -> Response {
    let pages = shared.pages.clone();
    let limit = shared.limit.clone();
    let shown = on_engine(&shared, move |engine| {
        let (caller, me) = signed_in(engine, &limit, Some(&token)).map_err(|_| not_found())?;
        let name = store::mechanics::get(engine.connection(), &me)
            .map_err(|e| failed(e.into()))?
            .map(|m| crate::serve::views::first_name(&m.name))
            .unwrap_or_default();
        Ok::<_, Response>(html(
            StatusCode::OK,
            &SignInPage {
                first_name: name,
                csrf: pages.csrf.token("sign-in", caller.token_id.as_bytes()),
                action: format!("/m/sign-in/{token}"),
            },
        ))
    })
    .await;
    match shown {
        Ok(Ok(r) | Err(r)) | Err(r) => r,
    }
}

pub async fn sign_in(
    State(shared): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match read_form(&headers, body).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let pages = shared.pages.clone();
    let limit = shared.limit.clone();
    let checked = on_engine(&shared, move |engine| {
        let (caller, _) = signed_in(engine, &limit, Some(&token)).map_err(|_| not_found())?;
        let given = form.get("csrf").map(String::as_str);
        if !pages
            .csrf
            .check("sign-in", caller.token_id.as_bytes(), given)
        {
            return Err(super::forbidden());
        }
        Ok(token)
    })
    .await;
    let token = match checked {
        Ok(Ok(token)) => token,
        Ok(Err(r)) | Err(r) => return r,
    };
    let secure = if shared.pages.secure { "; Secure" } else { "" };
    let mut r = see_other("/m");
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn failed(e: DispatchError) -> Response {
    tracing::error!(code = e.code.as_str(), message = %e.message, "a mechanic page failed");
    super::plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong; nothing was changed. Try again.",
    )
}
