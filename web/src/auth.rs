//! Sign-in with a shared access code, the signed session cookie, and CSRF tokens.
//!
//! Why a shared access code: DSpace's testers are a broad community (committers, institutions,
//! volunteers) without one GitHub org to check; a code handed out on the mailing list or Slack is
//! the most accessible gate that still keeps drive-by visitors from spending the project's EC2
//! budget. Everyone names themselves at sign-in so the audit log says who did what. GitHub OAuth
//! with an allowlist can replace this later behind the same [`Session`].

use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use chrono::{DateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::error::WebError;
use crate::secrets::Keys;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "dsp_session";
/// The pre-sign-in CSRF cookie (double submit on the sign-in form).
pub const SIGNIN_COOKIE: &str = "dsp_signin";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Session {
    /// The name they gave (a GitHub login or e-mail).
    pub user: String,
    /// When the session ends anyway.
    pub expires: DateTime<Utc>,
    /// The cookie value, which the CSRF token is bound to.
    raw: String,
    /// The keys it was checked with (the CSRF token is signed with them).
    keys: Arc<Keys>,
}

impl Session {
    /// The CSRF token every POST form of this session carries.
    pub fn csrf(&self) -> String {
        self.keys.signer.sign("csrf", &self.raw)
    }

    /// Refuses a POST whose form token is not this session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), WebError> {
        if self.keys.signer.verify("csrf", &self.raw, token) {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "the form's CSRF token is missing or wrong; reload the page and try again".into(),
            ))
        }
    }

    /// The keys in force when the request came in.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The id a sign-out revokes (a hash of the cookie, so the id reveals nothing).
    pub fn id(&self) -> String {
        session_id(&self.raw)
    }
}

/// The revocation id of a session cookie value.
pub fn session_id(raw: &str) -> String {
    Sha256::digest(raw.as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// True when `name` is a plausible GitHub login or e-mail (what the requester field allows).
pub fn valid_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+'))
}

/// A new session cookie value for `user`, valid until `expires`, bound to the current access
/// code (rotating the code ends it) and unique (a sign-out revokes this one only).
pub fn session_value(keys: &Keys, user: &str, expires: DateTime<Utc>) -> String {
    let nonce = format!("{:016x}", rand::random::<u64>());
    let body = format!(
        "{user}|{}|{}|{nonce}",
        expires.timestamp(),
        keys.code_fingerprint()
    );
    format!("{body}|{}", keys.signer.sign("session", &body))
}

/// The session in a cookie value, if its signature holds, it has not expired and it was made
/// with the access code in force.
pub fn parse_session(keys: &Arc<Keys>, value: &str, now: DateTime<Utc>) -> Option<Session> {
    let (body, sig) = value.rsplit_once('|')?;
    let mut parts = body.split('|');
    let (user, expires, fingerprint, _nonce) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let expires = Utc.timestamp_opt(expires.parse().ok()?, 0).single()?;
    (parts.next().is_none()
        && keys.signer.verify("session", body, sig)
        && expires > now
        && fingerprint == keys.code_fingerprint()
        && valid_user_name(user))
    .then(|| Session {
        user: user.to_string(),
        expires,
        raw: value.to_string(),
        keys: keys.clone(),
    })
}

/// The value of cookie `name` in the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when the app is served over HTTPS.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}")
}

/// Compares two secrets in constant time (by comparing their HMACs).
pub fn same_secret(keys: &Keys, given: &str, expected: &str) -> bool {
    keys.signer
        .verify("code", given, &keys.signer.sign("code", expected))
}

/// The session of a request, if any: signed, unexpired, made with the current access code and
/// not signed out.
pub async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Session>, WebError> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let keys = state.keys.current().await?;
    let Some(session) = parse_session(&keys, value, Utc::now()) else {
        return Ok(None);
    };
    if state.revocations.is_revoked(state, &session.id()).await? {
        return Ok(None);
    }
    Ok(Some(session))
}

impl FromRequestParts<AppState> for Session {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // After signing in the browser GETs `next`: a POST's path would answer 405, so go home.
        let next = match parts.method {
            axum::http::Method::GET => parts.uri.path_and_query().map(|p| p.as_str().to_string()),
            _ => None,
        };
        session_of(state, &parts.headers)
            .await?
            .ok_or_else(|| WebError::SignIn {
                next: next.unwrap_or_else(|| "/".into()),
            })
    }
}

/// Where to go after signing in: only a path on this site. Anything else (a scheme, `//host`,
/// a backslash, which browsers read as `/`, control characters such as tab, CR and LF, spaces,
/// non-ASCII) is ignored in favour of the home page, so `next` can neither leave the site nor
/// break the `Location` header.
pub fn safe_next(next: &str) -> &str {
    let printable = next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if printable && next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn keys(code: &str) -> Arc<Keys> {
        Arc::new(Keys::new(&[1u8; 32], code).unwrap())
    }

    #[test]
    fn sessions_round_trip_and_expire() {
        let k = keys("c");
        let now = Utc::now();
        let v = session_value(&k, "alice", now + Duration::hours(1));
        assert_eq!(parse_session(&k, &v, now).unwrap().user, "alice");
        assert!(parse_session(&k, &v, now + Duration::hours(2)).is_none());
        let forged = v.replacen("alice", "mallory", 1);
        assert!(parse_session(&k, &forged, now).is_none());
        assert_ne!(
            session_id(&v),
            session_id(&session_value(&k, "alice", now + Duration::hours(1))),
            "two sign-ins are two sessions"
        );
    }

    #[test]
    fn a_new_access_code_ends_every_session() {
        let now = Utc::now();
        let v = session_value(&keys("old"), "alice", now + Duration::hours(1));
        assert!(parse_session(&keys("old"), &v, now).is_some());
        assert!(parse_session(&keys("new"), &v, now).is_none());
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let k = keys("c");
        let now = Utc::now();
        let a = parse_session(&k, &session_value(&k, "a", now + Duration::hours(1)), now).unwrap();
        let b = parse_session(&k, &session_value(&k, "b", now + Duration::hours(1)), now).unwrap();
        assert!(a.check_csrf(&a.csrf()).is_ok());
        assert!(a.check_csrf(&b.csrf()).is_err());
        assert!(a.check_csrf("").is_err());
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "x=1; dsp_session=abc|1|s; y=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc|1|s"));
        assert_eq!(cookie(&h, "z"), None);
    }

    #[test]
    fn only_same_site_paths_after_sign_in() {
        assert_eq!(
            safe_next("/previews/x?notice=a%20b"),
            "/previews/x?notice=a%20b"
        );
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\tevil",
            "/a\r\nSet-Cookie: x=1",
            "/a b",
            "/é",
            "evil",
            "",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }
}
