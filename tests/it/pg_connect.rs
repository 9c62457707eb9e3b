//! Connecting as real deployments do (SPEC §15): TLS by the URL's `sslmode`, and a password
//! that is not in the URL (PGPASSWORD, the password file, PITWALL_DB). Against the throwaway
//! cluster: `PITWALL_PG_TLS=1 bash .ci/postgres.sh start` turns TLS on with a test CA; the role
//! `pitwall_password` must give its password whether TLS is on or not.

use crate::common::pg;

use std::process::{Command, Output};

use pitwall::store::Db;

/// The TLS test CA, the CA that signed nothing, and the server; None (skipped) without TLS.
fn tls_cluster() -> Option<(String, String, String)> {
    let server = pg::server()?;
    match (
        std::env::var("PITWALL_TEST_POSTGRES_CA"),
        std::env::var("PITWALL_TEST_POSTGRES_OTHER_CA"),
    ) {
        (Ok(ca), Ok(other)) => Some((server, ca, other)),
        _ => {
            eprintln!("TLS tests skipped: start the cluster with PITWALL_PG_TLS=1");
            None
        }
    }
}

/// `url` with `query` added to its parameters.
fn with(url: &str, query: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{query}")
}

/// Whether the connection `db` holds is encrypted, as the server sees it.
fn encrypted(db: &Db) -> bool {
    db.query_row(
        pitwall::sql_each!(
            sqlite: ["SELECT 0"],
            postgres: ["SELECT CAST(ssl AS INTEGER) FROM pg_stat_ssl WHERE pid = pg_backend_pid()"],
        ),
        pitwall::params![],
        |r| r.get::<_, bool>(0),
    )
    .unwrap()
}

#[test]
fn require_encrypts_and_verify_full_trusts_only_the_named_ca() {
    let Some((server, ca, other)) = tls_cluster() else {
        return;
    };
    let db = pg::TestDb::create(&server);

    let plain = Db::connect_postgres(&with(&db.url, "sslmode=disable")).unwrap();
    assert!(!encrypted(&plain), "sslmode=disable stays plain");
    drop(plain);

    let required = Db::connect_postgres(&with(&db.url, "sslmode=require")).unwrap();
    assert!(encrypted(&required), "sslmode=require encrypts");
    drop(required);

    let verified = Db::connect_postgres(&with(
        &db.url,
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ))
    .unwrap();
    assert!(encrypted(&verified));
    drop(verified);
    let chained = Db::connect_postgres(&with(
        &db.url,
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    ))
    .unwrap();
    assert!(encrypted(&chained));
    drop(chained);

    // A server whose certificate no trusted CA signed is refused, by either verifying mode,
    // and so is one checked against the built-in roots (a test CA is not among them).
    for mode in ["verify-full", "verify-ca"] {
        let refused = Db::connect_postgres(&with(
            &db.url,
            &format!("sslmode={mode}&sslrootcert={other}"),
        ))
        .err()
        .unwrap_or_else(|| panic!("{mode} with the wrong CA connected"));
        let said = refused.to_string();
        assert!(said.contains("certificate"), "{mode}: {said}");
    }
    let refused = Db::connect_postgres(&with(&db.url, "sslmode=verify-full"))
        .err()
        .expect("a test CA is not a built-in root");
    assert!(refused.to_string().contains("certificate"), "{refused}");

    // A CA file that cannot be used is named before any connection is tried.
    let missing = Db::connect_postgres(&with(
        &db.url,
        "sslmode=verify-full&sslrootcert=/no/such/ca.pem",
    ))
    .err()
    .expect("no CA file");
    assert!(missing.to_string().contains("/no/such/ca.pem"), "{missing}");
}

/// A database the password role owns, and the URL of it without a password.
fn password_database(server: &str) -> (pg::TestDb, String) {
    let db = pg::TestDb::create(server);
    let name = db.url.rsplit('/').next().unwrap().to_string();
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("ALTER DATABASE {name} OWNER TO pitwall_password"))
        .unwrap();
    let authority = server
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(_, host)| host.split('/').next().unwrap().to_string())
        .expect("a server URL with a user and a host");
    (
        db,
        format!("postgres://pitwall_password@{authority}/{name}"),
    )
}

fn pitwall(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pitwall"));
    command
        .args(args)
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .env_remove("PITWALL_DB")
        // No ~/.pgpass of whoever runs the tests.
        .env("HOME", "/nonexistent");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

#[test]
fn the_password_comes_from_pgpassword_the_password_file_or_pitwall_db() {
    let Some(server) = pg::server() else {
        return;
    };
    let Ok(password) = std::env::var("PITWALL_TEST_POSTGRES_PASSWORD") else {
        eprintln!("password tests skipped: the cluster has no password role (.ci/postgres.sh)");
        return;
    };
    let (_db, url) = password_database(&server);
    let report = ["report", "--json", "--db", url.as_str()];

    let refused = pitwall(&[], &report);
    assert!(!refused.status.success(), "connected without a password");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("password"), "{said}");

    let by_variable = pitwall(&[("PGPASSWORD", &password)], &report);
    assert!(
        by_variable.status.success(),
        "PGPASSWORD: {}",
        String::from_utf8_lossy(&by_variable.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pgpass");
    let (host_port, database) = url
        .trim_start_matches("postgres://pitwall_password@")
        .split_once('/')
        .unwrap();
    let (host, port) = host_port.rsplit_once(':').unwrap();
    std::fs::write(
        &file,
        format!("# other servers first\nelsewhere:*:*:*:wrong\n{host}:{port}:{database}:pitwall_password:{password}\n"),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let by_file = pitwall(&[("PGPASSFILE", file.to_str().unwrap())], &report);
    assert!(
        by_file.status.success(),
        "password file: {}",
        String::from_utf8_lossy(&by_file.stderr)
    );

    // The whole URL, password and all, from the environment: nothing of it on the command line.
    let whole = url.replace(
        "pitwall_password@",
        &format!("pitwall_password:{password}@"),
    );
    let by_environment = pitwall(&[("PITWALL_DB", &whole)], &["report", "--json"]);
    assert!(
        by_environment.status.success(),
        "PITWALL_DB: {}",
        String::from_utf8_lossy(&by_environment.stderr)
    );
}
