//! Overlays drawn over the panes, one file each: they read `App`, change nothing.

pub mod confirm;
pub mod entry;
pub mod help;
pub mod mechanic;
pub mod picker;
pub mod session;

use ratatui::layout::{Constraint, Flex, Layout, Rect};

/// A `width`×`height` box in the middle of `area` (smaller when the area is).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [h] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    h
}
