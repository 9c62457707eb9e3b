//! Making customer text safe to show. Text is stored exactly as given (SPEC §7); it is made
//! inert only where it meets a terminal, so no escape sequence a customer types can move the
//! cursor, recolour the console or retitle the window. On the console it is also laid out by
//! display width ([`for_screen`], [`fit`], [`pad`]). Also: how names sort for a reader.

use std::borrow::Cow;

use ratatui::buffer::CellWidth;
use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};
use unicode_segmentation::UnicodeSegmentation;
use unicode_width::UnicodeWidthChar;

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

/// Text as the console may draw it: [`inert`], and laid out so that ratatui and the terminal
/// agree on the width of every cell.
///
/// ratatui gives each grapheme cluster one cell of its `unicode-width`; a terminal advances by
/// the width of each code point (wcwidth) and knows nothing of emoji ligatures — and terminals
/// disagree with one another on exactly those. Where the two differ, the rest of the row lands
/// in the wrong columns: borders pushed out, a countdown overwritten, stale cells left behind.
/// So rather than guess a terminal, every cluster is made one whose width is unambiguous:
///
/// - Controls, bidirectional embeddings/overrides/isolates and line/paragraph separators become
///   U+FFFD, so tampering stays visible ([`inert`]).
/// - Other format characters (Unicode category Cf: soft hyphen, zero-width space and joiners,
///   LRM/RLM, word joiner, BOM, tags, …) and variation selectors are removed. They are invisible
///   by design, so removing them shows what a reader would see. Without the joiner an emoji ZWJ
///   sequence falls apart into its emoji side by side (👩‍🔧 → 👩🔧), each two columns wide
///   everywhere; without VS16 a text-default symbol (❤️) is one column everywhere.
/// - Skin-tone modifiers are removed (👍🏽 → 👍): as a ligature they are two columns, apart four.
/// - Regional indicators become their letters in brackets (🇨🇦 → `[CA]`): a flag is one or two
///   columns depending on the terminal, letters are not, and they still say which country.
/// - A cluster keeps at most [`MAX_CLUSTER_CHARS`] code points, so a stack of combining marks
///   cannot spill into the rows above and below.
/// - Any cluster whose width ratatui and a per-code-point count still disagree on, or that is
///   wider than two columns, becomes U+FFFD; a cluster of width zero is dropped (ratatui would
///   skip it anyway). So the text also never starts with a mark that could join what precedes
///   it on screen.
///
/// Borrowed when nothing needed changing, which is almost always.
pub fn for_screen(s: &str) -> Cow<'_, str> {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Cow::Borrowed(s);
    }
    let mut plain = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if is_unsafe(c) || matches!(c, '\u{2028}' | '\u{2029}') {
            plain.push('\u{FFFD}');
        } else if let Some(letter) = regional_letter(c) {
            plain.push('[');
            plain.push(letter);
            if let Some(second) = chars.peek().copied().and_then(regional_letter) {
                chars.next();
                plain.push(second);
            }
            plain.push(']');
        } else if !is_invisible_format(c) {
            plain.push(c);
        }
    }
    // Dropping or replacing a cluster can join its neighbours into a new one (two Hangul
    // leading consonants either side of a dropped mark), so check again until nothing changes;
    // every pass that changes something removes or replaces code points, so this ends quickly.
    let mut out = check_clusters(&plain);
    for _ in 0..8 {
        let again = check_clusters(&out);
        if again == out {
            break;
        }
        out = again;
    }
    if out == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(out)
    }
}

