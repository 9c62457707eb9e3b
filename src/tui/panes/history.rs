//! The history pane: every session, also those that left the live lists (completed,
//! cancelled), found by reference, customer or mechanic (`/`), with who took it; Enter shows
//! the session's timeline from the audit log: created, offers, answers, escalation, matched,
//! completed.

use ratatui::Frame;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, TableState};

use crate::engine::HistoryRow;
use crate::error::DispatchError;
use crate::model::SessionStatus;
use crate::store::events::Stored;
use crate::text::fit;
use crate::tui::keymap::{Binding, Op, b, code, k};
use crate::tui::panes::{self, PaneDef, PaneState};
use crate::engine::Engine;
use crate::tui::state::{App, Effect, Found, Mode, Pane, Read};
use crate::tui::theme::Tone;
use crate::tui::widgets::{inner_width, panel, selectable_table};

pub const PANE: PaneDef = PaneDef {
    title: "History",
    keys: KEYS,
    op,
    render,
    click: |app, _, y, height| click(app, y, height),
    key_state,
    clamp: panes::no_clamp,
    back,
    typing: None,
    filter: Some(|app| {
        let state = state_mut(app).expect("the history pane keeps its state from the start");
        // No selection to reset: an answer keeps the selection on its session.
        (&mut state.filter, None)
    }),
    metrics: false,
    state: Some(panes::new_state::<HistoryState>),
    load: Some(search),
    found: Some(looked),
    done: panes::acted,
};

/// This pane's place in the registry.
fn me() -> Pane {
    Pane::of(&PANE)
}

/// What the pane's reads find.
enum Looked {
    /// Sessions by reference, customer or mechanic, for this search.
    History(String, Vec<HistoryRow>),
    /// One session's audit events.
    Timeline(String, Vec<Stored>),
}

fn read_history(engine: &mut Engine, needle: &str) -> Result<Found, DispatchError> {
    let rows = engine.history(needle)?;
    Ok(Box::new(Looked::History(needle.to_string(), rows)))
}

fn read_timeline(engine: &mut Engine, id: &str) -> Result<Found, DispatchError> {
    let events = engine.timeline(id)?;
    Ok(Box::new(Looked::Timeline(id.to_string(), events)))
}

/// The pane's keys, declared once: lookup, footer and help all read them.
pub const KEYS: &[Binding] = &[
    b(&[k('/')], "/", "search", Op::Filter),
    b(&[code(KeyCode::Enter)], "Enter", "timeline", Op::Detail),
];

/// What the pane shows: the search, the sessions it found, and the chosen one's timeline.
#[derive(Debug, Default)]
pub struct HistoryState {
    pub filter: String,
    /// The search these rows answer (a newer one may be on its way).
    pub searched: Option<String>,
    pub rows: Vec<HistoryRow>,
    pub selected: usize,
    /// The session whose timeline shows, with its events.
    pub timeline: Option<(String, Vec<Stored>)>,
}

impl PaneState for HistoryState {
    const PANE: &'static PaneDef = &PANE;
}

fn state(app: &App) -> Option<&HistoryState> {
    Some(app.state())
}

fn state_mut(app: &mut App) -> Option<&mut HistoryState> {
    Some(app.state_mut())
}

/// Runs the search as the filter now reads.
fn search(app: &mut App) -> Vec<Effect> {
    let needle = state(app).map_or(String::new(), |s| s.filter.clone());
    vec![Effect::Read(Read {
        pane: me(),
        key: needle,
        run: read_history,
    })]
}

fn timeline_of_selected(app: &App) -> Vec<Effect> {
    state(app)
        .and_then(|s| s.rows.get(s.selected))
        .map(|row| {
            vec![Effect::Read(Read {
                pane: me(),
                key: row.session.id.clone(),
                run: read_timeline,
            })]
        })
        .unwrap_or_default()
}

