//! A stand-in for GitHub (the REST API, version 2022-11-28, and github.com's OAuth web flow) that
//! serves recorded data (`web/fixtures/github`), for tests and the local run, where GitHub is not
//! reachable.
//!
//! What it answers, in GitHub's shapes and status codes (anything else is GitHub's 404 JSON):
//!
//! - pull requests ([`pulls`]): `GET /repos/{o}/{r}/pulls` (`state`, `sort`, `direction`,
//!   `per_page`, `page`, a `Link` header pointing back at this server, a strong `ETag`, 304 on a
//!   matching `If-None-Match`, the `x-ratelimit-*` headers) and `/pulls/{n}`;
//! - branches ([`branches`]): `GET /repos/{o}/{r}/branches` (paged and cached like the pulls) and
//!   `/branches/{name}`, where the name may contain `/`;
//! - the OAuth web flow ([`oauth`]): `/login/oauth/authorize` (a sign-in page that lets anyone
//!   name themselves), `/login/oauth/access_token`, and `GET /user` for the token it issued;
//! - who may do what ([`access`]): a collaborator's permission, org and team membership;
//! - issue comments ([`comments`]) and deployments with their statuses ([`deployments`]), kept in
//!   memory per [`app`] and readable by tests through [`ReplayLog`];
//! - `GET /_replay/requests`: the requests so far as JSON, for a person debugging the local run.
//!
//! Writes (other than the OAuth exchange) need an `Authorization` header, as on GitHub, but any
//! token does: only `/user` checks that the token is one the replay issued.
//!
//! The recordings are `{fixtures}/repos/{owner}/{repo}/{pulls,branches,permissions}.json`,
//! `{fixtures}/orgs/{org}/members.json`, `{fixtures}/orgs/{org}/teams/{team}.json` and
//! `{fixtures}/users.json`; `web/fixtures/github/README.md` says what each holds.

mod access;
mod branches;
mod comments;
mod deployments;
mod fixtures;
mod oauth;
mod pulls;
mod respond;
mod store;

use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::Value;

use respond::{github_error, Window};
use store::Store;

/// The OAuth app client id the replay accepts unless [`Options`] say otherwise.
pub const REPLAY_CLIENT_ID: &str = "Iv1.replay-client";
/// The OAuth app client secret the replay accepts unless [`Options`] say otherwise.
pub const REPLAY_CLIENT_SECRET: &str = "replay-client-secret";
/// The login the replay's sign-in page suggests unless [`Options`] say otherwise.
pub const DEFAULT_LOGIN: &str = "octo-reviewer";
/// The login of the comments and deployments made with a token the replay did not issue.
pub const BOT_LOGIN: &str = "dspace-preview[bot]";

/// The largest request body the replay reads (and records).
const MAX_BODY: usize = 1 << 20;

/// One request the replay answered (never the token itself).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Hit {
    /// The request method (`GET`, `POST`, …).
    pub method: String,
    /// Path and query as requested.
    pub path: String,
    /// The `If-None-Match` sent, if any.
    pub if_none_match: Option<String>,
    /// Whether an `Authorization` header was sent.
    pub authorized: bool,
    /// The status answered.
    pub status: u16,
    /// The request body as text, for any method but `GET` and `HEAD`.
    pub body: Option<String>,
}

/// The requests a replay answered, in order, and what was written to it; tests read both.
#[derive(Clone, Debug, Default)]
pub struct ReplayLog(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    hits: Mutex<Vec<Hit>>,
    store: Mutex<Store>,
}

impl ReplayLog {
    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.lock_hits().clone()
    }

    /// Forgets the requests so far (not the comments or deployments).
    pub fn clear(&self) {
        self.lock_hits().clear();
    }

    /// The requests with this method (any case) whose path starts with `path_prefix`, in order.
    pub fn sent(&self, method: &str, path_prefix: &str) -> Vec<Hit> {
        self.lock_hits()
            .iter()
            .filter(|h| h.method.eq_ignore_ascii_case(method) && h.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }

    /// The comments on issue or PR `number` of `repo` (`owner/name`), oldest first.
    pub fn comments(&self, repo: &str, number: u64) -> Vec<Value> {
        self.store().comments_on(&repo.to_lowercase(), number)
    }

    /// The deployments of `repo` (`owner/name`), newest first, each with its statuses, newest
    /// first.
    pub fn deployments(&self, repo: &str) -> Vec<(Value, Vec<Value>)> {
        self.store().deployments_of(&repo.to_lowercase())
    }

    fn push(&self, hit: Hit) {
        self.lock_hits().push(hit);
    }

    fn lock_hits(&self) -> MutexGuard<'_, Vec<Hit>> {
        self.0.hits.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.0.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The replay's OAuth app and sign-in defaults.
#[derive(Clone, Debug)]
pub struct Options {
    /// The only client id the OAuth endpoints accept.
    pub client_id: String,
    /// That client's secret.
    pub client_secret: String,
    /// The login the sign-in page is prefilled with.
    pub default_login: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            client_id: REPLAY_CLIENT_ID.into(),
            client_secret: REPLAY_CLIENT_SECRET.into(),
            default_login: DEFAULT_LOGIN.into(),
        }
    }
}

