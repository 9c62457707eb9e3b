//! Pruning history: `pitwall prune` and the `[retention]` setting. Sessions finished before a
//! cutoff go with everything that belongs to them, then old messages and audit rows that belong
//! to no session; live, waiting, scheduled and recent sessions are untouched.
//!
//! The work is a [`PruneJob`] taken one step at a time, each step one short write transaction
//! (a batch of sessions, or a window of the log, sized to hold the write lock about
//! [`TARGET_LOCK`]), with a pause between steps: short on a quiet database, and while anyone
//! else writes long enough that the prune holds the database one part in four hundred, so only
//! that share of requests ever waits for a step and their tail latency (p99: one request in a
//! hundred) stays where it was.
//! With an archive, a batch's sessions are first written as JSON lines and made durable, then
//! deleted in the transaction that also records the archive's new length: a crash leaves
//! either both or neither, and the next run cuts the file back to the recorded length before it
//! appends (the lines of a batch that never committed). The engine writes no file itself: the
//! front end hands it an [`ArchiveSink`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{Ctx, Engine, invalid_state};
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::model::{Assignment, Intake, Notification, Session, WaitlistEntry};
use crate::store::prune::{Cursor, Removed};
use crate::store::{self, events::Subject};

/// How long one step should hold the write lock: batches grow and shrink towards it (a batch
/// of sessions, a window of the log). Long enough that a step's fixed costs are shared by
/// many rows, far under the 100 ms a step may take at most.
pub const TARGET_LOCK: Duration = Duration::from_millis(10);
/// The same with an archive: each step then also waits for the disk to make its lines durable
/// (a sync, milliseconds), which larger batches share.
pub const TARGET_LOCK_ARCHIVING: Duration = Duration::from_millis(20);
/// Between two steps while nobody else writes: enough for a writer that starts waiting to get
/// in (its busy handler polls every 2 ms at most).
pub const PAUSE: Duration = Duration::from_millis(2);
/// While others write (another connection committed, or this engine ran a command, since the
/// last step), the prune takes at most one part in this of the database's time: a request meets
/// a step this rarely, so the requests' tail latency stays where it was. It must stay well
/// under the tail it protects: at one part in a hundred, one request in a hundred met a step,
/// exactly the p99, which then read twice its value before the prune (2026-12-06, once intakes
/// had got faster). Pauses are at most [`LONGEST_PAUSE`].
const SHARE_WHILE_BUSY: u32 = 400;
const LONGEST_PAUSE: Duration = Duration::from_secs(2);
/// Sessions in the first batch, and the most in any.
const FIRST_BATCH: usize = 2;
const MOST_PER_BATCH: usize = 2_000;
/// Ids of the log walked in the first sweep step, and the most in any.
const FIRST_WINDOW: i64 = 64;
const MOST_PER_WINDOW: i64 = 50_000;
/// The most days `--older-than` takes (a century); stated in the model so that the
/// configuration, below the engine, checks `[retention]` against the same figure.
pub use crate::model::MAX_RETENTION_DAYS as MAX_DAYS;

/// Where the log walks start next time (settings rows; an archive's committed length is kept
/// under [`ArchiveSink::key`]).
const EVENTS_SWEPT: &str = "prune_events_from";
const NOTIFICATIONS_SWEPT: &str = "prune_notifications_from";
/// When the `[retention]` setting last started a prune (milliseconds).
const RETENTION_STARTED: &str = "retention_last_started";

/// An archive a prune appends to, provided by the front end (a file for `--archive`).
pub trait ArchiveSink {
    /// The settings key its committed length is kept under.
    fn key(&self) -> &str;
    /// What to call it in messages.
    fn name(&self) -> String;
    /// Its length now; `None` when it does not exist (yet).
    fn size(&mut self) -> Result<Option<u64>, String>;
    /// Cuts it back to `committed` bytes (lines written by a batch whose deletion never
    /// committed), appends `lines` and makes them durable before returning; its new length.
    fn append(&mut self, committed: u64, lines: &[u8]) -> Result<u64, String>;
}

/// The archive a step writes to, if any (owned sinks: files).
pub type Archive<'a> = Option<&'a mut (dyn ArchiveSink + 'static)>;

/// One session as archived: one JSON line.
#[derive(Serialize)]
struct Archived<'a> {
    session: &'a Session,
    intake: Option<&'a Intake>,
    offers: Vec<&'a Assignment>,
    events: Vec<&'a store::events::Stored>,
    notifications: Vec<&'a Notification>,
    waitlist: Vec<&'a WaitlistEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Sessions(usize),
    Events,
    Notifications,
    Finish,
    Done,
}

