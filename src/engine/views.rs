//! Read models for the console: one consistent snapshot of what the panes show, loaded in one
//! read transaction. Lists are bounded, so a database with years of history stays quick.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::Engine;
use crate::error::DispatchResult;
use crate::model::{
    Assignment, Intake, Mechanic, Notification, Session, SessionStatus, WaitlistEntry,
};
use crate::report::Metrics;
use crate::store;

/// Sessions shown in the queues pane at most.
pub const SESSION_LIMIT: usize = 500;
const LIST_LIMIT: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub now: Option<DateTime<Utc>>,
    /// Pending, waiting and matched sessions, newest first.
    pub sessions: Vec<SessionRow>,
    /// Sessions booked for later (SPEC §14), soonest first.
    pub scheduled: Vec<SessionRow>,
    pub counts: HashMap<SessionStatus, i64>,
    /// Escalated sessions still waiting, all of them (the list pins at most SESSION_LIMIT).
    pub escalated: i64,
    pub roster: Vec<RosterRow>,
    pub waitlist: Vec<WaitlistEntry>,
    pub notifications: Vec<Notification>,
    pub metrics: Option<Metrics>,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub session: Session,
    pub intake: Option<Intake>,
    pub assignments: Vec<Assignment>,
}

impl SessionRow {
    /// Still waiting after it was escalated (SPEC §5): the dispatcher must look at it.
    pub fn escalated(&self) -> bool {
        self.session.status == SessionStatus::Waiting && self.session.meta().escalated()
    }
}

#[derive(Debug, Clone)]
pub struct RosterRow {
    pub mechanic: Mechanic,
    pub live_offers: i64,
    /// Matched sessions he holds now.
    pub active_sessions: i64,
    /// Targeted offers he let expire in a row (three clock him out).
    pub unanswered: i64,
}

impl RosterRow {
    /// At capacity: no offers, no broadcasts until a session ends.
    pub fn busy(&self) -> bool {
        self.active_sessions >= self.mechanic.max_active_sessions
    }
}

impl Engine {
    /// Everything the console shows, from one snapshot. Metrics are the costliest part and
    /// are loaded only when asked for.
    pub fn snapshot(&mut self, with_metrics: bool) -> DispatchResult<Snapshot> {
        let now = self.now();
        self.read(|ctx| {
            let conn = ctx.conn();
            let active = [
                SessionStatus::Pending,
                SessionStatus::Waiting,
                SessionStatus::Matched,
            ];
            // Escalated sessions first, however old: they are the ones the dispatcher must see.
            let mut sessions = store::sessions::escalated_waiting(conn, SESSION_LIMIT)?;
            let pinned: std::collections::HashSet<String> =
                sessions.iter().map(|s| s.id.clone()).collect();
            sessions.extend(
                store::sessions::list_by_status(conn, &active, SESSION_LIMIT)?
                    .into_iter()
                    .filter(|s| !pinned.contains(&s.id)),
            );
            // Bookings have no assignments yet: their intakes are all the list needs.
            let booked = store::sessions::scheduled(conn, SESSION_LIMIT)?;
            let mut booked_intakes = intakes_by_id(conn, &booked)?;
            let scheduled: Vec<SessionRow> = booked
                .into_iter()
                .map(|session| SessionRow {
                    intake: booked_intakes.remove(&session.intake_id),
                    assignments: Vec::new(),
                    session,
                })
                .collect();
            let ids: Vec<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
            let mut assignments: HashMap<String, Vec<Assignment>> = HashMap::new();
            for a in store::assignments::for_sessions(conn, &ids)? {
                assignments.entry(a.session_id.clone()).or_default().push(a);
            }
            let mut intakes = intakes_by_id(conn, &sessions)?;
            let rows: Vec<SessionRow> = sessions
                .into_iter()
                .map(|session| SessionRow {
                    intake: intakes.remove(&session.intake_id),
                    assignments: assignments.remove(&session.id).unwrap_or_default(),
                    session,
                })
                .collect();
            let offers: HashMap<String, i64> = store::assignments::live_offer_counts(conn, now)?
                .into_iter()
                .collect();
            let active: HashMap<String, i64> =
                store::mechanics::active_counts(conn)?.into_iter().collect();
            let unanswered: HashMap<String, i64> = store::mechanics::unanswered_streaks(conn)?
                .into_iter()
                .collect();
            let roster = store::mechanics::all(conn)?
                .into_iter()
                .map(|m| RosterRow {
                    live_offers: offers.get(&m.id).copied().unwrap_or(0),
                    active_sessions: active.get(&m.id).copied().unwrap_or(0),
                    unanswered: unanswered.get(&m.id).copied().unwrap_or(0),
                    mechanic: m,
                })
                .collect();
            Ok(Snapshot {
                now: Some(now),
                sessions: rows,
                scheduled,
                counts: store::sessions::count_by_status(conn)?
                    .into_iter()
                    .collect(),
                escalated: store::sessions::escalated_count(conn)?,
                roster,
                waitlist: store::waitlist::list(conn, LIST_LIMIT)?,
                notifications: store::outbox::list(conn, LIST_LIMIT)?,
                metrics: if with_metrics {
                    Some(Metrics::from_figures(&store::report::figures(conn, None)?))
                } else {
                    None
                },
            })
        })
    }

    /// Changes when any connection — this process or another — commits to the database.
    pub fn data_version(&self) -> DispatchResult<i64> {
        Ok(store::data_version(self.connection())?)
    }
}

/// The intakes of `sessions`, by id, in one query.
fn intakes_by_id(
    conn: &crate::store::Db,
    sessions: &[Session],
) -> crate::store::Result<HashMap<String, Intake>> {
    let ids: Vec<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
    Ok(store::sessions::intakes_for(conn, &ids)?
        .into_iter()
        .map(|i| (i.id.clone(), i))
        .collect())
}
