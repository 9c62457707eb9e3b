//! The config file (SPEC §12): `--config PATH`, default `pitwall.toml` in the data directory.
//! TOML read strictly (unknown keys are errors) into typed settings; a bad file is a coded error
//! naming the key, and never quotes a secret.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::Route;

/// How long one delivery may take by default: a webhook call, an SMTP step, a command.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a request's line and headers may take to arrive at `pitwall serve` by default.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends one relay has in flight on one channel at most, unless the config says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub delivery: Delivery,
    /// `pitwall serve` (SPEC §13).
    #[serde(default)]
    pub serve: Serve,
    /// History kept: `serve` and the console prune once a day what finished longer ago.
    #[serde(default)]
    pub retention: Retention,
}

/// `[retention]`: off unless `days` is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Sessions finished more than this many days ago are pruned, once a day.
    pub days: Option<i64>,
    /// Where the pruned sessions are archived first (JSON lines); none: not archived.
    pub archive: Option<PathBuf>,
}

/// `[serve]`: the HTTP API's limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Serve {
    /// Requests per second each token may send, on average.
    #[serde(default = "default_rate")]
    pub rate_per_second: u32,
    /// Requests a token may send at once before the average applies.
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// Event streams open at once, all tokens together; past it a new one is refused `busy`.
    #[serde(default = "default_max_streams")]
    pub max_streams: usize,
    /// How long an event stream stays open before it ends and the client resumes it with
    /// `Last-Event-ID`, so a stream never outlives what its token was checked for by long.
    /// Seconds, fractions allowed (a test's streams end in a tenth of a second).
    #[serde(default = "default_stream_seconds")]
    pub stream_seconds: f64,
    /// Connections one client address may hold at once; past it a new one is closed at once.
    /// Behind a reverse proxy every client has the proxy's address: raise it there.
    #[serde(default = "default_connections_per_address")]
    pub connections_per_address: usize,
    /// How long a client may take to send a request's line and headers once it starts one (or,
    /// on a kept-alive connection, to start the next), in milliseconds; past it the connection
    /// is closed, so a client that never finishes a head cannot hold a connection for ever.
    #[serde(default = "default_header_timeout_ms")]
    pub header_timeout_ms: u64,
    /// The base of every link in a message (`/o/…` offers, `/s/…` status pages, sign-in
    /// links): the address phones reach `serve` at. Without it, `serve` uses `http://` and its
    /// listen address, and other relays send no links.
    #[serde(default)]
    pub public_url: Option<String>,
}

impl Default for Serve {
    fn default() -> Serve {
        Serve {
            rate_per_second: default_rate(),
            burst: default_burst(),
            max_streams: default_max_streams(),
            stream_seconds: default_stream_seconds(),
            connections_per_address: default_connections_per_address(),
            header_timeout_ms: default_header_timeout_ms(),
            public_url: None,
        }
    }
}

impl Serve {
    /// How long an event stream lasts.
    pub fn stream_lifetime(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.stream_seconds)
    }

    /// How long a request's head may take to arrive.
    pub fn header_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.header_timeout_ms)
    }
}

fn default_header_timeout_ms() -> u64 {
    HEADER_TIMEOUT.as_millis() as u64
}

fn default_max_streams() -> usize {
    256
}

fn default_stream_seconds() -> f64 {
    3600.0
}

fn default_connections_per_address() -> usize {
    64
}

fn default_rate() -> u32 {
    20
}

fn default_burst() -> u32 {
    40
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// Signs webhooks; never logged or shown.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Attempts before a row is dead.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: i64,
    /// How long one send may take, in milliseconds (a webhook call, each SMTP step, a command).
    #[serde(default = "default_send_timeout_ms")]
    pub send_timeout_ms: u64,
    /// How long a claimed row stays with the relay that claimed it. A relay claims a row only
    /// when it can send it at once, and a send takes at most the send timeout, so no second
    /// relay can take it mid-send; a relay that dies leaves its rows to others after this long.
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: i64,
    /// Sends in flight at once on each channel, per relay: a stalled receiver holds at most
    /// this many of its own channel's messages, and no other channel's.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    #[serde(default)]
    pub email: Option<ChannelConfig>,
    #[serde(default)]
    pub sms: Option<ChannelConfig>,
    #[serde(default)]
    pub push: Option<ChannelConfig>,
    #[serde(default)]
    pub dispatcher: Option<ChannelConfig>,
}

