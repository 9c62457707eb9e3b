//! A check of each request's framing before hyper sees it. hyper answers a head it cannot parse
//! with an empty, non-JSON 400, and takes a request with both `Content-Length` and
//! `Transfer-Encoding` as chunked (dropping the length); RFC 9112 §6.1 lets a server refuse that
//! pair instead, and it is how requests are smuggled past proxies. So each connection's bytes
//! pass through [`Framed`]: every request head is held until it is whole and parsed; a bad one
//! is answered here with the coded JSON 400 every other refusal has, and the connection ends.
//! Bodies pass through as they come, counted (by length, or chunk by chunk) only to know where
//! the next head starts.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Longest request head accepted (hyper's own default allows about this much).
const MAX_HEAD: usize = 64 * 1024;
/// Header fields in one head at most (hyper's limit).
const MAX_HEADERS: usize = 100;

/// Where the connection's bytes are in the HTTP/1.1 message framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a whole request head.
    Head,
    /// This many body bytes follow.
    Fixed(u64),
    /// A chunk-size line is next.
    ChunkSize,
    /// This many bytes of chunk data and its CRLF follow.
    ChunkData(u64),
    /// After the last chunk: trailer fields up to an empty line.
    Trailers,
    /// A bad head was met: nothing more is passed on.
    Refused,
}

/// A TCP stream whose request framing is checked before hyper reads it.
pub struct Framed {
    inner: TcpStream,
    /// Read from the socket, not yet handed to hyper.
    held: Vec<u8>,
    /// How much of `held` is checked and may be handed on.
    ready: usize,
    phase: Phase,
    /// Running from the first byte of a head until it is whole: a client that never finishes
    /// one is cut off, as hyper's own header timeout would (it never sees a partial head now).
    head_deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    head_timeout: Duration,
    /// The refusal still to be written, before the connection reads as ended.
    refusal: Option<Vec<u8>>,
}

impl Framed {
    pub fn new(inner: TcpStream, head_timeout: Duration) -> Framed {
        Framed {
            inner,
            held: Vec::new(),
            ready: 0,
            phase: Phase::Head,
            head_deadline: None,
            head_timeout,
            refusal: None,
        }
    }

    /// Moves `ready` over every byte whose place in the framing is known.
    fn advance(&mut self) {
        loop {
            let rest = &self.held[self.ready..];
            if rest.is_empty() {
                return;
            }
            match self.phase {
                Phase::Refused => return,
                Phase::Head => match check_head(rest) {
                    Head::Incomplete => return,
                    Head::Bad(why) => {
                        self.refuse(why);
                        return;
                    }
                    Head::Whole { len, body } => {
                        self.ready += len;
                        self.head_deadline = None;
                        self.phase = body;
                    }
                },
                Phase::Fixed(n) => {
                    let take = n.min(rest.len() as u64);
                    self.ready += take as usize;
                    self.phase = match n - take {
                        0 => Phase::Head,
                        left => Phase::Fixed(left),
                    };
                }
                Phase::ChunkData(n) => {
                    let take = n.min(rest.len() as u64);
                    self.ready += take as usize;
                    self.phase = match n - take {
                        0 => Phase::ChunkSize,
                        left => Phase::ChunkData(left),
                    };
                }
                Phase::ChunkSize => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((used, 0))) => {
                        self.ready += used;
                        self.phase = Phase::Trailers;
                    }
                    Ok(httparse::Status::Complete((used, size))) => {
                        self.ready += used;
                        self.phase = Phase::ChunkData(size.saturating_add(2));
                    }
                    // hyper refuses a bad chunk itself, mid-body, where a 400 may no longer
                    // be sent: pass it on and let it.
                    Ok(httparse::Status::Partial) if rest.len() < 1024 => return,
                    _ => {
                        self.ready = self.held.len();
                        self.phase = Phase::Refused;
                        return;
                    }
                },
                Phase::Trailers => {
                    if rest.starts_with(b"\r\n") {
                        self.ready += 2;
                        self.phase = Phase::Head;
                    } else if let Some(end) = find(rest, b"\r\n\r\n") {
                        self.ready += end + 4;
                        self.phase = Phase::Head;
                    } else {
                        return;
                    }
                }
            }
        }
    }

    fn refuse(&mut self, why: &str) {
        tracing::debug!(why, "request refused before hyper: bad framing");
        self.phase = Phase::Refused;
        self.refusal = Some(bad_request(why));
        self.held.truncate(self.ready);
    }
}

