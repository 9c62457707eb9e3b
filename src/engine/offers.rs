//! The offer lifecycle (SPEC §5): release, accept, decline, complete, cancel, preferred
//! mechanics, and a mechanic's queue.

use chrono::{DateTime, Utc};

use super::dispatch::{ineligible, targeted_id, targeted_offer};
use super::notify::LiveOffer;
use super::{Ctx, Engine, OFFER_WINDOW, invalid_state, session_criteria};
use crate::engine::outcome::{
    AssignmentOutcome, EligibilityOutcome, EligibilityRow, QueueOutcome, QueueRow, SessionBrief,
    SessionDetail, SessionOutcome, SessionStatusOutcome,
};
use crate::error::{DispatchError, DispatchResult, ErrorCode};
use crate::matching::{self, Candidate, Criteria, CriteriaInput};
use crate::model::{
    Assignment, AssignmentStatus, MatchType, Mechanic, RequestType, Session, SessionStatus, WhyNot,
};
use crate::store::{self, events::Subject};
use crate::text::inert;

impl Engine {
    pub fn sign_waiver(&mut self, session: &str) -> DispatchResult<SessionStatusOutcome> {
        self.write(|ctx| ctx.clear_gate(session, true, false))
    }

    pub fn confirm_payment(&mut self, session: &str) -> DispatchResult<SessionStatusOutcome> {
        self.write(|ctx| ctx.clear_gate(session, false, true))
    }

    /// Accept: exactly one winner per session, also across processes (SPEC §5).
    pub fn accept(&mut self, session: &str, mechanic: &str) -> DispatchResult<AssignmentOutcome> {
        self.write(|ctx| ctx.accept(session, mechanic))
    }

    pub fn decline(&mut self, session: &str, mechanic: &str) -> DispatchResult<AssignmentOutcome> {
        self.write(|ctx| ctx.decline(session, mechanic))
    }

    pub fn complete(&mut self, id: &str) -> DispatchResult<SessionStatusOutcome> {
        self.write(|ctx| {
            let session = ctx.session(id)?;
            if !store::sessions::transition(
                ctx.conn(),
                id,
                &[SessionStatus::Matched],
                SessionStatus::Completed,
                ctx.now,
            )? {
                return Err(invalid_state(format!(
                    "Only a matched session can be completed; session {} is {}.",
                    inert(id),
                    session.status
                )));
            }
            let mechanic = session
                .matched_mechanic_id
                .as_deref()
                .expect("a matched session has its mechanic");
            store::mechanics::add_completed_session(ctx.conn(), mechanic, ctx.now)?;
            ctx.event(
                "session_completed",
                Subject {
                    session: Some(id),
                    mechanic: Some(mechanic),
                    ..Default::default()
                },
            )?;
            let mechanic = ctx.mechanic(mechanic)?;
            ctx.freed(&mechanic)?;
            Ok(brief(id, SessionStatus::Completed))
        })
    }

    pub fn cancel(&mut self, id: &str) -> DispatchResult<SessionStatusOutcome> {
        self.write(|ctx| {
            let session = ctx.session(id)?;
            let open = [
                SessionStatus::Scheduled,
                SessionStatus::Pending,
                SessionStatus::Waiting,
                SessionStatus::Matched,
            ];
            if !store::sessions::transition(
                ctx.conn(),
                id,
                &open,
                SessionStatus::Cancelled,
                ctx.now,
            )? {
                return Err(invalid_state(format!(
                    "Session {} is already {} and cannot be cancelled.",
                    inert(id),
                    session.status
                )));
            }
            for assignment in
                store::assignments::close_open(ctx.conn(), id, None, "session_cancelled", ctx.now)?
            {
                ctx.event(
                    "offer_cancelled",
                    Subject {
                        session: Some(id),
                        assignment: Some(&assignment),
                        ..Default::default()
                    },
                )?;
            }
            ctx.cancel_waitlist_of(id)?;
            ctx.event(
                "session_cancelled",
                Subject {
                    session: Some(id),
                    ..Default::default()
                },
            )?;
            if let Some(mechanic) = session.matched_mechanic_id.as_deref() {
                let mechanic = ctx.mechanic(mechanic)?;
                ctx.freed(&mechanic)?;
            }
            Ok(brief(id, SessionStatus::Cancelled))
        })
    }

