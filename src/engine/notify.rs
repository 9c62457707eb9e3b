//! The messages pitwall owes people (SPEC §12), written to the outbox in the transaction of the
//! change that causes them; the relay delivers them afterwards.
//!
//! The texts are plain format strings, not a template engine: four short messages with one
//! optional part each, checked by the compiler, with no template files to ship, parse or get
//! wrong at run time. They carry names, the session's short reference, the recognised keywords
//! and the city — never the customer's own words (the concern), and to a mechanic or the
//! dispatcher no customer contact details at all. An offer's message also carries the offer's
//! deadline, in the mechanic's own time zone, and names the offer, so that a relay can skip it
//! once the offer is no longer live.

use chrono::{DateTime, Utc};

use super::Ctx;
use crate::model::{Mechanic, NotificationKind, Route, Session, WaitlistEntry, session_ref};
use crate::store::outbox::{self, NewNotification};

/// The dispatcher's channel has one recipient: whoever the transport reaches.
pub const DISPATCHER: &str = "dispatcher";

/// Text for a message: control characters (line breaks included) become spaces, so a name can
/// neither add a mail header nor break a line of an SMS; long text is cut.
fn clean(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect();
    out.truncate(out.trim_end().len());
    out
}

/// What a session is about, in the matcher's words: "brake repair, oil change".
pub(super) fn describe(keywords: &[&str]) -> String {
    if keywords.is_empty() {
        "a diagnostics session".to_string()
    } else {
        clean(&keywords.join(", "))
    }
}

fn keywords(meta: crate::model::SessionMeta<'_>) -> String {
    describe(&meta.keywords())
}

/// " in Toronto", or nothing.
pub(super) fn in_city(city: Option<&str>) -> String {
    city.map(clean)
        .filter(|c| !c.is_empty())
        .map(|c| format!(" in {c}"))
        .unwrap_or_default()
}

fn customer_city(meta: crate::model::SessionMeta<'_>) -> String {
    in_city(meta.customer_city())
}

fn place(mechanic: &Mechanic) -> String {
    mechanic
        .city
        .as_deref()
        .map(clean)
        .filter(|c| !c.is_empty())
        .map(|c| format!(" in {c}"))
        .unwrap_or_default()
}

/// Where a mechanic's offers go on a channel. Push addresses him by his id (a push service
/// knows devices by account, not by address).
fn mechanic_recipient(mechanic: &Mechanic, channel: crate::model::Channel) -> Option<&str> {
    use crate::model::Channel;
    match channel {
        Channel::Sms => mechanic.phone.as_deref(),
        Channel::Email => mechanic.email.as_deref(),
        Channel::Push => Some(&mechanic.id),
    }
}

/// The offer an `offer` message announces: which one, and until when it may be accepted.
#[derive(Debug, Clone, Copy)]
pub(super) struct LiveOffer<'a> {
    pub assignment: &'a str,
    pub expires_at: DateTime<Utc>,
}

/// An offer's deadline as the mechanic reads it: his own time zone's clock time and its
/// abbreviation ("14:32 EST"). A date would only add noise: the deadline is two minutes after
/// the message is written, and a relay skips the message once it has passed.
fn deadline(at: DateTime<Utc>, mechanic: &Mechanic) -> String {
    let local = at.with_timezone(&mechanic.plan.timezone);
    local.format("%H:%M %Z").to_string()
}

