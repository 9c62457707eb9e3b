//! Making customer text safe to show. Text is stored exactly as given (SPEC §7); it is made
//! inert only where it meets a terminal, so no escape sequence a customer types can move the
//! cursor, recolour the console or retitle the window.

use std::borrow::Cow;

/// Control characters (C0, DEL, C1) and bidirectional overrides become U+FFFD; everything else is
/// kept. Borrowed when nothing needed replacing, which is almost always.
pub fn inert(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c })
            .collect(),
    )
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// True when the text holds a character [`inert`] would replace.
pub fn has_control(s: &str) -> bool {
    s.chars().any(is_unsafe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_controls_become_replacement_characters() {
        assert_eq!(inert("plain"), "plain");
        assert!(matches!(inert("plain"), Cow::Borrowed(_)));
        assert_eq!(inert("a\u{1b}[31mred"), "a\u{FFFD}[31mred");
        assert_eq!(inert("bell\u{7}\r\n"), "bell\u{FFFD}\u{FFFD}\u{FFFD}");
        assert_eq!(inert("\u{9b}2J"), "\u{FFFD}2J");
        assert_eq!(inert("evil\u{202E}txt"), "evil\u{FFFD}txt");
        assert_eq!(inert("Montréal — ok"), "Montréal — ok");
    }
}
