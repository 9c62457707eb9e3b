//! The pure `update`: keys and engine results in, state changes and effects out, dispatched to
//! the panes. Nothing here touches the terminal or the database; the runtime carries effects
//! out and feeds their results back as actions, so a whole flow can be driven in a test.
//!
//! The state itself lives in [`state`](super::state), which panes and overlays import: the
//! dependency runs one way, `app` → `panes` → `state`. Its types are re-exported here.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::keymap::{self, Op, Scope};
use super::panes;
use super::panes::intake::{self, IntakeState};
use super::panes::queues;
pub use super::state::{
    App, CUE_SECONDS, Confirm, Effect, Found, KeyState, MIN_SIZE, Mode, Pane, Picker, Purpose,
    Read, Request, Toast, ToastKind, table_row_at,
};
use super::theme::Theme;
use crate::command::Command;
use crate::engine::Outcome;
use crate::engine::views::Snapshot;
use crate::error::DispatchError;

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
    /// A command's result, for the pane that asked.
    Done(Pane, Purpose, Result<Outcome, DispatchError>),
    /// What a pane's [`Read`] found, for that pane.
    Found(Pane, Result<Found, DispatchError>),
}

impl App {
    pub fn new(now: DateTime<Utc>, theme: Theme) -> App {
        App {
            pane: Pane::Intake,
            // The console opens on the intake form, ready for the first customer's name.
            mode: Mode::Editing,
            now,
            data: Snapshot::default(),
            theme,
            size: (120, 40),
            toast: None,
            alert: None,
            warning: None,
            cue_at: None,
            bell: true,
            seen_notifications: None,
            seen_offers: None,
            seen_escalated: None,
            own_sessions: HashSet::new(),
            panes: super::state::PaneStates::new(),
            simulation: None,
            ids: crate::ids::Ids::readable("S"),
        }
    }

    pub fn too_small(&self) -> bool {
        self.size.0 < MIN_SIZE.0 || self.size.1 < MIN_SIZE.1
    }

