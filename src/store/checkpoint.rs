//! WAL checkpoints off the commit path. By default SQLite checkpoints inside whichever commit
//! pushes the WAL past 1,000 pages, and that commit pays for writing back the pages and two
//! fsyncs — the slowest intake of every few hundred. A writer process instead turns automatic
//! checkpoints off and runs this background thread, which checkpoints (PASSIVE: it never blocks
//! a writer) on its own connection. It sleeps while the log is short and is woken by the
//! writer's commit that takes the log past [`RESTART_AFTER_FRAMES`] (SQLite's WAL hook, the one
//! its own automatic checkpoints use), so a burst after a quiet spell finds it already copying
//! (waking on a timer instead, the first pass of a burst came up to a timer's period late, when
//! the log had grown to 20,000–26,000 frames: its sync wrote back 100 MB at once and stalled
//! the writer's own writes for 6 ms at a time).
//!
//! Under sustained writes that alone lets the WAL grow without end: SQLite starts the log over
//! only when a write transaction begins with every frame already copied back, and a background
//! pass always ends a few commits behind the writer (4,500 intakes over HTTP left a 500 MB WAL,
//! and each commit appended fresh file pages: 186 µs of a 450 µs request). So once the log is
//! past [`RESTART_AFTER_FRAMES`] the thread raises a flag, and the writer, before its next write
//! transaction, copies the few frames the background pass left ([`Checkpointer::catch_up`]);
//! that transaction then starts the log over and later commits rewrite pages the OS already
//! holds. The thread also syncs the database file after each pass that copied anything
//! ([`sync_database`]), so the writer's share stays its few frames and two short syncs.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// The pause between passes while the log is short: a backstop, since the writer wakes the
/// thread when the log grows long.
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

/// What wakes the thread before its pause is over.
enum Wake {
    /// The writer's commit took the log past [`RESTART_AFTER_FRAMES`].
    LogLong,
    Stop,
}

pub struct Checkpointer {
    wake: Sender<Wake>,
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

/// The thread's state between passes.
#[derive(Default)]
struct Passes {
    /// The log's length at the last pass, to tell how much was written since.
    last_log: i64,
    /// The frames copied back at the last pass (the count starts over with the log).
    last_copied: i64,
    /// Passes back to back since the log grew long.
    in_a_row: u32,
    /// A failure is logged when it starts and when it ends, not at every pass.
    failing: bool,
    sync_failing: bool,
    /// Syncs of the database file this thread has made.
    syncs: u64,
}

impl Checkpointer {
    /// Starts checkpointing `path` in the background; `None` if it cannot open its connection
    /// (the writer then keeps SQLite's automatic checkpoints).
    pub fn start(path: &Path, writer: &mut super::Db) -> Option<Checkpointer> {
        Checkpointer::start_pausing(path, writer, EVERY)
    }

