//! The rules: session factory, offer lifecycle, waitlist and tick. Every command runs in one
//! transaction and returns a typed outcome or a coded error; the engine never prints and never
//! reads the wall clock itself — it is handed a [`Clock`].

mod dispatch;
mod group;
mod history;
mod intake;
mod mechanics;
mod notify;
mod offers;
pub mod outcome;
pub mod prune;
mod scheduling;
mod tick;
pub mod validate;
pub mod views;
mod waitlist;

use std::path::Path;
use std::sync::Arc;

use crate::store::Db;
use crate::store::db::{Tx, TxKind};
use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::command::Command;
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::matching::{Candidate, Criteria, CriteriaInput};
use crate::model::Session;
use crate::store;

pub use history::{HISTORY_LIMIT, HistoryRow};
pub use intake::field_problems;
pub use outcome::*;
pub use scheduling::{MAX_LEAD, MIN_LEAD, RELEASE_AHEAD, releases_at};

/// Runs of one command that lost a race with another transaction before it answers `busy`.
const RETRIES: u32 = 8;

/// A few milliseconds of jitter, so two commands that collided do not collide again in step.
fn retry_jitter(attempt: u32) -> u64 {
    crate::random::fresh_range(0..1u64 << attempt.min(6))
}

/// How long a targeted offer stays open, and how long a broadcast is held behind them.
pub const OFFER_WINDOW: Duration = Duration::seconds(120);
pub use crate::model::WAITLIST_TTL;
/// Targeted offers per intake (a preferred mechanic may add one).
pub const TARGETED_OFFERS: usize = 3;
/// Matches kept in a session's metadata and shown for an intake.
pub const TOP_MATCHES: usize = 10;

pub struct Engine {
    db: Db,
    clock: Clock,
    /// Ids for records a command does not name (SPEC §8 lets every `id` be left out).
    ids: crate::ids::Ids,
    roster: Option<Roster>,
    /// Delivers the outbox on `deliver` (SPEC §12), outside any engine transaction.
    relay: Option<crate::delivery::Relay>,
    /// A front end's work inside the next command's write transaction ([`WriteHook`]).
    hook: Option<Box<dyn WriteHook>>,
    /// The hook ran in a transaction that committed: later transactions of the same command
    /// leave it alone.
    hook_done: bool,
    /// Checkpoints the WAL in the background for file databases; dropped (and joined) with
    /// the engine.
    _checkpointer: Option<store::checkpoint::Checkpointer>,
    /// The `[retention]` setting, applied by [`Engine::retention_step`].
    retention: Option<prune::Retention>,
    /// Write transactions this engine committed: with the database's data version, whether
    /// anyone wrote between two steps of a prune (which then leaves them more room).
    writes: u64,
    /// Inside a group's transaction ([`Engine::open_group`]): each command's transaction is a
    /// savepoint of it.
    grouped: bool,
}

/// The checkpointer's connection closes before the writer's, so the writer is the last
/// connection of this process to the file: SQLite's final checkpoint on close then copies every
/// committed transaction from the writer's own handle on the WAL into the database. Closed the
/// other way round, a `-wal` file deleted while pitwall ran (an operator mistake SQLite warns
/// against) took every acknowledged command since the last checkpoint with it: the checkpointer
/// had opened a new, empty WAL at that path and checkpointed from that.
impl Drop for Engine {
    fn drop(&mut self) {
        drop(self._checkpointer.take());
    }
}

/// The roster as last loaded, with the generation it was loaded at.
struct Roster {
    generation: i64,
    prepared: Arc<PreparedRoster>,
}

/// The roster split once per load: those who can take sessions, prepared for scoring, and the
/// others with the reason (their account or profile). Ranking walks only the first: half of a
/// roster may be unable to take sessions, and every intake would otherwise step over them.
pub(crate) struct PreparedRoster {
    /// Mechanics who can accept sessions, sorted by id (see `busy_indices`).
    pub candidates: Vec<Candidate>,
    /// Mechanics who cannot, by id, with why (SPEC §3 "why not"): their ids and names only, so
    /// a roster where half cannot take sessions costs no more memory than the half that can.
    pub unavailable: Vec<ExcludedView>,
}

impl Engine {
    /// Opens a database file (`None`: in memory) with the given clock.
    pub fn open(path: Option<&Path>, clock: Clock) -> Result<Engine, store::OpenError> {
        let mut db = store::open(path)?;
        let path = path.filter(|p| store::postgres_url(p).is_none());
        let checkpointer = path.and_then(|p| store::checkpoint::Checkpointer::start(p, &mut db));
        let mut engine = Engine::with_connection(db, clock);
        engine._checkpointer = checkpointer;
        Ok(engine)
    }

