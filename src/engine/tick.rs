//! The tick (SPEC §5): expire lapsed offers and waitlist entries, open due broadcasts. Run every
//! second by the console and on `advance` / `tick` in headless mode; idempotent, so two
//! processes ticking the same database do no harm.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::{Ctx, Engine, invalid_state};
use crate::clock::rfc3339;
use crate::command::{SetFlag, SetSetting};
use crate::engine::outcome::{FlagOutcome, Settings, SettingsOutcome, TickOutcome};
use crate::error::{DispatchError, DispatchResult};
use crate::report::Metrics;
use crate::store::{self, events::Subject, settings::SmartMatching};

/// Targeted offers in a row a mechanic may leave unanswered before the tick clocks him out.
pub const UNANSWERED_LIMIT: i64 = 3;

/// The longest single `advance` (a year), so a typo cannot overflow the calendar.
const MAX_ADVANCE_SECONDS: i64 = 366 * 24 * 3600;

impl Engine {
    pub fn tick(&mut self) -> DispatchResult<TickOutcome> {
        self.write(run_tick)
    }

    /// Moves the manual clock forward and ticks at the new time. The clock moves only if the
    /// tick commits.
    pub fn advance(&mut self, seconds: i64) -> DispatchResult<TickOutcome> {
        if !self.clock.is_manual() {
            return Err(invalid_state(
                "advance needs the manual clock (--clock manual).",
            ));
        }
        if !(0..=MAX_ADVANCE_SECONDS).contains(&seconds) {
            return Err(DispatchError::invalid(
                "seconds",
                format!("seconds must be between 0 and {MAX_ADVANCE_SECONDS}."),
            ));
        }
        let end = crate::clock::end_of_time();
        if (end - self.clock.now()).num_seconds() < seconds {
            return Err(DispatchError::invalid(
                "seconds",
                format!(
                    "The clock is at {}; {seconds} seconds more would pass {}, the last time \
                     pitwall can keep.",
                    rfc3339(self.clock.now()),
                    rfc3339(end)
                ),
            ));
        }
        let previous = self.clock.clone();
        self.clock.advance(seconds);
        let result = self.write(run_tick);
        if result.is_err() {
            // Also when the outcome is unknown (a PostgreSQL connection lost during COMMIT):
            // the tick may have committed at the later time. Ticks are idempotent, so running
            // the same `advance` again (once the caller has looked, as the message asks) ticks
            // at that same time and the clock and the database agree; a clock kept moved would
            // make that repeat overshoot. Left alone, the clock stays behind that tick until the
            // next `advance`.
            self.clock = previous;
        }
        result
    }

    pub fn set_flag(&mut self, req: SetFlag) -> DispatchResult<FlagOutcome> {
        if let Some(p) = req.rollout_percent
            && !(0..=100).contains(&p)
        {
            return Err(DispatchError::invalid(
                "rollout_percent",
                "rollout_percent must be between 0 and 100.",
            ));
        }
        self.write(|ctx| {
            let current = store::settings::smart_matching(ctx.conn())?;
            let flag = SmartMatching {
                enabled: req.enabled.unwrap_or(current.enabled),
                rollout_percent: req
                    .rollout_percent
                    .map_or(current.rollout_percent, |p| p as u8),
            };
            store::settings::set_smart_matching(ctx.conn(), flag)?;
            ctx.event_with("flag_set", Subject::default(), serde_json::json!(flag))?;
            Ok(FlagOutcome { flag })
        })
    }

    pub fn set_setting(&mut self, req: SetSetting) -> DispatchResult<SettingsOutcome> {
        if req.name != "escalate_after_seconds" {
            return Err(DispatchError::invalid(
                "name",
                format!(
                    "Unknown setting \"{}\"; the settings are: escalate_after_seconds.",
                    crate::text::inert(&req.name)
                ),
            ));
        }
        let max = store::settings::ESCALATE_AFTER_MAX;
        if !(1..=max).contains(&req.value) {
            return Err(DispatchError::invalid(
                "value",
                format!("escalate_after_seconds must be between 1 and {max}."),
            ));
        }
        self.write(|ctx| {
            store::settings::set_escalate_after_seconds(ctx.conn(), req.value)?;
            ctx.event_with(
                "setting_changed",
                Subject::default(),
                serde_json::json!({ "name": req.name, "value": req.value }),
            )?;
            Ok(SettingsOutcome {
                settings: Settings {
                    escalate_after_seconds: req.value,
                },
            })
        })
    }

    pub fn report(&mut self) -> DispatchResult<Metrics> {
        self.report_since(None)
    }

    /// The report of the sessions made from `since` on (`report --since`): only that period is
    /// read. Pruned history is never counted, whatever `since` says.
    pub fn report_since(&mut self, since: Option<DateTime<Utc>>) -> DispatchResult<Metrics> {
        let since = since.map(crate::clock::to_millis);
        self.read(|ctx| {
            Ok(Metrics::from_figures(&store::report::figures(
                ctx.conn(),
                since,
            )?))
        })
    }
}

