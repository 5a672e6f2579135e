//! A stand-in for GitHub's REST API that serves recorded pull requests (`web/fixtures/github`),
//! for tests and the local run, where GitHub is not reachable.
//!
//! It answers the two calls the picker makes the way GitHub does: `GET
//! /repos/{owner}/{repo}/pulls` (`state`, `sort`, `direction`, `per_page`, `page`, a `Link`
//! header with `next`/`last`/`prev`/`first` pointing back at this server, a strong `ETag`, 304 on
//! a matching `If-None-Match`, the `x-ratelimit-*` headers) and `GET
//! /repos/{owner}/{repo}/pulls/{n}`. Anything else is GitHub's 404 JSON. Each repository's
//! recording is `{fixtures}/repos/{owner}/{repo}/pulls.json`: an array of GitHub's pull-request
//! objects, in any order and any state.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// GitHub's authenticated hourly limit; the replay never runs out in practice, so a local run
/// behaves like a deployment with a token.
const RATE_LIMIT: u32 = 5000;
/// GitHub's default and maximum `per_page`.
const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 100;

/// One request the replay answered (never the token itself).
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Path and query as requested.
    pub path: String,
    /// The `If-None-Match` sent, if any.
    pub if_none_match: Option<String>,
    /// Whether an `Authorization` header was sent.
    pub authorized: bool,
    /// The status answered.
    pub status: u16,
}

/// The requests a replay answered, in order; tests count GitHub calls with it.
#[derive(Clone, Debug, Default)]
pub struct ReplayLog(Arc<Mutex<Vec<Hit>>>);

impl ReplayLog {
    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.lock().clone()
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn push(&self, hit: Hit) {
        self.lock().push(hit);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Hit>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Replay {
    /// `owner/repo`, lowercased (GitHub's names are case-insensitive) → recorded PRs.
    repos: HashMap<String, Vec<Value>>,
    limit: Mutex<Window>,
    log: ReplayLog,
}

/// The current rate-limit hour.
struct Window {
    reset: i64,
    used: u32,
}

/// Serves the recordings under `fixtures` on `listener` until the process ends.
pub async fn serve(fixtures: PathBuf, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let (app, _log) = app(&fixtures)?;
    axum::serve(listener, app).await
}

/// The replay as a router, and the log of the requests it answers.
pub fn app(fixtures: &FsPath) -> std::io::Result<(Router, ReplayLog)> {
    let repos = load(fixtures)?;
    let log = ReplayLog::default();
    let replay = Arc::new(Replay {
        repos,
        limit: Mutex::new(Window {
            reset: chrono::Utc::now().timestamp() + 3600,
            used: 0,
        }),
        log: log.clone(),
    });
    let router = Router::new()
        .route("/repos/{owner}/{repo}/pulls", get(list))
        .route("/repos/{owner}/{repo}/pulls/{number}", get(one))
        .fallback(|| async { not_found("https://docs.github.com/rest") })
        .layer(middleware::from_fn_with_state(replay.clone(), record))
        .with_state(replay);
    Ok((router, log))
}

/// Every `repos/{owner}/{repo}/pulls.json` under `fixtures`.
fn load(fixtures: &FsPath) -> std::io::Result<HashMap<String, Vec<Value>>> {
    let invalid = |path: &FsPath, why: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {why}", path.display()),
        )
    };
    let root = fixtures.join("repos");
    let mut repos = HashMap::new();
    let owners = std::fs::read_dir(&root).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("no recorded repositories in {}: {e}", root.display()),
        )
    })?;
    for owner in owners {
        let owner = owner?;
        if !owner.file_type()?.is_dir() {
            continue;
        }
        for repo in std::fs::read_dir(owner.path())? {
            let path = repo?.path().join("pulls.json");
            if !path.is_file() {
                continue;
            }
            let pulls: Vec<Value> = serde_json::from_slice(&std::fs::read(&path)?)
                .map_err(|e| invalid(&path, e.to_string()))?;
            if pulls.iter().any(|p| p["number"].as_u64().is_none()) {
                return Err(invalid(&path, "a pull request without a number".into()));
            }
            let name = format!(
                "{}/{}",
                owner.file_name().to_string_lossy(),
                path.parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            repos.insert(name.to_lowercase(), pulls);
        }
    }
    if repos.is_empty() {
        return Err(invalid(&root, "no repos/{owner}/{repo}/pulls.json".into()));
    }
    Ok(repos)
}

