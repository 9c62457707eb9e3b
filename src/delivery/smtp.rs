//! Mail servers by URL, read by lettre's own URL handling (`smtp://user:pass@host:port`,
//! `smtps://…`, `?tls=required`), with one rule of pitwall's on top: a password only ever
//! travels over TLS. `smtp://` with credentials therefore requires STARTTLS (a server that does
//! not offer it fails the attempt before anything is sent); without credentials STARTTLS is
//! used when the server offers it.

use std::time::Duration;

use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};

/// A checked mail server URL. Errors never quote it: it may hold a password.
pub struct SmtpUrl {
    text: String,
    implicit_tls: bool,
    starttls: Starttls,
    host: String,
    credentials: bool,
}

/// What `smtp://` does about STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Starttls {
    /// Upgrade when the server offers it (no credentials, no `?tls=`).
    WhenOffered,
    /// Upgrade or fail (`?tls=required`, or any URL with credentials).
    Required,
}

impl SmtpUrl {
    pub fn parse(text: &str) -> Result<SmtpUrl, String> {
        let url = url::Url::parse(text)
            .map_err(|_| "must be a URL such as smtp://user:password@host:587".to_string())?;
        let implicit_tls = match url.scheme() {
            "smtps" => true,
            "smtp" => false,
            _ => return Err("must start with smtp:// or smtps://".into()),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("needs a host: smtp://host:port")?
            .to_string();
        let credentials = !url.username().is_empty() || url.password().is_some();
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required" | "opportunistic") if !implicit_tls && tls.is_none() => {
                    tls = Some(value.into_owned());
                }
                _ => {
                    return Err("takes no query but ?tls=required or ?tls=opportunistic \
                                (smtp:// only)"
                        .into());
                }
            }
        }
        let starttls = match tls.as_deref() {
            Some("opportunistic") if credentials => {
                return Err(
                    "a password is only sent over TLS: with user:password@, use \
                            smtps:// or smtp:// (which then requires STARTTLS), not \
                            ?tls=opportunistic"
                        .into(),
                );
            }
            Some("opportunistic") => Starttls::WhenOffered,
            Some(_) => Starttls::Required,
            None if credentials => Starttls::Required,
            None => Starttls::WhenOffered,
        };
        // What lettre itself would refuse, refused now (it opens no connection).
        lettre::SmtpTransport::from_url(text)
            .map_err(|_| "is not a mail server URL lettre accepts".to_string())?;
        Ok(SmtpUrl {
            text: text.to_string(),
            implicit_tls,
            starttls,
            host,
            credentials,
        })
    }

    /// Whether the URL carries a user name or password.
    pub fn has_credentials(&self) -> bool {
        self.credentials
    }

    /// Whether a session must be encrypted before anything but EHLO is said.
    pub fn requires_tls(&self) -> bool {
        self.implicit_tls || self.starttls == Starttls::Required
    }

    /// The mailer: lettre's from the URL, its TLS set by the rule above, trusting `extra_ca`
    /// (a PEM file's certificates) besides the public roots, each step bounded by `timeout`.
    pub fn mailer(
        &self,
        extra_ca: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<lettre::SmtpTransport, String> {
        let mut params = TlsParameters::builder(self.host.clone());
        if let Some(pem) = extra_ca {
            let ca = Certificate::from_pem(pem)
                .map_err(|_| "ca_file holds no PEM certificate pitwall can read".to_string())?;
            params = params.add_root_certificate(ca);
        }
        let params = params
            .build_rustls()
            .map_err(|e| format!("smtp TLS setup failed: {e}"))?;
        let tls = if self.implicit_tls {
            Tls::Wrapper(params)
        } else {
            match self.starttls {
                Starttls::Required => Tls::Required(params),
                Starttls::WhenOffered => Tls::Opportunistic(params),
            }
        };
        let builder = lettre::SmtpTransport::from_url(&self.text)
            .map_err(|_| "is not a mail server URL lettre accepts".to_string())?;
        Ok(builder.tls(tls).timeout(Some(timeout)).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_only_ever_sent_over_tls() {
        let plain = SmtpUrl::parse("smtp://127.0.0.1:2525").unwrap();
        assert!(!plain.has_credentials() && !plain.requires_tls());
        let with_password = SmtpUrl::parse("smtp://ann:pw@127.0.0.1:2525").unwrap();
        assert!(with_password.has_credentials() && with_password.requires_tls());
        assert!(
            SmtpUrl::parse("smtp://127.0.0.1?tls=required")
                .unwrap()
                .requires_tls()
        );
        assert!(
            SmtpUrl::parse("smtps://me%40x.com:p%3Ass@mail.example.com")
                .is_ok_and(|u| u.requires_tls())
        );
        let e = SmtpUrl::parse("smtp://ann:hunter2@h?tls=opportunistic")
            .err()
            .unwrap();
        assert!(
            e.contains("only sent over TLS") && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[test]
    fn bad_urls_are_refused_without_quoting_them() {
        for bad in [
            "smtp://",
            "smtp://h:99999",
            "http://user:secret@h",
            "smtp://h?tls=maybe",
            "smtps://h?tls=required",
            "not a url secret",
        ] {
            let e = SmtpUrl::parse(bad).err().unwrap_or_else(|| panic!("{bad}"));
            assert!(!e.contains("secret"), "{bad}: {e}");
        }
    }
}
