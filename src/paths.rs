//! Where pitwall keeps its files: the user's data directory (XDG on Linux), overridable with
//! `PITWALL_HOME` for tests and for running several consoles side by side.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub database: PathBuf,
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
            log_dir: data_dir.join("logs"),
            data_dir,
        }
    }

    pub fn describe(&self, version: &str) -> String {
        format!(
            "pitwall {version}\ndata:     {}\ndatabase: {}\nlogs:     {}\n",
            self.data_dir.display(),
            self.database.display(),
            self.log_dir.display()
        )
    }
}
