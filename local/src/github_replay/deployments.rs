//! Deployments and their statuses, kept in memory: create, list and read.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Map, Value};

use super::oauth::token_login;
use super::respond::{
    base, github_error, json_object, not_found, now, respond, validation_failed, written, Listing,
};
use super::store::{user, Deployment, Store};
use super::{Replay, Routes, BOT_LOGIN};

const CREATE_DOCS: &str =
    "https://docs.github.com/rest/deployments/deployments#create-a-deployment";
const LIST_DOCS: &str = "https://docs.github.com/rest/deployments/deployments#list-deployments";
const ONE_DOCS: &str = "https://docs.github.com/rest/deployments/deployments#get-a-deployment";
const STATUS_DOCS: &str =
    "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status";
const STATUSES_DOCS: &str =
    "https://docs.github.com/rest/deployments/statuses#list-deployment-statuses";

/// The states a deployment status may take.
const STATES: [&str; 7] = [
    "error",
    "failure",
    "inactive",
    "in_progress",
    "queued",
    "pending",
    "success",
];

pub(super) fn routes() -> Routes {
    Routes::new()
        .route("/repos/{owner}/{repo}/deployments", get(list).post(create))
        .route("/repos/{owner}/{repo}/deployments/{id}", get(one))
        .route(
            "/repos/{owner}/{repo}/deployments/{id}/statuses",
            get(statuses).post(add_status),
        )
}

/// The request's fields, or GitHub's 400 when the body is not a JSON object.
struct Fields(Map<String, Value>);

impl Fields {
    fn text(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    fn flag(&self, key: &str, default: bool) -> bool {
        self.0.get(key).and_then(Value::as_bool).unwrap_or(default)
    }
}

async fn create(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if replay.recorded.repo(&owner, &repo).is_none() {
        return not_found(CREATE_DOCS);
    }
    let fields = match json_object(&body, CREATE_DOCS) {
        Ok(map) => Fields(map),
        Err(refused) => return refused.into_response(),
    };
    let Some(git_ref) = fields.text("ref") else {
        return validation_failed("Deployment", "ref", "missing_field", CREATE_DOCS);
    };
    let Some(sha) = replay.recorded.sha_of(&owner, &repo, git_ref) else {
        let message = format!("No ref found for: {git_ref}");
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, &message, CREATE_DOCS);
    };
    let environment = fields.text("environment").unwrap_or("production");
    let creator = token_login(&replay, &headers).unwrap_or_else(|| BOT_LOGIN.into());
    let repo_url = format!("{}/repos/{owner}/{repo}", base(&headers));
    let mut store = replay.log.store();
    let id = store.next_id();
    let at = now();
    let value = json!({
        "url": format!("{repo_url}/deployments/{id}"),
        "id": id,
        "node_id": format!("DE_kwDO{id:X}"),
        "sha": sha,
        "ref": git_ref,
        "task": fields.text("task").unwrap_or("deploy"),
        "payload": fields.0.get("payload").cloned().unwrap_or_else(|| json!({})),
        "original_environment": environment,
        "environment": environment,
        "description": fields.text("description"),
        "creator": user(&creator),
        "created_at": at,
        "updated_at": at,
        "statuses_url": format!("{repo_url}/deployments/{id}/statuses"),
        "repository_url": repo_url,
        "transient_environment": fields.flag("transient_environment", false),
        "production_environment": fields.flag("production_environment", environment == "production"),
        "performed_via_github_app": null,
    });
    store.deployments.push(Deployment {
        repo: format!("{owner}/{repo}").to_lowercase(),
        value: value.clone(),
        statuses: Vec::new(),
    });
    drop(store);
    written(&replay, StatusCode::CREATED, &value)
}

async fn list(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo)): Path<(String, String)>,
    listing: Listing,
) -> Response {
    if replay.recorded.repo(&owner, &repo).is_none() {
        return not_found(LIST_DOCS);
    }
    let wanted = |d: &Value| {
        ["sha", "ref", "environment", "task"].iter().all(|k| {
            listing
                .query
                .get(*k)
                .is_none_or(|v| d[*k].as_str() == Some(v.as_str()))
        })
    };
    let deployments: Vec<Value> = replay
        .log
        .store()
        .deployments_of(&format!("{owner}/{repo}").to_lowercase())
        .into_iter()
        .map(|(d, _)| d)
        .filter(wanted)
        .collect();
    listing.page(&replay, &deployments)
}