    pub fn with_connection(db: Db, clock: Clock) -> Engine {
        Engine {
            db,
            clock,
            ids: crate::ids::Ids::Random,
            roster: None,
            relay: None,
            hook: None,
            hook_done: false,
            _checkpointer: None,
            retention: None,
            writes: 0,
            grouped: false,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Where ids come from for records a command leaves unnamed (random UUIDs by default).
    pub fn set_ids(&mut self, ids: crate::ids::Ids) {
        self.ids = ids;
    }

    /// The relay `deliver` uses (the transports of the config file); without one, `deliver`
    /// sends nothing and says which channels wait for a transport.
    pub fn set_relay(&mut self, relay: crate::delivery::Relay) {
        self.relay = Some(relay);
    }

    /// One relay pass on the engine's clock (headless `deliver`). Not a transaction: the relay
    /// claims, sends and records each row in statements of its own, and holds no lock while it
    /// talks to the network.
    pub fn deliver(&mut self) -> DispatchResult<crate::delivery::PassReport> {
        let relay = self
            .relay
            .get_or_insert_with(crate::delivery::Relay::without_transports);
        let clock = self.clock.clone();
        Ok(relay.pass(&self.db, &|| clock.now())?)
    }

    /// Read access for front ends that show state (the console's panes, `report`).
    pub fn connection(&self) -> &Db {
        &self.db
    }

    /// Runs one command in one transaction. Logs what ran and, for a refusal, its code and
    /// field — never the message, which can quote what the customer typed.
    pub fn execute(&mut self, command: Command) -> DispatchResult<Outcome> {
        let name = command.name();
        let mut result = self.run(command.clone());
        // A transaction that lost a race (PostgreSQL's serialisation failure) left nothing
        // behind: run the command again, a few times, then answer `busy`.
        let mut attempt = 1;
        while let Err(e) = &result
            && e.is_retryable()
            && attempt < RETRIES
        {
            std::thread::sleep(std::time::Duration::from_millis(
                (1 << attempt) + retry_jitter(attempt),
            ));
            attempt += 1;
            result = self.run(command.clone());
        }
        // A lost connection needs nothing here: the store replaces it before its next
        // statement outside a transaction, whoever makes it.
        match &result {
            Ok(_) => tracing::debug!(cmd = name, "done"),
            Err(e) => tracing::info!(
                cmd = name,
                code = e.code.as_str(),
                field = e.field.as_deref().unwrap_or("-"),
                "refused"
            ),
        }
        result
    }

    /// [`Engine::execute`] with `hook` run inside the command's first write transaction: its
    /// `before` as the transaction's first statement, its `after` just before the commit, with
    /// the command's answer. So what the hook writes (the HTTP API's idempotency record) commits
    /// or rolls back with the command itself. The hook comes back with whatever it noted.
    pub fn execute_with<H: WriteHook>(
        &mut self,
        command: Command,
        hook: H,
    ) -> (DispatchResult<Outcome>, H) {
        self.hook = Some(Box::new(hook));
        self.hook_done = false;
        let result = self.execute(command);
        let hook = self
            .hook
            .take()
            .and_then(|h| h.into_any().downcast::<H>().ok())
            .map(|h| *h)
            .expect("the hook set above is the one taken back");
        (result, hook)
    }

    fn run(&mut self, command: Command) -> DispatchResult<Outcome> {
        use Command as C;
        match command {
            C::AddMechanic(req) => self
                .add_mechanic(req)
                .map(|o| Outcome::Mechanic(Box::new(o))),
            C::LoadSeeds(req) => match req.contents {
                Some(text) => self.load_seeds(&text).map(Outcome::Count),
                // The engine reads no files: a front end that accepts `load_seeds` reads it.
                None => Err(DispatchError::invalid(
                    "path",
                    "load_seeds names a file, which only headless mode reads; nothing was loaded.",
                )),
            },
            C::ClockIn(req) => self
                .clock_in(&req.mechanic)
                .map(|o| Outcome::Mechanic(Box::new(o))),
            C::ClockOut(req) => self
                .clock_out(&req.mechanic)
                .map(|o| Outcome::Mechanic(Box::new(o))),
            C::Mechanics(_) => self.mechanics().map(Outcome::Mechanics),
            C::Intake(req) => self.intake(req).map(|o| Outcome::Intake(Box::new(o))),
            C::Browse(req) => self.browse(&req, TOP_MATCHES).map(Outcome::Browse),
            C::SignWaiver(req) => self.sign_waiver(&req.session).map(Outcome::SessionStatus),
            C::ConfirmPayment(req) => self
                .confirm_payment(&req.session)
                .map(Outcome::SessionStatus),
            C::SetPreferred(req) => self
                .set_preferred(&req.session, &req.mechanic)
                .map(Outcome::SessionStatus),
            C::Accept(req) => self
                .accept(&req.session, &req.mechanic)
                .map(Outcome::Assignment),
            C::Decline(req) => self
                .decline(&req.session, &req.mechanic)
                .map(Outcome::Assignment),
            C::Complete(req) => self.complete(&req.session).map(Outcome::SessionStatus),
            C::Cancel(req) => self.cancel(&req.session).map(Outcome::SessionStatus),
            C::Queue(req) => self.queue(&req.mechanic).map(Outcome::Queue),
            C::Session(req) => self.session(&req.id).map(|o| Outcome::Session(Box::new(o))),
            C::JoinWaitlist(req) => self.join_waitlist(req).map(Outcome::Entry),
            C::CancelWaitlist(req) => self.cancel_waitlist(&req.id).map(Outcome::Entry),
            C::Waitlist(_) => self.waitlist().map(Outcome::Entries),
            C::Notifications(_) => self.notifications().map(Outcome::Notifications),
            C::Deliver(_) => self.deliver().map(Outcome::Delivered),
            C::SetFlag(req) => self.set_flag(req).map(Outcome::Flag),
            C::SetSetting(req) => self.set_setting(req).map(Outcome::Settings),
            C::Eligibility(req) => self.eligibility(&req.session).map(Outcome::Eligibility),
            C::Advance(req) => self.advance(req.seconds).map(Outcome::Tick),
            C::Tick(_) => self.tick().map(Outcome::Tick),
            C::Now(_) => Ok(Outcome::Now(NowOutcome {
                now: crate::clock::rfc3339(self.now()),
            })),
            C::Report(_) => self.report().map(|m| Outcome::Report(Box::new(m))),
            C::SetShifts(req) => self.set_shifts(req).map(|o| Outcome::Mechanic(Box::new(o))),
            C::Slots(req) => self.slots(req).map(Outcome::Slots),
        }
    }

    /// Runs `f` in a write transaction (`BEGIN IMMEDIATE`): committed when it returns `Ok`,
    /// rolled back — leaving nothing behind — when it returns `Err`.
    fn write<T: serde::Serialize + 'static>(
        &mut self,
        f: impl FnOnce(&mut Ctx<'_>) -> DispatchResult<T>,
    ) -> DispatchResult<T> {
        self.transaction(
            TxKind::Write,
            f,
            Some(&|value: &T| serde_json::to_value(value)),
        )
    }

    /// A write no caller awaits an answer of (a prune's steps): no idempotency key is claimed
    /// or kept for it.
    fn write_in_background<T: 'static>(
        &mut self,
        f: impl FnOnce(&mut Ctx<'_>) -> DispatchResult<T>,
    ) -> DispatchResult<T> {
        self.transaction(TxKind::Write, f, None)
    }

    /// Runs `f` on one consistent snapshot.
    fn read<T: 'static>(
        &mut self,
        f: impl FnOnce(&mut Ctx<'_>) -> DispatchResult<T>,
    ) -> DispatchResult<T> {
        self.transaction(TxKind::Read, f, None)
    }

    /// `answer` renders a write's result as JSON for the hook (the outcome's fields, as
    /// headless prints them).
    fn transaction<T: 'static>(
        &mut self,
        kind: TxKind,
        f: impl FnOnce(&mut Ctx<'_>) -> DispatchResult<T>,
        answer: Option<&AnswerOf<T>>,
    ) -> DispatchResult<T> {
        if kind == TxKind::Write
            && !self.grouped
            && let Some(checkpointer) = &self._checkpointer
        {
            checkpointer.catch_up(&self.db);
        }
        let tx = if self.grouped {
            self.db.begin_in_group()?
        } else {
            begin(&mut self.db, kind)?
        };
        let mut hook = match (kind, answer, self.hook_done) {
            (TxKind::Write, Some(answer), false) => self.hook.as_deref_mut().map(|h| (h, answer)),
            _ => None,
        };
        if let Some((hook, _)) = hook.as_mut() {
            // Dropping the transaction on an error rolls it back: the command never runs.
            hook.before(&tx)?;
        }
        // Read the clock once the lock is held: a command that waited for another process is
        // judged at the moment it runs, not the moment it asked.
        let now = self.clock.now();
        let cached_before = self.roster.as_ref().map(|r| Arc::as_ptr(&r.prepared));
        let mut ctx = Ctx {
            tx: &tx,
            now,
            ids: &self.ids,
            roster: &mut self.roster,
            events: Vec::new(),
        };
        let value = f(&mut ctx);
        let events = std::mem::take(&mut ctx.events);
        let outcome = value.and_then(|value| {
            store::events::record_all(&tx, &events)?;
            if let Some((hook, answer)) = hook.as_mut() {
                hook.after(
                    &tx,
                    Answer {
                        value: &value,
                        fields: &|| answer(&value),
                    },
                )?;
            }
            tx.commit()?;
            Ok(value)
        });
        if hook.is_some() && outcome.is_ok() {
            self.hook_done = true;
        }
        if kind == TxKind::Write && outcome.is_ok() {
            self.writes += 1;
        }
        // A roster loaded inside a transaction that rolled back may hold changes that never
        // happened, under a generation number a later change will reuse: forget it.
        if outcome.is_err()
            && self.roster.as_ref().map(|r| Arc::as_ptr(&r.prepared)) != cached_before
        {
            self.roster = None;
        }
        outcome
    }
}

/// Renders a write's result as the JSON fields of its answer, for a [`WriteHook`].
type AnswerOf<T> = dyn Fn(&T) -> serde_json::Result<serde_json::Value>;

/// A write's answer, handed to [`WriteHook::after`] and written out as JSON only if the hook
/// asks for it (an intake's is a few hundred values; a page's hook never reads it).
pub struct Answer<'a> {
    value: &'a dyn std::any::Any,
    fields: &'a dyn Fn() -> serde_json::Result<serde_json::Value>,
}

impl Answer<'_> {
    /// The command's own result, when it is a `T` (an intake's [`IntakeOutcome`]).
    pub fn value<T: std::any::Any>(&self) -> Option<&T> {
        self.value.downcast_ref()
    }

