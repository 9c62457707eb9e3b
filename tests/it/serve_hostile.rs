//! Hostile HTTP against the real server over raw TCP: random methods, paths, headers (lying
//! lengths, broken tokens, odd idempotency keys) and bodies (bytes, near-miss commands). The
//! server never dies, and every refusal it makes is a coded JSON error with the status of the
//! table; what hyper refuses before any route (an unreadable request line) is a bare 4xx/5xx.

use crate::common;

use std::io::{Read, Write};
use std::time::Duration;

use common::server::{ROOMY, Server, agent, get, token};
use common::{intake, ok};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use pitwall::error::ErrorCode;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

#[derive(Debug, Clone)]
struct Hostile {
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

fn method() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => Just("POST".to_string()),
        2 => Just("GET".to_string()),
        1 => prop::sample::select(vec!["PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"])
            .prop_map(str::to_string),
        1 => "[A-Za-z]{1,10}",
        1 => "[ -~]{0,12}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => Just("/v1/commands".to_string()),
        1 => prop::sample::select(vec![
            "/v1/health", "/v1/events", "/v1/openapi.json", "/", "/v1", "/v1/commands/",
            "/v1/commands?x=1", "//v1/commands", "/v1/../etc/passwd", "/%00", "*",
        ])
        .prop_map(str::to_string),
        1 => "/[ -~]{0,40}",
        1 => "[^ \r\n]{0,30}",
    ]
}

fn body(valid: String) -> impl Strategy<Value = Vec<u8>> {
    let base = valid.into_bytes();
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..300),
        2 => (Just(base.clone()), 0..base.len(), any::<u8>()).prop_map(|(mut b, i, x)| {
            b[i] = x;
            b
        }),
        1 => (Just(base.clone()), 0..base.len()).prop_map(|(b, n)| b[..n].to_vec()),
        2 => prop::sample::select(vec![
            r#"{"cmd":"now"}"#, r#"{"cmd":"now","cmd":"now"}"#, r#"{"cmd":"load_seeds","path":"/etc/passwd"}"#,
            r#"{"cmd":"advance","seconds":9999999999}"#, "null", "[]", "\"cmd\"", "{}", "\u{feff}{\"cmd\":\"now\"}",
            r#"{"cmd":"accept","session":"\u001b[2J","mechanic":"t1"}"#,
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => Just(base),
    ]
}

fn headers(good: String) -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let value = prop_oneof![
        "[ -~]{0,40}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    let auth = prop_oneof![
        8 => Just(format!("Bearer {good}").into_bytes()),
        1 => Just(b"Bearer ".to_vec()),
        1 => Just(format!("bearer  {good}x").into_bytes()),
        1 => Just(format!("Basic {good}").into_bytes()),
        1 => value.clone(),
    ];
    let extra = prop_oneof![
        1 => (0u64..3_000_000).prop_map(|n| ("Content-Length".to_string(), n.to_string().into_bytes())),
        1 => Just(("Transfer-Encoding".to_string(), b"chunked".to_vec())),
        1 => value.clone().prop_map(|v| ("Idempotency-Key".to_string(), v)),
        1 => value.clone().prop_map(|v| ("Content-Type".to_string(), v)),
        1 => ("[A-Za-z-]{1,20}", value).prop_map(|(k, v)| (k, v)),
    ];
    (
        prop::option::weighted(0.9, auth.prop_map(|v| ("Authorization".to_string(), v))),
        prop::collection::vec(extra, 0..3),
    )
        .prop_map(|(auth, mut extra)| {
            extra.extend(auth);
            extra
        })
}

fn hostile(good: String, valid: String) -> impl Strategy<Value = Hostile> {
    (method(), path(), headers(good), body(valid)).prop_map(|(method, path, headers, body)| {
        Hostile {
            method,
            path,
            headers,
            body,
        }
    })
}

