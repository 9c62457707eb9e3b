//! The real binary in a real pseudo-terminal (tmux): it starts on a fresh data directory,
//! creates the database with the demo roster, draws the console, and quits cleanly on `q`.

use crate::common;

use common::terminal::Terminal;
use std::path::Path;

#[test]
fn console_starts_draws_and_quits_cleanly() {
    let home = tempfile::tempdir().unwrap();
    let console = Terminal::start("smoke", home.path(), "", 100, 30);
    let capture = || console.capture();
    common::terminal::wait_for("the console to draw", || capture().contains("Live preview"));
    let screen = capture();
    assert!(
        screen.contains("1 Intake") && screen.contains(" 6"),
        "{screen}"
    );
    assert!(
        screen.contains("on shift 20"),
        "demo roster loaded: {screen}"
    );

    console.keys("C-c");
    assert_eq!(console.exit_status(), 0);

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
