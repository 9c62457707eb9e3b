//! What the page tests share: a database with an offered session, and offer links made as the
//! relay makes them (the relay puts them in messages; a test that needs one makes its own).

use std::path::{Path, PathBuf};

use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::json;

/// The test roster and session S1 offered to t1–t3.
pub fn seeded(dir: &Path) -> PathBuf {
    let db = dir.join("pages.db");
    let mut e = Engine::open(Some(&db), Clock::System).unwrap();
    super::roster(&mut e);
    super::ok(&mut e, super::intake("S1", json!({})));
    db
}

/// A link to the offer `assignment`, stored as the relay stores one: its path (`/o/…`).
pub fn offer_link(db: &Path, assignment: &str) -> String {
    let conn = pitwall::store::open(Some(db)).unwrap();
    let link = pitwall::links::mint().unwrap();
    assert!(
        pitwall::store::links::insert_offer(&conn, &link.sha256, assignment, chrono::Utc::now())
            .unwrap()
    );
    format!("/o/{}", link.code)
}

/// A link to `session`'s status page: its path (`/s/…`).
pub fn status_link(db: &Path, session: &str) -> String {
    let conn = pitwall::store::open(Some(db)).unwrap();
    let link = pitwall::links::mint().unwrap();
    assert!(
        pitwall::store::links::insert_status(&conn, &link.sha256, session, chrono::Utc::now())
            .unwrap()
    );
    format!("/s/{}", link.code)
}

/// The id of `mechanic`'s offer on `session`.
pub fn assignment_of(db: &Path, session: &str, mechanic: &str) -> String {
    let conn = pitwall::store::open(Some(db)).unwrap();
    pitwall::store::assignments::for_session(&conn, session)
        .unwrap()
        .into_iter()
        .find(|a| a.mechanic_id.as_deref() == Some(mechanic))
        .unwrap()
        .id
}

/// `pitwall token link` on `db`: the printed link.
pub fn sign_in_link(db: &Path, mechanic: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["token", "link", "--mechanic", mechanic, "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1);
    text.trim().to_string()
}
