//! A simulated day (SPEC §16): customers arrive as a Poisson process, mechanics clock in and
//! out by their shift plans and answer offers after random delays, sessions complete, some
//! customers join the waitlist or give up. Every action is one of the engine's `Command`s, as a
//! headless script would send it, and time moves event to event: a queue of what happens next
//! (an arrival, an answer, a broadcast looked at, a completion, a shift change, an offer's
//! expiry) and the clock moved straight to it, never second by second.
//!
//! Two random streams, both ChaCha8 from the seed: one draws the arrivals (so `--compare`'s two
//! runs meet the same customers), and every behaviour decision draws from a generator seeded by
//! what it decides (this session, this mechanic), so the same offer gets the same answer in
//! both runs.

pub mod live;
pub mod params;
pub mod shifts;
pub mod summary;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::command::{Advance, Command, JoinWaitlist, MechanicRef, NoInput, SessionMechanic};
use crate::command::{IdRef, SessionRef, SetFlag};
use crate::engine::{Engine, IntakeOutcome, Outcome, TickOutcome};
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::model::{AssignmentStatus, SessionStatus, Tier};
use crate::schedule::WeeklyPlan;

pub use params::Params;
pub use shifts::planned_on_shift;

/// Longest simulated stretch: a year.
pub const MAX_HOURS: f64 = 24.0 * 366.0;
pub const MAX_ARRIVALS_PER_HOUR: f64 = 10_000.0;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    pub hours: f64,
    pub arrivals_per_hour: f64,
    pub seed: u64,
    pub params: Params,
    /// SPEC §2's `enable_smart_matching` for the whole run (at 100 % rollout).
    pub smart_matching: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hours: 8.0,
            arrivals_per_hour: 30.0,
            seed: 1,
            params: Params::default(),
            smart_matching: true,
        }
    }
}

impl Options {
    pub fn check(&self) -> Result<(), DispatchError> {
        if !(self.hours > 0.0 && self.hours <= MAX_HOURS) {
            return Err(DispatchError::invalid(
                "hours",
                format!("--hours must be more than 0 and at most {MAX_HOURS}."),
            ));
        }
        if !(self.arrivals_per_hour > 0.0 && self.arrivals_per_hour <= MAX_ARRIVALS_PER_HOUR) {
            return Err(DispatchError::invalid(
                "arrivals_per_hour",
                format!(
                    "--arrivals-per-hour must be more than 0 and at most {MAX_ARRIVALS_PER_HOUR}."
                ),
            ));
        }
        self.params.check()
    }
}

/// What happens next.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// The next customer arrives.
    Arrival,
    /// A mechanic answers his targeted offer.
    Answer {
        session: usize,
        mechanic: String,
        accept: bool,
    },
    /// The on-shift mechanics look at the session's open broadcast.
    Look {
        session: usize,
    },
    /// A mechanic who just came free or on shift looks at the open broadcasts he may take.
    Board {
        mechanic: String,
    },
    /// The customer stops waiting and cancels.
    GiveUp {
        session: usize,
    },
    Complete {
        session: usize,
    },
    /// Shift plans are checked on every whole hour (the plans change only there).
    ShiftCheck,
    /// A mechanic clocked out for unanswered offers notices and clocks in again.
    Return {
        mechanic: String,
    },
    /// Nothing to do but let the engine's clock reach this time (an offer's expiry, a
    /// broadcast's opening), so its tick acts exactly then.
    Wake,
}

/// The simulation's own view of one session it created.
#[derive(Debug)]
struct SimSession {
    id: String,
    /// Matched, cancelled or given up: nothing more for the simulation to do but complete it.
    settled: bool,
    waitlisted: bool,
    /// Time of the one look at its broadcast that still counts (earlier ones were superseded).
    next_look: Option<i64>,
    looks: u64,
    /// Who took it, once the simulation saw an accept.
    mechanic: Option<String>,
}

/// Counts of what the simulation itself did, beyond what the database tells.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Activity {
    pub arrivals: u64,
    pub intakes_refused: u64,
    pub waitlist_joins: u64,
    pub customers_gave_up: u64,
    pub clock_ins: u64,
    pub clock_outs: u64,
    pub completed: u64,
    /// Commands refused because the world moved on (an offer lapsed before the answer, a
    /// session taken or cancelled by someone else): expected, and never an error.
    pub moved_on: u64,
    /// The day hour by hour from the start, so a staffing change ("more mechanics in the
    /// afternoon") can be checked against the hours it is meant for.
    pub hourly: Vec<Hour>,
}

