//! `/o/{code}`: one offer, for the one mechanic it was made to, answered with one tap. The
//! answer runs the engine's `accept` / `decline` as his mechanic token would (the same role
//! check, the same one-winner rule across every front end), inside a transaction that first
//! checks this very offer is still live: a link never accepts a later offer of the same session.
//! Afterwards the link shows only the outcome.

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::{Notice, Shared, html, not_found, on_engine, read_form, see_other};
use crate::command::{Command, SessionMechanic};
use crate::engine::{Engine, WriteHook};
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::model::{AssignmentStatus, Tier};
use crate::serve::views::{self, CustomerView};
use crate::store::links::{self, Opens};
use crate::store::{self, Db};
use crate::tokens::{Caller, Role};

/// Where an offer stands, as its page says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferState {
    Open,
    Accepted,
    Declined,
    Taken,
    Expired,
    AtCapacity,
    /// Withdrawn, or its session cancelled.
    Ended,
}

impl OfferState {
    /// The word kept on the link once answered.
    fn stored(self) -> Option<&'static str> {
        Some(match self {
            OfferState::Accepted => "accepted",
            OfferState::Declined => "declined",
            OfferState::Taken => "taken",
            OfferState::Expired => "expired",
            OfferState::AtCapacity => "at_capacity",
            OfferState::Open | OfferState::Ended => return None,
        })
    }

    fn from_stored(word: &str) -> Option<OfferState> {
        Some(match word {
            "accepted" => OfferState::Accepted,
            "declined" => OfferState::Declined,
            "taken" => OfferState::Taken,
            "expired" => OfferState::Expired,
            "at_capacity" => OfferState::AtCapacity,
            _ => return None,
        })
    }
}

#[derive(Template)]
#[template(path = "offer.html")]
struct OfferPage {
    state: OfferState,
    show_job: bool,
    concern: String,
    vehicle: String,
    city: String,
    tier: &'static str,
    expires_ms: i64,
    left: String,
    customer: Option<CustomerView>,
    notice: Option<String>,
    csrf: String,
    action: String,
    events: String,
}

/// What the page shows of an offer, read on the engine thread.
struct Facts {
    state: OfferState,
    concern: String,
    vehicle: String,
    city: String,
    tier: Tier,
    expires_at: Option<DateTime<Utc>>,
    customer: Option<CustomerView>,
}

/// The offer a link opens: its ids and how it was answered through the link.
struct Link {
    session: String,
    assignment: String,
    mechanic: String,
    outcome: Option<String>,
}

fn link(conn: &Db, sha256: &[u8; 32]) -> DispatchResult<Option<Link>> {
    Ok(match links::find(conn, sha256)? {
        Some(Opens::Offer {
            session,
            assignment,
            mechanic,
            outcome,
        }) => Some(Link {
            session,
            assignment,
            mechanic,
            outcome,
        }),
        _ => None,
    })
}

fn facts(conn: &Db, link: &Link, now: DateTime<Utc>) -> DispatchResult<Option<Facts>> {
    let Some(session) = store::sessions::get(conn, &link.session)? else {
        return Ok(None);
    };
    let Some(intake) = store::sessions::get_intake(conn, &session.intake_id)? else {
        return Ok(None);
    };
    let Some(offer) = store::assignments::for_session(conn, &link.session)?
        .into_iter()
        .find(|a| a.id == link.assignment)
    else {
        return Ok(None);
    };
    let his = session.matched_mechanic_id.as_deref() == Some(link.mechanic.as_str());
    let live =
        offer.status == AssignmentStatus::Offered && offer.expires_at.is_some_and(|t| t > now);
    let state = match link.outcome.as_deref().and_then(OfferState::from_stored) {
        Some(answered) => answered,
        None if live => OfferState::Open,
        None if offer.status == AssignmentStatus::Accepted && his => OfferState::Accepted,
        None if offer.status == AssignmentStatus::Declined => OfferState::Declined,
        None if session.matched_mechanic_id.is_some() && !his => OfferState::Taken,
        None if matches!(
            offer.status,
            AssignmentStatus::Expired | AssignmentStatus::Offered
        ) =>
        {
            OfferState::Expired
        }
        None => OfferState::Ended,
    };
    let job = views::job(&intake, his && state == OfferState::Accepted);
    Ok(Some(Facts {
        state,
        concern: job.concern,
        vehicle: super::vehicle_words(&job.vehicle),
        city: job.city.unwrap_or_else(|| "City not given".to_string()),
        tier: offer.tier(),
        expires_at: offer.expires_at,
        customer: job.customer,
    }))
}

/// The page of the link whose code hashes to `sha256`, or `None` (answered as not found).
fn page(
    engine: &Engine,
    shared_csrf: &super::csrf::Csrf,
    code: &str,
    sha256: &[u8; 32],
    notice: Option<Notice>,
) -> DispatchResult<Option<OfferPage>> {
    let now = engine.now();
    let conn = engine.connection();
    let Some(link) = link(conn, sha256)? else {
        return Ok(None);
    };
    let Some(f) = facts(conn, &link, now)? else {
        return Ok(None);
    };
    let seconds = f.expires_at.map_or(0, |t| (t - now).num_seconds());
    Ok(Some(OfferPage {
        show_job: matches!(f.state, OfferState::Open | OfferState::Accepted),
        state: f.state,
        concern: f.concern,
        vehicle: f.vehicle,
        city: f.city,
        tier: super::tier_words(f.tier),
        expires_ms: f.expires_at.map_or(0, |t| t.timestamp_millis()),
        left: super::time_left(seconds),
        customer: f.customer,
        notice: notice.map(|n| n.0),
        csrf: shared_csrf.token("offer", sha256),
        action: format!("/o/{code}"),
        events: format!("/o/{code}/events"),
    }))
}

