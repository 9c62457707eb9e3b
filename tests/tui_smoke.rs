//! The real binary in a real pseudo-terminal (tmux): it starts on a fresh data directory,
//! creates the database with the demo roster, draws the console, and quits cleanly on `q`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is needed for this test (.ci/run installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn console_starts_draws_and_quits_cleanly() {
    let home = tempfile::tempdir().unwrap();
    let session = format!("pitwall-smoke-{}", std::process::id());
    let exit_file = home.path().join("exit");
    let command = format!(
        "PITWALL_HOME={} {}; echo $? > {}",
        home.path().display(),
        env!("CARGO_BIN_EXE_pitwall"),
        exit_file.display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "30",
        &command,
    ]);
    let capture = || tmux(&["capture-pane", "-p", "-t", &session]);
    wait_for("the console to draw", || capture().contains("Live preview"));
    let screen = capture();
    assert!(
        screen.contains("1 Intake") && screen.contains("5 Metrics"),
        "{screen}"
    );
    assert!(
        screen.contains("on shift 20") || screen.contains("●20"),
        "demo roster loaded: {screen}"
    );

    tmux(&["send-keys", "-t", &session, "q"]);
    wait_for("the console to exit", || {
        exit_file.exists() && !std::fs::read_to_string(&exit_file).unwrap().is_empty()
    });
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .output();
    assert_eq!(std::fs::read_to_string(&exit_file).unwrap().trim(), "0");

    let db = home.path().join("pitwall.db");
    assert!(db.exists(), "database created on first run");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM mechanics", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 44);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the database is readable by its owner only");
        let logs = home.path().join("logs");
        assert!(Path::new(&logs).is_dir());
        let dir_mode = std::fs::metadata(&logs).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700, "the log directory is private");
        let files: Vec<_> = std::fs::read_dir(&logs).unwrap().flatten().collect();
        assert!(!files.is_empty(), "the console logged its start");
        for file in files {
            let mode = file.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(
                mode,
                0o600,
                "{:?} is readable by its owner only",
                file.path()
            );
            let text = std::fs::read_to_string(file.path()).unwrap();
            assert!(text.contains("demo roster"), "{text}");
        }
    }
}
