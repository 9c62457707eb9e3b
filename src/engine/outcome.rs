//! What each command returns. Serialised, these are the headless protocol's output fields
//! (SPEC §8); the console reads the same values.

use schemars::JsonSchema;
use serde::Serialize;

/// A stored record (a mechanic, session, assignment, waitlist entry, notification), described as
/// an object: its fields are the columns of the schema, as `session` and `mechanics` show them.
type Record = serde_json::Map<String, serde_json::Value>;

use crate::matching::ScoredReason;
use crate::model::{
    Assignment, Mechanic, Notification, Priority, Session, SessionStatus, Tier, WaitlistEntry,
};
use crate::report::Metrics;
use crate::store::settings::SmartMatching;

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    Mechanic(Box<MechanicOutcome>),
    Count(CountOutcome),
    Mechanics(MechanicsOutcome),
    Intake(Box<IntakeOutcome>),
    Browse(BrowseOutcome),
    SessionStatus(SessionStatusOutcome),
    Assignment(AssignmentOutcome),
    Queue(QueueOutcome),
    Session(Box<SessionOutcome>),
    Entry(EntryOutcome),
    Entries(EntriesOutcome),
    Notifications(NotificationsOutcome),
    Delivered(crate::delivery::PassReport),
    Flag(FlagOutcome),
    Settings(SettingsOutcome),
    Eligibility(EligibilityOutcome),
    Tick(TickOutcome),
    Slots(SlotsOutcome),
    Now(NowOutcome),
    Report(Box<Metrics>),
}

/// A mechanic as shown: the stored record plus the derived `can_accept_sessions`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MechanicView {
    #[serde(flatten)]
    #[schemars(with = "Record")]
    pub mechanic: Mechanic,
    pub can_accept_sessions: bool,
}

impl From<Mechanic> for MechanicView {
    fn from(mechanic: Mechanic) -> Self {
        MechanicView {
            can_accept_sessions: mechanic.can_accept_sessions(),
            mechanic,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MechanicOutcome {
    pub mechanic: MechanicView,
    /// clock_in: waitlist entries notified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notified: Option<Vec<String>>,
    /// clock_in: targeted offers made on sessions that prefer this mechanic or whose waitlist
    /// entry he woke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offers: Option<Vec<String>>,
    /// clock_in: open broadcasts he may take now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open: Option<usize>,
    /// clock_out: live targeted offers withdrawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CountOutcome {
    pub count: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MechanicsOutcome {
    pub mechanics: Vec<MechanicView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SessionBrief {
    pub id: String,
    pub status: SessionStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct MatchView {
    pub mechanic: String,
    pub name: String,
    pub score: i64,
    pub tier: Tier,
    pub on_shift: bool,
    /// At capacity: ranked, but offered nothing.
    pub busy: bool,
    pub reasons: Vec<ScoredReason>,
}

/// A mechanic left out before scoring, and why (SPEC §3 "why not").
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ExcludedView {
    pub mechanic: String,
    pub name: String,
    pub reason: crate::model::WhyNot,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TargetedView {
    pub assignment: String,
    pub mechanic: String,
    pub score: i64,
    /// `None` while the session waits for its release gate.
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BroadcastView {
    pub assignment: String,
    pub active_from: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct IntakeOutcome {
    pub session: SessionBrief,
    pub keywords: Vec<&'static str>,
    pub smart_matching: bool,
    pub matches: Vec<MatchView>,
    /// Offers made now; absent for a session booked for later (SPEC §14), which gets them when
    /// the tick releases it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targeted: Option<Vec<TargetedView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broadcast: Option<BroadcastView>,
    pub all_offline: bool,
    pub all_busy: bool,
    pub excluded: Vec<ExcludedView>,
    pub excluded_total: usize,
    /// Booked for later: when (SPEC §14).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_for: Option<String>,
    /// Booked for later: the eligible mechanics whose plan covers that time, ranked by §3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned: Option<Vec<MatchView>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BrowseOutcome {
    pub keywords: Vec<&'static str>,
    pub matches: Vec<MatchView>,
    pub all_offline: bool,
    pub all_busy: bool,
    pub excluded: Vec<ExcludedView>,
    pub excluded_total: usize,
    /// Eligible mechanics in all (the list shows the best of them).
    pub total_matches: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionStatusOutcome {
    pub session: SessionBrief,
    /// set_preferred: targeted offers made at once (the mechanic was on shift).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offers: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AssignmentOutcome {
    pub assignment: String,
    pub session: SessionBrief,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct QueueRow {
    pub assignment: String,
    pub session: String,
    pub status: crate::model::AssignmentStatus,
    pub priority: Priority,
    pub tier: Tier,
    pub score: Option<i64>,
    pub reasons: Vec<String>,
    /// Seconds until a targeted offer lapses; `None` for broadcasts and accepted sessions.
    pub seconds_left: Option<i64>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct QueueOutcome {
    pub mine: Vec<QueueRow>,
    pub open: Vec<QueueRow>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionDetail {
    #[serde(flatten)]
    #[schemars(with = "Record")]
    pub session: Session,
    #[schemars(with = "Vec<Record>")]
    pub assignments: Vec<Assignment>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SessionOutcome {
    pub session: SessionDetail,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EntryOutcome {
    #[schemars(with = "Record")]
    pub entry: WaitlistEntry,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EntriesOutcome {
    #[schemars(with = "Vec<Record>")]
    pub entries: Vec<WaitlistEntry>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NotificationsOutcome {
    #[schemars(with = "Vec<Record>")]
    pub notifications: Vec<Notification>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FlagOutcome {
    #[schemars(with = "Record")]
    pub flag: SmartMatching,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SettingsOutcome {
    pub settings: Settings,
}

/// The dispatch settings a supervisor tunes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Settings {
    pub escalate_after_seconds: i64,
}

/// Who may take a session now, and why not the others: the engine's own rule, which the
/// console's broadcast picker shows instead of guessing.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EligibilityOutcome {
    pub session: String,
    /// Those who may take it first (best score first), then the others by name.
    pub mechanics: Vec<EligibilityRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct EligibilityRow {
    pub mechanic: String,
    pub name: String,
    pub city: Option<String>,
    pub brands: Vec<String>,
    pub keywords: Vec<String>,
    /// The mechanic's score for this session; none for one who can take no session at all.
    pub score: Option<i64>,
    pub may_take: bool,
    /// Why not, when he may not.
    pub reason: Option<crate::model::WhyNot>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct TickOutcome {
    pub now: String,
    pub expired: Vec<String>,
    pub activated: Vec<String>,
    pub waitlist_expired: Vec<String>,
    /// Mechanics clocked out for leaving three offers in a row unanswered.
    pub auto_clocked_out: Vec<String>,
    /// Sessions still waiting long after their release, escalated now.
    pub escalated: Vec<String>,
    /// Scheduled sessions released now, ten minutes before their time (SPEC §14).
    pub released: Vec<String>,
}

impl TickOutcome {
    pub fn is_empty(&self) -> bool {
        self.expired.is_empty()
            && self.activated.is_empty()
            && self.waitlist_expired.is_empty()
            && self.auto_clocked_out.is_empty()
            && self.escalated.is_empty()
            && self.released.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NowOutcome {
    pub now: String,
}

/// `slots` (SPEC §14): hours in which eligible mechanics are planned on shift.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SlotsOutcome {
    pub slots: Vec<SlotView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SlotView {
    /// On the hour, UTC.
    pub start: String,
    /// Eligible mechanics planned on shift at that hour.
    pub mechanics: usize,
    /// The best of them by SPEC §3, at most three, best first.
    pub top: Vec<String>,
}
