//! The engine's own thread. The database calls are blocking and the engine holds one connection, so every
//! command, token lookup and tick runs here, one at a time, off the async runtime: the runtime's
//! threads only read sockets and wait on a reply. SQLite lets one writer in at a time anyway;
//! a pool of writers would only queue on its lock instead of on this channel.
//!
//! Commands queued together commit together ([`Worker::run_grouped`]): while more are waiting,
//! the thread runs them in one transaction (each in a savepoint of its own, see
//! [`Engine::open_group`]) and commits once, up to [`GROUP_JOBS`] commands or [`GROUP_TIME`]
//! of work, and only then answers them. A commit writes every page its transaction changed to
//! the log; the intakes of a group change mostly the same pages (each table's and index's
//! last), so under load the log is written once per group instead of once per command, and the
//! queue drains faster. A command that arrives alone is committed and answered at once.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::engine::Engine;
use crate::error::DispatchError;

/// Sends a job's result once the transaction it ran in is over (`Err`: it did not commit).
type Deliver = Box<dyn FnOnce(Result<(), DispatchError>) + Send>;

/// A command for a group: run it, and get what sends its answer (`None`: nobody waits).
type GroupedJob = Box<dyn FnOnce(&mut Engine) -> Option<Deliver> + Send>;

enum Job {
    /// Runs outside any group (a tick, a prune step, a token check): the group before it is
    /// committed first.
    Alone(Box<dyn FnOnce(&mut Engine) + Send>),
    /// A command that may share its transaction with the commands queued beside it.
    Grouped(GroupedJob),
}

/// Jobs waiting for the engine at most; a request past it waits for room (back-pressure).
const QUEUE: usize = 1024;

/// How long a request may wait in the queue before it is answered `busy` without being run.
pub const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// Commands one group holds at most.
pub const GROUP_JOBS: usize = 64;
/// The work after which a group commits though more commands wait: the first command's answer
/// waits for the whole group, so this bounds what grouping adds to a request's latency. At 32
/// clients the slowest answers (p99) had waited ~12 ms in the queue — the burst a group's
/// answers set off all queues again at once — and ~5 ms more for their own group: 3.5 ms took
/// 1.2–2 ms off that p99 (18.3 / 19.2 ms against 19.5 / 21.2, medians of 6 and 8 runs taking
/// turns) for 3 % of the throughput; at 2.5 ms the same p99 cost 4–9 %.
pub const GROUP_TIME: Duration = Duration::from_micros(3_500);

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
    /// The job ran in a group whose commit failed: nothing of it stands.
    Undone(DispatchError),
}

/// Whether a job ran or was skipped because it waited too long or its caller left.
pub enum Ran<T> {
    Done(T),
    /// Waited past [`QUEUE_WAIT`]: nothing was run.
    TooLate,
}

impl<T> Ran<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Ran<U> {
        match self {
            Ran::Done(t) => Ran::Done(f(t)),
            Ran::TooLate => Ran::TooLate,
        }
    }
}

impl Worker {
    /// Starts the thread with `open` run on it (the engine is made there and never leaves it).
    pub fn start(
        open: impl FnOnce() -> Result<Engine, String> + Send + 'static,
    ) -> Result<(Worker, std::thread::JoinHandle<()>), String> {
        Worker::start_grouping(open, GROUP_TIME)
    }

