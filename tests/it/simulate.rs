//! `pitwall simulate` and `pitwall demo` (SPEC §16), through the real binary: the same seed
//! gives the same bytes, each behaviour knob moves what it should, `--compare` meets the same
//! customers twice, a simulated week leaves a database `check` accepts and `report` agrees
//! with, bad params files are coded errors, and the demo runs live in a real terminal without
//! touching the default database.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn pitwall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(args)
        .env(
            "PITWALL_HOME",
            std::env::temp_dir().join("pitwall-simulate-tests-home"),
        )
        .output()
        .expect("the binary runs")
}

/// `simulate --json` with these extra flags and, when given, this params file text.
fn simulate(dir: &Path, params: Option<&str>, extra: &[&str]) -> Value {
    let mut args = vec!["simulate", "--json"];
    let file = dir.join(format!("params-{}.toml", unique()));
    if let Some(text) = params {
        std::fs::write(&file, text).unwrap();
        args.extend(["--params", file.to_str().unwrap()]);
    }
    args.extend(extra);
    let out = pitwall(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn unique() -> usize {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn int(v: &Value, path: &str) -> i64 {
    v.pointer(path)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("{path} in {v}"))
}

#[test]
fn the_same_seed_gives_byte_identical_json_and_another_seed_another_day() {
    let run = |seed: &str| pitwall(&["simulate", "--json", "--hours", "4", "--seed", seed]);
    let (a, b, c) = (run("7"), run("7"), run("8"));
    assert!(a.status.success() && b.status.success() && c.status.success());
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout, "same seed, same bytes");
    assert_ne!(a.stdout, c.stdout, "another seed, another day");
    // The text form is the same line for line too.
    let text = |seed| pitwall(&["simulate", "--hours", "4", "--seed", seed]).stdout;
    assert_eq!(text("7"), text("7"));
    // Wall-clock figures are said on stderr, not in the output.
    let stderr = String::from_utf8_lossy(&a.stderr);
    assert!(
        stderr.contains("simulated 4 h") && stderr.contains("matcher latency"),
        "{stderr}"
    );
}

#[test]
fn the_default_day_is_believable_and_every_action_reaches_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let day = simulate(dir.path(), None, &[]);
    let arrivals = int(&day, "/activity/arrivals");
    // 8 hours at 30 an hour: a Poisson count near 240.
    assert!((180..=300).contains(&arrivals), "{arrivals}");
    assert_eq!(int(&day, "/report/sessions_total"), arrivals);
    assert!(int(&day, "/offers/accepted_targeted") > 0);
    assert!(int(&day, "/offers/accepted_broadcast") > 0);
    assert!(int(&day, "/offers/declined") > 0);
    assert!(int(&day, "/activity/completed") > 0);
    assert!(int(&day, "/activity/clock_ins") > 0 && int(&day, "/activity/clock_outs") > 0);
    assert!(int(&day, "/report/waitlist/joined") > 0);
    assert_eq!(day["smart_matching"], true);
}

#[test]
fn no_answer_rate_one_clocks_mechanics_out_and_leaves_only_broadcast_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let day = simulate(dir.path(), Some("no_answer_rate = 1.0\n"), &[]);
    assert!(int(&day, "/offers/auto_clock_outs") > 0, "{day}");
    assert!(int(&day, "/offers/expired") > 0);
    assert_eq!(int(&day, "/offers/accepted_targeted"), 0);
    assert_eq!(int(&day, "/offers/declined"), 0);
    assert!(int(&day, "/offers/accepted_broadcast") > 0);
    assert_eq!(day["report"]["targeted_accept_share"], 0.0);
}

#[test]
fn accept_probability_zero_means_nobody_takes_anything() {
    let dir = tempfile::tempdir().unwrap();
    let never = "[accept_probability]\nhigh_match = 0.0\ngood_match = 0.0\nstandard = 0.0\n";
    let day = simulate(dir.path(), Some(never), &[]);
    assert_eq!(int(&day, "/report/accepts_total"), 0, "{day}");
    assert!(int(&day, "/offers/declined") > 0);
    assert!(int(&day, "/report/sessions_cancelled_unmatched") > 0);
    assert!(int(&day, "/offers/escalations") > 0);
}

