//! The ways a message leaves (SPEC §12): SMTP, a signed webhook, a local command. Each call is
//! bounded by the relay's send timeout and answers delivered or a one-line reason; none touches the
//! database, and each may run on a thread of its own (the relay sends several at once).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use lettre::Transport as _;
use sha2::Sha256;

use super::config::{ChannelConfig, seconds, webhook_key};
use super::smtp::SmtpUrl;
use crate::model::Notification;

/// The row as receivers see it: the JSON body of a webhook, the stdin of a command.
pub fn payload(n: &Notification) -> String {
    let mut row = serde_json::json!({
        "id": n.id,
        "kind": n.kind,
        "channel": n.channel,
        "recipient": n.recipient,
        "subject": n.subject,
        "body": n.body,
        "session": n.session,
        "created_at": crate::clock::rfc3339(n.created_at),
        "expires_at": n.expires_at.map(crate::clock::rfc3339),
    });
    if let Some(link) = &n.link {
        // An offer's link answers it; any other is the customer's status page.
        let field = match n.kind {
            crate::model::NotificationKind::Offer => "answer_url",
            _ => "status_url",
        };
        row[field] = serde_json::Value::String(link.clone());
    }
    row.to_string()
}

/// Standard Webhooks' signature: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`,
/// keyed by the secret's decoded bytes ([`webhook_key`]).
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
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
        timeout: std::time::Duration,
        url: String,
        /// The signing key: the secret's decoded bytes.
        key: Option<Vec<u8>>,
    },
    Command {
        argv: Vec<String>,
        timeout: std::time::Duration,
        /// What the command's environment holds: `PATH` and the variables the config names.
        env: Vec<(String, std::ffi::OsString)>,
    },
}

impl Transport {
    /// The transport a checked channel config describes. `secret` is the `[delivery]` signing
    /// secret; `env` reads pitwall's own environment (for a command's `env` list); `timeout`
    /// bounds a send.
    pub fn new(
        c: &ChannelConfig,
        secret: Option<&str>,
        env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
        timeout: std::time::Duration,
    ) -> Result<Transport, String> {
        if let Some(smtp) = &c.smtp {
            let url = SmtpUrl::parse(smtp.expose())?;
            let from = c
                .from
                .as_deref()
                .unwrap_or_default()
                .parse()
                .map_err(|_| "from is not a mail address".to_string())?;
            let ca = match &c.ca_file {
                Some(path) => Some(std::fs::read(path).map_err(|e| {
                    format!("cannot read ca_file {}: {}", path.display(), e.kind())
                })?),
                None => None,
            };
            return Ok(Transport::Smtp {
                mailer: Box::new(url.mailer(ca.as_deref(), timeout)?),
                from,
            });
        }
        if let Some(url) = &c.webhook {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into();
            let key = match secret {
                Some(secret) => Some(webhook_key(secret).ok_or(super::config::SECRET_FORM)?),
                None => None,
            };
            return Ok(Transport::Webhook {
                agent,
                timeout,
                url: url.expose().to_string(),
                key,
            });
        }
        if let Some(argv) = &c.command {
            // PATH so a program found by name finds its own helpers; nothing else unasked (the
            // relay's environment may hold database URLs and tokens).
            let names = std::iter::once("PATH").chain(c.env.iter().flatten().map(String::as_str));
            let env = names
                .filter_map(|name| env(name).map(|value| (name.to_string(), value)))
                .collect();
            return Ok(Transport::Command {
                argv: argv.clone(),
                timeout,
                env,
            });
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
    pub fn send(&self, n: &Notification) -> Result<(), String> {
        match self {
            Transport::Smtp { mailer, from } => send_mail(mailer, from, n),
            // The wall clock, whatever clock the engine runs on: receivers reject a
            // webhook-timestamp far from their own time (a manual clock's 2026-01-05 included).
            Transport::Webhook {
                agent,
                timeout,
                url,
                key,
            } => {
                let signed = Signed {
                    key: key.as_deref(),
                    now_unix: chrono::Utc::now().timestamp(),
                };
                send_webhook(agent, *timeout, url, signed, n)
            }
            Transport::Command { argv, timeout, env } => run_command(argv, *timeout, env, n),
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
    // A single text/plain UTF-8 part: lettre then writes MIME-Version and Content-Type, and
    // Date when the message is built.
    let message = lettre::Message::builder()
        .message_id(Some(format!("<{}@pitwall>", n.id)))
        .from(from.clone())
        .to(to)
        .subject(n.subject.clone())
        .singlepart(lettre::message::SinglePart::plain(n.body.clone()))
        .map_err(|e| format!("cannot build the message: {e}"))?;
    mailer.send(&message).map(|_| ()).map_err(|e| {
        let text = e.to_string();
        if text.contains("STARTTLS is not supported") {
            "smtp: the server offers no STARTTLS, and a password is only sent over TLS; \
             nothing was sent"
                .to_string()
        } else {
            format!("smtp: {text}")
        }
    })
}

/// How a webhook is signed: with this key (none: unsigned), stamped at this moment.
struct Signed<'a> {
    key: Option<&'a [u8]>,
    now_unix: i64,
}

fn send_webhook(
    agent: &ureq::Agent,
    timeout: std::time::Duration,
    url: &str,
    signed: Signed<'_>,
    n: &Notification,
) -> Result<(), String> {
    let Signed { key, now_unix } = signed;
    let body = payload(n);
    let mut request = agent
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &n.id)
        .header("webhook-timestamp", now_unix.to_string());
    if let Some(key) = key {
        request = request.header("webhook-signature", signature(key, &n.id, now_unix, &body));
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
        Err(ureq::Error::Timeout(_)) => {
            Err(format!("webhook timed out after {}", seconds(timeout)))
        }
        Err(ureq::Error::Io(e)) => Err(format!("webhook: {}", e.kind())),
        Err(e) => Err(format!("webhook: {e}")),
    }
}

fn run_command(
    argv: &[String],
    timeout: std::time::Duration,
    env: &[(String, std::ffi::OsString)],
    n: &Notification,
) -> Result<(), String> {
    let program = &argv[0];
    let mut child = Command::new(program)
        .args(&argv[1..])
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
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
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("command timed out after {}", seconds(timeout)));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Err(e) => return Err(format!("command: {}", e.kind())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of the Standard Webhooks reference libraries: their secret, message id,
    /// timestamp and payload give their signature.
    #[test]
    fn signature_is_standard_webhooks() {
        let key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
