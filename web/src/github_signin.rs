//! Signing in with GitHub (`PREVIEW_AUTH_MODE=github`): GitHub's OAuth web flow. The sign-in
//! page links to `/auth/github`, which sets a short-lived signed cookie holding a random `state`
//! and where to go afterwards, then sends the browser to GitHub's authorize page; GitHub sends it
//! back to `/auth/github/callback` with a code and the same `state`. The code is exchanged for
//! the person's token, the token asks GitHub who they are and (with [`crate::membership`]) whether
//! they may use the service; then the token is dropped: the session holds only the login.
//!
//! The routes are in `routes/session.rs`; this module holds the settings and the steps.

use chrono::{DateTime, Duration, TimeZone, Utc};
use hyper::{Method, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::auth::SignedInWith;
use crate::error::WebError;
use crate::github::{Caller, GitHub};
use crate::membership::Membership;
use crate::secrets::{read, Secret};
use crate::sign::Signer;

/// github.com, when `PREVIEW_GITHUB_WEB` is unset.
pub const DEFAULT_GITHUB_WEB: &str = "https://github.com";
/// The cookie holding the flow's `state` and `next` between the two redirects.
pub const STATE_COOKIE: &str = "dsp_github_state";
/// How long someone may take on GitHub's page before the flow must start again.
pub const STATE_MINUTES: i64 = 10;
/// Where GitHub sends the browser back to, under the app's public URL.
pub const CALLBACK_PATH: &str = "/auth/github/callback";
/// What the app asks GitHub for: reading org and team memberships, nothing else.
pub const SCOPE: &str = "read:org";
/// What the access code is in GitHub mode when none is configured (sessions are bound to the
/// code's fingerprint, and no form accepts a code in this mode).
pub const NO_ACCESS_CODE: &str = "(GitHub mode: no access code)";

/// How people sign in.
#[derive(Debug, Clone)]
pub enum SigninMode {
    /// The shared access code and a self-declared name (the default).
    AccessCode,
    /// GitHub's OAuth, with these settings.
    GitHub(Box<GitHubSignin>),
}

impl SigninMode {
    /// The GitHub settings, in GitHub mode.
    pub fn github(&self) -> Option<&GitHubSignin> {
        match self {
            SigninMode::GitHub(g) => Some(g),
            SigninMode::AccessCode => None,
        }
    }

    /// The kind of session this mode makes (and the only one it accepts).
    pub fn signs_in_with(&self) -> SignedInWith {
        match self {
            SigninMode::AccessCode => SignedInWith::AccessCode,
            SigninMode::GitHub(_) => SignedInWith::GitHub,
        }
    }

    /// The mode the environment asks for (see [`parse_mode`]), with its settings read (the
    /// client secret from Secrets Manager when given as `PREVIEW_GITHUB_CLIENT_SECRET_ARN`).
    pub async fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        secrets: &aws_sdk_secretsmanager::Client,
    ) -> Result<SigninMode, WebError> {
        let client_id = env("PREVIEW_GITHUB_CLIENT_ID");
        let mode = parse_mode(env("PREVIEW_AUTH_MODE").as_deref(), client_id.is_some())?;
        if mode == SignedInWith::AccessCode {
            return Ok(SigninMode::AccessCode);
        }
        let client_id = client_id.ok_or_else(|| {
            WebError::Config("PREVIEW_AUTH_MODE=github needs PREVIEW_GITHUB_CLIENT_ID".into())
        })?;
        let secret = env("PREVIEW_GITHUB_CLIENT_SECRET_ARN")
            .map(Secret::Arn)
            .or_else(|| env("PREVIEW_GITHUB_CLIENT_SECRET").map(Secret::Value))
            .ok_or_else(|| {
                WebError::Config(
                    "PREVIEW_AUTH_MODE=github needs PREVIEW_GITHUB_CLIENT_SECRET_ARN (or \
                     PREVIEW_GITHUB_CLIENT_SECRET)"
                        .into(),
                )
            })?;
        let client_secret = read(Some(secrets), &secret, "PREVIEW_GITHUB_CLIENT_SECRET").await?;
        let list = |k: &str| env(k).unwrap_or_default();
        Ok(SigninMode::GitHub(Box::new(GitHubSignin {
            client_id,
            client_secret,
            web: env("PREVIEW_GITHUB_WEB").unwrap_or_else(|| DEFAULT_GITHUB_WEB.into()),
            public_url: env("PREVIEW_PUBLIC_URL"),
            rules: Membership::parse(
                &list("PREVIEW_GITHUB_ALLOWED_USERS"),
                &list("PREVIEW_GITHUB_MAINTAINERS"),
                &list("PREVIEW_GITHUB_ORGS"),
            )?,
        })))
    }
}

