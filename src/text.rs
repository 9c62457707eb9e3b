//! Making customer text safe to show. Text is stored exactly as given (SPEC §7); it is made
//! inert only where it meets a terminal, so no escape sequence a customer types can move the
//! cursor, recolour the console or retitle the window. Also: how names sort for a reader.

use std::borrow::Cow;

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

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

/// The key names sort by in a list a dispatcher scans: accents and case set aside, so "Émilie"
/// stands among the E's and "émilie" beside "Emilie" (byte order would put both after "Zoe").
pub fn name_order_key(name: &str) -> String {
    name.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_as_a_reader_looks_them_up() {
        let mut names = vec![
            "Zoe",
            "Émilie Gagnon",
            "Yusuf",
            "eve",
            "Ève",
            "Daniel",
            "Éa",
        ];
        names.sort_by_key(|n| name_order_key(n));
        assert_eq!(
            names,
            [
                "Daniel",
                "Éa",
                "Émilie Gagnon",
                "eve",
                "Ève",
                "Yusuf",
                "Zoe"
            ]
        );
    }

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
