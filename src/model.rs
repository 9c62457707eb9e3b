//! The domain records of SPEC §2 and the closed vocabularies their text columns hold.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A closed vocabulary stored as TEXT: what the store needs to write and read one. The store
/// implements its conversions for every type [`with_text_enums`] names, so this module names no
/// storage type.
pub trait TextEnum: Copy + 'static {
    const NAME: &'static str;
    fn as_str(self) -> &'static str;
    fn parse(s: &str) -> Option<Self>;
}

/// Calls `$m!` with every [`TextEnum`] of the model. A vocabulary missing here fails to compile
/// where the store binds it, so the list cannot fall behind.
#[macro_export]
macro_rules! with_text_enums {
    ($m:ident) => {
        $m!(
            AccountStatus,
            CertificationType,
            PaymentMethod,
            RequestType,
            SessionStatus,
            AssignmentStatus,
            Priority,
            WaitlistStatus,
            Channel,
            MatchType,
            NotificationKind,
            Route,
            DeliveryStatus,
            SkipReason
        );
    };
}

/// Declares a closed vocabulary stored as TEXT: serde names, `as_str`, parsing, and database
/// conversions all come from the one list, so the schema's CHECKs and the code cannot drift.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
        )]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TextEnum for $name {
            const NAME: &'static str = stringify!($name);

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn parse(s: &str) -> Option<$name> {
                $name::parse(s)
            }
        }
    };
}

text_enum!(AccountStatus { Approved = "approved", Pending = "pending", Suspended = "suspended" });
text_enum!(CertificationType {
    RedSeal = "red_seal",
    Provincial = "provincial",
    Ase = "ase",
    CpaQuebec = "cpa_quebec",
    Manufacturer = "manufacturer",
    Other = "other",
});
text_enum!(PaymentMethod { Free = "free", Credit = "credit", Paid = "paid" });
text_enum!(RequestType { General = "general", BrandSpecialist = "brand_specialist" });

#[allow(clippy::derivable_impls)] // declared through text_enum!, which takes no variant attributes
impl Default for RequestType {
    fn default() -> Self {
        RequestType::General
    }
}
text_enum!(SessionStatus {
    Scheduled = "scheduled",
    Pending = "pending",
    Waiting = "waiting",
    Matched = "matched",
    Completed = "completed",
    Cancelled = "cancelled",
});
text_enum!(AssignmentStatus {
    Queued = "queued",
    Offered = "offered",
    Accepted = "accepted",
    Declined = "declined",
    Expired = "expired",
    Cancelled = "cancelled",
});
text_enum!(Priority { High = "high", Normal = "normal", Low = "low" });
text_enum!(WaitlistStatus {
    Waiting = "waiting",
    Notified = "notified",
    Expired = "expired",
    Cancelled = "cancelled",
});
text_enum!(Channel { Email = "email", Sms = "sms", Push = "push" });

// --- Times the engine keeps and the store reads (here, below both, so neither looks up at the
// other for them) ---

/// How long before its time the tick releases a scheduled session: the targeted window (two
/// minutes) and the broadcast after it have run their course by the time the customer expects
/// a mechanic.
pub const RELEASE_AHEAD: chrono::Duration = chrono::Duration::minutes(10);
/// How long a waitlist entry waits for a mechanic.
pub const WAITLIST_TTL: chrono::Duration = chrono::Duration::hours(24);
/// The last instant pitwall keeps (`clock::end_of_time`, 9999-12-31T23:59:59Z) in stored
/// milliseconds: where every deadline stops.
pub const END_OF_TIME_MILLIS: i64 = 253_402_300_799_000;

// --- end of the times block ---

/// A mechanic as stored (SPEC §2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mechanic {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub state_province: Option<String>,
    pub country: Option<String>,
    pub postal_code: Option<String>,
    pub years_experience: i64,
    pub rating: f64,
    pub completed_sessions: i64,
    pub profile_completion_score: i64,
    pub account_status: AccountStatus,
    pub currently_on_shift: bool,
    /// Legacy mirror of `currently_on_shift`, written on every clock in/out and never read.
    pub is_available: bool,
    #[serde(serialize_with = "ser_opt_time")]
    pub last_clock_in: Option<DateTime<Utc>>,
    pub certification_type: Option<CertificationType>,
    pub certification_number: Option<String>,
    pub certification_authority: Option<String>,
    pub certification_region: Option<String>,
    pub certification_expiry: Option<NaiveDate>,
    pub red_seal_certified: bool,
    pub red_seal_number: Option<String>,
    pub red_seal_province: Option<String>,
    pub is_brand_specialist: bool,
    pub brand_specializations: Vec<String>,
    pub service_keywords: Vec<String>,
    /// Matched sessions he may hold at once; at that many he is busy (SPEC §5).
    pub max_active_sessions: i64,
    /// Where his offers are sent (SPEC §2, §12).
    pub notify_via: Vec<Channel>,
    /// When he is expected on shift (SPEC §14): shown as `timezone` and `shifts`.
    #[serde(flatten)]
    pub plan: crate::schedule::WeeklyPlan,
    #[serde(serialize_with = "ser_time")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub updated_at: DateTime<Utc>,
}