    /// Names a session's preferred mechanic (the offline card's "browse offline mechanics").
    /// He gets a targeted offer when he clocks in — at once if he is on shift already.
    pub fn set_preferred(
        &mut self,
        session: &str,
        mechanic: &str,
    ) -> DispatchResult<SessionStatusOutcome> {
        self.write(|ctx| {
            let s = ctx.session(session)?;
            let m = ctx.mechanic(mechanic)?;
            // A booking may name him too: its release honours him (SPEC §14).
            if !matches!(
                s.status,
                SessionStatus::Scheduled | SessionStatus::Pending | SessionStatus::Waiting
            ) {
                return Err(invalid_state(format!(
                    "Session {} is {}; a preferred mechanic can only be set before it is matched.",
                    inert(session),
                    s.status
                )));
            }
            let criteria = session_criteria(&s, ctx.now);
            let candidate = Candidate::new(m.clone());
            if !matching::is_eligible(&criteria, &candidate) {
                return Err(not_eligible(&m, &s));
            }
            store::sessions::set_preferred(ctx.conn(), session, mechanic)?;
            ctx.event(
                "preferred_set",
                Subject {
                    session: Some(session),
                    mechanic: Some(mechanic),
                    ..Default::default()
                },
            )?;
            let mut offers = Vec::new();
            if s.status == SessionStatus::Waiting && m.currently_on_shift {
                let s = ctx.session(session)?;
                offers.extend(ctx.offer_to(&s, &m)?);
            }
            Ok(SessionStatusOutcome {
                session: SessionBrief {
                    id: s.id,
                    status: s.status,
                },
                offers: Some(offers),
            })
        })
    }

    /// A mechanic's queue: his live offers and accepted sessions, then the broadcasts he may take.
    pub fn queue(&mut self, mechanic: &str) -> DispatchResult<QueueOutcome> {
        self.read(|ctx| {
            let m = ctx.mechanic(mechanic)?;
            let now = ctx.now;
            let mine: Vec<QueueRow> = store::assignments::mine(ctx.conn(), mechanic, now)?
                .iter()
                .map(|a| queue_row(a, now))
                .collect();
            let open = ctx
                .open_broadcasts_for(&m)?
                .iter()
                .filter(|b| !mine.iter().any(|r| r.session == b.session_id))
                .map(|b| queue_row(b, now))
                .collect();
            Ok(QueueOutcome { mine, open })
        })
    }

    /// A session with its metadata and every assignment.
    pub fn session(&mut self, id: &str) -> DispatchResult<SessionOutcome> {
        self.read(|ctx| {
            let session = ctx.session(id).map_err(|e| e.with_field("id"))?;
            let assignments = store::assignments::for_session(ctx.conn(), id)?;
            Ok(SessionOutcome {
                session: SessionDetail {
                    session,
                    assignments,
                },
            })
        })
    }
}

/// The session rules of §3 for a broadcast: any eligible mechanic for a general request; for a
/// brand request, a specialist in one of its brands.
fn may_take(candidate: &Candidate, request_type: RequestType, brands: &[String]) -> bool {
    request_type == RequestType::General
        || matching::is_eligible(
            &Criteria::new(CriteriaInput {
                request_type: Some(request_type),
                brands,
                ..CriteriaInput::default()
            }),
            candidate,
        )
}

fn brief(id: &str, status: SessionStatus) -> SessionStatusOutcome {
    SessionStatusOutcome {
        session: SessionBrief {
            id: id.to_string(),
            status,
        },
        offers: None,
    }
}

fn queue_row(a: &Assignment, now: DateTime<Utc>) -> QueueRow {
    QueueRow {
        assignment: a.id.clone(),
        session: a.session_id.clone(),
        status: a.status,
        priority: a.priority,
        tier: a.tier(),
        score: a.match_score,
        reasons: a.match_reasons.clone(),
        seconds_left: match (a.match_type, a.status, a.expires_at) {
            (MatchType::Targeted, AssignmentStatus::Offered, Some(t)) => {
                Some(((t - now).num_milliseconds().max(0) + 999) / 1000)
            }
            _ => None,
        },
    }
}

