//! The pages of `pitwall serve` (one-tap offer links, the customer's status page, the
//! mechanic's signed-in page) against the real server on loopback, with a plain HTTP client:
//! links in real messages, one accept wins, outcomes in plain words, and the security rules —
//! unknown and tampered codes alike, links bound to their mechanic, CSRF, headers on every
//! page, codes never logged, a revoked sign-in refused at once.

use crate::common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::pages::{assignment_of, offer_link, seeded, sign_in_link};
use common::receivers::{Behaviour, Webhooks};
use common::server::{ROOMY, Server, post, token};
use common::{intake, ok};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::{Value, json};

/// A page as the client got it.
struct Page {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of the form field `csrf` on the page.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with a CSRF token");
        let rest = &self.body[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

fn client() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

fn read(mut resp: ureq::http::Response<ureq::Body>) -> Page {
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp.body_mut().read_to_string().unwrap_or_default();
    Page {
        status,
        headers,
        body,
    }
}

fn get_page(server: &Server, path: &str, cookie: Option<&str>) -> Page {
    let mut req = client().get(server.url(path));
    if let Some(c) = cookie {
        req = req.header("Cookie", c);
    }
    read(req.call().unwrap())
}

fn post_form(
    server: &Server,
    path: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Page {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let mut req = client()
        .post(server.url(path))
        .header("Content-Type", "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    read(req.send(body).unwrap())
}

fn config_with_email_to(hooks: &Webhooks) -> String {
    format!(
        "{ROOMY}[delivery]\nsecret = \"{}\"\n[delivery.email]\nwebhook = \"{}\"\n",
        common::receivers::SECRET,
        hooks.url("mail")
    )
}

/// The delivered message to `recipient` with `field` (answer_url, status_url), waited for.
fn link_for(hooks: &Webhooks, recipient: &str, field: &str) -> (String, Value) {
    let start = Instant::now();
    loop {
        {
            let seen = hooks.seen.lock().unwrap();
            if let Some(body) = seen
                .bodies
                .values()
                .find(|b| b["recipient"] == recipient && b[field].is_string())
            {
                return (body[field].as_str().unwrap().to_string(), body.clone());
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no message with {field} to {recipient}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The path of a link (`/o/…`), from its full URL on this server.
fn path_of(server: &Server, url: &str) -> String {
    url.strip_prefix(&format!("http://{}", server.addr))
        .unwrap_or_else(|| panic!("{url} is not under {}", server.addr))
        .to_string()
}

fn session(server: &Server, dispatcher: &str, id: &str) -> Value {
    let a = post(
        &common::server::agent(),
        server,
        dispatcher,
        &json!({"cmd": "session", "id": id}),
    );
    assert_eq!(a.status, 200, "{:?}", a.body);
    a.body["session"].clone()
}

const PAGE_HEADERS: [(&str, &str); 4] = [
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'self'; frame-ancestors 'none'",
    ),
];

fn assert_page_headers(page: &Page, what: &str) {
    for (name, want) in PAGE_HEADERS {
        let got = page
            .header(name)
            .unwrap_or_else(|| panic!("{what}: no {name}"));
        assert!(got.starts_with(want), "{what}: {name}: {got}");
    }
}

#[test]
fn an_offer_link_in_the_message_accepts_once_and_then_shows_only_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let hooks = Webhooks::start(Behaviour::default());
    let server = Server::start(&db, &config_with_email_to(&hooks));
    let dispatcher = token(&db, "dispatcher", None);

    let (url, message) = link_for(&hooks, "t1@example.ca", "answer_url");
    assert!(
        message["body"].as_str().unwrap().contains(&url),
        "the text carries the link too: {message}"
    );
    let path = path_of(&server, &url);
    let code = path.strip_prefix("/o/").unwrap();
    assert!(code.len() >= 22, "at least 128 bits: {code}");

    let offer = get_page(&server, &path, None);
    assert_eq!(offer.status, 200, "{}", offer.body);
    assert_page_headers(&offer, "offer");
    for words in [
        "New job for you",
        "My check engine light is on",
        "2019 Honda Civic",
        "Toronto",
        "left to answer",
        "Accept",
        "Decline",
    ] {
        assert!(offer.body.contains(words), "{words:?} on the offer page");
    }
    assert!(
        !offer.body.contains("Ava Chen"),
        "no customer before it is his"
    );

    let answered = post_form(
        &server,
        &path,
        &[("csrf", &offer.csrf()), ("answer", "accept")],
        &[],
    );
    assert_eq!(answered.status, 303, "{}", answered.body);
    assert_eq!(answered.header("location"), Some(path.as_str()));
    let s = session(&server, &dispatcher, "S1");
    assert_eq!(
        (s["status"].as_str(), s["matched_mechanic_id"].as_str()),
        (Some("matched"), Some("t1"))
    );

    let after = get_page(&server, &path, None);
    assert!(after.body.contains("Accepted"), "{}", after.body);
    assert!(after.body.contains("Ava Chen") && after.body.contains("+1 416 555 0100"));
    assert!(!after.body.contains("<form"), "only the outcome afterwards");
    // A second tap changes nothing.
    let again = post_form(
        &server,
        &path,
        &[("csrf", &offer.csrf()), ("answer", "decline")],
        &[],
    );
    assert_eq!(again.status, 303);
    assert!(get_page(&server, &path, None).body.contains("Accepted"));

    // t2's link, after t1 took it: already taken, and his tap does nothing.
    let (url2, _) = link_for(&hooks, "t2@example.ca", "answer_url");
    let path2 = path_of(&server, &url2);
    let taken = get_page(&server, &path2, None);
    assert!(taken.body.contains("Already taken"), "{}", taken.body);
    assert!(!taken.body.contains("Ava Chen"), "{}", taken.body);

    // The customer's message carries the status page.
    let (status_url, _) = link_for(&hooks, "ava@example.com", "status_url");
    let status = get_page(&server, &path_of(&server, &status_url), None);
    assert_eq!(status.status, 200);
    assert!(
        status.body.contains("Matched with Mechanic"),
        "{}",
        status.body
    );
    assert!(
        !status.body.contains("Cancel this session"),
        "no cancel once matched"
    );

    // Codes never reach the log.
    let log = server.log_text();
    assert!(log.contains("/o/…"), "page requests are logged: {log}");
    for secret in [code, path2.trim_start_matches("/o/")] {
        assert!(!log.contains(secret), "a code in the log");
    }
}

#[test]
fn unknown_tampered_and_malformed_codes_are_one_and_the_same_404() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let link = offer_link(&db, &assignment_of(&db, "S1", "t1"));
    let server = Server::start(&db, ROOMY);
    assert_eq!(get_page(&server, &link, None).status, 200);
    let mut tampered = link.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let guessed = format!("/o/{}", pitwall::links::mint().unwrap().code);
    let pages: Vec<Page> = [
        tampered.as_str(),
        guessed.as_str(),
        "/o/short",
        "/o/..%2F..%2Fetc",
        &link.replace("/o/", "/s/"),
    ]
    .iter()
    .map(|p| get_page(&server, p, None))
    .collect();
    for p in &pages {
        assert_eq!(p.status, 404);
        assert_eq!(p.body, pages[0].body, "every unknown link reads the same");
        assert_page_headers(p, "404");
    }
    // A post to an unknown link, with or without a form token: the same 404.
    let token = get_page(&server, &link, None).csrf();
    for fields in [
        vec![("answer", "accept")],
        vec![("csrf", token.as_str()), ("answer", "accept")],
    ] {
        let post = post_form(&server, &tampered, &fields, &[]);
        assert_eq!((post.status, &post.body), (404, &pages[0].body));
    }
}

#[test]
fn a_link_acts_only_for_its_mechanic_and_only_with_its_own_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let a = offer_link(&db, &assignment_of(&db, "S1", "t1"));
    let b = offer_link(&db, &assignment_of(&db, "S1", "t2"));
    let server = Server::start(&db, ROOMY);
    let dispatcher = token(&db, "dispatcher", None);
    let token_a = get_page(&server, &a, None).csrf();
    let token_b = get_page(&server, &b, None).csrf();

    // Without a token, with another link's token, from another site: refused, nothing runs.
    for (fields, headers) in [
        (vec![("answer", "accept")], vec![]),
        (
            vec![("csrf", token_a.as_str()), ("answer", "accept")],
            vec![],
        ),
        (
            vec![("csrf", token_b.as_str()), ("answer", "accept")],
            vec![("Origin", "https://evil.example")],
        ),
        (
            vec![("csrf", token_b.as_str()), ("answer", "accept")],
            vec![("Sec-Fetch-Site", "cross-site")],
        ),
    ] {
        let refused = post_form(&server, &b, &fields, &headers);
        assert_eq!(refused.status, 403, "{fields:?} {headers:?}");
    }
    assert_eq!(session(&server, &dispatcher, "S1")["status"], "waiting");

    // B's link with B's token accepts for B, whoever taps it.
    let done = post_form(
        &server,
        &b,
        &[("csrf", &token_b), ("answer", "accept")],
        &[],
    );
    assert_eq!(done.status, 303);
    assert_eq!(
        session(&server, &dispatcher, "S1")["matched_mechanic_id"],
        "t2"
    );
    // A's link now says taken, and tapping it changes nothing.
    let tapped = post_form(
        &server,
        &a,
        &[("csrf", &token_a), ("answer", "accept")],
        &[],
    );
    assert_eq!(tapped.status, 303);
    assert!(get_page(&server, &a, None).body.contains("Already taken"));
    assert_eq!(
        session(&server, &dispatcher, "S1")["matched_mechanic_id"],
        "t2"
    );
}

#[test]
fn an_expired_offer_says_expired_and_declined_says_declined() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    {
        // An offer made ten minutes ago: its two minutes are long past.
        let then = chrono::Utc::now() - chrono::Duration::minutes(10);
        let mut e = Engine::open(Some(&db), Clock::Manual(then)).unwrap();
        common::roster(&mut e);
        ok(&mut e, intake("S1", json!({})));
    }
    let old = offer_link(&db, &assignment_of(&db, "S1", "t1"));
    let server = Server::start(&db, ROOMY);
    let page = get_page(&server, &old, None);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Expired"), "{}", page.body);
    assert!(!page.body.contains("<form"));

    let dir2 = tempfile::tempdir().unwrap();
    let db2 = seeded(dir2.path());
    let link = offer_link(&db2, &assignment_of(&db2, "S1", "t3"));
    let server2 = Server::start(&db2, ROOMY);
    let csrf = get_page(&server2, &link, None).csrf();
    post_form(
        &server2,
        &link,
        &[("csrf", &csrf), ("answer", "decline")],
        &[],
    );
    let page = get_page(&server2, &link, None);
    assert!(page.body.contains("Declined"), "{}", page.body);
    assert!(!page.body.contains("<form"));
}

#[test]
fn the_intake_answer_links_the_customer_page_which_cancels_while_unmatched() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let server = Server::start(&db, ROOMY);
    let form = token(&db, "intake", None);
    let mut booking = intake("-", json!({}));
    booking.as_object_mut().unwrap().remove("id");
    let answer = post(&common::server::agent(), &server, &form, &booking);
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let url = answer.body["status_url"]
        .as_str()
        .expect("a status link")
        .to_string();
    let path = path_of(&server, &url);
    assert!(path.starts_with("/s/"));

    let page = get_page(&server, &path, None);
    assert_eq!(page.status, 200);
    assert_page_headers(&page, "status");
    assert!(page.body.contains("Offered to a mechanic"), "{}", page.body);
    let id = answer.body["session"]["id"].as_str().unwrap();
    assert!(
        page.body
            .contains(&format!("Your session {}", pitwall::model::session_ref(id))),
        "this session, by its reference: {}",
        page.body
    );
    let csrf = page.csrf();
    let refused = post_form(&server, &format!("{path}/cancel"), &[], &[]);
    assert_eq!(refused.status, 403);
    let done = post_form(&server, &format!("{path}/cancel"), &[("csrf", &csrf)], &[]);
    assert_eq!(done.status, 303);
    let page = get_page(&server, &path, None);
    assert!(page.body.contains("Cancelled"), "{}", page.body);
    assert!(!page.body.contains("<form"));
}

fn token_id_of(db: &Path, mechanic: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["token", "list", "--json", "--db"])
        .arg(db)
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["mechanic"] == mechanic && t["label"] == "sign-in link")
        .expect("token list shows the sign-in")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Signs in through the link; the cookie to send.
fn signed_in(server: &Server, link: &str) -> String {
    let path = link
        .strip_prefix("http://127.0.0.1:7878")
        .expect("the default public address");
    let form = get_page(server, path, None);
    assert_eq!(form.status, 200, "{}", form.body);
    assert_page_headers(&form, "sign-in");
    let done = post_form(server, path, &[("csrf", &form.csrf())], &[]);
    assert_eq!(done.status, 303, "{}", done.body);
    let cookie = done.header("set-cookie").expect("a cookie").to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "not over plain http");
    cookie.split(';').next().unwrap().to_string()
}

