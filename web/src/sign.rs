//! HMAC-SHA256 signatures for cookies, CSRF tokens and callback links.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::WebError;

type HmacSha256 = Hmac<Sha256>;

/// The shortest key we accept.
pub const MIN_KEY_BYTES: usize = 32;

/// Signs and verifies messages with one secret key; each use names its purpose so a signature
/// made for one (say a session) is never valid for another (say a link).
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<redacted>)")
    }
}

impl Signer {
    /// A signer over `key`, which must be at least [`MIN_KEY_BYTES`] long.
    pub fn new(key: &[u8]) -> Result<Signer, WebError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(WebError::Config(format!(
                "PREVIEW_LINK_KEY must be at least {MIN_KEY_BYTES} bytes"
            )));
        }
        Ok(Signer { key: key.to_vec() })
    }

    fn mac(&self, purpose: &str, message: &str) -> Result<HmacSha256, WebError> {
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .map_err(|e| WebError::Config(format!("HMAC key: {e}")))?;
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message.as_bytes());
        Ok(mac)
    }

    /// The URL-safe signature of `message` for `purpose`.
    pub fn sign(&self, purpose: &str, message: &str) -> String {
        match self.mac(purpose, message) {
            Ok(mac) => URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()),
            Err(_) => String::new(),
        }
    }

    /// True when `signature` is `message`'s for `purpose` (constant-time comparison).
    pub fn verify(&self, purpose: &str, message: &str, signature: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.mac(purpose, message)
            .is_ok_and(|mac| mac.verify_slice(&bytes).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(&[7u8; 32]).unwrap()
    }

    #[test]
    fn signatures_verify_only_for_their_purpose_and_message() {
        let s = signer();
        let sig = s.sign("link", "a");
        assert!(s.verify("link", "a", &sig));
        assert!(!s.verify("session", "a", &sig));
        assert!(!s.verify("link", "b", &sig));
        assert!(!s.verify("link", "a", "not base64!"));
        assert!(!Signer::new(&[8u8; 32]).unwrap().verify("link", "a", &sig));
    }

    #[test]
    fn short_keys_are_refused_and_never_printed() {
        assert!(Signer::new(b"short").is_err());
        assert_eq!(format!("{:?}", signer()), "Signer(<redacted>)");
    }
}