pub async fn show(State(shared): State<Shared>, Path(code): Path<String>) -> Response {
    let sha256 = match super::admit(&shared, &code) {
        Ok(sha256) => sha256,
        Err(response) => return response,
    };
    let pages = shared.pages.clone();
    let shown = on_engine(&shared, move |engine| {
        page(engine, &pages.csrf, &code, &sha256, None)
    })
    .await;
    match shown {
        Ok(Ok(Some(page))) => html(StatusCode::OK, &page),
        Ok(Ok(None)) => not_found(),
        Ok(Err(e)) => failed(e),
        Err(response) => response,
    }
}

pub async fn answer(
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
        .check("offer", &sha256, form.get("csrf").map(String::as_str));
    let accept = match form.get("answer").map(String::as_str) {
        Some("accept") => true,
        Some("decline") => false,
        _ if !csrf_ok => false,
        _ => {
            return super::plain(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Choose Accept or Decline.",
            );
        }
    };
    let pages = shared.pages.clone();
    let back = format!("/o/{code}");
    let done = on_engine(&shared, move |engine| -> DispatchResult<After> {
        if link(engine.connection(), &sha256)?.is_none() {
            return Ok(After::Unknown);
        }
        if !csrf_ok {
            return Ok(After::Forbidden);
        }
        Ok(match run_answer(engine, &sha256, accept)? {
            Answered::Done => After::Redirect,
            Answered::Unknown => After::Unknown,
            Answered::Refused(notice) => {
                match page(engine, &pages.csrf, &code, &sha256, Some(notice))? {
                    Some(page) => After::Refused(Box::new(page)),
                    None => After::Unknown,
                }
            }
        })
    })
    .await;
    match done {
        Ok(Ok(After::Redirect)) => see_other(&back),
        Ok(Ok(After::Unknown)) => not_found(),
        Ok(Ok(After::Forbidden)) => super::forbidden(),
        Ok(Ok(After::Refused(page))) => html(StatusCode::CONFLICT, &*page),
        Ok(Err(e)) => failed(e),
        Err(response) => response,
    }
}

/// What a posted answer leads to.
enum After {
    Redirect,
    Unknown,
    Forbidden,
    Refused(Box<OfferPage>),
}

enum Answered {
    /// Answered (or answered before): the page shows how.
    Done,
    /// No such link.
    Unknown,
    /// The engine refused for a reason that is no outcome (off shift, busy): said on the page.
    Refused(Notice),
}

/// Accept or decline through the link, as the link's mechanic.
fn run_answer(engine: &mut Engine, sha256: &[u8; 32], accept: bool) -> DispatchResult<Answered> {
    let Some(link) = link(engine.connection(), sha256)? else {
        return Ok(Answered::Unknown);
    };
    if link.outcome.is_some() {
        return Ok(Answered::Done);
    }
    let mechanic = SessionMechanic {
        session: link.session.clone(),
        mechanic: link.mechanic.clone(),
    };
    let command = if accept {
        Command::Accept(mechanic)
    } else {
        Command::Decline(mechanic)
    };
    let caller = Caller {
        token_id: "offer link".to_string(),
        role: Role::Mechanic(link.mechanic.clone()),
    };
    crate::serve::access::check(engine.connection(), &caller, &command)?;
    let outcome = if accept {
        OfferState::Accepted
    } else {
        OfferState::Declined
    };
    let hook = ThisOffer {
        sha256: *sha256,
        assignment: link.assignment.clone(),
        outcome,
        now: engine.now(),
    };
    let (result, _) = engine.execute_with(command, hook);
    let refused = match result {
        Ok(_) => return Ok(Answered::Done),
        Err(e) => e,
    };
    let kept = match refused.code {
        ErrorCode::AlreadyTaken => OfferState::Taken,
        ErrorCode::Expired => OfferState::Expired,
        ErrorCode::AtCapacity => OfferState::AtCapacity,
        // This offer is no longer live (the hook's word): the page reads why from the offer.
        ErrorCode::NotOffered => return Ok(Answered::Done),
        ErrorCode::Internal => return Err(refused),
        _ => return Ok(Answered::Refused(refused.into())),
    };
    if let Some(word) = kept.stored() {
        links::set_outcome(engine.connection(), sha256, word)?;
    }
    Ok(Answered::Done)
}

/// The link's part of the answer's transaction: first, that this offer is still live (so a link
/// never answers a later offer of the same session); last, the outcome kept on the link.
struct ThisOffer {
    sha256: [u8; 32],
    assignment: String,
    outcome: OfferState,
    now: DateTime<Utc>,
}

impl WriteHook for ThisOffer {
    fn before(&mut self, conn: &Db) -> DispatchResult<()> {
        if links::offer_is_live(conn, &self.assignment, self.now)? {
            return Ok(());
        }
        Err(DispatchError::new(
            ErrorCode::NotOffered,
            "This offer is no longer live.",
        ))
    }

    fn after(&mut self, conn: &Db, _: crate::engine::Answer<'_>) -> DispatchResult<()> {
        if let Some(word) = self.outcome.stored() {
            links::set_outcome(conn, &self.sha256, word)?;
        }
        Ok(())
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

fn failed(e: DispatchError) -> Response {
    tracing::error!(code = e.code.as_str(), message = %e.message, "an offer page failed");
    super::plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong; nothing was changed. Try again.",
    )
}
