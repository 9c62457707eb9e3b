//! `GET /v1/events`: one token's view of the audit log as server-sent events (SPEC §13
//! "Streams"). A stream is bounded three ways — a few per token, a cap for the whole server, and
//! a lifetime — and ends within a second of its token's revocation. Resuming with
//! `Last-Event-ID` replays every missed event in order, however many; when they cannot be
//! replayed the stream starts with `event: reset`. Never a silent gap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::sse::Event;
use tokio::sync::{broadcast, mpsc, watch};

use super::feed::Fresh;
use super::worker::{Ran, Worker};
use crate::error::{DispatchError, ErrorCode};
use crate::tokens::{Caller, Role};

/// Streams one token may hold at once: a phone, a tablet, a reconnect racing its old stream.
pub const PER_TOKEN: usize = 4;

/// Events read per trip to the engine thread while a stream catches up.
const CATCH_UP_BATCH: usize = 500;

/// How many streams are open, per token and in all.
pub struct Streams {
    open: Mutex<(HashMap<String, usize>, usize)>,
    max_total: usize,
}

/// One open stream's place; given back when dropped (the stream ended, however).
pub struct Slot {
    streams: Arc<Streams>,
    token_id: String,
}

impl Streams {
    pub fn new(max_total: usize) -> Arc<Streams> {
        Arc::new(Streams {
            open: Mutex::new((HashMap::new(), 0)),
            max_total,
        })
    }