/// Sends it and reads whatever comes back.
fn send(addr: &str, h: &Hostile) -> Vec<u8> {
    let mut req = format!("{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n", h.method, h.path).into_bytes();
    let declares_length = h.headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding")
    });
    for (k, v) in &h.headers {
        req.extend_from_slice(k.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(v);
        req.extend_from_slice(b"\r\n");
    }
    if !declares_length {
        req.extend_from_slice(format!("Content-Length: {}\r\n", h.body.len()).as_bytes());
    }
    // JSON unless the case chose a type of its own (a wrong one is 415).
    if !h
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req.extend_from_slice(b"Content-Type: application/json\r\n");
    }
    req.extend_from_slice(b"Connection: close\r\n\r\n");
    req.extend_from_slice(&h.body);
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let _ = stream.write_all(&req);
    if declares_length {
        // The length may be a lie: end our side so the server is not left waiting for bytes
        // that never come (hyper then drops the request unanswered, which is fine).
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    // Read until the server closes, but never for long: a request that reaches the event
    // stream is answered with a stream that stays open (and keeps itself alive), so a plain
    // read to the end would wait forever.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    while std::time::Instant::now() < deadline {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    answer
}

/// What hyper answers itself, before any route, to a request it cannot read.
const HYPER_OWN: &[u16] = &[400, 414, 431, 501, 505];

fn judge(h: &Hostile, answer: &[u8]) -> Result<(), TestCaseError> {
    if answer.is_empty() {
        // A connection closed without a word: only for what hyper could not read as HTTP.
        return Ok(());
    }
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    // The first response only: a bare LF in a header value ends that header line (RFC 9112
    // lets a server read LF alone as a line end), so the bytes after it can make a second
    // request on the same connection, with an answer of its own after this one.
    let length = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse::<usize>().ok())?
    });
    let body = match length {
        Some(n) if n <= body.len() && body.is_char_boundary(n) => &body[..n],
        _ => body,
    };
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| TestCaseError::fail(format!("no status line: {head:?}")))?;
    if status < 400 {
        return Ok(());
    }
    if body.is_empty()
        && !head
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    {
        prop_assert!(HYPER_OWN.contains(&status), "bare {status} for {h:?}");
        return Ok(());
    }
    if h.method == "HEAD" {
        // HTTP sends no body with HEAD; the headers of the coded body still say JSON.
        return Ok(());
    }
    let value: serde_json::Value = serde_json::from_str(body).map_err(|e| {
        TestCaseError::fail(format!("{status} body not JSON ({e}): {body:?} for {h:?}"))
    })?;
    prop_assert_eq!(&value["ok"], &json!(false));
    let code = value["error"]["code"].as_str().unwrap_or("");
    let known = ErrorCode::ALL.iter().find(|c| c.as_str() == code);
    prop_assert!(known.is_some(), "unknown code {code:?} for {h:?}");
    let expected = pitwall::serve::handle::status_of(*known.unwrap());
    prop_assert!(status == expected, "{status} with code {code} for {h:?}");
    Ok(())
}

#[test]
fn hostile_http_never_crashes_the_server_and_every_refusal_is_coded() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hostile.db");
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        common::roster(&mut e);
        ok(&mut e, intake("S1", json!({})));
    }
    let good = token(&db, "dispatcher", None);
    let server = Server::start(&db, ROOMY);
    let valid = json!({"cmd": "accept", "session": "S1", "mechanic": "t2"}).to_string();
    let mut runner = TestRunner::new(Config {
        cases: 600,
        failure_persistence: None,
        ..Config::default()
    });
    let addr = server.addr.clone();
    let statuses = std::sync::Mutex::new(std::collections::BTreeMap::<String, usize>::new());
    runner
        .run(&hostile(good.clone(), valid), |h| {
            let answer = send(&addr, &h);
            let status = String::from_utf8_lossy(&answer)
                .split_whitespace()
                .nth(1)
                .unwrap_or("closed")
                .to_string();
            *statuses.lock().unwrap().entry(status).or_default() += 1;
            judge(&h, &answer)
        })
        .unwrap();
    // The run reached the handlers, not only hyper's parser: commands ran and were refused.
    let statuses = statuses.into_inner().unwrap();
    eprintln!("statuses: {statuses:?}");
    for reached in ["200", "400", "401", "405", "413", "415"] {
        assert!(statuses.contains_key(reached), "{statuses:?}");
    }
    // Still serving, still consistent.
    let agent = agent();
    assert_eq!(get(&agent, &server, None, "/v1/health").status, 200);
    assert!(
        !server.log_text().contains("panicked"),
        "{}",
        server.log_text()
    );
    common::server::assert_check_passes(&db);
}
