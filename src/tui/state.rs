//! The console's shared state and the types that pass between `update` and the panes: the
//! `App` with what the panes share (each pane's own state is a type in its own file, held in
//! `App::panes`), the modes, the requests and effects. It names neither `app` nor `panes`, so
//! both can depend on it and not on each other: panes and overlays read and change this state,
//! `app` dispatches to them.

use std::any::Any;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::theme::Theme;
use crate::command::Command;
use crate::engine::views::Snapshot;

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
    /// Typing a mechanic's weekly plan (the editor is the mechanics pane's state).
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

/// Why a pane asked for a command: a value of that pane's own type (an enum private to its
/// file), carried with the request and handed back with the result to the pane that asked (its
/// `PaneDef::done`), which alone reads it. A new kind of request is a variant in the pane's own
/// file: nothing here or in `app` names it.
#[derive(Clone)]
pub struct Purpose {
    tag: Arc<dyn Any + Send + Sync>,
    same: fn(&dyn Any, &dyn Any) -> bool,
    show: fn(&dyn Any, &mut fmt::Formatter<'_>) -> fmt::Result,
}

impl Purpose {
    pub fn new<T: Any + Send + Sync + PartialEq + fmt::Debug>(tag: T) -> Purpose {
        Purpose {
            tag: Arc::new(tag),
            same: |a, b| match (a.downcast_ref::<T>(), b.downcast_ref::<T>()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
            show: |a, f| match a.downcast_ref::<T>() {
                Some(a) => fmt::Debug::fmt(a, f),
                None => f.write_str("?"),
            },
        }
    }

    /// The tag, when it is a `T` (a pane asks only for its own type).
    pub fn get<T: Any>(&self) -> Option<&T> {
        let tag: &dyn Any = &*self.tag;
        tag.downcast_ref()
    }
}

impl PartialEq for Purpose {
    fn eq(&self, other: &Purpose) -> bool {
        (self.same)(&*self.tag, &*other.tag)
    }
}

impl fmt::Debug for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.show)(&*self.tag, f)
    }
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

/// The panes' own states, by place in the registry; each is reached by its type
/// (`PaneStates::get`, in `panes`), which only the pane that declares it names.
pub struct PaneStates(pub(crate) Vec<Option<Box<dyn Any>>>);

impl PaneStates {
    /// A pane's own state, when it keeps one of type `T`.
    pub fn at<T: 'static>(&self, pane: Pane) -> Option<&T> {
        self.0.get(pane.0)?.as_ref()?.downcast_ref()
    }

    pub fn at_mut<T: 'static>(&mut self, pane: Pane) -> Option<&mut T> {
        self.0.get_mut(pane.0)?.as_mut()?.downcast_mut()
    }
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
    pub(crate) seen_notifications: Option<i64>,
    pub(crate) seen_offers: Option<HashSet<String>>,
    /// Escalated sessions already announced, so each is announced once.
    pub(crate) seen_escalated: Option<HashSet<String>>,
    /// Sessions this console created: their offers are no news to the dispatcher who made them.
    pub own_sessions: HashSet<String>,
    /// Each pane's own state (made by its `PaneDef::state`): a pane added later needs no
    /// field here. A field of its own, so a pane can hold its state and read `data` at once.
    pub panes: PaneStates,
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