/// `PREVIEW_AUTH_MODE` (`access-code` or `github`); unset, GitHub when a client id is configured.
pub fn parse_mode(explicit: Option<&str>, has_client_id: bool) -> Result<SignedInWith, WebError> {
    match explicit.map(str::trim) {
        Some("access-code") => Ok(SignedInWith::AccessCode),
        Some("github") => Ok(SignedInWith::GitHub),
        None | Some("") if has_client_id => Ok(SignedInWith::GitHub),
        None | Some("") => Ok(SignedInWith::AccessCode),
        Some(other) => Err(WebError::Config(format!(
            "PREVIEW_AUTH_MODE is '{other}'; set it to access-code or github"
        ))),
    }
}

/// The OAuth app and who may sign in.
#[derive(Clone)]
pub struct GitHubSignin {
    /// The OAuth app's client id (`PREVIEW_GITHUB_CLIENT_ID`).
    pub client_id: String,
    /// Its secret (`PREVIEW_GITHUB_CLIENT_SECRET[_ARN]`).
    pub client_secret: String,
    /// github.com (`PREVIEW_GITHUB_WEB`; the recorded server locally).
    pub web: String,
    /// The app's public URL (`PREVIEW_PUBLIC_URL`); unset, the request's `Host`.
    pub public_url: Option<String>,
    /// Who may sign in, and who may act on every preview.
    pub rules: Membership,
}

impl std::fmt::Debug for GitHubSignin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubSignin")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("web", &self.web)
            .field("public_url", &self.public_url)
            .field("rules", &self.rules)
            .finish()
    }
}

impl GitHubSignin {
    /// Where GitHub sends the browser back: `PREVIEW_PUBLIC_URL`, else this request's host
    /// (GitHub only accepts the callback URL registered for the app, so a forged `Host` gets
    /// nowhere).
    pub fn redirect_uri(&self, host: Option<&str>, https: bool) -> Result<String, WebError> {
        let base = match (&self.public_url, host) {
            (Some(public), _) => public.trim_end_matches('/').to_string(),
            (None, Some(host)) if valid_host(host) => {
                format!("{}://{host}", if https { "https" } else { "http" })
            }
            _ => {
                return Err(WebError::Config(
                    "set PREVIEW_PUBLIC_URL: the request names no usable host".into(),
                ))
            }
        };
        Ok(format!("{base}{CALLBACK_PATH}"))
    }

    /// GitHub's authorize page for this sign-in.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        let enc = crate::pages::url_encode;
        format!(
            "{}/login/oauth/authorize?client_id={}&redirect_uri={}&state={}&scope={}",
            self.web.trim_end_matches('/'),
            enc(&self.client_id),
            enc(redirect_uri),
            enc(state),
            enc(SCOPE)
        )
    }
}

/// `host[:port]` with a host name's characters only (it goes into a URL).
fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '[' | ']'))
}

/// What the state cookie carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowState {
    /// The random value GitHub hands back.
    pub state: String,
    /// Where to go once signed in (a path on this site).
    pub next: String,
    /// When the flow expires.
    pub expires: DateTime<Utc>,
}

impl FlowState {
    /// A new flow towards `next`.
    pub fn new(next: &str, now: DateTime<Utc>) -> FlowState {
        FlowState {
            state: format!("{:032x}", rand::random::<u128>()),
            next: next.to_string(),
            expires: now + Duration::minutes(STATE_MINUTES),
        }
    }

