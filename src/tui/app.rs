//! Console state and the pure `update`: keys and engine results in, state changes and effects
//! out. Nothing here touches the terminal or the database; the runtime carries effects out and
//! feeds their results back as actions, so a whole flow can be driven in a test.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::keymap::{self, Op, Scope};
use super::panes::{self, intake, mechanics, queues, waitlist};
use super::theme::Theme;
use crate::command::Command;
use crate::engine::Outcome;
use crate::engine::views::Snapshot;
use crate::error::DispatchError;

/// A pane: its place in [`REGISTRY`](super::panes::REGISTRY), which is also its tab number
/// less one. The five of the demo are named for convenience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pane(pub usize);

#[allow(non_upper_case_globals)]
impl Pane {
    pub const Intake: Pane = Pane(0);
    pub const Queues: Pane = Pane(1);
    pub const Mechanics: Pane = Pane(2);
    pub const Waitlist: Pane = Pane(3);
    pub const Metrics: Pane = Pane(4);

    /// Every pane, in tab order.
    pub fn all() -> impl Iterator<Item = Pane> {
        (0..panes::REGISTRY.len()).map(Pane)
    }

    /// What the console asks of this pane.
    pub fn def(self) -> &'static panes::PaneDef {
        panes::REGISTRY[self.0 % panes::REGISTRY.len()]
    }

    pub fn title(self) -> &'static str {
        self.def().title
    }

    /// How the pane's tab reads in the header.
    pub fn tab_label(self) -> String {
        format!(" {} {} ", self.0 + 1, self.title())
    }
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
}

impl Mode {
    /// An overlay that scrolls, scrolled by `by` rows (negative: up); other modes unchanged.
    fn scrolled(self, by: i16) -> Mode {
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
    /// Any other action; the text is the confirmation shown on success.
    Act(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub command: Command,
    pub purpose: Purpose,
}

// Effects and actions live one at a time on the way through `update`; boxing their larger
// variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Run(Request),
    /// Reload the snapshot (after a change, or to pick up metrics).
    Refresh,
    Bell,
    Quit,
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste): typed into the field being edited.
    Paste(String),
    /// A click or the wheel, where the terminal reports the mouse.
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The clock moved (every second), so countdowns move.
    Clock(DateTime<Utc>),
    Snapshot(Box<Snapshot>),
    Done(Purpose, Result<Outcome, DispatchError>),
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
    /// When the toast or alert appeared; both fade after [`CUE_SECONDS`].
    cue_at: Option<DateTime<Utc>>,
    pub bell: bool,
    pub intake: intake::IntakeState,
    pub queues: queues::QueuesState,
    pub mechanics: mechanics::MechanicsState,
    pub waitlist: waitlist::WaitlistState,
    seen_notifications: Option<i64>,
    seen_offers: Option<HashSet<String>>,
    /// Escalated sessions already announced, so each is announced once.
    seen_escalated: Option<HashSet<String>>,
    /// Sessions this console created: their offers are no news to the dispatcher who made them.
    pub own_sessions: HashSet<String>,
    /// The state of panes that keep their own (see [`PaneDef::state`](panes::PaneDef)), by
    /// pane: a pane added later needs no field here.
    pane_states: Vec<Option<Box<dyn std::any::Any>>>,
}

/// Seconds a toast or alert stays on the status line.
pub const CUE_SECONDS: i64 = 8;

/// The smallest terminal the console lays out in.
pub const MIN_SIZE: (u16, u16) = (80, 24);

impl App {
    pub fn new(now: DateTime<Utc>, theme: Theme) -> App {
        App {
            pane: Pane::Intake,
            mode: Mode::Normal,
            now,
            data: Snapshot::default(),
            theme,
            size: (120, 40),
            toast: None,
            alert: None,
            cue_at: None,
            bell: true,
            intake: intake::IntakeState::default(),
            queues: queues::QueuesState::default(),
            mechanics: mechanics::MechanicsState::default(),
            waitlist: waitlist::WaitlistState::default(),
            seen_notifications: None,
            seen_offers: None,
            seen_escalated: None,
            own_sessions: HashSet::new(),
            pane_states: panes::REGISTRY
                .iter()
                .map(|p| p.state.map(|make| make()))
                .collect(),
        }
    }