// The profile-completion threshold, alone so that SQL which states the same rule (the
// integrity check) can bind it instead of repeating the number.

/// The minimum profile completion for taking sessions (SPEC §2).
pub const MIN_PROFILE_COMPLETION: i64 = 80;

/// The most days a prune or the retention setting reaches back (a century).
pub const MAX_RETENTION_DAYS: i64 = 36_500;

/// Why a mechanic can take no session at all, whatever it asks for: the account-level part of
/// [`WhyNot`], a type of its own so that whoever explains it must name every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountBar {
    Suspended,
    PendingApproval,
    ProfileIncomplete,
}

impl AccountBar {
    /// What a dispatcher reads beside the mechanic's name.
    pub fn label(self) -> &'static str {
        WhyNot::from(self).label()
    }
}

impl From<AccountBar> for WhyNot {
    fn from(bar: AccountBar) -> WhyNot {
        match bar {
            AccountBar::Suspended => WhyNot::Suspended,
            AccountBar::PendingApproval => WhyNot::PendingApproval,
            AccountBar::ProfileIncomplete => WhyNot::ProfileIncomplete,
        }
    }
}

/// Why a mechanic is left out of an intake's ranking before scoring (SPEC §3 "why not"), or
/// cannot take a session now. The first four leave him out of the ranking; the last two keep
/// him in it but without an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhyNot {
    Suspended,
    PendingApproval,
    ProfileIncomplete,
    NotBrandSpecialist,
    OffShift,
    /// At capacity (SPEC §5 "busy"); named so as not to be taken for a locked database.
    AtCapacity,
    /// Holds no live offer of the session, and its broadcast is not open yet.
    NotOffered,
}

impl WhyNot {
    pub fn as_str(self) -> &'static str {
        match self {
            WhyNot::Suspended => "suspended",
            WhyNot::PendingApproval => "pending_approval",
            WhyNot::ProfileIncomplete => "profile_incomplete",
            WhyNot::NotBrandSpecialist => "not_brand_specialist",
            WhyNot::OffShift => "off_shift",
            WhyNot::AtCapacity => "at_capacity",
            WhyNot::NotOffered => "not_offered",
        }
    }

    /// What a dispatcher reads beside the mechanic's name.
    pub fn label(self) -> &'static str {
        match self {
            WhyNot::Suspended => "suspended",
            WhyNot::PendingApproval => "pending approval",
            WhyNot::ProfileIncomplete => "profile under 80 %",
            WhyNot::NotBrandSpecialist => "not a specialist in the brand",
            WhyNot::OffShift => "off shift",
            WhyNot::AtCapacity => "busy (at capacity)",
            WhyNot::NotOffered => "no offer, and the broadcast is not open yet",
        }
    }
}

impl Mechanic {
    /// Why he can take no session at all, whatever it asks for: his account or his profile.
    /// The one statement of that rule (SPEC §2): ranking, accepting, the console and the
    /// eligibility report all ask it.
    pub fn account_exclusion(&self) -> Option<AccountBar> {
        match self.account_status {
            AccountStatus::Suspended => Some(AccountBar::Suspended),
            AccountStatus::Pending => Some(AccountBar::PendingApproval),
            AccountStatus::Approved if self.profile_completion_score < MIN_PROFILE_COMPLETION => {
                Some(AccountBar::ProfileIncomplete)
            }
            AccountStatus::Approved => None,
        }
    }

    /// Derived, never stored: nothing in [`Mechanic::account_exclusion`] bars him.
    pub fn can_accept_sessions(&self) -> bool {
        self.account_exclusion().is_none()
    }

    /// Whether the certification row of the scoring table applies (SPEC §3), without building
    /// the label: scoring asks this of every mechanic for every intake.
    pub fn is_certified(&self, today: NaiveDate) -> bool {
        self.certified_until() >= today
    }

