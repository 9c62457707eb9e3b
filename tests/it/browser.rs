//! The pages in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (`common::webdriver`), at a phone's 360×740. Each test is `#[ignore]`d so a machine without
//! Chromium shows them as ignored; `.ci/run` installs `chromium chromium-driver` and runs them
//! with `--ignored`, where a missing browser fails them. The accessibility check injects
//! axe-core (npm, installed by `.ci/run` into target/axe) into each page and wants no WCAG 2
//! A/AA violation; screenshots of the three pages go to target/screenshots/.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::pages::{assignment_of, offer_link, seeded, sign_in_link, status_link};
use common::server::{ROOMY, Server, token};
use common::webdriver::{Browser, Driver};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::{Value, json};

/// `GET /v1/events` for a dispatcher, read on a thread: each event's kind and when it arrived.
fn follow_events(server: &Server, dispatcher: &str) -> mpsc::Receiver<(String, Instant)> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let resp = agent
        .get(server.url("/v1/events"))
        .header("Authorization", &format!("Bearer {dispatcher}"))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let reader = BufReader::new(resp.into_body().into_reader());
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(kind) = line.strip_prefix("event: ")
                && tx.send((kind.to_string(), Instant::now())).is_err()
            {
                return;
            }
        }
    });
    rx
}

fn session(server: &Server, dispatcher: &str, id: &str) -> Value {
    let a = common::server::post(
        &common::server::agent(),
        server,
        dispatcher,
        &json!({"cmd": "session", "id": id}),
    );
    a.body["session"].clone()
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it"]
fn a_tap_on_accept_shows_on_the_event_stream_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let link = offer_link(&db, &assignment_of(&db, "S1", "t1"));
    let server = Server::start(&db, ROOMY);
    let dispatcher = token(&db, "dispatcher", None);
    let driver = Driver::start();
    let phone = driver.browser(true);
    phone.goto(&server.url(&link));
    assert!(phone.text().contains("New job for you"), "{}", phone.text());
    let width = phone.run("return window.innerWidth;");
    assert_eq!(width, 360, "a phone's width");
    let events = follow_events(&server, &dispatcher);
    let tapped = Instant::now();
    phone.click("button.primary");
    let matched = loop {
        let (kind, at) = events
            .recv_timeout(Duration::from_secs(5))
            .expect("the accept on the event stream");
        if kind == "offer_accepted" {
            break at;
        }
    };
    let took = matched - tapped;
    eprintln!("tap → offer_accepted on the event stream: {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(
        phone.wait_for("Accepted", Duration::from_secs(5)),
        "{}",
        phone.text()
    );
    assert!(phone.text().contains("Ava Chen"));
    assert_eq!(
        session(&server, &dispatcher, "S1")["matched_mechanic_id"],
        "t1"
    );
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it"]
fn two_mechanics_tap_accept_at_once_and_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let a = offer_link(&db, &assignment_of(&db, "S1", "t1"));
    let b = offer_link(&db, &assignment_of(&db, "S1", "t2"));
    let server = Server::start(&db, ROOMY);
    let dispatcher = token(&db, "dispatcher", None);
    let driver = Driver::start();
    let phones = [driver.browser(true), driver.browser(true)];
    phones[0].goto(&server.url(&a));
    phones[1].goto(&server.url(&b));
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        for phone in &phones {
            let barrier = &barrier;
            s.spawn(move || {
                barrier.wait();
                // The loser's page may learn of the winner (its live stream) and replace the
                // button between the driver finding it and clicking it: that page then says
                // "Already taken" without the tap, which the outcomes below accept.
                phone.click_unless_replaced("button.primary");
            });
        }
    });
    let mut outcomes: Vec<String> = phones
        .iter()
        .map(|p| {
            p.wait_for_one_of(&["Accepted", "Already taken"], Duration::from_secs(10))
                .unwrap_or_else(|| panic!("neither outcome: {}", p.text()))
                .to_string()
        })
        .collect();
    outcomes.sort();
    assert_eq!(outcomes, ["Accepted", "Already taken"]);
    let winner = session(&server, &dispatcher, "S1")["matched_mechanic_id"].clone();
    assert!(winner == "t1" || winner == "t2", "{winner}");
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it"]
fn an_expired_link_says_expired() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    {
        let then = chrono::Utc::now() - chrono::Duration::minutes(10);
        let mut e = Engine::open(Some(&db), Clock::Manual(then)).unwrap();
        common::roster(&mut e);
        common::ok(&mut e, common::intake("S1", json!({})));
    }
    let link = offer_link(&db, &assignment_of(&db, "S1", "t1"));
    let server = Server::start(&db, ROOMY);
    let driver = Driver::start();
    let phone = driver.browser(true);
    phone.goto(&server.url(&link));
    assert!(phone.text().contains("Expired"), "{}", phone.text());
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it"]
fn with_javascript_off_an_accept_still_completes() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let link = offer_link(&db, &assignment_of(&db, "S1", "t1"));
    let server = Server::start(&db, ROOMY);
    let dispatcher = token(&db, "dispatcher", None);
    let driver = Driver::start();
    let phone = driver.browser(false);
    phone.goto(&server.url(&link));
    // The server-rendered time left is there without the script (without scripts the driver
    // may return before the page has loaded: wait for it).
    assert!(
        phone.wait_for("left to answer", Duration::from_secs(5)),
        "{}",
        phone.text()
    );
    std::thread::sleep(Duration::from_millis(300));
    // The script never ran: it would have opened the page's event stream.
    assert!(!server.log_text().contains("/o/…/events"), "the script ran");
    // The driver needs scripts to see the click's page load; the page shown stays scriptless.
    phone.set_javascript(true);
    phone.click("button.primary");
    assert!(
        phone.wait_for("Accepted", Duration::from_secs(5)),
        "{}",
        phone.text()
    );
    assert_eq!(
        session(&server, &dispatcher, "S1")["matched_mechanic_id"],
        "t1"
    );
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver; .ci/run runs it"]
fn the_customer_page_updates_without_a_reload_when_the_mechanic_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let offer = offer_link(&db, &assignment_of(&db, "S1", "t1"));
    let status = status_link(&db, "S1");
    let server = Server::start(&db, ROOMY);
    let driver = Driver::start();
    let customer = driver.browser(true);
    customer.goto(&server.url(&status));
    assert!(
        customer.text().contains("Offered to a mechanic"),
        "{}",
        customer.text()
    );
    // A mark on this very document: a reload would lose it.
    customer.run("window.notReloaded = true; return null;");
    std::thread::sleep(Duration::from_millis(500)); // the page's event stream is open
    let phone = driver.browser(true);
    phone.goto(&server.url(&offer));
    phone.click("button.primary");
    assert!(
        customer.wait_for("Matched with Mechanic", Duration::from_secs(5)),
        "{}",
        customer.text()
    );
    assert_eq!(customer.run("return window.notReloaded === true;"), true);
}