    /// The signed cookie value (`next` hex-encoded, so no cookie delimiter can sit in it).
    pub fn cookie_value(&self, signer: &Signer) -> String {
        let next: String = self.next.bytes().map(|b| format!("{b:02x}")).collect();
        let body = format!("{}|{}|{next}", self.state, self.expires.timestamp());
        format!("{body}|{}", signer.sign("github-state", &body))
    }

    /// The flow in a cookie value, if signed by us and not expired.
    pub fn parse(signer: &Signer, value: &str, now: DateTime<Utc>) -> Option<FlowState> {
        let (body, sig) = value.rsplit_once('|')?;
        if !signer.verify("github-state", body, sig) {
            return None;
        }
        let mut parts = body.split('|');
        let (state, expires, next) = (parts.next()?, parts.next()?, parts.next()?);
        let expires = Utc.timestamp_opt(expires.parse().ok()?, 0).single()?;
        let bytes = (0..next.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(next.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let next = String::from_utf8(bytes).ok()?;
        (parts.next().is_none() && expires > now).then(|| FlowState {
            state: state.to_string(),
            next,
            expires,
        })
    }
}

/// A person's OAuth token: used for the membership checks of one sign-in, then dropped; never
/// printed.
pub struct UserToken(String);

impl UserToken {
    /// The token, to put in a [`Caller::User`].
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for UserToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserToken(<redacted>)")
    }
}

/// GitHub's answer to the code exchange: a token, or (with status 200) an error.
#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Trades the callback's `code` for the person's token. GitHub's refusals (a used or expired
/// code, wrong client credentials) come back as a 403 saying to start again.
pub async fn exchange(
    github: &GitHub,
    app: &GitHubSignin,
    code: &str,
    redirect_uri: &str,
) -> Result<UserToken, WebError> {
    let url = format!("{}/login/oauth/access_token", app.web.trim_end_matches('/'));
    let body = json!({
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "code": code,
        "redirect_uri": redirect_uri,
    });
    let answer = github
        .call_accepting(
            Method::POST,
            &url,
            Caller::Anonymous,
            Some(&body),
            Some("application/json"),
        )
        .await
        .map_err(not_answered)?;
    if !answer.ok() {
        return Err(WebError::GitHub(format!(
            "GitHub could not complete the sign-in ({}); start again from the sign-in page.",
            answer.describe()
        )));
    }
    let token: TokenAnswer = answer.json()?;
    match (token.access_token, token.error) {
        (Some(t), None) if !t.is_empty() => Ok(UserToken(t)),
        (_, error) => {
            let error = error.unwrap_or_else(|| "no token".into());
            tracing::warn!(%error, "GitHub refused the code exchange");
            Err(WebError::Forbidden(format!(
                "GitHub refused the sign-in ({error}{}); start again from the sign-in page.",
                token
                    .error_description
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            )))
        }
    }
}

/// A call GitHub did not answer (unreachable, timed out), saying what to do.
fn not_answered(e: WebError) -> WebError {
    match e {
        WebError::GitHub(why) => WebError::GitHub(format!(
            "{why}; you are not signed in: start again from the sign-in page in a minute."
        )),
        other => other,
    }
}

/// The login of the token's owner (`GET /user`).
pub async fn login_of(github: &GitHub, token: &UserToken) -> Result<String, WebError> {
    #[derive(Deserialize)]
    struct User {
        login: String,
    }
    let answer = github
        .call(Method::GET, "/user", Caller::User(token.secret()), None)
        .await
        .map_err(not_answered)?;
    if answer.status != StatusCode::OK {
        return Err(WebError::GitHub(format!(
            "GitHub would not say who you are ({}); start again from the sign-in page.",
            answer.describe()
        )));
    }
    Ok(answer.json::<User>()?.login)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> GitHubSignin {
        GitHubSignin {
            client_id: "Iv1.x".into(),
            client_secret: "s".into(),
            web: "https://github.com/".into(),
            public_url: None,
            rules: Membership::default(),
        }
    }

    #[test]
    fn the_mode_is_explicit_or_follows_the_client_id() {
        assert_eq!(parse_mode(None, false).unwrap(), SignedInWith::AccessCode);
        assert_eq!(parse_mode(None, true).unwrap(), SignedInWith::GitHub);
        assert_eq!(
            parse_mode(Some("access-code"), true).unwrap(),
            SignedInWith::AccessCode
        );
        assert_eq!(
            parse_mode(Some("github"), false).unwrap(),
            SignedInWith::GitHub
        );
        assert!(parse_mode(Some("oauth"), true).is_err());
    }

    /// The settings `vars` give, read with a Secrets Manager client that is never reached.
    async fn from(vars: &[(&str, &str)]) -> Result<SigninMode, WebError> {
        let env = |k: &str| {
            vars.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        };
        let conf = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        SigninMode::from_env(&env, &aws_sdk_secretsmanager::Client::from_conf(conf)).await
    }

    #[tokio::test]
    async fn settings_come_from_the_environment_and_gaps_are_named() {
        assert!(matches!(from(&[]).await, Ok(SigninMode::AccessCode)));
        let full = [
            ("PREVIEW_GITHUB_CLIENT_ID", "Iv1.x"),
            ("PREVIEW_GITHUB_CLIENT_SECRET", "s"),
            ("PREVIEW_GITHUB_ORGS", "DSpace/dspace-committers"),
            ("PREVIEW_GITHUB_MAINTAINERS", "mo"),
        ];
        let mode = from(&full).await.unwrap();
        let github = mode.github().unwrap();
        assert_eq!(github.web, DEFAULT_GITHUB_WEB);
        assert!(github.rules.is_maintainer("MO"));
        let only_id = from(&full[..1]).await.unwrap_err().to_string();
        assert!(
            only_id.contains("PREVIEW_GITHUB_CLIENT_SECRET_ARN"),
            "{only_id}"
        );
        let no_id = from(&[("PREVIEW_AUTH_MODE", "github")]).await.unwrap_err();
        assert!(
            no_id.to_string().contains("PREVIEW_GITHUB_CLIENT_ID"),
            "{no_id}"
        );
        let typo = [full[0], full[1], ("PREVIEW_GITHUB_ORGS", "a/b/c")];
        assert!(from(&typo).await.is_err());
        let forced = [full[0], ("PREVIEW_AUTH_MODE", "access-code")];
        assert!(matches!(from(&forced).await, Ok(SigninMode::AccessCode)));
    }

    #[test]
    fn the_flow_state_round_trips_and_cannot_be_changed() {
        let signer = Signer::new(&[3u8; 32]).unwrap();
        let now = Utc::now();
        let flow = FlowState::new("/previews/x?a=b|c;d", now);
        let value = flow.cookie_value(&signer);
        assert!(!value.contains(';'));
        let parsed = FlowState::parse(&signer, &value, now).unwrap();
        assert_eq!(parsed.state, flow.state);
        assert_eq!(parsed.next, flow.next);
        assert!(FlowState::parse(&signer, &value, now + Duration::minutes(11)).is_none());
        let forged = value.replacen(&flow.state, &"0".repeat(32), 1);
        assert!(FlowState::parse(&signer, &forged, now).is_none());
    }

    #[test]
    fn the_authorize_url_carries_the_callback_and_state() {
        let a = app();
        let cb = a.redirect_uri(Some("preview.example:8080"), true).unwrap();
        assert_eq!(cb, "https://preview.example:8080/auth/github/callback");
        assert_eq!(
            a.authorize_url(&cb, "abc"),
            "https://github.com/login/oauth/authorize?client_id=Iv1.x&redirect_uri=https%3A//preview.example%3A8080/auth/github/callback&state=abc&scope=read%3Aorg"
        );
        assert!(a.redirect_uri(Some("evil/x"), true).is_err());
        let public = GitHubSignin {
            public_url: Some("https://p.example/".into()),
            ..app()
        };
        assert_eq!(
            public.redirect_uri(Some("other"), false).unwrap(),
            "https://p.example/auth/github/callback"
        );
        assert!(!format!("{public:?}").contains("\"s\""));
    }
}
