//! WAL checkpoints off the commit path. By default SQLite checkpoints inside whichever commit
//! pushes the WAL past 1,000 pages, and that commit pays for writing back the pages and two
//! fsyncs — the slowest intake of every few hundred. A writer process instead turns automatic
//! checkpoints off and runs this background thread, which checkpoints (PASSIVE: it never blocks
//! a writer) on its own connection a few times a second.
//!
//! Under sustained writes that alone lets the WAL grow without end: SQLite starts the log over
//! only when a write transaction begins with every frame already copied back, and a background
//! pass always ends a few commits behind the writer (4,500 intakes over HTTP left a 500 MB WAL,
//! and each commit appended fresh file pages: 186 µs of a 450 µs request). So once the log is
//! past [`RESTART_AFTER_FRAMES`] the thread raises a flag, and the writer, before its next write
//! transaction, copies the few frames the background pass left ([`Checkpointer::catch_up`]);
//! that transaction then starts the log over and later commits rewrite pages the OS already
//! holds.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

const EVERY: Duration = Duration::from_millis(250);

/// WAL frames (pages) past which the writer helps the log start over: SQLite's own automatic
/// checkpoint threshold.
pub const RESTART_AFTER_FRAMES: i64 = 1_000;

/// Frames written since the last pass below which the writer is asked to copy the rest: a
/// few commits (under 1 MB), so its share — the copy and two fsyncs — stays at a few milliseconds.
const HANDOVER_FRAMES: i64 = 200;
/// Passes back to back after which the writer is asked anyway (a disk slower than the writes).
const CATCH_UP_PASSES: u32 = 16;
/// The pause between passes while the log is long and growing.
const CATCH_UP_WAIT: Duration = Duration::from_millis(1);
/// The pause after asking the writer to finish, so the checkpoint lock is free when it tries.
const HANDOVER_WAIT: Duration = Duration::from_millis(25);

pub struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Set by the thread when the log is past [`RESTART_AFTER_FRAMES`]; cleared by the writer
    /// once it has copied the rest.
    behind: Arc<AtomicBool>,
}

/// `PRAGMA wal_checkpoint`'s answer: busy, frames in the log, frames copied back.
fn checkpoint(conn: &Connection) -> rusqlite::Result<(bool, i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(0)? != 0, r.get(1)?, r.get(2)?))
    })
}

impl Checkpointer {
    /// Starts checkpointing `path` in the background; `None` if it cannot open its connection
    /// (the writer then keeps SQLite's automatic checkpoints).
    pub fn start(path: &Path, writer: &super::Db) -> Option<Checkpointer> {
        let writer = writer.sqlite()?;
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(super::busy_timeout()).ok()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let behind = Arc::new(AtomicBool::new(false));
        let flag = behind.clone();
        let thread = std::thread::Builder::new()
            .name("pitwall-checkpoint".into())
            .spawn(move || {
                // Until the engine drops its end of the channel. A failure is logged when it
                // starts and when it ends, not four times a second.
                let mut failing = false;
                let mut wait = EVERY;
                let mut last_log = 0;
                let mut passes = 0;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                    match checkpoint(&conn).map(|(_, log, _)| {
                        // Frames written during the last pass and the wait after it (negative
                        // once the log has started over).
                        let fresh = log - last_log;
                        last_log = log;
                        passes += 1;
                        wait = if log < RESTART_AFTER_FRAMES || flag.load(Ordering::Relaxed) {
                            // Short, or the writer has been asked and tries at its next write
                            // (an idle writer leaves the log as it is: nothing to hurry).
                            passes = 0;
                            EVERY
                        } else if (0..=HANDOVER_FRAMES).contains(&fresh) || passes > CATCH_UP_PASSES
                        {
                            passes = 0;
                            // Little is left: the writer copies it before its next write
                            // transaction, which then starts the log over.
                            flag.store(true, Ordering::Relaxed);
                            HANDOVER_WAIT
                        } else {
                            // Long and still growing fast: passes back to back, each one
                            // shorter, until one ends close behind the writer.
                            CATCH_UP_WAIT
                        };
                    }) {
                        Err(e) if !failing => {
                            failing = true;
                            tracing::warn!(error = %e, "background checkpoint failed");
                        }
                        Ok(()) if failing => {
                            failing = false;
                            tracing::info!("background checkpoints work again");
                        }
                        _ => {}
                    }
                }
            })
            .ok()?;
        // The writer's commits no longer checkpoint; this thread does.
        let _ = writer.pragma_update(None, "wal_autocheckpoint", 0);
        Some(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
            behind,
        })
    }

    /// Called by the writer on its own connection, outside any transaction, before a write
    /// transaction: when the log has grown long, copies back the frames the background pass
    /// left (a few commits' worth, and two fsyncs: a few milliseconds, a few times a second
    /// at most under full load), so the transaction about to begin starts the log over. Does
    /// nothing while the background pass holds the checkpoint lock; the next write tries again.
    pub fn catch_up(&self, writer: &super::Db) {
        if !self.behind.load(Ordering::Relaxed) {
            return;
        }
        let Some(conn) = writer.sqlite() else {
            return;
        };
        if let Ok((false, log, copied)) = checkpoint(conn)
            && copied == log
        {
            self.behind.store(false, Ordering::Relaxed);
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