/// axe-core's script, installed by `.ci/run` (npm) into target/axe.
fn axe_source() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("target/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: npm install --prefix target/axe axe-core",
            path.display()
        )
    })
}

/// axe-core's WCAG 2 A and AA violations on the page open in `browser`.
fn violations(browser: &Browser, axe: &str) -> Vec<Value> {
    browser.run(&format!("{axe}\nreturn null;"));
    let result = browser.run_async(
        "const done = arguments[arguments.length - 1];
         axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
            .then(r => done(r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.length}))))
            .catch(e => done([{id: 'axe failed', help: String(e)}]));",
    );
    result.as_array().cloned().unwrap_or_default()
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver, and axe-core; .ci/run runs it"]
fn every_page_passes_axe_at_wcag_2_aa_and_is_photographed_at_360_px() {
    let axe = axe_source();
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let offer = offer_link(&db, &assignment_of(&db, "S1", "t1"));
    let status = status_link(&db, "S1");
    let sign_in = sign_in_link(&db, "t2");
    let server = Server::start(&db, ROOMY);
    let driver = Driver::start();
    let phone = driver.browser(true);
    let out = screenshots();
    let sign_in_path = sign_in.strip_prefix("http://127.0.0.1:7878").unwrap();

    let mut pages: Vec<(&str, String)> = vec![
        ("offer", offer.clone()),
        ("status", status.clone()),
        ("sign-in", sign_in_path.to_string()),
        ("not-found", "/o/AAAAAAAAAAAAAAAAAAAAAAAA".to_string()),
    ];
    let mut failures = Vec::new();
    for (name, path) in pages.drain(..) {
        phone.goto(&server.url(&path));
        let found = violations(&phone, &axe);
        if !found.is_empty() {
            failures.push(format!("{name}: {found:?}"));
        }
        if matches!(name, "offer" | "status") {
            std::fs::write(out.join(format!("{name}.png")), phone.screenshot()).unwrap();
        }
    }
    // The mechanic's page, signed in, with his offer; then the offer's accepted outcome.
    phone.goto(&server.url(sign_in_path));
    phone.click("button.primary");
    assert!(
        phone.wait_for("Hi Mechanic", Duration::from_secs(5)),
        "{}",
        phone.text()
    );
    let found = violations(&phone, &axe);
    if !found.is_empty() {
        failures.push(format!("mechanic: {found:?}"));
    }
    std::fs::write(out.join("mechanic.png"), phone.screenshot()).unwrap();
    phone.goto(&server.url(&offer));
    phone.click("button.primary");
    assert!(phone.wait_for("Accepted", Duration::from_secs(5)));
    let found = violations(&phone, &axe);
    if !found.is_empty() {
        failures.push(format!("accepted: {found:?}"));
    }
    std::fs::write(out.join("offer-accepted.png"), phone.screenshot()).unwrap();
    assert!(failures.is_empty(), "axe-core violations: {failures:#?}");
}