enum Head {
    Incomplete,
    Bad(&'static str),
    Whole { len: usize, body: Phase },
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request head at the start of `bytes`.
fn check_head(bytes: &[u8]) -> Head {
    // Empty lines before a request line are allowed (RFC 9112 §2.2).
    let skipped = bytes
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    let Some(end) = find(&bytes[skipped..], b"\r\n\r\n") else {
        return if bytes.len() > MAX_HEAD {
            Head::Bad("The request head is over 64 KiB.")
        } else {
            Head::Incomplete
        };
    };
    let len = skipped + end + 4;
    if len > MAX_HEAD {
        return Head::Bad("The request head is over 64 KiB.");
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(&bytes[skipped..len]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) | Err(_) => {
            return Head::Bad("The request could not be read as HTTP/1.1.");
        }
    }
    let mut length = None;
    let mut chunked = false;
    for h in request.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let Some(n) = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
            else {
                return Head::Bad("Content-Length is not a number.");
            };
            if length.is_some_and(|l| l != n) {
                return Head::Bad("Two different Content-Length values.");
            }
            length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = h.value.rsplit(|b| *b == b',').next().unwrap_or_default();
            if !last.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                return Head::Bad("A request's Transfer-Encoding must end with chunked.");
            }
            chunked = true;
        }
    }
    let body = match (length, chunked) {
        (Some(_), true) => {
            return Head::Bad(
                "A request may give Content-Length or Transfer-Encoding, not both (RFC 9112 §6.1).",
            );
        }
        (_, true) => Phase::ChunkSize,
        (Some(0) | None, false) => Phase::Head,
        (Some(n), false) => Phase::Fixed(n),
    };
    Head::Whole { len, body }
}

/// The coded JSON 400 for a request refused here, closing the connection.
fn bad_request(why: &str) -> Vec<u8> {
    let body = crate::headless::failure(
        None,
        &crate::error::DispatchError::new(crate::error::ErrorCode::ParseError, why),
    );
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl AsyncRead for Framed {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.ready > 0 {
                let n = this.ready.min(buf.remaining());
                buf.put_slice(&this.held[..n]);
                this.held.drain(..n);
                this.ready -= n;
                return Poll::Ready(Ok(()));
            }
            if this.phase == Phase::Refused {
                if let Some(refusal) = this.refusal.take() {
                    // Small, on a socket with nothing else to send: it goes at once or the
                    // client is gone.
                    let _ = this.inner.try_write(&refusal);
                }
                return Poll::Ready(Ok(())); // the end, as hyper reads it
            }
            if this.phase == Phase::Head && !this.held.is_empty() {
                let timeout = this.head_timeout;
                let deadline = this
                    .head_deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "request head not finished in time",
                    )));
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            let got = read.filled();
            if got.is_empty() {
                // The client finished sending; whatever is held is all there will be.
                if this.held.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                this.ready = this.held.len();
                continue;
            }
            this.held.extend_from_slice(got);
            this.advance();
        }
    }
}

impl AsyncWrite for Framed {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase_after(bytes: &[u8]) -> Head {
        check_head(bytes)
    }

    #[test]
    fn heads_are_read_whole_and_bad_ones_refused() {
        assert!(matches!(
            phase_after(b"GET / HTTP/1.1\r\nHost: x\r\n"),
            Head::Incomplete
        ));
        assert!(matches!(
            phase_after(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            Head::Whole {
                len: 27,
                body: Phase::Head
            }
        ));
        assert!(matches!(
            phase_after(b"\r\nPOST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
            Head::Whole {
                len: 40,
                body: Phase::Fixed(5)
            }
        ));
        assert!(matches!(
            phase_after(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Head::Whole {
                body: Phase::ChunkSize,
                ..
            }
        ));
        assert!(matches!(
            phase_after(
                b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            Head::Bad(_)
        ));
        assert!(matches!(
            phase_after(b"GET / HTTP/1.1\r\nNo colon\r\n\r\n"),
            Head::Bad(_)
        ));
        assert!(matches!(
            phase_after(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            Head::Bad(_)
        ));
    }
}