    /// The last day the certification row applies: a current certification until it expires
    /// (for good if it never does), the legacy Red Seal for good; `NaiveDate::MIN` when neither.
    pub fn certified_until(&self) -> NaiveDate {
        match (self.certification_type, self.certification_expiry) {
            _ if self.red_seal_certified => NaiveDate::MAX,
            (Some(_), None) => NaiveDate::MAX,
            (Some(_), Some(expiry)) => expiry,
            (None, _) => NaiveDate::MIN,
        }
    }

    /// The certification a customer is shown, read from the current fields first and the legacy
    /// Red Seal fields as a fallback (SPEC §1 dual read), also when the current one expired.
    /// `None` when neither holds.
    pub fn certification(&self, today: NaiveDate) -> Option<Certification> {
        if let Some(kind) = self.certification_type {
            let valid = self.certification_expiry.is_none_or(|d| d >= today);
            if valid {
                return Some(Certification {
                    label: certification_label(kind),
                    number: self.certification_number.clone(),
                    region: self.certification_region.clone(),
                    legacy: false,
                });
            }
        }
        // SPEC §3: "certification_type set and not expired, *or* legacy red_seal_certified".
        if self.red_seal_certified {
            return Some(Certification {
                label: certification_label(CertificationType::RedSeal),
                number: self.red_seal_number.clone(),
                region: self.red_seal_province.clone(),
                legacy: true,
            });
        }
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certification {
    pub label: &'static str,
    pub number: Option<String>,
    pub region: Option<String>,
    /// True when the data came from the legacy `red_seal_*` fields.
    pub legacy: bool,
}

pub fn certification_label(kind: CertificationType) -> &'static str {
    match kind {
        CertificationType::RedSeal => "Red Seal",
        CertificationType::Provincial => "Provincial",
        CertificationType::Ase => "ASE",
        CertificationType::CpaQuebec => "CPA Québec",
        CertificationType::Manufacturer => "Manufacturer",
        CertificationType::Other => "Certified",
    }
}

/// Display tier of a match or offer (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    High,
    Good,
    Standard,
    Broadcast,
}

impl Tier {
    pub fn of_score(score: i64) -> Tier {
        if score >= 150 {
            Tier::High
        } else if score >= 100 {
            Tier::Good
        } else {
            Tier::Standard
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tier::High => "High Match",
            Tier::Good => "Good Match",
            Tier::Standard => "Standard",
            Tier::Broadcast => "Open to all mechanics",
        }
    }
}

impl Serialize for Tier {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// Serialised as its label, so described as the labels.
impl schemars::JsonSchema for Tier {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Tier".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let labels: Vec<&str> = [Tier::High, Tier::Good, Tier::Standard, Tier::Broadcast]
            .iter()
            .map(|t| t.label())
            .collect();
        schemars::json_schema!({"type": "string", "enum": labels})
    }
}

pub fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::clock::rfc3339(*t))
}

pub fn ser_opt_time<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&crate::clock::rfc3339(*t)),
        None => s.serialize_none(),
    }
}

text_enum!(MatchType { Targeted = "targeted", Broadcast = "broadcast" });

/// A customer's request as taken by the dispatcher.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Intake {
    pub id: String,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub country: String,
    pub province: Option<String>,
    pub city: Option<String>,
    pub postal_code: String,
    pub vehicle_year: Option<i64>,
    pub vehicle_make: Option<String>,
    pub vehicle_model: Option<String>,
    pub vehicle_vin: Option<String>,
    pub concern: String,
    #[serde(serialize_with = "ser_time")]
    pub created_at: DateTime<Utc>,
}

/// A session (SPEC §2); `metadata` is the JSON object of SPEC §4.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    pub id: String,
    pub intake_id: String,
    pub status: SessionStatus,
    pub payment_method: PaymentMethod,
    pub urgent: bool,
    pub request_type: RequestType,
    pub requested_brands: Vec<String>,
    pub preferred_mechanic_id: Option<String>,
    pub waiver_signed: bool,
    pub payment_confirmed: bool,
    pub matched_mechanic_id: Option<String>,
    pub metadata: serde_json::Value,
    #[serde(serialize_with = "ser_time")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_opt_time")]
    pub released_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_time")]
    pub matched_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_time")]
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_time")]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Booked for later (SPEC §14); absent from the output of sessions that were not.
    #[serde(
        serialize_with = "ser_opt_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub scheduled_for: Option<DateTime<Utc>>,
}