    /// A pane's own state, when it keeps one of type `T`.
    pub fn pane_state<T: 'static>(&self, pane: Pane) -> Option<&T> {
        self.pane_states.get(pane.0)?.as_ref()?.downcast_ref()
    }

    pub fn pane_state_mut<T: 'static>(&mut self, pane: Pane) -> Option<&mut T> {
        self.pane_states.get_mut(pane.0)?.as_mut()?.downcast_mut()
    }

    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_SIZE.0 || self.size.1 < MIN_SIZE.1
    }

    /// The keymap scopes that apply now, most specific first.
    pub fn scopes(&self) -> Vec<Scope> {
        match &self.mode {
            Mode::Normal => vec![Scope::Pane(self.pane), Scope::Global],
            Mode::Editing if self.intake.focus_is_text() => vec![Scope::Editing],
            Mode::Editing => vec![Scope::Choosing],
            Mode::Filter => vec![Scope::Filter],
            Mode::Help => vec![Scope::Help],
            Mode::Confirm(_) => vec![Scope::Confirm],
            Mode::Picker(_) => vec![Scope::Picker],
            Mode::Detail { .. } | Mode::Mechanic { .. } | Mode::Entry { .. } => vec![Scope::Detail],
        }
    }

    pub fn info(&mut self, text: impl Into<String>) {
        self.toast = Some(Toast {
            kind: ToastKind::Info,
            text: text.into(),
        });
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.toast = Some(Toast {
            kind: ToastKind::Error,
            text: text.into(),
        });
    }

    /// A mechanic's name from the roster, or the id when the roster does not have him.
    pub fn mechanic_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.data
            .roster
            .iter()
            .find(|r| r.mechanic.id == id)
            .map_or(id, |r| r.mechanic.name.as_str())
    }

    /// Whether the metrics pane needs figures in the next snapshot.
    pub fn wants_metrics(&self) -> bool {
        self.pane.def().metrics
    }
}

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

impl App {
    /// A binding as the footer shows it now; the panes decide for their own keys.
    pub fn key_state(&self, binding: &keymap::Binding) -> KeyState {
        let mut state = KeyState {
            shown: binding.footer,
            enabled: true,
            promoted: false,
            help: binding.help,
        };
        if self.mode == Mode::Normal {
            (self.pane.def().key_state)(self, binding.op, &mut state);
        }
        state
    }
}

/// The one state transition function.
pub fn update(app: &mut App, action: Action) -> Vec<Effect> {
    match action {
        Action::Resize(w, h) => {
            app.size = (w, h);
            Vec::new()
        }
        Action::Clock(now) => {
            app.now = now;
            if app
                .cue_at
                .is_some_and(|at| (now - at).num_seconds() >= CUE_SECONDS)
            {
                app.toast = None;
                app.alert = None;
                app.cue_at = None;
            }
            Vec::new()
        }
        Action::Snapshot(snapshot) => absorb(app, *snapshot),
        Action::Done(purpose, result) => done(app, purpose, result),
        Action::Key(key) => key_pressed(app, key),
        Action::Paste(text) => intake::paste(app, &text),
        Action::Mouse(event) => mouse(app, event),
    }
}

