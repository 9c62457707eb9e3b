//! WAL checkpoints off the commit path. By default SQLite checkpoints inside whichever commit
//! pushes the WAL past 1,000 pages, and that commit pays for writing back the pages and two
//! fsyncs — the slowest intake of every few hundred. A writer process instead turns automatic
//! checkpoints off and runs this background thread, which checkpoints (PASSIVE: it never blocks
//! a writer) on its own connection. While the log is short it passes only every
//! [`EVERY`], and the writer's commit that takes the log past [`WAKE_AFTER_FRAMES`] wakes it
//! (SQLite's WAL hook, the one its own automatic checkpoints use), so a burst after a quiet
//! spell finds it already copying (waking on the timer alone, the first pass of a burst came up
//! to 250 ms late, when the log had grown to 20,000–26,000 frames: its sync wrote back 100 MB at
//! once and stalled the writer's own writes for 6 ms at a time).
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

/// WAL frames (pages) past which the writer's commit wakes the thread from its long pause:
/// SQLite's own automatic checkpoint threshold, so a burst after a quiet spell finds it copying.
pub const WAKE_AFTER_FRAMES: i64 = 1_000;

/// WAL frames past which the writer helps the log start over (32 MB of log). Every time the
/// writer helps it copies what the thread left and syncs the log and the database file first,
/// a few milliseconds that every request waiting on the engine thread waits too; under a full
/// load of HTTP intakes (commands committed in groups of about ten, 130 frames each) that came
/// every few groups at 1,000 frames: 228 ms in all for 4,500 intakes, 9 % of the engine
/// thread's time, against 36–109 ms at 8,000.
pub const RESTART_AFTER_FRAMES: i64 = 8_000;

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
    /// The writer's commit took the log past [`WAKE_AFTER_FRAMES`].
    LogLong,
    Stop,
}

pub struct Checkpointer {
    wake: Sender<Wake>,
    thread: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

/// What the thread and the writer tell each other.
#[derive(Default)]
struct Shared {
    /// Set by the thread when the log is past [`RESTART_AFTER_FRAMES`] and little is left to
    /// copy; cleared by the writer once it has copied the rest.
    behind: AtomicBool,
    /// Set while the thread takes its long pause with nothing asked of the writer: the writer's
    /// commit that takes the log past the mark wakes it, once per pause.
    asleep: AtomicBool,
    /// Set when the thread could not sync the database file and stopped: the writer then
    /// checkpoints as SQLite does by default, inside its commits.
    gave_up: AtomicBool,
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
/// thread (3–15 ms, growing with the log, before this sync). Synced here, after each pass, that
/// sync has only the writer's own few pages left (1.2–3 ms).
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
    /// [`RESTART_AFTER_FRAMES`], but in tests (set by [`Passes::new`]; the derived default is
    /// only the rest of the fields).
    restart_after: i64,
    /// The log's length at the last pass, to tell how much was written since.
    last_log: i64,
    /// The frames copied back at the last pass (the count starts over with the log).
    last_copied: i64,
    /// Passes back to back since the log grew long.
    in_a_row: u32,
    /// A failure is logged when it starts and when it ends, not at every pass.
    failing: bool,
    /// A sync of the database file failed: the thread stops (see [`Passes::sync`]).
    gave_up: bool,
    /// Syncs of the database file this thread has made.
    syncs: u64,
}

impl Checkpointer {
    /// Starts checkpointing `path` in the background; `None` if it cannot open its connection
    /// (the writer then keeps SQLite's automatic checkpoints).
    pub fn start(path: &Path, writer: &mut super::Db) -> Option<Checkpointer> {
        Checkpointer::start_pausing(path, writer, EVERY, RESTART_AFTER_FRAMES)
    }

