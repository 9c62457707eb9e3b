//! The password of a connection whose URL has none, from where libpq and psql look (SPEC §15):
//! `PGPASSWORD`, then the password file (`PGPASSFILE`, or `~/.pgpass`). So an operator can keep
//! the password out of the URL, and so out of a process list.

use std::path::{Path, PathBuf};

use postgres::Config;
use postgres::config::Host;

/// Fills in `config`'s password when the URL gave none and the environment or the password
/// file has one for this host, port, database and user.
pub fn fill_password(config: &mut Config) {
    if config.get_password().is_some() {
        return;
    }
    let found = std::env::var("PGPASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .or_else(|| {
            let file = password_file()?;
            let key = Key::of(config)?;
            from_password_file(&file, &key)
        });
    if let Some(password) = found {
        config.password(password);
    }
}

/// `PGPASSFILE`, or `.pgpass` in the home directory.
fn password_file() -> Option<PathBuf> {
    match std::env::var_os("PGPASSFILE") {
        Some(file) if !file.is_empty() => Some(PathBuf::from(file)),
        _ => std::env::var_os("HOME").map(|home| Path::new(&home).join(".pgpass")),
    }
}

/// What a password file's line is matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub host: String,
    pub port: String,
    pub database: String,
    pub user: String,
}

impl Key {
    /// The first host of `config` (a socket directory counts as `localhost`, as for libpq), its
    /// port (5432 by default), its database (the user's name by default) and its user.
    fn of(config: &Config) -> Option<Key> {
        let user = config.get_user()?.to_string();
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(name)) => name.clone(),
            _ => "localhost".to_string(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        Some(Key {
            host,
            port: port.to_string(),
            database: config.get_dbname().unwrap_or(&user).to_string(),
            user,
        })
    }
}

/// The password of the first line of the file at `path` that matches `key`. A file others may
/// read is ignored, as libpq ignores it: a password there is no secret.
fn from_password_file(path: &Path, key: &Key) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                "password file ignored: its group or others may read it (chmod 600 it)"
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(path).ok()?;
    password_for(&text, key)
}

/// A password file's answer for `key`: lines of `host:port:database:user:password`, where `*`
/// matches anything, `\:` and `\\` stand for `:` and `\`, and `#` starts a comment line.
pub fn password_for(text: &str, key: &Key) -> Option<String> {
    let wanted = [&key.host, &key.port, &key.database, &key.user];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(fields)
        .find(|fields| {
            fields[..4]
                .iter()
                .zip(wanted)
                .all(|(field, wanted)| field == "*" || field == wanted)
        })
        .map(|mut fields| fields.swap_remove(4))
}

/// The five fields of a line, unescaped; `None` for a line that has fewer.
fn fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.push(chars.next().unwrap_or('\\')),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    (fields.len() == 5).then_some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(host: &str, port: &str, database: &str, user: &str) -> Key {
        Key {
            host: host.into(),
            port: port.into(),
            database: database.into(),
            user: user.into(),
        }
    }

    #[test]
    fn the_first_matching_line_gives_the_password() {
        let file = "# a comment\n\
                    db.example:5432:other:ann:wrong\n\
                    db.example:*:pitwall:ann:s3cr\\:et\\\\x\n\
                    *:*:*:*:fallback\n";
        assert_eq!(
            password_for(file, &key("db.example", "5433", "pitwall", "ann")).as_deref(),
            Some("s3cr:et\\x")
        );
        assert_eq!(
            password_for(file, &key("elsewhere", "5432", "x", "bo")).as_deref(),
            Some("fallback")
        );
        assert_eq!(
            password_for(
                "db:5432:pitwall:ann\n",
                &key("db", "5432", "pitwall", "ann")
            ),
            None,
            "a line without a password field matches nothing"
        );
    }

    #[test]
    fn a_url_without_a_password_takes_the_files_for_its_host_port_database_and_user() {
        let config: Config = "postgres://ann@db.example:6543/pitwall".parse().unwrap();
        assert_eq!(
            Key::of(&config),
            Some(key("db.example", "6543", "pitwall", "ann"))
        );
        let config: Config = "postgres://ann@%2Frun%2Fpg".parse().unwrap();
        assert_eq!(
            Key::of(&config),
            Some(key("localhost", "5432", "ann", "ann"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_password_file_others_may_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:pw\n").unwrap();
        let wanted = key("h", "5432", "d", "u");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(from_password_file(&path, &wanted), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(from_password_file(&path, &wanted).as_deref(), Some("pw"));
    }
}