/// One simulated hour.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hour {
    /// When the hour starts (RFC 3339, UTC).
    pub starts_at: String,
    pub arrivals: u64,
    /// The most mechanics on shift at once during the hour.
    pub most_on_shift: u64,
    pub accepted_targeted: u64,
    pub accepted_broadcast: u64,
    pub escalations: u64,
    pub waitlist_joins: u64,
    pub customers_gave_up: u64,
}

/// One running simulation: the event queue and what it knows. [`run`] drives it on the manual
/// clock; [`live`] drives it on real (scaled) time beside the console.
pub struct Simulation {
    options: Options,
    start: i64,
    end: i64,
    queue: BTreeMap<(i64, u64), Event>,
    seq: u64,
    arrivals: ChaCha8Rng,
    intakes: crate::synth::IntakeStream,
    sessions: Vec<SimSession>,
    by_id: HashMap<String, usize>,
    /// Broadcast assignment → session, to act when the tick opens a broadcast early.
    broadcasts: HashMap<String, usize>,
    /// Every mechanic's id and weekly plan, as the day began.
    roster: Vec<(String, WeeklyPlan)>,
    /// Prefix of the session ids this run creates (a demo database may hold the dispatcher's).
    prefix: String,
    /// Who is on shift as the simulation last saw it (for the hour-by-hour figures).
    on_shift: std::collections::HashSet<String>,
    pub activity: Activity,
}

/// Purposes of the per-decision generators (kept apart so no two decisions share a draw).
const ANSWER: u64 = 1;
const LOOK: u64 = 2;
const CUSTOMER: u64 = 3;
const SESSION_LENGTH: u64 = 4;

/// How often (seconds) plans are read to clock mechanics in and out: every quarter hour, so a
/// plan on the quarter hours (the console's editor and the demo roster use whole hours) is
/// followed to the minute.
const SHIFT_CHECK: i64 = 900;

/// Looks at one broadcast by everyone on shift before it waits for someone new on the board.
const MAX_LOOKS: u64 = 3;

impl Simulation {
    /// A simulation from the engine's current time for `options.hours`.
    pub fn new(engine: &mut Engine, options: Options, prefix: &str) -> DispatchResult<Simulation> {
        options.check()?;
        let start = engine.now().timestamp();
        let end = start + (options.hours * 3600.0).round() as i64;
        let Outcome::Mechanics(roster) = engine.execute(Command::Mechanics(NoInput {}))? else {
            return Err(internal("mechanics"));
        };
        let mut sim = Simulation {
            start,
            end,
            queue: BTreeMap::new(),
            seq: 0,
            arrivals: stream(options.seed, 0),
            // synth's generator is seeded apart from ours (its own stream of the same seed).
            intakes: crate::synth::IntakeStream::new(options.seed ^ 0x5EED_1A7A),
            sessions: Vec::new(),
            by_id: HashMap::new(),
            broadcasts: HashMap::new(),
            roster: roster
                .mechanics
                .iter()
                .map(|m| (m.mechanic.id.clone(), m.mechanic.plan.clone()))
                .collect(),
            prefix: prefix.to_string(),
            on_shift: roster
                .mechanics
                .iter()
                .filter(|m| m.mechanic.currently_on_shift)
                .map(|m| m.mechanic.id.clone())
                .collect(),
            activity: Activity::default(),
            options,
        };
        engine.execute(Command::SetFlag(SetFlag {
            enabled: Some(sim.options.smart_matching),
            rollout_percent: Some(100),
        }))?;
        // Everyone starts as planned; from then on only plan changes clock people in and out,
        // so what a dispatcher does by hand in the demo stands until the plan next changes.
        for m in &roster.mechanics {
            let planned = planned_on_shift(&m.mechanic.id, &m.mechanic.plan, at(start));
            if planned != m.mechanic.currently_on_shift {
                sim.set_shift(engine, &m.mechanic.id.clone(), planned)?;
            }
        }
        sim.hour(start);
        // The first quarter hour after the start, then every quarter hour.
        let first_check = start - start.rem_euclid(SHIFT_CHECK) + SHIFT_CHECK;
        sim.push(first_check, Event::ShiftCheck);
        let first = sim.next_arrival(start);
        sim.push(first, Event::Arrival);
        Ok(sim)
    }