    /// The answer's fields, as headless prints them.
    pub fn fields(&self) -> DispatchResult<serde_json::Value> {
        (self.fields)().map_err(|e| {
            DispatchError::new(
                ErrorCode::Internal,
                format!("The answer could not be written out: {e}."),
            )
        })
    }
}

/// Work a front end does inside a command's write transaction, so it commits or rolls back
/// with the command (the HTTP API's idempotency record: SPEC §13 "Exactly once").
pub trait WriteHook: std::any::Any + Send {
    /// The transaction's first statement(s). An error rolls back: the command does not run.
    fn before(&mut self, conn: &Db) -> DispatchResult<()>;
    /// After the command succeeded, before the commit, with its answer. An error rolls the
    /// command back.
    fn after(&mut self, conn: &Db, answer: Answer<'_>) -> DispatchResult<()>;
    /// For [`Engine::execute_with`] to hand the hook back.
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
}

/// Begins a transaction; past the one documented wait for another writer
/// ([`store::lock_wait`]) the command answers `busy`.
fn begin(db: &mut Db, kind: TxKind) -> DispatchResult<Tx<'_>> {
    Ok(db.begin(kind)?)
}

/// What a command sees inside its transaction.
pub(crate) struct Ctx<'a> {
    tx: &'a Tx<'a>,
    now: DateTime<Utc>,
    ids: &'a crate::ids::Ids,
    roster: &'a mut Option<Roster>,
    /// The audit rows of this transaction, written just before it commits.
    events: Vec<store::events::Event>,
}

