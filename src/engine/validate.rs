//! Input rules of SPEC §7: every check names its field and says what is wrong in words a
//! dispatcher understands. Nothing here writes; the engine validates before it touches the
//! database, and its transaction rolls back anything a later check refuses.

use crate::error::{DispatchError, DispatchResult};
use crate::text::has_control;

pub const MAX_ID: usize = 64;
pub const MAX_NAME: usize = 200;
pub const MAX_EMAIL: usize = 254;
pub const MAX_PHONE: usize = 32;
pub const MAX_CONCERN: usize = 4000;
pub const MAX_SHORT_TEXT: usize = 120;
pub const MAX_LIST_ITEMS: usize = 50;

/// Caller-given ids: 1–64 printable characters that a person can see, read back and type again
/// (SPEC §7). Refused: control and format characters (Unicode Cc and Cf: zero-width spaces, bidi
/// marks, soft hyphens), line and paragraph separators, private-use and unassigned code points,
/// whitespace at either end, and ids of nothing but spaces, combining marks or blank fillers —
/// two such ids look alike on every screen while naming different records.
pub fn id(field: &str, value: &str) -> DispatchResult<()> {
    let len = value.chars().count();
    if len == 0 || len > MAX_ID {
        return Err(DispatchError::invalid(
            field,
            format!("The {field} must be 1 to {MAX_ID} characters long."),
        ));
    }
    if !value.chars().all(id_char_printable) {
        return Err(DispatchError::invalid(
            field,
            format!(
                "The {field} may hold only printable characters (no control, format or \
                 invisible characters)."
            ),
        ));
    }
    if !value.chars().any(id_char_visible) {
        return Err(DispatchError::invalid(
            field,
            format!("The {field} must contain a visible character."),
        ));
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Err(DispatchError::invalid(
            field,
            format!("The {field} may not start or end with a space."),
        ));
    }
    Ok(())
}

/// A caller-given id that names a record already there: a conflict with what is stored
/// (HTTP 409), not a malformed request, so `invalid_state` at the id's field.
pub fn id_taken(field: &str, record: &str, id: &str) -> DispatchError {
    DispatchError::new(
        crate::error::ErrorCode::InvalidState,
        format!(
            "{record} with id \"{}\" already exists; choose another id, or leave it out and \
             one is made.",
            crate::text::inert(id)
        ),
    )
    .with_field(field)
}

/// Whether `c` may appear in a caller-given id at all: not a control, format, surrogate,
/// private-use or unassigned code point (Unicode's "Other" group), nor a line or paragraph
/// separator. The API's document derives its id pattern from this same function.
pub fn id_char_printable(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, GeneralCategoryGroup, UnicodeGeneralCategory};
    c.general_category_group() != GeneralCategoryGroup::Other
        && !matches!(
            c.general_category(),
            G::LineSeparator | G::ParagraphSeparator
        )
}

/// Whether `c` shows as something on a screen: an id needs at least one such character.
pub fn id_char_visible(c: char) -> bool {
    use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};
    id_char_printable(c)
        && !c.is_whitespace()
        && !matches!(
            c.general_category_group(),
            GeneralCategoryGroup::Mark | GeneralCategoryGroup::Separator
        )
        // Hangul fillers and the blank braille pattern are letters or symbols that print nothing.
        && !matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
        )
}

/// A required free-text field: at most `max` characters as given (spaces count: what was sent is
/// what is measured, as the API's document says), not blank, stored trimmed.
pub fn required<'a>(
    field: &str,
    label: &str,
    value: &'a str,
    max: usize,
) -> DispatchResult<&'a str> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(DispatchError::invalid(
            field,
            format!("The {label} is required."),
        ));
    }
    length(field, label, value, max)?;
    Ok(trimmed)
}

