//! Scheduling for later (SPEC §14): weekly plans edited, sessions booked for a time, released by
//! the tick ten minutes ahead, and the hourly slots a dispatcher books from. The release runs
//! the session factory's own steps 3–5 ([`super::dispatch::match_and_offer`]), so a booked
//! customer is matched exactly as one who came in at that moment.

use std::collections::HashMap;

use chrono::{DateTime, Duration, DurationRound, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::dispatch::{self, Dispatch, MatchingMetadata, ValidIntake};
use super::outcome::{
    IntakeOutcome, MatchView, MechanicOutcome, SessionBrief, SlotView, SlotsOutcome,
};
use super::validate::{self, MAX_CONCERN};
use super::{Ctx, Engine, PreparedRoster, TOP_MATCHES, invalid_state};
use crate::clock::{later, rfc3339};
use crate::command::{IntakeRequest, SetShifts, SlotsRequest};
use crate::error::{DispatchError, DispatchResult};
use crate::matching::{self, Candidate, Criteria};
use crate::model::{RequestType, SessionStatus};
use crate::schedule;
use crate::store::{self, events::Subject};

pub use crate::model::RELEASE_AHEAD;
/// The soonest a session may be booked for: anything sooner is an intake now.
pub const MIN_LEAD: Duration = Duration::minutes(15);
/// The latest a session may be booked for.
pub const MAX_LEAD: Duration = Duration::days(14);
/// Names listed per slot.
const SLOT_TOP: usize = 3;

/// When the tick releases a session booked for `scheduled_for`: [`RELEASE_AHEAD`] before it
/// (`release_due` takes every booking due by now + [`RELEASE_AHEAD`]). The console counts down
/// to this, so its countdown and the tick cannot disagree.
pub fn releases_at(scheduled_for: DateTime<Utc>) -> DateTime<Utc> {
    scheduled_for - RELEASE_AHEAD
}

/// A booking time: RFC 3339, at least [`MIN_LEAD`] and at most [`MAX_LEAD`] ahead of `now`.
pub fn validate_scheduled_for(text: &str, now: DateTime<Utc>) -> DispatchResult<DateTime<Utc>> {
    let at = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| {
            DispatchError::invalid(
                "scheduled_for",
                format!(
                    "\"{}\" is not a time: use RFC 3339, such as 2026-01-06T15:00:00Z.",
                    crate::text::inert(text)
                ),
            )
        })?
        .with_timezone(&Utc);
    let at = crate::clock::from_millis(at.timestamp_millis());
    if at < later(now, MIN_LEAD) || at > later(now, MAX_LEAD) {
        return Err(DispatchError::invalid(
            "scheduled_for",
            format!(
                "A session can be booked from 15 minutes to 14 days ahead: between {} and {}.",
                rfc3339(later(now, MIN_LEAD)),
                rfc3339(later(now, MAX_LEAD))
            ),
        ));
    }
    Ok(at)
}

impl Engine {
    /// Replaces a mechanic's weekly plan, and his time zone when one is given.
    /// The mechanic is looked up, not judged as a new id would be: one that is not there is
    /// `not_found`, as for every other command that names a mechanic.
    pub fn set_shifts(&mut self, req: SetShifts) -> DispatchResult<MechanicOutcome> {
        self.write(|ctx| {
            let mechanic = ctx.mechanic(&req.mechanic)?;
            let zone = req
                .timezone
                .clone()
                .unwrap_or_else(|| mechanic.plan.timezone.name().to_string());
            let plan = schedule::validate_plan("", Some(&zone), &req.shifts)?;
            store::mechanics::set_plan(ctx.conn(), &mechanic.id, &plan, ctx.now)?;
            ctx.event_with(
                "shifts_set",
                Subject {
                    mechanic: Some(&mechanic.id),
                    ..Default::default()
                },
                json!({"timezone": plan.timezone.name(), "shifts": plan.shifts.len()}),
            )?;
            Ok(MechanicOutcome {
                mechanic: ctx.mechanic(&mechanic.id)?.into(),
                notified: None,
                offers: None,
                open: None,
                withdrawn: None,
            })
        })
    }