/// The statuses a session is finished in, walked in this order.
const FINISHED: [&str; 2] = ["completed", "cancelled"];

/// What a prune did, so far or in all.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    /// The cutoff: what finished before it is gone.
    pub before: String,
    pub removed: Removed,
    /// Write transactions it took, and the longest time one held the write lock.
    pub steps: u64,
    pub longest_lock_ms: f64,
    /// The archive, and the bytes this prune appended to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    pub archived_bytes: u64,
}

/// A prune under way.
#[derive(Debug, Clone)]
pub struct PruneJob {
    cutoff: i64,
    phase: Phase,
    cursor: Cursor,
    batch: usize,
    window: i64,
    target: Duration,
    /// The log's ends when the job started, and the walk's position and first row to look at
    /// again next time (events, then notifications).
    ends: (i64, i64),
    walk: i64,
    revisit: Option<i64>,
    /// How long the last step held the write lock.
    last_lock: Duration,
    /// The database's activity after the last step (its data version, this engine's writes),
    /// and whether anyone wrote between the last two steps.
    mark: Option<(i64, u64)>,
    others_writing: bool,
    pub report: PruneReport,
}

impl PruneJob {
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// How long to wait before the next step: [`PAUSE`] while nobody else writes; while others
    /// do, long enough that the prune holds the database one part in [`SHARE_WHILE_BUSY`].
    pub fn pause(&self) -> Duration {
        if self.others_writing {
            (self.last_lock * (SHARE_WHILE_BUSY - 1)).clamp(PAUSE, LONGEST_PAUSE)
        } else {
            PAUSE
        }
    }
}

impl Engine {
    /// Starts a prune of what finished more than `days` ago. With an archive, its committed
    /// length is looked up (a first run on a file records the length it has now). Changes
    /// nothing but that record; a bad `days` changes nothing at all.
    pub fn start_prune(&mut self, days: i64, archive: Archive<'_>) -> DispatchResult<PruneJob> {
        if !(0..=MAX_DAYS).contains(&days) {
            return Err(DispatchError::invalid(
                "older_than",
                format!("--older-than is a number of days from 0 to {MAX_DAYS}."),
            ));
        }
        let cutoff = self.now() - chrono::Duration::days(days);
        let mut report = PruneReport {
            before: crate::clock::rfc3339(cutoff),
            ..PruneReport::default()
        };
        if let Some(sink) = archive {
            report.archive = Some(sink.name());
            let len = sink.size().map_err(archive_failed)?;
            self.write(|ctx| {
                let recorded = recorded_length(ctx, sink)?;
                match (recorded, len) {
                    (None, len) => {
                        store::settings::set(ctx.conn(), sink.key(), &len.unwrap_or(0).to_string())?
                    }
                    // Moved away (archives are rotated): a new file starts empty.
                    (Some(_), None) => store::settings::set(ctx.conn(), sink.key(), "0")?,
                    (Some(recorded), Some(len)) if len < recorded => {
                        return Err(invalid_state(format!(
                            "The archive {} holds {len} bytes, fewer than the {recorded} this \
                             database recorded writing to it: it was cut short or replaced. \
                             Nothing was pruned; name another archive file.",
                            sink.name()
                        )));
                    }
                    (Some(_), Some(_)) => {}
                }
                Ok(())
            })?;
        }
        let ends = self.read(|ctx| Ok(store::prune::log_ends(ctx.conn())?))?;
        Ok(PruneJob {
            cutoff: crate::clock::to_millis(cutoff),
            phase: Phase::Sessions(0),
            cursor: Cursor::default(),
            batch: FIRST_BATCH,
            window: FIRST_WINDOW,
            target: if report.archive.is_some() {
                TARGET_LOCK_ARCHIVING
            } else {
                TARGET_LOCK
            },
            ends,
            walk: 0,
            revisit: None,
            last_lock: Duration::ZERO,
            mark: None,
            others_writing: false,
            report,
        })
    }

