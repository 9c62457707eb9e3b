//! The waitlist (SPEC §6): join, notify on clock-in, cancel. Expiry is the tick's.

use super::validate::{self, MAX_NAME};
use super::{Ctx, Engine, WAITLIST_TTL, invalid_state, session_criteria};
use crate::command::{Customer, JoinWaitlist};
use crate::engine::outcome::{EntriesOutcome, EntryOutcome, NotificationsOutcome};
use crate::error::{DispatchError, DispatchResult};
use crate::matching::{self, Candidate};
use crate::model::{Channel, Mechanic, SessionStatus, WaitlistEntry, WaitlistStatus};
use crate::store::{self, events::Subject};
use crate::text::inert;

/// How many entries and notifications the list commands return.
const LIST_LIMIT: usize = 500;

impl Engine {
    pub fn join_waitlist(&mut self, req: JoinWaitlist) -> DispatchResult<EntryOutcome> {
        self.write(|ctx| {
            let id = match &req.id {
                Some(id) => {
                    validate::id("id", id)?;
                    if store::waitlist::exists(ctx.conn(), id)? {
                        return Err(validate::id_taken("id", "A waitlist entry", id));
                    }
                    id.clone()
                }
                None => ctx.new_id(),
            };
            let customer = match (&req.session, req.customer) {
                (_, Some(c)) => c,
                (Some(s), None) => {
                    let session = ctx.session(s).map_err(|e| e.with_field("session"))?;
                    let intake = store::sessions::get_intake(ctx.conn(), &session.intake_id)?
                        .ok_or_else(|| {
                            DispatchError::not_found("session", "intake for session", s)
                        })?;
                    Customer {
                        name: intake.customer_name,
                        email: intake.customer_email,
                        phone: intake.customer_phone,
                    }
                }
                (None, None) => {
                    return Err(DispatchError::invalid(
                        "customer",
                        "Give the customer, or the session they came from.",
                    ));
                }
            };
            if let Some(s) = &req.session {
                let session = ctx.session(s).map_err(|e| e.with_field("session"))?;
                if !matches!(
                    session.status,
                    SessionStatus::Pending | SessionStatus::Waiting
                ) {
                    return Err(invalid_state(format!(
                        "Session {} is {}; only an unmatched session can wait for a mechanic.",
                        inert(s),
                        session.status
                    )));
                }
            }
            let name =
                validate::required("customer.name", "customer's name", &customer.name, MAX_NAME)?;
            let email = validate::email("customer.email", customer.email.as_deref())?;
            let phone = validate::phone("customer.phone", customer.phone.as_deref())?;
            let mut channels: Vec<Channel> = Vec::new();
            for c in req.notify_via.unwrap_or_else(|| vec![Channel::Email]) {
                if !channels.contains(&c) {
                    channels.push(c);
                }
            }
            if channels.is_empty() {
                return Err(DispatchError::invalid(
                    "notify_via",
                    "Choose at least one way to notify the customer.",
                ));
            }
            for c in &channels {
                let reachable = match c {
                    Channel::Email => email.is_some(),
                    Channel::Sms => phone.is_some(),
                    Channel::Push => email.is_some() || phone.is_some(),
                };
                if !reachable {
                    let field = if *c == Channel::Sms {
                        "customer.phone"
                    } else {
                        "customer.email"
                    };
                    return Err(DispatchError::invalid(
                        field,
                        format!(
                            "Notifying by {c} needs the customer's {}.",
                            if *c == Channel::Sms {
                                "phone number"
                            } else {
                                "email address"
                            }
                        ),
                    ));
                }
            }
            let entry = WaitlistEntry {
                id,
                session_id: req.session.clone(),
                customer_name: name.to_string(),
                customer_email: email,
                customer_phone: phone,
                notify_via: channels,
                status: WaitlistStatus::Waiting,
                created_at: ctx.now,
                expires_at: crate::clock::later(ctx.now, WAITLIST_TTL),
                notified_at: None,
                notified_mechanic_id: None,
            };
            store::waitlist::insert(ctx.conn(), &entry)?;
            ctx.event(
                "waitlist_joined",
                Subject {
                    session: entry.session_id.as_deref(),
                    waitlist: Some(&entry.id),
                    ..Default::default()
                },
            )?;
            Ok(EntryOutcome { entry })
        })
    }