impl Ctx<'_> {
    fn outbox(&mut self, message: NewNotification<'_>) -> crate::store::Result<()> {
        outbox::insert(self.conn(), &message, self.now).map(|_| ())
    }

    /// A targeted offer of a stored session went live.
    pub(super) fn notify_offer(
        &mut self,
        session: &Session,
        offer: LiveOffer<'_>,
        mechanic: &Mechanic,
    ) -> crate::store::Result<()> {
        self.notify_new_offer(
            &session.id,
            offer,
            &keywords(session.meta()),
            &customer_city(session.meta()),
            mechanic,
        )
    }

    /// A targeted offer went live: the mechanic hears of it on each of his channels. `what`
    /// from [`describe`], `city` from [`in_city`].
    pub(super) fn notify_new_offer(
        &mut self,
        session_id: &str,
        offer: LiveOffer<'_>,
        what: &str,
        city: &str,
        mechanic: &Mechanic,
    ) -> crate::store::Result<()> {
        let subject = format!("New offer: {what}");
        let body = format!(
            "Hi {}, session {} is offered to you: {what}, customer{city}. It is yours to accept \
             until {}.",
            clean(&mechanic.name),
            session_ref(session_id),
            deadline(offer.expires_at, mechanic),
        );
        for channel in mechanic.notify_via.clone() {
            let Some(recipient) = mechanic_recipient(mechanic, channel) else {
                continue;
            };
            self.outbox(NewNotification {
                kind: NotificationKind::Offer,
                channel: channel.into(),
                recipient,
                subject: &subject,
                body: &body,
                session: Some(session_id),
                waitlist_id: None,
                offer: Some((offer.assignment, offer.expires_at)),
            })?;
        }
        Ok(())
    }

    /// A session was accepted: the customer hears who took it, by email if known, else SMS.
    pub(super) fn notify_matched(
        &mut self,
        session: &Session,
        mechanic: &Mechanic,
    ) -> crate::error::DispatchResult<()> {
        let Some(intake) = crate::store::sessions::get_intake(self.conn(), &session.intake_id)?
        else {
            return Ok(());
        };
        let (channel, recipient) = match (&intake.customer_email, &intake.customer_phone) {
            (Some(email), _) => (Route::Email, email.clone()),
            (None, Some(phone)) => (Route::Sms, phone.clone()),
            (None, None) => return Ok(()),
        };
        let mechanic_name = clean(&mechanic.name);
        let subject = format!("Your mechanic: {mechanic_name}");
        let body = format!(
            "Hi {}, {mechanic_name}{} has taken your session {} ({}) and will start with you \
             shortly.",
            clean(&intake.customer_name),
            place(mechanic),
            session_ref(&session.id),
            keywords(session.meta()),
        );
        self.outbox(NewNotification {
            kind: NotificationKind::Matched,
            channel,
            recipient: &recipient,
            subject: &subject,
            body: &body,
            session: Some(&session.id),
            waitlist_id: None,
            offer: None,
        })?;
        Ok(())
    }

    /// A session waited too long: the dispatcher hears of it on the dispatcher channel.
    pub(super) fn notify_escalation(
        &mut self,
        session_id: &str,
        keywords: &[&str],
        city: Option<&str>,
        after_seconds: i64,
    ) -> crate::store::Result<()> {
        let minutes = after_seconds / 60;
        let waited = if minutes >= 1 {
            format!("{minutes} min")
        } else {
            format!("{after_seconds} s")
        };
        let reference = session_ref(session_id);
        let subject = format!("Escalated: session {reference} waiting {waited}");
        let body = format!(
            "Session {reference} ({}, customer{}) has waited {waited} since its release and no \
             mechanic has taken it. Open Queues in pitwall to place it.",
            describe(keywords),
            in_city(city),
        );
        self.outbox(NewNotification {
            kind: NotificationKind::Escalation,
            channel: Route::Dispatcher,
            recipient: DISPATCHER,
            subject: &subject,
            body: &body,
            session: Some(session_id),
            waitlist_id: None,
            offer: None,
        })
    }

    /// A mechanic who can serve a waitlist entry clocked in: the customer hears of it on each
    /// channel they chose.
    pub(super) fn notify_waitlist_online(
        &mut self,
        entry: &WaitlistEntry,
        mechanic: &Mechanic,
        session: Option<&Session>,
    ) -> crate::store::Result<()> {
        use crate::model::Channel;
        let subject = "A mechanic is online now";
        let next = match session {
            Some(s) => format!(
                "Your session {} ({}) is being offered to them now.",
                session_ref(&s.id),
                keywords(s.meta())
            ),
            None => "Open the app or reply to start your session.".to_string(),
        };
        let body = format!(
            "Hi {}, a mechanic is online now: {}{}. {next}",
            clean(&entry.customer_name),
            clean(&mechanic.name),
            place(mechanic),
        );
        for channel in &entry.notify_via {
            let recipient = match channel {
                Channel::Email => entry.customer_email.as_deref(),
                Channel::Sms => entry.customer_phone.as_deref(),
                Channel::Push => entry
                    .customer_email
                    .as_deref()
                    .or(entry.customer_phone.as_deref()),
            };
            let Some(recipient) = recipient else {
                continue;
            };
            self.outbox(NewNotification {
                kind: NotificationKind::WaitlistOnline,
                channel: (*channel).into(),
                recipient,
                subject,
                body: &body,
                session: entry.session_id.as_deref(),
                waitlist_id: Some(&entry.id),
                offer: None,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_add_lines_or_headers() {
        assert_eq!(clean("Ann\r\nBcc: x@y"), "Ann  Bcc: x@y");
        assert_eq!(clean(&"a".repeat(500)).len(), 120);
    }

    #[test]
    fn keywords_and_city_come_from_the_metadata_never_the_concern() {
        let meta = serde_json::json!({
            "extracted_keywords": ["brake repair", "oil change"],
            "customer_city": "Toronto",
            "concern": "secret words"
        });
        use crate::model::SessionMeta;
        assert_eq!(keywords(SessionMeta::of(&meta)), "brake repair, oil change");
        assert_eq!(customer_city(SessionMeta::of(&meta)), " in Toronto");
        let empty = serde_json::json!({});
        assert_eq!(keywords(SessionMeta::of(&empty)), "a diagnostics session");
    }
}
