//! The GitHub calls that put a status on a PR: the sticky comment (found by its marker, edited in
//! place) and a deployment with statuses. Each call is retried a few times; the caller logs and
//! gives up after that, because GitHub must never hold up or fail a preview.

use std::future::Future;
use std::time::Duration;

use hyper::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::render::MARKER;
use crate::error::WebError;
use crate::github::{Answer, Caller, GitHub};

/// Attempts per call; with the waits below a dead GitHub costs a publish about 6 s.
const ATTEMPTS: u32 = 3;
/// The first wait between attempts (doubled each time).
const FIRST_WAIT: Duration = Duration::from_secs(2);
/// Comment pages read looking for ours (100 each); a PR with more is not worth more calls.
const COMMENT_PAGES: u32 = 3;

#[derive(Debug, Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: String,
}

#[derive(Debug, Deserialize)]
struct Deployment {
    id: u64,
    #[serde(default)]
    payload: Value,
}

/// One call, retried on an unreachable GitHub and on its 5xx answers.
async fn call(
    github: &GitHub,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Answer, WebError> {
    retried(|| async {
        let answer = github
            .call(method.clone(), path, Caller::Service, body)
            .await?;
        if answer.status.is_server_error() {
            return Err(WebError::GitHub(answer.describe()));
        }
        Ok(answer)
    })
    .await
}

async fn retried<T, F, Fut>(mut attempt: F) -> Result<T, WebError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, WebError>>,
{
    let mut wait = FIRST_WAIT;
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(e) if tries < ATTEMPTS => {
                tracing::info!(error = %e, tries, "GitHub call failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
                tries += 1;
            }
            done => return done,
        }
    }
}

/// A 2xx answer read as `T`, anything else an error naming `what`.
fn expect<T: serde::de::DeserializeOwned>(answer: Answer, what: &str) -> Result<T, WebError> {
    if answer.ok() {
        answer.json()
    } else {
        Err(WebError::GitHub(format!("{what}: {}", answer.describe())))
    }
}

/// Adds a new comment `body` to PR `number` of `repo` (a reply, not the status comment).
pub async fn comment(
    github: &GitHub,
    repo: &str,
    number: u64,
    body: &str,
) -> Result<u64, WebError> {
    let path = format!("/repos/{repo}/issues/{number}/comments");
    let created: Comment = expect(
        call(github, Method::POST, &path, Some(&json!({ "body": body }))).await?,
        "posting the comment",
    )?;
    Ok(created.id)
}

/// Edits our comment on PR `number` of `repo` to `body`, or creates it; returns its id.
pub async fn upsert_comment(
    github: &GitHub,
    repo: &str,
    number: u64,
    body: &str,
) -> Result<u64, WebError> {
    let text = json!({ "body": body });
    for page in 1..=COMMENT_PAGES {
        let path = format!("/repos/{repo}/issues/{number}/comments?per_page=100&page={page}");
        let comments: Vec<Comment> = expect(
            call(github, Method::GET, &path, None).await?,
            "listing comments",
        )?;
        if let Some(ours) = comments.iter().find(|c| c.body.starts_with(MARKER)) {
            let path = format!("/repos/{repo}/issues/comments/{}", ours.id);
            let edited = call(github, Method::PATCH, &path, Some(&text)).await?;
            // Someone else's comment that quotes our marker cannot be edited: make our own.
            if edited.ok() {
                return Ok(ours.id);
            }
            break;
        }
        if comments.len() < 100 {
            break;
        }
    }
    comment(github, repo, number, body).await
}

/// The deployment of preview `id` for commit `sha` in `environment`, created when missing.
pub async fn deployment(
    github: &GitHub,
    repo: &str,
    sha: &str,
    environment: &str,
    id: &str,
) -> Result<u64, WebError> {
    let path = format!("/repos/{repo}/deployments?sha={sha}&environment={environment}");
    let found: Vec<Deployment> = expect(
        call(github, Method::GET, &path, None).await?,
        "listing deployments",
    )?;
    if let Some(d) = found.iter().find(|d| d.payload["preview_id"] == json!(id)) {
        return Ok(d.id);
    }
    let request = json!({
        "ref": sha,
        "environment": environment,
        "description": format!("DSpace preview {id}"),
        "payload": { "preview_id": id },
        // A preview is not blocked by the PR's failing or pending checks: it is how they are tested.
        "required_contexts": [],
        "auto_merge": false,
        "transient_environment": true,
        "production_environment": false,
    });
    let path = format!("/repos/{repo}/deployments");
    let created: Deployment = expect(
        call(github, Method::POST, &path, Some(&request)).await?,
        "creating the deployment",
    )?;
    Ok(created.id)
}

/// Posts `status` on deployment `deployment` of `repo`.
pub async fn post_status(
    github: &GitHub,
    repo: &str,
    deployment: u64,
    status: &Value,
) -> Result<(), WebError> {
    let path = format!("/repos/{repo}/deployments/{deployment}/statuses");
    let _: Value = expect(
        call(github, Method::POST, &path, Some(status)).await?,
        "posting the deployment status",
    )?;
    Ok(())
}
