//! A new user's first day, where the parts join: one rule for what a new database holds,
//! whichever command makes it.

use crate::common;

use std::process::{Command, Stdio};

use common::server::{ROOMY, Server, agent, get, post, token};
use pitwall::clock::Clock;
use pitwall::engine::Engine;
use serde_json::json;

fn mechanics_in(db: &std::path::Path) -> usize {
    let mut e = Engine::open(Some(db), Clock::System).unwrap();
    e.mechanics().unwrap().mechanics.len()
}

/// `token create` and `serve` make a new database with the demo roster (as the console does),
/// so a quick start works in whichever order it is pasted; `headless` starts empty, for a
/// script that brings its own roster.
#[test]
fn a_new_database_has_the_demo_roster_whichever_command_makes_it() {
    let dir = tempfile::tempdir().unwrap();
    let demo = serde_json::from_str::<Vec<serde_json::Value>>(pitwall::DEMO_ROSTER)
        .unwrap()
        .len();

    // A mechanic token for a demo mechanic, on a file nothing has made yet.
    let by_token = dir.path().join("by-token.db");
    let phone = token(&by_token, "mechanic", Some("m-tor-01"));
    assert_eq!(mechanics_in(&by_token), demo);

    // serve on a new file: the demo mechanics are there for the token made afterwards.
    let by_serve = dir.path().join("by-serve.db");
    let server = Server::start(&by_serve, ROOMY);
    let agent = agent();
    assert_eq!(get(&agent, &server, None, "/v1/health").status, 200);
    let own = token(&by_serve, "mechanic", Some("m-tor-01"));
    let answer = post(&agent, &server, &own, &json!({"cmd": "clock_out"}));
    assert_eq!(answer.status, 200, "{answer:?}");
    drop(server);
    assert_eq!(mechanics_in(&by_serve), demo);

    // The first token's database serves it too.
    let server = Server::start(&by_token, ROOMY);
    let answer = post(&agent, &server, &phone, &json!({"cmd": "queue"}));
    assert_eq!(answer.status, 200, "{answer:?}");
    drop(server);

    // A file a script made holds what the script put there, and keeps it: a database in use
    // is never seeded.
    let by_headless = dir.path().join("by-headless.db");
    let mut script = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["headless", "--db"])
        .arg(&by_headless)
        .env("PITWALL_HOME", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let own = common::mechanic("own-1", true, json!({}));
    std::io::Write::write_all(
        &mut script.stdin.take().unwrap(),
        format!("{own}\n").as_bytes(),
    )
    .unwrap();
    assert!(script.wait().unwrap().success());
    assert_eq!(mechanics_in(&by_headless), 1);
    let _ = token(&by_headless, "mechanic", Some("own-1"));
    let server = Server::start(&by_headless, ROOMY);
    drop(server);
    assert_eq!(
        mechanics_in(&by_headless),
        1,
        "a database in use is never seeded"
    );
}

/// Shell completions and the man page come from the same flags as --help: bash completes a
/// subcommand from the script, and groff reads the page without a warning.
#[test]
fn completions_and_the_man_page_are_generated_from_the_flags() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_pitwall"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("pitwall.bash");
    std::fs::write(&script, run(&["completions", "bash"])).unwrap();
    let completed = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(pitwall rel); COMP_CWORD=1; _pitwall pitwall rel pitwall; \
             echo \"${{COMPREPLY[@]}}\"",
            script.display()
        ))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&completed.stdout).trim(), "relay");
    for shell in ["zsh", "fish"] {
        assert!(run(&["completions", shell]).contains("simulate"), "{shell}");
    }

    let page = dir.path().join("pitwall.1");
    std::fs::write(&page, run(&["man"])).unwrap();
    let groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww"])
        .arg(&page)
        .output();
    match groff {
        Ok(out) => {
            assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("headless") && text.contains("--db"), "{text}");
        }
        // groff is not everywhere: the page is still roff with its name and sections.
        Err(_) => assert!(std::fs::read_to_string(&page).unwrap().contains(".SH NAME")),
    }
}
