//! Real servers on loopback for delivery tests, started by the test and gone with it: an HTTP
//! receiver that checks Standard Webhooks signatures, fails on purpose and counts deliveries per
//! webhook-id, and a small SMTP server that receives and parses messages.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What the webhook receiver saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Requests per webhook-id (every attempt, answered 2xx or not).
    pub attempts: HashMap<String, u32>,
    /// Requests per webhook-id answered 2xx.
    pub delivered: HashMap<String, u32>,
    /// Requests whose signature did not verify.
    pub bad_signatures: u32,
    /// Bodies of delivered requests, by id (the last one).
    pub bodies: HashMap<String, serde_json::Value>,
    /// Paths of delivered requests, by id.
    pub paths: HashMap<String, String>,
    /// ids that arrived while another request with the same id was still being handled.
    pub concurrent: Vec<String>,
    /// Every request as it arrived: its headers (names lower-cased) and body bytes.
    pub raw: Vec<(HashMap<String, String>, Vec<u8>)>,
    /// When each webhook-id was first delivered.
    pub arrived: HashMap<String, std::time::Instant>,
    in_flight: HashMap<String, u32>,
}

pub struct Webhooks {
    pub port: u16,
    pub seen: Arc<Mutex<Seen>>,
}

/// How the receiver answers.
#[derive(Clone)]
pub struct Behaviour {
    pub secret: Option<String>,
    /// Answer 500 to the first this-many attempts of every id.
    pub fail_first: u32,
    /// Answer 500 always.
    pub always_fail: bool,
    /// Time taken per request (to widen the window a second sender would hit).
    pub delay: Duration,
}

impl Default for Behaviour {
    fn default() -> Behaviour {
        Behaviour {
            secret: Some(SECRET.to_string()),
            fail_first: 0,
            always_fail: false,
            delay: Duration::ZERO,
        }
    }
}

/// A Standard Webhooks secret (`whsec_` + base64 of 24 bytes): the one of the standard's own
/// reference-library tests.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

impl Webhooks {
    pub fn start(behaviour: Behaviour) -> Webhooks {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = shared.clone();
                let b = behaviour.clone();
                std::thread::spawn(move || serve_http(stream, &b, &seen));
            }
        });
        Webhooks { port, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

fn serve_http(stream: TcpStream, b: &Behaviour, seen: &Mutex<Seen>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_string();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let id = headers.get("webhook-id").cloned().unwrap_or_default();
        let stamp = headers
            .get("webhook-timestamp")
            .cloned()
            .unwrap_or_default();
        let good_signature = match &b.secret {
            None => true,
            // As the standard says: the key is the base64 after `whsec_`, decoded.
            Some(secret) => {
                let key = base64::engine::general_purpose::STANDARD
                    .decode(secret.strip_prefix("whsec_").unwrap())
                    .unwrap();
                let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
                mac.update(format!("{id}.{stamp}.").as_bytes());
                mac.update(&body);
                let want = format!(
                    "v1,{}",
                    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
                );
                headers
                    .get("webhook-signature")
                    .is_some_and(|s| s.split(' ').any(|one| one == want))
            }
        };
        let attempt = {
            let mut s = seen.lock().unwrap();
            s.raw.push((headers.clone(), body.clone()));
            let n = s.in_flight.entry(id.clone()).or_default();
            *n += 1;
            if *n > 1 {
                s.concurrent.push(id.clone());
            }
            let a = s.attempts.entry(id.clone()).or_default();
            *a += 1;
            *a
        };
        std::thread::sleep(b.delay);
        let status = if !good_signature {
            401
        } else if b.always_fail || attempt <= b.fail_first {
            500
        } else {
            200
        };
        {
            let mut s = seen.lock().unwrap();
            *s.in_flight.get_mut(&id).unwrap() -= 1;
            if !good_signature {
                s.bad_signatures += 1;
            }
            if status == 200 {
                s.arrived
                    .entry(id.clone())
                    .or_insert_with(std::time::Instant::now);
                *s.delivered.entry(id.clone()).or_default() += 1;
                if let Ok(v) = serde_json::from_slice(&body) {
                    s.bodies.insert(id.clone(), v);
                }
                s.paths.insert(id.clone(), path.clone());
            }
        }
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// One message the SMTP server received.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub headers: HashMap<String, String>,
    pub body: String,
    /// The message exactly as sent between DATA and the final dot (dot-stuffing undone).
    pub raw: String,
    /// Whether the session was encrypted (after STARTTLS) when the message arrived.
    pub encrypted: bool,
}

/// What the SMTP server offers.
#[derive(Clone, Default)]
pub struct SmtpOptions {
    /// Offer STARTTLS with this server config (see [`crate::common::tls`]).
    pub starttls: Option<Arc<rustls::ServerConfig>>,
    /// Offer AUTH PLAIN / LOGIN (and accept any credentials).
    pub auth: bool,
}

pub struct Smtp {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
    /// Every line a client sent, in order, prefixed `plain: ` or `tls: ` by how it travelled
    /// (message data excluded): what an eavesdropper on the wire could read is the `plain:` part.
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Smtp {
    /// Speaks enough SMTP (RFC 5321) for a client: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
    /// It offers no STARTTLS, so a client that wants STARTTLS when offered goes on in plain.
    pub fn start() -> Smtp {
        Smtp::start_with(SmtpOptions::default())
    }

    /// The same, offering STARTTLS and AUTH as `options` say.
    pub fn start_with(options: SmtpOptions) -> Smtp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (shared_mails, shared_lines) = (mails.clone(), lines.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (mails, lines, options) =
                    (shared_mails.clone(), shared_lines.clone(), options.clone());
                std::thread::spawn(move || serve_smtp(stream, &options, &mails, &lines));
            }
        });
        Smtp { port, mails, lines }
    }

    /// The lines that travelled unencrypted.
    pub fn plain_lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_prefix("plain: ").map(str::to_string))
            .collect()
    }
}

