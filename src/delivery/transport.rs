//! The ways a message leaves (SPEC §12): SMTP, a signed webhook, a local command. Each call is
//! bounded by [`SEND_TIMEOUT`] and answers delivered or a one-line reason; none touches the
//! database.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use lettre::Transport as _;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use sha2::Sha256;

use super::config::{ChannelConfig, SEND_TIMEOUT, Secret};
use crate::model::Notification;

/// The row as receivers see it: the JSON body of a webhook, the stdin of a command.
pub fn payload(n: &Notification) -> String {
    serde_json::json!({
        "id": n.id,
        "kind": n.kind,
        "channel": n.channel,
        "recipient": n.recipient,
        "subject": n.subject,
        "body": n.body,
        "session": n.session,
        "created_at": crate::clock::rfc3339(n.created_at),
    })
    .to_string()
}

/// Standard Webhooks' signature: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let tag = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(tag)
    )
}

pub enum Transport {
    Smtp {
        mailer: Box<lettre::SmtpTransport>,
        from: lettre::message::Mailbox,
    },
    Webhook {
        agent: ureq::Agent,
        url: String,
        secret: Option<Secret>,
    },
    Command {
        argv: Vec<String>,
    },
}

impl Transport {
    /// The transport a checked channel config describes.
    pub fn new(c: &ChannelConfig, secret: Option<&Secret>) -> Result<Transport, String> {
        if let Some(smtp) = &c.smtp {
            let url = SmtpUrl::parse(smtp.expose())?;
            let from = c
                .from
                .as_deref()
                .unwrap_or_default()
                .parse()
                .map_err(|_| "from is not a mail address".to_string())?;
            return Ok(Transport::Smtp {
                mailer: Box::new(url.mailer()?),
                from,
            });
        }
        if let Some(url) = &c.webhook {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(SEND_TIMEOUT))
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into();
            return Ok(Transport::Webhook {
                agent,
                url: url.expose().to_string(),
                secret: secret.cloned(),
            });
        }
        if let Some(argv) = &c.command {
            return Ok(Transport::Command { argv: argv.clone() });
        }
        Err("no transport".into())
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Transport::Smtp { .. } => "smtp",
            Transport::Webhook { .. } => "webhook",
            Transport::Command { .. } => "command",
        }
    }

    /// Delivers one row; `Err` is a one-line reason (which the relay scrubs of secrets).
    pub fn send(&self, n: &Notification, now_unix: i64) -> Result<(), String> {
        match self {
            Transport::Smtp { mailer, from } => send_mail(mailer, from, n),
            Transport::Webhook { agent, url, secret } => {
                send_webhook(agent, url, secret.as_ref(), n, now_unix)
            }
            Transport::Command { argv } => run_command(argv, n),
        }
    }
}

fn send_mail(
    mailer: &lettre::SmtpTransport,
    from: &lettre::message::Mailbox,
    n: &Notification,
) -> Result<(), String> {
    let to: lettre::message::Mailbox = n
        .recipient
        .parse()
        .map_err(|_| "the recipient is not a mail address".to_string())?;
    let message = lettre::Message::builder()
        .message_id(Some(format!("<{}@pitwall>", n.id)))
        .from(from.clone())
        .to(to)
        .subject(n.subject.clone())
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(n.body.clone())
        .map_err(|e| format!("cannot build the message: {e}"))?;
    mailer
        .send(&message)
        .map(|_| ())
        .map_err(|e| format!("smtp: {e}"))
}

fn send_webhook(
    agent: &ureq::Agent,
    url: &str,
    secret: Option<&Secret>,
    n: &Notification,
    now_unix: i64,
) -> Result<(), String> {
    let body = payload(n);
    let mut request = agent
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &n.id)
        .header("webhook-timestamp", now_unix.to_string());
    if let Some(secret) = secret {
        request = request.header(
            "webhook-signature",
            signature(secret.expose(), &n.id, now_unix, &body),
        );
    }
    match request.send(body.as_bytes()) {
        Ok(mut response) => {
            let status = response.status().as_u16();
            // Read (a little of) the body so the connection can be reused.
            let _ = response
                .body_mut()
                .with_config()
                .limit(64 * 1024)
                .read_to_vec();
            if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(format!("webhook answered HTTP {status}"))
            }
        }
        Err(ureq::Error::Timeout(_)) => Err("webhook timed out after 10 s".into()),
        Err(ureq::Error::Io(e)) => Err(format!("webhook: {}", e.kind())),
        Err(e) => Err(format!("webhook: {e}")),
    }
}