    /// The same with `every` for the pause while the log is short.
    fn start_pausing(path: &Path, writer: &mut super::Db, every: Duration) -> Option<Checkpointer> {
        let writer = writer.sqlite_mut()?;
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(super::busy_timeout()).ok()?;
        let (wake, woken) = mpsc::channel::<Wake>();
        let behind = Arc::new(AtomicBool::new(false));
        // Set while the thread sleeps the long pause: the writer's commit that takes the log
        // past the mark wakes it, once.
        let asleep = Arc::new(AtomicBool::new(true));
        let thread = {
            let (behind, asleep) = (behind.clone(), asleep.clone());
            std::thread::Builder::new()
                .name("pitwall-checkpoint".into())
                .spawn(move || {
                    let mut passes = Passes::default();
                    let mut wait = every;
                    loop {
                        match woken.recv_timeout(wait) {
                            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                            Ok(Wake::LogLong) | Err(RecvTimeoutError::Timeout) => {}
                        }
                        let next = passes.run(&conn, &behind);
                        asleep.store(next.is_none(), Ordering::Relaxed);
                        wait = next.unwrap_or(every);
                    }
                })
                .ok()?
        };
        // The writer's commits no longer checkpoint; this thread does. (The pragma replaces the
        // WAL hook, so it goes first.)
        let _ = writer.pragma_update(None, "wal_autocheckpoint", 0);
        let nudge = wake.clone();
        let hooked = writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames| {
            if i64::from(frames) >= RESTART_AFTER_FRAMES && asleep.swap(false, Ordering::Relaxed) {
                // The thread may be gone (stopping): nothing to wake then.
                let _ = nudge.send(Wake::LogLong);
            }
            Ok(())
        }));
        if let Err(e) = hooked {
            // The pause alone still drives it, as before the hook.
            tracing::warn!(error = %e, "the checkpoint thread wakes on its timer only");
        }
        Some(Checkpointer {
            wake,
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

impl Passes {
    /// One pass; the pause before the next (`None`: the long one).
    fn run(&mut self, conn: &Connection, behind: &AtomicBool) -> Option<Duration> {
        match checkpoint(conn) {
            Ok((_, log, copied)) => {
                if self.failing {
                    self.failing = false;
                    tracing::info!("background checkpoints work again");
                }
                // Copied anything since the last look. Even a pass that copied up to `log`
                // leaves the file unsynced when the writer appended meanwhile: `log` is the
                // length when the pass began, and SQLite syncs only when a pass reaches the end
                // of the log as it is when the pass ends (measured: 5 syncs in 120 passes under
                // load, the rest left to the writer's catch-up at 1–7 ms). A sync that fails
                // leaves its pages to the writer's final pass, whose own sync stands or fails
                // as it always did.
                if copied > 0 && copied != self.last_copied {
                    self.sync(conn);
                }
                self.last_copied = copied;
                self.pause(log, behind)
            }
            Err(e) => {
                if !self.failing {
                    self.failing = true;
                    tracing::warn!(error = %e, "background checkpoint failed");
                }
                None
            }
        }
    }

    fn sync(&mut self, conn: &Connection) {
        let synced = sync_database(conn);
        self.syncs += u64::from(synced);
        if synced == self.sync_failing {
            self.sync_failing = !synced;
            if synced {
                tracing::info!("the checkpoint thread's syncs work again");
            } else {
                tracing::warn!(
                    "the checkpoint thread cannot sync the database file; the writer's checkpoints will"
                );
            }
        }
    }

    /// The pause after a pass that found `log` frames in the log (`None`: the long one).
    fn pause(&mut self, log: i64, behind: &AtomicBool) -> Option<Duration> {
        // Frames written during the last pass and the wait after it (negative once the log
        // has started over).
        let fresh = log - self.last_log;
        self.last_log = log;
        self.in_a_row += 1;
        if log < RESTART_AFTER_FRAMES || behind.load(Ordering::Relaxed) {
            // Short, or the writer has been asked and tries at its next write (an idle writer
            // leaves the log as it is: nothing to hurry).
            self.in_a_row = 0;
            None
        } else if (0..=HANDOVER_FRAMES).contains(&fresh) || self.in_a_row > CATCH_UP_PASSES {
            self.in_a_row = 0;
            // Little is left: the writer copies it before its next write transaction, which
            // then starts the log over.
            behind.store(true, Ordering::Relaxed);
            Some(HANDOVER_WAIT)
        } else {
            // Long and still growing fast: passes back to back, each one shorter, until one
            // ends close behind the writer.
            Some(CATCH_UP_WAIT)
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.wake.send(Wake::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer connection as pitwall opens one, and a table to fill.
    fn writer(dir: &Path) -> (std::path::PathBuf, super::super::Db) {
        let path = dir.join("wal.db");
        let db = super::super::open(Some(&path)).unwrap();
        db.sqlite()
            .unwrap()
            .execute_batch("CREATE TABLE filler (x BLOB)")
            .unwrap();
        (path, db)
    }

    /// Commits of one fresh page each, `n` of them.
    fn commit_pages(db: &super::super::Db, n: usize) {
        let conn = db.sqlite().unwrap();
        for _ in 0..n {
            conn.execute("INSERT INTO filler VALUES (zeroblob(3000))", [])
                .unwrap();
        }
    }

    #[test]
    fn the_writers_commit_wakes_the_thread_when_the_log_grows_long() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut db) = writer(dir.path());
        // A pause no test outlasts: only the writer's commits can wake the thread.
        let checkpointer =
            Checkpointer::start_pausing(&path, &mut db, Duration::from_secs(3600)).unwrap();
        commit_pages(&db, RESTART_AFTER_FRAMES as usize + 50);
        // Woken, the thread copies the long log and then asks the writer to finish it.
        let asked = (0..1000).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            checkpointer.behind.load(Ordering::Relaxed)
        });
        assert!(asked, "the thread never woke to a log past the mark");
        // The writer finishes it and its next commit starts the log over.
        checkpointer.catch_up(&db);
        assert!(!checkpointer.behind.load(Ordering::Relaxed));
        commit_pages(&db, 1);
        let log: i64 = db
            .sqlite()
            .unwrap()
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))
            .unwrap();
        assert!(log < 10, "the log did not start over: {log} frames");
    }

    #[test]
    fn every_pass_that_copied_something_syncs_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let (path, db) = writer(dir.path());
        db.sqlite()
            .unwrap()
            .pragma_update(None, "wal_autocheckpoint", 0)
            .unwrap();
        let conn = Connection::open(&path).unwrap();
        let behind = AtomicBool::new(false);
        let mut passes = Passes::default();
        // A pass that copies up to the end of the log as it began: under load the writer has
        // appended meanwhile, and SQLite has not synced the file.
        commit_pages(&db, 20);
        passes.run(&conn, &behind);
        assert_eq!(passes.syncs, 1);
        // Nothing new copied: nothing to sync.
        passes.run(&conn, &behind);
        assert_eq!(passes.syncs, 1);
        commit_pages(&db, 5);
        passes.run(&conn, &behind);
        assert_eq!(passes.syncs, 2);
    }

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