#[test]
fn a_signed_in_mechanic_works_from_his_page_until_the_sign_in_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let link = sign_in_link(&db, "t1");
    let server = Server::start(&db, ROOMY);
    let dispatcher = token(&db, "dispatcher", None);
    let cookie = signed_in(&server, &link);

    let page = get_page(&server, "/m", Some(&cookie));
    assert_eq!(page.status, 200, "{}", page.body);
    assert_page_headers(&page, "mechanic");
    assert!(page.body.contains("You are on shift"), "{}", page.body);
    assert!(
        page.body.contains("My check engine light is on"),
        "his offer: {}",
        page.body
    );
    let csrf = page.csrf();
    // No CSRF token: refused.
    let refused = post_form(
        &server,
        "/m/act",
        &[("action", "clock_out")],
        &[("Cookie", &cookie)],
    );
    assert_eq!(refused.status, 403);
    let accepted = post_form(
        &server,
        "/m/act",
        &[("csrf", &csrf), ("action", "accept"), ("session", "S1")],
        &[("Cookie", &cookie)],
    );
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    assert_eq!(
        session(&server, &dispatcher, "S1")["matched_mechanic_id"],
        "t1"
    );
    let page = get_page(&server, "/m", Some(&cookie));
    assert!(
        page.body.contains("Ava Chen"),
        "his job with the customer: {}",
        page.body
    );
    let completed = post_form(
        &server,
        "/m/act",
        &[("csrf", &csrf), ("action", "complete"), ("session", "S1")],
        &[("Cookie", &cookie)],
    );
    assert_eq!(completed.status, 303, "{}", completed.body);
    assert_eq!(session(&server, &dispatcher, "S1")["status"], "completed");
    let out = post_form(
        &server,
        "/m/act",
        &[("csrf", &csrf), ("action", "clock_out")],
        &[("Cookie", &cookie)],
    );
    assert_eq!(out.status, 303);
    assert!(
        get_page(&server, "/m", Some(&cookie))
            .body
            .contains("You are off shift")
    );

    // Revoked: the very next request is refused.
    let id = token_id_of(&db, "t1");
    let revoke = std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["token", "revoke", &id, "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(revoke.status.success());
    let gone = get_page(&server, "/m", Some(&cookie));
    assert_eq!(gone.status, 401);
    assert!(gone.body.contains("signed out"), "{}", gone.body);
    let act = post_form(
        &server,
        "/m/act",
        &[("csrf", &csrf), ("action", "clock_in")],
        &[("Cookie", &cookie)],
    );
    assert_eq!(act.status, 401);
    assert!(
        !server.log_text().contains(link.rsplit('/').next().unwrap()),
        "a sign-in token in the log"
    );
}

