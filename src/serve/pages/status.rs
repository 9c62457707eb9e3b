//! `/s/{code}`: a session as its customer follows it — waiting, offered, matched with the
//! mechanic's first name, booked for a time in the customer's own zone, cancelled — and cancel
//! while no mechanic has it. The link opens that one session and nothing else.

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::{Shared, html, not_found, on_engine, read_form, see_other};
use crate::command::{Command, SessionRef};
use crate::engine::Engine;
use crate::error::DispatchResult;
use crate::model::{AssignmentStatus, SessionStatus, session_ref};
use crate::store::links::{self, Opens};
use crate::store::{self, Db};

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    reference: String,
    headline: String,
    detail: Option<String>,
    cancellable: bool,
    csrf: String,
    action: String,
    events: String,
}

/// The session a status link opens.
pub(super) fn session_of(conn: &Db, sha256: &[u8; 32]) -> DispatchResult<Option<String>> {
    Ok(match links::find(conn, sha256)? {
        Some(Opens::Status { session }) => Some(session),
        _ => None,
    })
}

/// What the customer reads: a headline and a line of detail.
fn words(
    conn: &Db,
    id: &str,
    now: DateTime<Utc>,
) -> DispatchResult<Option<(String, Option<String>, bool)>> {
    let Some(session) = store::sessions::get(conn, id)? else {
        return Ok(None);
    };
    let Some(intake) = store::sessions::get_intake(conn, &session.intake_id)? else {
        return Ok(None);
    };
    let zone = crate::zone::of_place(
        Some(&intake.country),
        intake.province.as_deref(),
        intake.city.as_deref(),
    );
    let when = |at: DateTime<Utc>| {
        crate::zone::local_when(at, zone)
            .unwrap_or_else(|| at.format("%a %d %b %H:%M UTC").to_string())
    };
    let offered = || -> DispatchResult<bool> {
        Ok(store::assignments::for_session(conn, id)?
            .iter()
            .any(|a| a.status == AssignmentStatus::Offered && a.expires_at.is_none_or(|t| t > now)))
    };
    let (headline, detail) = match session.status {
        SessionStatus::Scheduled => (
            match session.scheduled_for {
                Some(at) => format!("Booked for {}", when(at)),
                None => "Booked".to_string(),
            },
            Some("We will find your mechanic for that time.".to_string()),
        ),
        SessionStatus::Pending => (
            "Received".to_string(),
            Some("We are getting your session ready for a mechanic.".to_string()),
        ),
        SessionStatus::Waiting if offered()? => (
            "Offered to a mechanic".to_string(),
            Some("Waiting for a mechanic to accept.".to_string()),
        ),
        SessionStatus::Waiting => (
            "Waiting for a mechanic".to_string(),
            Some("We will offer your session to the next mechanic who can take it.".to_string()),
        ),
        SessionStatus::Matched => {
            let name = match session.matched_mechanic_id.as_deref() {
                Some(m) => store::mechanics::name_and_city(conn, m)?
                    .map(|(name, _)| crate::serve::views::first_name(&name)),
                None => None,
            };
            (
                format!(
                    "Matched with {}",
                    name.as_deref().unwrap_or("your mechanic")
                ),
                Some("Your mechanic will contact you shortly.".to_string()),
            )
        }
        SessionStatus::Completed => ("Completed".to_string(), Some("Thank you.".to_string())),
        SessionStatus::Cancelled => ("Cancelled".to_string(), None),
    };
    let cancellable = matches!(
        session.status,
        SessionStatus::Scheduled | SessionStatus::Pending | SessionStatus::Waiting
    );
    Ok(Some((headline, detail, cancellable)))
}

fn page(
    engine: &Engine,
    csrf: &super::csrf::Csrf,
    code: &str,
    sha256: &[u8; 32],
) -> DispatchResult<Option<StatusPage>> {
    let conn = engine.connection();
    let Some(session) = session_of(conn, sha256)? else {
        return Ok(None);
    };
    let Some((headline, detail, cancellable)) = words(conn, &session, engine.now())? else {
        return Ok(None);
    };
    Ok(Some(StatusPage {
        reference: session_ref(&session).to_string(),
        headline,
        detail,
        cancellable,
        csrf: csrf.token("status", sha256),
        action: format!("/s/{code}/cancel"),
        events: format!("/s/{code}/events"),
    }))
}

pub async fn show(State(shared): State<Shared>, Path(code): Path<String>) -> Response {
    let sha256 = match super::admit(&shared, &code) {
        Ok(sha256) => sha256,
        Err(response) => return response,
    };
    let pages = shared.pages.clone();
    match on_engine(&shared, move |engine| {
        page(engine, &pages.csrf, &code, &sha256)
    })
    .await
    {
        Ok(Ok(Some(page))) => html(StatusCode::OK, &page),
        Ok(Ok(None)) => not_found(),
        Ok(Err(e)) => failed(e),
        Err(response) => response,
    }
}

pub async fn cancel(
    State(shared): State<Shared>,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let sha256 = match super::admit(&shared, &code) {
        Ok(sha256) => sha256,
        Err(response) => return response,
    };
    let form = match read_form(&headers, body).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    // Judged after the lookup: an unknown link answers 404 whatever the form holds.
    let csrf_ok = shared
        .pages
        .csrf
        .check("status", &sha256, form.get("csrf").map(String::as_str));
    let done = on_engine(&shared, move |engine| -> DispatchResult<Option<bool>> {
        let Some(session) = session_of(engine.connection(), &sha256)? else {
            return Ok(None);
        };
        if !csrf_ok {
            return Ok(Some(false));
        }
        // Refused once a mechanic has it (or it ended): the page then says where it stands.
        // The engine's cancel takes a matched session too (a dispatcher's); a customer's only
        // while no mechanic has it, checked in the cancel's own transaction.
        let hook = StillUnmatched(session.clone());
        if let (Err(e), _) = engine.execute_with(Command::Cancel(SessionRef { session }), hook) {
            tracing::debug!(code = e.code.as_str(), "a customer's cancel was refused");
        }
        Ok(Some(true))
    })
    .await;
    match done {
        Ok(Ok(Some(true))) => see_other(&format!("/s/{code}")),
        Ok(Ok(Some(false))) => super::forbidden(),
        Ok(Ok(None)) => not_found(),
        Ok(Err(e)) => failed(e),
        Err(response) => response,
    }
}

/// The customer's cancel runs only while no mechanic has the session.
struct StillUnmatched(String);

impl crate::engine::WriteHook for StillUnmatched {
    fn before(&mut self, conn: &Db) -> DispatchResult<()> {
        let open = store::sessions::get(conn, &self.0)?.is_some_and(|s| {
            matches!(
                s.status,
                SessionStatus::Scheduled | SessionStatus::Pending | SessionStatus::Waiting
            )
        });
        if open {
            Ok(())
        } else {
            Err(crate::error::DispatchError::new(
                crate::error::ErrorCode::InvalidState,
                "A mechanic has this session already, or it has ended.",
            ))
        }
    }

    fn after(&mut self, _: &Db, _: crate::engine::Answer<'_>) -> DispatchResult<()> {
        Ok(())
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

fn failed(e: crate::error::DispatchError) -> Response {
    tracing::error!(code = e.code.as_str(), message = %e.message, "a status page failed");
    super::plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong; nothing was changed. Try again.",
    )
}