    /// When the next event is due, if any is before the end.
    pub fn next_due(&self) -> Option<i64> {
        self.queue
            .keys()
            .next()
            .map(|(t, _)| *t)
            .filter(|t| *t <= self.end)
    }

    /// The figures of the hour `t` falls in (hours count from the start), made as time
    /// reaches it, its on-shift peak kept up to date.
    fn hour(&mut self, t: i64) -> &mut Hour {
        // The end itself belongs to the last hour, not to one after it.
        let t = t.min(self.end - 1);
        let i = usize::try_from((t - self.start).max(0) / 3600).unwrap_or(usize::MAX);
        let hours = &mut self.activity.hourly;
        while hours.len() <= i && hours.len() < MAX_HOURS as usize {
            let starts = self.start + 3600 * hours.len() as i64;
            hours.push(Hour {
                starts_at: at(starts).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                ..Hour::default()
            });
        }
        let on = self.on_shift.len() as u64;
        let last = hours.len() - 1;
        let hour = &mut hours[i.min(last)];
        hour.most_on_shift = hour.most_on_shift.max(on);
        hour
    }

    fn push(&mut self, time: i64, event: Event) {
        self.seq += 1;
        self.queue.insert((time, self.seq), event);
    }

    fn next_arrival(&mut self, after: i64) -> i64 {
        let u: f64 = self.arrivals.random();
        let gap = -(1.0 - u).ln() / self.options.arrivals_per_hour * 3600.0;
        after + gap.round() as i64
    }

    /// A generator for one decision: the same decision gets the same draw in every run.
    fn decision(&self, purpose: u64, session: usize, extra: &str) -> ChaCha8Rng {
        let mut h = self.options.seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h = mix(h ^ session as u64);
        for b in extra.bytes() {
            h = mix(h ^ u64::from(b));
        }
        ChaCha8Rng::seed_from_u64(h)
    }

