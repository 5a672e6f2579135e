//! The link key and the access code. In AWS they live in Secrets Manager and are read at run
//! time, cached for a few minutes so a rotated access code applies soon without a redeploy;
//! locally they come from plain environment variables. Their values are never logged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::error::{OrAws, WebError};
use crate::sign::Signer;

/// How long values read from Secrets Manager are used before they are read again.
pub const DEFAULT_CACHE: Duration = Duration::from_secs(300);

/// The keys in force: the signer (sessions, CSRF tokens, links) and the access code.
pub struct Keys {
    /// Signs sessions, CSRF tokens and callback links.
    pub signer: Signer,
    access_code: String,
    code_fingerprint: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

impl Keys {
    /// Keys from the link key (at least 32 bytes) and the access code (not empty).
    pub fn new(link_key: &[u8], access_code: &str) -> Result<Keys, WebError> {
        let signer = Signer::new(link_key)?;
        if access_code.trim().is_empty() {
            return Err(WebError::Config(
                "the access code is empty; set PREVIEW_ACCESS_CODE or its secret".into(),
            ));
        }
        // Sessions carry this keyed fingerprint, so changing the code ends every session made
        // with the old one; a short prefix of an HMAC says nothing about the code.
        let code_fingerprint = signer
            .sign("access-code-fingerprint", access_code)
            .chars()
            .take(16)
            .collect();
        Ok(Keys {
            signer,
            access_code: access_code.to_string(),
            code_fingerprint,
        })
    }

    /// True when `given` is the access code (compared in constant time through HMACs).
    pub fn code_matches(&self, given: &str) -> bool {
        crate::auth::same_secret(self, given, &self.access_code)
    }

    /// The keyed fingerprint of the access code that sessions are bound to.
    pub fn code_fingerprint(&self) -> &str {
        &self.code_fingerprint
    }
}

/// Where one secret comes from.
#[derive(Clone)]
pub enum Secret {
    /// The value itself (local runs, tests).
    Value(String),
    /// A Secrets Manager secret's ARN (or name); its `SecretString` is the value.
    Arn(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Value(_) => f.write_str("Value(<redacted>)"),
            Secret::Arn(arn) => write!(f, "Arn({arn})"),
        }
    }
}

/// The keys, read when first needed and again once the cache is older than its lifetime.
pub struct KeySource {
    client: Option<aws_sdk_secretsmanager::Client>,
    link_key: Secret,
    access_code: Secret,
    cache_for: Duration,
    cached: Mutex<Option<(Instant, Arc<Keys>)>>,
}

impl KeySource {
    /// Fixed keys (no Secrets Manager).
    pub fn fixed(link_key: &[u8], access_code: &str) -> Result<KeySource, WebError> {
        let keys = Keys::new(link_key, access_code)?;
        Ok(KeySource {
            client: None,
            link_key: Secret::Value(String::new()),
            access_code: Secret::Value(String::new()),
            cache_for: Duration::MAX,
            cached: Mutex::new(Some((Instant::now(), Arc::new(keys)))),
        })
    }

    /// Keys from two secrets; `client` reads those given as ARNs, every `cache_for`.
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        link_key: Secret,
        access_code: Secret,
        cache_for: Duration,
    ) -> KeySource {
        KeySource {
            client: Some(client),
            link_key,
            access_code,
            cache_for,
            cached: Mutex::new(None),
        }
    }

    /// The keys in force. When Secrets Manager cannot be read, the last keys read stay in use
    /// (a short outage should not sign everyone out); with none read yet, the error says why.
    pub async fn current(&self) -> Result<Arc<Keys>, WebError> {
        let mut cached = self.cached.lock().await;
        if let Some((at, keys)) = cached.as_ref() {
            if at.elapsed() < self.cache_for {
                return Ok(keys.clone());
            }
        }
        match self.read().await {
            Ok(keys) => {
                let keys = Arc::new(keys);
                *cached = Some((Instant::now(), keys.clone()));
                Ok(keys)
            }
            Err(e) => match cached.as_ref() {
                Some((_, keys)) => {
                    tracing::warn!(error = %e, "secrets not refreshed; the last keys read stay in use");
                    Ok(keys.clone())
                }
                None => Err(e),
            },
        }
    }

    async fn read(&self) -> Result<Keys, WebError> {
        let (link_key, access_code) = tokio::try_join!(
            self.value(&self.link_key, "PREVIEW_LINK_KEY"),
            self.value(&self.access_code, "PREVIEW_ACCESS_CODE"),
        )?;
        Keys::new(link_key.as_bytes(), &access_code)
    }

    async fn value(&self, secret: &Secret, what: &str) -> Result<String, WebError> {
        read(self.client.as_ref(), secret, what).await
    }
}

/// A secret's value: the value itself, or the `SecretString` `client` reads for an ARN. `what`
/// names the setting in errors.
pub async fn read(
    client: Option<&aws_sdk_secretsmanager::Client>,
    secret: &Secret,
    what: &str,
) -> Result<String, WebError> {
    let arn = match secret {
        Secret::Value(v) => return Ok(v.clone()),
        Secret::Arn(arn) => arn,
    };
    let client = client.ok_or_else(|| {
        WebError::Config(format!("{what}: no Secrets Manager client to read {arn}"))
    })?;
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .or_aws(&format!("secretsmanager:GetSecretValue {arn}"))?;
    out.secret_string().map(str::to_string).ok_or_else(|| {
        WebError::Config(format!(
            "{what}: the secret {arn} has no SecretString; store the value as text"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_checked_and_its_fingerprint_follows_it() {
        let a = Keys::new(&[1u8; 32], "open sesame").unwrap();
        let b = Keys::new(&[1u8; 32], "new code").unwrap();
        assert!(a.code_matches("open sesame"));
        assert!(!a.code_matches("open"));
        assert_ne!(a.code_fingerprint(), b.code_fingerprint());
        assert!(!a.code_fingerprint().contains("sesame"));
        assert_eq!(format!("{a:?}"), "Keys(<redacted>)");
        assert_eq!(
            format!("{:?}", Secret::Value("x".into())),
            "Value(<redacted>)"
        );
        assert!(Keys::new(&[1u8; 32], " ").is_err());
    }
}