impl Default for Delivery {
    fn default() -> Delivery {
        Delivery {
            secret: None,
            max_attempts: default_max_attempts(),
            send_timeout_ms: default_send_timeout_ms(),
            lease_seconds: default_lease_seconds(),
            concurrency: DEFAULT_CONCURRENCY,
            email: None,
            sms: None,
            push: None,
            dispatcher: None,
        }
    }
}

fn default_max_attempts() -> i64 {
    8
}

fn default_lease_seconds() -> i64 {
    60
}

fn default_send_timeout_ms() -> u64 {
    SEND_TIMEOUT.as_millis() as u64
}

impl Delivery {
    /// How long one send may take.
    pub fn send_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.send_timeout_ms)
    }

    /// The shortest lease that covers a send: its timeout, and a second to record it.
    fn min_lease_seconds(&self) -> i64 {
        self.send_timeout_ms.div_ceil(1000) as i64 + 1
    }
}

/// A duration as a person reads it in an error: "10 s", "0.5 s".
pub fn seconds(d: std::time::Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

fn default_concurrency() -> usize {
    DEFAULT_CONCURRENCY
}

/// One channel's transport: exactly one of `smtp` (with `from`, and optionally `ca_file`),
/// `webhook` or `command` (optionally with `env`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    #[serde(default)]
    pub smtp: Option<Secret>,
    #[serde(default)]
    pub from: Option<String>,
    /// A PEM file of certificate authorities the mail server's certificate may chain to,
    /// trusted besides the usual public ones (a company's own CA; a test's).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub webhook: Option<Secret>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Variables of pitwall's environment the command is given; it gets these and `PATH`, and
    /// nothing else of pitwall's environment.
    #[serde(default)]
    pub env: Option<Vec<String>>,
}

/// Text that may hold a secret (a signing key, a password in a URL): shown as `***`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The prefix of a Standard Webhooks signing secret.
const WHSEC: &str = "whsec_";

/// What a signing secret must be, and how to make one: said when the config holds another form.
pub const SECRET_FORM: &str = "must be a Standard Webhooks secret: whsec_ followed by the base64 \
    of 24 to 64 random bytes; `pitwall secret` prints a new one";

/// The HMAC key of a Standard Webhooks secret (`whsec_` + base64 of 24–64 bytes): the decoded
/// bytes, as the standard and its reference libraries use them. `None` for any other form.
pub fn webhook_key(secret: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let encoded = secret.strip_prefix(WHSEC)?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    (24..=64).contains(&key.len()).then_some(key)
}

/// A new signing secret: `whsec_` and the base64 of 32 bytes from the operating system.
pub fn new_webhook_secret() -> Result<String, String> {
    use base64::Engine as _;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| format!("no randomness from the system: {e}"))?;
    Ok(format!(
        "{WHSEC}{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    ))
}

/// A config file that cannot be used: which file, which key, what is wrong. Never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config {path}: invalid_config at {key}: {message}")]
pub struct ConfigError {
    pub path: String,
    /// The key, dotted (`delivery.email.smtp`); `-` when the file as a whole is wrong.
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        "invalid_config"
    }
}

/// Where the config was looked for, and whether it was there.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: std::sync::Arc<Config>,
    pub path: PathBuf,
    pub found: bool,
}

