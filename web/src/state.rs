//! What the app builds once per process: the steps' context (AWS clients, dials, region), keys.

use std::ops::Deref;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use preview_tasks::{aws::region_of, Clients, Config, Ctx};

use crate::cached_builds::CachedBuilds;
use crate::error::WebError;
use crate::github::GitHub;
use crate::github_signin::{SigninMode, NO_ACCESS_CODE};
use crate::revocations::Revocations;
use crate::secrets::{read, KeySource, Secret, DEFAULT_CACHE};
use crate::throttle::SigninThrottle;
use crate::time_to_url::TimeToUrl;
use crate::webhook::allowed::AllowedUsers;
use crate::webhook::WebhookSettings;

/// The GitHub API when `PREVIEW_GITHUB_API` is unset.
pub const DEFAULT_GITHUB_API: &str = "https://api.github.com";

/// How long a launch waits for the capacity check by default (it answers within a second or two).
pub const DEFAULT_LAUNCH_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Everything handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Settings>);

/// The shared parts.
pub struct Settings {
    /// The steps' context, shared so pages read dials exactly as the steps do: `ctx.clients`
    /// (`clients.sfn` talks to Step Functions, `AWS_ENDPOINT_URL_SFN` locally), `ctx.base` (the
    /// deployment's dials; [`Ctx::config`] adds the run-time ones) and `ctx.region` (console links).
    pub ctx: Ctx,
    /// The state machine whose executions are previews.
    pub state_machine_arn: String,
    /// The link key (signs sessions, CSRF tokens and callback links) and the shared sign-in code.
    pub keys: KeySource,
    /// Signed-out sessions.
    pub revocations: Revocations,
    /// Sign-in attempts per address and in all.
    pub signin_throttle: SigninThrottle,
    /// How long a launch waits for the capacity check's answer before saying "starting".
    pub launch_answer_wait: std::time::Duration,
    /// The GitHub API (the PR picker and the PR checks at launch).
    pub github: GitHub,
    /// Mark cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// What the build cache holds, for the launch form.
    pub cached_builds: CachedBuilds,
    /// When each finished preview got its URL, for the past list.
    pub time_to_url: TimeToUrl,
    /// The GitHub webhook's secret and allowed users; `None` turns the webhook off.
    pub webhook: Option<WebhookSettings>,
    /// How people sign in: the access code, or GitHub (`PREVIEW_AUTH_MODE`).
    pub signin: SigninMode,
    /// The PR comment and deployment statuses; `None` when off.
    pub pr_status: Option<crate::pr_status::PrStatusSettings>,
}

impl Deref for AppState {
    type Target = Settings;
    fn deref(&self) -> &Settings {
        &self.0
    }
}

impl AppState {
    /// State from parts (tests, the local run command).
    pub fn new(settings: Settings) -> AppState {
        AppState(Arc::new(settings))
    }

