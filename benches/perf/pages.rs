//! The price of a tap: accepting an offer through its page (`POST /o/{code}`: the link looked
//! up by its hash, the CSRF token checked, the engine's `accept` in a transaction that also
//! checks the offer and keeps the outcome, a redirect) against the API's `accept` (`POST
//! /v1/commands`), both on the real server, one request at a time. Server time is what the
//! server's own request log says each request took (from its first byte read to its answer),
//! so the client's side is in neither figure.

use std::path::Path;
use std::process::Command;

use pitwall::synth;
use serde_json::Value;

use super::{Table, p};

pub fn run(t: &mut Table, dir: &Path, quick: bool) {
    let each = if quick { 100 } else { 400 };
    println!(
        "\nAccepting through the page vs the API: {each} accepts each, 1,000 mechanics, one client"
    );
    let db = super::file_with_roster(dir, "pages-bench.db", 1_000);
    let config = dir.join("pages-bench.toml");
    std::fs::write(
        &config,
        "[serve]\nrate_per_second = 1000000\nburst = 1000000\n",
    )
    .expect("config");
    let token = String::from_utf8(
        Command::new(env!("CARGO_BIN_EXE_pitwall"))
            .args(["token", "create", "--role", "dispatcher", "--db"])
            .arg(&db)
            .output()
            .expect("token")
            .stdout,
    )
    .expect("utf8")
    .trim()
    .to_string();
    let log = dir.join("pages-bench.log");
    let (mut server, base) = super::serve_on_loopback(
        Path::new(env!("CARGO_BIN_EXE_pitwall")),
        &db,
        &config,
        std::fs::File::create(&log).expect("log").into(),
    );
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build(),
    );
    let command = |body: &Value| -> Value {
        let mut r = agent
            .post(format!("{base}/v1/commands"))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .expect("answer");
        serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json")
    };
    let conn = pitwall::store::open(Some(&db)).expect("open");
    // Alternating, so both meet the same database size and the same machine load.
    // Per intake: whether its offer was accepted through the page (`Some(true)`), the API
    // (`Some(false)`), or not at all (no live targeted offer).
    let mut order: Vec<Option<bool>> = Vec::new();
    let mut turns = 0;
    for req in synth::intakes(each * 8, 5) {
        if turns == each * 2 {
            break;
        }
        let intake =
            command(&serde_json::to_value(pitwall::command::Command::Intake(req)).expect("json"));
        let Some(offer) = intake["targeted"]
            .as_array()
            .and_then(|t| t.iter().find(|o| o["expires_at"].is_string()))
        else {
            order.push(None);
            continue;
        };
        let session = intake["session"]["id"].as_str().expect("id").to_string();
        let mechanic = offer["mechanic"].as_str().expect("mechanic").to_string();
        let assignment = offer["assignment"].as_str().expect("assignment");
        let through_page = turns % 2 == 0;
        turns += 1;
        if through_page {
            let link = pitwall::links::mint().expect("code");
            pitwall::store::links::insert_offer(
                &conn,
                &link.sha256,
                assignment,
                chrono::Utc::now(),
            )
            .expect("link");
            let path = format!("{base}/o/{}", link.code);
            let page = agent
                .get(&path)
                .call()
                .expect("page")
                .body_mut()
                .read_to_string()
                .expect("html");
            let at = page.find("name=\"csrf\" value=\"").expect("csrf") + 19;
            let csrf = &page[at..at + page[at..].find('"').expect("end")];
            let r = agent
                .post(&path)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(format!("csrf={csrf}&answer=accept"))
                .expect("answer");
            assert_eq!(r.status().as_u16(), 303);
        } else {
            let a = command(
                &serde_json::json!({"cmd": "accept", "session": session, "mechanic": mechanic}),
            );
            assert_eq!(a["ok"], true, "{a}");
        }
        // Completed, so the mechanic is free again and the next intakes still find offers.
        let done = command(&serde_json::json!({"cmd": "complete", "session": session}));
        assert_eq!(done["ok"], true, "{done}");
        order.push(Some(through_page));
    }
    unsafe {
        libc::kill(server.0.id() as i32, libc::SIGTERM);
    }
    let _ = server.0.wait();
    // Each request's log line, in order: the page's POSTs and the API's accepts (the API's
    // other lines are intakes, one before each accept).
    let text = std::fs::read_to_string(&log).expect("log");
    let mut page_ms = Vec::new();
    let mut api_ms = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.contains(" request") || l.contains("request "))
    {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{name}=")))
                .map(|v| v.trim_matches('"').to_string())
        };
        let (Some(method), Some(path), Some(ms)) = (field("method"), field("path"), field("ms"))
        else {
            continue;
        };
        let Ok(ms) = ms.parse::<f64>() else { continue };
        match (method.as_str(), path.as_str()) {
            ("POST", "/o/…") => page_ms.push(ms),
            ("POST", "/v1/commands") => api_ms.push(ms),
            _ => {}
        }
    }
    // The API's lines are each intake, then on a turn its accept (the API's turns) and the
    // complete that frees the mechanic.
    let mut accepts = Vec::new();
    let mut it = api_ms.into_iter();
    for turn in &order {
        let _intake = it.next();
        if *turn == Some(false)
            && let Some(ms) = it.next()
        {
            accepts.push(ms);
        }
        if turn.is_some() {
            let _complete = it.next();
        }
    }
    assert!(it.next().is_none(), "every API request accounted for");
    page_ms.sort_by(f64::total_cmp);
    accepts.sort_by(f64::total_cmp);
    let (page_p50, api_p50) = (p(&page_ms, 50.0), p(&accepts, 50.0));
    t.info(
        "API accept, server time p50",
        format!("{api_p50:.3} ms ({} accepts)", accepts.len()),
    );
    t.info(
        "page accept, server time p50",
        format!("{page_p50:.3} ms ({} accepts)", page_ms.len()),
    );
    t.row(
        "page accept over the API's, p50",
        page_p50 - api_p50,
        "ms",
        5.0,
        true,
    );
}