impl Ctx<'_> {
    fn conn(&self) -> &Db {
        self.tx
    }

    /// An id for a record the command did not name.
    fn new_id(&self) -> String {
        self.ids.next_id()
    }

    /// The roster prepared for scoring, reloaded only when a mechanic changed since the last
    /// load (in this process or another).
    fn roster(&mut self) -> crate::store::Result<Arc<PreparedRoster>> {
        let generation = store::mechanics::roster_generation(self.tx)?;
        if let Some(r) = self.roster.as_ref().filter(|r| r.generation == generation) {
            return Ok(Arc::clone(&r.prepared));
        }
        let mut candidates = Vec::new();
        let mut unavailable = Vec::new();
        store::mechanics::for_each(self.tx, |m| match m.account_exclusion() {
            None => candidates.push(Candidate::new(m)),
            Some(reason) => unavailable.push(ExcludedView {
                mechanic: m.id,
                name: m.name,
                reason: reason.into(),
            }),
        })?;
        candidates.shrink_to_fit();
        // `all` reads by id already; sorting again (linear on sorted input) makes the order
        // this code relies on (see `busy_indices`) independent of the query.
        candidates.sort_by(|a, b| a.mechanic().id.cmp(&b.mechanic().id));
        let prepared = Arc::new(PreparedRoster {
            candidates,
            unavailable,
        });
        *self.roster = Some(Roster {
            generation,
            prepared: Arc::clone(&prepared),
        });
        Ok(prepared)
    }

    /// The roster indices of busy mechanics, sorted, for [`crate::matching::rank`].
    fn busy_indices(&self, roster: &[Candidate]) -> crate::store::Result<Vec<u32>> {
        let mut indices: Vec<u32> = store::mechanics::busy(self.tx)?
            .iter()
            .filter_map(|id| {
                roster
                    .binary_search_by(|c| c.mechanic().id.as_str().cmp(id))
                    .ok()
            })
            .map(|i| i as u32)
            .collect();
        indices.sort_unstable();
        Ok(indices)
    }

    /// At his capacity: as many matched sessions as he may hold at once (SPEC §5).
    fn is_busy(&self, mechanic: &crate::model::Mechanic) -> crate::store::Result<bool> {
        Ok(store::mechanics::active_sessions(self.tx, &mechanic.id)?
            >= mechanic.max_active_sessions)
    }

    /// Why this mechanic cannot take this session now — the one rule the accept, every offer,
    /// the waitlist, a mechanic's queue and the console's broadcast picker all ask. `None`: he
    /// may take it (given an offer he holds, or its broadcast once open).
    fn why_not(
        &self,
        mechanic: &crate::model::Mechanic,
        criteria: &Criteria,
    ) -> crate::store::Result<Option<crate::model::WhyNot>> {
        why_not(criteria, &Candidate::new(mechanic.clone()), || {
            self.is_busy(mechanic)
        })
    }

    /// Notes a state change for the audit log; written with the rest at commit.
    fn event(
        &mut self,
        kind: &'static str,
        subject: store::events::Subject<'_>,
    ) -> crate::store::Result<()> {
        self.events
            .push(store::events::Event::new(self.now, kind, subject, None));
        Ok(())
    }

    fn event_with(
        &mut self,
        kind: &'static str,
        subject: store::events::Subject<'_>,
        detail: serde_json::Value,
    ) -> crate::store::Result<()> {
        self.events.push(store::events::Event::new(
            self.now,
            kind,
            subject,
            Some(detail.to_string()),
        ));
        Ok(())
    }

    fn session(&self, id: &str) -> DispatchResult<Session> {
        store::sessions::get(self.tx, id)?
            .ok_or_else(|| DispatchError::not_found("session", "session", id))
    }

    fn mechanic(&self, id: &str) -> DispatchResult<crate::model::Mechanic> {
        store::mechanics::get(self.tx, id)?
            .ok_or_else(|| DispatchError::not_found("mechanic", "mechanic", id))
    }
}