    /// One step of a prune: one write transaction. Returns whether there is more to do.
    pub fn prune_step(&mut self, job: &mut PruneJob, archive: Archive<'_>) -> DispatchResult<bool> {
        let activity = self.activity()?;
        // The count may include the notice of this prune's own last commit, which may arrive
        // after the mark was read.
        let own_notice = self.connection().own_commit_notices();
        job.others_writing = job.mark.is_some_and(|(version, writes)| {
            activity.0 - version > own_notice || activity.1 != writes
        });
        let started = Instant::now();
        let phase = job.phase;
        // A step that fails is rolled back whole: so is what the job noted of it.
        let before = job.clone();
        let result = match phase {
            Phase::Sessions(status) => self.write_in_background(|ctx| {
                let held = Instant::now();
                let found = sessions_step(ctx, job, FINISHED[status], archive)?;
                Ok((found, held))
            }),
            Phase::Events | Phase::Notifications => self.write_in_background(|ctx| {
                let held = Instant::now();
                log_step(ctx, job)?;
                Ok((true, held))
            }),
            Phase::Finish => self.write_in_background(|ctx| {
                let held = Instant::now();
                finish(ctx, job)?;
                Ok((true, held))
            }),
            Phase::Done => return Ok(false),
        };
        let (more, held) = match result {
            Ok(done) => done,
            Err(e) => {
                *job = before;
                return Err(e);
            }
        };
        let lock = held.elapsed().min(started.elapsed());
        job.mark = Some(self.activity()?);
        job.report.steps += 1;
        job.report.longest_lock_ms = job.report.longest_lock_ms.max(lock.as_secs_f64() * 1e3);
        job.last_lock = lock;
        // Towards the target: double while well under it, halve when over.
        let (grow, shrink) = (lock < job.target / 2, lock > job.target);
        match phase {
            Phase::Events | Phase::Notifications if grow => {
                job.window = (job.window * 2).min(MOST_PER_WINDOW);
            }
            Phase::Events | Phase::Notifications if shrink => {
                job.window = (job.window / 2).max(1);
            }
            Phase::Sessions(_) if grow => job.batch = (job.batch * 2).min(MOST_PER_BATCH),
            Phase::Sessions(_) if shrink => job.batch = (job.batch / 2).max(1),
            _ => {}
        }
        if let Phase::Sessions(status) = phase
            && !more
        {
            job.cursor = Cursor::default();
            job.phase = if status + 1 < FINISHED.len() {
                Phase::Sessions(status + 1)
            } else {
                Phase::Events
            };
        }
        Ok(!job.done())
    }

    /// A whole prune, step after step (`pitwall prune`); `progress` hears after each step.
    pub fn prune(
        &mut self,
        days: i64,
        mut archive: Archive<'_>,
        progress: &mut dyn FnMut(&PruneReport),
    ) -> DispatchResult<PruneReport> {
        let mut job = self.start_prune(days, archive.as_deref_mut())?;
        while self.prune_step(&mut job, archive.as_deref_mut())? {
            progress(&job.report);
            std::thread::sleep(job.pause());
        }
        Ok(job.report)
    }

    /// What changes when anyone writes: the database's data version (another connection's
    /// commits) and this engine's own write count.
    fn activity(&self) -> DispatchResult<(i64, u64)> {
        Ok((store::data_version(self.connection())?, self.writes))
    }

    /// Gives the space pruned rows held back to the file system: SQLite rewrites the file
    /// (`VACUUM`, which holds off writers while it runs) and empties its log; PostgreSQL's
    /// plain `VACUUM` marks the space reusable inside its files. Returns what was done, in words.
    pub fn vacuum(&mut self) -> DispatchResult<String> {
        Ok(store::prune::vacuum(self.connection())?)
    }
}

fn archive_failed(why: String) -> DispatchError {
    DispatchError::new(
        ErrorCode::Internal,
        format!("Cannot write the archive: {why}"),
    )
}

fn recorded_length(ctx: &Ctx<'_>, sink: &dyn ArchiveSink) -> DispatchResult<Option<u64>> {
    Ok(store::settings::get(ctx.conn(), sink.key())?.and_then(|v| v.parse().ok()))
}

