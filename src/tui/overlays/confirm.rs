//! The question a destructive action asks first.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::centered;
use crate::text::fit;
use crate::tui::state::{App, Confirm};
use crate::tui::theme::Tone;
use crate::tui::widgets::clear_overlay;

pub fn render(app: &App, confirm: &Confirm, frame: &mut Frame<'_>, area: Rect) {
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
