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
use chrono::{DateTime, Utc};

use crate::error::WebError;
use crate::sign::Signer;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "dsp_session";
/// The pre-sign-in CSRF cookie (double submit on the sign-in form).
pub const SIGNIN_COOKIE: &str = "dsp_signin";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The name they gave (a GitHub login or e-mail).
    pub user: String,
    /// The cookie value, which the CSRF token is bound to.
    raw: String,
}

impl Session {
    /// The CSRF token every POST form of this session carries.
    pub fn csrf(&self, signer: &Signer) -> String {
        signer.sign("csrf", &self.raw)
    }

    /// Refuses a POST whose form token is not this session's.
    pub fn check_csrf(&self, signer: &Signer, token: &str) -> Result<(), WebError> {
        if signer.verify("csrf", &self.raw, token) {
            Ok(())
        } else {
            Err(WebError::Forbidden(
                "the form's CSRF token is missing or wrong; reload the page and try again".into(),
            ))
        }
    }
}

/// True when `name` is a plausible GitHub login or e-mail (what the requester field allows).
pub fn valid_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+'))
}

/// A new session cookie value for `user`, valid until `expires`.
pub fn session_value(signer: &Signer, user: &str, expires: DateTime<Utc>) -> String {
    let body = format!("{user}|{}", expires.timestamp());
    format!("{body}|{}", signer.sign("session", &body))
}

/// The session in a cookie value, if its signature holds and it has not expired.
pub fn parse_session(signer: &Signer, value: &str, now: DateTime<Utc>) -> Option<Session> {
    let (body, sig) = value.rsplit_once('|')?;
    let (user, expires) = body.rsplit_once('|')?;
    let expires: i64 = expires.parse().ok()?;
    (signer.verify("session", body, sig) && expires > now.timestamp() && valid_user_name(user))
        .then(|| Session {
            user: user.to_string(),
            raw: value.to_string(),
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

/// The session of a request, if any.
pub fn session_of(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    cookie(headers, SESSION_COOKIE).and_then(|v| parse_session(&state.signer, v, Utc::now()))
}

/// Compares two secrets in constant time (by comparing their HMACs).
pub fn same_secret(signer: &Signer, given: &str, expected: &str) -> bool {
    signer.verify("code", given, &signer.sign("code", expected))
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
        session_of(state, &parts.headers).ok_or_else(|| WebError::SignIn {
            next: next.unwrap_or_else(|| "/".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn signer() -> Signer {
        Signer::new(&[1u8; 32]).unwrap()
    }

    #[test]
    fn sessions_round_trip_and_expire() {
        let s = signer();
        let now = Utc::now();
        let v = session_value(&s, "alice", now + Duration::hours(1));
        assert_eq!(parse_session(&s, &v, now).unwrap().user, "alice");
        assert!(parse_session(&s, &v, now + Duration::hours(2)).is_none());
        let forged = v.replacen("alice", "mallory", 1);
        assert!(parse_session(&s, &forged, now).is_none());
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let s = signer();
        let now = Utc::now();
        let a = parse_session(&s, &session_value(&s, "a", now + Duration::hours(1)), now).unwrap();
        let b = parse_session(&s, &session_value(&s, "b", now + Duration::hours(1)), now).unwrap();
        assert!(a.check_csrf(&s, &a.csrf(&s)).is_ok());
        assert!(a.check_csrf(&s, &b.csrf(&s)).is_err());
        assert!(a.check_csrf(&s, "").is_err());
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "x=1; dsp_session=abc|1|s; y=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc|1|s"));
        assert_eq!(cookie(&h, "z"), None);
    }

    #[test]
    fn access_code_comparison() {
        let s = signer();
        assert!(same_secret(&s, "open sesame", "open sesame"));
        assert!(!same_secret(&s, "open", "open sesame"));
    }
}
