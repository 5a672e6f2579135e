//! The GitHub webhook's pure parts: the signature ([`signature`]), the payload ([`event`]), the
//! `/preview` comment grammar ([`command`]), who may use it ([`allowed`]) and the record that a
//! delivery was handled ([`deliveries`], the one part that calls AWS). The route is
//! `routes/webhook.rs`.

pub mod allowed;
pub mod command;
pub mod deliveries;
pub mod event;
pub mod signature;

/// The webhook's settings; without them (no secret configured) the endpoint does not exist.
#[derive(Clone)]
pub struct WebhookSettings {
    /// The secret GitHub signs deliveries with (`PREVIEW_GITHUB_WEBHOOK_SECRET`).
    pub secret: Vec<u8>,
    /// Logins allowed without asking GitHub (`PREVIEW_GITHUB_ALLOWED_USERS`).
    pub allowed_users: allowed::AllowedUsers,
    /// The label that starts a preview of a PR, and whose removal stops it
    /// (`PREVIEW_GITHUB_LABEL`, default [`DEFAULT_LABEL`]).
    pub label: String,
    /// Whether a push to a PR with a live preview replaces it with the new head
    /// (`PREVIEW_GITHUB_REPLACE_ON_PUSH`, default on).
    pub replace_on_push: bool,
}

/// The label that asks for a preview when none is configured.
pub const DEFAULT_LABEL: &str = "preview";

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WebhookSettings(secret: <redacted>, allowed_users: {:?})",
            self.allowed_users
        )
    }
}
