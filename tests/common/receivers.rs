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

pub const SECRET: &str = "test secret, long and random enough";

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
            Some(secret) => {
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
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
}

pub struct Smtp {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<Mail>>>,
}

impl Smtp {
    /// Speaks enough SMTP (RFC 5321) for a client: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
    /// It offers no STARTTLS, so a client that wants STARTTLS when offered goes on in plain.
    pub fn start() -> Smtp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let shared = mails.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mails = shared.clone();
                std::thread::spawn(move || serve_smtp(stream, &mails));
            }
        });
        Smtp { port, mails }
    }
}

fn serve_smtp(stream: TcpStream, mails: &Mutex<Vec<Mail>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let say = |out: &mut TcpStream, line: &str| out.write_all(format!("{line}\r\n").as_bytes());
    if say(&mut out, "220 test.local ESMTP").is_err() {
        return;
    }
    let mut from = String::new();
    let mut to = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let upper = line.to_ascii_uppercase();
        let reply = if upper.starts_with("EHLO") {
            "250-test.local\r\n250-8BITMIME\r\n250 SMTPUTF8"
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            "250 OK"
        } else if upper.starts_with("MAIL FROM:") {
            from = line[10..].trim().to_string();
            to.clear();
            "250 OK"
        } else if upper.starts_with("RCPT TO:") {
            to.push(line[8..].trim().to_string());
            "250 OK"
        } else if upper.starts_with("RSET") {
            from.clear();
            to.clear();
            "250 OK"
        } else if upper.starts_with("DATA") {
            if say(&mut out, "354 go ahead").is_err() {
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
            });
            "250 queued"
        } else if upper.starts_with("QUIT") {
            let _ = say(&mut out, "221 bye");
            return;
        } else {
            "502 not implemented"
        };
        if say(&mut out, reply).is_err() {
            return;
        }
    }
}
