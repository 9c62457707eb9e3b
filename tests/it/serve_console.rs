//! A dispatcher's console and `pitwall serve` on one database: a mechanic's phone accepts over
//! HTTP, and the console (the real binary under tmux) shows the session matched within a second.

use crate::common;

use std::time::{Duration, Instant};

use common::server::{ROOMY, Server, agent, post, token};
use common::terminal::{Terminal, wait_for};
use common::{intake, mechanic, ok};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::json;

#[test]
fn the_console_sees_an_api_accept_within_a_second() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("shared.db");
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        ok(&mut e, mechanic("t1", true, json!({"name": "Rosa Diaz"})));
        ok(&mut e, intake("S-API-1", json!({})));
    }
    let phone = token(&db, "mechanic", Some("t1"));
    let server = Server::start(&db, ROOMY);
    let console = Terminal::start(
        "serve-accept",
        home.path(),
        &format!("--db {}", db.display()),
        120,
        40,
    );
    wait_for("the console to show the waiting session", || {
        console.capture().contains("waiting 1 · matched 0")
    });
    let agent = agent();
    let a = post(
        &agent,
        &server,
        &phone,
        &json!({"cmd": "accept", "session": "S-API-1"}),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    let accepted = Instant::now();
    while !console.capture().contains("waiting 0 · matched 1") {
        assert!(
            accepted.elapsed() < Duration::from_secs(1),
            "the console did not show the accept within a second:\n{}",
            console.capture()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("console showed the accept after {:?}", accepted.elapsed());
    console.keys("C-c");
    assert_eq!(console.exit_status(), 0);
}