/// The release gate (SPEC §4.7): the waiver signed, and for `paid` also the payment confirmed.
pub fn gate_clear(waiver_signed: bool, method: PaymentMethod, payment_confirmed: bool) -> bool {
    waiver_signed && (method != PaymentMethod::Paid || payment_confirmed)
}

impl Session {
    /// Released sessions have their offers live.
    pub fn gate_clear(&self) -> bool {
        gate_clear(
            self.waiver_signed,
            self.payment_method,
            self.payment_confirmed,
        )
    }

    /// Its metadata, read through the one type that knows its keys.
    pub fn meta(&self) -> SessionMeta<'_> {
        SessionMeta(&self.metadata)
    }
}

/// A session's metadata (SPEC §2) as the engine, the console and the messages read it: every
/// key any of them reads, with its type and its default, in one place. (It is stored as the
/// JSON the intake wrote, so the API and `session` output show it whole.)
#[derive(Debug, Clone, Copy)]
pub struct SessionMeta<'a>(&'a serde_json::Value);

impl<'a> SessionMeta<'a> {
    /// Reads metadata held apart from its session (tests, a row read whole).
    pub fn of(metadata: &'a serde_json::Value) -> SessionMeta<'a> {
        SessionMeta(metadata)
    }

    fn text(self, key: &str) -> Option<&'a str> {
        self.0.get(key).and_then(|v| v.as_str())
    }

    /// The keywords the intake's concern matched, in the order found.
    pub fn keywords(self) -> Vec<&'a str> {
        self.0
            .get("extracted_keywords")
            .and_then(|v| v.as_array())
            .map(|list| list.iter().filter_map(|k| k.as_str()).collect())
            .unwrap_or_default()
    }

    pub fn vehicle_make(self) -> Option<&'a str> {
        self.text("vehicle_make")
    }

    pub fn customer_country(self) -> Option<&'a str> {
        self.text("customer_country")
    }

    pub fn customer_postal_code(self) -> Option<&'a str> {
        self.text("customer_postal_code")
    }

    pub fn customer_city(self) -> Option<&'a str> {
        self.text("customer_city")
    }

    /// Whether local mechanics score higher (SPEC §3); on unless the intake said otherwise.
    pub fn prefer_local(self) -> bool {
        self.0
            .get("prefer_local")
            .and_then(|v| v.as_bool())
            .unwrap_or(true)
    }

    /// Why matching failed, when it did (the session fell back to broadcast).
    pub fn matching_error(self) -> Option<&'a str> {
        self.text("matching_error")
    }

    /// Escalated to a dispatcher (SPEC §5).
    pub fn escalated(self) -> bool {
        self.0.get("escalated_at").is_some()
    }

    /// A booking released with every match off shift (SPEC §14: the console's cue).
    pub fn released_all_offline(self) -> bool {
        self.0["release"]["all_offline"] == true
    }

    /// The ranked matches kept from intake, best first.
    pub fn top_matches(self) -> Vec<StoredMatch<'a>> {
        let list = |v: Option<&'a serde_json::Value>| v.and_then(|v| v.as_array());
        list(self.0.pointer("/matching_results/top"))
            .into_iter()
            .flatten()
            .map(|m| StoredMatch {
                mechanic: m.get("mechanic_id").and_then(|v| v.as_str()).unwrap_or("?"),
                score: m.get("score").and_then(|v| v.as_i64()).unwrap_or(0),
                reasons: list(m.get("reasons"))
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        (
                            r.get("points").and_then(|v| v.as_i64()).unwrap_or(0),
                            r.get("reason").and_then(|v| v.as_str()).unwrap_or(""),
                        )
                    })
                    .collect(),
            })
            .collect()
    }
}

/// One match as a session's metadata keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMatch<'a> {
    pub mechanic: &'a str,
    pub score: i64,
    /// (points, reason), in the scoring table's order.
    pub reasons: Vec<(i64, &'a str)>,
}

/// One offer of a session to a mechanic (targeted) or to everyone on shift (broadcast).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    pub id: String,
    pub session_id: String,
    pub mechanic_id: Option<String>,
    pub status: AssignmentStatus,
    pub priority: Priority,
    pub match_score: Option<i64>,
    pub match_reasons: Vec<String>,
    #[serde(serialize_with = "ser_opt_time")]
    pub offered_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_time")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_time")]
    pub active_from: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_time")]
    pub accepted_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "ser_opt_time")]
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_reason: Option<String>,
    pub metadata: serde_json::Value,
    #[serde(serialize_with = "ser_time")]
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub match_type: MatchType,
}

