//! Drawing from state: header with panes and clock, the current pane, a status line, the
//! footer generated from the keymap, and any overlay on top. Reads `App`, changes nothing.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::app::{App, Mode, Pane, ToastKind};
use super::keymap::{self, Scope};
use super::overlays;
use super::theme::Tone;
use crate::text::{fit, for_screen, width};

pub fn render(app: &App, frame: &mut Frame<'_>) {
    let area = frame.area();
    if app.too_small()
        || area.width < super::app::MIN_SIZE.0
        || area.height < super::app::MIN_SIZE.1
    {
        let (w, h) = super::app::MIN_SIZE;
        let text = vec![
            Line::from(Span::styled(
                "Terminal too small",
                app.theme.style(Tone::Warn),
            )),
            Line::from(format!(
                "pitwall needs {w}×{h}; this one is {}×{}.",
                area.width, area.height
            )),
            Line::from("Enlarge the window, or press q to quit."),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(10),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    render_header(app, frame, header);
    (app.pane.def().render)(app, frame, body);
    render_status(app, frame, status);
    render_footer(app, frame, footer);
    match &app.mode {
        Mode::Help => overlays::help::render(app, frame, area),
        Mode::Confirm(c) => overlays::confirm::render(app, c, frame, area),
        Mode::Picker(p) => overlays::picker::render(app, p, frame, area),
        Mode::Detail { scroll } => overlays::session::render(app, *scroll, frame, area),
        Mode::Mechanic { id, scroll } => overlays::mechanic::render(app, id, *scroll, frame, area),
        Mode::Entry { id, scroll } => overlays::entry::render(app, id, *scroll, frame, area),
        _ => {}
    }
}

fn render_header(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let layout = app.header_layout();
    let mut spans = Vec::new();
    if layout.title {
        spans.push(Span::styled(super::app::HEADER_TITLE, t.style(Tone::Title)));
    }
    for pane in Pane::all() {
        let label = app.tab_label(pane, layout.compact);
        spans.push(if pane == app.pane {
            Span::styled(label, t.style(Tone::Selected))
        } else {
            Span::styled(label, t.style(Tone::Dim))
        });
    }
    let used: usize = spans.iter().map(|s| width(&s.content)).sum();
    let pad = (area.width as usize).saturating_sub(used + width(&layout.summary));
    spans.push(Span::raw(" ".repeat(pad)));
    // The escalation count is what must not be missed: in the warning colour.
    let summary = layout.summary;
    match summary.find(" · ").filter(|_| summary.starts_with('⚠')) {
        Some(end) => {
            spans.push(Span::styled(
                summary[..end].to_string(),
                t.style(Tone::Warn),
            ));
            spans.push(Span::styled(summary[end..].to_string(), t.style(Tone::Dim)));
        }
        None => spans.push(Span::styled(summary, t.style(Tone::Dim))),
    }
    frame.render_widget(Line::from(spans), area);
}

fn render_status(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let mut spans = Vec::new();
    if let Some(marker) = &app.simulation {
        spans.push(Span::styled(format!(" {marker} "), t.style(Tone::Selected)));
    }
    let used = |spans: &[Span]| spans.iter().map(|s| width(&s.content)).sum::<usize>();
    if let Some(toast) = &app.toast {
        let (mark, tone) = match toast.kind {
            ToastKind::Info => ("✓", Tone::Good),
            ToastKind::Error => ("✗", Tone::Error),
        };
        // Text that already starts with a mark keeps its own: never two in a row.
        let text = toast.text.trim_start_matches(['✓', '✗', '⚠', ' ']);
        let room = usize::from(area.width).saturating_sub(used(&spans) + 3);
        spans.push(Span::styled(
            format!(" {mark} {}", fit(text, room)),
            t.style(tone),
        ));
    }
    if let Some(alert) = &app.alert {
        // A cue that carries its own mark (⚠ escalated) keeps it alone: never two in a row.
        let bell = if alert.starts_with('⚠') {
            ""
        } else {
            "🔔 "
        };
        spans.push(Span::styled(
            format!("  {bell}{} (Esc dismisses)", for_screen(alert)),
            t.style(Tone::Warn),
        ));
    }
    // What is left of the line: the warning stays until Esc, so it may be short now.
    if let Some(warning) = &app.warning {
        let room = usize::from(area.width).saturating_sub(used(&spans) + 5);
        if room > 10 {
            spans.push(Span::styled(
                format!("  ⚠ {}", fit(warning, room)),
                t.style(Tone::Warn),
            ));
        }
    }
    frame.render_widget(Line::from(spans), area);
}

/// The footer lists the keys of the current mode, from the same tables as the help. The
/// everywhere-keys (help, quit) sit at the right and are never cut; the pane's keys fill the
/// rest, as many as fit, with `…` when some did not (`?` lists them all). A key that can do
/// nothing now is dimmed; keys of what the pane shows (the offline card) are promoted.
fn render_footer(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let spans_of = |scope: Scope| -> Vec<Vec<Span<'static>>> {
        let mut bindings: Vec<_> = keymap::table(scope)
            .iter()
            .map(|b| (b, app.key_state(b)))
            .collect();
        // What belongs to what is on screen now comes first (a stable sort keeps the order).
        bindings.sort_by_key(|(_, state)| !state.promoted);
        bindings
            .into_iter()
            .filter(|(_, state)| state.shown)
            .map(|(b, state)| {
                let (key, text) = if state.enabled {
                    (t.style(Tone::Key), t.style(Tone::Dim))
                } else {
                    let off = t.style(Tone::Dim).add_modifier(Modifier::DIM);
                    (off, off)
                };
                vec![
                    Span::styled(format!(" {}", crate::tui::panes::label(b)), key),
                    Span::styled(format!(" {} ", state.help), text),
                ]
            })
            .collect()
    };
    let columns = |items: &[Vec<Span<'static>>]| -> usize {
        items.iter().flatten().map(|s| width(&s.content)).sum()
    };
    let mut left = Vec::new();
    let mut right = Vec::new();
    for scope in app.scopes() {
        if scope == Scope::Global {
            right.extend(spans_of(scope));
        } else {
            left.extend(spans_of(scope));
        }
    }
    let room = area.width as usize;
    let more = vec![Span::styled(" … ", t.style(Tone::Key))];
    let mut cut = false;
    while columns(&left) + columns(&right) + if cut { 3 } else { 0 } > room && !left.is_empty() {
        left.pop();
        cut = true;
    }
    if cut {
        left.push(more);
    }
    while columns(&right) > room && !right.is_empty() {
        right.remove(0);
    }
    let pad = room.saturating_sub(columns(&left) + columns(&right));
    let mut spans: Vec<Span> = left.into_iter().flatten().collect();
    spans.push(Span::raw(" ".repeat(pad)));
    spans.extend(right.into_iter().flatten());
    frame.render_widget(Line::from(spans), area);
}