#[test]
fn a_mechanic_cannot_complete_another_mechanics_job_from_his_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        ok(
            &mut e,
            json!({"cmd": "accept", "session": "S1", "mechanic": "t2"}),
        );
    }
    let link = sign_in_link(&db, "t1");
    let server = Server::start(&db, ROOMY);
    let dispatcher = token(&db, "dispatcher", None);
    let cookie = signed_in(&server, &link);
    let csrf = get_page(&server, "/m", Some(&cookie)).csrf();
    let refused = post_form(
        &server,
        "/m/act",
        &[("csrf", &csrf), ("action", "complete"), ("session", "S1")],
        &[("Cookie", &cookie)],
    );
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("only a job that is yours"));
    assert_eq!(session(&server, &dispatcher, "S1")["status"], "matched");
}

#[test]
fn the_assets_are_served_with_the_page_headers_and_no_inline_script() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let server = Server::start(&db, ROOMY);
    for (path, kind) in [
        ("/assets/app.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
    ] {
        let p = get_page(&server, path, None);
        assert_eq!(p.status, 200);
        assert!(p.header("content-type").unwrap().starts_with(kind));
        assert_page_headers(&p, path);
    }
    let signed_out = get_page(&server, "/m", None);
    assert_eq!(signed_out.status, 401);
    assert_page_headers(&signed_out, "/m signed out");
    assert!(!signed_out.body.contains("<script>"), "no inline script");
    assert!(!signed_out.body.contains("style="), "no inline style");
}

