//! The PostgreSQL server the tests run against (SPEC §15): `PITWALL_TEST_POSTGRES`, set by
//! `source target/postgres.env` after `bash .ci/postgres.sh start`. The tests that need one are
//! `#[ignore = "needs PITWALL_TEST_POSTGRES ..."]`, so `cargo test` alone needs no server and its
//! summary counts them as ignored; CI runs them with `--ignored` against its own cluster.
#![allow(dead_code)]

use postgres::{Client, NoTls};

pub const SERVER_VAR: &str = "PITWALL_TEST_POSTGRES";

/// The server's URL (a `postgres://` URL naming any database on it, used for CREATE/DROP
/// DATABASE), or None when unset.
pub fn server() -> Option<String> {
    match std::env::var(SERVER_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => None,
    }
}

/// The server for a test that needs one (an ignored test run with `--ignored`): a test run
/// without one fails saying what to set, rather than passing having tested nothing.
pub fn required_server() -> String {
    server().unwrap_or_else(|| {
        panic!("this test needs a PostgreSQL server: set {SERVER_VAR} (bash .ci/postgres.sh start; source target/postgres.env)")
    })
}

/// A new empty database of this test's own on `server`; its URL. It stays until the cluster is
/// thrown away: for a database a child process may still use when the test ends. [`TestDb`]
/// drops its database at the end.
pub fn fresh_database(server: &str) -> String {
    let name = format!("pw_{}", uuid::Uuid::new_v4().simple());
    admin(server)
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {server}: {e}"));
    database_url(server, &name)
}

/// A fresh database dropped (with whatever is still connected to it) when this goes.
pub struct TestDb {
    pub url: String,
    server: String,
    name: String,
}

impl TestDb {
    pub fn create(server: &str) -> TestDb {
        let url = fresh_database(server);
        let name = url.rsplit('/').next().expect("a database name").to_owned();
        TestDb {
            url,
            server: server.to_owned(),
            name,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Best effort: a failing test should report its own failure, not this one.
        if let Ok(mut client) = Client::connect(&self.server, NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn admin(server: &str) -> Client {
    Client::connect(server, NoTls).unwrap_or_else(|e| panic!("connecting to {server}: {e}"))
}

/// `server` with its database replaced by `name` (a URL's path is its database).
fn database_url(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    let authority_end = base
        .find("://")
        .map(|scheme| scheme + 3)
        .and_then(|start| base[start..].find('/').map(|slash| start + slash))
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The server the engine tests run on instead of an in-memory SQLite database: set when
/// `PITWALL_TEST_BACKEND=postgres` (and the server by [`SERVER_VAR`]). CI runs the suite both
/// ways; `cargo test` alone runs it on SQLite.
pub fn backend() -> Option<String> {
    match std::env::var("PITWALL_TEST_BACKEND").as_deref() {
        Ok("postgres") => Some(server().unwrap_or_else(|| {
            panic!("PITWALL_TEST_BACKEND=postgres needs {SERVER_VAR} (bash .ci/postgres.sh start)")
        })),
        _ => None,
    }
}

/// A new empty schema of this test's own on `server`, and a URL whose connections use it
/// (`search_path`): as isolated as a database of its own, and made in milliseconds rather than
/// the fraction of a second a CREATE DATABASE takes, which hundreds of engine tests would feel.
pub fn fresh_schema(server: &str) -> String {
    let name = format!("pw_{}", uuid::Uuid::new_v4().simple());
    admin(server)
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .unwrap_or_else(|e| panic!("CREATE SCHEMA {name} on {server}: {e}"));
    let joiner = if server.contains('?') { '&' } else { '?' };
    format!("{server}{joiner}options=-c%20search_path%3D{name}")
}
