//! The broadcast's "accept as" list: only who the engine says may take the session.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::centered;
use crate::text::{fit, pad};
use crate::tui::state::{App, Picker};
use crate::tui::theme::Tone;
use crate::tui::widgets::{clear_overlay, panel};

pub fn render(app: &App, picker: &Picker, frame: &mut Frame<'_>, area: Rect) {
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
            m.score.unwrap_or(0),
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