/// A connection before or after STARTTLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

fn serve_smtp(
    stream: TcpStream,
    options: &SmtpOptions,
    mails: &Mutex<Vec<Mail>>,
    lines: &Mutex<Vec<String>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(Conn::Plain(stream));
    let say = |reader: &mut BufReader<Conn>, line: &str| {
        let out = reader.get_mut();
        out.write_all(format!("{line}\r\n").as_bytes())
            .and_then(|()| out.flush())
    };
    if say(&mut reader, "220 test.local ESMTP").is_err() {
        return;
    }
    let mut from = String::new();
    let mut to = Vec::new();
    loop {
        let encrypted = matches!(reader.get_ref(), Conn::Tls(_));
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let how = if encrypted { "tls" } else { "plain" };
        lines
            .lock()
            .unwrap()
            .push(format!("{how}: {}", line.trim_end()));
        let upper = line.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            let mut ehlo = vec!["250-test.local", "250-8BITMIME"];
            if options.starttls.is_some() && !encrypted {
                ehlo.push("250-STARTTLS");
            }
            if options.auth {
                ehlo.push("250-AUTH PLAIN LOGIN");
            }
            ehlo.push("250 SMTPUTF8");
            ehlo.join("\r\n")
        } else if upper.starts_with("STARTTLS") && !encrypted {
            let Some(config) = options.starttls.clone() else {
                let _ = say(&mut reader, "502 not offered");
                continue;
            };
            if say(&mut reader, "220 go ahead").is_err() {
                return;
            }
            let Conn::Plain(tcp) = reader.into_inner() else {
                return;
            };
            let tls = rustls::ServerConnection::new(config).unwrap();
            reader = BufReader::new(Conn::Tls(Box::new(rustls::StreamOwned::new(tls, tcp))));
            from.clear();
            to.clear();
            continue;
        } else if upper.starts_with("AUTH") && options.auth {
            // PLAIN with its initial response on the line, or LOGIN / PLAIN asked for in turns.
            let prompts: &[&str] = if upper.starts_with("AUTH LOGIN") {
                &["334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6"]
            } else if line.split_whitespace().count() < 3 {
                &["334 "]
            } else {
                &[]
            };
            for prompt in prompts {
                let mut answer = String::new();
                if say(&mut reader, prompt).is_err()
                    || reader.read_line(&mut answer).unwrap_or(0) == 0
                {
                    return;
                }
                lines
                    .lock()
                    .unwrap()
                    .push(format!("{how}: {}", answer.trim_end()));
            }
            "235 authenticated".to_string()
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            "250 OK".to_string()
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_string();
            to.clear();
            "250 OK".to_string()
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_string());
            "250 OK".to_string()
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            "250 OK".to_string()
        } else if upper.starts_with("DATA") {
            if say(&mut reader, "354 go ahead").is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                let mut l = String::new();
                if reader.read_line(&mut l).unwrap_or(0) == 0 {
                    return;
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(&l));
            }
            let (head, body) = data.split_once("\r\n\r\n").unwrap_or((&data, ""));
            let mut headers = HashMap::new();
            let mut last: Option<String> = None;
            for l in head.split("\r\n") {
                if l.starts_with(' ') || l.starts_with('\t') {
                    if let Some(k) = &last {
                        headers
                            .entry(k.clone())
                            .and_modify(|v: &mut String| v.push_str(l.trim_start()));
                    }
                } else if let Some((k, v)) = l.split_once(':') {
                    let k = k.trim().to_ascii_lowercase();
                    headers.insert(k.clone(), v.trim().to_string());
                    last = Some(k);
                }
            }
            mails.lock().unwrap().push(Mail {
                from: from.clone(),
                to: to.clone(),
                headers,
                body: body.to_string(),
                raw: data.clone(),
                encrypted,
            });
            "250 queued".to_string()
        } else if upper.starts_with("QUIT") {
            let _ = say(&mut reader, "221 bye");
            return;
        } else {
            "502 not implemented".to_string()
        };
        if say(&mut reader, &reply).is_err() {
            return;
        }
    }
}