fn not_eligible(m: &Mechanic, s: &Session) -> DispatchError {
    ineligible(m, &s.requested_brands).with_field("mechanic")
}

fn at_capacity(m: &Mechanic) -> DispatchError {
    let sessions = if m.max_active_sessions == 1 {
        "a session".to_string()
    } else {
        format!("{} sessions", m.max_active_sessions)
    };
    DispatchError::new(
        ErrorCode::AtCapacity,
        format!(
            "{} already has {sessions} in progress; complete one before accepting another.",
            inert(&m.name)
        ),
    )
    .with_field("mechanic")
}

impl Ctx<'_> {
    /// Records a cleared gate and releases the session once nothing holds it any more.
    fn clear_gate(
        &mut self,
        id: &str,
        waiver: bool,
        payment: bool,
    ) -> DispatchResult<SessionStatusOutcome> {
        let session = self.session(id)?;
        // A booking's gate may be cleared before its time; it stays scheduled, and the tick
        // releases it into `waiting` rather than `pending`.
        let scheduled = session.status == SessionStatus::Scheduled;
        if session.status != SessionStatus::Pending && !scheduled {
            return Err(invalid_state(format!(
                "Session {} is {}; its waiver and payment are settled already.",
                inert(id),
                session.status
            )));
        }
        let waiver_signed = session.waiver_signed || waiver;
        let payment_confirmed = session.payment_confirmed || payment;
        store::sessions::set_gate(self.conn(), id, waiver_signed, payment_confirmed)?;
        self.event(
            if waiver {
                "waiver_signed"
            } else {
                "payment_confirmed"
            },
            Subject {
                session: Some(id),
                ..Default::default()
            },
        )?;
        let session = self.session(id)?;
        if scheduled {
            return Ok(brief(id, SessionStatus::Scheduled));
        }
        if session.gate_clear() {
            self.release(&session)?;
            return Ok(brief(id, SessionStatus::Waiting));
        }
        Ok(brief(id, SessionStatus::Pending))
    }

    /// Starts a session's clocks: its held targeted offers go live for two minutes and the
    /// broadcast is held behind them (or opens now when there are none). Offers of mechanics
    /// who clocked out meanwhile were already withdrawn by their clock-out.
    fn release(&mut self, session: &Session) -> DispatchResult<()> {
        let now = self.now;
        let held: Vec<Assignment> = store::assignments::for_session(self.conn(), &session.id)?
            .into_iter()
            .filter(|a| a.match_type == MatchType::Targeted && a.status == AssignmentStatus::Queued)
            .collect();
        let mut live = !held.is_empty();
        // A preferred mechanic who came on shift while the session was held gets his offer now
        // (SPEC §4.4): clock-in only offers waiting sessions. Queued now, live with the rest below.
        if let Some(preferred) = session.preferred_mechanic_id.as_deref() {
            let has_offer = held
                .iter()
                .any(|a| a.mechanic_id.as_deref() == Some(preferred));
            if let Some(m) = store::mechanics::get(self.conn(), preferred)?
                && m.currently_on_shift
                && !has_offer
            {
                live |= self.offer_to_held(session, &m)?.is_some();
            }
        }
        let broadcast_from = if live {
            crate::clock::later(now, OFFER_WINDOW)
        } else {
            now
        };
        store::assignments::release(
            self.conn(),
            &session.id,
            now,
            crate::clock::later(now, OFFER_WINDOW),
            broadcast_from,
        )?;
        // The offers live from now on: each mechanic hears of his (a held session had none live).
        for offer in store::assignments::for_session(self.conn(), &session.id)? {
            if offer.match_type == MatchType::Targeted
                && offer.is_live_offer(now)
                && let Some(id) = offer.mechanic_id.as_deref()
                && let Some(expires_at) = offer.expires_at
                && let Some(m) = store::mechanics::get(self.conn(), id)?
            {
                let live = LiveOffer {
                    assignment: &offer.id,
                    expires_at,
                };
                self.notify_offer(session, live, &m)?;
            }
        }
        store::sessions::transition(
            self.conn(),
            &session.id,
            &[SessionStatus::Pending],
            SessionStatus::Waiting,
            now,
        )?;
        self.event(
            "session_released",
            Subject {
                session: Some(&session.id),
                ..Default::default()
            },
        )?;
        Ok(())
    }

    fn accept(&mut self, session_id: &str, mechanic_id: &str) -> DispatchResult<AssignmentOutcome> {
        let now = self.now;
        let session = self.session(session_id)?;
        let mechanic = self.mechanic(mechanic_id)?;
        if session.status == SessionStatus::Matched {
            return Err(already_taken(&session));
        }
        if session.status != SessionStatus::Waiting {
            return Err(invalid_state(format!(
                "Session {} is {}; only a waiting session can be accepted.",
                inert(session_id),
                session.status
            )));
        }
        let criteria = session_criteria(&session, now);
        match self.why_not(&mechanic, &criteria)? {
            None => {}
            Some(WhyNot::OffShift) => {
                return Err(DispatchError::new(
                    ErrorCode::Offline,
                    format!(
                        "{} is not on shift; clock in before accepting.",
                        inert(&mechanic.name)
                    ),
                )
                .with_field("mechanic"));
            }
            Some(WhyNot::AtCapacity) => return Err(at_capacity(&mechanic)),
            Some(_) => return Err(not_eligible(&mechanic, &session)),
        }
        let assignments = store::assignments::for_session(self.conn(), session_id)?;
        let own = assignments.iter().filter(|a| {
            a.mechanic_id.as_deref() == Some(mechanic_id) && a.match_type == MatchType::Targeted
        });
        let live_offer = own.clone().find(|a| a.is_live_offer(now));
        let broadcast = assignments.iter().find(|a| a.is_open_broadcast(now));
        let via = match (live_offer, broadcast) {
            (Some(offer), _) => offer,
            (None, Some(b)) => b,
            (None, None) => {
                let lapsed = own.clone().any(|a| {
                    matches!(a.status, AssignmentStatus::Expired)
                        || (a.status == AssignmentStatus::Offered && !a.is_live_offer(now))
                });
                return Err(if lapsed {
                    DispatchError::new(
                        ErrorCode::Expired,
                        "Your offer for this session has lapsed, and its broadcast is not open yet.",
                    )
                } else {
                    DispatchError::new(
                        ErrorCode::NotOffered,
                        format!(
                            "Session {} has not been offered to {} and its broadcast is not open yet.",
                            inert(session_id),
                            inert(&mechanic.name)
                        ),
                    )
                });
            }
        };
        if !store::assignments::accept(self.conn(), &via.id, mechanic_id, now)? {
            return Err(already_taken(&session));
        }
        if !store::sessions::transition(
            self.conn(),
            session_id,
            &[SessionStatus::Waiting],
            SessionStatus::Matched,
            now,
        )? {
            return Err(already_taken(&session));
        }
        store::sessions::set_matched_mechanic(self.conn(), session_id, mechanic_id)?;
        let closed =
            store::assignments::close_open(self.conn(), session_id, Some(&via.id), "taken", now)?;
        self.event_with(
            "offer_accepted",
            Subject {
                session: Some(session_id),
                mechanic: Some(mechanic_id),
                assignment: Some(&via.id),
                ..Default::default()
            },
            serde_json::json!({"match_type": via.match_type, "closed": closed}),
        )?;
        store::mechanics::reset_unanswered(self.conn(), mechanic_id)?;
        self.notify_matched(&session, &mechanic)?;
        self.cancel_waitlist_of(session_id)?;
        if self.is_busy(&mechanic)? {
            // Full now: his other offers go, so their sessions need not wait out his two
            // minutes (their broadcasts may open at once).
            self.withdraw_offers(mechanic_id, "busy")?;
        }
        Ok(AssignmentOutcome {
            assignment: via.id.clone(),
            session: SessionBrief {
                id: session_id.to_string(),
                status: SessionStatus::Matched,
            },
        })
    }

    fn decline(
        &mut self,
        session_id: &str,
        mechanic_id: &str,
    ) -> DispatchResult<AssignmentOutcome> {
        let now = self.now;
        let session = self.session(session_id)?;
        self.mechanic(mechanic_id)?;
        let assignments = store::assignments::for_session(self.conn(), session_id)?;
        let own: Vec<&Assignment> = assignments
            .iter()
            .filter(|a| {
                a.mechanic_id.as_deref() == Some(mechanic_id) && a.match_type == MatchType::Targeted
            })
            .collect();
        let Some(offer) = own.iter().find(|a| a.is_live_offer(now)) else {
            if session.status == SessionStatus::Matched {
                return Err(already_taken(&session));
            }
            if own.iter().any(|a| {
                a.status == AssignmentStatus::Expired || a.status == AssignmentStatus::Offered
            }) {
                return Err(DispatchError::new(
                    ErrorCode::Expired,
                    "That offer has already lapsed.",
                ));
            }
            if session.status != SessionStatus::Waiting {
                return Err(invalid_state(format!(
                    "Session {} is {}.",
                    inert(session_id),
                    session.status
                )));
            }
            return Err(DispatchError::new(
                ErrorCode::NotOffered,
                format!(
                    "There is no live offer of session {} to decline.",
                    inert(session_id)
                ),
            ));
        };
        if !store::assignments::decline(self.conn(), &offer.id, now)? {
            return Err(DispatchError::new(
                ErrorCode::Expired,
                "That offer has already lapsed.",
            ));
        }
        store::mechanics::reset_unanswered(self.conn(), mechanic_id)?;
        self.event(
            "offer_declined",
            Subject {
                session: Some(session_id),
                mechanic: Some(mechanic_id),
                assignment: Some(&offer.id),
                ..Default::default()
            },
        )?;
        self.activate_if_uncovered(&[session_id])?;
        Ok(AssignmentOutcome {
            assignment: offer.id.clone(),
            session: SessionBrief {
                id: session_id.to_string(),
                status: session.status,
            },
        })
    }

    /// The broadcasts open now that this mechanic may take: none while he is off shift, busy or
    /// unable to take sessions; otherwise those whose session's rules admit him.
    pub(super) fn open_broadcasts_for(&mut self, m: &Mechanic) -> DispatchResult<Vec<Assignment>> {
        if !m.currently_on_shift || !m.can_accept_sessions() || self.is_busy(m)? {
            return Ok(Vec::new());
        }
        let candidate = Candidate::new(m.clone());
        Ok(store::assignments::open_broadcasts(self.conn(), self.now)?
            .into_iter()
            .filter(|b| may_take(&candidate, b.request_type, &b.brands))
            .map(|b| b.assignment)
            .collect())
    }

    /// How many open broadcasts this mechanic may take (clock-in's `open`): the rules only,
    /// so a clock-in with thousands of broadcasts open reads no broadcast or session whole.
    pub(super) fn open_broadcast_count(&mut self, m: &Mechanic) -> DispatchResult<usize> {
        if !m.currently_on_shift || !m.can_accept_sessions() || self.is_busy(m)? {
            return Ok(0);
        }
        let candidate = Candidate::new(m.clone());
        Ok(
            store::assignments::open_broadcast_rules(self.conn(), self.now)?
                .iter()
                .filter(|(request_type, brands)| may_take(&candidate, *request_type, brands))
                .count(),
        )
    }

    /// Withdraws a mechanic's live and held targeted offers (he clocked out, or is busy now),
    /// opening the broadcasts of sessions left with no live offer; the offers withdrawn and the
    /// broadcasts opened.
    pub(super) fn withdraw_offers(
        &mut self,
        mechanic: &str,
        reason: &'static str,
    ) -> DispatchResult<(Vec<String>, Vec<String>)> {
        let withdrawn =
            store::assignments::withdraw_targeted(self.conn(), mechanic, reason, self.now)?;
        for (assignment, session) in &withdrawn {
            self.event_with(
                "offer_withdrawn",
                Subject {
                    session: Some(session),
                    mechanic: Some(mechanic),
                    assignment: Some(assignment),
                    ..Default::default()
                },
                serde_json::json!({ "reason": reason }),
            )?;
        }
        let sessions: Vec<&str> = withdrawn.iter().map(|(_, s)| s.as_str()).collect();
        let opened = self.activate_if_uncovered(&sessions)?;
        Ok((withdrawn.into_iter().map(|(a, _)| a).collect(), opened))
    }

    /// A mechanic's session ended (completed or cancelled): if he is on shift with room again,
    /// he is as good as one clocking in (SPEC is silent; a dispatcher would expect this) — the
    /// waitlist entries he can serve are woken and the sessions that named him get his offer.
    pub(super) fn freed(&mut self, mechanic: &Mechanic) -> DispatchResult<()> {
        if mechanic.currently_on_shift && !self.is_busy(mechanic)? {
            self.notify_waitlist(mechanic)?;
            self.offer_preferred_sessions(mechanic)?;
        }
        Ok(())
    }

    /// A session was matched or cancelled: its waitlist entries still waiting are closed.
    pub(super) fn cancel_waitlist_of(&mut self, session: &str) -> DispatchResult<()> {
        for entry in store::waitlist::cancel_for_session(self.conn(), session)? {
            self.event(
                "waitlist_cancelled",
                Subject {
                    session: Some(session),
                    waitlist: Some(&entry),
                    ..Default::default()
                },
            )?;
        }
        Ok(())
    }

    /// Opens the broadcasts of these sessions at once where no targeted offer is live any more;
    /// returns the broadcasts opened.
    pub(super) fn activate_if_uncovered(
        &mut self,
        sessions: &[&str],
    ) -> DispatchResult<Vec<String>> {
        let opened =
            store::assignments::activate_uncovered_broadcasts(self.conn(), sessions, self.now)?;
        self.broadcasts_opened(opened)
    }

    /// Records opened broadcasts, (broadcast, session) pairs, in the audit log; their ids.
    pub(super) fn broadcasts_opened(
        &mut self,
        opened: Vec<(String, String)>,
    ) -> DispatchResult<Vec<String>> {
        let mut ids = Vec::with_capacity(opened.len());
        for (id, session) in opened {
            self.event(
                "broadcast_activated",
                Subject {
                    session: Some(&session),
                    assignment: Some(&id),
                    ..Default::default()
                },
            )?;
            ids.push(id);
        }
        Ok(ids)
    }

    /// On clock-in: a targeted offer on every waiting session that names this mechanic.
    pub(super) fn offer_preferred_sessions(
        &mut self,
        mechanic: &Mechanic,
    ) -> DispatchResult<Vec<String>> {
        let mut offers = Vec::new();
        for session in store::sessions::waiting_preferring(self.conn(), &mechanic.id)? {
            offers.extend(self.offer_to(&session, mechanic)?);
        }
        Ok(offers)
    }

    /// A held (queued) targeted offer on a pending session; `release` starts its clock.
    fn offer_to_held(
        &mut self,
        session: &Session,
        mechanic: &Mechanic,
    ) -> DispatchResult<Option<String>> {
        self.make_offer(session, mechanic, false)
    }

    /// A fresh two-minute targeted offer of a waiting session to one mechanic, unless he is not
    /// eligible for it or already holds a live one.
    pub(super) fn offer_to(
        &mut self,
        session: &Session,
        mechanic: &Mechanic,
    ) -> DispatchResult<Option<String>> {
        self.make_offer(session, mechanic, true)
    }

    fn make_offer(
        &mut self,
        session: &Session,
        mechanic: &Mechanic,
        live: bool,
    ) -> DispatchResult<Option<String>> {
        let now = self.now;
        let criteria = session_criteria(session, now);
        let candidate = Candidate::new(mechanic.clone());
        // Off shift is no bar to a held offer: the mechanic may clock in before the release.
        match self.why_not(mechanic, &criteria)? {
            None => {}
            Some(WhyNot::OffShift) if !live => {}
            Some(_) => return Ok(None),
        }
        let existing = store::assignments::for_session(self.conn(), &session.id)?;
        if existing
            .iter()
            .any(|a| a.mechanic_id.as_deref() == Some(&mechanic.id) && a.is_live_offer(now))
        {
            return Ok(None);
        }
        let n = existing
            .iter()
            .filter(|a| a.match_type == MatchType::Targeted)
            .count()
            + 1;
        let scored = matching::score(&criteria, &candidate);
        let mut offer = targeted_offer(&session.id, n, &criteria, &scored, live, now);
        offer.metadata["reason"] = serde_json::json!("preferred_mechanic");
        debug_assert_eq!(offer.id, targeted_id(&session.id, n));
        store::assignments::insert(self.conn(), &offer)?;
        self.event(
            "offer_created",
            Subject {
                session: Some(&session.id),
                mechanic: Some(&mechanic.id),
                assignment: Some(&offer.id),
                ..Default::default()
            },
        )?;
        if live && let Some(expires_at) = offer.expires_at {
            let offer = LiveOffer {
                assignment: &offer.id,
                expires_at,
            };
            self.notify_offer(session, offer, mechanic)?;
        }
        Ok(Some(offer.id))
    }
}