#[test]
fn decline_rate_one_leaves_targeted_offers_all_declined() {
    let dir = tempfile::tempdir().unwrap();
    let day = simulate(
        dir.path(),
        Some("decline_rate = 1.0\nno_answer_rate = 0.0\n"),
        &[],
    );
    assert_eq!(int(&day, "/offers/accepted_targeted"), 0, "{day}");
    assert!(int(&day, "/offers/declined") > int(&day, "/offers/targeted_made") / 2);
    assert!(int(&day, "/offers/accepted_broadcast") > 0);
}

#[test]
fn slow_answers_miss_the_two_minute_window() {
    let dir = tempfile::tempdir().unwrap();
    let slow = "no_answer_rate = 0.0\n[targeted_answer_seconds]\nmean = 10.0\nmin = 200.0\n";
    let day = simulate(dir.path(), Some(slow), &[]);
    assert_eq!(int(&day, "/offers/accepted_targeted"), 0, "{day}");
    assert!(int(&day, "/offers/expired") > 0);
    assert!(
        int(&day, "/activity/moved_on") > 0,
        "late answers are refused, and shrugged off"
    );
}

// The parameters below each move their own figure; one test each, so the suite runs their
// simulations side by side.

#[test]
fn waitlist_take_up_moves_who_joins_and_is_notified() {
    let dir = tempfile::tempdir().unwrap();
    // Twelve hours run past the last shifts' end, when everyone is offline.
    let late = ["--hours", "14"];
    let none = simulate(dir.path(), Some("waitlist_take_up = 0.0\n"), &late);
    let all = simulate(dir.path(), Some("waitlist_take_up = 1.0\n"), &late);
    assert_eq!(int(&none, "/report/waitlist/joined"), 0);
    assert!(int(&all, "/report/waitlist/joined") > 0);
    assert!(
        int(&all, "/report/waitlist/notified") > 0,
        "clock-ins wake the waitlist"
    );
}

#[test]
fn patience_moves_how_many_give_up_unmatched() {
    let dir = tempfile::tempdir().unwrap();
    let impatient = simulate(dir.path(), Some("patience_minutes = 1\n"), &[]);
    let patient = simulate(dir.path(), Some("patience_minutes = 600\n"), &[]);
    assert!(
        int(&impatient, "/report/sessions_cancelled_unmatched")
            > int(&patient, "/report/sessions_cancelled_unmatched")
    );
}

#[test]
fn session_length_moves_how_many_complete() {
    let dir = tempfile::tempdir().unwrap();
    let long = simulate(
        dir.path(),
        Some("[session_minutes]\nmin = 600\nmax = 600\n"),
        &[],
    );
    assert_eq!(int(&long, "/activity/completed"), 0);
    assert!(int(&long, "/report/accepts_total") > 0);
}

#[test]
fn coming_back_after_an_auto_clock_out_moves_the_clock_ins() {
    let dir = tempfile::tempdir().unwrap();
    let back_soon = "no_answer_rate = 1.0\nback_after_auto_clock_out_minutes = 1\n";
    let back_late = "no_answer_rate = 1.0\nback_after_auto_clock_out_minutes = 600\n";
    assert!(
        int(
            &simulate(dir.path(), Some(back_soon), &[]),
            "/activity/clock_ins"
        ) > int(
            &simulate(dir.path(), Some(back_late), &[]),
            "/activity/clock_ins"
        )
    );
}