    /// Loads the SDK config and every setting from the environment; names what is missing.
    pub async fn from_env() -> Result<AppState, WebError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let required =
            |k: &str| env(k).ok_or_else(|| WebError::Config(format!("set {k} (see web/README)")));
        let config = Config::from_env()?;
        let state_machine_arn = env("PREVIEW_STATE_MACHINE_ARN")
            .or_else(|| config.state_machine_arn.clone())
            .ok_or_else(|| WebError::Config("set PREVIEW_STATE_MACHINE_ARN".into()))?;
        // In AWS the secrets' ARNs are given and the values read at run time; locally, the values.
        let secret = |name: &str| match env(&format!("{name}_SECRET_ARN")) {
            Some(arn) => Ok(Secret::Arn(arn)),
            None => required(name).map(Secret::Value),
        };
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        let signin = SigninMode::from_env(&env, &aws_sdk_secretsmanager::Client::new(&sdk)).await?;
        // Signing in with GitHub needs no access code; sessions still bind to one (a constant).
        let access_code = match secret("PREVIEW_ACCESS_CODE") {
            Err(_) if signin.github().is_some() => Secret::Value(NO_ACCESS_CODE.into()),
            code => code?,
        };
        let link_key = secret("PREVIEW_LINK_KEY")?;
        let keys = KeySource::new(
            aws_sdk_secretsmanager::Client::new(&sdk),
            link_key,
            access_code,
            DEFAULT_CACHE,
        );
        // Fail at start, not at the first request, when a secret cannot be read or is unusable.
        keys.current().await?;
        // The webhook secret is read once: GitHub has one secret per hook, so rotating it means
        // changing the hook too, and a restart picks the new value up.
        let webhook = match env("PREVIEW_GITHUB_WEBHOOK_SECRET_ARN")
            .map(Secret::Arn)
            .or_else(|| env("PREVIEW_GITHUB_WEBHOOK_SECRET").map(Secret::Value))
        {
            Some(secret) => {
                let client = aws_sdk_secretsmanager::Client::new(&sdk);
                let value = read(Some(&client), &secret, "PREVIEW_GITHUB_WEBHOOK_SECRET").await?;
                Some(WebhookSettings {
                    secret: value.into_bytes(),
                    allowed_users: AllowedUsers::parse(
                        &env("PREVIEW_GITHUB_ALLOWED_USERS").unwrap_or_default(),
                    ),
                    label: env("PREVIEW_GITHUB_LABEL")
                        .unwrap_or_else(|| crate::webhook::DEFAULT_LABEL.into()),
                    replace_on_push: env("PREVIEW_GITHUB_REPLACE_ON_PUSH")
                        .is_none_or(|v| !matches!(v.trim(), "0" | "false" | "off")),
                })
            }
            None => None,
        };
        // A token that writes PR comments and deployments is a secret in AWS.
        let github_token = match env("PREVIEW_GITHUB_TOKEN_SECRET_ARN") {
            Some(arn) => {
                let client = aws_sdk_secretsmanager::Client::new(&sdk);
                Some(read(Some(&client), &Secret::Arn(arn), "PREVIEW_GITHUB_TOKEN").await?)
            }
            None => env("PREVIEW_GITHUB_TOKEN"),
        }
        // The stack creates the secret blank until an operator puts a token in.
        .filter(|t| !t.trim().is_empty());
        let pr_status = env("PREVIEW_PUBLIC_URL")
            .filter(|_| github_token.is_some())
            .map(|url| crate::pr_status::PrStatusSettings::new(&url));
        Ok(AppState::new(Settings {
            ctx: Ctx::new(Clients::new(&sdk), config, region_of(&sdk)),
            state_machine_arn,
            keys,
            revocations: Revocations::default(),
            signin_throttle: SigninThrottle::default(),
            launch_answer_wait: DEFAULT_LAUNCH_ANSWER_WAIT,
            github: GitHub::new(
                &env("PREVIEW_GITHUB_API").unwrap_or_else(|| DEFAULT_GITHUB_API.into()),
                github_token,
            )?,
            secure_cookies: env("PREVIEW_COOKIE_SECURE").is_some_and(|v| v == "true" || v == "1"),
            cached_builds: CachedBuilds::default(),
            time_to_url: TimeToUrl::default(),
            webhook,
            signin,
            pr_status,
        }))
    }

    /// The ARN of a preview's execution (execution name = preview id).
    pub fn execution_arn(&self, id: &str) -> String {
        let base = self
            .state_machine_arn
            .replacen(":stateMachine:", ":execution:", 1);
        format!("{base}:{id}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn execution_arns_follow_the_state_machine() {
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:dspace-preview";
        let base = arn.replacen(":stateMachine:", ":execution:", 1);
        assert_eq!(
            format!("{base}:dsp-1"),
            "arn:aws:states:us-east-1:123456789012:execution:dspace-preview:dsp-1"
        );
    }
}
