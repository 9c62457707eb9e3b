//! Drawing from state: header with panes and clock, the current pane, a status line, the
//! footer generated from the keymap, and any overlay on top. Reads `App`, changes nothing.

use crate::tui::widgets::{clear_overlay, panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::app::{App, Confirm, Mode, Pane, ToastKind};
use super::keymap::{self, Scope};
use super::panes::{intake, mechanics, metrics, queues, waitlist};
use super::theme::Tone;
use crate::model::{SessionStatus, Tier};
use crate::text::{fit, for_screen, pad, width};

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
    match app.pane {
        Pane::Intake => intake::render(app, frame, body),
        Pane::Queues => queues::render(app, frame, body),
        Pane::Mechanics => mechanics::render(app, frame, body),
        Pane::Waitlist => waitlist::render(app, frame, body),
        Pane::Metrics => metrics::render(app, frame, body),
    }
    render_status(app, frame, status);
    render_footer(app, frame, footer);
    match &app.mode {
        Mode::Help => render_help(app, frame, area),
        Mode::Confirm(c) => render_confirm(app, c, frame, area),
        Mode::Picker(p) => render_picker(app, p, frame, area),
        Mode::Detail { scroll } => render_detail(app, *scroll, frame, area),
        Mode::Mechanic { id, scroll } => {
            super::overlays::mechanic::render(app, id, *scroll, frame, area)
        }
        _ => {}
    }
}

fn render_header(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let mut spans = vec![Span::styled(super::app::HEADER_TITLE, t.style(Tone::Title))];
    for pane in Pane::ALL.iter() {
        let label = pane.tab_label();
        spans.push(if *pane == app.pane {
            Span::styled(label, t.style(Tone::Selected))
        } else {
            Span::styled(label, t.style(Tone::Dim))
        });
    }
    let count = |s: SessionStatus| app.data.counts.get(&s).copied().unwrap_or(0);
    let on_shift = app
        .data
        .roster
        .iter()
        .filter(|r| r.mechanic.currently_on_shift)
        .count();
    let used: usize = spans.iter().map(|s| width(&s.content)).sum();
    let room = (area.width as usize).saturating_sub(used);
    let (waiting, matched) = (count(SessionStatus::Waiting), count(SessionStatus::Matched));
    let clock = app.now.format("%H:%M:%S");
    // The fullest summary that fits.
    let escalated = app.data.sessions.iter().filter(|r| r.escalated()).count();
    let (esc_long, esc_short) = if escalated > 0 {
        (
            format!("⚠ {escalated} escalated · "),
            format!("⚠{escalated} "),
        )
    } else {
        (String::new(), String::new())
    };
    let right = [
        format!(
            "{esc_long}waiting {waiting} · matched {matched} · on shift {on_shift}  {clock} UTC "
        ),
        format!("{esc_short}W{waiting} M{matched} ●{on_shift} {clock} "),
        format!("{esc_short}{clock} "),
    ]
    .into_iter()
    .find(|r| width(r) < room)
    .unwrap_or_default();
    let pad = (area.width as usize).saturating_sub(used + width(&right));
    spans.push(Span::raw(" ".repeat(pad)));
    spans.push(Span::styled(right, t.style(Tone::Dim)));
    frame.render_widget(Line::from(spans), area);
}