#[test]
fn compare_runs_the_same_arrivals_with_smart_matching_on_and_off() {
    let out = pitwall(&["simulate", "--compare", "--json", "--hours", "4"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let both: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (on, off) = (&both["smart_matching_on"], &both["smart_matching_off"]);
    assert_eq!(on["smart_matching"], true);
    assert_eq!(off["smart_matching"], false);
    assert_eq!(
        int(on, "/activity/arrivals"),
        int(off, "/activity/arrivals")
    );
    assert_eq!(
        int(on, "/report/sessions_total"),
        int(off, "/report/sessions_total")
    );
    assert!(int(on, "/offers/targeted_made") > 0);
    assert_eq!(int(off, "/offers/targeted_made"), 0, "broadcast only");

    // The table: both sides, the goals marked.
    let text = pitwall(&["simulate", "--compare", "--hours", "4"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("smart matching on") && text.contains("smart matching off"));
    let arrivals = text.lines().find(|l| l.starts_with("arrivals")).unwrap();
    let counts: Vec<&str> = arrivals.split_whitespace().skip(1).collect();
    assert_eq!(counts.len(), 2);
    assert_eq!(counts[0], counts[1], "{arrivals}");
    assert!(text.contains('✓') || text.contains('✗'));
    assert!(text.contains("≥ 80 %"));
}

/// A whole week (every weekday's shifts, the weekend, each night with nobody on shift) at a
/// tenth of the default traffic: the same days and the same database checks, with ~500
/// sessions rather than ~5,000, so the debug build runs it in seconds (the month at full
/// traffic is the bench's `simulate`).
#[test]
fn a_simulated_week_leaves_a_database_check_accepts_and_report_agrees_with() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("week.db");
    let db = db.to_str().unwrap();
    let week = simulate(
        dir.path(),
        None,
        &["--db", db, "--hours", "168", "--arrivals-per-hour", "3"],
    );
    let check = pitwall(&["--db", db, "check"]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let report = pitwall(&["--db", db, "report", "--json"]);
    let mut report: Value = serde_json::from_slice(&report.stdout).unwrap();
    // All but the matcher's wall-clock latency, which simulate keeps out of its output.
    report["matcher_latency_ms"] = serde_json::json!({"p50": null, "p95": null, "max": null});
    assert_eq!(report, week["report"]);
    // Every arrival of the week is a session in the database, and the week is all there: each
    // of its 168 hours, with customers arriving on each of the 8 dates it touches (Monday
    // 14:00 to Monday 14:00).
    let arrivals = int(&week, "/activity/arrivals");
    assert!(
        arrivals > 400,
        "{arrivals} arrivals at 3 an hour for a week"
    );
    assert_eq!(
        int(&week, "/report/sessions_total"),
        arrivals - int(&week, "/activity/intakes_refused")
    );
    let hours = week["activity"]["hourly"].as_array().unwrap();
    assert_eq!(hours.len(), 168);
    let dates: std::collections::BTreeSet<&str> = hours
        .iter()
        .filter(|h| h["arrivals"].as_i64().unwrap() > 0)
        .map(|h| &h["starts_at"].as_str().unwrap()[..10])
        .collect();
    assert_eq!(dates.len(), 8, "{dates:?}");

    // A used database is refused, and left as it was.
    let before = std::fs::metadata(db).unwrap().len();
    let again = pitwall(&["--db", db, "simulate"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("new database"));
    assert_eq!(std::fs::metadata(db).unwrap().len(), before);
}

#[test]
fn bad_params_files_are_coded_errors_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |text: &str| {
        let file = dir.path().join(format!("bad-{}.toml", unique()));
        std::fs::write(&file, text).unwrap();
        let out = pitwall(&["simulate", "--params", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(out.stdout.is_empty());
        String::from_utf8(out.stderr).unwrap()
    };
    let e = refused("no_answer_rate = 1.5\n");
    assert!(e.contains("invalid_input (no_answer_rate)"), "{e}");
    let e = refused("no_anwser_rate = 0.5\n");
    assert!(e.contains("invalid_input (no_anwser_rate)"), "{e}");
    let e = refused("[accept_probability]\nhigh_match = -0.1\n");
    assert!(
        e.contains("invalid_input (accept_probability.high_match)"),
        "{e}"
    );
    let e = refused("[session_minutes]\nmin = 30\nmax = 10\n");
    assert!(e.contains("invalid_input (session_minutes.max)"), "{e}");
    let e = refused("patience_minutes = \"soon\"\n");
    assert!(e.contains("invalid_input (patience_minutes)"), "{e}");
    let e = refused("this is not toml");
    assert!(e.contains("invalid_input (params)"), "{e}");

    let missing = pitwall(&["simulate", "--params", "/nonexistent/params.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    let hours = pitwall(&["simulate", "--hours", "0"]);
    assert_eq!(hours.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&hours.stderr).contains("invalid_input (hours)"));
}

#[test]
fn demo_runs_live_in_the_console_and_never_touches_the_default_database() {
    let home = tempfile::tempdir().unwrap();
    let demo = common::terminal::Terminal::start("demo", home.path(), "demo --speed 120", 120, 40);
    common::terminal::wait_for("the simulation marker", || {
        demo.capture().contains("SIMULATION ×120")
    });
    // Intakes arrive on their own: the Queues pane fills with the simulation's sessions.
    demo.keys("M-2");
    common::terminal::wait_for("simulated intakes", || {
        demo.capture().matches("sim-0000").count() >= 3
    });
    // The dispatcher still acts: he cancels the selected session (confirming with y), and the
    // day goes on around him: newer sessions keep arriving.
    let newest = || {
        demo.capture()
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("sim-"))
            .filter_map(|n| n.parse::<u32>().ok())
            .max()
            .unwrap_or(0)
    };
    let before = newest();
    demo.keys("x");
    common::terminal::wait_for("the confirmation", || {
        demo.capture().contains("Cancel session")
    });
    demo.keys("y");
    common::terminal::wait_for("more simulated intakes", || newest() >= before + 3);
    assert!(demo.capture().contains("SIMULATION ×120"));
    demo.keys("q");
    assert_eq!(demo.exit_status(), 0);
    assert!(
        !home.path().join("pitwall.db").exists(),
        "the demo made no default database"
    );
    let err = std::fs::read_to_string(home.path().join("console.err")).unwrap_or_default();
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn demo_refuses_a_database_and_needs_a_terminal() {
    let out = pitwall(&["--db", "/tmp/whatever.db", "demo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("fresh database of its own"));
    assert!(!Path::new("/tmp/whatever.db").exists());
    let out = pitwall(&["demo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a terminal"));
}

#[test]
fn the_docs_document_the_defaults_of_the_behaviour_model() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/simulation.md"))
            .unwrap();
    let from = readme.find("**The behaviour model**").expect("the section");
    let block = &readme[from..];
    let start = block.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + block[start..].find("```").unwrap();
    let documented = pitwall::sim::Params::from_toml(&block[start..end]).expect("it parses");
    assert_eq!(documented, pitwall::sim::Params::default());
}

/// The dispatcher acting in the middle of the simulation (as in the demo): between its
/// events he cancels the newest session, accepts one for whoever may take it, clocks
/// mechanics out under it. The simulation must carry on
/// without an error, and leave a database `check` accepts.
#[test]
fn the_simulation_copes_with_a_dispatcher_acting_under_it() {
    use pitwall::command::{Command, MechanicRef, SessionMechanic, SessionRef};
    use pitwall::engine::Outcome;

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("meddled.db");
    let mut engine =
        pitwall::engine::Engine::open(Some(&db), pitwall::clock::Clock::manual_default()).unwrap();
    assert!(engine.seed_if_unused(pitwall::DEMO_ROSTER).unwrap());
    let options = pitwall::sim::Options {
        hours: 6.0,
        ..pitwall::sim::Options::default()
    };
    let mut sim = pitwall::sim::Simulation::new(&mut engine, options, "sim-").unwrap();
    let (mut cancelled, mut taken, mut clocked_out, mut step) = (0, 0, 0, 0u64);
    while let Some(t) = sim.next_due() {
        let now = engine.now().timestamp();
        if t > now {
            let tick = engine
                .execute(Command::Advance(pitwall::command::Advance {
                    seconds: t - now,
                }))
                .unwrap();
            let Outcome::Tick(tick) = tick else { panic!() };
            sim.after_tick(t, &tick);
        }
        sim.step(&mut engine).expect("the simulation never fails");
        step += 1;
        // The newest session the simulation made: most likely still waiting.
        let id = format!("sim-{:06}", sim.activity.arrivals.saturating_sub(1));
        match step % 7 {
            0 => {
                let cancel = Command::Cancel(SessionRef {
                    session: id.clone(),
                });
                cancelled += usize::from(engine.execute(cancel).is_ok());
            }
            3 => {
                let who = Command::Eligibility(SessionRef {
                    session: id.clone(),
                });
                if let Ok(Outcome::Eligibility(e)) = engine.execute(who)
                    && let Some(row) = e.mechanics.iter().find(|r| r.may_take)
                {
                    let accept = Command::Accept(SessionMechanic {
                        session: id,
                        mechanic: row.mechanic.clone(),
                    });
                    taken += usize::from(engine.execute(accept).is_ok());
                }
            }
            5 if step % 5 == 0 => {
                let Outcome::Mechanics(all) = engine
                    .execute(Command::Mechanics(Default::default()))
                    .unwrap()
                else {
                    panic!()
                };
                if let Some(m) = all.mechanics.iter().find(|m| m.mechanic.currently_on_shift) {
                    let out = Command::ClockOut(MechanicRef {
                        mechanic: m.mechanic.id.clone(),
                    });
                    clocked_out += usize::from(engine.execute(out).is_ok());
                }
            }
            _ => {}
        }
    }
    assert!(
        cancelled > 5 && taken > 0 && clocked_out > 0,
        "{cancelled} {taken} {clocked_out}"
    );
    assert!(
        sim.activity.moved_on > 0,
        "the simulation met the dispatcher's actions"
    );
    assert!(sim.activity.completed > 0);
    drop(engine);
    let report = pitwall::admin::check(&db).unwrap();
    assert!(report.ok(), "{}", report.to_text());
}

/// `pitwall demo` on a weekend: the demo roster works Monday to Friday, so its day is the
/// coming Monday at 14:00 UTC, and sessions are matched within its first simulated minutes.
#[test]
fn the_demo_day_on_a_weekend_is_the_coming_monday_and_matches_at_once() {
    use chrono::{DateTime, Utc};
    let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let monday = t("2026-12-07T14:00:00Z");
    for weekend in [
        "2026-12-05T09:30:00Z", // Saturday morning
        "2026-12-05T23:59:00Z", // Saturday night
        "2026-12-06T04:18:00Z", // Sunday
    ] {
        let origin = pitwall::sim::live::demo_origin(t(weekend));
        assert_eq!(origin, monday, "{weekend}");
        let mut engine =
            pitwall::engine::Engine::open(None, pitwall::clock::Clock::Manual(origin)).unwrap();
        engine.seed_if_unused(pitwall::DEMO_ROSTER).unwrap();
        let options = pitwall::sim::Options {
            hours: 0.25,
            ..pitwall::sim::Options::default()
        };
        let day = pitwall::sim::run(&mut engine, options, &mut |_, _| {}).unwrap();
        assert!(
            day.activity.hourly[0].most_on_shift > 10,
            "{weekend}: {:?}",
            day.activity.hourly
        );
        assert!(day.report.accepts_total > 0, "{weekend}: {:?}", day.report);
    }
    // A weekday keeps its own date.
    assert_eq!(
        pitwall::sim::live::demo_origin(t("2026-12-08T22:00:00Z")),
        t("2026-12-08T14:00:00Z")
    );
}

#[test]
fn a_used_database_file_is_said_to_be_not_new_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("day.db");
    let db = db.to_str().unwrap();
    assert!(
        pitwall(&["simulate", "--db", db, "--hours", "1"])
            .status
            .success()
    );
    let again = pitwall(&["simulate", "--db", db, "--hours", "1"]);
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("is not a new database"), "{err}");
    assert!(err.contains("give a new file name"), "{err}");
    assert!(!err.contains("in use"), "{err}");
}

/// The text says each figure once (no second copy in the report's layout) and has the day
/// hour by hour, whose figures add up to the day's.
#[test]
fn simulate_says_each_figure_once_and_has_the_day_hour_by_hour() {
    let out = pitwall(&["simulate", "--hours", "4"]);
    let text = String::from_utf8(out.stdout).unwrap();
    for label in [
        "cancelled unmatched",
        "through targeted offers",
        "waitlist joined",
    ] {
        let n = text
            .lines()
            .filter(|l| l.to_lowercase().contains(label))
            .count();
        assert_eq!(n, 1, "{label} said {n} times: {text}");
    }
    assert!(!text.contains("pitwall report"), "{text}");
    assert!(text.contains("hour (UTC)"), "{text}");
    for hour in ["Mon 14:00", "Mon 15:00", "Mon 16:00", "Mon 17:00"] {
        assert!(text.contains(hour), "{hour}: {text}");
    }
    assert!(!text.contains("Mon 18:00"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let day = simulate(dir.path(), None, &["--hours", "4"]);
    let hours = day["activity"]["hourly"].as_array().unwrap();
    assert_eq!(hours.len(), 4);
    let sum = |key: &str| hours.iter().map(|h| h[key].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum("arrivals"), int(&day, "/activity/arrivals"));
    assert_eq!(
        sum("accepted_targeted") + sum("accepted_broadcast"),
        int(&day, "/report/accepts_total")
    );
    assert_eq!(sum("waitlist_joins"), int(&day, "/activity/waitlist_joins"));
    assert_eq!(sum("escalations"), int(&day, "/offers/escalations"));
}

#[test]
fn compare_explains_why_nobody_joins_the_waitlist_without_smart_matching() {
    let out = pitwall(&["simulate", "--compare", "--hours", "8"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let row = text
        .lines()
        .find(|l| l.starts_with("waitlist joined"))
        .unwrap();
    assert!(row.trim_end().ends_with("/ 0 / 0"), "{row}");
    assert!(
        text.contains("With smart matching off nothing is matched"),
        "{text}"
    );
}
