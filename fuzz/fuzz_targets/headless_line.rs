//! Fuzzes the headless protocol end to end: any bytes as an input stream (lines, a byte-order
//! mark, invalid UTF-8, over-long lines), read, parsed and executed exactly as `pitwall headless`
//! does, on two in-memory engines that keep their state across inputs (so later inputs meet the
//! sessions and mechanics earlier ones made): one at the default start, one a minute before the
//! end of time (9999-12-31T23:59:59Z), where every deadline meets the calendar's end. It must
//! never panic, and every response must be one JSON object with `ok` and `cmd`.
#![no_main]

use std::cell::RefCell;

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use pitwall::clock::Clock;
use pitwall::engine::Engine;

fn engine(clock: Clock) -> RefCell<Engine> {
    let mut engine = Engine::open(None, clock).expect("in-memory database");
    engine.load_seeds(pitwall::DEMO_ROSTER).expect("demo roster");
    RefCell::new(engine)
}

thread_local! {
    static ENGINES: [RefCell<Engine>; 2] = [
        engine(Clock::manual_default()),
        engine(Clock::Manual(
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 0).single().expect("a valid date"),
        )),
    ];
}

/// No time in a response has a signed or five-digit year (`+10000-01-02T00:00:00Z`), which
/// RFC 3339 cannot write.
fn times_are_rfc3339(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => {
            let b = s.as_bytes();
            let digits = b.iter().skip(1).take_while(|c| c.is_ascii_digit()).count();
            !(matches!(b.first(), Some(b'+' | b'-'))
                && digits >= 5
                && b.get(1 + digits) == Some(&b'-')
                && s.contains('T'))
        }
        serde_json::Value::Array(items) => items.iter().all(times_are_rfc3339),
        serde_json::Value::Object(fields) => fields.values().all(times_are_rfc3339),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    // Reading arbitrary files from the fuzzing machine is not the point.
    if data.windows(10).any(|w| w == b"load_seeds") {
        return;
    }
    ENGINES.with(|engines| {
        for engine in engines {
            let mut out = Vec::new();
            let summary = pitwall::headless::run(&mut engine.borrow_mut(), data, &mut out)
                .expect("writing to memory cannot fail");
            let text = std::str::from_utf8(&out).expect("responses are UTF-8");
            let mut failed = 0;
            for response in text.lines() {
                let value: serde_json::Value =
                    serde_json::from_str(response).expect("a JSON response");
                let ok = value["ok"].as_bool().expect("ok is a boolean");
                failed += usize::from(!ok);
                assert!(value.get("cmd").is_some());
                assert!(times_are_rfc3339(&value), "{response}");
            }
            assert_eq!(text.lines().count(), summary.commands);
            assert_eq!(failed, summary.failed);
        }
    });
});
