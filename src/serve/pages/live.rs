//! The pages' live updates: a server-sent event `change` whenever something the page shows may
//! have changed (an event of its session, or one the signed-in mechanic may see), after which
//! the page's script fetches the page again. The events carry nothing themselves: what a page
//! shows is decided in one place, where it is rendered. A stream is bounded as the API's are
//! (per link or sign-in, the server's cap, a lifetime) and a revoked sign-in's stream ends.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::{broadcast, mpsc};

use super::{Shared, not_found, on_engine};
use crate::serve::feed::Fresh;
use crate::store::links::{self, Opens};
use crate::tokens::Role;

/// Which events concern a page.
enum Watching {
    Session(String),
    Mechanic { role: Role, token_id: String },
}

impl Watching {
    fn concerns(&self, fresh: &Fresh) -> bool {
        match self {
            Watching::Session(id) => fresh.event.session.as_deref() == Some(id.as_str()),
            Watching::Mechanic { role, .. } => fresh.visible_to(role),
        }
    }
}

pub async fn offer(State(shared): State<Shared>, Path(code): Path<String>) -> Response {
    link_stream(shared, code, true).await
}

pub async fn status(State(shared): State<Shared>, Path(code): Path<String>) -> Response {
    link_stream(shared, code, false).await
}

async fn link_stream(shared: Shared, code: String, offer: bool) -> Response {
    let sha256 = match super::admit(&shared, &code) {
        Ok(sha256) => sha256,
        Err(response) => return response,
    };
    let key = super::link_key(&sha256);
    let found = on_engine(&shared, move |engine| {
        links::find(engine.connection(), &sha256)
    })
    .await;
    let session = match found {
        Ok(Ok(Some(Opens::Offer { session, .. }))) if offer => session,
        Ok(Ok(Some(Opens::Status { session }))) if !offer => session,
        Ok(Ok(_)) => return not_found(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a page's stream failed");
            return super::plain(StatusCode::INTERNAL_SERVER_ERROR, "Try again.");
        }
        Err(response) => return response,
    };
    stream(shared, key, Watching::Session(session))
}

pub async fn mechanic(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let token = super::mechanic::cookie_token(&headers);
    let limit = shared.limit.clone();
    let signed = on_engine(&shared, move |engine| {
        super::mechanic::signed_in(engine, &limit, token.as_deref())
    })
    .await;
    let caller = match signed {
        Ok(Ok((caller, _))) => caller,
        Ok(Err(r)) | Err(r) => return r,
    };
    let key = caller.token_id.clone();
    stream(
        shared,
        key,
        Watching::Mechanic {
            role: caller.role,
            token_id: caller.token_id,
        },
    )
}

fn stream(shared: Shared, key: String, watching: Watching) -> Response {
    let slot = match shared.streams.open(&key) {
        Ok(slot) => slot,
        Err(e) => {
            let status = if e.code == crate::error::ErrorCode::Busy {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::TOO_MANY_REQUESTS
            };
            return super::plain(status, "Too many live pages open; reload later.");
        }
    };
    let fresh = shared.feed.subscribe();
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(16);
    tokio::spawn(follow(shared, watching, fresh, tx, slot));
    Sse::new(tokio_stream::wrappers::ReceiverStream::new(rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}

async fn follow(
    shared: Shared,
    watching: Watching,
    mut fresh: broadcast::Receiver<Arc<Fresh>>,
    tx: mpsc::Sender<Result<Event, Infallible>>,
    _slot: crate::serve::streams::Slot,
) {
    let mut stopping = shared.stopping.clone();
    let mut revoked = shared.revoked.clone();
    let ends = tokio::time::sleep(shared.stream_lifetime);
    tokio::pin!(ends);
    let change = || Event::default().event("change").data("1");
    loop {
        if let Watching::Mechanic { token_id, .. } = &watching
            && revoked.borrow().contains(token_id)
        {
            let _ = tx.send(Ok(Event::default().event("ended").data("1"))).await;
            return;
        }
        tokio::select! {
            got = fresh.recv() => match got {
                Ok(event) if watching.concerns(&event) => {
                    if tx.send(Ok(change())).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // Missed some: whatever they were, the page reads itself again.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if tx.send(Ok(change())).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = revoked.changed() => {}
            _ = stopping.changed() => return,
            () = &mut ends => return,
            () = tx.closed() => return,
        }
    }
}