fn run_command(argv: &[String], n: &Notification) -> Result<(), String> {
    let program = &argv[0];
    let mut child = Command::new(program)
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("command could not start: {}", e.kind()))?;
    let body = payload(n);
    if let Some(mut stdin) = child.stdin.take() {
        // A program that exits without reading is judged by its exit status, not the pipe.
        let _ = stdin.write_all(body.as_bytes());
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                return Err(match status.code() {
                    Some(code) => format!("command exited with status {code}"),
                    None => "command was killed by a signal".into(),
                });
            }
            Ok(None) if started.elapsed() >= SEND_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("command timed out after 10 s".into());
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Err(e) => return Err(format!("command: {}", e.kind())),
        }
    }
}

/// `smtp://[user[:pass]@]host[:port]` (STARTTLS when the server offers it) or `smtps://…`
/// (TLS from the first byte).
pub struct SmtpUrl {
    implicit_tls: bool,
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

impl SmtpUrl {
    /// Errors never quote the URL: it may hold a password.
    pub fn parse(url: &str) -> Result<SmtpUrl, String> {
        let (implicit_tls, rest) = if let Some(r) = url.strip_prefix("smtps://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("smtp://") {
            (false, r)
        } else {
            return Err("must start with smtp:// or smtps://".into());
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') || authority.contains('?') {
            return Err("must be smtp://[user:pass@]host[:port] with nothing after".into());
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let credentials = userinfo.map(|u| {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            (percent_decode(user), percent_decode(pass))
        });
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| "the port is not a number from 1 to 65535".to_string())?,
            ),
            _ => (hostport, if implicit_tls { 465 } else { 25 }),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || port == 0 {
            return Err("needs a host (and a port from 1 to 65535)".into());
        }
        Ok(SmtpUrl {
            implicit_tls,
            host: host.to_string(),
            port,
            credentials,
        })
    }

    fn mailer(&self) -> Result<lettre::SmtpTransport, String> {
        let tls = TlsParameters::new(self.host.clone())
            .map_err(|e| format!("smtp TLS setup failed: {e}"))?;
        let mut builder = lettre::SmtpTransport::builder_dangerous(self.host.as_str())
            .port(self.port)
            .timeout(Some(SEND_TIMEOUT))
            .tls(if self.implicit_tls {
                Tls::Wrapper(tls)
            } else {
                Tls::Opportunistic(tls)
            });
        if let Some((user, pass)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        Ok(builder.build())
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
            out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls() {
        let u = SmtpUrl::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.implicit_tls),
            ("127.0.0.1", 2525, false)
        );
        let u = SmtpUrl::parse("smtps://me%40x.com:p%3Ass@mail.example.com").unwrap();
        assert_eq!(u.port, 465);
        assert_eq!(
            u.credentials,
            Some(("me@x.com".to_string(), "p:ss".to_string()))
        );
        assert!(SmtpUrl::parse("smtp://").is_err());
        assert!(SmtpUrl::parse("smtp://h:99999").is_err());
        let e = SmtpUrl::parse("http://user:secret@h").err().unwrap();
        assert!(!e.contains("secret"));
    }

    /// The example from the Standard Webhooks specification's reference implementation.
    #[test]
    fn signature_is_standard_webhooks() {
        let sig = signature("key", "msg_1", 1_614_265_330, "{\"a\":1}");
        assert!(sig.starts_with("v1,"));
        // HMAC-SHA256 is 32 bytes: 44 base64 characters.
        assert_eq!(sig.len(), 3 + 44);
        assert_ne!(sig, signature("key", "msg_2", 1_614_265_330, "{\"a\":1}"));
    }
}
