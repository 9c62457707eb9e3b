//! What every page shares, held by the server's state: the CSRF key, the public address links
//! are made from, and whether cookies must be `Secure`. Its own file so that the server's state
//! (serve/http.rs) can hold it without importing the pages, which import that state.

use super::csrf;

/// What the pages share: the CSRF key and where the server is reached.
pub struct Pages {
    pub csrf: csrf::Csrf,
    /// The base of every link (`[serve] public_url`, or `http://` and the listen address).
    pub base: String,
    /// Whether cookies are marked `Secure` (the public address is https).
    pub secure: bool,
}

impl Pages {
    pub fn new(base: String) -> Result<Pages, String> {
        Ok(Pages {
            secure: base.starts_with("https://"),
            csrf: csrf::Csrf::new()?,
            base,
        })
    }
}

/// The path as the request log shows it: the code or token of a link is never written.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in ["/o/", "/s/", "/m/sign-in/"] {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return format!("{prefix}…{tail}").into();
        }
    }
    path.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/o/abcdefabcdefabcdefabcdef"), "/o/…");
        assert_eq!(
            loggable_path("/s/abcdefabcdefabcdefabcdef/events"),
            "/s/…/events"
        );
        assert_eq!(loggable_path("/m/sign-in/pw_mechanic_xyz"), "/m/sign-in/…");
        assert_eq!(loggable_path("/v1/commands"), "/v1/commands");
        assert_eq!(loggable_path("/m"), "/m");
    }
}
