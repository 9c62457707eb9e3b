//! The audit log as a live feed (`GET /v1/events`, SPEC §13). One thread with its own read
//! connection notices commits by any process (`PRAGMA data_version`, as the console does), reads
//! the new events by id, names the mechanics each concerns, and hands them to every listener;
//! each listener keeps what its token may see.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::broadcast;

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
        match role {
            Role::Dispatcher => true,
            Role::Mechanic(me) => self.mechanics.iter().any(|m| m == me),
            Role::Intake => false,
        }
    }
}

/// How often the feed looks for commits: listeners see an event within this.
const POLL: Duration = Duration::from_millis(200);
/// Events read per query; a burst larger than this is read in several.
const BATCH: usize = 500;
/// Events a slow listener may fall behind before it is told it missed some.
const BACKLOG: usize = 4096;

pub struct Feed {
    pub sender: broadcast::Sender<Arc<Fresh>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Feed {
    /// Starts following the log from its current end.
    pub fn start(db: PathBuf) -> Result<Feed, String> {
        let conn = crate::store::open(Some(&db)).map_err(|e| e.to_string())?;
        let mut last = crate::store::events::latest_id(&conn).map_err(|e| e.to_string())?;
        let (sender, _) = broadcast::channel(BACKLOG);
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, flag) = (sender.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("feed".into())
            .spawn(move || {
                let mut version = crate::store::data_version(&conn).unwrap_or(0);
                let mut first = true;
                while !flag.load(Ordering::Relaxed) {
                    let now = crate::store::data_version(&conn).unwrap_or(version);
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
            stop,
            thread: Some(thread),
        })
    }
}

/// Most events sent again to a client that reconnects with `Last-Event-ID`.
pub const RESEND: usize = 1000;

/// Up to [`RESEND`] events after `id`, for a client that reconnects with `Last-Event-ID`.
pub fn missed(conn: &crate::store::Db, id: i64) -> crate::store::Result<Vec<Fresh>> {
    let mut last = id;
    read(conn, &mut last, RESEND, false)
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