/// A lookup answered: the list (keeping the selection on its session where it can), or a
/// timeline.
fn looked(app: &mut App, found: Result<Found, DispatchError>) -> Vec<Effect> {
    let found = found.map(|f| f.downcast::<Looked>().map(|l| *l));
    let Some(history) = state_mut(app) else {
        return Vec::new();
    };
    match found {
        // Only this pane's reads are answered here; another type is no answer of its.
        Ok(Err(_)) => {}
        Ok(Ok(Looked::History(needle, rows))) => {
            // An answer to an older search than the filter now reads is dropped.
            if needle != history.filter {
                return Vec::new();
            }
            let chosen = history
                .rows
                .get(history.selected)
                .map(|r| r.session.id.clone());
            history.selected = chosen
                .and_then(|id| rows.iter().position(|r| r.session.id == id))
                .unwrap_or(0);
            history.rows = rows;
            history.searched = Some(needle);
            // The timeline shown follows the selection.
            let shown = history.timeline.as_ref().map(|(id, _)| id.clone());
            let selected = history
                .rows
                .get(history.selected)
                .map(|r| r.session.id.clone());
            if shown.is_some() && shown != selected {
                history.timeline = None;
            }
            if history.timeline.is_some() {
                return timeline_of_selected(app);
            }
        }
        Ok(Ok(Looked::Timeline(id, events))) => history.timeline = Some((id, events)),
        Err(e) => app.error(format!("History: {}", e.message)),
    }
    Vec::new()
}

pub fn op(app: &mut App, op: Op) -> Vec<Effect> {
    match op {
        Op::Filter => {
            app.mode = Mode::Filter;
            return Vec::new();
        }
        Op::Detail => return timeline_of_selected(app),
        _ => {}
    }
    let Some(history) = state_mut(app) else {
        return Vec::new();
    };
    let n = history.rows.len();
    let before = history.selected;
    history.selected = match op {
        Op::Up => before.saturating_sub(1),
        Op::Down => (before + 1).min(n.saturating_sub(1)),
        Op::PageUp => before.saturating_sub(10),
        Op::PageDown => (before + 10).min(n.saturating_sub(1)),
        _ => before,
    };
    // A timeline on screen follows the selection as it moves.
    if history.selected != before && history.timeline.is_some() {
        return timeline_of_selected(app);
    }
    Vec::new()
}

fn key_state(app: &App, op: Op, state_now: &mut crate::tui::state::KeyState) {
    if op == Op::Detail {
        state_now.enabled = state(app).is_some_and(|s| s.selected < s.rows.len());
    }
}

/// Esc closes the timeline.
fn back(app: &mut App) {
    if let Some(history) = state_mut(app) {
        history.timeline = None;
    }
}

/// A click on a row selects it; on the selected row, shows its timeline.
fn click(app: &mut App, y: u16, height: u16) -> Vec<Effect> {
    let Some(history) = state_mut(app) else {
        return Vec::new();
    };
    let (list, _) = areas(Rect::new(0, 0, 120, height), history.timeline.is_some());
    let len = history.rows.len();
    match crate::tui::state::table_row_at(y, list.y, list.height, history.selected, len) {
        Some(i) if i == history.selected => timeline_of_selected(app),
        Some(i) => {
            history.selected = i;
            if history.timeline.is_some() {
                return timeline_of_selected(app);
            }
            Vec::new()
        }
        None => Vec::new(),
    }
}

/// The list above, the timeline below once one is open.
fn areas(area: Rect, timeline: bool) -> (Rect, Option<Rect>) {
    if !timeline {
        return (area, None);
    }
    let [list, events] =
        Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    (list, Some(events))
}

fn status_text(status: SessionStatus) -> (&'static str, Tone) {
    match status {
        SessionStatus::Scheduled => ("◷ scheduled", Tone::Info),
        SessionStatus::Pending => ("◌ pending", Tone::Warn),
        SessionStatus::Waiting => ("● waiting", Tone::Info),
        SessionStatus::Matched => ("✓ matched", Tone::Good),
        SessionStatus::Completed => ("✓ completed", Tone::Dim),
        SessionStatus::Cancelled => ("✗ cancelled", Tone::Dim),
    }
}

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let Some(history) = state(app) else {
        return;
    };
    let (list, events) = areas(area, history.timeline.is_some());
    let rows: Vec<Row> = history
        .rows
        .iter()
        .map(|r| {
            let (status, tone) = status_text(r.session.status);
            Row::new(vec![
                Cell::from(Span::styled(status, t.style(tone))),
                Cell::from(fit(&r.session.id, 14).into_owned()),
                Cell::from(fit(r.customer.as_deref().unwrap_or(""), 20).into_owned()),
                Cell::from(fit(r.mechanic.as_deref().unwrap_or("—"), 20).into_owned()),
                Cell::from(r.session.created_at.format("%a %d %b %H:%M").to_string()),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(11),
        Constraint::Length(14),
        Constraint::Length(20),
        Constraint::Length(20),
        Constraint::Min(16),
    ];
    let header = Row::new(vec!["Status", "Session", "Customer", "Taken by", "Created (UTC)"]);
    let searching = app.mode == Mode::Filter;
    let what = if history.filter.is_empty() && !searching {
        "newest first · / searches reference, customer, mechanic".to_string()
    } else {
        format!(
            "search: {}{}",
            fit(&history.filter, 30),
            if searching { "▏" } else { "" }
        )
    };
    let count = if history.rows.len() >= crate::engine::HISTORY_LIMIT {
        format!("{}+", history.rows.len())
    } else {
        history.rows.len().to_string()
    };
    let title = format!(" Sessions ({count}) · {what} ");
    let table = selectable_table(t, rows, widths, header, panel(t, title));
    let mut table_state = TableState::default()
        .with_selected((history.selected < history.rows.len()).then_some(history.selected));
    if history.rows.is_empty() {
        let empty = if history.searched.is_some() {
            "No session matches. Search by reference (S-…), customer or mechanic name."
        } else {
            "Loading…"
        };
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(empty, t.style(Tone::Dim))))
                .block(panel(t, format!(" Sessions · {what} "))),
            list,
        );
    } else {
        frame.render_stateful_widget(table, list, &mut table_state);
    }
    if let (Some(events_area), Some((id, events))) = (events, &history.timeline) {
        render_timeline(app, id, events, frame, events_area);
    }
}

