//! A statement in each backend's own text, handed to its driver as written: nothing rewrites
//! SQL at run time.
//!
//! Most statements read the same on SQLite and PostgreSQL but for their placeholders (`?1`,
//! `$1`): [`sql!`] takes the SQLite text and makes the PostgreSQL one while compiling (a `const`
//! evaluation, so a statement costs nothing more at run time than a string literal). Where the
//! dialects differ (planner hints, JSON functions, list parameters), [`sql_each!`] takes both
//! texts, written side by side. Either macro may join several pieces (`&str` constants such as a
//! column list) into one statement, still at compile time.
//!
//! The rules [`sql!`] holds a text to, each a compile error when broken: every placeholder is
//! numbered (`?1`, never a bare `?`, which PostgreSQL has no spelling for), and no placeholder
//! sits inside a quoted string or identifier.

/// Which engine a connection talks to: which text of a statement it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One statement, one text per backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sql<'a> {
    sqlite: &'a str,
    postgres: &'a str,
}

impl<'a> Sql<'a> {
    /// A statement spelled its own way on each backend; use [`sql!`] when only the
    /// placeholders differ.
    pub const fn each(sqlite: &'a str, postgres: &'a str) -> Sql<'a> {
        Sql { sqlite, postgres }
    }

    /// A statement without placeholders that reads the same on every backend (transaction
    /// control, a table's name made at run time): checked, not rewritten.
    pub fn plain(text: &'a str) -> Sql<'a> {
        let numbered = |b: &[u8]| (b[0] == b'?' || b[0] == b'$') && b[1].is_ascii_digit();
        assert!(
            !text.contains('?') && !text.as_bytes().windows(2).any(numbered),
            "a plain statement has no placeholders: {text}"
        );
        Sql {
            sqlite: text,
            postgres: text,
        }
    }

    /// The text `backend` reads.
    pub fn text(&self, backend: Backend) -> &'a str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// `rows` rows of `columns` placeholders each, numbered in order with `mark` (`?` for SQLite,
/// `$` for PostgreSQL): `(?1, ?2), (?3, ?4)`. For a multi-row INSERT whose row count varies;
/// each backend's text is written with its own mark, nothing is rewritten.
pub fn numbered_rows(rows: usize, columns: usize, mark: char) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        if row > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for column in 0..columns {
            if column > 0 {
                out.push_str(", ");
            }
            out.push(mark);
            out.push_str(&(row * columns + column + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// The length of `parts` joined.
pub const fn joined_len(parts: &[&str]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < parts.len() {
        len += parts[i].len();
        i += 1;
    }
    len
}

/// `parts` joined into one text of `N` bytes; with `dollars`, each `?N` placeholder becomes
/// `$N` (the same length). Panics (at compile time, in a `const`) on a bare `?` or a `?` inside
/// quotes: see the module's rules.
pub const fn join<const N: usize>(parts: &[&str], dollars: bool) -> [u8; N] {
    let mut out = [0u8; N];
    let mut at = 0;
    let mut quote: u8 = 0;
    let mut p = 0;
    while p < parts.len() {
        let bytes = parts[p].as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let next = if i + 1 < bytes.len() {
                bytes[i + 1]
            } else if p + 1 < parts.len() && !parts[p + 1].is_empty() {
                parts[p + 1].as_bytes()[0]
            } else {
                0
            };
            let mut put = b;
            if quote != 0 {
                if b == quote {
                    quote = 0;
                } else if b == b'?' {
                    panic!("a `?` inside quotes in SQL: placeholders stand outside literals");
                }
            } else if b == b'\'' || b == b'"' {
                quote = b;
            } else if b == b'?' {
                if !next.is_ascii_digit() {
                    panic!("a bare `?` in SQL: number every placeholder (`?1`)");
                }
                if dollars {
                    put = b'$';
                }
            }
            out[at] = put;
            at += 1;
            i += 1;
        }
        p += 1;
    }
    if quote != 0 {
        panic!("an unclosed quote in SQL");
    }
    out
}

/// `bytes` as text; they were joined from `&str`s, so this holds.
pub const fn as_str(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => panic!("SQL joined from text is text"),
    }
}

/// A statement that reads the same on every backend but for its `?N` placeholders, joined from
/// one or more `&str` constant pieces; the PostgreSQL text (`$N`) is made at compile time.
#[macro_export]
macro_rules! sql {
    ($($part:expr),+ $(,)?) => {{
        const PARTS: &[&str] = &[$($part),+];
        const LEN: usize = $crate::store::sql::joined_len(PARTS);
        const SQLITE: [u8; LEN] = $crate::store::sql::join::<LEN>(PARTS, false);
        const POSTGRES: [u8; LEN] = $crate::store::sql::join::<LEN>(PARTS, true);
        const BOTH: $crate::store::sql::Sql<'static> = $crate::store::sql::Sql::each(
            $crate::store::sql::as_str(&SQLITE),
            $crate::store::sql::as_str(&POSTGRES),
        );
        BOTH
    }};
}

/// A statement written once per backend, each joined from `&str` constant pieces. The
/// PostgreSQL text may number its placeholders `$N` or, in a piece shared with SQLite's text
/// (a constant), `?N`: those become `$N` at compile time as in [`sql!`].
#[macro_export]
macro_rules! sql_each {
    (sqlite: [$($s:expr),+ $(,)?], postgres: [$($p:expr),+ $(,)?] $(,)?) => {{
        const SQLITE_PARTS: &[&str] = &[$($s),+];
        const POSTGRES_PARTS: &[&str] = &[$($p),+];
        const SQLITE_LEN: usize = $crate::store::sql::joined_len(SQLITE_PARTS);
        const POSTGRES_LEN: usize = $crate::store::sql::joined_len(POSTGRES_PARTS);
        const SQLITE: [u8; SQLITE_LEN] =
            $crate::store::sql::join::<SQLITE_LEN>(SQLITE_PARTS, false);
        const POSTGRES: [u8; POSTGRES_LEN] =
            $crate::store::sql::join::<POSTGRES_LEN>(POSTGRES_PARTS, true);
        const BOTH: $crate::store::sql::Sql<'static> = $crate::store::sql::Sql::each(
            $crate::store::sql::as_str(&SQLITE),
            $crate::store::sql::as_str(&POSTGRES),
        );
        BOTH
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: &str = "a, b";

    #[test]
    fn placeholders_become_dollars_at_compile_time_and_quotes_are_left_alone() {
        const S: Sql<'static> = crate::sql!(
            "SELECT ",
            COLUMNS,
            " FROM t WHERE x = ?1 AND y = ?12 AND z = '$.k' AND w = \"c\" || ?",
            "3"
        );
        assert_eq!(
            S.text(Backend::Sqlite),
            "SELECT a, b FROM t WHERE x = ?1 AND y = ?12 AND z = '$.k' AND w = \"c\" || ?3"
        );
        assert_eq!(
            S.text(Backend::Postgres),
            "SELECT a, b FROM t WHERE x = $1 AND y = $12 AND z = '$.k' AND w = \"c\" || $3"
        );
        let each = crate::sql_each!(
            sqlite: ["SELECT value FROM json_each(?1) WHERE '", "é", "' <> ?2"],
            postgres: ["SELECT json_array_elements_text($1::json)"],
        );
        assert_eq!(
            each.text(Backend::Sqlite),
            "SELECT value FROM json_each(?1) WHERE 'é' <> ?2"
        );
        assert_eq!(
            each.text(Backend::Postgres),
            "SELECT json_array_elements_text($1::json)"
        );
    }

    #[test]
    fn rows_of_placeholders_are_numbered_in_order() {
        assert_eq!(numbered_rows(2, 3, '?'), "(?1, ?2, ?3), (?4, ?5, ?6)");
        assert_eq!(numbered_rows(1, 2, '$'), "($1, $2)");
    }

    #[test]
    #[should_panic(expected = "bare `?`")]
    fn a_bare_placeholder_is_refused() {
        join::<9>(&["a = ? AND"], true);
    }

    #[test]
    #[should_panic(expected = "inside quotes")]
    fn a_placeholder_inside_a_literal_is_refused() {
        join::<8>(&["a = '?1'"], true);
    }

    #[test]
    #[should_panic(expected = "no placeholders")]
    fn a_plain_statement_has_no_placeholders() {
        Sql::plain("DELETE FROM t WHERE id = ?1");
    }
}