fn already_taken(session: &Session) -> DispatchError {
    DispatchError::new(
        ErrorCode::AlreadyTaken,
        format!(
            "Session {} has already been taken by another mechanic.",
            inert(&session.id)
        ),
    )
}

impl Engine {
    /// Every mechanic with whether he may take this session now and, if not, why (SPEC §3, §5):
    /// the same [`Ctx::why_not`] the accept obeys.
    pub fn eligibility(&mut self, session: &str) -> DispatchResult<EligibilityOutcome> {
        self.read(|ctx| {
            let now = ctx.now;
            let s = ctx.session(session).map_err(|e| e.with_field("session"))?;
            if s.status != SessionStatus::Waiting {
                return Err(invalid_state(format!(
                    "Session {} is {}; only a waiting session can be taken.",
                    inert(session),
                    s.status
                ))
                .with_field("session"));
            }
            let criteria = session_criteria(&s, now);
            // The prepared roster and one busy query: no query per mechanic, whatever the roster.
            let roster = ctx.roster()?;
            let busy = ctx.busy_indices(&roster.candidates)?;
            let assignments = store::assignments::for_session(ctx.conn(), session)?;
            let broadcast_open = assignments.iter().any(|a| a.is_open_broadcast(now));
            let holds_live_offer = |id: &str| {
                assignments
                    .iter()
                    .any(|a| a.mechanic_id.as_deref() == Some(id) && a.is_live_offer(now))
            };
            let row = |m: &Mechanic, score: Option<i64>, reason: Option<WhyNot>| EligibilityRow {
                mechanic: m.id.clone(),
                name: m.name.clone(),
                city: m.city.clone(),
                brands: m.brand_specializations.clone(),
                keywords: m.service_keywords.clone(),
                score,
                may_take: reason.is_none(),
                reason,
            };
            let mut rows = Vec::with_capacity(roster.candidates.len() + roster.unavailable.len());
            for (i, c) in roster.candidates.iter().enumerate() {
                let m = c.mechanic();
                // The accept's rule, then how he would take it (accept's two routes).
                let busy_here =
                    || Ok::<_, std::convert::Infallible>(busy.binary_search(&(i as u32)).is_ok());
                let reason = super::why_not(&criteria, c, busy_here)
                    .unwrap_or_else(|never| match never {})
                    .or_else(|| {
                        (!broadcast_open && !holds_live_offer(&m.id)).then_some(WhyNot::NotOffered)
                    });
                rows.push(row(m, Some(matching::score(&criteria, c).score), reason));
            }
            // Those who can take no session at all are read here, not kept in the roster.
            for m in store::mechanics::unable(ctx.conn())? {
                let why = m.account_exclusion().map(WhyNot::from);
                rows.push(row(&m, None, why));
            }
            rows.sort_by(|a, b| {
                b.may_take
                    .cmp(&a.may_take)
                    .then_with(|| b.score.cmp(&a.score))
                    .then_with(|| a.name.cmp(&b.name))
                    .then_with(|| a.mechanic.cmp(&b.mechanic))
            });
            Ok(EligibilityOutcome {
                session: s.id,
                mechanics: rows,
            })
        })
    }
}
