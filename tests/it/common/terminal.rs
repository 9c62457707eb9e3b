//! The real console in a real pseudo-terminal (tmux), for tests that must see what a dispatcher
//! sees: started with a command line, read by `capture`, driven by `keys`, and its exit status
//! read from a file the shell writes when it ends. The tmux session is killed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub fn tmux(args: &[&str]) -> String {
    String::from_utf8_lossy(&tmux_output(args).stdout).into_owned()
}

fn tmux_output(args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .args(args)
        .output()
        .expect("tmux is needed for this test (.ci/run installs it)")
}

/// Polls `check` every 50 ms for up to 20 s.
pub fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Terminal {
    session: String,
    exit_file: PathBuf,
}

impl Terminal {
    /// `pitwall ARGS` with `PITWALL_HOME=home`, in a `width`×`height` terminal; `name` tells
    /// tmux sessions of different tests apart. Stderr goes to `home/console.err`.
    pub fn start(name: &str, home: &Path, args: &str, width: u16, height: u16) -> Terminal {
        // Unique across the tests of one binary, which run in parallel threads of one process.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("pitwall-{name}-{}-{n}", std::process::id());
        let exit_file = home.join(format!("{name}.exit"));
        let _ = std::fs::remove_file(&exit_file);
        let command = format!(
            "PITWALL_HOME={} {} {args} 2> {}; echo $? > {}",
            home.display(),
            env!("CARGO_BIN_EXE_pitwall"),
            home.join("console.err").display(),
            exit_file.display()
        );
        let (w, h) = (width.to_string(), height.to_string());
        let args = [
            "new-session",
            "-d",
            "-s",
            &session,
            "-x",
            &w,
            "-y",
            &h,
            &command,
        ];
        // Tests start consoles in parallel, and when no tmux server runs yet, each of them
        // starts one: all but the first may fail with "server exited unexpectedly" (4
        // sessions started at once with no server: 66 of 160 failed). Tried again, the
        // server is there.
        let mut tries = 0;
        loop {
            let out = tmux_output(&args);
            if out.status.success() {
                break;
            }
            tries += 1;
            assert!(
                tries < 50,
                "tmux cannot start a session: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Terminal { session, exit_file }
    }

    pub fn capture(&self) -> String {
        tmux(&["capture-pane", "-p", "-t", &self.session])
    }

    pub fn keys(&self, keys: &str) {
        tmux(&["send-keys", "-t", &self.session, keys]);
    }

    /// Waits for the console to end and returns its exit status.
    pub fn exit_status(&self) -> i32 {
        wait_for("the console to exit", || {
            std::fs::read_to_string(&self.exit_file).is_ok_and(|s| s.ends_with('\n'))
        });
        std::fs::read_to_string(&self.exit_file)
            .unwrap()
            .trim()
            .parse()
            .expect("an exit status")
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .output();
    }
}