impl Assignment {
    pub fn is_broadcast(&self) -> bool {
        self.match_type == MatchType::Broadcast
    }

    /// A targeted offer a mechanic can still accept at `now`.
    pub fn is_live_offer(&self, now: DateTime<Utc>) -> bool {
        self.match_type == MatchType::Targeted
            && self.status == AssignmentStatus::Offered
            && self.expires_at.is_some_and(|t| t > now)
    }

    /// A broadcast any eligible on-shift mechanic can take at `now`: activated already, or
    /// due by its `active_from` even if no tick has run since.
    pub fn is_open_broadcast(&self, now: DateTime<Utc>) -> bool {
        self.match_type == MatchType::Broadcast
            && (self.status == AssignmentStatus::Offered
                || (self.status == AssignmentStatus::Queued
                    && self.active_from.is_some_and(|t| t <= now)))
    }

    pub fn tier(&self) -> Tier {
        if self.is_broadcast() {
            Tier::Broadcast
        } else {
            Tier::of_score(self.match_score.unwrap_or(0))
        }
    }
}

/// A customer waiting for a mechanic to come online (SPEC §6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitlistEntry {
    pub id: String,
    pub session_id: Option<String>,
    pub customer_name: String,
    pub customer_email: Option<String>,
    pub customer_phone: Option<String>,
    pub notify_via: Vec<Channel>,
    pub status: WaitlistStatus,
    #[serde(serialize_with = "ser_time")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    pub expires_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_opt_time")]
    pub notified_at: Option<DateTime<Utc>>,
    pub notified_mechanic_id: Option<String>,
}

text_enum!(NotificationKind {
    WaitlistOnline = "waitlist_online",
    Offer = "offer",
    Matched = "matched",
    Escalation = "escalation",
});
// Where an outbox row goes: the customer and mechanic channels, and the dispatcher's own.
text_enum!(Route { Email = "email", Sms = "sms", Push = "push", Dispatcher = "dispatcher" });
text_enum!(DeliveryStatus {
    Pending = "pending",
    Sent = "sent",
    Dead = "dead",
    Skipped = "skipped",
});
// Why an offer's message was not sent: when a relay took it, the offer was no longer live. The
// mechanic had accepted it already (`accepted`, through another channel), another mechanic took
// the session (`taken`), he declined it, its two minutes had passed (`expired`), it was withdrawn
// when he clocked out or reached his capacity (`withdrawn`), or the session was cancelled.
text_enum!(SkipReason {
    Accepted = "accepted",
    Taken = "taken",
    Declined = "declined",
    Expired = "expired",
    Withdrawn = "withdrawn",
    Cancelled = "cancelled",
});

impl From<Channel> for Route {
    fn from(c: Channel) -> Route {
        match c {
            Channel::Email => Route::Email,
            Channel::Sms => Route::Sms,
            Channel::Push => Route::Push,
        }
    }
}

/// The short reference a person reads out for a session: the whole id when it is short (the
/// console's `S-7F3A9C`, a caller's own short ids), else its first eight characters, as a UUID's
/// first group (git shows commits the same way). Messages and the console name sessions so.
pub fn session_ref(id: &str) -> &str {
    const WHOLE_UP_TO: usize = 12;
    const SHORT: usize = 8;
    if id.chars().count() <= WHOLE_UP_TO {
        return id;
    }
    let end = id.char_indices().nth(SHORT).map_or(id.len(), |(i, _)| i);
    &id[..end]
}

/// One outbox message on one channel, with its delivery state (SPEC §12).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// Also the idempotency key receivers de-duplicate by.
    pub id: String,
    /// Insertion order, for feeds that show what is new; not part of the protocol.
    #[serde(skip)]
    pub seq: i64,
    pub kind: NotificationKind,
    pub channel: Route,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub session: Option<String>,
    pub waitlist_id: Option<String>,
    #[serde(serialize_with = "ser_time")]
    pub created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    pub attempts: i64,
    #[serde(serialize_with = "ser_time")]
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "ser_opt_time")]
    pub sent_at: Option<DateTime<Utc>>,
    /// The offer an `offer` message announces; not part of the protocol.
    #[serde(skip)]
    pub assignment: Option<String>,
    /// An offer's deadline (offers only).
    #[serde(serialize_with = "ser_opt_time")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Why a `skipped` row was not sent.
    pub skip_reason: Option<SkipReason>,
    /// The page link the relay added to this send (an offer's answer link, a customer's status
    /// link). Made at send time and never stored: only its hash is kept.
    #[serde(skip)]
    pub link: Option<String>,
}