    /// The same with `every` for the pause while the log is short, and the log's length past
    /// which the writer helps it start over.
    fn start_pausing(
        path: &Path,
        writer: &mut super::Db,
        every: Duration,
        restart_after: i64,
    ) -> Option<Checkpointer> {
        let writer = writer.sqlite_mut()?;
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(super::busy_timeout()).ok()?;
        let (wake, woken) = mpsc::channel::<Wake>();
        let shared = Arc::new(Shared::default());
        shared.asleep.store(true, Ordering::Relaxed);
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("pitwall-checkpoint".into())
                .spawn(move || {
                    let mut passes = Passes::new(restart_after);
                    let mut wait = every;
                    loop {
                        match woken.recv_timeout(wait) {
                            // (The WAL hook holds a sender as long as the writer's connection
                            // lives: only Stop ends the thread.)
                            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                            Ok(Wake::LogLong) | Err(RecvTimeoutError::Timeout) => {}
                        }
                        let next = passes.run(&conn, &shared.behind);
                        if passes.gave_up {
                            shared.gave_up.store(true, Ordering::Relaxed);
                            return;
                        }
                        // Wakeable in the long pause only, and not while the writer has been
                        // asked to finish: it does at its next write, and a pass woken by
                        // every commit meanwhile would only contend for the checkpoint lock
                        // (the writer makes the thread wakeable again once it is done).
                        let idle = next.is_none() && !shared.behind.load(Ordering::Relaxed);
                        shared.asleep.store(idle, Ordering::Relaxed);
                        wait = next.unwrap_or(every);
                    }
                })
                .ok()?
        };
        // The writer's commits no longer checkpoint; this thread does. (The pragma replaces the
        // WAL hook, so it goes first.)
        let _ = writer.pragma_update(None, "wal_autocheckpoint", 0);
        let nudge = wake.clone();
        let hook = shared.clone();
        let hooked = writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, frames| {
            if i64::from(frames) >= WAKE_AFTER_FRAMES && hook.asleep.swap(false, Ordering::Relaxed)
            {
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
            shared,
        })
    }

    /// Called by the writer on its own connection, outside any transaction, before a write
    /// transaction: when the log has grown long, copies back the frames the background pass
    /// left (a few commits' worth, and two fsyncs: a few milliseconds, a few times a second
    /// at most under full load), so the transaction about to begin starts the log over. Does
    /// nothing while the background pass holds the checkpoint lock; the next write tries again.
    pub fn catch_up(&self, writer: &super::Db) {
        let Some(conn) = writer.sqlite() else {
            return;
        };
        // Loads first: this runs before every write transaction. (Only this writer clears the
        // flag, and the thread that set it has ended.)
        if self.shared.gave_up.load(Ordering::Relaxed) {
            self.shared.gave_up.store(false, Ordering::Relaxed);
            // SQLite's default again (this also removes the WAL hook: no one is left to wake).
            let _ = conn.pragma_update(None, "wal_autocheckpoint", WAKE_AFTER_FRAMES);
            return;
        }
        if !self.shared.behind.load(Ordering::Relaxed) {
            return;
        }
        if let Ok((false, log, copied)) = checkpoint(conn)
            && copied == log
        {
            self.shared.behind.store(false, Ordering::Relaxed);
            // The log starts over with this write: wake the thread when it has grown long.
            self.shared.asleep.store(true, Ordering::Relaxed);
        }
    }
}

impl Passes {
    /// A thread that has passed nothing yet, asking the writer to help past `restart_after`.
    fn new(restart_after: i64) -> Passes {
        Passes {
            restart_after,
            ..Passes::default()
        }
    }

