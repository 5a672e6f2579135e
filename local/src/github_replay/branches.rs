//! `GET /repos/{o}/{r}/branches` and `/branches/{name}` from `branches.json`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::HeaderMap;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{json, Value};

use super::respond::{base, github_error, not_found, respond, Listing};
use super::{Replay, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .route("/repos/{owner}/{repo}/branches", get(list))
        // Branch names may hold slashes, which GitHub takes unescaped in this path.
        .route("/repos/{owner}/{repo}/branches/{*branch}", get(one))
}

async fn list(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo)): Path<(String, String)>,
    listing: Listing,
) -> Response {
    const DOCS: &str = "https://docs.github.com/rest/branches/branches#list-branches";
    let Some(recorded) = replay.recorded.repo(&owner, &repo) else {
        return not_found(DOCS);
    };
    let protected = listing.query.get("protected").map(|p| p == "true");
    let branches: Vec<&Value> = recorded
        .branches
        .iter()
        .filter(|b| protected.is_none_or(|p| b["protected"].as_bool().unwrap_or(false) == p))
        .collect();
    listing.page(&replay, &branches)
}

async fn one(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, branch)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    const DOCS: &str = "https://docs.github.com/rest/branches/branches#get-a-branch";
    let Some(recorded) = replay.recorded.repo(&owner, &repo) else {
        return not_found(DOCS);
    };
    let found = recorded
        .branches
        .iter()
        .find(|b| b["name"].as_str() == Some(branch.as_str()));
    let Some(found) = found else {
        return github_error(StatusCode::NOT_FOUND, "Branch not found", DOCS);
    };
    let mut found = found.clone();
    // The single-branch answer links to itself and to the branch on github.com.
    found["_links"] = json!({
        "self": format!("{}/repos/{owner}/{repo}/branches/{branch}", base(&headers)),
        "html": format!("https://github.com/{owner}/{repo}/tree/{branch}"),
    });
    respond(&replay, &headers, &found, None)
}
