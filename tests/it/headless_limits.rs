//! A 10 MB line is one clean `parse_error`, read without being held in memory, and the run goes
//! on with the next command.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

#[test]
fn a_ten_megabyte_line_is_refused_and_the_next_command_runs() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pitwall"))
        .arg("headless")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        stdin.write_all(br#"{"cmd":"intake","concern":""#).unwrap();
        for _ in 0..10 {
            stdin.write_all(&chunk).unwrap();
        }
        stdin.write_all(b"\"}\n{\"cmd\":\"now\"}\n").unwrap();
    });
    let lines: Vec<serde_json::Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    writer.join().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["error"]["code"], "parse_error");
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit")
    );
    assert_eq!(lines[1]["ok"], true);
    assert_eq!(status.code(), Some(1));
}