impl Config {
    /// Reads `path`. A missing file is no transports when it is the default path, and an error
    /// when the user named it.
    pub fn load(path: &Path, explicit: bool) -> Result<Loaded, ConfigError> {
        let err = |key: &str, message: String| ConfigError {
            path: path.display().to_string(),
            key: key.to_string(),
            message,
        };
        let text = match std::fs::read(path) {
            Ok(bytes) if bytes.len() > 1 << 20 => {
                return Err(err("-", "the file is over 1 MiB".into()));
            }
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|_| err("-", "the file is not UTF-8 text".into()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Loaded {
                    config: Default::default(),
                    path: path.to_path_buf(),
                    found: false,
                });
            }
            Err(e) => return Err(err("-", format!("cannot read it: {e}"))),
        };
        let config = Config::parse(&text).map_err(|(key, message)| err(&key, message))?;
        Ok(Loaded {
            config: std::sync::Arc::new(config),
            path: path.to_path_buf(),
            found: true,
        })
    }

    /// Parses and checks config text; on error the dotted key and what is wrong with it.
    pub fn parse(text: &str) -> Result<Config, (String, String)> {
        let de = toml::Deserializer::parse(text).map_err(|e| ("-".to_string(), syntax(&e)))?;
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." { "-".to_string() } else { key };
            // The message names the key and the expected type; a value it might quote is
            // dropped for the keys that can hold secrets.
            let message = e.inner().message().to_string();
            let message = if key.ends_with("secret") || key.ends_with("smtp") {
                "not a valid value (expected text)".to_string()
            } else {
                message
            };
            (key, message)
        })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), (String, String)> {
        if let Some(days) = self.retention.days
            && !(1..=crate::model::MAX_RETENTION_DAYS).contains(&days)
        {
            return Err((
                "retention.days".into(),
                format!(
                    "must be a number of days from 1 to {}",
                    crate::model::MAX_RETENTION_DAYS
                ),
            ));
        }
        if self.retention.archive.is_some() && self.retention.days.is_none() {
            return Err((
                "retention.archive".into(),
                "needs retention.days: archives are written only as history is pruned".into(),
            ));
        }
        if !(1..=1_000_000).contains(&self.serve.rate_per_second) {
            return Err((
                "serve.rate_per_second".into(),
                "must be between 1 and 1000000".into(),
            ));
        }
        if !(1..=1_000_000).contains(&self.serve.burst) {
            return Err(("serve.burst".into(), "must be between 1 and 1000000".into()));
        }
        if !(1..=100_000).contains(&self.serve.max_streams) {
            return Err((
                "serve.max_streams".into(),
                "must be between 1 and 100000".into(),
            ));
        }
        if !(0.1..=86_400.0).contains(&self.serve.stream_seconds) {
            return Err((
                "serve.stream_seconds".into(),
                "must be between 0.1 and 86400".into(),
            ));
        }
        if !(1..=100_000).contains(&self.serve.connections_per_address) {
            return Err((
                "serve.connections_per_address".into(),
                "must be between 1 and 100000".into(),
            ));
        }
        if !(100..=60_000).contains(&self.serve.header_timeout_ms) {
            return Err((
                "serve.header_timeout_ms".into(),
                "must be between 100 and 60000".into(),
            ));
        }
        if let Some(url) = &self.serve.public_url
            && let Err(why) = crate::links::check_public_url(url)
        {
            return Err(("serve.public_url".into(), why));
        }
        let d = &self.delivery;
        if !(1..=100).contains(&d.max_attempts) {
            return Err((
                "delivery.max_attempts".into(),
                "must be between 1 and 100".into(),
            ));
        }
        if !(100..=60_000).contains(&d.send_timeout_ms) {
            return Err((
                "delivery.send_timeout_ms".into(),
                "must be between 100 and 60000".into(),
            ));
        }
        let min_lease = d.min_lease_seconds();
        if !(min_lease..=3600).contains(&d.lease_seconds) {
            return Err((
                "delivery.lease_seconds".into(),
                format!(
                    "must be between {min_lease} and 3600 (a send may take {})",
                    seconds(d.send_timeout())
                ),
            ));
        }
        if !(1..=64).contains(&d.concurrency) {
            return Err((
                "delivery.concurrency".into(),
                "must be between 1 and 64".into(),
            ));
        }
        if d.secret
            .as_ref()
            .is_some_and(|s| webhook_key(s.expose()).is_none())
        {
            return Err(("delivery.secret".into(), SECRET_FORM.into()));
        }
        for (route, channel) in self.channels() {
            let key = |k: &str| format!("delivery.{route}.{k}");
            let set = [
                channel.smtp.is_some(),
                channel.webhook.is_some(),
                channel.command.is_some(),
            ];
            match set.iter().filter(|s| **s).count() {
                1 => {}
                0 => {
                    return Err((
                        format!("delivery.{route}"),
                        "give one of smtp, webhook or command".into(),
                    ));
                }
                _ => {
                    return Err((
                        format!("delivery.{route}"),
                        "give only one of smtp, webhook or command".into(),
                    ));
                }
            }
            if let Some(smtp) = &channel.smtp {
                super::smtp::SmtpUrl::parse(smtp.expose()).map_err(|m| (key("smtp"), m))?;
                let Some(from) = &channel.from else {
                    return Err((key("from"), "an smtp channel needs a from address".into()));
                };
                from.parse::<lettre::message::Mailbox>().map_err(|_| {
                    (
                        key("from"),
                        "not a mail address (e.g. \"Dispatch <dispatch@example.com>\")".into(),
                    )
                })?;
            } else if channel.from.is_some() {
                return Err((key("from"), "from applies only to smtp".into()));
            } else if channel.ca_file.is_some() {
                return Err((key("ca_file"), "ca_file applies only to smtp".into()));
            }
            if let Some(url) = &channel.webhook {
                let u = url.expose();
                if !(u.starts_with("http://") || u.starts_with("https://"))
                    || u.len() <= "https://".len()
                {
                    return Err((key("webhook"), "must be an http:// or https:// URL".into()));
                }
            }
            if let Some(cmd) = &channel.command
                && cmd.first().is_none_or(|p| p.trim().is_empty())
            {
                return Err((
                    key("command"),
                    "must name a program: [\"/path/to/program\", \"arg\", ...]".into(),
                ));
            }
            match (&channel.command, &channel.env) {
                (None, Some(_)) => {
                    return Err((key("env"), "env applies only to command".into()));
                }
                (Some(_), Some(names))
                    if names.iter().any(|n| {
                        n.is_empty() || n.contains('=') || n.contains('\0') || n == "PATH"
                    }) =>
                {
                    return Err((
                        key("env"),
                        "lists names of environment variables (not PATH, which the command \
                         always gets), e.g. [\"PUSH_API_KEY\"]"
                            .into(),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The configured channels.
    pub fn channels(&self) -> impl Iterator<Item = (Route, &ChannelConfig)> {
        let d = &self.delivery;
        [
            (Route::Email, &d.email),
            (Route::Sms, &d.sms),
            (Route::Push, &d.push),
            (Route::Dispatcher, &d.dispatcher),
        ]
        .into_iter()
        .filter_map(|(r, c)| c.as_ref().map(|c| (r, c)))
    }

    /// Every secret in the file, so error text can be scrubbed of them.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(s) = &self.delivery.secret {
            out.push(s.0.clone());
        }
        for (_, c) in self.channels() {
            // A webhook URL may carry its token in the path (many gateways work so): the whole
            // URL and its path are kept out of errors too.
            if let Some(url) = &c.webhook {
                out.push(url.0.clone());
                if let Some((_, rest)) = url.0.split_once("://")
                    && let Some(slash) = rest.find('/')
                {
                    out.push(rest[slash..].to_string());
                }
            }
            for url in [&c.smtp, &c.webhook].into_iter().flatten() {
                if let Some(userinfo) = url.0.split_once("://").and_then(|(_, rest)| {
                    let authority = rest.split('/').next().unwrap_or("");
                    authority.rsplit_once('@').map(|(u, _)| u.to_string())
                }) {
                    if let Some((_, pass)) = userinfo.split_once(':') {
                        out.push(pass.to_string());
                    }
                    out.push(userinfo);
                }
            }
        }
        out.retain(|s| s.len() >= 3);
        // Longest first, so a URL is replaced whole before its path is.
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out
    }
}

/// A TOML syntax error without the source line (which could hold a secret): what and where.
fn syntax(e: &toml::de::Error) -> String {
    format!(
        "not valid TOML: {}",
        e.message().lines().next().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(text: &str) -> String {
        Config::parse(text).unwrap_err().0
    }

    #[test]
    fn the_spec_example_parses() {
        let c = Config::parse(
            r#"
[delivery]
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
max_attempts = 8
[delivery.email]
smtp = "smtp://user:pw9x@127.0.0.1:2525"
from = "Dispatch <dispatch@example.com>"
[delivery.sms]
webhook = "http://127.0.0.1:9000/sms"
[delivery.push]
command = ["/usr/local/bin/send-push"]
[delivery.dispatcher]
webhook = "http://127.0.0.1:9000/dispatch"
"#,
        )
        .unwrap();
        assert_eq!(c.channels().count(), 4);
        assert!(!format!("{c:?}").contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert!(!format!("{c:?}").contains("pw9x"));
        assert!(c.secrets().contains(&"pw9x".to_string()));
    }

    #[test]
    fn the_example_config_parses_with_its_serve_limits() {
        let c = Config::parse(include_str!("../../seeds/pitwall.toml")).unwrap();
        assert_eq!((c.serve.rate_per_second, c.serve.burst), (20, 40));
        let d = Config::parse("").unwrap();
        assert_eq!((d.serve.rate_per_second, d.serve.burst), (20, 40));
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            key_of("[delivery]\nmax_atempts = 3"),
            "delivery.max_atempts"
        );
        assert_eq!(
            key_of("[delivery]\nmax_attempts = 0"),
            "delivery.max_attempts"
        );
        assert_eq!(
            key_of("[delivery]\nmax_attempts = \"x\""),
            "delivery.max_attempts"
        );
        assert_eq!(
            key_of("[delivery.sms]\nwebhook = \"ftp://x\""),
            "delivery.sms.webhook"
        );
        assert_eq!(
            key_of("[delivery.sms]\nwebhok = \"http://x\""),
            "delivery.sms.webhok"
        );
        assert_eq!(
            key_of("[delivery.fax]\nwebhook = \"http://x\""),
            "delivery.fax"
        );
        assert_eq!(
            key_of("[delivery.email]\nsmtp = \"smtp://h\""),
            "delivery.email.from"
        );
        assert_eq!(
            key_of("[delivery.email]\nsmtp = \"imap://h\"\nfrom = \"a@b.c\""),
            "delivery.email.smtp"
        );
        assert_eq!(
            key_of("[delivery.push]\ncommand = []"),
            "delivery.push.command"
        );
        assert_eq!(key_of("[delivery.push]"), "delivery.push");
        assert_eq!(
            key_of("[delivery.sms]\nwebhook = \"http://h.example/x\"\nenv = [\"A\"]"),
            "delivery.sms.env"
        );
        assert_eq!(
            key_of("[delivery.push]\ncommand = [\"p\"]\nenv = [\"A=1\"]"),
            "delivery.push.env"
        );
        assert_eq!(
            key_of("[delivery.sms]\nwebhook = \"http://h.example/x\"\nca_file = \"ca.pem\""),
            "delivery.sms.ca_file"
        );
        assert_eq!(
            key_of("[delivery]\nconcurrency = 0"),
            "delivery.concurrency"
        );
        assert_eq!(key_of("delivery = ["), "-");
        assert_eq!(key_of("[serve]\nburst = 0"), "serve.burst");
        assert_eq!(key_of("[serve]\nrate = 5"), "serve.rate");
        assert_eq!(
            key_of("[serve]\nheader_timeout_ms = 99"),
            "serve.header_timeout_ms"
        );
        assert_eq!(
            key_of("[serve]\nheader_timeout_ms = 60001"),
            "serve.header_timeout_ms"
        );
        assert_eq!(
            key_of("[serve]\nstream_seconds = 0.05"),
            "serve.stream_seconds"
        );
        assert_eq!(
            key_of("[serve]\nstream_seconds = 86401"),
            "serve.stream_seconds"
        );
    }

    /// Only the standard's form: a reference library decodes the key, so any other form would
    /// sign messages no receiver can verify.
    #[test]
    fn a_secret_has_the_standard_form() {
        for bad in [
            "a long random string",
            "whsec_",
            "whsec_not base64!",
            "whsec_c2hvcnQ=",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            let (key, message) =
                Config::parse(&format!("[delivery]\nsecret = \"{bad}\"")).unwrap_err();
            assert_eq!(key, "delivery.secret", "{bad}");
            assert!(message.contains("pitwall secret"), "{message}");
            assert!(bad.len() < 8 || !message.contains(bad), "{message}");
        }
        assert_eq!(
            webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").map(|k| k.len()),
            Some(24)
        );
        let fresh = new_webhook_secret().unwrap();
        assert_eq!(webhook_key(&fresh).map(|k| k.len()), Some(32));
        assert_ne!(fresh, new_webhook_secret().unwrap());
    }

    #[test]
    fn a_bad_secret_is_never_quoted() {
        let (_, message) = Config::parse("[delivery]\nsecret = 12345678").unwrap_err();
        assert!(!message.contains("12345678"), "{message}");
        let (_, message) = Config::parse("[delivery]\nsecret = \"hunter22\" x").unwrap_err();
        assert!(!message.contains("hunter22"), "{message}");
    }
}
