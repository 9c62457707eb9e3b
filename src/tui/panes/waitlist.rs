//! The waitlist pane: entries with status and time left, and the feed of notifications sent.

use crate::tui::widgets::{delivery_state, panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use crate::model::WaitlistStatus;
use crate::text::fit;
use crate::tui::state::{App, Confirm, Effect, Mode};
use crate::tui::keymap::Op;
use crate::tui::theme::Tone;

use crate::tui::keymap::{Binding, b, code, k};
use ratatui::crossterm::event::KeyCode;
use crate::tui::panes::{self, PaneDef, PaneState};

pub const PANE: PaneDef = PaneDef {
    title: "Waitlist",
    keys: KEYS,
    op,
    render,
    click: |app, _, y, height| click(app, y, height),
    key_state,
    clamp: |app, _| clamp(app),
    back: panes::no_back,
    typing: None,
    filter: None,
    metrics: false,
    state: Some(panes::new_state::<WaitlistState>),
    load: None,
    found: None,
    done: panes::acted,
};

/// The entry selected in the list.
#[derive(Debug, Clone, Default)]
pub struct WaitlistState {
    pub selected: usize,
}

impl PaneState for WaitlistState {
    const PANE: &'static PaneDef = &PANE;
}

fn selected(app: &App) -> usize {
    app.state::<WaitlistState>().selected
}

fn selected_mut(app: &mut App) -> &mut usize {
    &mut app.state_mut::<WaitlistState>().selected
}

/// The pane's keys, declared once: lookup, footer and help all read them.
pub const KEYS: &[Binding] = &[
    b(&[code(KeyCode::Enter)], "Enter", "details", Op::Detail),
    b(&[k('x')], "x", "cancel entry", Op::CancelEntry),
    b(&[k('!')], "!", "bell on/off", Op::ToggleBell),
];

/// Enter acts on the selected entry (dimmed when there is none); `x` only on a waiting one.
fn key_state(app: &App, op: Op, state: &mut crate::tui::state::KeyState) {
    if op == Op::Detail {
        state.enabled = app.data.waitlist.get(selected(app)).is_some();
    }
    if op == Op::CancelEntry {
        state.enabled = app
            .data
            .waitlist
            .get(selected(app))
            .is_some_and(|e| e.status == WaitlistStatus::Waiting);
    }
}

pub fn clamp(app: &mut App) {
    let n = app.data.waitlist.len();
    let s = selected_mut(app);
    *s = (*s).min(n.saturating_sub(1));
}

/// A click at body row `y` selects that entry.
pub fn click(app: &mut App, y: u16, height: u16) -> Vec<Effect> {
    let [entries, _] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)])
        .areas(Rect::new(0, 0, 1, height));
    let len = app.data.waitlist.len();
    if let Some(i) =
        crate::tui::state::table_row_at(y, entries.y, entries.height, selected(app), len)
    {
        *selected_mut(app) = i;
    }
    Vec::new()
}

pub fn op(app: &mut App, op: Op) -> Vec<Effect> {
    let n = app.data.waitlist.len();
    match op {
        Op::Up => *selected_mut(app) = selected(app).saturating_sub(1),
        Op::Down => *selected_mut(app) = (selected(app) + 1).min(n.saturating_sub(1)),
        Op::Detail => {
            if let Some(e) = app.data.waitlist.get(selected(app)) {
                app.mode = Mode::Entry {
                    id: e.id.clone(),
                    scroll: 0,
                };
            }
        }
        Op::CancelEntry => match app.data.waitlist.get(selected(app)) {
            Some(e) if e.status == WaitlistStatus::Waiting => {
                app.mode = Mode::Confirm(Confirm::CancelEntry(e.id.clone()));
            }
            Some(_) => app.error("Only a waiting entry can be cancelled"),
            None => {}
        },
        _ => {}
    }
    Vec::new()
}

fn time_left(app: &App, e: &crate::model::WaitlistEntry) -> String {
    if e.status != WaitlistStatus::Waiting {
        return String::new();
    }
    let mins = (e.expires_at - app.now).num_minutes().max(0);
    format!("{}h{:02}m", mins / 60, mins % 60)
}

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let [entries, feed] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let rows: Vec<Row> = app
        .data
        .waitlist
        .iter()
        .map(|e| {
            let status = match e.status {
                WaitlistStatus::Waiting => Span::styled("⏳ waiting", t.style(Tone::Warn)),
                WaitlistStatus::Notified => Span::styled("✓ notified", t.style(Tone::Good)),
                WaitlistStatus::Expired => Span::styled("✗ expired", t.style(Tone::Dim)),
                WaitlistStatus::Cancelled => Span::styled("✗ cancelled", t.style(Tone::Dim)),
            };
            let via: Vec<&str> = e.notify_via.iter().map(|c| c.as_str()).collect();
            Row::new(vec![
                Cell::from(status),
                Cell::from(fit(&e.customer_name, 18).into_owned()),
                Cell::from(fit(e.session_id.as_deref().unwrap_or("—"), 14).into_owned()),
                Cell::from(via.join("+")),
                Cell::from(time_left(app, e)),
                Cell::from(
                    e.notified_mechanic_id
                        .as_deref()
                        .map(|id| fit(app.mechanic_name(id), usize::from(area.width)).into_owned())
                        .unwrap_or_default(),
                ),
            ])
        })
        .collect();
    let waiting = app
        .data
        .waitlist
        .iter()
        .filter(|e| e.status == WaitlistStatus::Waiting)
        .count();
    let table = Table::new(
        rows,
        [
            Constraint::Length(12),
            Constraint::Length(18),
            Constraint::Length(14),
            Constraint::Length(15),
            Constraint::Length(7),
            Constraint::Min(8),
        ],
    )
    .header(
        Row::new(vec![
            "Status",
            "Customer",
            "Session",
            "Notify via",
            "Left",
            "Mechanic",
        ])
        .style(t.style(Tone::Dim)),
    )
    .row_highlight_style(t.style(Tone::Selected))
    .highlight_symbol("› ")
    .block(panel(t, format!(" Waitlist · {waiting} waiting ")));
    let mut state = TableState::default()
        .with_selected((!app.data.waitlist.is_empty()).then_some(selected(app)));
    frame.render_stateful_widget(table, entries, &mut state);

    let lines: Vec<Line> = if app.data.notifications.is_empty() {
        vec![Line::from(Span::styled(
            "No notifications yet. They are sent the moment a mechanic clocks in.",
            t.style(Tone::Dim),
        ))]
    } else {
        app.data
            .notifications
            .iter()
            .map(|n| {
                let (state, tone) = delivery_state(n);
                Line::from(vec![
                    Span::styled(
                        n.created_at.format("%H:%M:%S ").to_string(),
                        t.style(Tone::Dim),
                    ),
                    Span::styled(format!("{state} "), t.style(tone)),
                    Span::styled(format!("{:<10} ", n.channel.as_str()), t.style(Tone::Info)),
                    Span::raw(format!("{} · ", fit(&n.recipient, 30))),
                    Span::raw(fit(&n.body, usize::from(feed.width)).into_owned()),
                ])
            })
            .collect()
    };
    let bell = if app.bell { "bell on" } else { "bell off" };
    let block = panel(t, format!(" Notifications · delivery · {bell} "));
    frame.render_widget(Paragraph::new(lines).block(block), feed);
}