    /// The hourly slots (on the hour, UTC) from `from` for `days` days in which at least one
    /// mechanic eligible for the request is planned on shift, best first within each day.
    /// Only bookable hours are listed: none sooner than [`MIN_LEAD`] or later than
    /// [`MAX_LEAD`] from now.
    pub fn slots(&mut self, req: SlotsRequest) -> DispatchResult<SlotsOutcome> {
        let now = self.now();
        let from = match req.from.as_deref() {
            None => now,
            Some(text) => DateTime::parse_from_rfc3339(text.trim())
                .map_err(|_| {
                    DispatchError::invalid(
                        "from",
                        format!(
                            "\"{}\" is not a time: use RFC 3339, such as 2026-01-06T15:00:00Z.",
                            crate::text::inert(text)
                        ),
                    )
                })?
                .with_timezone(&Utc),
        };
        let days = validate::range("days", "days", req.days.unwrap_or(7), 1, 14)?;
        let intake = &req.intake;
        validate::optional("concern", "concern", Some(&intake.concern), MAX_CONCERN)?;
        let brands = validate::labels("brands", &intake.brands)?;
        if intake.request_type == RequestType::BrandSpecialist && brands.is_empty() {
            return Err(DispatchError::invalid(
                "brands",
                "A brand specialist request needs at least one brand.",
            ));
        }
        let keywords = matching::extract_keywords(&intake.concern);
        let first = ceil_hour(from.max(later(now, MIN_LEAD)));
        let end =
            later(from, Duration::days(days)).min(later(now, MAX_LEAD) + Duration::seconds(1));
        self.read(|ctx| {
            let criteria = dispatch::criteria(intake, &brands, keywords, now);
            let roster = ctx.roster()?;
            Ok(SlotsOutcome {
                slots: hourly_slots(&criteria, &roster.candidates, first, end),
            })
        })
    }
}

/// `t` rounded up to the next whole hour (itself when on the hour).
fn ceil_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = t.duration_trunc(Duration::hours(1)).unwrap_or(t);
    if floor == t {
        t
    } else {
        later(floor, Duration::hours(1))
    }
}

/// Counts, for each hour from `first` until `end`, the eligible mechanics planned on shift, and
/// names the best three. Mechanics are walked once in SPEC §3 order, so each hour's first three
/// are its best; each time zone's local minute of the week is worked out once per hour, not
/// once per mechanic.
pub(crate) fn hourly_slots(
    criteria: &Criteria,
    roster: &[Candidate],
    first: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<SlotView> {
    let hours: Vec<DateTime<Utc>> = (0..)
        .map(|h| first + Duration::hours(h))
        .take_while(|t| *t < end)
        .collect();
    let mut count = vec![0usize; hours.len()];
    let mut top: Vec<Vec<u32>> = vec![Vec::new(); hours.len()];
    let mut local_minutes: HashMap<Tz, Vec<u32>> = HashMap::new();
    for (_, i) in matching::eligible_in_order(criteria, roster) {
        let plan = &roster[i as usize].mechanic().plan;
        if plan.is_empty() {
            continue;
        }
        let minutes = local_minutes.entry(plan.timezone).or_insert_with(|| {
            hours
                .iter()
                .map(|t| schedule::week_minute_at(*t, schedule::offset_minutes(plan.timezone, *t)))
                .collect()
        });
        for (slot, minute) in minutes.iter().enumerate() {
            if plan.covers_local(*minute) {
                count[slot] += 1;
                if top[slot].len() < SLOT_TOP {
                    top[slot].push(i);
                }
            }
        }
    }
    let mut slots: Vec<(DateTime<Utc>, usize, Vec<u32>)> = hours
        .into_iter()
        .zip(count)
        .zip(top)
        .filter(|((_, n), _)| *n > 0)
        .map(|((t, n), best)| (t, n, best))
        .collect();
    // Days in order; within a day, the most mechanics first, then the earlier hour.
    slots.sort_by(|a, b| {
        a.0.date_naive()
            .cmp(&b.0.date_naive())
            .then(b.1.cmp(&a.1))
            .then(a.0.cmp(&b.0))
    });
    slots
        .into_iter()
        .map(|(t, n, best)| SlotView {
            start: rfc3339(t),
            mechanics: n,
            top: best
                .iter()
                .map(|&i| roster[i as usize].mechanic().name.clone())
                .collect(),
        })
        .collect()
}

/// Eligible mechanics whose plan covers `at`, ranked by SPEC §3, the best `limit`.
fn planned_at(
    criteria: &Criteria,
    roster: &PreparedRoster,
    busy: &[u32],
    at: DateTime<Utc>,
    limit: usize,
) -> Vec<MatchView> {
    let mut planned: Vec<matching::Match<'_>> = roster
        .candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| c.mechanic().plan.is_planned_at(at) && matching::is_eligible(criteria, c))
        .map(|(i, c)| {
            let mut m = matching::score(criteria, c);
            m.busy = busy.binary_search(&(i as u32)).is_ok();
            m
        })
        .collect();
    planned.sort_by(matching::compare);
    planned.truncate(limit);
    dispatch::views(criteria, &planned)
}