/// One pass over the clusters of `text`: each kept if ratatui and a terminal agree on its width
/// (and it is at most two columns), dropped if both make it zero, else replaced by U+FFFD.
fn check_clusters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for cluster in text.graphemes(true) {
        let end = cluster
            .char_indices()
            .nth(MAX_CLUSTER_CHARS)
            .map_or(cluster.len(), |(i, _)| i);
        let cluster = &cluster[..end];
        let ratatui = cluster_width(cluster);
        let terminal: usize = cluster.chars().map(|c| c.width().unwrap_or(0)).sum();
        match (ratatui, terminal) {
            (0, 0) => {}
            (w, t) if w == t && w <= 2 => out.push_str(cluster),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Code points one grapheme cluster may keep on screen (a letter and a few marks: enough for
/// Vietnamese, Thai and Devanagari, not for a tower of diacritics).
pub const MAX_CLUSTER_CHARS: usize = 4;

/// Format characters (category Cf) other than the bidirectional controls [`inert`] replaces, and
/// what else only changes how its neighbours look: variation selectors, skin-tone modifiers, the
/// reserved default-ignorable plane-14 code points.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{AD}' | '\u{600}'..='\u{605}' | '\u{61C}' | '\u{6DD}' | '\u{70F}'
        | '\u{890}'..='\u{891}' | '\u{8E2}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2065}' | '\u{206A}'..='\u{206F}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}'
        | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{1F3FB}'..='\u{1F3FF}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// `A`–`Z` for a regional indicator symbol.
fn regional_letter(c: char) -> Option<char> {
    let offset = (c as u32).checked_sub(0x1F1E6).filter(|o| *o < 26)?;
    char::from_u32('A' as u32 + offset)
}

/// The columns ratatui gives one grapheme cluster (its own rule, so the two cannot drift).
fn cluster_width(cluster: &str) -> usize {
    if cluster.contains(char::is_control) {
        return 0;
    }
    usize::from(cluster.cell_width())
}

/// The columns `s` takes once [`for_screen`] has made it safe.
pub fn width(s: &str) -> usize {
    columns_of(&for_screen(s))
}

/// The columns text already made safe takes.
fn columns_of(shown: &str) -> usize {
    shown.graphemes(true).map(cluster_width).sum()
}

/// [`for_screen`], cut to at most `columns` columns; a cut is marked with `…`.
pub fn fit(s: &str, columns: usize) -> Cow<'_, str> {
    let shown = for_screen(s);
    if columns_of(&shown) <= columns {
        return shown;
    }
    let mut out = String::new();
    let mut used = 0;
    for cluster in shown.graphemes(true) {
        let w = cluster_width(cluster);
        if used + w + 1 > columns {
            break;
        }
        used += w;
        out.push_str(cluster);
    }
    if columns > 0 {
        out.push('…');
    }
    Cow::Owned(out)
}

/// [`for_screen`], keeping the end that fits in `columns` columns, a cut marked with a leading
/// `…` (what someone typing wants to see).
pub fn fit_end(s: &str, columns: usize) -> Cow<'_, str> {
    let shown = for_screen(s);
    if columns_of(&shown) <= columns {
        return shown;
    }
    let mut tail = Vec::new();
    let mut used = 0;
    for cluster in shown.graphemes(true).rev() {
        let w = cluster_width(cluster);
        if used + w + 1 > columns {
            break;
        }
        used += w;
        tail.push(cluster);
    }
    if columns == 0 {
        return Cow::Borrowed("");
    }
    let mut out = String::from("…");
    out.extend(tail.into_iter().rev());
    Cow::Owned(out)
}

/// [`fit`], then padded with spaces to exactly `columns` columns: a column that lines up.
pub fn pad(s: &str, columns: usize) -> String {
    let shown = fit(s, columns);
    let fill = columns.saturating_sub(columns_of(&shown));
    let mut out = shown.into_owned();
    out.extend(std::iter::repeat_n(' ', fill));
    out
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

    /// What a terminal makes of a string: each code point at its own width.
    fn terminal_columns(s: &str) -> usize {
        s.chars().map(|c| c.width().unwrap_or(0)).sum()
    }

    #[test]
    fn format_characters_joiners_and_flags_become_unambiguous() {
        assert_eq!(for_screen("Ann\u{AD}Smith"), "AnnSmith");
        assert_eq!(for_screen("🇨🇦🇺🇸"), "[CA][US]");
        assert_eq!(for_screen("🇨🇦🇺"), "[CA][U]");
        assert_eq!(for_screen("👩\u{200D}🔧"), "👩🔧");
        assert_eq!(for_screen("👨\u{200D}👩\u{200D}👧"), "👨👩👧");
        assert_eq!(
            for_screen("👍🏽 ❤\u{FE0F} 1\u{FE0F}\u{20E3}"),
            "👍 ❤ 1\u{20E3}"
        );
        assert_eq!(
            for_screen("🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}"),
            "🏴"
        );
        assert_eq!(
            for_screen("\u{200F}Jo\u{200B}e\u{200E}\u{FEFF}\u{2060}"),
            "Joe",
            "invisible marks go"
        );
        assert_eq!(
            for_screen("a\u{202E}b\u{2067}c\u{2028}d"),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}d",
            "reordering and line breaks stay visible"
        );
        assert_eq!(for_screen("\u{1b}[2J"), "\u{FFFD}[2J");
        assert_eq!(
            for_screen("Z\u{337}\u{322}\u{31B}\u{353}\u{319}\u{300}o"),
            "Z\u{337}\u{322}\u{31B}o",
            "at most four code points a cluster"
        );
        assert_eq!(
            for_screen("\u{301}e"),
            "e",
            "a leading lone mark is dropped"
        );
        for kept in ["Montréal — ok", "Québec", "東京 ＡＢ", "ที่ Việt", "plain"] {
            assert_eq!(for_screen(kept), kept);
        }
        assert!(matches!(for_screen("Ève"), Cow::Borrowed(_)));
    }

    #[test]
    fn every_shown_cluster_has_one_width_for_ratatui_and_terminal() {
        let hostile = "Ann\u{AD}Smith 🇨🇦🇺🇸 👩\u{200D}🔧 👨\u{200D}👩\u{200D}👧 👍🏽 ❤\u{FE0F} \
            \u{5D0}\u{200D}\u{5DC} \u{1780}\u{17D2}\u{1780} ｶﾞ \u{115F}\u{1160} e\u{301}\u{302}";
        let shown = for_screen(hostile);
        for cluster in shown.graphemes(true) {
            let w = cluster_width(cluster);
            assert_eq!(w, terminal_columns(cluster), "{cluster:?}");
            assert!((1..=2).contains(&w), "{cluster:?}");
        }
        assert_eq!(for_screen(&shown), shown, "idempotent");
        assert_eq!(width(hostile), terminal_columns(&shown));
    }

    /// Text mixing anything at all with the code points that make widths ambiguous.
    fn hostile_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let tricky = prop::sample::select(vec![
            '\u{200D}',
            '\u{FE0F}',
            '\u{FE0E}',
            '\u{AD}',
            '\u{200B}',
            '\u{202E}',
            '\u{2067}',
            '\u{1F1E8}',
            '\u{1F1E6}',
            '\u{1F3FD}',
            '\u{20E3}',
            '\u{301}',
            '\u{E0067}',
            '\u{1F469}',
            '\u{1F527}',
            '\u{2764}',
            '\u{754C}',
            '\u{1100}',
            '\u{1161}',
            '\u{915}',
            '\u{94D}',
            '\u{17D2}',
            '\u{FF9E}',
            'a',
            ' ',
            '1',
        ]);
        prop::collection::vec(prop_oneof![any::<char>(), tricky], 0..40).prop_map(String::from_iter)
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_shown_in_cells_of_one_agreed_width(
            s in hostile_text(),
            columns in 0usize..30,
        ) {
            let shown = for_screen(&s);
            for cluster in shown.graphemes(true) {
                let w = cluster_width(cluster);
                proptest::prop_assert_eq!(w, terminal_columns(cluster), "{:?}", cluster);
                proptest::prop_assert!((1..=2).contains(&w), "{:?}", cluster);
                proptest::prop_assert!(cluster.chars().count() <= MAX_CLUSTER_CHARS);
            }
            proptest::prop_assert!(width(&fit(&s, columns)) <= columns);
            proptest::prop_assert!(width(&fit_end(&s, columns)) <= columns);
            proptest::prop_assert_eq!(width(&pad(&s, columns)), columns);
        }
    }

    #[test]
    fn fitting_cuts_by_columns_not_characters() {
        assert_eq!(fit("Ann\u{AD}Smith", 8), "AnnSmith");
        assert_eq!(fit("Ann\u{AD}Smith", 5), "AnnS…");
        assert_eq!(
            fit("界界界界", 5),
            "界界…",
            "a wide character never straddles the edge"
        );
        assert_eq!(fit("界界界界", 4), "界…");
        assert_eq!(fit("👩\u{200D}🔧👩\u{200D}🔧", 4), "👩…");
        assert_eq!(fit("👩\u{200D}🔧", 4), "👩🔧");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit_end("abcdef", 4), "…def");
        assert_eq!(fit_end("界界界界", 5), "…界界");
        assert_eq!(fit_end("abc", 3), "abc");
        assert_eq!(pad("界a", 5), "界a  ");
        assert_eq!(pad("🇨🇦", 3), "[C…");
        let word = "W".repeat(10_000);
        assert_eq!(width(&fit(&word, 24)), 24);
        assert_eq!(width(&pad(&"界".repeat(10_000), 25)), 25);
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
