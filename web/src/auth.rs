//! Sign-in with a shared access code, the signed session cookie, and CSRF tokens.
//!
//! Why a shared access code: DSpace's testers are a broad community (committers, institutions,
//! volunteers) without one GitHub org to check; a code handed out on the mailing list or Slack is
//! the most accessible gate that still keeps drive-by visitors from spending the project's EC2
//! budget. Everyone names themselves at sign-in so the audit log says who did what.
//!
//! With `PREVIEW_AUTH_MODE=github` people sign in with GitHub instead ([`crate::github_signin`]):
//! the session then carries the GitHub login and says so ([`SignedInWith::GitHub`]), and only
//! that mode's sessions are accepted, so switching modes signs everyone out.

use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use chrono::{DateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::error::WebError;
use crate::pages::Viewer;
use crate::secrets::Keys;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "dsp_session";
/// The pre-sign-in CSRF cookie (double submit on the sign-in form).
pub const SIGNIN_COOKIE: &str = "dsp_signin";
/// How long a session lasts.
pub const SESSION_HOURS: i64 = 12;

/// How a session's person proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedInWith {
    /// The shared access code; the name is self-declared.
    AccessCode,
    /// GitHub's OAuth; the name is their GitHub login.
    GitHub,
}

/// The marker a GitHub session's cookie carries after its nonce.
const GITHUB_MARKER: &str = "github";

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct Session {
    /// The name they gave (a GitHub login or e-mail), or their GitHub login.
    pub user: String,
    /// How they signed in.
    pub via: SignedInWith,
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

    /// The name as pages show it: `@login` for GitHub, the name given otherwise.
    pub fn shown_as(&self) -> String {
        match self.via {
            SignedInWith::GitHub => format!("@{}", self.user),
            SignedInWith::AccessCode => self.user.clone(),
        }
    }

    /// Who this is, as the pages need it (name, CSRF token, which buttons show).
    pub fn viewer(&self, state: &AppState) -> Viewer {
        Viewer {
            user: self.user.clone(),
            github: self.via == SignedInWith::GitHub,
            csrf: self.csrf(),
            acts_on_any: acts_on_any(state, self),
        }
    }
}

/// True when someone may stop or extend a preview `requester` launched: anyone who may act on
/// every preview (`any`), or the requester themselves (logins compare case-insensitively, as on
/// GitHub). See [`acts_on_any`] for who is `any`.
pub fn may_act(any: bool, user: &str, requester: &str) -> bool {
    any || (!requester.is_empty() && requester.eq_ignore_ascii_case(user))
}

/// True when `session` may stop or extend every preview. In access-code mode everyone signed in
/// may, as before: names there are self-declared, so comparing them with the requester would
/// only pretend to protect anything. With GitHub, only the maintainers
/// (`PREVIEW_GITHUB_MAINTAINERS`); others act on their own previews ([`may_act`]).
pub fn acts_on_any(state: &AppState, session: &Session) -> bool {
    match (session.via, state.signin.github()) {
        (SignedInWith::GitHub, Some(github)) => github.rules.is_maintainer(&session.user),
        _ => true,
    }
}

/// Refuses (403) a stop or extend by someone who may not act on `requester`'s preview.
pub fn check_may_act(state: &AppState, session: &Session, requester: &str) -> Result<(), WebError> {
    if may_act(acts_on_any(state, session), &session.user, requester) {
        return Ok(());
    }
    Err(WebError::Forbidden(format!(
        "only {} (who launched this preview) and the maintainers may stop or extend it; ask \
         one of them, or launch your own",
        if requester.is_empty() {
            "the requester".to_string()
        } else {
            format!("@{requester}")
        }
    )))
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
    signed_session(keys, user, expires, None)
}

/// The `Set-Cookie` value of a new session for `user`, signed in `via`, lasting
/// [`SESSION_HOURS`].
pub fn new_session_cookie(keys: &Keys, user: &str, via: SignedInWith, secure: bool) -> String {
    let expires = Utc::now() + chrono::Duration::hours(SESSION_HOURS);
    let value = match via {
        SignedInWith::AccessCode => session_value(keys, user, expires),
        SignedInWith::GitHub => github_session_value(keys, user, expires),
    };
    set_cookie(SESSION_COOKIE, &value, SESSION_HOURS * 3600, secure)
}

/// A new session cookie value for the GitHub login `login` (marked as such), valid until
/// `expires`.
pub fn github_session_value(keys: &Keys, login: &str, expires: DateTime<Utc>) -> String {
    signed_session(keys, login, expires, Some(GITHUB_MARKER))
}

fn signed_session(keys: &Keys, user: &str, expires: DateTime<Utc>, marker: Option<&str>) -> String {
    let nonce = format!("{:016x}", rand::random::<u64>());
    let marker = marker.map(|m| format!("|{m}")).unwrap_or_default();
    let body = format!(
        "{user}|{}|{}|{nonce}{marker}",
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
    // The marker is inside the signed body, so an access-code session cannot claim GitHub.
    let via = match parts.next() {
        None => SignedInWith::AccessCode,
        Some(GITHUB_MARKER) => SignedInWith::GitHub,
        Some(_) => return None,
    };
    (parts.next().is_none()
        && keys.signer.verify("session", body, sig)
        && expires > now
        && fingerprint == keys.code_fingerprint()
        && valid_user_name(user))
    .then(|| Session {
        user: user.to_string(),
        via,
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
    if session.via != state.signin.signs_in_with() {
        return Ok(None);
    }
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
    fn github_sessions_are_marked_and_the_mark_cannot_be_forged() {
        let k = keys("c");
        let now = Utc::now();
        let v = github_session_value(&k, "octo", now + Duration::hours(1));
        let s = parse_session(&k, &v, now).unwrap();
        assert_eq!((s.user.as_str(), s.via), ("octo", SignedInWith::GitHub));
        assert_eq!(s.shown_as(), "@octo");
        let code = session_value(&k, "octo", now + Duration::hours(1));
        assert_eq!(
            parse_session(&k, &code, now).unwrap().via,
            SignedInWith::AccessCode
        );
        let (body, sig) = code.rsplit_once('|').unwrap();
        assert!(parse_session(&k, &format!("{body}|github|{sig}"), now).is_none());
    }

    #[test]
    fn only_the_requester_or_anyone_allowed_may_act() {
        assert!(may_act(false, "Octo", "octo"));
        assert!(!may_act(false, "octo", "other"));
        assert!(!may_act(false, "octo", ""));
        assert!(may_act(true, "mo", "other"));
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