async fn one(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let found = with_deployment(&replay, &owner, &repo, &id, |_, d| d.value.clone());
    match found {
        Some(value) => respond(&replay, &headers, &value, None),
        None => not_found(ONE_DOCS),
    }
}

async fn statuses(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
    listing: Listing,
) -> Response {
    let found = with_deployment(&replay, &owner, &repo, &id, |_, d| {
        d.statuses.iter().rev().cloned().collect::<Vec<_>>()
    });
    let Some(statuses) = found else {
        return not_found(STATUSES_DOCS);
    };
    listing.page(&replay, &statuses)
}

async fn add_status(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match json_object(&body, STATUS_DOCS) {
        Ok(map) => Fields(map),
        Err(refused) => return refused.into_response(),
    };
    let state = fields.text("state").unwrap_or_default();
    if !STATES.contains(&state) {
        return validation_failed("DeploymentStatus", "state", "invalid", STATUS_DOCS);
    }
    let creator = token_login(&replay, &headers).unwrap_or_else(|| BOT_LOGIN.into());
    let created = with_deployment(&replay, &owner, &repo, &id, |store, d| {
        if let Some(environment) = fields.text("environment") {
            d.value["environment"] = json!(environment);
        }
        let status = new_status(store.next_id(), d, &fields, &creator);
        d.statuses.push(status.clone());
        let (repo, deployment) = (d.repo.clone(), d.value.clone());
        if state == "success" && fields.flag("auto_inactive", true) {
            retire_others(store, &repo, &deployment, &creator);
        }
        status
    });
    match created {
        Some(status) => written(&replay, StatusCode::CREATED, &status),
        None => not_found(STATUS_DOCS),
    }
}

/// GitHub's deployment-status object for a new status of `deployment`.
fn new_status(id: u64, deployment: &Deployment, fields: &Fields, creator: &str) -> Value {
    let d = &deployment.value;
    // `target_url` is the older name of `log_url`; GitHub reports both.
    let log_url = fields
        .text("log_url")
        .or_else(|| fields.text("target_url"))
        .unwrap_or_default();
    let at = now();
    json!({
        "url": format!("{}/{id}", d["statuses_url"].as_str().unwrap_or_default()),
        "id": id,
        "node_id": format!("DES_kwDO{id:X}"),
        "state": fields.text("state"),
        "creator": user(creator),
        "description": fields.text("description").unwrap_or_default(),
        "environment": d["environment"],
        "target_url": log_url,
        "log_url": log_url,
        "environment_url": fields.text("environment_url").unwrap_or_default(),
        "created_at": at,
        "updated_at": at,
        "deployment_url": d["url"],
        "repository_url": d["repository_url"],
        "performed_via_github_app": null,
    })
}

/// GitHub's `auto_inactive`: earlier successful deployments to the same non-transient,
/// non-production environment get an `inactive` status.
fn retire_others(store: &mut Store, repo: &str, current: &Value, creator: &str) {
    let ids: Vec<u64> = store
        .deployments
        .iter()
        .filter(|d| {
            d.repo == repo
                && d.value["id"] != current["id"]
                && d.value["environment"] == current["environment"]
                && d.value["transient_environment"] != json!(true)
                && d.value["production_environment"] != json!(true)
                && d.statuses.last().is_some_and(|s| s["state"] == "success")
        })
        .filter_map(|d| d.value["id"].as_u64())
        .collect();
    let inactive = Fields(Map::from_iter([("state".into(), json!("inactive"))]));
    for deployment_id in ids {
        let status_id = store.next_id();
        if let Some(d) = store.deployment(repo, deployment_id) {
            let status = new_status(status_id, d, &inactive, creator);
            d.statuses.push(status);
        }
    }
}

/// Applies `f` to a deployment of the repository by id, if there is one.
fn with_deployment<T>(
    replay: &Replay,
    owner: &str,
    repo: &str,
    id: &str,
    f: impl FnOnce(&mut Store, &mut Deployment) -> T,
) -> Option<T> {
    let key = format!("{owner}/{repo}").to_lowercase();
    let id = id.parse::<u64>().ok()?;
    let mut store = replay.log.store();
    let index = store
        .deployments
        .iter()
        .position(|d| d.repo == key && d.value["id"].as_u64() == Some(id))?;
    // The deployment is taken out while `f` runs so `f` may also use the rest of the store.
    let mut deployment = store.deployments.remove(index);
    let out = f(&mut store, &mut deployment);
    store.deployments.insert(index, deployment);
    Some(out)
}
