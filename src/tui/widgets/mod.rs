//! Small shared pieces: the tier badge, the countdown, a notification's delivery state. Each
//! carries its meaning in text as well as colour.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::buffer::CellWidth;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::{Block, Clear};

use super::theme::{Theme, Tone};
use crate::model::Tier;

/// A list the dispatcher moves through: dim header, the selected row highlighted and marked
/// `›`, and the mark's column kept whether or not a row is selected (so rows never shift).
pub fn selectable_table<'a>(
    theme: &Theme,
    rows: Vec<ratatui::widgets::Row<'a>>,
    widths: impl IntoIterator<Item = ratatui::layout::Constraint>,
    header: ratatui::widgets::Row<'a>,
    block: Block<'a>,
) -> ratatui::widgets::Table<'a> {
    ratatui::widgets::Table::new(rows, widths)
        .header(header.style(theme.style(Tone::Dim)))
        .row_highlight_style(theme.style(Tone::Selected))
        .highlight_symbol("› ")
        .highlight_spacing(ratatui::widgets::HighlightSpacing::Always)
        .block(block)
}

/// A bordered pane section with its title in the title colour.
pub fn panel<'a>(theme: &Theme, title: impl Into<ratatui::text::Line<'a>>) -> Block<'a> {
    Block::bordered()
        .title(title)
        .title_style(theme.style(Tone::Title))
}

/// The columns inside a bordered block drawn on `area`: what a line in it may take.
pub fn inner_width(area: Rect) -> usize {
    usize::from(area.width.saturating_sub(2))
}

/// Clears `area` for an overlay. A wide character just left of it would reach under the
/// overlay's left border: ratatui would then skip drawing that border cell (it takes it for the
/// character's right half) and the terminal would keep showing the character across it. So such
/// a character gives way to a blank.
pub fn clear_overlay(frame: &mut Frame<'_>, area: Rect) {
    frame.render_widget(Clear, area);
    let Some(left) = area.x.checked_sub(1) else {
        return;
    };
    let buffer = frame.buffer_mut();
    for y in area.top()..area.bottom() {
        if let Some(cell) = buffer.cell_mut((left, y))
            && cell.cell_width() > 1
        {
            cell.set_symbol(" ");
        }
    }
}

/// `[HIGH]`, `[GOOD]`, `[STD ]`, `[ALL ]` — same width, so columns line up.
pub fn tier_badge(theme: &Theme, tier: Tier) -> Span<'static> {
    let (text, tone) = match tier {
        Tier::High => ("[HIGH]", Tone::Good),
        Tier::Good => ("[GOOD]", Tone::Info),
        Tier::Standard => ("[STD ]", Tone::Dim),
        Tier::Broadcast => ("[ALL ]", Tone::Accent),
    };
    Span::styled(text, theme.style(tone))
}

/// Seconds until `deadline` as `m:ss`, marked `!` under 30 s and `!!` under 10 s (and coloured
/// accordingly); `expired` once past.
pub fn countdown(theme: &Theme, deadline: DateTime<Utc>, now: DateTime<Utc>) -> Span<'static> {
    let left = (deadline - now).num_milliseconds();
    if left <= 0 {
        return Span::styled("expired", theme.style(Tone::Dim));
    }
    let secs = (left + 999) / 1000;
    let text = format!("{}:{:02}", secs / 60, secs % 60);
    match secs {
        0..=10 => Span::styled(format!("{text} !!"), theme.style(Tone::Urgent)),
        11..=30 => Span::styled(format!("{text} !"), theme.style(Tone::Warn)),
        _ => Span::styled(text, theme.style(Tone::Good)),
    }
}

/// Time until a booking is released: minutes and seconds within the hour, else hours and
/// minutes, or days and hours.
pub fn release_countdown(
    theme: &Theme,
    release: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Span<'static> {
    let secs = (release - now).num_seconds();
    if secs <= 0 {
        return Span::styled("releasing", theme.style(Tone::Warn));
    }
    let text = match secs {
        0..3600 => format!("in {}:{:02}", secs / 60, secs % 60),
        3600..86400 => format!("in {}h {:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("in {}d {:02}h", secs / 86400, secs % 86400 / 3600),
    };
    Span::styled(text, theme.style(Tone::Info))
}

/// A notification's delivery state in words, as the waitlist pane and its entry overlay both
/// show it (SPEC §12): queued (no transport has taken it
/// yet), sent only once one did, retrying with the last error, dead with it, or skipped with
/// why (an offer that was no longer live).
pub fn delivery_state(n: &crate::model::Notification) -> (String, Tone) {
    use crate::model::DeliveryStatus;
    match (n.status, n.last_error.as_deref()) {
        (DeliveryStatus::Sent, _) => ("✓ sent".to_string(), Tone::Good),
        (DeliveryStatus::Pending, None) => ("… queued".to_string(), Tone::Dim),
        (DeliveryStatus::Pending, Some(e)) => (
            format!("↻ retry {} ({})", n.attempts, crate::text::fit(e, 40)),
            Tone::Warn,
        ),
        (DeliveryStatus::Dead, e) => (
            format!("✗ dead ({})", crate::text::fit(e.unwrap_or("gave up"), 40)),
            Tone::Error,
        ),
        (DeliveryStatus::Skipped, _) => (
            format!(
                "– not sent: offer {}",
                n.skip_reason.map_or("ended", |r| r.as_str())
            ),
            Tone::Dim,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use ratatui::style::Color;

    #[test]
    fn countdown_turns_urgent_near_zero_in_text_and_colour() {
        let theme = Theme { color: true };
        let now = Utc::now();
        let calm = countdown(&theme, now + Duration::seconds(95), now);
        assert_eq!(
            (calm.content.as_ref(), calm.style.fg),
            ("1:35", Some(Color::Green))
        );
        let soon = countdown(&theme, now + Duration::seconds(25), now);
        assert_eq!(
            (soon.content.as_ref(), soon.style.fg),
            ("0:25 !", Some(Color::Yellow))
        );
        let now_now = countdown(&theme, now + Duration::seconds(4), now);
        assert_eq!(
            (now_now.content.as_ref(), now_now.style.fg),
            ("0:04 !!", Some(Color::Red))
        );
        assert_eq!(countdown(&theme, now, now).content, "expired");
        let mono = countdown(&Theme { color: false }, now + Duration::seconds(4), now);
        assert_eq!((mono.content.as_ref(), mono.style.fg), ("0:04 !!", None));
    }
}