/// The store's part, on the suite's backend (SQLite, or PostgreSQL with
/// `PITWALL_TEST_BACKEND=postgres`): links found by their hash, bound to what they open.
#[test]
fn links_are_kept_by_hash_on_either_backend() {
    use pitwall::store::links::{self, Opens};
    let mut e = common::engine();
    common::roster(&mut e);
    ok(&mut e, intake("S1", json!({})));
    let now = e.now();
    let conn = e.connection();
    let offer = pitwall::store::assignments::for_session(conn, "S1")
        .unwrap()
        .into_iter()
        .find(|a| a.mechanic_id.as_deref() == Some("t1"))
        .unwrap();
    let (a, b) = (
        pitwall::links::mint().unwrap(),
        pitwall::links::mint().unwrap(),
    );
    assert!(links::insert_offer(conn, &a.sha256, &offer.id, now).unwrap());
    assert!(links::insert_status(conn, &b.sha256, "S1", now).unwrap());
    assert!(!links::insert_offer(conn, &[7; 32], "no such offer", now).unwrap());
    assert!(!links::insert_status(conn, &[8; 32], "no such session", now).unwrap());
    assert_eq!(
        links::find(conn, &a.sha256).unwrap(),
        Some(Opens::Offer {
            session: "S1".into(),
            assignment: offer.id.clone(),
            mechanic: "t1".into(),
            outcome: None,
        })
    );
    assert_eq!(
        links::find(conn, &b.sha256).unwrap(),
        Some(Opens::Status {
            session: "S1".into()
        })
    );
    assert_eq!(
        links::find(conn, &pitwall::links::hash(&a.code[1..])).unwrap(),
        None
    );
    assert!(links::offer_is_live(conn, &offer.id, now).unwrap());
    assert!(!links::offer_is_live(conn, &offer.id, now + chrono::Duration::minutes(3)).unwrap());
    links::set_outcome(conn, &a.sha256, "declined").unwrap();
    links::set_outcome(conn, &a.sha256, "accepted").unwrap();
    let Some(Opens::Offer { outcome, .. }) = links::find(conn, &a.sha256).unwrap() else {
        panic!("an offer link");
    };
    assert_eq!(
        outcome.as_deref(),
        Some("declined"),
        "the first answer stays"
    );
}

#[test]
fn a_booking_reads_in_the_customers_own_zone_on_her_page() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let when = (chrono::Utc::now() + chrono::Duration::days(2))
        .date_naive()
        .and_hms_opt(15, 0, 0)
        .unwrap()
        .and_utc();
    {
        let mut e = Engine::open(Some(&db), Clock::System).unwrap();
        ok(
            &mut e,
            intake(
                "B1",
                json!({"scheduled_for": pitwall::clock::rfc3339(when)}),
            ),
        );
    }
    let link = common::pages::status_link(&db, "B1");
    let server = Server::start(&db, ROOMY);
    let page = get_page(&server, &link, None);
    assert_eq!(page.status, 200, "{}", page.body);
    // Toronto: 15:00 UTC is 10:00 EST (11:00 EDT in summer).
    let local = when.with_timezone(&chrono_tz::America::Toronto);
    let expected = format!("Booked for {}", local.format("%a %d %b %H:%M %Z"));
    assert!(
        page.body.contains(&expected),
        "{expected:?} in {}",
        page.body
    );
    assert!(
        page.body.contains("Cancel this session"),
        "cancel while unmatched"
    );
}