fn run_tick(ctx: &mut Ctx<'_>) -> DispatchResult<TickOutcome> {
    let now = ctx.now;
    let mut out = TickOutcome {
        now: rfc3339(now),
        ..TickOutcome::default()
    };
    let lapsed = store::assignments::expire_due(ctx.conn(), now)?;
    if ctx.events.is_empty() {
        // The transaction's first events, so written now rather than held for the commit: in
        // the same order and words, without an owned copy of each of 10,000 ids.
        store::events::record_offer_events(ctx.conn(), now, "offer_expired", &lapsed.offers)?;
    } else {
        for (assignment, session) in &lapsed.offers {
            ctx.event(
                "offer_expired",
                Subject {
                    session: Some(session),
                    assignment: Some(assignment),
                    ..Default::default()
                },
            )?;
        }
    }
    let (clocked_out, opened) = clock_out_unanswering(ctx, &lapsed.per_mechanic)?;
    let expired = lapsed.offers;
    out.auto_clocked_out = clocked_out;
    out.activated.extend(opened);
    // Broadcasts whose time has come open first, in one statement by their index; then the
    // sessions that just lost their last live offer before that time.
    let due = store::assignments::activate_due_broadcasts(ctx.conn(), now)?;
    let mut sessions: Vec<&str> = {
        let opened: HashSet<&str> = due.iter().map(|(_, s)| s.as_str()).collect();
        expired
            .iter()
            .map(|(_, s)| s.as_str())
            .filter(|s| !opened.contains(s))
            .collect()
    };
    sessions.sort_unstable();
    sessions.dedup();
    out.activated.extend(ctx.broadcasts_opened(due)?);
    out.activated.extend(ctx.activate_if_uncovered(&sessions)?);
    out.activated.sort();
    for id in store::waitlist::expire_due(ctx.conn(), now)? {
        ctx.event(
            "waitlist_expired",
            Subject {
                waitlist: Some(&id),
                ..Default::default()
            },
        )?;
        out.waitlist_expired.push(id);
    }
    out.released = super::scheduling::release_due(ctx)?;
    out.escalated = escalate_overdue(ctx)?;
    out.expired = expired.into_iter().map(|(a, _)| a).collect();
    Ok(out)
}

/// Three targeted offers in a row that expire unanswered clock a mechanic out (SPEC §5): a phone
/// left in a locker must not hold the top of every ranking. The streak lives in the database,
/// so it survives restarts and counts the same whichever process ticks. Returns the mechanics
/// clocked out and the broadcasts their withdrawn offers opened.
fn clock_out_unanswering(
    ctx: &mut Ctx<'_>,
    per_mechanic: &std::collections::BTreeMap<String, i64>,
) -> DispatchResult<(Vec<String>, Vec<String>)> {
    if per_mechanic.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    // One statement for every mechanic, however many offers lapsed: a tick may expire 10,000.
    let due = store::mechanics::add_unanswered_many(ctx.conn(), per_mechanic, UNANSWERED_LIMIT)?;
    let (mut clocked_out, mut opened) = (Vec::new(), Vec::new());
    for (id, streak) in due {
        let id = id.as_str();
        if !store::mechanics::set_on_shift(ctx.conn(), id, false, ctx.now)? {
            continue;
        }
        ctx.event_with(
            "auto_clock_out",
            Subject {
                mechanic: Some(id),
                ..Default::default()
            },
            serde_json::json!({ "unanswered": streak }),
        )?;
        let (_, activated) = ctx.withdraw_offers(id, "clocked_out")?;
        opened.extend(activated);
        clocked_out.push(id.to_string());
    }
    Ok((clocked_out, opened))
}

/// Sessions still waiting `escalate_after_seconds` after their release are escalated, once.
fn escalate_overdue(ctx: &mut Ctx<'_>) -> DispatchResult<Vec<String>> {
    let after = store::settings::escalate_after_seconds(ctx.conn())?;
    let Some(cutoff) = ctx.now.checked_sub_signed(chrono::Duration::seconds(after)) else {
        return Ok(Vec::new());
    };
    let escalated = store::sessions::escalate_released_before(ctx.conn(), cutoff, ctx.now)?;
    let mut ids = Vec::with_capacity(escalated.len());
    for session in escalated {
        let keywords: Vec<&str> = session.keywords.iter().map(String::as_str).collect();
        ctx.notify_escalation(&session.id, &keywords, session.city.as_deref(), after)?;
        let id = &session.id;
        ctx.event_with(
            "session_escalated",
            Subject {
                session: Some(id),
                ..Default::default()
            },
            serde_json::json!({ "after_seconds": after }),
        )?;
        ids.push(session.id);
    }
    Ok(ids)
}
