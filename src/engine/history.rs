//! History for the console: any session by reference, customer or mechanic, and one session's
//! timeline from the audit log (created, offers, answers, escalation, matched, completed). Read
//! only, one read transaction each, bounded.

use super::Engine;
use crate::error::DispatchResult;
use crate::model::Session;
use crate::store;
use crate::store::events::Stored;

/// Sessions a history search lists at most.
pub const HISTORY_LIMIT: usize = 200;
/// Events of one session's timeline at most (a session makes a few dozen).
const TIMELINE_LIMIT: usize = 500;

/// One session found by a history search, with what its list row shows.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    pub session: Session,
    pub customer: Option<String>,
    /// The mechanic who took it, by name (or id, when he left the roster).
    pub mechanic: Option<String>,
}

impl Engine {
    /// Sessions of any status whose reference, customer or matched mechanic contains
    /// `needle` (any case), newest first.
    pub fn history(&mut self, needle: &str) -> DispatchResult<Vec<HistoryRow>> {
        let needle = needle.trim().to_string();
        self.read(|ctx| {
            let conn = ctx.conn();
            let sessions = store::sessions::search(conn, &needle, HISTORY_LIMIT)?;
            let ids: Vec<&str> = sessions.iter().map(|s| s.intake_id.as_str()).collect();
            let intakes = store::sessions::intakes_for(conn, &ids)?;
            let names: std::collections::HashMap<String, String> = store::mechanics::all(conn)?
                .into_iter()
                .map(|m| (m.id, m.name))
                .collect();
            Ok(sessions
                .into_iter()
                .map(|session| HistoryRow {
                    customer: intakes
                        .iter()
                        .find(|i| i.id == session.intake_id)
                        .map(|i| i.customer_name.clone()),
                    mechanic: session
                        .matched_mechanic_id
                        .as_ref()
                        .map(|id| names.get(id).cloned().unwrap_or_else(|| id.clone())),
                    session,
                })
                .collect())
        })
    }

    /// A session's audit events, oldest first.
    pub fn timeline(&mut self, session: &str) -> DispatchResult<Vec<Stored>> {
        let session = session.to_string();
        self.read(|ctx| {
            Ok(store::events::for_session(
                ctx.conn(),
                &session,
                TIMELINE_LIMIT,
            )?)
        })
    }
}