    /// Runs every event due at or before the engine's current time.
    pub fn step(&mut self, engine: &mut Engine) -> DispatchResult<()> {
        let now = engine.now().timestamp();
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > now || entry.key().0 > self.end {
                break;
            }
            let event = entry.remove();
            self.handle(engine, now, event)?;
        }
        Ok(())
    }

    /// What a tick reported: broadcasts opened early are looked at, mechanics clocked out for
    /// unanswered offers come back later.
    pub fn after_tick(&mut self, now: i64, tick: &TickOutcome) {
        for id in &tick.activated {
            if let Some(&s) = self.broadcasts.get(id) {
                self.schedule_look(s, now);
            }
        }
        for m in &tick.auto_clocked_out {
            self.on_shift.remove(m);
        }
        self.hour(now).escalations += tick.escalated.len() as u64;
        let back = self.options.params.back_after_auto_clock_out_minutes * 60;
        for m in &tick.auto_clocked_out {
            self.push(
                now + back,
                Event::Return {
                    mechanic: m.clone(),
                },
            );
        }
    }

    fn handle(&mut self, engine: &mut Engine, now: i64, event: Event) -> DispatchResult<()> {
        match event {
            Event::Arrival => {
                self.arrive(engine, now)?;
                let next = self.next_arrival(now);
                if next <= self.end {
                    self.push(next, Event::Arrival);
                }
            }
            Event::Answer {
                session,
                mechanic,
                accept,
            } => {
                if !self.sessions[session].settled {
                    let req = SessionMechanic {
                        session: self.sessions[session].id.clone(),
                        mechanic: mechanic.clone(),
                    };
                    let cmd = if accept {
                        Command::Accept(req)
                    } else {
                        Command::Decline(req)
                    };
                    let answered = self.quietly(engine, cmd)?;
                    if answered.is_some() && accept {
                        self.hour(now).accepted_targeted += 1;
                        self.matched(session, &mechanic, now);
                    }
                }
            }
            Event::Look { session } => {
                if self.sessions[session].next_look == Some(now) {
                    self.sessions[session].next_look = None;
                    self.look(engine, session, now)?;
                }
            }
            Event::GiveUp { session } => self.give_up(engine, session)?,
            Event::Complete { session } => {
                let cmd = Command::Complete(SessionRef {
                    session: self.sessions[session].id.clone(),
                });
                if self.quietly(engine, cmd)?.is_some() {
                    self.activity.completed += 1;
                    if let Some(m) = self.sessions[session].mechanic.clone() {
                        self.board_later(&m, now);
                    }
                }
            }
            Event::ShiftCheck => {
                // Plans are read afresh (ids and plans only): in the demo a dispatcher may edit
                // one, or add a mechanic.
                self.roster = crate::store::mechanics::plans(engine.connection())?;
                for (m, plan) in self.roster.clone() {
                    let (before, planned) = (
                        planned_on_shift(&m, &plan, at(now - SHIFT_CHECK)),
                        planned_on_shift(&m, &plan, at(now)),
                    );
                    if before != planned {
                        self.set_shift(engine, &m, planned)?;
                    }
                }
                self.hour(now);
                self.push(now + SHIFT_CHECK, Event::ShiftCheck);
            }
            Event::Return { mechanic } => {
                let plan = self.roster.iter().find(|(id, _)| *id == mechanic);
                if plan.is_some_and(|(id, plan)| planned_on_shift(id, plan, at(now))) {
                    self.set_shift(engine, &mechanic, true)?;
                }
            }
            Event::Board { mechanic } => self.board(engine, &mechanic, now)?,
            Event::Wake => {}
        }
        Ok(())
    }

    /// Runs a command whose refusal only means the world moved on (someone else was faster,
    /// the offer lapsed, the dispatcher cancelled): counted, never fatal. A failing database
    /// still stops the run.
    fn quietly(&mut self, engine: &mut Engine, cmd: Command) -> DispatchResult<Option<Outcome>> {
        match engine.execute(cmd) {
            Ok(outcome) => Ok(Some(outcome)),
            Err(e) if is_fatal(&e) => Err(e),
            Err(_) => {
                self.activity.moved_on += 1;
                Ok(None)
            }
        }
    }

    fn arrive(&mut self, engine: &mut Engine, now: i64) -> DispatchResult<()> {
        let index = self.sessions.len();
        let mut request = self.intakes.next().expect("an endless stream");
        request.id = Some(format!("{}{index:06}", self.prefix));
        self.activity.arrivals += 1;
        self.hour(now).arrivals += 1;
        let outcome = match self.quietly(engine, Command::Intake(request))? {
            Some(Outcome::Intake(o)) => o,
            _ => {
                self.activity.intakes_refused += 1;
                return Ok(());
            }
        };
        let IntakeOutcome {
            session,
            targeted,
            broadcast,
            all_offline,
            ..
        } = *outcome;
        // The simulation never books for later, so an intake always comes with its offers.
        let targeted = targeted.unwrap_or_default();
        self.by_id.insert(session.id.clone(), index);
        if let Some(broadcast) = &broadcast {
            self.broadcasts.insert(broadcast.assignment.clone(), index);
        }
        self.sessions.push(SimSession {
            id: session.id,
            settled: false,
            waitlisted: false,
            next_look: None,
            looks: 0,
            mechanic: None,
        });
        for offer in &targeted {
            self.answer_later(index, &offer.mechanic, offer.score, now);
            if let Some(t) = offer.expires_at.as_deref().and_then(parse_time) {
                self.push(t, Event::Wake);
            }
        }
        if let Some(t) = broadcast
            .as_ref()
            .and_then(|b| b.active_from.as_deref())
            .and_then(parse_time)
        {
            self.schedule_look(index, t.max(now));
        }
        let mut customer = self.decision(CUSTOMER, index, "");
        if all_offline && customer.random_bool(self.options.params.waitlist_take_up) {
            let join = Command::JoinWaitlist(JoinWaitlist {
                session: Some(self.sessions[index].id.clone()),
                ..JoinWaitlist::default()
            });
            if self.quietly(engine, join)?.is_some() {
                self.activity.waitlist_joins += 1;
                self.hour(now).waitlist_joins += 1;
                self.sessions[index].waitlisted = true;
            }
        }
        // A customer on the waitlist waits as long as his entry does (24 h), then gives up
        // too: a session nobody can serve must not stay open for ever.
        let patience = if self.sessions[index].waitlisted {
            crate::engine::WAITLIST_TTL.num_seconds()
        } else {
            self.options.params.patience_minutes * 60
        };
        self.push(now + patience, Event::GiveUp { session: index });
        Ok(())
    }

    /// A targeted offer reached `mechanic`: whether and when he answers, and how.
    fn answer_later(&mut self, session: usize, mechanic: &str, score: i64, now: i64) {
        let p = &self.options.params;
        let mut rng = self.decision(ANSWER, session, mechanic);
        if rng.random_bool(p.no_answer_rate) {
            return;
        }
        let declines = rng.random_bool(p.decline_rate);
        let accept = !declines && rng.random_bool(p.accept_probability.of(Tier::of_score(score)));
        let delay = draw_delay(&mut rng, &p.targeted_answer_seconds);
        self.push(
            now + delay,
            Event::Answer {
                session,
                mechanic: mechanic.to_string(),
                accept,
            },
        );
    }

    /// Someone will look at the session's broadcast after the broadcast delay from `from`,
    /// unless a look is already due sooner.
    fn schedule_look(&mut self, session: usize, from: i64) {
        let s = &self.sessions[session];
        if s.settled {
            return;
        }
        let mut rng = self.decision(LOOK, session, &s.looks.to_string());
        let t = from + draw_delay(&mut rng, &self.options.params.broadcast_answer_seconds);
        if self.sessions[session].next_look.is_none_or(|due| t < due) {
            self.sessions[session].next_look = Some(t);
            self.sessions[session].looks += 1;
            self.push(t, Event::Look { session });
        }
    }

    /// The on-shift mechanics who may take the broadcast consider it, best match first, each
    /// accepting with his tier's probability; the first yes takes it.
    fn look(&mut self, engine: &mut Engine, session: usize, now: i64) -> DispatchResult<()> {
        if self.sessions[session].settled {
            return Ok(());
        }
        let id = self.sessions[session].id.clone();
        let Some(Outcome::Eligibility(who)) = self.quietly(
            engine,
            Command::Eligibility(SessionRef {
                session: id.clone(),
            }),
        )?
        else {
            return Ok(());
        };
        let mut rng = self.decision(
            LOOK,
            session,
            &format!("take{}", self.sessions[session].looks),
        );
        for row in who.mechanics.iter().filter(|r| r.may_take) {
            let tier = row.score.map_or(Tier::Standard, Tier::of_score);
            if !rng.random_bool(self.options.params.accept_probability.of(tier)) {
                continue;
            }
            let accept = Command::Accept(SessionMechanic {
                session: id.clone(),
                mechanic: row.mechanic.clone(),
            });
            match engine.execute(accept) {
                Ok(_) => {
                    self.hour(now).accepted_broadcast += 1;
                    self.matched(session, &row.mechanic, now);
                    return Ok(());
                }
                Err(e) if is_fatal(&e) => return Err(e),
                Err(e) => {
                    self.activity.moved_on += 1;
                    if matches!(e.code, ErrorCode::AlreadyTaken | ErrorCode::InvalidState) {
                        self.sessions[session].settled = true;
                        return Ok(());
                    }
                }
            }
        }
        // Someone could have taken it but nobody would: they look again a little later, a
        // few times. Past that (or when nobody could), it waits for a mechanic who comes free
        // or on shift and looks at the board.
        let could = who.mechanics.iter().any(|r| r.may_take);
        if could && self.sessions[session].looks < MAX_LOOKS {
            self.schedule_look(session, now);
        }
        Ok(())
    }

    /// `mechanic` looks at the open broadcasts he may take (the engine's own list, best first)
    /// and takes the first he wants.
    fn board(&mut self, engine: &mut Engine, mechanic: &str, now: i64) -> DispatchResult<()> {
        let who = MechanicRef {
            mechanic: mechanic.to_string(),
        };
        let Some(Outcome::Queue(queue)) = self.quietly(engine, Command::Queue(who))? else {
            return Ok(());
        };
        let mut rng = self.decision(LOOK, 0, &format!("board {mechanic} {now}"));
        for row in &queue.open {
            if !rng.random_bool(self.options.params.accept_probability.of(row.tier)) {
                continue;
            }
            let accept = Command::Accept(SessionMechanic {
                session: row.session.clone(),
                mechanic: mechanic.to_string(),
            });
            if self.quietly(engine, accept)?.is_some() {
                // A session the dispatcher made by hand (in the demo) is the simulation's to
                // complete from now on.
                let index = match self.by_id.get(&row.session) {
                    Some(&i) => i,
                    None => self.adopt(&row.session),
                };
                self.hour(now).accepted_broadcast += 1;
                self.matched(index, mechanic, now);
                return Ok(());
            }
        }
        Ok(())
    }

    fn adopt(&mut self, id: &str) -> usize {
        let index = self.sessions.len();
        self.sessions.push(SimSession {
            id: id.to_string(),
            settled: false,
            waitlisted: false,
            next_look: None,
            looks: 0,
            mechanic: None,
        });
        self.by_id.insert(id.to_string(), index);
        index
    }

    fn board_later(&mut self, mechanic: &str, now: i64) {
        let mut rng = self.decision(LOOK, 0, &format!("free {mechanic} {now}"));
        let t = now + draw_delay(&mut rng, &self.options.params.broadcast_answer_seconds);
        self.push(
            t,
            Event::Board {
                mechanic: mechanic.to_string(),
            },
        );
    }

    fn matched(&mut self, session: usize, mechanic: &str, now: i64) {
        self.sessions[session].settled = true;
        self.sessions[session].mechanic = Some(mechanic.to_string());
        let range = &self.options.params.session_minutes;
        let minutes = self
            .decision(SESSION_LENGTH, session, "")
            .random_range(range.min..=range.max);
        self.push(now + minutes * 60, Event::Complete { session });
    }

    fn give_up(&mut self, engine: &mut Engine, session: usize) -> DispatchResult<()> {
        let s = &self.sessions[session];
        if s.settled {
            return Ok(());
        }
        let id = s.id.clone();
        // Only a customer still waiting gives up; one the dispatcher matched by hand does not.
        if let Some(Outcome::Session(detail)) =
            self.quietly(engine, Command::Session(IdRef { id: id.clone() }))?
            && matches!(
                detail.session.session.status,
                SessionStatus::Waiting | SessionStatus::Pending
            )
            && self
                .quietly(engine, Command::Cancel(SessionRef { session: id }))?
                .is_some()
        {
            self.activity.customers_gave_up += 1;
            let now = engine.now().timestamp();
            self.hour(now).customers_gave_up += 1;
        }
        self.sessions[session].settled = true;
        Ok(())
    }

    /// Clocks a mechanic in or out. Coming on shift wakes waitlisted customers (the engine
    /// makes him targeted offers on their sessions, which he answers like any other), and a
    /// little later he looks at the open broadcasts he may take.
    fn set_shift(&mut self, engine: &mut Engine, mechanic: &str, on: bool) -> DispatchResult<()> {
        let who = MechanicRef {
            mechanic: mechanic.to_string(),
        };
        let now = engine.now().timestamp();
        if !on {
            if self.quietly(engine, Command::ClockOut(who))?.is_some() {
                self.activity.clock_outs += 1;
                self.on_shift.remove(mechanic);
            }
            return Ok(());
        }
        let Some(Outcome::Mechanic(outcome)) =
            self.quietly(engine, Command::ClockIn(who.clone()))?
        else {
            return Ok(());
        };
        self.activity.clock_ins += 1;
        self.on_shift.insert(mechanic.to_string());
        self.hour(now);
        let offers = outcome.offers.unwrap_or_default();
        if !offers.is_empty()
            && let Some(Outcome::Queue(queue)) = self.quietly(engine, Command::Queue(who))?
        {
            for row in queue
                .mine
                .iter()
                .filter(|r| r.status == AssignmentStatus::Offered && offers.contains(&r.assignment))
            {
                if let Some(&s) = self.by_id.get(&row.session) {
                    self.answer_later(s, mechanic, row.score.unwrap_or(0), now);
                    self.push(now + crate::engine::OFFER_WINDOW.num_seconds(), Event::Wake);
                }
            }
        }
        self.board_later(mechanic, now);
        Ok(())
    }
}

