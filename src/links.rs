//! The links a message carries to pitwall's pages (one-tap offers `/o/{code}`, a customer's
//! status `/s/{code}`). A code is 144 random bits in base64url: unguessable, short enough for an
//! SMS. Only its SHA-256 is stored; the code itself exists in the message alone, so neither the
//! database nor a backup of it opens a page.

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::{DispatchError, DispatchResult, ErrorCode};

/// Random bytes in a code: 144 bits (at least 128 are asked for), 24 characters of base64url.
const CODE_BYTES: usize = 18;
const _: () = assert!(CODE_BYTES * 8 >= 128, "a code has at least 128 random bits");

/// The length of a code as text.
pub const CODE_LEN: usize = 24;

/// A new code and the hash that is stored in its place.
pub struct Minted {
    pub code: String,
    pub sha256: [u8; 32],
}

pub fn mint() -> DispatchResult<Minted> {
    let mut bytes = [0u8; CODE_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| {
        DispatchError::new(
            ErrorCode::Internal,
            format!("The system gave no random bytes: {e}."),
        )
    })?;
    let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let sha256 = hash(&code);
    Ok(Minted { code, sha256 })
}

/// The stored form of a code.
pub fn hash(code: &str) -> [u8; 32] {
    Sha256::digest(code.as_bytes()).into()
}

/// Whether `text` has a code's shape. A request whose code has another shape is answered as an
/// unknown code, without a database lookup.
pub fn looks_like_code(text: &str) -> bool {
    text.len() == CODE_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The link that answers an offer.
pub fn offer_url(base: &str, code: &str) -> String {
    format!("{base}/o/{code}")
}

/// The link to a session's status page.
pub fn status_url(base: &str, code: &str) -> String {
    format!("{base}/s/{code}")
}

/// The link that signs a mechanic's phone in.
pub fn sign_in_url(base: &str, token: &str) -> String {
    format!("{base}/m/sign-in/{token}")
}

/// The base of every link: `[serve] public_url` when set, else `http://` and the address
/// `serve` listens on.
pub fn public_base(configured: Option<&str>, listen: &str) -> String {
    match configured {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{listen}"),
    }
}

/// Checks a configured `public_url`: an absolute `http` or `https` URL with a host and nothing
/// after the path (links are made by appending to it).
pub fn check_public_url(text: &str) -> Result<(), String> {
    let url = url::Url::parse(text).map_err(|e| {
        format!("{text:?} is not an absolute URL ({e}); e.g. https://pit.example.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err("must have no query, fragment or user name: links are appended to it".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_random_and_url_safe() {
        let a = mint().unwrap();
        let b = mint().unwrap();
        assert_ne!(a.code, b.code);
        assert_eq!(a.code.len(), CODE_LEN);
        assert!(looks_like_code(&a.code));
        assert_eq!(a.sha256, hash(&a.code));
    }

    #[test]
    fn only_code_shaped_text_is_looked_up() {
        assert!(!looks_like_code("short"));
        assert!(!looks_like_code(&"a".repeat(25)));
        assert!(!looks_like_code("aaaaaaaaaaaaaaaaaaaaaaa/"));
        assert!(!looks_like_code("aaaaaaaaaaaaaaaaaaaaaaa%"));
        assert!(looks_like_code("aaaaaaaaaaaaaaaaaaaaaa-_"));
    }

    #[test]
    fn the_base_is_the_configured_url_or_the_listen_address() {
        assert_eq!(
            public_base(Some("https://pit.example.com/"), "0.0.0.0:1"),
            "https://pit.example.com"
        );
        assert_eq!(public_base(None, "127.0.0.1:7878"), "http://127.0.0.1:7878");
        assert!(check_public_url("https://pit.example.com/garage").is_ok());
        assert!(check_public_url("ftp://x").is_err());
        assert!(check_public_url("https://x/?a=1").is_err());
        assert!(check_public_url("pit.example.com").is_err());
    }
}
