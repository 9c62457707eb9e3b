//! The console's shared state and the types that pass between `update` and the panes: the
//! `App` with every pane's state, the modes, the requests and effects. It names neither `app`
//! nor `panes`, so both can depend on it and not on each other: panes and overlays read and
//! change this state, `app` dispatches to them.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tui_input::Input;

use super::theme::Theme;
use crate::command::Command;
use crate::engine::views::Snapshot;
use crate::engine::{BrowseOutcome, IntakeOutcome};

/// A pane: its place in the panes' `REGISTRY`, which is also its tab number
/// less one. The six of the console are named for convenience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pane(pub usize);

#[allow(non_upper_case_globals)]
impl Pane {
    pub const Intake: Pane = Pane(0);
    pub const Queues: Pane = Pane(1);
    pub const Mechanics: Pane = Pane(2);
    pub const Waitlist: Pane = Pane(3);
    pub const Metrics: Pane = Pane(4);
}

/// What the keyboard is talking to right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Typing into an intake field.
    Editing,
    /// Typing the current pane's filter.
    Filter,
    Help,
    Confirm(Confirm),
    /// Choosing which mechanic takes an open broadcast.
    Picker(Picker),
    /// The session detail overlay, with its scroll offset.
    Detail {
        scroll: u16,
    },
    /// A mechanic's whole record, with its scroll offset.
    Mechanic {
        id: String,
        scroll: u16,
    },
    /// A waitlist entry whole (its id), with its scroll offset.
    Entry {
        id: String,
        scroll: u16,
    },
    /// Typing a mechanic's weekly plan (the editor lives in `MechanicsState`).
    PlanEditor,
}

impl Mode {
    /// An overlay that scrolls, scrolled by `by` rows (negative: up); other modes unchanged.
    pub fn scrolled(self, by: i16) -> Mode {
        let step = |s: u16| s.saturating_add_signed(by);
        match self {
            Mode::Detail { scroll } => Mode::Detail {
                scroll: step(scroll),
            },
            Mode::Mechanic { id, scroll } => Mode::Mechanic {
                id,
                scroll: step(scroll),
            },
            Mode::Entry { id, scroll } => Mode::Entry {
                id,
                scroll: step(scroll),
            },
            other => other,
        }
    }
}

/// A destructive action waiting for `y`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    CancelSession(String),
    /// Completing a matched session ends it for good (it leaves every live list).
    CompleteSession(String),
    CancelEntry(String),
    /// Clocking out a mechanic who holds live offers withdraws them.
    ClockOut {
        mechanic: String,
        name: String,
        offers: i64,
    },
    /// Starting a new intake throws away what the form holds.
    ClearForm,
    /// Quitting (q or Ctrl-C) with a typed form would throw it away.
    Quit,
}

/// The broadcast's "accept as" list: only mechanics the engine says may take the session now
/// (its `eligibility` command), best match first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub session: String,
    pub mechanics: Vec<crate::engine::EligibilityRow>,
    pub selected: usize,
}

/// Why a command was run, so its result lands in the right place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// The intake form's live keyword and match preview.
    Preview,
    Submit,
    /// The session detail overlay's full record.
    Detail,
    /// Who may take a session's broadcast, for the "accept as" picker.
    Pick,
    /// A choice on the offline card (preferred mechanic, waitlist); the text is the note shown
    /// on the card and in the status line.
    OfflineChoice(String),
    /// A mechanic's plan from the editor, which stays open (with what was typed) until the
    /// engine accepts it; the text is the confirmation.
    SavePlan(String),
    /// The offline card's slots to schedule for later.
    Slots,
    /// The result card's session, read again once it left the live lists.
    Follow,
    /// Space on a mechanic on shift: his queue read at that moment, so clocking him out asks
    /// first whenever he holds a live offer (the last snapshot may be a moment old).
    ClockOutCheck {
        mechanic: String,
        name: String,
    },
    /// A booking made from the offline card; the session it stands in for is cancelled once
    /// the booking is made (not before: a failed booking must leave the customer in line).
    Book {
        replaces: String,
    },
    /// Any other action; the text is the confirmation shown on success.
    Act(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The pane that asked: the result goes back to it (its `PaneDef::done`).
    pub from: Pane,
    pub command: Command,
    pub purpose: Purpose,
}

/// What a pane's [`Read`] found, of a type only that pane knows (and downcasts).
pub type Found = Box<dyn std::any::Any>;

/// A read beyond what the engine's commands answer (the console's own views, not part of the
/// protocol), asked by a pane and answered to that pane alone (its `PaneDef::found`): a pane
/// with reads of its own needs no variant here, in `Action`, or in the runtime.
#[derive(Clone)]
pub struct Read {
    pub pane: Pane,
    /// What to read (a search, an id), handed to `run`.
    pub key: String,
    pub run: fn(&mut crate::engine::Engine, &str) -> Result<Found, crate::error::DispatchError>,
}

impl PartialEq for Read {
    fn eq(&self, other: &Read) -> bool {
        self.pane == other.pane
            && self.key == other.key
            && std::ptr::fn_addr_eq(self.run, other.run)
    }
}

impl std::fmt::Debug for Read {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Read")
            .field("pane", &self.pane)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

// Effects and actions live one at a time on the way through `update`; boxing their larger
// variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Run(Request),
    Read(Read),
    /// Reload the snapshot (after a change, or to pick up metrics).
    Refresh,
    Bell,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub kind: ToastKind,
    pub text: String,
}

