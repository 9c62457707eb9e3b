//! Real `pitwall headless` processes on one database file, started together.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// Runs one headless process per script on `db`, all at the same time: each is started and
/// answers a first `now` (it has opened the database) before any gets its script — a barrier,
/// so they really contend. Every process gets a writer and a reader thread, so no pipe can fill
/// up and stall it. Returns each script's responses; a process writing to stderr fails the test.
pub fn run_together(db: &Path, scripts: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let mut children: Vec<_> = scripts
        .iter()
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_pitwall"))
                .args(["headless", "--clock", "manual", "--db"])
                .arg(db)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start pitwall")
        })
        .collect();
    let mut pipes = Vec::new();
    for child in &mut children {
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{}", json!({"cmd": "now"})).expect("write");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        reader.read_line(&mut first).expect("read");
        assert!(first.contains("\"ok\":true"), "{first}");
        pipes.push((stdin, reader));
    }
    let handles: Vec<_> = pipes
        .into_iter()
        .zip(scripts)
        .map(|((mut stdin, reader), script)| {
            let text: String = script.iter().map(|line| format!("{line}\n")).collect();
            let writer =
                std::thread::spawn(move || stdin.write_all(text.as_bytes()).expect("write"));
            let reader = std::thread::spawn(move || -> Vec<Value> {
                reader
                    .lines()
                    .map(|l| serde_json::from_str(&l.expect("read")).expect("JSON"))
                    .collect()
            });
            (writer, reader)
        })
        .collect();
    let outputs = handles
        .into_iter()
        .map(|(writer, reader)| {
            writer.join().expect("writer");
            reader.join().expect("reader")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("exit");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    outputs
}
