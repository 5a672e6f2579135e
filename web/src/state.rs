//! What the app builds once per process: AWS clients, dials, keys.

use std::ops::Deref;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use preview_tasks::{aws::region_of, Clients, Config};

use crate::cached_builds::CachedBuilds;
use crate::error::WebError;
use crate::github::GitHub;
use crate::sign::Signer;
use crate::time_to_url::TimeToUrl;

/// The GitHub API when `PREVIEW_GITHUB_API` is unset.
pub const DEFAULT_GITHUB_API: &str = "https://api.github.com";

/// Everything handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Settings>);

/// The shared parts.
pub struct Settings {
    /// AWS clients; `clients.sfn` talks to Step Functions (`AWS_ENDPOINT_URL_SFN` locally).
    pub clients: Clients,
    /// The deployment's dials.
    pub config: Config,
    /// The AWS region (console links).
    pub region: String,
    /// The state machine whose executions are previews.
    pub state_machine_arn: String,
    /// Signs sessions, CSRF tokens and callback links (key from `PREVIEW_LINK_KEY`).
    pub signer: Signer,
    /// The shared sign-in code (`PREVIEW_ACCESS_CODE`).
    pub access_code: String,
    /// The GitHub API (the PR picker and the PR checks at launch).
    pub github: GitHub,
    /// Mark cookies `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// What the build cache holds, for the launch form.
    pub cached_builds: CachedBuilds,
    /// When each finished preview got its URL, for the past list.
    pub time_to_url: TimeToUrl,
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
        let signer = Signer::new(required("PREVIEW_LINK_KEY")?.as_bytes())?;
        let access_code = required("PREVIEW_ACCESS_CODE")?;
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Ok(AppState::new(Settings {
            clients: Clients::new(&sdk),
            region: region_of(&sdk),
            config,
            state_machine_arn,
            signer,
            access_code,
            github: GitHub::new(
                &env("PREVIEW_GITHUB_API").unwrap_or_else(|| DEFAULT_GITHUB_API.into()),
                env("PREVIEW_GITHUB_TOKEN"),
            )?,
            secure_cookies: env("PREVIEW_COOKIE_SECURE").is_some_and(|v| v == "true" || v == "1"),
            cached_builds: CachedBuilds::default(),
            time_to_url: TimeToUrl::default(),
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
