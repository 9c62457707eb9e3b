//! Fuzzes the headless protocol end to end: any bytes as one command line, parsed and executed
//! on an in-memory engine that keeps its state across inputs (so later inputs meet the
//! sessions and mechanics earlier ones made). It must never panic, and every response must be
//! one JSON object with `ok` and `cmd`.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use pitwall::clock::Clock;
use pitwall::engine::Engine;

thread_local! {
    static ENGINE: RefCell<Engine> = RefCell::new({
        let mut engine = Engine::open(None, Clock::manual_default()).expect("in-memory database");
        engine.load_seeds(pitwall::DEMO_ROSTER).expect("demo roster");
        engine
    });
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else { return };
    // Reading arbitrary files from the fuzzing machine is not the point.
    if line.contains("load_seeds") {
        return;
    }
    ENGINE.with(|engine| {
        let (ok, response) = pitwall::headless::respond(&mut engine.borrow_mut(), line);
        let value: serde_json::Value = serde_json::from_str(&response).expect("a JSON response");
        assert_eq!(value["ok"].as_bool(), Some(ok));
        assert!(value.get("cmd").is_some());
        assert!(!response.contains('\n'));
    });
});
