//! Console state and the pure `update`: keys and engine results in, state changes and effects
//! out. Nothing here touches the terminal or the database; the runtime carries effects out and
//! feeds their results back as actions, so a whole flow can be driven in a test.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keymap::{self, Op, Scope};
use super::panes::{intake, mechanics, queues, waitlist};
use super::theme::Theme;
use crate::command::Command;
use crate::engine::Outcome;
use crate::engine::views::Snapshot;
use crate::error::DispatchError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Intake,
    Queues,
    Mechanics,
    Waitlist,
    Metrics,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Intake,
        Pane::Queues,
        Pane::Mechanics,
        Pane::Waitlist,
        Pane::Metrics,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Intake => "Intake",
            Pane::Queues => "Queues",
            Pane::Mechanics => "Mechanics",
            Pane::Waitlist => "Waitlist",
            Pane::Metrics => "Metrics",
        }
    }

    fn index(self) -> usize {
        Pane::ALL
            .iter()
            .position(|p| *p == self)
            .expect("every pane is listed")
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
        }
    }

    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_SIZE.0 || self.size.1 < MIN_SIZE.1
    }

    /// The keymap scopes that apply now, most specific first.
    pub fn scopes(&self) -> Vec<Scope> {
        match &self.mode {
            Mode::Normal => vec![Scope::Pane(self.pane), Scope::Global],
            Mode::Editing => vec![Scope::Editing],
            Mode::Filter => vec![Scope::Filter],
            Mode::Help => vec![Scope::Help],
            Mode::Confirm(_) => vec![Scope::Confirm],
            Mode::Picker(_) => vec![Scope::Picker],
            Mode::Detail { .. } => vec![Scope::Detail],
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
        self.pane == Pane::Metrics
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
    }
}

fn key_pressed(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    // Ctrl-C always quits, whatever mode the console is in.
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return vec![Effect::Quit];
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
        Mode::Detail { scroll } => {
            match op {
                Some(Op::Back) => app.mode = Mode::Normal,
                Some(Op::Up) => {
                    app.mode = Mode::Detail {
                        scroll: scroll.saturating_sub(1),
                    }
                }
                Some(Op::Down) => {
                    app.mode = Mode::Detail {
                        scroll: scroll.saturating_add(1),
                    }
                }
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
        Op::Quit => vec![Effect::Quit],
        Op::Help => {
            app.mode = Mode::Help;
            Vec::new()
        }
        Op::NextPane => switch(app, Pane::ALL[(app.pane.index() + 1) % Pane::ALL.len()]),
        Op::PrevPane => switch(
            app,
            Pane::ALL[(app.pane.index() + Pane::ALL.len() - 1) % Pane::ALL.len()],
        ),
        Op::GoPane(p) => switch(app, p),
        Op::ToggleBell => {
            app.bell = !app.bell;
            app.info(if app.bell {
                "Terminal bell on"
            } else {
                "Terminal bell off"
            });
            Vec::new()
        }
        op => match app.pane {
            Pane::Intake => intake::op(app, op),
            Pane::Queues => queues::op(app, op),
            Pane::Mechanics => mechanics::op(app, op),
            Pane::Waitlist => waitlist::op(app, op),
            Pane::Metrics => Vec::new(),
        },
    }
}

/// Esc in normal mode: first it dismisses the status line's cue, then it backs out of what the
/// pane shows.
fn back_out(app: &mut App) -> Vec<Effect> {
    if app.alert.is_some() || app.toast.is_some() {
        app.alert = None;
        app.toast = None;
        return Vec::new();
    }
    if app.pane == Pane::Intake {
        intake::back(app);
    }
    Vec::new()
}

fn switch(app: &mut App, pane: Pane) -> Vec<Effect> {
    app.pane = pane;
    if pane == Pane::Metrics {
        vec![Effect::Refresh]
    } else {
        Vec::new()
    }
}

fn filter_key(app: &mut App, op: Option<Op>, key: KeyEvent) -> Vec<Effect> {
    let filter = match app.pane {
        Pane::Queues => &mut app.queues.filter,
        Pane::Mechanics => &mut app.mechanics.filter,
        _ => {
            app.mode = Mode::Normal;
            return Vec::new();
        }
    };
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
    let metrics = snapshot
        .metrics
        .is_none()
        .then(|| app.data.metrics.take())
        .flatten();
    app.data = snapshot;
    if app.data.metrics.is_none() {
        app.data.metrics = metrics;
    }
    queues::clamp(app);
    mechanics::clamp(app);
    waitlist::clamp(app);
    effects
}