    /// The same with `group_time` for [`GROUP_TIME`] (a test's groups must not end on a busy
    /// machine's clock).
    fn start_grouping(
        open: impl FnOnce() -> Result<Engine, String> + Send + 'static,
        group_time: Duration,
    ) -> Result<(Worker, std::thread::JoinHandle<()>), String> {
        let (jobs, queue) = mpsc::channel::<Job>(QUEUE);
        let (ready_tx, ready) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || {
                let engine = match open() {
                    Ok(engine) => {
                        let _ = ready_tx.send(Ok(()));
                        engine
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                serve_jobs(engine, queue, group_time);
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
        let job = Job::Alone(Box::new(move |engine| {
            if let Some(ran) = admitted(&reply, queued) {
                let _ = reply.send(ran.map(|()| f(engine)));
            }
        }));
        self.jobs.send(job).await.map_err(|_| Gone::Stopped)?;
        answer.await.map_err(|_| Gone::Failed)
    }

    /// [`Worker::run`] for a command, which may share its transaction with others queued beside
    /// it: its result is sent once that transaction committed, or as [`Gone::Undone`] if it did
    /// not. Everything `f` writes must go through the engine's transactions or be fine to
    /// commit with the group (a statement outside them joins the group's transaction).
    pub async fn run_grouped<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Engine) -> T + Send + 'static,
    ) -> Result<Ran<T>, Gone> {
        let (reply, answer) = oneshot::channel();
        let queued = Instant::now();
        let job = Job::Grouped(Box::new(move |engine| {
            let ran = admitted(&reply, queued)?.map(|()| f(engine));
            Some(Box::new(move |committed: Result<(), DispatchError>| {
                let _ = reply.send(committed.map(|()| ran).map_err(Gone::Undone));
            }) as Deliver)
        }));
        self.jobs.send(job).await.map_err(|_| Gone::Stopped)?;
        match answer.await {
            Ok(Ok(ran)) => Ok(ran),
            Ok(Err(gone)) => Err(gone),
            Err(_) => Err(Gone::Failed),
        }
    }
}

/// Whether a job is still wanted: `None` when its caller left, `TooLate` when it waited past
/// [`QUEUE_WAIT`], else to be run.
fn admitted<R>(reply: &oneshot::Sender<R>, queued: Instant) -> Option<Ran<()>> {
    if reply.is_closed() {
        return None;
    }
    if queued.elapsed() > QUEUE_WAIT {
        return Some(Ran::TooLate);
    }
    Some(Ran::Done(()))
}

/// The engine thread's loop: jobs in order, commands queued together in one group.
fn serve_jobs(mut engine: Engine, mut queue: mpsc::Receiver<Job>, time: Duration) {
    let mut group = Group {
        time,
        began: None,
        waiting: Vec::new(),
    };
    let mut next = queue.blocking_recv();
    while let Some(job) = next.take() {
        match job {
            Job::Alone(f) => {
                group.close(&mut engine);
                caught(|| f(&mut engine));
            }
            Job::Grouped(f) => group.run(&mut engine, f),
        }
        next = if group.is_open() && !group.is_full() {
            match queue.try_recv() {
                Ok(job) => Some(job),
                Err(_) => {
                    // Nothing more waiting (or the server stopping): commit what ran.
                    group.close(&mut engine);
                    queue.blocking_recv()
                }
            }
        } else {
            group.close(&mut engine);
            queue.blocking_recv()
        };
    }
    group.close(&mut engine);
}

/// Runs `f`, catching a panic: a panic in one job (a bug) answers that request 500 and keeps
/// serving. Its transaction (or its savepoint in a group) was rolled back when the panic
/// dropped it.
fn caught<T>(f: impl FnOnce() -> T) -> Option<T> {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    if result.is_err() {
        tracing::error!("a request panicked on the engine thread; served on");
    }
    result.ok()
}

/// The commands run since the group's transaction began, waiting for its commit.
struct Group {
    /// [`GROUP_TIME`], but in tests.
    time: Duration,
    /// When the group's transaction began; `None` while none is open.
    began: Option<Instant>,
    waiting: Vec<Deliver>,
}

impl Group {
    fn is_open(&self) -> bool {
        self.began.is_some()
    }

    fn is_full(&self) -> bool {
        self.waiting.len() >= GROUP_JOBS || self.began.is_some_and(|t| t.elapsed() >= self.time)
    }

    /// Runs one command in the group, opening it first. Where commands cannot be grouped (a
    /// PostgreSQL server), or the group could not begin, the command runs on its own and is
    /// answered at once: its own transaction meets (and reports) what stopped the group.
    fn run(&mut self, engine: &mut Engine, f: GroupedJob) {
        if !self.is_open() && engine.can_group() {
            match engine.open_group() {
                Ok(()) => self.began = Some(Instant::now()),
                Err(e) => tracing::debug!(code = e.code.as_str(), "a group did not begin"),
            }
        }
        let Some(Some(deliver)) = caught(|| f(engine)) else {
            return;
        };
        if self.is_open() {
            self.waiting.push(deliver);
        } else {
            deliver(Ok(()));
        }
    }

