//! Where pitwall keeps its files: the user's data directory (XDG on Linux), overridable with
//! `PITWALL_HOME` for tests and for running several consoles side by side.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub database: PathBuf,
    /// The config file when `--config` is not given (SPEC §11, §12).
    pub config: PathBuf,
    pub log_dir: PathBuf,
}

impl Paths {
    pub fn discover() -> Paths {
        let data_dir = std::env::var_os("PITWALL_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                directories::ProjectDirs::from("", "", "pitwall")
                    .map(|d| d.data_dir().to_path_buf())
            })
            .unwrap_or_else(|| PathBuf::from(".pitwall"));
        Paths {
            database: data_dir.join("pitwall.db"),
            config: data_dir.join("pitwall.toml"),
            log_dir: data_dir.join("logs"),
            data_dir,
        }
    }

    /// `config` is the config file in use: `--config`, or the default.
    pub fn describe(&self, version: &str, config: &std::path::Path) -> String {
        let missing = if config.exists() {
            ""
        } else {
            " (not there: no delivery transports)"
        };
        format!(
            "pitwall {version}\ndata:     {}\ndatabase: {}\nconfig:   {}{missing}\nlogs:     {}\n",
            self.data_dir.display(),
            self.database.display(),
            config.display(),
            self.log_dir.display()
        )
    }
}

impl Paths {
    /// The data and log directories, readable by their owner only: they hold customer data.
    pub fn create_private_dirs(&self) -> std::io::Result<()> {
        for dir in [&self.data_dir, &self.log_dir] {
            std::fs::create_dir_all(dir)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
            }
        }
        Ok(())
    }
}

/// Logs to `pitwall.log.YYYY-MM-DD` in `dir`, at info level unless `PITWALL_LOG` says otherwise
/// (e.g. `debug`). The guard flushes the log when dropped; keep it alive while the app runs.
pub fn start_file_logging(
    dir: &std::path::Path,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let appender = tracing_appender::rolling::daily(dir, "pitwall.log");
    restrict_logs(dir);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let level = std::env::var("PITWALL_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_max_level(level)
        .try_init()
        .ok()?;
    Some(guard)
}

/// Log files readable by their owner only (the directory already is). The appender creates
/// files with the default mode, so tighten any that exist when logging starts.
fn restrict_logs(dir: &std::path::Path) {
    #[cfg(unix)]
    if let Ok(entries) = std::fs::read_dir(dir) {
        use std::os::unix::fs::PermissionsExt;
        for entry in entries.flatten() {
            let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600));
        }
    }
}