/// An optional free-text field: blank becomes `None`; too long is refused, never truncated.
pub fn optional(
    field: &str,
    label: &str,
    value: Option<&str>,
    max: usize,
) -> DispatchResult<Option<String>> {
    // Measured as given, like `required`: a blank value over the limit is still over it.
    if let Some(given) = value {
        length(field, label, given, max)?;
    }
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Ok(Some(v.to_string())),
    }
}

fn length(field: &str, label: &str, value: &str, max: usize) -> DispatchResult<()> {
    let len = value.chars().count();
    if len > max {
        return Err(DispatchError::invalid(
            field,
            format!("The {label} is {len} characters long; the limit is {max}."),
        ));
    }
    Ok(())
}

/// Contact details may not carry control characters: they end up in outbox messages. An email
/// address must also be one the mailer accepts as a recipient (lettre's own parser, the one
/// the relay uses): refused now, not retried until dead later.
pub fn email(field: &str, value: Option<&str>) -> DispatchResult<Option<String>> {
    let Some(v) = optional(field, "email address", value, MAX_EMAIL)? else {
        return Ok(None);
    };
    let valid = match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !v.chars().any(|c| c.is_whitespace() || c.is_control())
                && !domain.contains('@')
                && v.parse::<lettre::Address>().is_ok()
                && v.parse::<lettre::message::Mailbox>().is_ok()
        }
        None => false,
    };
    if !valid {
        return Err(DispatchError::invalid(
            field,
            "The email address must look like name@example.com.",
        ));
    }
    Ok(Some(v))
}

pub fn phone(field: &str, value: Option<&str>) -> DispatchResult<Option<String>> {
    let Some(v) = optional(field, "phone number", value, MAX_PHONE)? else {
        return Ok(None);
    };
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let allowed = v
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'));
    if !allowed || !(7..=15).contains(&digits) {
        return Err(DispatchError::invalid(
            field,
            "The phone number must hold 7 to 15 digits (spaces, +, -, ( ) allowed).",
        ));
    }
    Ok(Some(v))
}

/// Which postal-code rule applies to a country, after folding common spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostalRule {
    Canada,
    UnitedStates,
    Other,
}

pub fn postal_rule(country: &str) -> PostalRule {
    match crate::country::Country::parse(country) {
        Some(crate::country::Country::Canada) => PostalRule::Canada,
        Some(crate::country::Country::UnitedStates) => PostalRule::UnitedStates,
        _ => PostalRule::Other,
    }
}

/// Canada `A1A 1A1` (space optional, any case); US `12345` or `12345-6789`; elsewhere 2–10
/// letters, digits, spaces or dashes.
pub fn postal_code(field: &str, country: &str, code: &str) -> DispatchResult<()> {
    let code = code.trim();
    let ok = match postal_rule(country) {
        PostalRule::Canada => {
            let compact: Vec<char> = code.chars().filter(|c| *c != ' ').collect();
            let single_space =
                code.matches(' ').count() <= 1 && code.find(' ').is_none_or(|i| i == 3);
            single_space
                && compact.len() == 6
                && compact.iter().enumerate().all(|(i, c)| {
                    if i % 2 == 0 {
                        c.is_ascii_alphabetic()
                    } else {
                        c.is_ascii_digit()
                    }
                })
        }
        PostalRule::UnitedStates => {
            let b = code.as_bytes();
            let five = |s: &[u8]| s.len() == 5 && s.iter().all(u8::is_ascii_digit);
            five(b)
                || (b.len() == 10
                    && five(&b[..5])
                    && b[5] == b'-'
                    && b[6..].iter().all(u8::is_ascii_digit))
        }
        PostalRule::Other => {
            (2..=10).contains(&code.len())
                && code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        }
    };
    if ok {
        return Ok(());
    }
    let expected = match postal_rule(country) {
        PostalRule::Canada => "a Canadian postal code looks like A1A 1A1",
        PostalRule::UnitedStates => "a US ZIP code looks like 12345 or 12345-6789",
        PostalRule::Other => "use 2 to 10 letters, digits, spaces or dashes",
    };
    Err(DispatchError::invalid(
        field,
        format!(
            "The postal code \"{}\" is not valid: {expected}.",
            crate::text::inert(code)
        ),
    ))
}

