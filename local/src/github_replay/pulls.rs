//! `GET /repos/{o}/{r}/pulls` and `/pulls/{n}` from `pulls.json`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::HeaderMap;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use super::respond::{github_error, not_found, respond, Listing};
use super::{Replay, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .route("/repos/{owner}/{repo}/pulls", get(list))
        .route("/repos/{owner}/{repo}/pulls/{number}", get(one))
}

async fn list(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo)): Path<(String, String)>,
    listing: Listing,
) -> Response {
    const DOCS: &str = "https://docs.github.com/rest/pulls/pulls#list-pull-requests";
    let Some(recorded) = replay.recorded.repo(&owner, &repo) else {
        return not_found(DOCS);
    };
    let param = |k: &str| listing.query.get(k).map(String::as_str);
    let state = param("state").unwrap_or("open");
    if !matches!(state, "open" | "closed" | "all") {
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed", DOCS);
    }
    let mut pulls: Vec<&Value> = recorded
        .pulls
        .iter()
        .filter(|p| state == "all" || p["state"].as_str() == Some(state))
        .collect();
    let sort = param("sort").unwrap_or("created");
    let key = if sort == "updated" {
        "updated_at"
    } else {
        "created_at"
    };
    // GitHub: descending by default only for `created`.
    let descending = match param("direction") {
        Some("asc") => false,
        Some("desc") => true,
        _ => sort == "created",
    };
    // GitHub's timestamps share one format, so text order is time order.
    pulls.sort_by(|a, b| {
        let ord = a[key]
            .as_str()
            .unwrap_or_default()
            .cmp(b[key].as_str().unwrap_or_default());
        if descending {
            ord.reverse()
        } else {
            ord
        }
    });
    listing.page(&replay, &pulls)
}

async fn one(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    const DOCS: &str = "https://docs.github.com/rest/pulls/pulls#get-a-pull-request";
    match replay.recorded.pull(&owner, &repo, &number) {
        Some(pull) => respond(&replay, &headers, pull, None),
        None => not_found(DOCS),
    }
}
