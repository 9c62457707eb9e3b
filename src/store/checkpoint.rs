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
//! holds. The thread also syncs the database file after each pass ([`sync_database`]), so the
//! writer's share stays its few frames and two short syncs (1–2.5 ms, against 3–15 ms when the
//! writer's sync had to write back everything the thread had copied since the last restart).

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

/// Makes the pages a pass copied into the database file durable. SQLite syncs the database file
/// only when a pass reaches the end of the log, which under steady writes no background pass
/// does: every page copied since the last restart then waited, dirty, for the one pass that does
/// — the writer's [`Checkpointer::catch_up`] — whose sync wrote them all back on the engine
/// thread (3–15 ms, growing with the log). Synced here, after each pass, that sync has only the
/// writer's own few pages left.
///
/// Through SQLite's own handle on the file: a second descriptor of ours, once closed, would
/// drop every POSIX lock the process holds on the file, SQLite's included.
fn sync_database(conn: &Connection) -> bool {
    use rusqlite::ffi;
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: the connection is open and used only on this thread; FILE_POINTER writes the
    // main database's sqlite3_file into `file`, which lives as long as the connection, and
    // xSync is the VFS's own sync of that file, which needs no lock.
    unsafe {
        let rc = ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            (&raw mut file).cast(),
        );
        if rc != ffi::SQLITE_OK || file.is_null() || (*file).pMethods.is_null() {
            return false;
        }
        match (*(*file).pMethods).xSync {
            Some(sync) => sync(file, ffi::SQLITE_SYNC_NORMAL) == ffi::SQLITE_OK,
            None => false,
        }
    }
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
                let mut last_copied = 0;
                let mut sync_failing = false;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(wait) {
                    match checkpoint(&conn).map(|(_, log, copied)| {
                        // Copied anything since the last look (the count starts over with the
                        // log), and not to the end, where SQLite synced the file itself. A sync
                        // that fails leaves its pages to the writer's final pass, whose own sync
                        // stands or fails as it always did.
                        if copied > 0 && copied != last_copied && copied < log {
                            let synced = sync_database(&conn);
                            if synced == sync_failing {
                                sync_failing = !synced;
                                if synced {
                                    tracing::info!("the checkpoint thread's syncs work again");
                                } else {
                                    tracing::warn!("the checkpoint thread cannot sync the database file; the writer's checkpoints will");
                                }
                            }
                        }
                        last_copied = copied;
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

#[cfg(test)]
mod tests {
    use super::sync_database;

    #[test]
    fn the_database_file_is_synced_through_sqlites_own_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1);",
        )
        .unwrap();
        assert!(sync_database(&conn));
        // The connection and its locks are untouched: it still writes, and another connection
        // sees what it wrote.
        conn.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let other = rusqlite::Connection::open(&path).unwrap();
        let n: i64 = other
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }
}