/// One batch of finished sessions of `status`: archived (when asked) and removed. False when
/// the walk reached its end.
fn sessions_step(
    ctx: &mut Ctx<'_>,
    job: &mut PruneJob,
    status: &str,
    archive: Archive<'_>,
) -> DispatchResult<bool> {
    let conn = ctx.conn();
    let rows = store::prune::finished_batch(conn, status, job.cutoff, &job.cursor, job.batch)?;
    let Some((last, at, _)) = rows.last() else {
        return Ok(false);
    };
    job.cursor = Cursor {
        created_at: *at,
        id: last.clone(),
    };
    let full = rows.len() == job.batch;
    let ids: Vec<&str> = rows
        .iter()
        .filter(|(_, _, may_go)| *may_go)
        .map(|(id, _, _)| id.as_str())
        .collect();
    if ids.is_empty() {
        return Ok(full);
    }
    if let Some(sink) = archive {
        let lines = archive_lines(conn, &ids)?;
        let committed = recorded_length(ctx, sink)?.unwrap_or(0);
        let len = sink.append(committed, &lines).map_err(archive_failed)?;
        store::settings::set(conn, sink.key(), &len.to_string())?;
        job.report.archived_bytes += lines.len() as u64;
    }
    job.report.removed += store::prune::delete_sessions(conn, &ids)?;
    Ok(full)
}

