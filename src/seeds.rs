//! Seed files (`load_seeds`, SPEC §8) are read here, by the front ends, never by the engine:
//! the engine is handed their text. Headless mode (and the tests that speak its protocol) run
//! every command through [`read_named_files`] first; the HTTP API refuses `load_seeds` to every
//! role (no server file paths over the network), and the console never sends it.

use crate::command::Command;
use crate::error::{DispatchError, DispatchResult, ErrorCode};

/// Largest seed file read, so a wrong path cannot make pitwall swallow a huge file.
pub const MAX_SEED_BYTES: u64 = 64 << 20;

/// The command with the file it names read: `load_seeds` gets its file's text (read with a
/// size bound and without waiting: a device, a pipe, or a file that reports itself regular but
/// never ends, such as `/proc/kmsg`, is refused, never hung on: SPEC §7). Any other command is
/// returned as it is.
pub fn read_named_files(command: Command) -> DispatchResult<Command> {
    match command {
        Command::LoadSeeds(mut req) if req.contents.is_none() => {
            req.contents = Some(read_file(&req.path)?);
            Ok(Command::LoadSeeds(req))
        }
        other => Ok(other),
    }
}

/// The text of a seed file, at most [`MAX_SEED_BYTES`], read without blocking.
pub fn read_file(path: &str) -> DispatchResult<String> {
    use std::io::Read;
    let shown = crate::text::inert(path);
    let cannot = |e: std::io::Error| {
        DispatchError::new(
            ErrorCode::NotFound,
            format!("Cannot read seed file {shown}: {e}."),
        )
        .with_field("path")
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Non-blocking: opening a FIFO does not wait for a writer, and a file that has no more to
    // give yet answers "would block" instead of holding the command (and the database) forever.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(cannot)?;
    // Only regular files, judged on the file opened (not the path, which could change between).
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(DispatchError::invalid(
            "path",
            format!("{shown} is not a regular file."),
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SEED_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::WouldBlock {
                "it did not end (a file that is still being written, or never ends)".to_string()
            } else {
                e.to_string()
            };
            DispatchError::invalid("path", format!("Cannot read seed file {shown}: {why}."))
        })?;
    if bytes.len() as u64 > MAX_SEED_BYTES {
        return Err(DispatchError::invalid(
            "path",
            format!("The seed file is larger than the {MAX_SEED_BYTES}-byte limit."),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        DispatchError::invalid("path", format!("The seed file {shown} is not UTF-8 text."))
    })
}