fn key_pressed(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    // Ctrl-C quits from any mode, but asks first when the form holds typed work; a second
    // Ctrl-C at that question quits.
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return quit(app);
    }
    let op = keymap::lookup(&app.scopes(), &key);
    match app.mode.clone() {
        Mode::Editing => return intake::edit_key(app, op, key),
        Mode::Filter => return filter_key(app, op, key),
        Mode::Help => {
            if op == Some(Op::Back) {
                app.mode = Mode::Normal;
            }
            return Vec::new();
        }
        Mode::Confirm(confirm) => return confirm_key(app, op, confirm),
        Mode::Picker(picker) => return queues::picker_key(app, op, picker),
        mode @ (Mode::Detail { .. } | Mode::Mechanic { .. } | Mode::Entry { .. }) => {
            match op {
                Some(Op::Back) => app.mode = Mode::Normal,
                Some(Op::Up) => app.mode = mode.scrolled(-1),
                Some(Op::Down) => app.mode = mode.scrolled(1),
                _ => {}
            }
            return Vec::new();
        }
        Mode::Normal => {}
    }
    let Some(op) = op else {
        // Esc backs out of whatever the pane is showing before anything else.
        if key.code == KeyCode::Esc {
            return back_out(app);
        }
        return Vec::new();
    };
    app.toast = None;
    match op {
        Op::Quit => quit(app),
        Op::Help => {
            app.mode = Mode::Help;
            Vec::new()
        }
        Op::NextPane => switch(app, Pane((app.pane.0 + 1) % panes::REGISTRY.len())),
        Op::PrevPane => switch(
            app,
            Pane((app.pane.0 + panes::REGISTRY.len() - 1) % panes::REGISTRY.len()),
        ),
        // Number key n is the n-th pane, as many as there are.
        Op::GoPane => match key.code {
            KeyCode::Char(c) => match c.to_digit(10).map(|d| d as usize) {
                Some(n) if (1..=panes::REGISTRY.len()).contains(&n) => switch(app, Pane(n - 1)),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        },
        Op::ToggleBell => {
            app.bell = !app.bell;
            app.info(if app.bell {
                "Terminal bell on"
            } else {
                "Terminal bell off"
            });
            Vec::new()
        }
        op => pane_op(app, op),
    }
}

/// The header's pane tabs as (first column, past-the-end column, pane): the header draws them
/// from this same list.
pub fn tab_spans() -> Vec<(u16, u16, Pane)> {
    let mut x = width_u16(HEADER_TITLE);
    Pane::all()
        .map(|p| {
            let w = width_u16(&p.tab_label());
            let span = (x, x + w, p);
            x += w;
            span
        })
        .collect()
}

/// The console's name at the left of the header.
pub const HEADER_TITLE: &str = " pitwall ";

fn width_u16(s: &str) -> u16 {
    u16::try_from(crate::text::width(s)).unwrap_or(u16::MAX)
}

