//! `pitwall prune --older-than DAYS [--archive FILE] [--vacuum]`: the whole prune of
//! [`crate::engine::prune`] from the command line, its archive a file, and what it did in words
//! or JSON.

use std::path::Path;

use serde::Serialize;

use crate::archive::FileArchive;
use crate::clock::Clock;
use crate::engine::Engine;
use crate::engine::prune::{ArchiveSink, PruneReport};

#[derive(Debug, Clone, Serialize)]
pub struct PruneOutcome {
    #[serde(flatten)]
    pub report: PruneReport,
    /// What `--vacuum` did, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vacuum: Option<String>,
}

/// Why a prune did not run or stopped: a coded error (SPEC §7's codes), or a database that
/// cannot be opened. Whatever committed before a failure stays (each batch is whole).
#[derive(Debug)]
pub enum PruneError {
    Refused(crate::error::DispatchError),
    Open(String),
}

impl std::fmt::Display for PruneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PruneError::Refused(e) => write!(
                f,
                "{}{}: {}",
                e.code.as_str(),
                e.field
                    .as_deref()
                    .map(|field| format!(" ({field})"))
                    .unwrap_or_default(),
                e.message
            ),
            PruneError::Open(why) => f.write_str(why),
        }
    }
}

impl From<crate::error::DispatchError> for PruneError {
    fn from(e: crate::error::DispatchError) -> Self {
        PruneError::Refused(e)
    }
}

/// Reads `--older-than` as a whole number of days; a bad one is refused before anything opens.
pub fn days(text: &str) -> Result<i64, PruneError> {
    let max = crate::engine::prune::MAX_DAYS;
    match text.trim().parse::<i64>() {
        Ok(days) if (0..=max).contains(&days) => Ok(days),
        _ => Err(PruneError::Refused(crate::error::DispatchError::invalid(
            "older_than",
            format!(
                "--older-than takes a whole number of days from 0 to {max}, not \"{}\".",
                crate::text::inert(text)
            ),
        ))),
    }
}

pub fn run(
    db: &Path,
    days: i64,
    archive: Option<&Path>,
    vacuum: bool,
    progress: &mut dyn FnMut(&PruneReport),
) -> Result<PruneOutcome, PruneError> {
    let mut sink = archive
        .map(FileArchive::new)
        .transpose()
        .map_err(|why| PruneError::Refused(crate::error::DispatchError::invalid("archive", why)))?;
    let mut engine =
        Engine::open(Some(db), Clock::System).map_err(|e| PruneError::Open(e.to_string()))?;
    let report = engine.prune(
        days,
        sink.as_mut().map(|s| s as &mut (dyn ArchiveSink + 'static)),
        progress,
    )?;
    let vacuum = if vacuum { Some(engine.vacuum()?) } else { None };
    Ok(PruneOutcome { report, vacuum })
}

impl PruneOutcome {
    pub fn to_text(&self) -> String {
        let r = &self.report;
        let n = &r.removed;
        let mut out = format!(
            "removed {} sessions that finished before {}, with their {} offers and {} waitlist \
             entries;\n{} audit events and {} messages in all (theirs, and older ones of no \
             session)\n",
            n.sessions, r.before, n.assignments, n.waitlist, n.events, n.notifications
        );
        if let Some(archive) = &r.archive {
            out.push_str(&format!(
                "archived to {archive}: {} bytes appended\n",
                r.archived_bytes
            ));
        }
        out.push_str(&format!(
            "{} write transactions; the longest held the write lock {:.1} ms\n",
            r.steps, r.longest_lock_ms
        ));
        if let Some(vacuum) = &self.vacuum {
            out.push_str(vacuum);
            out.push('\n');
        }
        out
    }
}