/// The sessions' archive lines, in `ids` order: each session whole, one JSON object a line.
fn archive_lines(conn: &crate::store::Db, ids: &[&str]) -> crate::store::Result<Vec<u8>> {
    let sessions = store::sessions::get_many(conn, ids)?;
    let intake_ids: Vec<&str> = sessions.iter().map(|s| s.intake_id.as_str()).collect();
    let intakes: HashMap<String, Intake> = store::sessions::intakes_for(conn, &intake_ids)?
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect();
    let offers = store::assignments::for_sessions(conn, ids)?;
    let events = store::events::for_sessions(conn, ids)?;
    let notifications = store::outbox::for_sessions(conn, ids)?;
    let waitlist = store::waitlist::for_sessions(conn, ids)?;
    let by_id: HashMap<&str, &Session> = sessions.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut out = Vec::new();
    for id in ids {
        let Some(session) = by_id.get(id) else {
            continue;
        };
        let line = Archived {
            session,
            intake: intakes.get(&session.intake_id),
            offers: offers.iter().filter(|a| a.session_id == *id).collect(),
            events: events
                .iter()
                .filter(|e| e.session.as_deref() == Some(id))
                .collect(),
            notifications: notifications
                .iter()
                .filter(|n| n.session.as_deref() == Some(id))
                .collect(),
            waitlist: waitlist
                .iter()
                .filter(|w| w.session_id.as_deref() == Some(id))
                .collect(),
        };
        serde_json::to_writer(&mut out, &line).map_err(|e| store::Error::conversion(0, e))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// One window of the log: old audit rows, then old messages, that belong to no session.
fn log_step(ctx: &mut Ctx<'_>, job: &mut PruneJob) -> DispatchResult<()> {
    let conn = ctx.conn();
    let (key, end) = match job.phase {
        Phase::Events => (EVENTS_SWEPT, job.ends.0),
        _ => (NOTIFICATIONS_SWEPT, job.ends.1),
    };
    if job.walk == 0 {
        // Rows before where the last sweep stopped were all looked at: the old ones went then,
        // and those of a session go with their session.
        job.walk = store::settings::get(conn, key)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
    }
    let to = (job.walk + job.window).min(end);
    let (removed, kept) = if job.walk >= end {
        (0, None)
    } else if job.phase == Phase::Events {
        store::prune::sweep_events(conn, job.walk, to, job.cutoff)?
    } else {
        store::prune::sweep_notifications(conn, job.walk, to, job.cutoff)?
    };
    if job.phase == Phase::Events {
        job.report.removed.events += removed;
    } else {
        job.report.removed.notifications += removed;
    }
    job.revisit = job.revisit.or(kept.map(|id| id - 1));
    job.walk = to;
    if job.walk >= end {
        // Next time, from the first row kept for being young (or the end).
        store::settings::set(conn, key, &job.revisit.unwrap_or(end).to_string())?;
        job.walk = 0;
        job.revisit = None;
        job.phase = if job.phase == Phase::Events {
            Phase::Notifications
        } else {
            Phase::Finish
        };
    }
    Ok(())
}

/// Records where the kept history starts (the report counts from there) and the prune itself.
fn finish(ctx: &mut Ctx<'_>, job: &mut PruneJob) -> DispatchResult<()> {
    let conn = ctx.conn();
    let since = store::settings::history_since(conn)?.unwrap_or(i64::MIN);
    store::settings::set(
        conn,
        store::settings::HISTORY_SINCE,
        &since.max(job.cutoff).to_string(),
    )?;
    let detail = serde_json::json!({
        "before": job.report.before,
        "removed": job.report.removed,
        "archived_bytes": job.report.archived_bytes,
    });
    ctx.event_with("history_pruned", Subject::default(), detail)?;
    job.phase = Phase::Done;
    Ok(())
}

/// The `[retention]` setting at work: a prune once a day, a step per tick.
pub struct Retention {
    pub days: i64,
    pub archive: Option<Box<dyn ArchiveSink>>,
    job: Option<PruneJob>,
    /// Not before this time is the database asked again whether a prune is due: the tick runs
    /// every second, the answer changes once a day.
    next_check: Option<chrono::DateTime<chrono::Utc>>,
}

impl Retention {
    pub fn new(days: i64, archive: Option<Box<dyn ArchiveSink>>) -> Retention {
        Retention {
            days,
            archive,
            job: None,
            next_check: None,
        }
    }
}

/// What one call of [`Engine::retention_step`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetentionStep {
    /// No retention set, or today's prune is done.
    Idle,
    /// A step of today's prune ran; more to come after this pause (other writers get in).
    Working(Duration),
    /// Today's prune ended with this step.
    Finished,
}

/// A day, the least time between two prunes the setting starts.
const DAY: chrono::Duration = chrono::Duration::days(1);

impl Engine {
    /// Sets (or clears) the `[retention]` setting this engine applies in
    /// [`Engine::retention_step`].
    pub fn set_retention(&mut self, retention: Option<Retention>) {
        self.retention = retention;
    }

    /// Called by `serve` and the console every second, and again after each `Working` pause
    /// while a prune is under way: starts a prune when none started in the last day (the time
    /// is kept in the database, so any number of processes on it start one a day between
    /// them), then takes one step of it per call. A failure ends today's
    /// prune (the next starts a day later) and is returned once.
    pub fn retention_step(&mut self) -> DispatchResult<RetentionStep> {
        let Some(mut retention) = self.retention.take() else {
            return Ok(RetentionStep::Idle);
        };
        let result = self.retention_step_with(&mut retention);
        // Another program holding the lock: the same step runs at the next tick. Anything
        // else ends today's prune.
        if result.as_ref().is_err_and(|e| e.code != ErrorCode::Busy) {
            retention.job = None;
        }
        self.retention = Some(retention);
        result
    }

    fn retention_step_with(&mut self, r: &mut Retention) -> DispatchResult<RetentionStep> {
        if r.job.is_none() {
            let now = self.now();
            if r.next_check.is_some_and(|next| now < next) {
                return Ok(RetentionStep::Idle);
            }
            // Asked and started in one write transaction: of several processes on the
            // database, one starts today's prune.
            let last = self.write(|ctx| {
                let last = store::settings::get(ctx.conn(), RETENTION_STARTED)?
                    .and_then(|v| v.parse::<i64>().ok())
                    .map(crate::clock::from_millis);
                if last.is_none_or(|last| now - last >= DAY) {
                    store::settings::set(
                        ctx.conn(),
                        RETENTION_STARTED,
                        &crate::clock::to_millis(now).to_string(),
                    )?;
                    return Ok(None);
                }
                Ok(last)
            })?;
            if let Some(last) = last {
                r.next_check = Some(last + DAY);
                return Ok(RetentionStep::Idle);
            }
            r.next_check = Some(now + DAY);
            tracing::info!(days = r.days, "retention: pruning history");
            r.job = Some(self.start_prune(r.days, archive_of(r))?);
        }
        let mut job = r.job.take().expect("a job was started above");
        let more = self.prune_step(&mut job, archive_of(r))?;
        if more {
            let pause = job.pause();
            r.job = Some(job);
            Ok(RetentionStep::Working(pause))
        } else {
            tracing::info!(
                sessions = job.report.removed.sessions,
                longest_lock_ms = job.report.longest_lock_ms,
                "retention: pruned"
            );
            Ok(RetentionStep::Finished)
        }
    }
}

fn archive_of(r: &mut Retention) -> Archive<'_> {
    match r.archive.as_mut() {
        Some(sink) => Some(sink.as_mut()),
        None => None,
    }
}