/// A list of short labels (brands, service keywords): bounded in count and length, no blanks.
pub fn labels(field: &str, values: &[String]) -> DispatchResult<Vec<String>> {
    if values.len() > MAX_LIST_ITEMS {
        return Err(DispatchError::invalid(
            field,
            format!("At most {MAX_LIST_ITEMS} entries are allowed."),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let v = required(&format!("{field}[{i}]"), "entry", v, MAX_SHORT_TEXT)?;
        if has_control(v) {
            return Err(DispatchError::invalid(
                format!("{field}[{i}]"),
                "Entries may not contain control characters.",
            ));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(v)) {
            out.push(v.to_string());
        }
    }
    Ok(out)
}

/// A whole number within bounds.
pub fn range(field: &str, label: &str, value: i64, min: i64, max: i64) -> DispatchResult<i64> {
    if value < min || value > max {
        return Err(DispatchError::invalid(
            field,
            format!("The {label} must be between {min} and {max}; got {value}."),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canadian_postal_codes() {
        for ok in ["M5V 3L9", "m5v3l9", "H2X 1Y4"] {
            assert!(postal_code("p", "Canada", ok).is_ok(), "{ok}");
        }
        for bad in [
            "M5V  3L9", "12345", "M5V 3L", "MM5 3L9", "M5V-3L9", "M 5V3L9", "",
        ] {
            assert!(postal_code("p", "CA", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn us_zip_codes() {
        for ok in ["94103", "94103-1234"] {
            assert!(postal_code("p", "USA", ok).is_ok(), "{ok}");
        }
        for bad in ["9410", "94103-12", "M5V 3L9", "94103 1234"] {
            assert!(postal_code("p", "United States", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_contacts_and_lengths() {
        assert!(id("id", "S-1").is_ok());
        assert!(id("id", "").is_err());
        assert!(id("id", &"x".repeat(65)).is_err());
        assert!(id("id", "a\u{1b}b").is_err());
        for bad in [
            " ",
            "\u{3000}",
            "\u{200B}",
            "S\u{200B}1",
            "\u{200E}",
            "S1\u{202E}",
            "\u{FEFF}x",
            "a\u{AD}b",
            "\u{2028}",
            "\u{E000}",
            "\u{3164}",
            "\u{301}",
            " S1",
            "S1 ",
            "\u{E0041}",
        ] {
            assert!(id("id", bad).is_err(), "{bad:?}");
        }
        for good in ["S 1", "Ève-2", "m-tor-01", "会话1", "🚗", "e\u{301}"] {
            assert!(id("id", good).is_ok(), "{good:?}");
        }
        assert!(email("e", Some("a@b.ca")).unwrap().is_some());
        assert!(email("e", Some("not-an-email")).is_err());
        // What the mailer would refuse at send time is refused at intake.
        for refused in [
            "x,y@evil.com",
            "spy@evil.com>",
            "a b@c.de",
            "<a@c.de>",
            "a@c.de, b@c.de",
        ] {
            assert!(email("e", Some(refused)).is_err(), "{refused}");
        }
        assert!(
            email("e", Some("ann.o'neil+cars@mail.example.ca"))
                .unwrap()
                .is_some()
        );
        assert!(email("e", Some("")).unwrap().is_none());
        assert!(phone("p", Some("+1 (416) 555-0142")).is_ok());
        assert!(phone("p", Some("call me")).is_err());
        assert!(required("c", "concern", "   ", 10).is_err());
        assert!(required("c", "concern", &"x".repeat(11), 10).is_err());
        assert_eq!(labels("b", &["BMW".into(), "bmw".into()]).unwrap(), ["BMW"]);
    }
}
