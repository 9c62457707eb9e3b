//! The `?` overlay: every key of the pane and the global ones, from the keymap's tables.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::centered;
use crate::tui::keymap::{self, Scope};
use crate::tui::state::App;
use crate::tui::theme::Tone;
use crate::tui::widgets::{clear_overlay, panel};

pub fn render(app: &App, frame: &mut Frame<'_>, area: Rect) {
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
        for b in bindings {
            let label = crate::tui::panes::label(b);
            let help = b.help;
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
    // A pane with fields to edit also lists the editing keys.
    if app.pane.def().keys.iter().any(|b| b.op == keymap::Op::Edit) {
        right.push(Line::default());
        section("Typing into the form", Scope::Editing, &mut right);
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