    /// One pass; the pause before the next (`None`: the long one).
    fn run(&mut self, conn: &Connection, behind: &AtomicBool) -> Option<Duration> {
        match checkpoint(conn) {
            Ok((_, log, copied)) => {
                if self.failing {
                    self.failing = false;
                    tracing::info!("background checkpoints work again");
                }
                // Copied anything since the last look (the counts start over with the log; a
                // new log that reaches the same counts is taken for an unchanged one, which
                // costs a sync left to the writer, nothing more). Also after a pass that copied
                // up to `log`: that is the length when the pass began, and SQLite syncs only a
                // pass that reached the log's end as it is when the pass ends (measured under
                // load: 5 syncs in 114 passes).
                if copied > 0 && (copied != self.last_copied || log != self.last_log) {
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

    /// Syncs the database file; on a failure, gives up for good. Linux reports a failed
    /// write-back once per open file: a later sync on this connection's file would succeed,
    /// and a pass that reached the end of the log would then let the writer start the log over
    /// on pages that never reached the disk. The writer's own connection still has the error
    /// to report, so its checkpoints (SQLite's default, resumed) fail instead of losing them.
    fn sync(&mut self, conn: &Connection) {
        if sync_database(conn) {
            self.syncs += 1;
        } else {
            self.gave_up = true;
            tracing::error!(
                "the checkpoint thread cannot sync the database file and stops; the writer checkpoints from now on"
            );
        }
    }

    /// The pause after a pass that found `log` frames in the log (`None`: the long one).
    fn pause(&mut self, log: i64, behind: &AtomicBool) -> Option<Duration> {
        // Frames written during the last pass and the wait after it (negative once the log
        // has started over).
        let fresh = log - self.last_log;
        self.last_log = log;
        self.in_a_row += 1;
        if log < self.restart_after || behind.load(Ordering::Relaxed) {
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
    use crate::store::{self, db::Db};

    /// A writer connection as pitwall opens one, and a table to fill.
    fn writer(dir: &Path) -> (std::path::PathBuf, Db) {
        let path = dir.join("wal.db");
        let db = store::open(Some(&path)).unwrap();
        db.sqlite()
            .unwrap()
            .execute_batch("CREATE TABLE filler (x BLOB)")
            .unwrap();
        (path, db)
    }

    /// Commits of one fresh page each, `n` of them.
    fn commit_pages(db: &Db, n: usize) {
        let conn = db.sqlite().unwrap();
        for _ in 0..n {
            conn.execute("INSERT INTO filler VALUES (zeroblob(3000))", [])
                .unwrap();
        }
    }

    fn frames_in_log(db: &Db) -> i64 {
        checkpoint(db.sqlite().unwrap()).unwrap().1
    }

    /// Up to 10 s for `done`, looking every 10 ms.
    fn within_10s(mut done: impl FnMut() -> bool) -> bool {
        (0..1000).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            done()
        })
    }

    #[test]
    fn the_writers_commit_wakes_the_thread_when_the_log_grows_long() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut db) = writer(dir.path());
        // A pause no test outlasts: only the writer's commits can wake the thread. The log
        // starts over at SQLite's threshold here: a test's thousands of commits are slow on a
        // busy machine.
        let restart_after = 2 * WAKE_AFTER_FRAMES;
        let checkpointer =
            Checkpointer::start_pausing(&path, &mut db, Duration::from_secs(3600), restart_after)
                .unwrap();
        commit_pages(&db, restart_after as usize + 50);
        // Woken, the thread copies the long log and then asks the writer to finish it.
        let behind = || checkpointer.shared.behind.load(Ordering::Relaxed);
        assert!(
            within_10s(behind),
            "the thread never woke to a log past the mark"
        );
        // The writer, idle a while (the thread has gone back to its long pause, asking no
        // wake-up while the writer owes the rest), finishes it (trying again while a pass holds
        // the checkpoint lock), and its next commit starts the log over.
        std::thread::sleep(HANDOVER_WAIT * 4);
        assert!(within_10s(|| {
            checkpointer.catch_up(&db);
            !behind()
        }));
        commit_pages(&db, 1);
        assert!(frames_in_log(&db) < 10, "the log did not start over");
        // The new log growing long wakes the thread again.
        commit_pages(&db, restart_after as usize + 50);
        assert!(within_10s(behind), "the thread did not wake a second time");
    }

    #[test]
    fn a_writer_whose_thread_gave_up_checkpoints_itself() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut db) = writer(dir.path());
        let checkpointer = Checkpointer::start(&path, &mut db).unwrap();
        let automatic = |db: &Db| -> i64 {
            db.sqlite()
                .unwrap()
                .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(automatic(&db), 0);
        checkpointer.shared.gave_up.store(true, Ordering::Relaxed);
        checkpointer.catch_up(&db);
        assert_eq!(automatic(&db), WAKE_AFTER_FRAMES);
        // SQLite's own checkpoints keep the log short from then on.
        commit_pages(&db, 3 * WAKE_AFTER_FRAMES as usize);
        // (Without them: about 6,000 frames.)
        assert!(frames_in_log(&db) < 2 * WAKE_AFTER_FRAMES);
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
        let mut passes = Passes::new(RESTART_AFTER_FRAMES);
        // Here nothing is appended during the pass, so SQLite synced the file itself; but the
        // pragma's answer is the same as for a pass under load that SQLite left unsynced, so
        // the thread syncs after every pass that copied something.
        commit_pages(&db, 20);
        passes.run(&conn, &behind);
        assert_eq!(passes.syncs, 1);
        // Nothing new copied: nothing to sync.
        passes.run(&conn, &behind);
        assert_eq!(passes.syncs, 1);
        commit_pages(&db, 5);
        passes.run(&conn, &behind);
        assert_eq!(passes.syncs, 2);
        assert!(!passes.gave_up);
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
