//! A session's whole record and the score breakdown of every match (Enter on Queues).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::centered;
use crate::model::Tier;
use crate::text::{fit, for_screen};
use crate::tui::panes::queues::QueuesState;
use crate::tui::state::App;
use crate::tui::theme::Tone;
use crate::tui::widgets::{clear_overlay, panel};

/// Everything about the selected session, with the full score breakdown of every match.
pub fn render(app: &App, scroll: u16, frame: &mut Frame<'_>, area: Rect) {
    let t = &app.theme;
    // The record the queues pane loaded when it opened this overlay, reached as any pane's
    // state is (its type), not through the pane's functions.
    let Some(detail) = &app.state::<QueuesState>().detail else {
        return;
    };
    let s = &detail.session;
    let intake = app
        .data
        .sessions
        .iter()
        .chain(&app.data.scheduled)
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
    if let Some(id) = &s.matched_mechanic_id {
        let at = s
            .matched_at
            .map(|at| format!(" at {}", at.format("%d %b %H:%M UTC")))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled("Taken by  ", t.style(Tone::Dim)),
            Span::styled(
                format!("{}{at}", fit(app.mechanic_name(id), 40)),
                t.style(Tone::Good),
            ),
        ]));
    }
    let meta = s.meta();
    let words = meta.keywords();
    if s.metadata.get("extracted_keywords").is_some() {
        lines.push(Line::from(vec![
            Span::styled("Keywords  ", t.style(Tone::Dim)),
            Span::raw(for_screen(&words.join(", ")).into_owned()),
        ]));
    }
    if let Some(e) = meta.matching_error() {
        lines.push(Line::from(Span::styled(
            format!("Matching failed: {}", for_screen(e)),
            t.style(Tone::Error),
        )));
    }
    lines.push(Line::default());
    let top = meta.top_matches();
    if top.is_empty() {
        lines.push(Line::from(Span::styled(
            "No match scores (smart matching did not run).",
            t.style(Tone::Dim),
        )));
    }
    for m in &top {
        let (id, score) = (m.mechanic, m.score);
        let name = app.mechanic_name(id);
        lines.push(Line::from(vec![
            crate::tui::widgets::tier_badge(t, Tier::of_score(score)),
            Span::styled(
                format!(" {score:>3}  {}", fit(name, 60)),
                t.style(Tone::Title),
            ),
        ]));
        for &(points, reason) in &m.reasons {
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
