//! WAL checkpoints off the commit path. By default SQLite checkpoints inside whichever commit
//! pushes the WAL past 1,000 pages, and that commit pays for writing back the pages and two
//! fsyncs — the slowest intake of every few hundred. A writer process instead turns automatic
//! checkpoints off and runs this background thread, which checkpoints (PASSIVE: it never blocks
//! a writer) on its own connection a few times a second.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

const EVERY: Duration = Duration::from_millis(250);

pub struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing `path` in the background; `None` if it cannot open its connection
    /// (the writer then keeps SQLite's automatic checkpoints).
    pub fn start(path: &Path) -> Option<Checkpointer> {
        let conn = Connection::open(path).ok()?;
        conn.busy_timeout(super::busy_timeout()).ok()?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("pitwall-checkpoint".into())
            .spawn(move || {
                // Until the engine drops its end of the channel. A failure is logged when it
                // starts and when it ends, not four times a second.
                let mut failing = false;
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
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
        Some(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
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
