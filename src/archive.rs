//! A prune's archive file (`pitwall prune --archive FILE`, `[retention] archive`): one JSON line
//! per removed session, appended and made durable before the deletion commits. The database
//! records how long the file is after each committed batch; before appending, the file is cut
//! back to that length, so lines of a batch whose deletion never committed (a crash between
//! the two) never stay in it.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::engine::prune::ArchiveSink;

/// The failpoint tests use to stop the process (SIGKILL, as a crash) between an archive's sync
/// and the commit of its deletion: `PITWALL_FAILPOINT=prune-archive-synced` at the first batch,
/// `prune-archive-synced@N` at the Nth.
const FAILPOINT: &str = "prune-archive-synced";

/// Batches appended by this process, for the failpoint's count.
static APPENDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn failpoint_reached() -> bool {
    let n = APPENDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let Some(point) = std::env::var_os("PITWALL_FAILPOINT") else {
        return false;
    };
    let point = point.to_string_lossy();
    match point.split_once('@') {
        Some((name, at)) => name == FAILPOINT && at.parse() == Ok(n),
        None => point == FAILPOINT && n == 1,
    }
}

pub struct FileArchive {
    path: PathBuf,
    key: String,
}

impl FileArchive {
    /// An archive at `path` (which need not exist yet; its directory must). The same file named
    /// two ways (relative, absolute, through a link to its directory) is one archive.
    pub fn new(path: &Path) -> Result<FileArchive, String> {
        let shown = path.display();
        if path.is_dir() {
            return Err(format!("archive {shown} is a directory; name a file"));
        }
        let name = path
            .file_name()
            .ok_or_else(|| format!("archive {shown} names no file"))?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = parent
            .canonicalize()
            .map_err(|e| format!("archive {shown}: the directory {}: {e}", parent.display()))?;
        let full = dir.join(name);
        Ok(FileArchive {
            key: format!("prune_archive:{}", full.display()),
            path: full,
        })
    }
}

impl ArchiveSink for FileArchive {
    fn key(&self) -> &str {
        &self.key
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn size(&mut self) -> Result<Option<u64>, String> {
        match std::fs::metadata(&self.path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", self.path.display())),
        }
    }

    fn append(&mut self, committed: u64, lines: &[u8]) -> Result<u64, String> {
        let fail = |e: std::io::Error| format!("{}: {e}", self.path.display());
        let created = !self.path.exists();
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true);
        #[cfg(unix)]
        {
            // Customers' names and addresses: readable by the owner only, like the database.
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&self.path).map_err(fail)?;
        let len = file.metadata().map_err(fail)?.len();
        if len < committed {
            return Err(format!(
                "{} holds {len} bytes, fewer than the {committed} this database recorded \
                 writing to it: it was cut short or replaced while pitwall ran",
                self.path.display()
            ));
        }
        if len > committed {
            // A batch whose deletion never committed: its sessions are still in the database
            // and are archived again now.
            file.set_len(committed).map_err(fail)?;
        }
        file.seek(SeekFrom::Start(committed)).map_err(fail)?;
        file.write_all(lines).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        if created && let Some(dir) = self.path.parent() {
            // The new file's name must survive a power cut too.
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(fail)?;
        }
        if failpoint_reached() {
            crash();
        }
        Ok(committed + lines.len() as u64)
    }
}

/// Ends the process at once, as a power cut or `kill -9` would: no destructors, no rollback.
fn crash() -> ! {
    #[cfg(unix)]
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort()
}

/// The `[retention]` setting as the engine applies it (`None`: off).
pub fn retention(
    config: &crate::delivery::config::Retention,
) -> Result<Option<crate::engine::prune::Retention>, String> {
    let Some(days) = config.days else {
        return Ok(None);
    };
    let archive: Option<Box<dyn ArchiveSink>> = match &config.archive {
        Some(path) => Some(Box::new(
            FileArchive::new(path).map_err(|e| format!("retention.archive: {e}"))?,
        )),
        None => None,
    };
    Ok(Some(crate::engine::prune::Retention::new(days, archive)))
}
