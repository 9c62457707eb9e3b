//! The tick (SPEC §5): expire lapsed offers and waitlist entries, open due broadcasts. Run every
//! second by the console and on `advance` / `tick` in headless mode; idempotent, so two
//! processes ticking the same database do no harm.

use std::collections::HashSet;

use super::{Ctx, Engine, invalid_state};
use crate::clock::rfc3339;
use crate::command::SetFlag;
use crate::engine::outcome::{FlagOutcome, TickOutcome};
use crate::error::{DispatchError, DispatchResult};
use crate::report::Metrics;
use crate::store::{self, events::Subject, settings::SmartMatching};

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

    pub fn report(&mut self) -> DispatchResult<Metrics> {
        self.read(|ctx| Ok(Metrics::from_figures(&store::report::figures(ctx.conn())?)))
    }
}

fn run_tick(ctx: &mut Ctx<'_>) -> DispatchResult<TickOutcome> {
    let now = ctx.now;
    let mut out = TickOutcome {
        now: rfc3339(now),
        ..TickOutcome::default()
    };
    let expired = store::assignments::expire_due(ctx.conn(), now)?;
    for (assignment, session) in &expired {
        ctx.event(
            "offer_expired",
            Subject {
                session: Some(session),
                assignment: Some(assignment),
                ..Default::default()
            },
        )?;
    }
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
    out.expired = expired.into_iter().map(|(a, _)| a).collect();
    Ok(out)
}
