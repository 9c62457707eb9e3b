//! The engine's own thread. The database calls are blocking and the engine holds one connection, so every
//! command, token lookup and tick runs here, one at a time, off the async runtime: the runtime's
//! threads only read sockets and wait on a reply. SQLite lets one writer in at a time anyway;
//! a pool of writers would only queue on its lock instead of on this channel.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::engine::Engine;

type Job = Box<dyn FnOnce(&mut Engine) + Send>;

/// Jobs waiting for the engine at most; a request past it waits for room (back-pressure).
const QUEUE: usize = 1024;

/// How long a request may wait in the queue before it is answered `busy` without being run.
pub const QUEUE_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Worker {
    jobs: mpsc::Sender<Job>,
}

/// Why a job brought no answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Gone {
    /// The engine thread has stopped taking jobs: the server is shutting down.
    Stopped,
    /// The job panicked (a bug): its transaction was rolled back.
    Failed,
}

/// Whether a job ran or was skipped because it waited too long or its caller left.
pub enum Ran<T> {
    Done(T),
    /// Waited past [`QUEUE_WAIT`]: nothing was run.
    TooLate,
}

impl Worker {
    /// Starts the thread with `open` run on it (the engine is made there and never leaves it).
    pub fn start(
        open: impl FnOnce() -> Result<Engine, String> + Send + 'static,
    ) -> Result<(Worker, std::thread::JoinHandle<()>), String> {
        let (jobs, mut queue) = mpsc::channel::<Job>(QUEUE);
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || {
                let mut engine = match open() {
                    Ok(engine) => {
                        let _ = ready_tx.send(Ok(()));
                        engine
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Some(job) = queue.blocking_recv() {
                    // A panic in one job (a bug) answers that request 500 and keeps serving:
                    // its transaction was rolled back when the panic dropped it.
                    let run = std::panic::AssertUnwindSafe(|| job(&mut engine));
                    if std::panic::catch_unwind(run).is_err() {
                        tracing::error!("a request panicked on the engine thread; served on");
                    }
                }
            })
            .map_err(|e| format!("cannot start the engine thread: {e}"))?;
        match ready.recv() {
            Ok(Ok(())) => Ok((Worker { jobs }, thread)),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the engine thread stopped while opening the database".into()),
        }
    }

    /// Runs `f` on the engine thread. Skipped, never half-run, when it waited past
    /// [`QUEUE_WAIT`] or the caller stopped waiting (a client that hung up) before it started.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine) -> T + Send + 'static,
    ) -> Result<Ran<T>, Gone> {
        let (reply, answer) = oneshot::channel();
        let queued = Instant::now();
        let job: Job = Box::new(move |engine| {
            if reply.is_closed() {
                return;
            }
            if queued.elapsed() > QUEUE_WAIT {
                let _ = reply.send(Ran::TooLate);
                return;
            }
            let _ = reply.send(Ran::Done(f(engine)));
        });
        self.jobs.send(job).await.map_err(|_| Gone::Stopped)?;
        answer.await.map_err(|_| Gone::Failed)
    }
}