pub struct App {
    pub pane: Pane,
    pub mode: Mode,
    pub now: DateTime<Utc>,
    pub data: Snapshot,
    pub theme: Theme,
    pub size: (u16, u16),
    pub toast: Option<Toast>,
    /// A visible cue for something that arrived (notification, high-priority offer).
    pub alert: Option<String>,
    /// Trouble in the background (a delivery transport missing or failing), said beside the
    /// toast rather than over it: the result of what the dispatcher just did stays readable.
    pub warning: Option<String>,
    /// When the toast or alert appeared; both fade after [`CUE_SECONDS`].
    pub(crate) cue_at: Option<DateTime<Utc>>,
    pub bell: bool,
    pub intake: IntakeState,
    pub queues: QueuesState,
    pub mechanics: MechanicsState,
    pub(crate) seen_notifications: Option<i64>,
    pub(crate) seen_offers: Option<HashSet<String>>,
    /// Escalated sessions already announced, so each is announced once.
    pub(crate) seen_escalated: Option<HashSet<String>>,
    /// Sessions this console created: their offers are no news to the dispatcher who made them.
    pub own_sessions: HashSet<String>,
    /// The state of panes that keep their own (see the pane's `PaneDef::state`), by
    /// pane: a pane added later needs no field here.
    pub(crate) pane_states: Vec<Option<Box<dyn std::any::Any>>>,
    /// Where the ids of sessions taken at this console come from: injected, so a test or a
    /// scripted demo repeats them.
    pub ids: crate::ids::Ids,
    /// Shown at the start of the status line while a simulation drives this database
    /// (`pitwall demo`): "SIMULATION ×10".
    pub simulation: Option<String>,
}

/// Seconds a toast or alert stays on the status line.
pub const CUE_SECONDS: i64 = 8;

/// The smallest terminal the console lays out in.
pub const MIN_SIZE: (u16, u16) = (80, 24);

/// How a key shows in the footer now: whether it is listed, whether it can do anything, and
/// what it does here (some keys mean something more precise in what the pane shows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyState {
    pub shown: bool,
    pub enabled: bool,
    /// Listed before the pane's usual keys: they belong to what is on screen now.
    pub promoted: bool,
    pub help: &'static str,
}

/// The row of a table (bordered, one header line, drawn from `top` within the body, `height`
/// rows tall) under body row `y`, given the selected row: ratatui keeps the selection in view
/// from the top, so the first row shown is the one that puts the selection last.
pub fn table_row_at(y: u16, top: u16, height: u16, selected: usize, len: usize) -> Option<usize> {
    let first_row = top + 2;
    let shown = usize::from(height.saturating_sub(3));
    if y < first_row || shown == 0 {
        return None;
    }
    let offset = (selected + 1).saturating_sub(shown);
    let i = offset + usize::from(y - first_row);
    (i < len && usize::from(y - first_row) < shown).then_some(i)
}

// The panes' own state, kept here so `App` can hold it without naming `panes`; each pane
// has its behaviour (inherent impls) in its own file.

/// What happens after the offline card is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offline {
    Card,
    Browse {
        selected: usize,
    },
    Waitlist {
        channels: [bool; 3],
        selected: usize,
    },
    /// Schedule for later (SPEC §14): the hourly slots with planned mechanics, once loaded.
    Schedule {
        slots: Option<Vec<crate::engine::SlotView>>,
        selected: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Submitted {
    pub outcome: IntakeOutcome,
    pub offline: Option<Offline>,
    /// Set when the customer picked an offline mechanic or joined the waitlist.
    pub follow_up: Option<String>,
    /// What was submitted: the slots to offer and the booking to make are asked with it.
    pub request: Option<crate::command::IntakeRequest>,
    /// The session as last read once it left the live lists (completed, cancelled): the card
    /// follows its session to the end.
    pub ended: Option<crate::engine::SessionDetail>,
    /// A booking made from the offline card: the session it replaced (withdrawn), whose
    /// reference the customer was told first.
    pub replaced: Option<String>,
}

#[derive(Debug, Clone)]
pub struct IntakeState {
    /// One text input per field (choices and flags hold their current value); the cursor
    /// editing lives in tui-input.
    pub(crate) values: Vec<Input>,
    pub focus: usize,
    pub errors: HashMap<String, String>,
    pub preview: Option<BrowseOutcome>,
    pub result: Option<Submitted>,
    /// The preview lists the mechanics left out, with why, instead of the best matches.
    pub show_excluded: bool,
}

/// Which of the pane's two vertical lists ↑/↓ move in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Focus {
    #[default]
    Sessions,
    Offers,
}

#[derive(Debug, Clone, Default)]
pub struct QueuesState {
    pub selected: usize,
    pub offer: usize,
    /// The session the offer cursor belongs to: another session starts at its top offer.
    pub offer_of: Option<String>,
    pub focus: Focus,
    /// The session to select at the next snapshot: the one just created at this console, or
    /// the one selected before the list changed under it (a new session sorted above it must
    /// not move the selection onto another customer).
    pub follow: Option<String>,
    pub filter: String,
    /// The session shown in the detail overlay, loaded in full when it opens.
    pub detail: Option<crate::engine::SessionDetail>,
}

#[derive(Debug, Clone, Default)]
pub struct MechanicsState {
    pub selected: usize,
    pub filter: String,
    pub online_only: bool,
    /// The weekly plan being edited, while `Mode::PlanEditor`.
    pub editor: Option<PlanEditor>,
}

/// A mechanic's plan in its one-line form (`crate::schedule::to_line`), as typed.
#[derive(Debug, Clone, Default)]
pub struct PlanEditor {
    pub mechanic: String,
    pub name: String,
    pub input: Input,
}