/// Books an intake for later: the intake and its session are stored like any other, the
/// session `scheduled` with no offers; the response names who is planned on shift then.
pub(super) fn book(
    ctx: &mut Ctx<'_>,
    req: &IntakeRequest,
    valid: ValidIntake,
    at: DateTime<Utc>,
) -> DispatchResult<IntakeOutcome> {
    let now = ctx.now;
    let intake = valid.intake;
    let keywords = matching::extract_keywords(&intake.concern);
    let criteria = dispatch::criteria(req, &valid.brands, keywords.clone(), now);
    let flag = store::settings::smart_matching(ctx.conn())?;
    let smart = flag.enabled && dispatch::in_rollout(&intake, flag.rollout_percent);
    let roster = ctx.roster()?;
    let busy = ctx.busy_indices(&roster.candidates)?;
    let ranking = matching::rank(&criteria, &roster.candidates, &busy, TOP_MATCHES, 0);
    let (excluded, excluded_total) = dispatch::excluded(&roster, &ranking);
    let matches = if smart {
        dispatch::views(&criteria, &ranking.top)
    } else {
        Vec::new()
    };
    let planned = planned_at(&criteria, &roster, &busy, at, TOP_MATCHES);
    let metadata = dispatch::booked_metadata(req, &intake, &keywords, valid.payment_method);
    store::sessions::insert_intake(ctx.conn(), &intake)?;
    store::sessions::insert(
        ctx.conn(),
        &store::sessions::NewSession {
            scheduled_for: Some(at),
            ..dispatch::new_session(
                req,
                &intake.id,
                &valid.brands,
                valid.payment_method,
                &metadata,
                SessionStatus::Scheduled,
                now,
            )
        },
    )?;
    ctx.event_with(
        "session_scheduled",
        Subject {
            session: Some(&intake.id),
            ..Default::default()
        },
        json!({"scheduled_for": rfc3339(at), "planned": planned.len()}),
    )?;
    Ok(IntakeOutcome {
        session: SessionBrief {
            id: intake.id.clone(),
            status: SessionStatus::Scheduled,
        },
        keywords,
        smart_matching: smart,
        matches,
        targeted: None,
        broadcast: None,
        all_offline: ranking.all_offline(),
        all_busy: ranking.all_busy(),
        excluded,
        excluded_total,
        scheduled_for: Some(rfc3339(at)),
        planned: Some(planned),
    })
}

/// The metadata a release adds to a booking's (SPEC §4.3 as at intake, and when and how).
#[derive(serde::Serialize)]
struct ReleaseMetadata<'a> {
    #[serde(flatten)]
    matching: MatchingMetadata<'a>,
    release: ReleaseNote,
}

#[derive(serde::Serialize)]
struct ReleaseNote {
    at: String,
    /// Eligible mechanics exist and none was on shift: the offline card's cue, at release.
    all_offline: bool,
    all_busy: bool,
}