/// The rule of who may take a session now, in its order: the session's own rules (account,
/// profile, brand), then on shift, then room for another session. `is_busy` is asked last and
/// only when it matters: one query for a single mechanic, a lookup for a whole roster.
pub(crate) fn why_not<E>(
    criteria: &Criteria,
    candidate: &Candidate,
    is_busy: impl FnOnce() -> Result<bool, E>,
) -> Result<Option<crate::model::WhyNot>, E> {
    use crate::model::WhyNot;
    if let Some(why) = crate::matching::exclusion(criteria, candidate) {
        return Ok(Some(why));
    }
    if !candidate.mechanic().currently_on_shift {
        return Ok(Some(WhyNot::OffShift));
    }
    Ok(is_busy()?.then_some(WhyNot::AtCapacity))
}

/// Rebuilds a stored session's matching criteria from its metadata, for offers made after
/// intake (a preferred mechanic clocking in) and for checking who may take its broadcast.
pub(crate) fn session_criteria(session: &Session, now: DateTime<Utc>) -> Criteria {
    let meta = session.meta();
    let keywords: Vec<&'static str> = meta
        .keywords()
        .into_iter()
        .filter_map(|k| crate::matching::canonical_keywords().find(|c| *c == k))
        .collect();
    Criteria::new(CriteriaInput {
        keywords,
        request_type: Some(session.request_type),
        brands: &session.requested_brands,
        vehicle_make: meta.vehicle_make(),
        country: meta.customer_country(),
        postal_code: meta.customer_postal_code(),
        city: meta.customer_city(),
        prefer_local: meta.prefer_local(),
        today: now.date_naive(),
    })
}

pub(crate) fn invalid_state(message: impl Into<String>) -> DispatchError {
    DispatchError::new(ErrorCode::InvalidState, message)
}
