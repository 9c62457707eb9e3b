//! What only a database *file* has: opening one read-only for `check`, and the online backup
//! (SQLite's backup API, safe while consoles are running).

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use super::Db;

/// Opens an existing database file read-only; a path that cannot be one is named in words a
/// user acts on (SPEC §11).
pub fn open_read_only(path: &Path) -> Result<Db, String> {
    if super::postgres_url(path).is_some() {
        // A server database: `check` only reads it, in one read-only transaction.
        return super::open(Some(path)).map_err(|e| e.to_string());
    }
    let label = path.display();
    if let Some(why) = super::path_problem(path, false) {
        return Err(format!("cannot open database {label}: {why}"));
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open database {label}: {e}"))?;
    conn.busy_timeout(super::busy_timeout())
        .map_err(|e| e.to_string())?;
    Ok(Db::Sqlite(conn))
}

/// Copies a live database to `dest` (which must not exist yet) in one consistent step.
pub fn backup(source: &Path, dest: &Path) -> Result<(), String> {
    if dest.exists() {
        return Err(format!(
            "{} already exists; choose a new file",
            dest.display()
        ));
    }
    if let Some(why) = super::path_problem(dest, true) {
        return Err(format!(
            "cannot write the backup to {}: {why}",
            dest.display()
        ));
    }
    let src = open_read_only(source)?;
    let Some(src) = src.sqlite() else {
        return Err(format!(
            "{} is not a database file; only a file can be copied this way",
            super::describe(source)
        ));
    };
    // A copy of someone else's file is not a pitwall backup; say so rather than copy it.
    if let Err(e) = super::inspect(src, &source.display().to_string()) {
        return Err(e.to_string());
    }
    super::create_private(dest);
    let result = (|| -> Result<(), String> {
        let mut dst =
            Connection::open(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
        let backup = Backup::new(src, &mut dst).map_err(|e| e.to_string())?;
        // All pages in one step: the copy is one snapshot of the source. Busy or locked means a
        // writer holds the file for a moment; wait and try again.
        for _ in 0..100 {
            match backup.step(-1).map_err(|e| e.to_string())? {
                StepResult::Done => return Ok(()),
                StepResult::More | StepResult::Busy | StepResult::Locked => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        Err("the database stayed busy; try again".into())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}
