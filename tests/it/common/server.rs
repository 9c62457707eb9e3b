//! The real `pitwall serve` on a free loopback port, and a real HTTP client for it. The server
//! is stopped with SIGTERM on drop (and killed if it does not stop), so tests end by themselves.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    child: Option<Child>,
    /// host:port
    pub addr: String,
    pub db: PathBuf,
    pub log: PathBuf,
}

/// A config with a rate limit high enough that only the rate test meets it.
pub const ROOMY: &str = "[serve]\nrate_per_second = 100000\nburst = 100000\n";

impl Server {
    /// `pitwall serve --db DB --listen 127.0.0.1:0` with `config` as its config file.
    pub fn start(db: &Path, config: &str) -> Server {
        Server::start_with(db, config, &[], None)
    }

    /// [`Server::start`] with environment variables, and at most `open_files` file
    /// descriptors (RLIMIT_NOFILE) when given.
    pub fn start_with(
        db: &Path,
        config: &str,
        env: &[(&str, &str)],
        open_files: Option<u64>,
    ) -> Server {
        // Beside a database file; for a server database (SPEC §15), in the temp dir under a
        // name of its own.
        let (dir, stem) = match pitwall::store::postgres_url(db) {
            Some(_) => (
                std::env::temp_dir(),
                format!("pg-{}", uuid::Uuid::new_v4().simple()),
            ),
            None => (
                db.parent().unwrap().to_path_buf(),
                db.file_stem().unwrap().to_string_lossy().into_owned(),
            ),
        };
        let config_path = dir.join(format!("serve-{stem}.toml"));
        std::fs::write(&config_path, config).unwrap();
        let log = dir.join(format!("serve-{stem}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_pitwall"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .arg("--config")
            .arg(&config_path)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        if let Some(n) = open_files {
            use std::os::unix::process::CommandExt;
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    let limit = libc::rlimit {
                        rlim_cur: n,
                        rlim_max: n,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().expect("pitwall serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("pitwall serve: listening on http://")
            .unwrap_or_else(|| {
                panic!(
                    "no address line: {line:?}; log: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_string();
        Server {
            child: Some(child),
            addr,
            db: db.to_path_buf(),
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends SIGTERM and waits for the exit status (killed after 10 s).
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `pitwall token create` on `db`; the token from stdout.
pub fn token(db: &Path, role: &str, mechanic: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitwall"));
    cmd.args(["token", "create", "--role", role, "--db"])
        .arg(db);
    if let Some(m) = mechanic {
        cmd.args(["--mechanic", m]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "the token alone on one line");
    text.trim().to_string()
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build(),
    )
}

/// An answer: status, the headers asked about, and the body as JSON.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
    pub replayed: bool,
    pub body: Value,
}

/// `POST /v1/commands` with `body` (raw text), a token and extra headers.
pub fn post_raw(
    agent: &ureq::Agent,
    server: &Server,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut req = agent.post(server.url("/v1/commands"));
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req
        .header("Content-Type", "application/json")
        .send(body)
        .expect("an HTTP answer");
    answer(&mut resp)
}

pub fn post(agent: &ureq::Agent, server: &Server, token: &str, body: &Value) -> Answer {
    post_raw(agent, server, Some(token), &[], &body.to_string())
}

pub fn get(agent: &ureq::Agent, server: &Server, token: Option<&str>, path: &str) -> Answer {
    let mut req = agent.get(server.url(path));
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req.call().expect("an HTTP answer");
    answer(&mut resp)
}

fn answer(resp: &mut ureq::http::Response<ureq::Body>) -> Answer {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    let text = resp.body_mut().read_to_string().unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {status} {text:?}"));
    Answer {
        status,
        retry_after,
        replayed,
        body,
    }
}

/// Writes `request` on a new connection (ignoring a server that stops reading early) and reads
/// the answer: its status and its body as JSON (`Null` when there is no JSON body).
pub fn raw_request(addr: &str, request: &[u8]) -> (u16, Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

/// `pitwall check` on `db` passes (the text of its report when it does not).
pub fn assert_check_passes(db: &Path) {
    let check = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .args(["check", "--db"])
        .arg(db)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

impl Server {
    /// Kills the server with SIGKILL (no chance to finish anything) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// A TCP connection to `addr` from the local address `from` (another loopback address such as
/// 127.0.0.2, so a test can be a second client next to many connections from 127.0.0.1).
pub fn connect_from(from: std::net::Ipv4Addr, addr: &str) -> std::net::TcpStream {
    use std::os::fd::FromRawFd;
    let to: std::net::SocketAddrV4 = addr.parse().unwrap();
    let sockaddr = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let local = sockaddr(from, 0);
        let rc = libc::bind(fd, (&raw const local).cast(), len);
        assert_eq!(rc, 0, "bind {from}: {}", std::io::Error::last_os_error());
        let remote = sockaddr(*to.ip(), to.port());
        let rc = libc::connect(fd, (&raw const remote).cast(), len);
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        std::net::TcpStream::from_raw_fd(fd)
    }
}

/// The resident memory of process `pid`, in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}
