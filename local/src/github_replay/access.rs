//! Who may do what: a collaborator's permission, org membership and team membership, from
//! `permissions.json`, `orgs/{org}/members.json` and `orgs/{org}/teams/{team}.json`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};

use super::respond::{base, not_found, respond};
use super::store::user;
use super::{Replay, Routes};

pub(super) fn routes() -> Routes {
    Routes::new()
        .route(
            "/repos/{owner}/{repo}/collaborators/{username}/permission",
            get(permission),
        )
        .route("/orgs/{org}/members/{username}", get(org_member))
        .route(
            "/orgs/{org}/teams/{team}/memberships/{username}",
            get(team_membership),
        )
}

/// The legacy `permission` GitHub reports for a role name.
fn permission_of(role: &str) -> &'static str {
    match role {
        "admin" => "admin",
        "maintain" | "write" => "write",
        "triage" | "read" => "read",
        _ => "none",
    }
}

/// The `permissions` flags of a role, each role holding those below it.
fn flags(role: &str) -> Value {
    let rank = ["read", "triage", "write", "maintain", "admin"]
        .iter()
        .position(|r| *r == role)
        .map_or(0, |i| i + 1);
    json!({
        "pull": rank >= 1,
        "triage": rank >= 2,
        "push": rank >= 3,
        "maintain": rank >= 4,
        "admin": rank >= 5,
    })
}

async fn permission(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, username)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    const DOCS: &str = "https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user";
    let Some(recorded) = replay.recorded.repo(&owner, &repo) else {
        return not_found(DOCS);
    };
    // Anyone may read a public repository, which is what GitHub answers for a stranger.
    let role = recorded
        .roles
        .get(&username.to_lowercase())
        .map_or("read", String::as_str);
    let mut who = user(&username);
    who["permissions"] = flags(role);
    who["role_name"] = json!(role);
    let body = json!({
        "permission": permission_of(role),
        "role_name": role,
        "user": who,
    });
    respond(&replay, &headers, &body, None)
}

async fn org_member(
    State(replay): State<Arc<Replay>>,
    Path((org, username)): Path<(String, String)>,
) -> Response {
    const DOCS: &str =
        "https://docs.github.com/rest/orgs/members#check-organization-membership-for-a-user";
    let listed = replay
        .recorded
        .orgs
        .get(&org.to_lowercase())
        .is_some_and(|o| o.members.contains(&username.to_lowercase()));
    if listed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found(DOCS)
    }
}

async fn team_membership(
    State(replay): State<Arc<Replay>>,
    Path((org, team, username)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    const DOCS: &str = "https://docs.github.com/rest/teams/members#get-team-membership-for-a-user";
    let listed = replay
        .recorded
        .orgs
        .get(&org.to_lowercase())
        .and_then(|o| o.teams.get(&team.to_lowercase()))
        .is_some_and(|members| members.contains(&username.to_lowercase()));
    if !listed {
        return not_found(DOCS);
    }
    let body = json!({
        "url": format!("{}/orgs/{org}/teams/{team}/memberships/{username}", base(&headers)),
        "role": "member",
        "state": "active",
    });
    respond(&replay, &headers, &body, None)
}
