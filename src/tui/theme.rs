//! Colours and emphasis. Colour is never the only carrier of meaning — tiers, urgency and
//! shift status also have text or symbols — so `NO_COLOR` simply drops it.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

/// What a piece of text means; the theme decides how that looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Normal,
    Dim,
    Title,
    Selected,
    Good,
    Info,
    Warn,
    Urgent,
    Error,
    Accent,
    Key,
}

impl Theme {
    /// Monochrome when `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub fn style(&self, tone: Tone) -> Style {
        let base = Style::default();
        let emphasis = match tone {
            Tone::Title | Tone::Key | Tone::Urgent | Tone::Error => {
                base.add_modifier(Modifier::BOLD)
            }
            Tone::Selected => base.add_modifier(Modifier::REVERSED),
            Tone::Dim => base.add_modifier(Modifier::DIM),
            _ => base,
        };
        if !self.color {
            return emphasis;
        }
        let fg = match tone {
            Tone::Normal | Tone::Selected => return emphasis,
            Tone::Dim => Color::DarkGray,
            Tone::Title => Color::Cyan,
            Tone::Good => Color::Green,
            Tone::Info => Color::Cyan,
            Tone::Warn => Color::Yellow,
            Tone::Urgent | Tone::Error => Color::Red,
            Tone::Accent => Color::Magenta,
            Tone::Key => Color::Yellow,
        };
        emphasis.fg(fg)
    }
}