    /// A place for one more stream of `token_id`: `rate_limited` past [`PER_TOKEN`], `busy`
    /// past the server's cap.
    pub fn open(self: &Arc<Self>, token_id: &str) -> Result<Slot, DispatchError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let (per_token, total) = &mut *open;
        let mine = per_token.get(token_id).copied().unwrap_or(0);
        if mine >= PER_TOKEN {
            return Err(DispatchError::new(
                ErrorCode::RateLimited,
                format!("This token has {PER_TOKEN} event streams open already; close one first."),
            ));
        }
        if *total >= self.max_total {
            return Err(DispatchError::new(
                ErrorCode::Busy,
                "The server has as many event streams open as it allows; try again later.",
            ));
        }
        per_token.insert(token_id.to_string(), mine + 1);
        *total += 1;
        Ok(Slot {
            streams: self.clone(),
            token_id: token_id.to_string(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(|p| p.into_inner());
        let (per_token, total) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = per_token.get_mut(&self.token_id) {
            *n -= 1;
            if *n == 0 {
                per_token.remove(&self.token_id);
            }
        }
    }
}

/// Where a stream starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Live events only.
    Now,
    /// Every event after this id first.
    After(i64),
    /// The client's place cannot be found (an id this log never had, or no number at all): it
    /// is told to reload, then gets live events.
    Reset,
}

impl Start {
    /// From the `Last-Event-ID` header, and the ids the log holds.
    pub fn of(last_event_id: Option<&str>, (first, latest): (i64, i64)) -> Start {
        let Some(text) = last_event_id else {
            return Start::Now;
        };
        match text.trim().parse::<i64>() {
            // Ids past the newest belong to another database (or one restored from a backup);
            // ids before the oldest kept one have been pruned away.
            Ok(id) if id >= 0 && id <= latest && (first == 0 || id >= first - 1) => {
                Start::After(id)
            }
            _ => Start::Reset,
        }
    }
}

/// What a stream needs to run.
pub struct Follow {
    pub caller: Caller,
    pub start: Start,
    pub worker: Worker,
    pub fresh: broadcast::Receiver<Arc<Fresh>>,
    pub revoked: watch::Receiver<Arc<std::collections::HashSet<String>>>,
    pub stopping: watch::Receiver<bool>,
    pub lifetime: Duration,
    pub slot: Slot,
}

/// Runs one stream until the client leaves, the token is revoked, the lifetime ends or the
/// server stops; events go to `tx`.
pub async fn follow(f: Follow, tx: mpsc::Sender<Result<Event, std::convert::Infallible>>) {
    let Follow {
        caller,
        start,
        worker,
        mut fresh,
        mut revoked,
        mut stopping,
        lifetime,
        slot: _slot,
    } = f;
    let role = caller.role.clone();
    let mut sent_up_to = match start {
        Start::Now => 0,
        Start::After(id) => id,
        Start::Reset => {
            let reset = Event::default().event("reset").data("{}");
            if tx.send(Ok(reset)).await.is_err() {
                return;
            }
            0
        }
    };
    if let Start::After(_) = start
        && !catch_up(&worker, &role, &mut sent_up_to, &tx).await
    {
        return;
    }
    let deadline = tokio::time::sleep(lifetime);
    tokio::pin!(deadline);
    loop {
        if revoked.borrow_and_update().contains(&caller.token_id) {
            return;
        }
        tokio::select! {
            got = fresh.recv() => match got {
                Ok(f) if f.event.id <= sent_up_to => {}
                Ok(f) => {
                    sent_up_to = f.event.id;
                    if let Some(seen) = f.as_seen_by(&role)
                        && tx.send(Ok(sse(&seen))).await.is_err()
                    {
                        return; // the client hung up
                    }
                }
                // Fell behind the live feed: what it dropped is still in the log.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if !catch_up(&worker, &role, &mut sent_up_to, &tx).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            changed = revoked.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            // The client hung up: its place is given back now, not at the next event.
            () = tx.closed() => return,
            _ = stopping.changed() => return,
            () = &mut deadline => return,
        }
    }
}

/// Sends every event after `sent_up_to` from the log, batch by batch, until a batch comes
/// back short. False when the stream must end (client gone, server stopping).
async fn catch_up(
    worker: &Worker,
    role: &Role,
    sent_up_to: &mut i64,
    tx: &mpsc::Sender<Result<Event, std::convert::Infallible>>,
) -> bool {
    loop {
        let after = *sent_up_to;
        let batch = match worker
            .run(move |engine| super::feed::after(engine.connection(), after, CATCH_UP_BATCH))
            .await
        {
            Ok(Ran::Done(Ok(batch))) => batch,
            Ok(Ran::Done(Err(e))) => {
                tracing::warn!(error = %e, "a stream could not read the log; it ends");
                return false;
            }
            Ok(Ran::TooLate) | Err(_) => return false,
        };
        let full = batch.len() == CATCH_UP_BATCH;
        for f in &batch {
            *sent_up_to = f.event.id;
            if let Some(seen) = f.as_seen_by(role)
                && tx.send(Ok(sse(&seen))).await.is_err()
            {
                return false;
            }
        }
        if !full {
            return true;
        }
    }
}

fn sse(e: &crate::store::events::Stored) -> Event {
    Event::default()
        .id(e.id.to_string())
        .event(e.kind.clone())
        .json_data(e)
        .unwrap_or_else(|_| Event::default().comment("unserialisable event"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_to_resume_from_is_one_the_log_holds() {
        assert_eq!(Start::of(None, (1, 10)), Start::Now);
        assert_eq!(Start::of(Some("7"), (1, 10)), Start::After(7));
        assert_eq!(Start::of(Some("0"), (1, 10)), Start::After(0));
        assert_eq!(Start::of(Some("10"), (1, 10)), Start::After(10));
        assert_eq!(Start::of(Some("11"), (1, 10)), Start::Reset);
        assert_eq!(Start::of(Some("3"), (5, 10)), Start::Reset);
        assert_eq!(Start::of(Some("4"), (5, 10)), Start::After(4));
        assert_eq!(Start::of(Some("x"), (1, 10)), Start::Reset);
        assert_eq!(Start::of(Some("-1"), (1, 10)), Start::Reset);
    }

    #[test]
    fn a_token_holds_four_streams_and_the_server_its_cap() {
        let streams = Streams::new(6);
        let mine: Vec<Slot> = (0..PER_TOKEN).map(|_| streams.open("a").unwrap()).collect();
        assert_eq!(
            streams.open("a").err().unwrap().code,
            ErrorCode::RateLimited
        );
        let _b1 = streams.open("b").unwrap();
        let _b2 = streams.open("b").unwrap();
        assert_eq!(streams.open("c").err().unwrap().code, ErrorCode::Busy);
        drop(mine);
        assert!(streams.open("a").is_ok());
    }
}