/// The tick's part (SPEC §14): every scheduled session due within [`RELEASE_AHEAD`] is
/// released now, found by one indexed query (nothing due: nothing read).
pub(super) fn release_due(ctx: &mut Ctx<'_>) -> DispatchResult<Vec<String>> {
    let due = store::sessions::scheduled_due(ctx.conn(), later(ctx.now, RELEASE_AHEAD))?;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    // Releases accept nothing and change no mechanic: one read of what matching needs serves
    // them all.
    let shared = dispatch::SharedInputs::read(ctx)?;
    let ids: Vec<&str> = due.iter().map(|s| s.id.as_str()).collect();
    let mut intakes: HashMap<String, crate::model::Intake> =
        store::sessions::intakes_for(ctx.conn(), &ids)?
            .into_iter()
            .map(|i| (i.id.clone(), i))
            .collect();
    let mut released = Vec::with_capacity(due.len());
    for session in due {
        let id = session.id.clone();
        // Each release in a savepoint of its own: a booking that cannot be released (a row
        // broken behind the engine's back) is named in the log and left as it is, and the
        // tick's other work — expiries, broadcasts, the other releases — still commits.
        let events_before = ctx.events.len();
        let savepoint = ctx.conn().savepoint()?;
        let outcome = match intakes.remove(&session.intake_id) {
            Some(intake) => release_scheduled(ctx, session, &intake, &shared),
            None => Err(DispatchError::new(
                crate::error::ErrorCode::Internal,
                format!("Session {} has no intake.", crate::text::inert(&id)),
            )),
        };
        match outcome {
            Ok(done) => {
                savepoint.release(ctx.conn())?;
                if done {
                    released.push(id);
                }
            }
            Err(e) => {
                savepoint.roll_back(ctx.conn())?;
                ctx.events.truncate(events_before);
                tracing::error!(
                    session = %crate::text::inert(&id),
                    code = e.code.as_str(),
                    "booking not released; the tick goes on without it"
                );
            }
        }
    }
    Ok(released)
}

/// Releases one scheduled session: SPEC §4 steps 3–5 now, among the mechanics on shift now;
/// a held gate (waiver, payment) releases it into `pending` with its offers held. Whoever is
/// on shift or not, it falls back as an intake would: a broadcast with its reason, and
/// `metadata.release` saying whether all matches were offline (the console's offline cue).
fn release_scheduled(
    ctx: &mut Ctx<'_>,
    session: crate::model::Session,
    intake: &crate::model::Intake,
    shared: &dispatch::SharedInputs,
) -> DispatchResult<bool> {
    if session.status != SessionStatus::Scheduled {
        return Ok(false);
    }
    let id = session.id.as_str();
    let now = ctx.now;
    let criteria = super::session_criteria(&session, now);
    let keywords: Vec<&'static str> = criteria.keywords().to_vec();
    let release = session.gate_clear();
    let status = dispatch::released_status(release);
    let dispatch = Dispatch {
        session_id: &session.id,
        intake,
        keywords: &keywords,
        criteria: &criteria,
        preferred: session.preferred_mechanic_id.as_deref(),
        release,
        shared: Some(shared),
    };
    dispatch::match_and_offer(ctx, &dispatch, |ctx, summary| {
        // What the matcher adds to the stored metadata, merged in by SQLite (json_patch)
        // rather than parsed and written back whole here: a tick may release a thousand.
        let patch = serde_json::to_string(&ReleaseMetadata {
            matching: MatchingMetadata::of(summary),
            release: ReleaseNote {
                at: rfc3339(now),
                all_offline: summary.all_offline,
                all_busy: summary.all_busy,
            },
        })
        .expect("plain data always serialises");
        if !store::sessions::release_scheduled(
            ctx.conn(),
            id,
            status,
            release.then_some(now),
            &patch,
        )? {
            return Err(invalid_state("The session was no longer scheduled."));
        }
        ctx.event_with(
            "scheduled_released",
            Subject {
                session: Some(id),
                ..Default::default()
            },
            json!({"status": status, "scheduled_for": session.scheduled_for.map(rfc3339)}),
        )?;
        Ok(())
    })?;
    Ok(true)
}
