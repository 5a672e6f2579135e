//! The DSpace preview web app: sign in, launch a preview, watch the live ones, read a preview's
//! audit log and log tail, extend or stop it by button or by a signed callback link.
//!
//! Server-rendered HTML that works without JavaScript. Modules have one job each:
//! [`routes`] (HTTP, one router per feature), [`forms`] (what people post, parsed and checked,
//! pure), [`pages`] (HTML), [`auth`] (sign-in and CSRF), [`links`] (signed callback
//! links), [`audit`] (the audit log from the execution history, pure), [`workflow`] (the AWS
//! calls), [`sign`] (HMAC), [`state`] (what is built once per process), [`github`] (the GitHub
//! API client), [`picker`] (PR lists and pairing, pure), [`choices`] (the form's PRs and the PR
//! checks at launch), [`limits`] (the per-person and global launch limits), [`secrets`] (the link key and access code, from
//! Secrets Manager in AWS), [`revocations`] (signed-out sessions), [`throttle`] (sign-in
//! attempts), [`webhook`] (the GitHub webhook's signature, payload and `/preview` commands),
//! [`github_signin`] (signing in with GitHub's OAuth), [`membership`] (who may sign in with GitHub), [`pr_status`] (the preview's comment and
//! deployment on its PRs).

pub mod audit;
pub mod auth;
pub mod cached_builds;
pub mod choices;
pub mod error;
pub mod forms;
pub mod github;
pub mod github_signin;
pub mod limits;
pub mod links;
pub mod membership;
pub mod pages;
pub mod picker;
pub mod pr_status;
pub mod reveals;
pub mod revocations;
pub mod routes;
pub mod secrets;
pub mod sign;
pub mod state;
pub mod throttle;
pub mod time_to_url;
pub mod webhook;
pub mod workflow;

pub use error::WebError;
pub use routes::router;
pub use state::AppState;