/// Runs a whole simulation on the engine's manual clock: advance to the next event, let the
/// engine's tick act, handle the event, until the end; then advance to the end.
pub fn run(
    engine: &mut Engine,
    options: Options,
    progress: &mut dyn FnMut(i64, i64),
) -> DispatchResult<summary::Outcome> {
    if !engine.clock().is_manual() {
        return Err(internal("simulate needs the manual clock"));
    }
    let started = std::time::Instant::now();
    let mut sim = Simulation::new(engine, options.clone(), "sim-")?;
    let total = sim.end - sim.start;
    while let Some(t) = sim.next_due() {
        advance_to(engine, &mut sim, t)?;
        sim.step(engine)?;
        progress(t - sim.start, total);
    }
    let end = sim.end;
    advance_to(engine, &mut sim, end)?;
    // Every hour has its line, also a quiet last one.
    sim.hour(end);
    progress(total, total);
    summary::Outcome::collect(engine, &options, sim.activity, started.elapsed())
}

/// `pitwall simulate`'s one run: a new database (`None`: in memory; a file must be new, so
/// nobody's data is ever mixed with a made-up day) with the demo roster, then [`run`], with a
/// progress bar on stderr for runs long enough to wait for, when stderr is a terminal.
pub fn run_on_new_database(
    db: Option<&std::path::Path>,
    options: Options,
) -> Result<summary::Outcome, String> {
    use std::io::IsTerminal;
    if let Some(path) = db
        && let Some(why) = crate::store::path_problem(path, true)
    {
        return Err(format!("cannot open database {}: {why}", path.display()));
    }
    let mut engine =
        Engine::open(db, crate::clock::Clock::manual_default()).map_err(|e| e.to_string())?;
    match engine.seed_if_unused(crate::DEMO_ROSTER) {
        Ok(true) => {}
        Ok(false) => {
            return Err(format!(
                "{} is not a new database: it already holds pitwall data (an earlier simulate, \
                 or real sessions). simulate writes its made-up day only into a new file, so \
                 it never mixes with other data: give a new file name, or leave out --db to \
                 simulate in memory",
                db.map_or("the database".into(), |p| p.display().to_string())
            ));
        }
        Err(e) => return Err(format!("cannot load the demo roster: {}", e.message)),
    }
    let bar = (std::io::stderr().is_terminal() && options.hours >= 24.0).then(|| {
        let bar = indicatif::ProgressBar::new((options.hours * 3600.0) as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "simulating {bar:40} {percent:>3} % of the simulated time, {elapsed} so far",
            )
            .expect("a valid template"),
        );
        bar
    });
    let mut progress = |done: i64, _total: i64| {
        if let Some(bar) = &bar {
            bar.set_position(done.max(0) as u64);
        }
    };
    let outcome = run(&mut engine, options, &mut progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    outcome.map_err(|e| format!("simulation stopped: {} ({})", e.message, e.code.as_str()))
}