    pub fn cancel_waitlist(&mut self, id: &str) -> DispatchResult<EntryOutcome> {
        self.write(|ctx| {
            let entry = store::waitlist::get(ctx.conn(), id)?
                .ok_or_else(|| DispatchError::not_found("id", "waitlist entry", id))?;
            if !store::waitlist::cancel(ctx.conn(), id)? {
                return Err(invalid_state(format!(
                    "Waitlist entry {} is {} and cannot be cancelled.",
                    inert(id),
                    entry.status
                )));
            }
            ctx.event(
                "waitlist_cancelled",
                Subject {
                    session: entry.session_id.as_deref(),
                    waitlist: Some(id),
                    ..Default::default()
                },
            )?;
            let entry = store::waitlist::get(ctx.conn(), id)?.expect("the entry was just updated");
            Ok(EntryOutcome { entry })
        })
    }

    pub fn waitlist(&mut self) -> DispatchResult<EntriesOutcome> {
        self.read(|ctx| {
            Ok(EntriesOutcome {
                entries: store::waitlist::list(ctx.conn(), LIST_LIMIT)?,
            })
        })
    }

    pub fn notifications(&mut self) -> DispatchResult<NotificationsOutcome> {
        self.read(|ctx| {
            Ok(NotificationsOutcome {
                notifications: store::outbox::list(ctx.conn(), LIST_LIMIT)?,
            })
        })
    }
}

impl Ctx<'_> {
    /// A mechanic clocked in: every waiting, unexpired entry he can serve becomes `notified`,
    /// with one outbox row per channel, and he gets a targeted offer on its session (SPEC §6).
    /// He can serve an entry when he can take sessions and is not busy, and, for an entry that
    /// names a session, that session is waiting and he is eligible for it. Entries he cannot
    /// serve keep waiting for someone who can. Returns the entries notified and the offers made.
    pub(super) fn notify_waitlist(
        &mut self,
        mechanic: &Mechanic,
    ) -> DispatchResult<(Vec<String>, Vec<String>)> {
        let mut notified = Vec::new();
        let mut offers = Vec::new();
        if !mechanic.can_accept_sessions() || self.is_busy(mechanic)? {
            return Ok((notified, offers));
        }
        for entry in store::waitlist::waiting(self.conn(), self.now)? {
            let session = match entry.session_id.as_deref() {
                None => None,
                Some(id) => match store::sessions::get(self.conn(), id)? {
                    None => continue,
                    Some(s) => Some(s),
                },
            };
            if let Some(s) = &session {
                match s.status {
                    SessionStatus::Waiting => {}
                    // Not released yet: nobody can take it, so nobody is told.
                    SessionStatus::Pending => continue,
                    // Matched or cancelled without closing the entry (a file from before this
                    // rule): nothing to wait for any more.
                    _ => {
                        self.cancel_waitlist_of(&s.id)?;
                        continue;
                    }
                }
                if !matching::is_eligible(
                    &session_criteria(s, self.now),
                    &Candidate::new(mechanic.clone()),
                ) {
                    continue;
                }
            }
            if !store::waitlist::mark_notified(self.conn(), &entry.id, &mechanic.id, self.now)? {
                continue;
            }
            self.notify_waitlist_online(&entry, mechanic, session.as_ref())?;
            self.event(
                "waitlist_notified",
                Subject {
                    session: entry.session_id.as_deref(),
                    mechanic: Some(&mechanic.id),
                    waitlist: Some(&entry.id),
                    ..Default::default()
                },
            )?;
            notified.push(entry.id);
            if let Some(s) = &session {
                offers.extend(self.offer_to(s, mechanic)?);
            }
        }
        Ok((notified, offers))
    }
}