    /// Commits the group, if one is open, and answers its commands.
    fn close(&mut self, engine: &mut Engine) {
        if self.began.take().is_none() {
            return;
        }
        let committed = engine.close_group();
        if let Err(e) = &committed {
            tracing::error!(
                code = e.code.as_str(),
                commands = self.waiting.len(),
                "a group of commands did not commit; each is answered with the error"
            );
        }
        for deliver in self.waiting.drain(..) {
            deliver(committed.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::command::parse_line;

    fn add(engine: &mut Engine, id: &str, score: u32) -> Result<(), DispatchError> {
        let line = format!(
            r#"{{"cmd":"add_mechanic","id":"{id}","name":"Ann","country":"Canada","postal_code":"M5V 1A1","profile_completion_score":{score},"currently_on_shift":true}}"#
        );
        let command = parse_line(&line).map_err(|r| r.error)?;
        engine.execute(command).map(drop)
    }

    /// Mechanics as another connection sees them: only what committed.
    fn committed(path: &std::path::Path) -> Vec<String> {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut stmt = conn
            .prepare("SELECT id FROM mechanics ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// A worker whose thread is held by a job of its own until `release` is sent, so the jobs
    /// sent meanwhile are all queued when it moves on.
    fn held_worker(path: &std::path::Path) -> (Worker, std::sync::mpsc::Sender<()>) {
        let path = path.to_path_buf();
        // A budget no test outlasts: the commands queued together are one group however slowly
        // a busy machine runs them.
        let (worker, _thread) = Worker::start_grouping(
            move || Engine::open(Some(&path), Clock::System).map_err(|e| e.to_string()),
            Duration::from_secs(60),
        )
        .unwrap();
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let held = worker.clone();
        tokio::spawn(async move {
            let _ = held.run(move |_| hold.recv()).await;
        });
        (worker, release)
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn commands_queued_together_commit_together_and_a_refused_one_alone_is_undone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("group.db");
        let seen = path.clone();
        runtime().block_on(async move {
            let (worker, release) = held_worker(&path);
            tokio::task::yield_now().await;
            let mut answers = Vec::new();
            for (id, score) in [("m1", 95), ("m2", 95), ("m3", 400), ("m4", 95)] {
                let (worker, seen) = (worker.clone(), seen.clone());
                answers.push(tokio::spawn(async move {
                    worker
                        .run_grouped(move |engine| {
                            let result = add(engine, id, score);
                            // Inside the group: nothing of it is visible to others yet.
                            (result, engine.in_group(), committed(&seen))
                        })
                        .await
                }));
            }
            // Every command is queued behind the held job before it lets go.
            while worker.jobs.capacity() > QUEUE - 4 {
                tokio::task::yield_now().await;
            }
            release.send(()).unwrap();
            let mut results = Vec::new();
            for answer in answers {
                match answer.await.unwrap() {
                    Ok(Ran::Done(done)) => results.push(done),
                    _ => panic!("every command is answered"),
                }
            }
            for (i, (result, grouped, visible)) in results.iter().enumerate() {
                assert!(grouped, "command {i} ran in the group");
                assert!(
                    visible.is_empty(),
                    "command {i} saw others' work before the commit: {visible:?}"
                );
                assert_eq!(result.is_ok(), i != 2, "command {i}: {result:?}");
            }
            assert_eq!(
                committed(&seen),
                ["m1", "m2", "m4"],
                "the refused one left nothing"
            );
        });
    }

    #[test]
    fn a_group_that_does_not_commit_answers_each_command_with_the_error_and_serves_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("undone.db");
        let seen = path.clone();
        runtime().block_on(async move {
            let (worker, release) = held_worker(&path);
            tokio::task::yield_now().await;
            let first = {
                let worker = worker.clone();
                tokio::spawn(async move { worker.run_grouped(|e| add(e, "m1", 95)).await })
            };
            // A command whose work the commit refuses: a row pointing at nothing, its check
            // deferred to the commit.
            let breaks_the_commit = {
                let worker = worker.clone();
                tokio::spawn(async move {
                    worker
                        .run_grouped(|engine| {
                            let conn = engine.connection().sqlite().unwrap();
                            conn.execute_batch(
                                "PRAGMA defer_foreign_keys = ON; \
                                 INSERT INTO api_session_owners (session_id, token_id) \
                                 VALUES ('no-such-session', 'no-such-token')",
                            )
                            .unwrap();
                        })
                        .await
                })
            };
            while worker.jobs.capacity() > QUEUE - 2 {
                tokio::task::yield_now().await;
            }
            release.send(()).unwrap();
            for answer in [
                first.await.unwrap().map(drop),
                breaks_the_commit.await.unwrap().map(drop),
            ] {
                match answer {
                    Err(Gone::Undone(e)) => {
                        assert_eq!(e.code, crate::error::ErrorCode::Internal, "{e:?}")
                    }
                    Err(other) => panic!("answered {other:?}"),
                    Ok(()) => panic!("answered as if it committed"),
                }
            }
            assert!(committed(&seen).is_empty(), "nothing of the group stands");
            let next = worker.run_grouped(|e| add(e, "m2", 95)).await;
            assert!(matches!(next, Ok(Ran::Done(Ok(())))));
            assert_eq!(committed(&seen), ["m2"], "the next command commits");
        });
    }
}
