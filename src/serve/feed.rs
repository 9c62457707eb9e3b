//! The audit log as a live feed (`GET /v1/events`, SPEC §13). One thread with its own read
//! connection notices commits by any process (`PRAGMA data_version`, as the console does), reads
//! the new events by id, names the mechanics each concerns, and hands them to every listener;
//! each listener keeps what its token may see.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{broadcast, watch};

use crate::store::events::Stored;
use crate::tokens::Role;

/// A new audit event and the mechanics it concerns (his own, or a session offered to him).
#[derive(Debug)]
pub struct Fresh {
    pub event: Stored,
    pub mechanics: Vec<String>,
}

impl Fresh {
    pub fn visible_to(&self, role: &Role) -> bool {
        self.as_seen_by(role).is_some()
    }

    /// The event as `role` may see it, or `None`. A mechanic sees his own events and those of
    /// sessions offered to him, never another mechanic's id or detail: another's accept of a
    /// session he was offered reaches him only as `session_taken`.
    pub fn as_seen_by(&self, role: &Role) -> Option<Stored> {
        let me = match role {
            Role::Dispatcher => return Some(self.event.clone()),
            Role::Intake => return None,
            Role::Mechanic(me) => me,
        };
        let e = &self.event;
        let his_session = e.session.is_some() && self.mechanics.iter().any(|m| m == me);
        match e.mechanic.as_deref() {
            Some(m) if m == me => Some(e.clone()),
            Some(_) if his_session && e.kind == "offer_accepted" => Some(Stored {
                kind: "session_taken".to_string(),
                mechanic: None,
                assignment: None,
                waitlist: None,
                detail: None,
                ..e.clone()
            }),
            Some(_) => None,
            None if his_session => Some(Stored {
                waitlist: None,
                detail: None,
                ..e.clone()
            }),
            None => None,
        }
    }
}

/// How often the feed looks for commits: listeners see an event within this.
const POLL: Duration = Duration::from_millis(200);
/// How often revocations are read even when nothing else changed: a revoked token's streams
/// end within this and a poll.
const REVOCATIONS_EVERY: Duration = Duration::from_millis(800);
/// Events read per query; a burst larger than this is read in several.
const BATCH: usize = 500;
/// Events a slow listener may fall behind before it is told it missed some.
const BACKLOG: usize = 4096;

pub struct Feed {
    pub sender: broadcast::Sender<Arc<Fresh>>,
    /// The ids of revoked tokens, refreshed when the database changes: open streams of a token
    /// revoked (by any process) end on it.
    pub revoked: watch::Receiver<Arc<HashSet<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Feed {
    /// Starts following the log from its current end.
    pub fn start(db: PathBuf) -> Result<Feed, String> {
        let conn = crate::store::open(Some(&db)).map_err(|e| e.to_string())?;
        let mut last = crate::store::events::latest_id(&conn).map_err(|e| e.to_string())?;
        let (sender, _) = broadcast::channel(BACKLOG);
        let revoked_now = crate::store::tokens::revoked_ids(&conn).map_err(|e| e.to_string())?;
        let (revoked_tx, revoked) = watch::channel(Arc::new(revoked_now));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, flag) = (sender.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("feed".into())
            .spawn(move || {
                let mut version = crate::store::data_version(&conn).unwrap_or(0);
                let mut first = true;
                let mut revocations_read = std::time::Instant::now();
                while !flag.load(Ordering::Relaxed) {
                    let now = crate::store::data_version(&conn).unwrap_or(version);
                    // On every change, and once a second whatever happened: `token revoke`
                    // writes outside an engine transaction, which on PostgreSQL notifies no one.
                    if now != version || first || revocations_read.elapsed() >= REVOCATIONS_EVERY {
                        revocations_read = std::time::Instant::now();
                        match crate::store::tokens::revoked_ids(&conn) {
                            Ok(ids) if ids != **revoked_tx.borrow() => {
                                let _ = revoked_tx.send(Arc::new(ids));
                            }
                            Ok(_) => {}
                            Err(e) => tracing::debug!(error = %e, "revocations not read"),
                        }
                    }
                    if now != version || first {
                        version = now;
                        first = false;
                        if tx.receiver_count() == 0 {
                            // Nobody is listening: skip to the end instead of reading what no
                            // one will see (a busy server writes thousands of events a second).
                            if let Ok(id) = crate::store::events::latest_id(&conn) {
                                last = id;
                            }
                            std::thread::sleep(POLL);
                            continue;
                        }
                        match read_new(&conn, &mut last) {
                            Ok(events) => {
                                for fresh in events {
                                    // No listener is fine: nobody to tell.
                                    let _ = tx.send(Arc::new(fresh));
                                }
                            }
                            Err(e) => tracing::debug!(error = %e, "feed read failed; retrying"),
                        }
                    }
                    std::thread::sleep(POLL);
                }
            })
            .map_err(|e| format!("cannot start the event feed: {e}"))?;
        Ok(Feed {
            sender,
            revoked,
            stop,
            thread: Some(thread),
        })
    }
}

/// Up to `limit` events after `id`, for a stream catching up (a client that resumes with
/// `Last-Event-ID`, or one that fell behind the live feed); the caller asks again until a
/// batch comes back short.
pub fn after(conn: &crate::store::Db, id: i64, limit: usize) -> crate::store::Result<Vec<Fresh>> {
    let mut last = id;
    read(conn, &mut last, limit, false)
}

/// The oldest and newest event ids kept (0, 0 when there are none): a `Last-Event-ID` outside
/// them cannot be resumed from.
pub fn bounds(conn: &crate::store::Db) -> crate::store::Result<(i64, i64)> {
    Ok((
        crate::store::events::first_id(conn)?,
        crate::store::events::latest_id(conn)?,
    ))
}

fn read_new(conn: &crate::store::Db, last: &mut i64) -> crate::store::Result<Vec<Fresh>> {
    read(conn, last, BATCH, true)
}

/// Events after `last` in batches of `batch`, each with the mechanics it concerns; all of them
/// when `to_end`, else one batch.
fn read(
    conn: &crate::store::Db,
    last: &mut i64,
    batch: usize,
    to_end: bool,
) -> crate::store::Result<Vec<Fresh>> {
    let mut out = Vec::new();
    loop {
        let batch_size = batch;
        let batch = crate::store::events::after(conn, *last, batch_size)?;
        let full = batch.len() == batch_size;
        // One intake writes a dozen events about one session: ask who it concerns once.
        let mut concerned: std::collections::HashMap<String, Vec<String>> = Default::default();
        for event in batch {
            *last = event.id;
            let mut mechanics = match &event.session {
                Some(s) => match concerned.get(s) {
                    Some(known) => known.clone(),
                    None => {
                        let found = crate::store::events::session_mechanics(conn, s)?;
                        concerned.insert(s.clone(), found.clone());
                        found
                    }
                },
                None => Vec::new(),
            };
            if let Some(m) = &event.mechanic
                && !mechanics.contains(m)
            {
                mechanics.push(m.clone());
            }
            out.push(Fresh { event, mechanics });
        }
        if !full || !to_end {
            return Ok(out);
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
