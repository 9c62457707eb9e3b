//! Headless mode (SPEC §8): one JSON command per line in, exactly one JSON line out, each
//! written only after its transaction committed and flushed at once, so a coprocess can trust
//! every `ok` it has read.

use std::io::{BufRead, Write};

use serde::Serialize;

use crate::command::{MAX_LINE_BYTES, Rejected, parse_line};
use crate::engine::{Engine, Outcome};
use crate::error::{DispatchError, ErrorCode};

#[derive(Serialize)]
struct Success<'a, T> {
    ok: bool,
    cmd: &'a str,
    #[serde(flatten)]
    body: &'a T,
}

#[derive(Serialize)]
struct Failure<'a> {
    ok: bool,
    cmd: Option<&'a str>,
    error: &'a DispatchError,
}

/// Counts of a finished run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub commands: usize,
    pub failed: usize,
}

impl Summary {
    /// SPEC §8: 0 when every command succeeded, 1 when some failed.
    pub fn exit_code(&self) -> i32 {
        if self.failed == 0 { 0 } else { 1 }
    }
}

/// Executes one line and renders its response line (without the newline).
pub fn respond(engine: &mut Engine, line: &str) -> (bool, String) {
    respond_at(engine, line, None)
}

/// [`respond`], for line `number` of a script or input stream: a line that cannot be read as
/// a command says which line it was (serde_json only knows the column within it).
pub fn respond_at(engine: &mut Engine, line: &str, number: Option<usize>) -> (bool, String) {
    match parse_line(line) {
        Ok(command) => {
            let name = command.name();
            let result = crate::seeds::read_named_files(command).and_then(|c| engine.execute(c));
            (result.is_ok(), response(name, &result))
        }
        Err(Rejected { cmd, error }) => (false, failure(cmd.as_deref(), &at_line(error, number))),
    }
}

/// The response line of an executed command: what headless prints, and what the HTTP API
/// answers (SPEC §13: "exactly the JSON object headless would print").
pub fn response(name: &str, result: &Result<Outcome, DispatchError>) -> String {
    match result {
        Ok(outcome) => render(&Success {
            ok: true,
            cmd: name,
            body: outcome,
        }),
        Err(error) => failure(Some(name), error),
    }
}

/// The response line of a command that succeeded, from its answer's fields as JSON (the HTTP
/// API's role views are made from that).
pub fn success(name: &str, fields: &serde_json::Value) -> String {
    render(&Success {
        ok: true,
        cmd: name,
        body: fields,
    })
}

/// A parse error named by its input line: `Line 7: Not valid JSON: … at column 2.`
fn at_line(mut error: DispatchError, number: Option<usize>) -> DispatchError {
    if let (Some(n), ErrorCode::ParseError) = (number, error.code) {
        error.message = format!(
            "Line {n}: {}",
            error.message.replace(" at line 1 column ", " at column ")
        );
    }
    error
}

/// The response line of a refused command (`cmd` when its name was readable).
pub fn failure(cmd: Option<&str>, error: &DispatchError) -> String {
    render(&Failure {
        ok: false,
        cmd,
        error,
    })
}

fn render<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("responses are plain data")
}

/// Runs a whole input stream. A failed command never stops the run; an I/O error on the
/// output does (nobody is listening any more).
pub fn run(
    engine: &mut Engine,
    input: impl BufRead,
    mut output: impl Write,
) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    let mut lines = CappedLines::new(input, MAX_LINE_BYTES);
    let mut number = 0;
    while let Some(line) = lines.next_line()? {
        number += 1;
        let at = Some(number);
        let (ok, response) = match line {
            Line::Text(text) if text.trim().is_empty() => continue,
            Line::Text(text) => respond_at(engine, &text, at),
            Line::TooLong(len) => (
                false,
                failure(
                    None,
                    &at_line(
                        DispatchError::new(
                            ErrorCode::ParseError,
                            format!("The line is {len} bytes long; the limit is {MAX_LINE_BYTES}."),
                        ),
                        at,
                    ),
                ),
            ),
            Line::NotUtf8 => (
                false,
                failure(
                    None,
                    &at_line(
                        DispatchError::new(ErrorCode::ParseError, "The line is not valid UTF-8."),
                        at,
                    ),
                ),
            ),
        };
        summary.commands += 1;
        if !ok {
            summary.failed += 1;
        }
        output.write_all(response.as_bytes())?;
        output.write_all(b"\n")?;
        output.flush()?;
    }
    Ok(summary)
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

enum Line {
    Text(String),
    TooLong(usize),
    NotUtf8,
}

/// Reads lines without ever holding more than `cap` bytes of one: the rest of an oversized
/// line is skipped, not buffered, so a 10 MB line costs nothing but a clean error.
struct CappedLines<R> {
    input: R,
    cap: usize,
    /// Still before the first line, where a UTF-8 byte-order mark is skipped (SPEC §7):
    /// editors on some systems start every file with one.
    first: bool,
}

impl<R: BufRead> CappedLines<R> {
    fn new(input: R, cap: usize) -> Self {
        CappedLines {
            input,
            cap,
            first: true,
        }
    }

    fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        let mut buf: Vec<u8> = Vec::new();
        let mut total = 0usize;
        let mut saw_any = false;
        if std::mem::take(&mut self.first) && self.input.fill_buf()?.starts_with(BOM) {
            self.input.consume(BOM.len());
            saw_any = true;
        }
        loop {
            let chunk = self.input.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (part, done) = match chunk.iter().position(|b| *b == b'\n') {
                Some(i) => (&chunk[..i], Some(i + 1)),
                None => (chunk, None),
            };
            total += part.len();
            if total <= self.cap {
                buf.extend_from_slice(part);
            }
            let consumed = done.unwrap_or(chunk.len());
            self.input.consume(consumed);
            if done.is_some() {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        if total > self.cap {
            return Ok(Some(Line::TooLong(total)));
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Ok(Some(match String::from_utf8(buf) {
            Ok(s) => Line::Text(s),
            Err(_) => Line::NotUtf8,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], cap: usize) -> Vec<String> {
        let mut reader = CappedLines::new(input, cap);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(match line {
                Line::Text(t) => t,
                Line::TooLong(n) => format!("<too long {n}>"),
                Line::NotUtf8 => "<not utf8>".into(),
            });
        }
        out
    }

    #[test]
    fn capped_lines_split_and_skip_oversized_lines() {
        assert_eq!(lines(b"a\nbb\r\n\nccc", 10), ["a", "bb", "", "ccc"]);
        assert_eq!(
            lines(b"short\nthis one is long\nok\n", 8),
            ["short", "<too long 16>", "ok"]
        );
        assert_eq!(lines(b"\xff\xfe\n", 8), ["<not utf8>"]);
        assert!(lines(b"", 8).is_empty());
    }

    #[test]
    fn a_byte_order_mark_is_skipped_before_the_first_line_only() {
        assert_eq!(lines(b"\xEF\xBB\xBFa\nb", 10), ["a", "b"]);
        assert_eq!(lines(b"\xEF\xBB\xBF", 10), [""]);
        assert_eq!(lines(b"a\n\xEF\xBB\xBFb", 10), ["a", "\u{feff}b"]);
        assert_eq!(lines(b"\xEF\xBB\xBF0123456789", 10), ["0123456789"]);
    }
}
