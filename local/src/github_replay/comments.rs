//! Issue and PR comments, kept in memory: list, create, read, edit and delete.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

use super::oauth::token_login;
use super::respond::{
    base, json_object, not_found, now, respond, validation_failed, written, Listing, Refusal,
};
use super::store::{user, Comment};
use super::{Replay, Routes, BOT_LOGIN};

const LIST_DOCS: &str = "https://docs.github.com/rest/issues/comments#list-issue-comments";
const CREATE_DOCS: &str = "https://docs.github.com/rest/issues/comments#create-an-issue-comment";
const ONE_DOCS: &str = "https://docs.github.com/rest/issues/comments#get-an-issue-comment";
const EDIT_DOCS: &str = "https://docs.github.com/rest/issues/comments#update-an-issue-comment";

pub(super) fn routes() -> Routes {
    Routes::new()
        .route(
            "/repos/{owner}/{repo}/issues/{number}/comments",
            get(list).post(create),
        )
        .route(
            "/repos/{owner}/{repo}/issues/comments/{id}",
            get(one).patch(edit).delete(remove),
        )
}

async fn list(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    listing: Listing,
) -> Response {
    let Some((key, number)) = issue(&replay, &owner, &repo, &number) else {
        return not_found(LIST_DOCS);
    };
    let comments = replay.log.store().comments_on(&key, number);
    listing.page(&replay, &comments)
}

async fn create(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((key, number)) = issue(&replay, &owner, &repo, &number) else {
        return not_found(CREATE_DOCS);
    };
    let text = match comment_body(&body, CREATE_DOCS) {
        Ok(text) => text,
        Err(refused) => return refused.into_response(),
    };
    let author = token_login(&replay, &headers).unwrap_or_else(|| BOT_LOGIN.into());
    let api = base(&headers);
    // A PR's comments live on its conversation page, an issue's on the issue.
    let kind = if replay
        .recorded
        .pull(&owner, &repo, &number.to_string())
        .is_some()
    {
        "pull"
    } else {
        "issues"
    };
    let mut store = replay.log.store();
    let id = store.next_id();
    let at = now();
    let value = json!({
        "id": id,
        "node_id": format!("IC_kwDO{id:X}"),
        "url": format!("{api}/repos/{owner}/{repo}/issues/comments/{id}"),
        "html_url": format!("https://github.com/{owner}/{repo}/{kind}/{number}#issuecomment-{id}"),
        "issue_url": format!("{api}/repos/{owner}/{repo}/issues/{number}"),
        "body": text,
        "user": user(&author),
        "author_association": "NONE",
        "created_at": at,
        "updated_at": at,
        "performed_via_github_app": null,
    });
    store.comments.push(Comment {
        repo: key,
        number,
        value: value.clone(),
    });
    drop(store);
    written(&replay, StatusCode::CREATED, &value)
}

async fn one(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    match find(&replay, &owner, &repo, &id, |c| c.value.clone()) {
        Some(value) => respond(&replay, &headers, &value, None),
        None => not_found(ONE_DOCS),
    }
}

async fn edit(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let text = match comment_body(&body, EDIT_DOCS) {
        Ok(text) => text,
        Err(refused) => return refused.into_response(),
    };
    let edited = find(&replay, &owner, &repo, &id, |c| {
        c.value["body"] = json!(text);
        c.value["updated_at"] = json!(now());
        c.value.clone()
    });
    match edited {
        Some(value) => written(&replay, StatusCode::OK, &value),
        None => not_found(EDIT_DOCS),
    }
}

async fn remove(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
) -> Response {
    const DOCS: &str = "https://docs.github.com/rest/issues/comments#delete-an-issue-comment";
    let key = format!("{owner}/{repo}").to_lowercase();
    let id = id.parse::<u64>().ok();
    let mut store = replay.log.store();
    let before = store.comments.len();
    store
        .comments
        .retain(|c| !(c.repo == key && c.value["id"].as_u64() == id));
    if store.comments.len() == before {
        return not_found(DOCS);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// The lowercased repository and the issue number, when the repository is recorded.
fn issue(replay: &Replay, owner: &str, repo: &str, number: &str) -> Option<(String, u64)> {
    replay.recorded.repo(owner, repo)?;
    Some((
        format!("{owner}/{repo}").to_lowercase(),
        number.parse().ok()?,
    ))
}

/// Applies `f` to a comment of the repository by id, if there is one.
fn find<T>(
    replay: &Replay,
    owner: &str,
    repo: &str,
    id: &str,
    f: impl FnOnce(&mut Comment) -> T,
) -> Option<T> {
    let key = format!("{owner}/{repo}").to_lowercase();
    let id = id.parse::<u64>().ok()?;
    let mut store = replay.log.store();
    store
        .comments
        .iter_mut()
        .find(|c| c.repo == key && c.value["id"].as_u64() == Some(id))
        .map(f)
}

/// The `body` a comment write must carry, or GitHub's 400/422.
fn comment_body(body: &Bytes, docs: &str) -> Result<String, Refusal> {
    let fields = json_object(body, docs)?;
    match fields.get("body") {
        Some(Value::String(text)) => Ok(text.clone()),
        _ => Err(validation_failed("IssueComment", "body", "missing_field", docs).into()),
    }
}