/// The mouse: a click on a pane tab switches to it, a click on a row selects it (a click on the
/// selected row opens it, as Enter would), the wheel moves the list (or scrolls the overlay).
fn mouse(app: &mut App, event: MouseEvent) -> Vec<Effect> {
    let (column, row) = (event.column, event.row);
    let scroll = match event.kind {
        MouseEventKind::ScrollUp => Some(Op::Up),
        MouseEventKind::ScrollDown => Some(Op::Down),
        _ => None,
    };
    if let Some(op) = scroll {
        return match app.mode.clone() {
            Mode::Normal => pane_op(app, op),
            mode @ (Mode::Detail { .. } | Mode::Mechanic { .. } | Mode::Entry { .. }) => {
                app.mode = mode.scrolled(if op == Op::Up { -3 } else { 3 });
                Vec::new()
            }
            Mode::Picker(picker) => super::panes::queues::picker_key(app, Some(op), picker),
            _ => Vec::new(),
        };
    }
    if event.kind != MouseEventKind::Down(MouseButton::Left) || app.too_small() {
        return Vec::new();
    }
    if !matches!(app.mode, Mode::Normal | Mode::Editing) {
        return Vec::new();
    }
    if row == 0 {
        if let Some((_, _, pane)) = tab_spans()
            .into_iter()
            .find(|(from, to, _)| (*from..*to).contains(&column))
        {
            app.mode = Mode::Normal;
            return switch(app, pane);
        }
        return Vec::new();
    }
    // The body lies between the header and the status line and footer.
    let body_height = app.size.1.saturating_sub(3);
    if row > body_height {
        return Vec::new();
    }
    let y = row - 1;
    (app.pane.def().click)(app, column, y, body_height)
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

fn pane_op(app: &mut App, op: Op) -> Vec<Effect> {
    (app.pane.def().op)(app, op)
}

/// Quits, unless that would throw away a typed intake form: then it asks.
fn quit(app: &mut App) -> Vec<Effect> {
    if app.intake.is_dirty() && app.mode != Mode::Confirm(Confirm::Quit) {
        app.mode = Mode::Confirm(Confirm::Quit);
        return Vec::new();
    }
    vec![Effect::Quit]
}

/// Esc in normal mode: first it dismisses the status line's cue, then it backs out of what the
/// pane shows.
fn back_out(app: &mut App) -> Vec<Effect> {
    if app.alert.is_some() || app.toast.is_some() {
        app.alert = None;
        app.toast = None;
        return Vec::new();
    }
    (app.pane.def().back)(app);
    Vec::new()
}

fn switch(app: &mut App, pane: Pane) -> Vec<Effect> {
    app.pane = pane;
    if pane.def().metrics {
        vec![Effect::Refresh]
    } else {
        Vec::new()
    }
}

fn filter_key(app: &mut App, op: Option<Op>, key: KeyEvent) -> Vec<Effect> {
    let Some(filter_of) = app.pane.def().filter else {
        app.mode = Mode::Normal;
        return Vec::new();
    };
    let filter = filter_of(app);
    match (op, key.code) {
        (Some(Op::Choose), _) => app.mode = Mode::Normal,
        (Some(Op::Back), _) => {
            filter.clear();
            app.mode = Mode::Normal;
        }
        (_, KeyCode::Backspace) => {
            filter.pop();
        }
        (_, KeyCode::Char(c)) if !c.is_control() && filter.chars().count() < 60 => filter.push(c),
        _ => {}
    }
    app.queues.selected = 0;
    app.mechanics.selected = 0;
    Vec::new()
}

fn confirm_key(app: &mut App, op: Option<Op>, confirm: Confirm) -> Vec<Effect> {
    match op {
        Some(Op::Yes) => {
            app.mode = Mode::Normal;
            let (command, done) = match confirm {
                Confirm::ClearForm => {
                    intake::clear(app);
                    return Vec::new();
                }
                Confirm::Quit => return vec![Effect::Quit],
                Confirm::ClockOut { mechanic, name, .. } => (
                    Command::ClockOut(crate::command::MechanicRef { mechanic }),
                    format!("{} clocked out", crate::text::inert(&name)),
                ),
                Confirm::CancelSession(id) => (
                    Command::Cancel(crate::command::SessionRef {
                        session: id.clone(),
                    }),
                    format!("Session {} cancelled", crate::text::inert(&id)),
                ),
                Confirm::CompleteSession(id) => (
                    Command::Complete(crate::command::SessionRef {
                        session: id.clone(),
                    }),
                    format!("Session {} completed", crate::text::inert(&id)),
                ),
                Confirm::CancelEntry(id) => (
                    Command::CancelWaitlist(crate::command::IdRef { id: id.clone() }),
                    "Waitlist entry cancelled".to_string(),
                ),
            };
            vec![Effect::Run(Request {
                command,
                purpose: Purpose::Act(done),
            })]
        }
        Some(Op::No) => {
            app.mode = Mode::Normal;
            app.info("Nothing changed");
            Vec::new()
        }
        _ => Vec::new(),
    }
}

fn done(app: &mut App, purpose: Purpose, result: Result<Outcome, DispatchError>) -> Vec<Effect> {
    match purpose {
        Purpose::Preview => {
            intake::preview_done(app, result);
            Vec::new()
        }
        Purpose::Submit => intake::submit_done(app, result),
        Purpose::Detail => {
            match result {
                Ok(Outcome::Session(detail)) => {
                    app.queues.detail = Some(detail.session);
                    app.mode = Mode::Detail { scroll: 0 };
                }
                Ok(_) => {}
                Err(e) => app.error(e.message),
            }
            Vec::new()
        }
        Purpose::Pick => {
            match result {
                Ok(Outcome::Eligibility(e)) => queues::open_picker(app, e),
                Ok(_) => {}
                Err(e) => app.error(e.message),
            }
            Vec::new()
        }
        Purpose::OfflineChoice(text) => {
            if result.is_ok() {
                intake::offline_choice_done(app, &text);
            }
            done(app, Purpose::Act(text), result)
        }
        Purpose::Act(text) => match result {
            Ok(_) => {
                app.info(text);
                vec![Effect::Refresh]
            }
            Err(e) => {
                app.error(format!("{} ({})", e.message, e.code.as_str()));
                vec![Effect::Refresh]
            }
        },
    }
}

/// Takes in a fresh snapshot and raises the alert (and bell) for what is new since the last.
fn absorb(app: &mut App, snapshot: Snapshot) -> Vec<Effect> {
    let newest_notification = snapshot
        .notifications
        .iter()
        .map(|n| n.seq)
        .max()
        .unwrap_or(0);
    let high_offers: HashSet<String> = snapshot
        .sessions
        .iter()
        .flat_map(|s| s.assignments.iter())
        .filter(|a| a.is_live_offer(app.now) && a.priority == crate::model::Priority::High)
        .filter(|a| !app.own_sessions.contains(&a.session_id))
        .map(|a| a.id.clone())
        .collect();
    let escalated: HashSet<String> = snapshot
        .sessions
        .iter()
        .filter(|s| s.escalated())
        .map(|s| s.session.id.clone())
        .collect();
    let mut effects = Vec::new();
    let mut cues = Vec::new();
    if let Some(seen) = &app.seen_escalated {
        let fresh = escalated.difference(seen).count();
        if fresh > 0 {
            cues.push(format!(
                "⚠ {fresh} session{} waiting too long: escalated (pane 2)",
                if fresh == 1 { "" } else { "s" }
            ));
        }
    }
    if let Some(seen) = app.seen_notifications {
        let fresh = snapshot
            .notifications
            .iter()
            .filter(|n| n.seq > seen && n.kind == crate::model::NotificationKind::WaitlistOnline)
            .count();
        if fresh > 0 {
            cues.push(format!(
                "{fresh} waitlist notification{} sent",
                if fresh == 1 { "" } else { "s" }
            ));
        }
    }
    if let Some(seen) = &app.seen_offers {
        let fresh = high_offers.difference(seen).count();
        if fresh > 0 {
            cues.push(format!(
                "{fresh} new high-priority offer{}",
                if fresh == 1 { "" } else { "s" }
            ));
        }
    }
    if !cues.is_empty() {
        app.alert = Some(cues.join(" · "));
        app.cue_at = Some(app.now);
        if app.bell {
            effects.push(Effect::Bell);
        }
    }
    app.seen_notifications = Some(newest_notification.max(app.seen_notifications.unwrap_or(0)));
    app.seen_offers = Some(high_offers);
    app.seen_escalated = Some(escalated);
    if let Some(now) = snapshot.now {
        app.now = now;
    }
    // The selection stays on its session when the list changes around it.
    if app.queues.follow.is_none() {
        app.queues.follow = queues::selected(app).map(|r| r.session.id.clone());
    }
    let metrics = snapshot
        .metrics
        .is_none()
        .then(|| app.data.metrics.take())
        .flatten();
    app.data = snapshot;
    if app.data.metrics.is_none() {
        app.data.metrics = metrics;
    }
    for pane in Pane::all() {
        (pane.def().clamp)(app);
    }
    effects
}
