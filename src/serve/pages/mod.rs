//! The pages of SPEC §17: a mechanic answers an offer from the link in its message (`/o/…`),
//! follows his offers and jobs once signed in (`/m`), and a customer follows a session
//! (`/s/…`). Server-rendered HTML from compiled templates (askama); every page works without
//! JavaScript (forms post, the answer redirects to the page again), and `/assets/app.js` only
//! adds countdowns and live updates (server-sent events). Every response carries the headers
//! of [`page_headers`]; every form carries a CSRF token ([`csrf`]). The commands they run are
//! the engine's own, under the same role rules as the API's mechanic token.

// A handler's early answer is a whole page (`Response`, 128 bytes) as often as its result is:
// boxing one of the two would only add an allocation to every request.
#![allow(clippy::result_large_err)]

pub mod csrf;
mod live;
mod mechanic;
mod offer;
pub mod site;
mod status;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::http::Shared;
use super::worker::{Gone, Ran};
use crate::error::DispatchError;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/o/{code}", get(offer::show).post(offer::answer))
        .route("/o/{code}/events", get(live::offer))
        .route("/s/{code}", get(status::show))
        .route("/s/{code}/cancel", post(status::cancel))
        .route("/s/{code}/events", get(live::status))
        .route("/m", get(mechanic::show))
        .route("/m/act", post(mechanic::act))
        .route("/m/events", get(live::mechanic))
        .route(
            "/m/sign-in/{token}",
            get(mechanic::sign_in_form).post(mechanic::sign_in),
        )
        .route("/assets/app.js", get(script))
        .route("/assets/app.css", get(style))
        .layer(middleware::from_fn(page_headers))
}

/// `Content-Security-Policy`: only this server's own scripts, styles and connections; no
/// inline script or style, no framing, forms post only here. Links carry codes in their
/// paths, so no `Referer` leaves, and no page is kept in a cache.
const CSP: &str = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
                   form-action 'self'; object-src 'none'";

async fn page_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../../assets/app.js"),
    )
}

async fn style() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../../assets/app.css"),
    )
}

fn asset(kind: &'static str, text: &'static str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(kind))],
        text,
    )
        .into_response()
}

/// A rendered page.
fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(text) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page did not render");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be shown.",
            )
        }
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFound;

/// The one answer for a link that is unknown, tampered with, of the wrong shape or for another
/// page: nothing in it tells them apart.
fn not_found() -> Response {
    html(StatusCode::NOT_FOUND, &NotFound)
}

/// After a form: the page again, fetched with GET (a reload does not post twice).
fn see_other(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The answer when the engine could not run the request (stopping, overloaded, a bug).
fn unavailable(why: Result<(), Gone>) -> Response {
    match why {
        Err(Gone::Failed) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong; nothing was changed. Try again.",
        ),
        _ => {
            let mut r = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy; nothing was changed. Try again in a moment.",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    }
}

/// Runs `f` on the engine thread; the page's answer when it could not.
async fn on_engine<T: Send + 'static>(
    shared: &Shared,
    f: impl FnOnce(&mut crate::engine::Engine) -> T + Send + 'static,
) -> Result<T, Response> {
    match shared.worker.run(f).await {
        Ok(Ran::Done(v)) => Ok(v),
        Ok(Ran::TooLate) => Err(unavailable(Ok(()))),
        Err(gone) => Err(unavailable(Err(gone))),
    }
}

/// Refused for going too fast: the API's limit, per link or sign-in.
fn too_many(wait: std::time::Duration) -> Response {
    let secs = super::limits::retry_after_secs(wait);
    let mut r = plain(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests from this link; wait a moment and try again.",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// The rate-limit key of a link: a prefix of its hash (never the code).
/// A link's code from its path, checked for shape, hashed and counted against the link's rate:
/// its SHA-256, or the answer to give instead (the 404 of a missing link, or 429).
fn admit(shared: &Shared, code: &str) -> Result<[u8; 32], Response> {
    if !crate::links::looks_like_code(code) {
        return Err(not_found());
    }
    let sha256 = crate::links::hash(code);
    shared.limit.check(&link_key(&sha256)).map_err(too_many)?;
    Ok(sha256)
}

fn link_key(sha256: &[u8; 32]) -> String {
    let hex: String = sha256[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("link_{hex}")
}

/// Largest form accepted: the pages' forms hold a few short fields.
const MAX_FORM: usize = 4096;

/// A posted form's fields, when it came from one of these pages: a request another site made
/// (`Sec-Fetch-Site: cross-site`, or an `Origin` of another host) is refused before its body is
/// read; the CSRF token inside is checked by the caller.
async fn read_form(headers: &HeaderMap, body: Body) -> Result<HashMap<String, String>, Response> {
    if !same_site(headers) {
        return Err(forbidden());
    }
    let bytes =
        match tokio::time::timeout(super::http::BODY_WAIT, axum::body::to_bytes(body, MAX_FORM))
            .await
        {
            Ok(Ok(bytes)) => bytes,
            _ => {
                return Err(plain(
                    StatusCode::BAD_REQUEST,
                    "The form did not arrive whole.",
                ));
            }
        };
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

fn same_site(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if value("sec-fetch-site") == Some("cross-site") {
        return false;
    }
    match (value("origin"), value("host")) {
        // With `Referrer-Policy: no-referrer` a browser sends `Origin: null` on its form posts:
        // no word either way, and the CSRF token decides.
        (None | Some("null"), _) => true,
        (Some(origin), Some(host)) => origin.split_once("://").is_some_and(|(_, h)| h == host),
        (Some(_), None) => false,
    }
}

/// A form without a good CSRF token, or sent from another site.
fn forbidden() -> Response {
    plain(
        StatusCode::FORBIDDEN,
        "This form was not sent from its page. Open the page again and use its buttons.",
    )
}

/// Minutes and seconds left, as the countdown shows them ("1:05").
fn time_left(seconds: i64) -> String {
    let s = seconds.max(0);
    format!("{}:{:02}", s / 60, s % 60)
}

/// "2019 Honda Civic", or "Vehicle not given".
fn vehicle_words(v: &super::views::VehicleView) -> String {
    let parts: Vec<String> = [
        v.year.map(|y| y.to_string()),
        v.make.clone(),
        v.model.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "Vehicle not given".to_string()
    } else {
        parts.join(" ")
    }
}

fn tier_words(tier: crate::model::Tier) -> &'static str {
    use crate::model::Tier;
    match tier {
        Tier::High => "High match",
        Tier::Good => "Good match",
        Tier::Standard => "Standard match",
        Tier::Broadcast => "Open to all",
    }
}

impl From<DispatchError> for Notice {
    fn from(e: DispatchError) -> Notice {
        Notice(e.message)
    }
}

/// A refusal said on the page (a form's command that the engine refused).
pub struct Notice(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_from_another_site_is_refused() {
        let mut h = HeaderMap::new();
        h.insert("host", HeaderValue::from_static("pit.example.com"));
        assert!(same_site(&h));
        h.insert(
            "origin",
            HeaderValue::from_static("https://pit.example.com"),
        );
        assert!(same_site(&h));
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!same_site(&h));
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_site(&h));
        let mut h = HeaderMap::new();
        h.insert("origin", HeaderValue::from_static("null"));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_site(&h), "what a browser sends under no-referrer");
    }

    #[test]
    fn the_countdown_reads_minutes_and_seconds() {
        assert_eq!(time_left(125), "2:05");
        assert_eq!(time_left(-3), "0:00");
    }
}