/// One session's events in words, oldest first.
fn render_timeline(app: &App, id: &str, events: &[Stored], frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let room = inner_width(area);
    let mut lines: Vec<Line> = Vec::new();
    if events.is_empty() {
        lines.push(Line::from(Span::styled(
            "No events recorded for this session.",
            t.style(Tone::Dim),
        )));
    }
    for e in events {
        let when = chrono::DateTime::parse_from_rfc3339(&e.at)
            .map(|at| at.format("%d %b %H:%M:%S").to_string())
            .unwrap_or_else(|_| e.at.clone());
        let (text, tone) = describe(app, e);
        lines.push(Line::from(vec![
            Span::styled(format!("{when}  "), t.style(Tone::Dim)),
            Span::styled(
                fit(&text, room.saturating_sub(17)).into_owned(),
                t.style(tone),
            ),
        ]));
    }
    // The newest events stay in view: the panel scrolls to the end.
    let inner_height = usize::from(area.height.saturating_sub(2));
    let scroll = lines.len().saturating_sub(inner_height);
    let title = format!(" Timeline of {} · Esc closes ", fit(id, 24));
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
            .block(panel(t, title)),
        area,
    );
}

/// An audit event as a dispatcher says it.
fn describe(app: &App, e: &Stored) -> (String, Tone) {
    let who = e
        .mechanic
        .as_deref()
        .map(|m| app.mechanic_name(m).to_string());
    let who = who.as_deref().unwrap_or("a mechanic");
    let reason = e
        .detail
        .as_ref()
        .and_then(|d| d.get("reason"))
        .and_then(|r| r.as_str())
        .map(|r| format!(" ({})", r.replace('_', " ")))
        .unwrap_or_default();
    match e.kind.as_str() {
        "session_created" => (format!("created{reason}"), Tone::Info),
        "session_scheduled" => ("booked for later".to_string(), Tone::Info),
        "session_released" | "scheduled_released" => ("released: offers live".to_string(), Tone::Info),
        "offer_created" => (format!("offered to {who}"), Tone::Normal),
        "broadcast_created" => (format!("broadcast held{reason}"), Tone::Dim),
        "broadcast_activated" => ("broadcast open to every mechanic on shift".to_string(), Tone::Accent),
        "offer_accepted" => (format!("✓ matched: {who} accepted"), Tone::Good),
        "offer_declined" => (format!("{who} declined"), Tone::Warn),
        "offer_expired" => (format!("offer to {who} expired{reason}"), Tone::Dim),
        "offer_withdrawn" => (format!("offer to {who} withdrawn{reason}"), Tone::Dim),
        "offer_cancelled" => (format!("offer to {who} closed{reason}"), Tone::Dim),
        "session_escalated" => ("⚠ escalated: waiting too long".to_string(), Tone::Urgent),
        "preferred_set" => (format!("preferred mechanic: {who}"), Tone::Normal),
        "waitlist_joined" => ("customer joined the waitlist".to_string(), Tone::Normal),
        "waitlist_notified" => ("waitlist notified: a mechanic is online".to_string(), Tone::Normal),
        "session_completed" => ("✓ completed".to_string(), Tone::Good),
        "session_cancelled" => (format!("✗ cancelled{reason}"), Tone::Warn),
        other => (format!("{}{reason}", other.replace('_', " ")), Tone::Normal),
    }
}
