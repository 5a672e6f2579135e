//! The preview's status on its pull requests: one comment per PR, edited in place, and a GitHub
//! deployment with statuses (so the PR shows "View deployment").
//!
//! Why it is shaped like this: the workflow's transitions call it, never a loop. EventBridge
//! delivers the execution's status changes (RUNNING → building; the close → ended or failed) and
//! the ASL's `AnnounceReady` state queues a call when the preview is ready or extended. Those
//! calls can come late, twice or out of order, so each reads the execution and says what is true
//! now; the comment is found by its marker and the deployment by the preview id in its payload,
//! so no state of ours is kept. GitHub failing is retried, then logged and given up: a preview
//! never waits for GitHub or fails because of it.

pub mod deliver;
pub mod render;
pub mod stage;

use chrono::{Duration, Utc};
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::SourceInput;
use serde_json::Value;

use crate::audit;
use crate::error::WebError;
use crate::links::{self, LinkAction};
use crate::state::AppState;
use crate::workflow;
use render::View;
use stage::Stage;

/// Where PR statuses point people (`PREVIEW_PUBLIC_URL`); none turns them off.
#[derive(Debug, Clone)]
pub struct PrStatusSettings {
    /// The web app's public base URL, without a trailing slash.
    pub public_url: String,
}

impl PrStatusSettings {
    /// Settings for a web app served at `public_url`.
    pub fn new(public_url: &str) -> PrStatusSettings {
        PrStatusSettings {
            public_url: public_url.trim().trim_end_matches('/').to_string(),
        }
    }
}

/// What one publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    /// The PRs told (comment and deployment status both made).
    pub told: Vec<String>,
    /// What failed, per PR, after retries.
    pub failed: Vec<String>,
    /// Why nothing was attempted, when nothing was.
    pub skipped: Option<String>,
}

impl Published {
    fn skipped(why: &str) -> Published {
        Published {
            skipped: Some(why.to_string()),
            ..Published::default()
        }
    }
}

/// Tells the PRs of the preview an event names (an EventBridge status change, or the ASL's
/// `AnnounceReady` payload) where it is. Only reading the execution can fail this; GitHub
/// failures are logged and listed in the result.
pub async fn publish(state: &AppState, event: &Value) -> Result<Published, WebError> {
    let Some(settings) = &state.pr_status else {
        return Ok(Published::skipped(
            "PR statuses are off (set PREVIEW_PUBLIC_URL and a GitHub token)",
        ));
    };
    let Some(id) = preview_of(event) else {
        return Ok(Published::skipped("the event names no preview execution"));
    };
    let detail = workflow::detail(state, &id).await?;
    let Some(input) = audit::execution_input(&detail.events) else {
        return Ok(Published::skipped("the execution has no preview input"));
    };
    let stage = Stage::of(&detail.status, &detail.events);
    let page_url = format!("{}/previews/{id}", settings.public_url);
    let links = match stage {
        Stage::Ready { .. } => signed_links(state, settings, &id).await?,
        _ => Vec::new(),
    };
    let view = View {
        id: id.as_str(),
        stage: &stage,
        sources: &input.request.sources,
        requester: &input.request.requester,
        page_url,
        links,
        admin_email: &state.ctx.base.admin_email,
    };
    let mut published = Published::default();
    for source in input.request.sources.iter().filter(|s| s.pr.is_some()) {
        let pr = format!("{}#{}", source.repo, source.pr.unwrap_or_default());
        match tell(state, &view, source).await {
            Ok(()) => published.told.push(pr),
            Err(e) => {
                tracing::warn!(preview = %id, %pr, error = %e, "GitHub was not told; giving up");
                published.failed.push(format!("{pr}: {e}"));
            }
        }
    }
    tracing::info!(preview = %id, stage = ?stage, told = ?published.told, "PR status published");
    Ok(published)
}

/// The comment and the deployment status on one PR.
async fn tell(state: &AppState, view: &View<'_>, source: &SourceInput) -> Result<(), WebError> {
    let (repo, number) = (source.repo.as_str(), source.pr.unwrap_or_default());
    let github = &state.github;
    deliver::upsert_comment(github, repo, number, &render::comment(view)).await?;
    let sha = match &source.head_sha {
        Some(sha) if !sha.is_empty() => sha.clone(),
        _ => github
            .pull(repo, number)
            .await?
            .map(|p| p.head_sha)
            .ok_or_else(|| WebError::GitHub(format!("GitHub has no PR {repo}#{number}")))?,
    };
    let environment = render::environment(number);
    let deployment = deliver::deployment(github, repo, &sha, &environment, view.id).await?;
    deliver::post_status(github, repo, deployment, &render::deployment_status(view)).await
}

/// Signed extend and stop links, valid as long as a preview can live.
async fn signed_links(
    state: &AppState,
    settings: &PrStatusSettings,
    id: &PreviewId,
) -> Result<Vec<(LinkAction, String)>, WebError> {
    let keys = state.keys.current().await?;
    let expires = Utc::now() + Duration::minutes(i64::from(state.ctx.base.max_lifetime_minutes));
    Ok(links::all_for(
        &keys.signer,
        id,
        expires,
        &settings.public_url,
    ))
}

/// The preview an event is about: `detail.name`, else the execution ARN's last part.
fn preview_of(event: &Value) -> Option<PreviewId> {
    let detail = &event["detail"];
    let name = detail["name"].as_str().or_else(|| {
        detail["executionArn"]
            .as_str()
            .and_then(|arn| arn.rsplit(':').next())
    })?;
    PreviewId::parse(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_name_their_preview() {
        let id = PreviewId::parse("dsp-b9876-u1234-202611281930-ab12").unwrap();
        let status_change = json!({"detail": {"executionArn": format!("arn:aws:states:us-east-1:1:execution:sm:{id}")}});
        assert_eq!(preview_of(&status_change), Some(id.clone()));
        let announce = json!({"detail": {"name": id.to_string(), "status": "READY"}});
        assert_eq!(preview_of(&announce), Some(id));
        assert_eq!(
            preview_of(&json!({"detail": {"name": "not a preview"}})),
            None
        );
        assert_eq!(preview_of(&json!({})), None);
    }
}
