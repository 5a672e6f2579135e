//! Task tokens: opaque to callers, but they carry the execution ARN so that a callback can be
//! routed (and a dead token told apart from one that never existed) without a global table.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// AWS's limit on task token length.
pub const MAX_TOKEN_LEN: usize = 1024;

#[derive(Serialize, Deserialize)]
struct Body {
    #[serde(rename = "e")]
    execution: String,
    #[serde(rename = "n")]
    nonce: String,
}

/// A fresh token for a task of `execution_arn`.
pub fn issue(execution_arn: &str) -> String {
    let body = Body {
        execution: execution_arn.to_string(),
        nonce: uuid::Uuid::new_v4().simple().to_string(),
    };
    // Serialising two strings cannot fail; fall back to the nonce alone just in case.
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| body.nonce.clone().into_bytes());
    URL_SAFE_NO_PAD.encode(json)
}

/// The execution ARN a token belongs to; `None` if the token is malformed.
pub fn execution_of(token: &str) -> Option<String> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let body: Body = serde_json::from_slice(&bytes).ok()?;
    Some(body.execution)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = issue("arn:aws:states:us-east-1:000000000000:execution:sm:e1");
        assert_eq!(
            execution_of(&t).as_deref(),
            Some("arn:aws:states:us-east-1:000000000000:execution:sm:e1")
        );
        assert!(t.len() <= MAX_TOKEN_LEN);
        assert_eq!(execution_of("not a token"), None);
    }
}
