//! CSRF tokens for the pages' forms: an HMAC-SHA256, under a key made when the server starts,
//! of what the form acts on (a link's hash, a sign-in's token id) and the form's purpose. A
//! page from another site cannot know the token, so its POST is refused; a token stays good
//! for as long as the server runs (a page left open a while still posts), and a restart only
//! asks for a reload.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub struct Csrf {
    key: [u8; 32],
}

impl Csrf {
    pub fn new() -> Result<Csrf, String> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| format!("the system gave no random bytes: {e}"))?;
        Ok(Csrf { key })
    }

    fn mac(&self, purpose: &str, subject: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(subject);
        mac
    }

    /// The token for a form with `purpose` acting on `subject`.
    pub fn token(&self, purpose: &str, subject: &[u8]) -> String {
        let tag = self.mac(purpose, subject).finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
    }

    /// Whether `given` is that token (compared in constant time).
    pub fn check(&self, purpose: &str, subject: &[u8], given: Option<&str>) -> bool {
        let Some(tag) = given.and_then(|g| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(g)
                .ok()
        }) else {
            return false;
        };
        self.mac(purpose, subject).verify_slice(&tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_good_only_for_its_purpose_and_subject() {
        let csrf = Csrf::new().unwrap();
        let t = csrf.token("offer", b"abc");
        assert!(csrf.check("offer", b"abc", Some(&t)));
        assert!(!csrf.check("offer", b"abd", Some(&t)));
        assert!(!csrf.check("status", b"abc", Some(&t)));
        assert!(!csrf.check("offer", b"abc", None));
        assert!(!csrf.check("offer", b"abc", Some("not base64 !")));
        let other = Csrf::new().unwrap();
        assert!(
            !other.check("offer", b"abc", Some(&t)),
            "another server's key"
        );
    }
}