fn advance_to(engine: &mut Engine, sim: &mut Simulation, t: i64) -> DispatchResult<()> {
    let now = engine.now().timestamp();
    if t > now
        && let Outcome::Tick(tick) =
            engine.execute(Command::Advance(Advance { seconds: t - now }))?
    {
        sim.after_tick(t, &tick);
    }
    Ok(())
}

/// A database that fails (full disk, read-only, held by another program) ends the run; any
/// other refusal is the world moving on.
fn is_fatal(e: &DispatchError) -> bool {
    matches!(e.code, ErrorCode::Busy | ErrorCode::Internal)
}

fn internal(what: &str) -> DispatchError {
    DispatchError::new(
        ErrorCode::Internal,
        format!("simulation: unexpected outcome of {what}"),
    )
}

fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// SplitMix64's finaliser: spreads a seed's bits so nearby decisions draw unrelated numbers.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Exponential with the delay's mean, at least its minimum, in whole seconds.
fn draw_delay(rng: &mut ChaCha8Rng, delay: &params::Delay) -> i64 {
    let u: f64 = rng.random();
    let d = -(1.0 - u).ln() * delay.mean;
    d.max(delay.min).round() as i64
}

fn at(t: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(t, 0).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn parse_time(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp() + i64::from(t.timestamp_subsec_millis() > 0))
}