/// Logs each request, and refuses one without a `User-Agent` as GitHub does.
async fn record(State(replay): State<Arc<Replay>>, req: Request, next: Next) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let authorized = req.headers().contains_key(header::AUTHORIZATION);
    let response = if req.headers().contains_key(header::USER_AGENT) {
        next.run(req).await
    } else {
        github_error(
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a \
             User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).",
            "https://docs.github.com/rest/overview/resources-in-the-rest-api#user-agent-required",
        )
    };
    replay.log.push(Hit {
        path,
        if_none_match,
        authorized,
        status: response.status().as_u16(),
    });
    response
}

async fn list(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    const DOCS: &str = "https://docs.github.com/rest/pulls/pulls#list-pull-requests";
    let Some(recorded) = replay.repos.get(&format!("{owner}/{repo}").to_lowercase()) else {
        return not_found(DOCS);
    };
    let param = |k: &str| query.get(k).map(String::as_str);
    let state = param("state").unwrap_or("open");
    if !matches!(state, "open" | "closed" | "all") {
        return github_error(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed", DOCS);
    }
    let mut pulls: Vec<&Value> = recorded
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
    let per_page = param("per_page")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .map_or(DEFAULT_PER_PAGE, |n| n.min(MAX_PER_PAGE));
    let page = param("page")
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let pages = pulls.len().div_ceil(per_page).max(1);
    let slice: Vec<&Value> = pulls
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .copied()
        .collect();
    let link = link_header(&headers, &uri, page, pages);
    respond(&replay, &headers, &slice, link)
}

async fn one(
    State(replay): State<Arc<Replay>>,
    Path((owner, repo, number)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    const DOCS: &str = "https://docs.github.com/rest/pulls/pulls#get-a-pull-request";
    let found = replay
        .repos
        .get(&format!("{owner}/{repo}").to_lowercase())
        .zip(number.parse::<u64>().ok())
        .and_then(|(pulls, n)| pulls.iter().find(|p| p["number"].as_u64() == Some(n)));
    match found {
        Some(pull) => respond(&replay, &headers, pull, None),
        None => not_found(DOCS),
    }
}

/// A 200 with `ETag` and rate-limit headers, or a 304 when the client's validator matches (which,
/// as on GitHub, does not count against the limit).
fn respond(
    replay: &Replay,
    request: &HeaderMap,
    body: &impl serde::Serialize,
    link: Option<String>,
) -> Response {
    let body = match serde_json::to_vec_pretty(body) {
        Ok(b) => b,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let etag = format!("\"{}\"", hex(&Sha256::digest(&body)));
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    let (window, exhausted) = replay.count(!matches);
    if exhausted {
        return github_error(
            StatusCode::FORBIDDEN,
            "API rate limit exceeded. (But here's the good news: Authenticated requests get a \
             higher rate limit.)",
            "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
        )
        .with_headers(rate_headers(&window));
    }
    let mut headers = rate_headers(&window);
    insert(&mut headers, header::ETAG, &etag);
    insert(
        &mut headers,
        header::CACHE_CONTROL,
        "private, max-age=60, s-maxage=60",
    );
    insert(&mut headers, header::VARY, "Accept, Authorization, Cookie");
    if let Some(link) = link {
        insert(&mut headers, header::LINK, &link);
    }
    if matches {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    insert(
        &mut headers,
        header::CONTENT_TYPE,
        "application/json; charset=utf-8",
    );
    (StatusCode::OK, headers, body).into_response()
}

impl Replay {
    /// Counts a call when `counts`; the window after it, and whether it was over the limit.
    fn count(&self, counts: bool) -> (WindowView, bool) {
        let mut w = self.limit.lock().unwrap_or_else(|p| p.into_inner());
        let now = chrono::Utc::now().timestamp();
        if now >= w.reset {
            *w = Window {
                reset: now + 3600,
                used: 0,
            };
        }
        let exhausted = counts && w.used >= RATE_LIMIT;
        if counts && !exhausted {
            w.used += 1;
        }
        (
            WindowView {
                reset: w.reset,
                used: w.used,
            },
            exhausted,
        )
    }
}

struct WindowView {
    reset: i64,
    used: u32,
}

fn rate_headers(w: &WindowView) -> HeaderMap {
    let mut h = HeaderMap::new();
    insert(&mut h, "x-ratelimit-limit", &RATE_LIMIT.to_string());
    insert(
        &mut h,
        "x-ratelimit-remaining",
        &RATE_LIMIT.saturating_sub(w.used).to_string(),
    );
    insert(&mut h, "x-ratelimit-reset", &w.reset.to_string());
    insert(&mut h, "x-ratelimit-used", &w.used.to_string());
    insert(&mut h, "x-ratelimit-resource", "core");
    h
}

/// GitHub's `Link`: `next`/`last` before the last page, `prev`/`first` after the first, each
/// this server's own URL with the request's query and another `page`.
fn link_header(headers: &HeaderMap, uri: &Uri, page: usize, pages: usize) -> Option<String> {
    if pages <= 1 {
        return None;
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let others: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("page="))
        .collect();
    let url = |n: usize| {
        let mut query = others.clone();
        let page = format!("page={n}");
        query.push(&page);
        format!("<http://{host}{}?{}>", uri.path(), query.join("&"))
    };
    let mut rels = Vec::new();
    if page > 1 {
        rels.push(format!(r#"{}; rel="prev""#, url((page - 1).min(pages))));
    }
    if page < pages {
        rels.push(format!(r#"{}; rel="next""#, url(page + 1)));
        rels.push(format!(r#"{}; rel="last""#, url(pages)));
    }
    if page > 1 {
        rels.push(format!(r#"{}; rel="first""#, url(1)));
    }
    Some(rels.join(", "))
}

fn not_found(docs: &str) -> Response {
    github_error(StatusCode::NOT_FOUND, "Not Found", docs)
}

fn github_error(status: StatusCode, message: &str, docs: &str) -> Response {
    let body = serde_json::json!({
        "message": message,
        "documentation_url": docs,
        "status": status.as_u16().to_string(),
    });
    let mut headers = HeaderMap::new();
    insert(
        &mut headers,
        header::CONTENT_TYPE,
        "application/json; charset=utf-8",
    );
    (status, headers, Body::from(body.to_string())).into_response()
}

/// Adds headers to a response.
trait WithHeaders {
    fn with_headers(self, headers: HeaderMap) -> Response;
}

impl WithHeaders for Response {
    fn with_headers(mut self, headers: HeaderMap) -> Response {
        self.headers_mut().extend(headers);
        self
    }
}

fn insert<K>(headers: &mut HeaderMap, name: K, value: &str)
where
    K: TryInto<HeaderName>,
{
    // Every value here is ours or a Host header that already parsed; skip rather than fail.
    if let (Ok(name), Ok(value)) = (name.try_into(), HeaderValue::from_str(value)) {
        headers.insert(name, value);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_is_githubs() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8084"));
        let uri: Uri = "/repos/DSpace/DSpace/pulls?state=open&per_page=10&page=2"
            .parse()
            .unwrap();
        let base = "http://127.0.0.1:8084/repos/DSpace/DSpace/pulls?state=open&per_page=10";
        assert_eq!(
            link_header(&h, &uri, 2, 3).unwrap(),
            format!(
                r#"<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", <{base}&page=3>; rel="last", <{base}&page=1>; rel="first""#
            )
        );
        let first: Uri = "/repos/DSpace/DSpace/pulls?state=open&per_page=10"
            .parse()
            .unwrap();
        assert_eq!(
            link_header(&h, &first, 1, 3).unwrap(),
            format!(r#"<{base}&page=2>; rel="next", <{base}&page=3>; rel="last""#)
        );
        assert_eq!(link_header(&h, &first, 1, 1), None);
    }

    #[test]
    fn the_recordings_load() {
        let dir = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../web/fixtures/github");
        let repos = load(&dir).unwrap();
        assert!(repos["dspace/dspace"].len() >= 25);
        assert!(repos["dspace/dspace-angular"].len() >= 25);
        assert!(load(FsPath::new("/nonexistent")).is_err());
    }
}
