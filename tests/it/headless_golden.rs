//! Golden headless scripts: each `tests/scenarios/NAME.jsonl` (and the demo under seeds/) runs
//! through the real binary and its whole output must equal `tests/scenarios/NAME.expected`.
//! Only truly volatile values are masked: measured latencies and generated UUIDs.
//! `UPDATE_GOLDEN=1 cargo test --test it headless_golden::` rewrites the expected files; review the
//! diff before committing it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::pg;

fn mask(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "matching_latency_ms" || key == "matcher_latency_ms" {
                    *v = Value::String("<measured>".into());
                } else {
                    mask(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => *s = "<uuid>".into(),
        _ => {}
    }
}

fn run_script(script: &Path) -> (String, i32) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pitwall"));
    command.arg("headless");
    // On PostgreSQL (SPEC §15) the same script must print the same lines: a fresh schema of
    // its own, on the same manual clock an in-memory run uses.
    if let Some(server) = pg::backend() {
        command
            .args(["--clock", "manual", "--db"])
            .arg(pg::fresh_schema(&server));
    }
    let out = command
        .arg("--script")
        .arg(script)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // No config file of the developer's: no transports, so `deliver` is the same everywhere.
        .env("PITWALL_HOME", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .expect("run pitwall");
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut text = String::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let mut v: Value = serde_json::from_str(line).expect("every output line is JSON");
        mask(&mut v);
        text.push_str(&serde_json::to_string(&v).unwrap());
        text.push('\n');
    }
    (text, out.status.code().unwrap_or(-1))
}

fn check(script: &Path, expected: &Path, code: i32) {
    let (actual, exit) = run_script(script);
    assert_eq!(exit, code, "{} exit status", script.display());
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(expected, &actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(expected)
        .unwrap_or_else(|_| panic!("missing {}; run with UPDATE_GOLDEN=1", expected.display()));
    for (i, (a, w)) in actual.lines().zip(want.lines()).enumerate() {
        assert_eq!(a, w, "{} line {} differs", script.display(), i + 1);
    }
    assert_eq!(
        actual.lines().count(),
        want.lines().count(),
        "{} line count",
        script.display()
    );
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn demo_script() {
    // Exit 1: the demo shows refusals (a second accept, an accept before the broadcast opens).
    check(
        &root().join("seeds/scenarios/demo.jsonl"),
        &root().join("tests/scenarios/demo.expected"),
        1,
    );
}

#[test]
fn lifecycle_script() {
    check(
        &root().join("tests/scenarios/lifecycle.jsonl"),
        &root().join("tests/scenarios/lifecycle.expected"),
        1,
    );
}

#[test]
fn errors_script() {
    check(
        &root().join("tests/scenarios/errors.jsonl"),
        &root().join("tests/scenarios/errors.expected"),
        1,
    );
}

#[test]
fn scheduling_script() {
    // Exit 1: the script shows refused plans, times and an accept before the release.
    check(
        &root().join("tests/scenarios/scheduling.jsonl"),
        &root().join("tests/scenarios/scheduling.expected"),
        1,
    );
}