    /// The keymap scopes that apply now, most specific first.
    pub fn scopes(&self) -> Vec<Scope> {
        match &self.mode {
            Mode::Normal => vec![Scope::Pane(self.pane), Scope::Global],
            Mode::Editing if self.state::<IntakeState>().focus_is_text() => vec![Scope::Editing],
            Mode::Editing => vec![Scope::Choosing],
            Mode::Filter => vec![Scope::Filter],
            Mode::PlanEditor => vec![Scope::PlanEditor],
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

    /// Background trouble (a delivery transport missing or failing): shown beside the toast,
    /// never over it, with one mark of its own (the relay's own leading mark is dropped).
    pub fn warn(&mut self, text: impl Into<String>) {
        let text = text.into();
        let bare = text.trim_start_matches(['⚠', '✗', ' ']).to_string();
        self.warning = Some(bare);
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
        Action::Done(pane, purpose, result) => (pane.def().done)(app, purpose, result),
        Action::Found(pane, found) => pane.def().found.map_or_else(Vec::new, |f| f(app, found)),
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
    // Alt-number switches panes from the form too, where a plain digit is text.
    if op == Some(Op::GoPane) && app.mode == Mode::Editing {
        app.toast = None;
        return go_pane(app, key);
    }
    match app.mode.clone() {
        Mode::Filter => return filter_key(app, op, key),
        // The pane's own editor (the intake form, the plan editor) takes the keys whole.
        Mode::Editing | Mode::PlanEditor => {
            let Some(typing) = app.pane.def().typing else {
                app.mode = Mode::Normal;
                return Vec::new();
            };
            return typing(app, op, key);
        }
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
        // A key that means nothing here is typing: on the intake pane it goes into the
        // focused field, as a form takes it.
        if app.pane == Pane::Intake {
            return intake::type_into_form(app, key);
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
        Op::GoPane => go_pane(app, key),
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

/// How the header is laid out at the console's width: whether the title shows, whether the
/// tabs other than the current one shrink to their numbers, and the summary at the right. The
/// header and the mouse both read this one layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLayout {
    pub title: bool,
    pub compact: bool,
    pub summary: String,
}

/// The console's name at the left of the header.
pub const HEADER_TITLE: &str = " pitwall ";

impl App {
    /// The header keeps what a dispatcher reads it for — escalations, bookings, waiting,
    /// matched, on shift, the date and time — at every width from 80 columns: the pane tabs
    /// and the title give way first, then the labels shorten, and the counts stay.
    pub fn header_layout(&self) -> HeaderLayout {
        let count = |s: crate::model::SessionStatus| self.data.counts.get(&s).copied().unwrap_or(0);
        use crate::model::SessionStatus as S;
        let on = self
            .data
            .roster
            .iter()
            .filter(|r| r.mechanic.currently_on_shift)
            .count();
        let (waiting, matched, booked) =
            (count(S::Waiting), count(S::Matched), count(S::Scheduled));
        let esc = self.data.escalated;
        let day = self.now.format("%a %d %b");
        let short_day = self.now.format("%d %b");
        let (hms, hm) = (self.now.format("%H:%M:%S"), self.now.format("%H:%M"));
        // Escalations and bookings are named only when there are some.
        let when = |n: i64, text: String| if n > 0 { text } else { String::new() };
        let long = |clock: &dyn std::fmt::Display| {
            format!(
                "{}{}waiting {waiting} · matched {matched} · on shift {on} · {day} {clock} UTC ",
                when(esc, format!("⚠ {esc} escalated · ")),
                when(booked, format!("scheduled {booked} · ")),
            )
        };
        let summaries = [
            long(&hms),
            long(&hm),
            // Long labels, the date without its weekday.
            format!(
                "{}{}waiting {waiting} · matched {matched} · on shift {on} · {short_day} {hm} ",
                when(esc, format!("⚠ {esc} escalated · ")),
                when(booked, format!("scheduled {booked} · ")),
            ),
            format!(
                "{}{}wait {waiting} · matched {matched} · on shift {on} · {short_day} {hm} ",
                when(esc, format!("⚠{esc} esc · ")),
                when(booked, format!("◷{booked} · ")),
            ),
            format!(
                "{}{}wait {waiting} · match {matched} · on {on} · {short_day} {hm} ",
                when(esc, format!("⚠{esc} · ")),
                when(booked, format!("◷{booked} · ")),
            ),
            format!("{short_day} {hm} "),
        ];
        let tabs = |compact: bool| -> usize {
            Pane::all()
                .map(|p| width_usize(&self.tab_label(p, compact)))
                .sum()
        };
        let title = width_usize(HEADER_TITLE);
        let room = usize::from(self.size.0);
        // (title, compact tabs, summary), fullest first: the tab names give way before the
        // labels shorten.
        let tries = [
            (true, false, 0),
            (true, false, 1),
            (false, false, 1),
            (false, false, 2),
            (true, true, 0),
            (true, true, 1),
            (false, true, 1),
            (false, true, 2),
            (false, true, 3),
            (false, true, 4),
            (false, true, 5),
        ];
        let (title, compact, summary) = tries
            .into_iter()
            // At least two columns between the tabs and the summary.
            .find(|&(t, c, i)| {
                usize::from(t) * title + tabs(c) + width_usize(&summaries[i]) + 2 <= room
            })
            .map_or((false, true, String::new()), |(t, c, i)| {
                (t, c, summaries[i].clone())
            });
        HeaderLayout {
            title,
            compact,
            summary,
        }
    }

    /// A pane's tab: its number and name, or its number alone when the header is short of
    /// room (the current pane always keeps its name).
    pub fn tab_label(&self, pane: Pane, compact: bool) -> String {
        if compact && pane != self.pane {
            format!(" {}", pane.0 + 1)
        } else {
            pane.tab_label()
        }
    }

    /// The header's pane tabs as (first column, past-the-end column, pane): the header draws
    /// them from this same list.
    pub fn tab_spans(&self) -> Vec<(u16, u16, Pane)> {
        let layout = self.header_layout();
        let mut x = if layout.title {
            width_u16(HEADER_TITLE)
        } else {
            0
        };
        Pane::all()
            .map(|p| {
                let w = width_u16(&self.tab_label(p, layout.compact));
                let span = (x, x + w, p);
                x += w;
                span
            })
            .collect()
    }
}

fn width_usize(s: &str) -> usize {
    crate::text::width(s)
}

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
        if let Some((_, _, pane)) = app
            .tab_spans()
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

fn pane_op(app: &mut App, op: Op) -> Vec<Effect> {
    (app.pane.def().op)(app, op)
}

/// Quits, unless that would throw away a typed intake form: then it asks.
fn quit(app: &mut App) -> Vec<Effect> {
    if app.state::<IntakeState>().is_dirty() && app.mode != Mode::Confirm(Confirm::Quit) {
        app.mode = Mode::Confirm(Confirm::Quit);
        return Vec::new();
    }
    vec![Effect::Quit]
}

/// Esc in normal mode: first it dismisses the status line's cue, then it backs out of what the
/// pane shows.
fn back_out(app: &mut App) -> Vec<Effect> {
    if app.alert.is_some() || app.toast.is_some() || app.warning.is_some() {
        app.alert = None;
        app.toast = None;
        app.warning = None;
        return Vec::new();
    }
    (app.pane.def().back)(app);
    Vec::new()
}

/// Number key n (or Alt-n) is the n-th pane, as many as there are.
fn go_pane(app: &mut App, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Char(c) => match c.to_digit(10).map(|d| d as usize) {
            Some(n) if (1..=panes::REGISTRY.len()).contains(&n) => switch(app, Pane(n - 1)),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn switch(app: &mut App, pane: Pane) -> Vec<Effect> {
    app.pane = pane;
    app.mode = Mode::Normal;
    if pane == Pane::Intake {
        // The form takes typing as soon as it shows (unless a card asks for a choice).
        intake::enter(app);
    }
    let mut effects = pane.def().load.map_or_else(Vec::new, |load| load(app));
    if pane.def().metrics {
        effects.push(Effect::Refresh);
    }
    effects
}

fn filter_key(app: &mut App, op: Option<Op>, key: KeyEvent) -> Vec<Effect> {
    let Some(filter_of) = app.pane.def().filter else {
        app.mode = Mode::Normal;
        return Vec::new();
    };
    let (filter, selected) = filter_of(app);
    let done = match (op, key.code) {
        (Some(Op::Choose), _) => true,
        (Some(Op::Back), _) => {
            filter.clear();
            true
        }
        (_, KeyCode::Backspace) => {
            filter.pop();
            false
        }
        (_, KeyCode::Char(c)) if !c.is_control() && filter.chars().count() < 60 => {
            filter.push(c);
            false
        }
        _ => false,
    };
    // The filtered list starts at its top; the pane says which selection that is (none when
    // it keeps its selection on its row itself).
    if let Some(selected) = selected {
        *selected = 0;
    }
    if done {
        app.mode = Mode::Normal;
    }
    // A pane whose list is read on demand reads it again for the new filter.
    app.pane.def().load.map_or_else(Vec::new, |load| load(app))
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
            vec![panes::act(app.pane, command, done)]
        }
        Some(Op::No) => {
            app.mode = Mode::Normal;
            // Ctrl-C asks from inside the form too: "no" goes back to typing.
            if confirm == Confirm::Quit {
                intake::enter(app);
            }
            app.info("Nothing changed");
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// New waitlist notifications in the words of their rows (SPEC §12): "sent" only for those a
/// transport took, "queued" for the rest (no transport yet, or not yet its turn).
fn notifications_cue(fresh: &[&crate::model::Notification]) -> String {
    let sent = fresh
        .iter()
        .filter(|n| n.status == crate::model::DeliveryStatus::Sent)
        .count();
    let queued = fresh.len() - sent;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    match (sent, queued) {
        (0, n) => format!("{n} waitlist notification{} queued", plural(n)),
        (n, 0) => format!("{n} waitlist notification{} sent", plural(n)),
        (s, q) => format!("{} waitlist notifications: {s} sent, {q} queued", s + q),
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
        let fresh: Vec<&crate::model::Notification> = snapshot
            .notifications
            .iter()
            .filter(|n| n.seq > seen && n.kind == crate::model::NotificationKind::WaitlistOnline)
            .collect();
        if !fresh.is_empty() {
            cues.push(notifications_cue(&fresh));
        }
    }
    // A booking released with every matching mechanic offline (SPEC §14) is an intake's
    // offline card arriving later: say so, so the dispatcher offers the waitlist or a pick.
    let was_booked: HashSet<&str> = app
        .data
        .scheduled
        .iter()
        .map(|r| r.session.id.as_str())
        .collect();
    let released_offline: Vec<&str> = snapshot
        .sessions
        .iter()
        .filter(|r| was_booked.contains(r.session.id.as_str()))
        .filter(|r| r.session.meta().released_all_offline())
        .map(|r| r.session.id.as_str())
        .collect();
    if let Some(first) = released_offline.first() {
        cues.push(format!(
            "⚠ booking {} released with every matching mechanic offline: its broadcast is \
             open (pane 2)",
            crate::text::inert(first)
        ));
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
    let mut old = std::mem::replace(&mut app.data, snapshot);
    // Metrics are read only for the pane that shows them: a snapshot without keeps the last.
    if app.data.metrics.is_none() {
        app.data.metrics = old.metrics.take();
    }
    for pane in Pane::all() {
        (pane.def().clamp)(app, &old);
    }
    // The intake's result card follows its session as it changes.
    effects.extend(intake::follow(app));
    effects
}