fn render_status(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let mut spans = Vec::new();
    if let Some(toast) = &app.toast {
        let (mark, tone) = match toast.kind {
            ToastKind::Info => ("✓", Tone::Good),
            ToastKind::Error => ("✗", Tone::Error),
        };
        spans.push(Span::styled(
            format!(
                " {mark} {}",
                fit(&toast.text, usize::from(area.width).saturating_sub(3))
            ),
            t.style(tone),
        ));
    }
    if let Some(alert) = &app.alert {
        spans.push(Span::styled(
            format!("  🔔 {} (Esc dismisses)", for_screen(alert)),
            t.style(Tone::Warn),
        ));
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
                    Span::styled(format!(" {}", b.label), key),
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

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}

fn render_help(app: &App, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let section = |title: &str, scope: Scope, lines: &mut Vec<Line<'static>>| {
        let bindings = keymap::table(scope);
        if bindings.is_empty() {
            return;
        }
        lines.push(Line::from(Span::styled(
            title.to_string(),
            t.style(Tone::Title),
        )));
        let mut panes_listed = false;
        for b in bindings {
            // The five pane keys read better as one line.
            let (label, help) = match b.op {
                keymap::Op::GoPane(_) if panes_listed => continue,
                keymap::Op::GoPane(_) => {
                    panes_listed = true;
                    ("1–5", "switch to pane")
                }
                _ => (b.label, b.help),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {label:<7} "), t.style(Tone::Key)),
                Span::raw(help),
            ]));
        }
    };
    let mut left = Vec::new();
    section("Everywhere", Scope::Global, &mut left);
    let mut right = Vec::new();
    section(
        &format!("{} pane", app.pane.title()),
        Scope::Pane(app.pane),
        &mut right,
    );
    if app.pane == Pane::Intake {
        right.push(Line::default());
        section("Editing a field", Scope::Editing, &mut right);
    }
    let height = (left.len().max(right.len()) as u16 + 2).min(area.height.saturating_sub(2));
    let popup = centered(area, 78, height);
    clear_overlay(frame, popup);
    let block = panel(t, " Help · Esc closes ");
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [l, r] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(inner);
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(Paragraph::new(right), r);
}

fn render_confirm(app: &App, confirm: &Confirm, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let question = match confirm {
        Confirm::CancelSession(id) => format!(
            "Cancel session {}? Every open offer is withdrawn and its waitlist entries cancelled.",
            fit(id, 24)
        ),
        Confirm::CompleteSession(id) => format!(
            "Mark session {} completed? It leaves the live lists; this cannot be undone.",
            fit(id, 24)
        ),
        Confirm::CancelEntry(id) => format!("Cancel waitlist entry {}?", fit(id, 24)),
        Confirm::ClockOut { name, offers, .. } => format!(
            "Clock out {}? Their {offers} live offer{} will be withdrawn.",
            fit(name, 40),
            if *offers == 1 { "" } else { "s" }
        ),
        Confirm::ClearForm => "Start a new intake? What the form holds now is discarded.".into(),
        Confirm::Quit => {
            "Quit pitwall? The intake form holds typed details that would be lost.".into()
        }
    };
    let popup = centered(area, 56, 7);
    clear_overlay(frame, popup);
    let lines = vec![
        Line::from(question),
        Line::default(),
        Line::from(vec![
            Span::styled(" y ", t.style(Tone::Key)),
            Span::raw("yes    "),
            Span::styled(" n/Esc ", t.style(Tone::Key)),
            Span::raw("no, keep it"),
        ]),
    ];
    let block = Block::bordered()
        .title(" Confirm ")
        .title_style(t.style(Tone::Warn));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        popup,
    );
}

fn render_picker(app: &App, picker: &super::app::Picker, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let popup = centered(
        area,
        70,
        (picker.mechanics.len() as u16 + 3).min(area.height - 2),
    );
    clear_overlay(frame, popup);
    let visible = popup.height.saturating_sub(3) as usize;
    let first = (picker.selected + 1).saturating_sub(visible);
    let mut lines = vec![Line::from(Span::styled(
        format!("Who takes {} from the broadcast?", fit(&picker.session, 20)),
        t.style(Tone::Dim),
    ))];
    for (i, m) in picker
        .mechanics
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
    {
        // Name, city and what he knows: enough to tell two mechanics apart at a glance.
        let specialties: Vec<&str> = m
            .brands
            .iter()
            .chain(m.keywords.iter())
            .map(String::as_str)
            .collect();
        // Name, city and score in fixed columns (cut and padded by display width), the rest
        // of the row for specialties.
        let room = usize::from(popup.width).saturating_sub(4);
        let line = Line::from(format!(
            "{} {} {} {:>3}  {}",
            if i == picker.selected { "›" } else { " " },
            pad(&m.name, 22),
            pad(m.city.as_deref().unwrap_or("—"), 12),
            m.score,
            fit(&specialties.join(", "), room.saturating_sub(42))
        ));
        lines.push(if i == picker.selected {
            line.style(t.style(Tone::Selected))
        } else {
            line
        });
    }
    let block = panel(t, " Accept as ");
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}