struct Replay {
    recorded: fixtures::Recorded,
    options: Options,
    limit: Mutex<Window>,
    log: ReplayLog,
}

/// Serves the recordings under `fixtures` on `listener` until the process ends.
pub async fn serve(fixtures: PathBuf, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    serve_with(fixtures, Options::default(), listener).await
}

/// [`serve`] with other OAuth app credentials or default login.
pub async fn serve_with(
    fixtures: PathBuf,
    options: Options,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    let (app, _log) = app_with(&fixtures, options)?;
    axum::serve(listener, app).await
}

/// The replay as a router, and the log of the requests it answers.
pub fn app(fixtures: &FsPath) -> std::io::Result<(Router, ReplayLog)> {
    app_with(fixtures, Options::default())
}

/// [`app`] with other OAuth app credentials or default login.
pub fn app_with(fixtures: &FsPath, options: Options) -> std::io::Result<(Router, ReplayLog)> {
    let log = ReplayLog::default();
    let replay = Arc::new(Replay {
        recorded: fixtures::load(fixtures)?,
        options,
        limit: Mutex::new(Window::new()),
        log: log.clone(),
    });
    let router = Router::new()
        .merge(pulls::routes())
        .merge(branches::routes())
        .merge(oauth::routes())
        .merge(access::routes())
        .merge(comments::routes())
        .merge(deployments::routes())
        .route("/_replay/requests", get(requests))
        .fallback(|| async { respond::not_found("https://docs.github.com/rest") })
        .layer(middleware::from_fn_with_state(replay.clone(), record))
        .with_state(replay);
    Ok((router, log))
}

/// The router each submodule adds its paths to.
type Routes = Router<Arc<Replay>>;

/// The hits so far, for a person; the OAuth exchange's body is left out because it holds the
/// client secret.
async fn requests(State(replay): State<Arc<Replay>>) -> Response {
    let mut hits = replay.log.hits();
    for hit in &mut hits {
        if hit.path.starts_with("/login/oauth/access_token") && hit.body.is_some() {
            hit.body = Some("(left out: it holds the client secret)".into());
        }
    }
    respond::json(StatusCode::OK, &hits)
}

/// Logs each request with its body, and refuses what GitHub refuses before routing: no
/// `User-Agent` on the API, or a write without credentials.
async fn record(State(replay): State<Arc<Replay>>, req: Request, next: Next) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    if path.starts_with("/_replay/") {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let authorized = req.headers().contains_key(header::AUTHORIZATION);
    let (response, body) = match buffer(req).await {
        Err(refused) => (refused, None),
        Ok((req, body)) => match refusal(&req, &path) {
            Some(refused) => (refused, body),
            None => (next.run(req).await, body),
        },
    };
    replay.log.push(Hit {
        method,
        path,
        if_none_match,
        authorized,
        status: response.status().as_u16(),
        body,
    });
    response
}

/// Reads the body of anything but a `GET`/`HEAD` so it can be logged, and puts it back.
async fn buffer(req: Request) -> Result<(Request, Option<String>), Response> {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok((req, None));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        github_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
            "https://docs.github.com/rest",
        )
    })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok((Request::from_parts(parts, Body::from(bytes)), Some(text)))
}

/// GitHub's answer to a request it refuses before looking at the path, if any.
fn refusal(req: &Request, path: &str) -> Option<Response> {
    // github.com's OAuth pages are visited by browsers and token exchanges, not the API's rules.
    if path.starts_with("/login/oauth/") {
        return None;
    }
    if !req.headers().contains_key(header::USER_AGENT) {
        return Some(github_error(
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a \
             User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required).",
            "https://docs.github.com/rest/overview/resources-in-the-rest-api#user-agent-required",
        ));
    }
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD);
    (writes && !req.headers().contains_key(header::AUTHORIZATION)).then(respond::bad_credentials)
}
