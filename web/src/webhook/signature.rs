//! GitHub's `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body under the
//! webhook secret.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header GitHub puts the signature in.
pub const HEADER: &str = "x-hub-signature-256";

/// True when `header` is the signature of `body` under `secret`. The comparison is the HMAC
/// crate's constant-time one, so timing says nothing about how much of a forgery matched.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(bytes) = header
        .and_then(|h| h.trim().strip_prefix("sha256="))
        .and_then(hex)
    else {
        return false;
    };
    // An empty secret would make every signature forgeable by anyone who guesses it is empty.
    if secret.is_empty() {
        return false;
    }
    Hmac::<Sha256>::new_from_slice(secret)
        .map(|mac| mac.chain_update(body))
        .is_ok_and(|mac| mac.verify_slice(&bytes).is_ok())
}

/// The signature header's value for `body` (tests, and a local sender).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => {
            let digest = mac.chain_update(body).finalize().into_bytes();
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256={hex}")
        }
        Err(_) => String::new(),
    }
}

/// Lower- or upper-case hex as bytes; `None` for anything else.
fn hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn githubs_documented_example_verifies() {
        // The example from GitHub's "Validating webhook deliveries" page.
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify(
            b"It's a Secret to Everybody",
            b"Hello, World!",
            Some(header)
        ));
        assert_eq!(
            sign(b"It's a Secret to Everybody", b"Hello, World!"),
            header
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let good = sign(b"secret", b"body");
        assert!(verify(b"secret", b"body", Some(&good)));
        assert!(!verify(b"secret", b"body!", Some(&good)));
        assert!(!verify(b"other", b"body", Some(&good)));
        assert!(!verify(b"secret", b"body", None));
        assert!(!verify(
            b"secret",
            b"body",
            Some(&good.replace("sha256=", "sha1="))
        ));
        assert!(!verify(b"secret", b"body", Some("sha256=zz")));
        assert!(!verify(b"secret", b"body", Some("sha256=abc")));
        assert!(!verify(b"secret", b"body", Some(&good[..good.len() - 2])));
        assert!(!verify(b"", b"body", Some(&sign(b"", b"body"))));
    }
}