/// Everything about the selected session, with the full score breakdown of every match.
fn render_detail(app: &App, scroll: u16, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    let Some(detail) = &app.queues.detail else {
        return;
    };
    let s = &detail.session;
    let intake = queues::visible(app)
        .into_iter()
        .find(|r| r.session.id == s.id)
        .and_then(|r| r.intake.clone());
    let mut lines = Vec::new();
    if let Some(i) = &intake {
        lines.push(Line::from(vec![
            Span::styled("Customer  ", t.style(Tone::Dim)),
            Span::raw(format!(
                "{} · {} · {}",
                fit(&i.customer_name, 60),
                fit(
                    i.customer_email
                        .as_deref()
                        .or(i.customer_phone.as_deref())
                        .unwrap_or("—"),
                    60
                ),
                fit(
                    &[
                        i.city.as_deref(),
                        i.province.as_deref(),
                        Some(&i.postal_code)
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
                    60
                ),
            )),
        ]));
        let vehicle = [
            i.vehicle_year.map(|y| y.to_string()),
            i.vehicle_make.clone(),
            i.vehicle_model.clone(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        lines.push(Line::from(vec![
            Span::styled("Vehicle   ", t.style(Tone::Dim)),
            Span::raw(fit(&vehicle, 60).into_owned()),
        ]));
        lines.push(Line::from(vec![
            Span::styled("Concern   ", t.style(Tone::Dim)),
            Span::raw(for_screen(&i.concern).into_owned()),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled("Session   ", t.style(Tone::Dim)),
        Span::raw(format!(
            "{} · {} · {} · {}{}",
            fit(&s.id, 24),
            s.status,
            s.payment_method,
            s.request_type,
            if s.urgent { " · URGENT" } else { "" }
        )),
    ]));
    let meta = &s.metadata;
    if let Some(k) = meta.get("extracted_keywords").and_then(|v| v.as_array()) {
        let words: Vec<&str> = k.iter().filter_map(|w| w.as_str()).collect();
        lines.push(Line::from(vec![
            Span::styled("Keywords  ", t.style(Tone::Dim)),
            Span::raw(for_screen(&words.join(", ")).into_owned()),
        ]));
    }
    if let Some(e) = meta.get("matching_error").and_then(|v| v.as_str()) {
        lines.push(Line::from(Span::styled(
            format!("Matching failed: {}", for_screen(e)),
            t.style(Tone::Error),
        )));
    }
    lines.push(Line::default());
    let top = meta
        .pointer("/matching_results/top")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    if top.is_empty() {
        lines.push(Line::from(Span::styled(
            "No match scores (smart matching did not run).",
            t.style(Tone::Dim),
        )));
    }
    for m in &top {
        let id = m.get("mechanic_id").and_then(|v| v.as_str()).unwrap_or("?");
        let score = m.get("score").and_then(|v| v.as_i64()).unwrap_or(0);
        let name = app.mechanic_name(id);
        lines.push(Line::from(vec![
            super::widgets::tier_badge(t, Tier::of_score(score)),
            Span::styled(
                format!(" {score:>3}  {}", fit(name, 60)),
                t.style(Tone::Title),
            ),
        ]));
        for r in m
            .get("reasons")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let points = r.get("points").and_then(|v| v.as_i64()).unwrap_or(0);
            let reason = r.get("reason").and_then(|v| v.as_str()).unwrap_or("");
            lines.push(Line::from(vec![
                Span::styled(
                    format!("      {points:>+4}  "),
                    t.style(if points < 0 { Tone::Warn } else { Tone::Good }),
                ),
                Span::raw(for_screen(reason).into_owned()),
            ]));
        }
    }
    let popup = centered(
        area,
        area.width.saturating_sub(6).min(100),
        area.height.saturating_sub(2),
    );
    clear_overlay(frame, popup);
    let block = panel(t, " Session detail · ↑/↓ scroll · Esc closes ");
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(block),
        popup,
    );
}
