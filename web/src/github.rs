//! The GitHub REST client behind the launch form's pickers: the open PRs and the branches of a
//! repository, one PR by number and one branch by name, cached so a busy page costs (almost) no
//! GitHub calls.
//!
//! Why it is shaped like this:
//! - unauthenticated GitHub allows 60 calls an hour and a token 5,000, shared with whatever else
//!   uses the token; so a whole list is reused for [`GitHub::with_fresh_for`] (60 s) without any
//!   call, and after that every page is revalidated with `If-None-Match`: a 304 does not count
//!   against the rate limit;
//! - when GitHub is limited or failing, the last list is served with a note saying how old it is,
//!   because a tester can still type a PR number or a branch, and the launch checks it with
//!   [`GitHub::pull`] or [`GitHub::branch`];
//! - while a rate limit lasts no call is made at all: calls during a limit only prolong it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use crate::error::WebError;
use crate::picker;

/// GitHub's cap on `per_page`, and our default.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Pages followed per list: 500 PRs is far more than either repository has open, and 500
/// branches more than either has.
pub const MAX_PAGES: usize = 5;
/// How long a whole list is reused without asking GitHub.
pub const DEFAULT_FRESH_FOR: Duration = Duration::from_secs(60);
/// Per-request deadline, body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// GitHub's `per_page=100` lists with PR bodies are a few hundred KiB; anything far larger is
/// not GitHub.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// URLs whose validators are kept (list pages, looked-up PRs and branches).
const MAX_CACHED_PAGES: usize = 1000;
/// How long to hold off after a secondary rate limit that names no time (GitHub's advice).
const SECONDARY_LIMIT_WAIT: i64 = 60;

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A pull request as the picker and the launch need it.
#[derive(Clone, Debug, PartialEq)]
pub struct Pull {
    /// The PR number.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// The author's login (`user.login`; `ghost` for a deleted account).
    pub author: String,
    /// The branch it targets (`base.ref`).
    pub base: String,
    /// The commit it would build (`head.sha`).
    pub head_sha: String,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its page on github.com.
    pub html_url: String,
    /// Whether it is a draft.
    pub draft: bool,
    /// `open` or `closed`.
    pub state: String,
    /// The `DSpace/DSpace` PR its body says it requires (see [`picker::requires_backend`]).
    pub requires_backend: Option<u64>,
}

/// The open PRs of a repository, most recently updated first.
#[derive(Clone, Debug, PartialEq)]
pub struct PullList {
    /// The PRs.
    pub pulls: Vec<Pull>,
    /// Shown above the list when it is stale or incomplete (rate limit, GitHub failing).
    pub note: Option<String>,
}

/// A branch as the form and the launch need it.
#[derive(Clone, Debug, PartialEq)]
pub struct Branch {
    /// Its name (it may hold `/`).
    pub name: String,
    /// The commit at its tip (`commit.sha`).
    pub sha: String,
    /// Whether GitHub protects it.
    pub protected: bool,
}

/// The branches of a repository, in GitHub's order (by name).
#[derive(Clone, Debug, PartialEq)]
pub struct BranchList {
    /// The branches.
    pub branches: Vec<Branch>,
    /// Shown above the list when it is stale or incomplete (rate limit, GitHub failing).
    pub note: Option<String>,
}

/// The GitHub client; build one per process and clone it freely (the cache is shared).
#[derive(Clone)]
pub struct GitHub {
    base: Arc<str>,
    token: Option<HeaderValue>,
    page_size: u32,
    fresh_for: Duration,
    timeout: Duration,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token itself.
        f.debug_struct("GitHub")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "(set)"))
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

struct Shared {
    // Built on first use: loading the system's root certificates is not free, and most pages
    // (and a Lambda's cold start) never talk to GitHub.
    http: OnceLock<HttpClient>,
    cache: Mutex<Cache>,
    // One refresh per list (kind and repository) at a time, so a burst of page loads costs one
    // set of calls.
    refreshing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

#[derive(Default)]
struct Cache {
    /// Per URL: the last 200's validator and what it said.
    pages: HashMap<String, CachedPage>,
    /// Per repository: the last whole list of open PRs.
    pulls: HashMap<String, CachedList<Pull>>,
    /// Per repository: the last whole list of branches.
    branches: HashMap<String, CachedList<Branch>>,
    /// No call before this (a rate limit is per token or per address, not per repository).
    limited_until: Option<DateTime<Utc>>,
}

/// A page as GitHub sent it: raw, so one cache serves every kind of item (a 304 reads it again).
#[derive(Clone)]
struct CachedPage {
    etag: String,
    body: Bytes,
    next: Option<String>,
}

struct CachedList<T> {
    items: Vec<T>,
    /// When GitHub last confirmed it (wall clock, for the note).
    fetched_at: DateTime<Utc>,
    /// When it was last fetched or found unreachable (monotonic, for freshness).
    checked: Instant,
    note: Option<String>,
}

/// Why a call did not produce an answer.
enum Failure {
    RateLimited { until: DateTime<Utc> },
    Other(String),
}

/// One request as [`GitHub::send`] makes it.
struct Outgoing<'a> {
    method: Method,
    url: &'a str,
    auth: Option<&'a HeaderValue>,
    etag: Option<HeaderValue>,
    /// Content type and bytes.
    body: Option<(&'static str, Bytes)>,
    /// The media type asked for, when not GitHub's API type.
    accept: Option<&'static str>,
}

/// Whose credentials a [`GitHub::call`] carries.
#[derive(Clone, Copy, Debug)]
pub enum Caller<'a> {
    /// The service's own token (`PREVIEW_GITHUB_TOKEN`), when one is configured.
    Service,
    /// A signed-in person's OAuth token.
    User(&'a str),
    /// No credentials (the OAuth token exchange authenticates in its body).
    Anonymous,
}

/// What GitHub answered to a [`GitHub::call`].
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The raw body.
    pub body: Bytes,
}

impl Answer {
    /// The body read as `T`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, WebError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| WebError::GitHub(format!("GitHub's answer could not be read ({e})")))
    }

    /// True for a 2xx.
    pub fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// GitHub's error message, for a log line or an error.
    pub fn describe(&self) -> String {
        format!(
            "GitHub answered {}{}",
            self.status,
            api_message(&self.body)
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )
    }
}

/// One page read: its items and the link to the next.
struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
}

/// What a GET produced.
enum Fetched<T> {
    Found(Page<T>),
    NotFound,
}

/// A list cached per repository like the open PRs: where GitHub serves it, how to read it, and
/// how the notes about it name it.
trait Listed: Clone + Sized {
    /// What the list holds, for notes ("open PRs").
    const WHAT: &'static str;
    /// What a tester can type instead of picking ("PR number").
    const TYPED: &'static str;
    /// The first page's path and query under the API.
    fn first_page(repo: &str, per_page: u32) -> String;
    /// One page of GitHub's answer.
    fn parse(body: &[u8]) -> serde_json::Result<Vec<Self>>;
    /// This kind's lists in the cache.
    fn lists(cache: &mut Cache) -> &mut HashMap<String, CachedList<Self>>;
    /// The note on a list cut after [`MAX_PAGES`] pages of `listed` items.
    fn cut_note(listed: usize, repo: &str) -> String;
}

impl Listed for Pull {
    const WHAT: &'static str = "open PRs";
    const TYPED: &'static str = "PR number";
    fn first_page(repo: &str, per_page: u32) -> String {
        format!("/repos/{repo}/pulls?state=open&sort=updated&direction=desc&per_page={per_page}")
    }
    fn parse(body: &[u8]) -> serde_json::Result<Vec<Pull>> {
        let pulls: Vec<ApiPull> = serde_json::from_slice(body)?;
        Ok(pulls.into_iter().map(Pull::from).collect())
    }
    fn lists(cache: &mut Cache) -> &mut HashMap<String, CachedList<Pull>> {
        &mut cache.pulls
    }
    fn cut_note(listed: usize, repo: &str) -> String {
        format!(
            "Only the {listed} most recently updated open PRs of {repo} are listed; type the \
             number of an older one."
        )
    }
}

impl Listed for Branch {
    const WHAT: &'static str = "branches";
    const TYPED: &'static str = "branch name";
    fn first_page(repo: &str, per_page: u32) -> String {
        format!("/repos/{repo}/branches?per_page={per_page}")
    }
    fn parse(body: &[u8]) -> serde_json::Result<Vec<Branch>> {
        let branches: Vec<ApiBranch> = serde_json::from_slice(body)?;
        Ok(branches.into_iter().map(Branch::from).collect())
    }
    fn lists(cache: &mut Cache) -> &mut HashMap<String, CachedList<Branch>> {
        &mut cache.branches
    }
    fn cut_note(listed: usize, repo: &str) -> String {
        format!("Only the first {listed} branches of {repo} are listed; type the name of another.")
    }
}

impl GitHub {
    /// A client for the API at `base_url` (`https://api.github.com`, or a local replay over
    /// http), authenticating with `token` when one is given.
    pub fn new(base_url: &str, token: Option<String>) -> Result<GitHub, WebError> {
        let base = base_url.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"));
        if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
            return Err(WebError::Config(format!(
                "the GitHub API URL '{base_url}' is not an http(s) URL"
            )));
        }
        let token = match token
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
        {
            None => None,
            Some(t) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| {
                    WebError::Config("the GitHub token has characters a header cannot carry".into())
                })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        Ok(GitHub {
            base: base.into(),
            token,
            page_size: DEFAULT_PAGE_SIZE,
            fresh_for: DEFAULT_FRESH_FOR,
            timeout: DEFAULT_TIMEOUT,
            shared: Arc::new(Shared {
                http: OnceLock::new(),
                cache: Mutex::new(Cache::default()),
                refreshing: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The same client asking for `n` PRs per page (1–100; tests use small pages).
    pub fn with_page_size(mut self, n: u32) -> GitHub {
        self.page_size = n.clamp(1, 100);
        self
    }

    /// The same client reusing a whole list for `d` without asking GitHub.
    pub fn with_fresh_for(mut self, d: Duration) -> GitHub {
        self.fresh_for = d;
        self
    }

    /// The same client with another per-request deadline.
    pub fn with_timeout(mut self, d: Duration) -> GitHub {
        self.timeout = d;
        self
    }

    /// The open PRs of `repo` (`owner/name`), most recently updated first; stale with a note,
    /// or an error saying the number can still be typed, when GitHub cannot answer.
    pub async fn open_pulls(&self, repo: &str) -> Result<PullList, WebError> {
        let (pulls, note) = self.list(repo).await?;
        Ok(PullList { pulls, note })
    }

    /// The branches of `repo` (`owner/name`), cached and revalidated like [`GitHub::open_pulls`];
    /// stale with a note, or an error saying a name can still be typed, when GitHub cannot answer.
    pub async fn branches(&self, repo: &str) -> Result<BranchList, WebError> {
        let (branches, note) = self.list(repo).await?;
        Ok(BranchList { branches, note })
    }

    /// PR `number` of `repo` whatever its state, or `None` when GitHub has no such PR.
    pub async fn pull(&self, repo: &str, number: u64) -> Result<Option<Pull>, WebError> {
        check_repo(repo)?;
        let url = format!("{}/repos/{repo}/pulls/{number}", self.base);
        let parse = parse_one::<ApiPull, Pull>;
        self.lookup(&url, parse, &format!("PR #{number} of {repo}"))
            .await
    }

    /// Branch `name` of `repo` (names may hold `/`), or `None` when GitHub has no such branch.
    pub async fn branch(&self, repo: &str, name: &str) -> Result<Option<Branch>, WebError> {
        check_repo(repo)?;
        // A name git would refuse is no branch, and asking for it could step out of the path.
        let Some(path) = branch_path(name) else {
            return Ok(None);
        };
        let url = format!("{}/repos/{repo}/branches/{path}", self.base);
        let parse = parse_one::<ApiBranch, Branch>;
        self.lookup(&url, parse, &format!("branch '{name}' of {repo}"))
            .await
    }

    /// One item by URL (`what` names it in errors); `None` on a 404.
    async fn lookup<T>(
        &self,
        url: &str,
        parse: fn(&[u8]) -> serde_json::Result<Vec<T>>,
        what: &str,
    ) -> Result<Option<T>, WebError> {
        match self.fetch(url, parse).await {
            Ok(Fetched::Found(page)) => Ok(page.items.into_iter().next()),
            Ok(Fetched::NotFound) => Ok(None),
            Err(Failure::RateLimited { until }) => Err(WebError::GitHub(format!(
                "GitHub's rate limit was reached, so {what} cannot be checked until {}; try \
                 again then.",
                hhmm(until)
            ))),
            Err(Failure::Other(why)) => {
                tracing::warn!(what, error = %why, "GitHub lookup failed");
                Err(WebError::GitHub(format!(
                    "could not check {what} on GitHub: {why}. Try again in a minute."
                )))
            }
        }
    }

    /// A whole list of `repo`: the cached one while fresh (or while a rate limit lasts), else
    /// fetched again page by page, else the last one with a note.
    async fn list<T: Listed>(&self, repo: &str) -> Result<(Vec<T>, Option<String>), WebError> {
        check_repo(repo)?;
        if let Some(list) = self.fresh_list(repo) {
            return Ok(list);
        }
        let gate = self.refresh_gate(&T::first_page(repo, self.page_size));
        let _refreshing = gate.lock().await;
        // Someone else may have refreshed while this waited.
        if let Some(list) = self.fresh_list(repo) {
            return Ok(list);
        }
        match self.fetch_list::<T>(repo).await {
            Ok((items, truncated)) => {
                let note = truncated.then(|| T::cut_note(items.len(), repo));
                T::lists(&mut self.cache()).insert(
                    repo.to_string(),
                    CachedList {
                        items: items.clone(),
                        fetched_at: Utc::now(),
                        checked: Instant::now(),
                        note: note.clone(),
                    },
                );
                Ok((items, note))
            }
            Err(failure) => self.stale_or_error(repo, failure),
        }
    }

    /// The API's base URL, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// True when the service has its own token (`PREVIEW_GITHUB_TOKEN`).
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// One uncached call: `method` on `url` (absolute, or a path under the API such as
    /// `/user`) with `body` sent as JSON. Any status is an [`Answer`]; only an unreachable
    /// GitHub, or a rate limit on the service's token, is an error. Calls with the service's
    /// token share the picker's rate-limit state, so none is made while a limit lasts.
    pub async fn call(
        &self,
        method: Method,
        url: &str,
        caller: Caller<'_>,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, WebError> {
        self.call_accepting(method, url, caller, body, None).await
    }

    /// [`GitHub::call`] asking for the media type `accept` (github.com's OAuth token exchange
    /// answers JSON only to `application/json`); `None` asks for GitHub's API type.
    pub async fn call_accepting(
        &self,
        method: Method,
        url: &str,
        caller: Caller<'_>,
        body: Option<&serde_json::Value>,
        accept: Option<&'static str>,
    ) -> Result<Answer, WebError> {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_string()
        };
        let service = matches!(caller, Caller::Service);
        if let Some(until) = self
            .cache()
            .limited_until
            .filter(|u| service && *u > Utc::now())
        {
            return Err(rate_limited(until));
        }
        let user_token;
        let auth = match caller {
            Caller::Service => self.token.as_ref(),
            Caller::Anonymous => None,
            Caller::User(token) => {
                user_token = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                    WebError::GitHub("the GitHub sign-in token is not a valid header".into())
                })?;
                Some(&user_token)
            }
        };
        let body = body.map(|b| ("application/json", Bytes::from(b.to_string())));
        let (status, headers, body) = self
            .send(Outgoing {
                method,
                url: &url,
                auth,
                etag: None,
                body,
                accept,
            })
            .await
            .map_err(|failure| match failure {
                Failure::RateLimited { until } => rate_limited(until),
                Failure::Other(why) => WebError::GitHub(why),
            })?;
        if let Some(until) = limit_reached(status, &headers, &body).filter(|_| service) {
            self.cache().limited_until = Some(until);
            if !status.is_success() {
                return Err(rate_limited(until));
            }
        }
        Ok(Answer { status, body })
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        // A panic elsewhere while holding the lock leaves a cache that is still consistent
        // enough to read: every update is a single insert.
        self.shared
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn refresh_gate(&self, list: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self
            .shared
            .refreshing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        gates.entry(list.to_string()).or_default().clone()
    }

    /// The cached list when it is fresh, or when a rate limit forbids asking anyway.
    fn fresh_list<T: Listed>(&self, repo: &str) -> Option<(Vec<T>, Option<String>)> {
        let mut cache = self.cache();
        let limited = cache.limited_until.filter(|u| *u > Utc::now());
        let list = T::lists(&mut cache).get(repo)?;
        if list.checked.elapsed() < self.fresh_for {
            return Some((list.items.clone(), list.note.clone()));
        }
        let until = limited?;
        let note = limited_note(list.fetched_at, until, T::TYPED);
        Some((list.items.clone(), Some(note)))
    }

    fn stale_or_error<T: Listed>(
        &self,
        repo: &str,
        failure: Failure,
    ) -> Result<(Vec<T>, Option<String>), WebError> {
        let (what, typed) = (T::WHAT, T::TYPED);
        let mut cache = self.cache();
        let Some(list) = T::lists(&mut cache).get_mut(repo) else {
            return Err(WebError::GitHub(match failure {
                Failure::RateLimited { until } => format!(
                    "GitHub's rate limit was reached, so the {what} of {repo} cannot be listed \
                     until {}. You can still type the {typed}.",
                    hhmm(until)
                ),
                Failure::Other(why) => {
                    tracing::warn!(repo, what, error = %why, "listing on GitHub failed");
                    format!(
                        "could not list the {what} of {repo}: {why}. Try again in a minute, or \
                         type the {typed}."
                    )
                }
            }));
        };
        let note = match failure {
            Failure::RateLimited { until } => limited_note(list.fetched_at, until, typed),
            Failure::Other(why) => {
                tracing::warn!(repo, what, error = %why, "listing on GitHub failed; serving the last list");
                format!(
                    "GitHub could not be asked ({why}); this list is from {} and may miss recent \
                     {what}. You can still type any {typed}.",
                    hhmm(list.fetched_at)
                )
            }
        };
        // Serve the stale list for a whole freshness window rather than making every page
        // load wait for a failing GitHub.
        list.checked = Instant::now();
        list.note = Some(note.clone());
        Ok((list.items.clone(), Some(note)))
    }

    /// Every page of a list; `true` when more pages exist than [`MAX_PAGES`].
    async fn fetch_list<T: Listed>(&self, repo: &str) -> Result<(Vec<T>, bool), Failure> {
        let mut url = format!("{}{}", self.base, T::first_page(repo, self.page_size));
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = match self.fetch(&url, T::parse).await? {
                Fetched::Found(page) => page,
                Fetched::NotFound => {
                    return Err(Failure::Other(format!(
                        "GitHub has no repository {repo} (or it is private)"
                    )))
                }
            };
            items.extend(page.items);
            match page.next {
                Some(next) => url = next,
                None => return Ok((items, false)),
            }
        }
        Ok((items, true))
    }

    /// One conditional GET: a 304 reads the cached page again; a 404 is [`Fetched::NotFound`].
    async fn fetch<T>(
        &self,
        url: &str,
        parse: fn(&[u8]) -> serde_json::Result<Vec<T>>,
    ) -> Result<Fetched<T>, Failure> {
        let read = |page: CachedPage| -> Result<Fetched<T>, Failure> {
            let items = parse(&page.body)
                .map_err(|e| Failure::Other(format!("GitHub's answer could not be read ({e})")))?;
            Ok(Fetched::Found(Page {
                items,
                next: page.next,
            }))
        };
        let cached = {
            let mut cache = self.cache();
            if let Some(until) = cache.limited_until {
                if until > Utc::now() {
                    return Err(Failure::RateLimited { until });
                }
                cache.limited_until = None;
            }
            cache.pages.get(url).cloned()
        };
        let (status, headers, body) = self
            .get(url, cached.as_ref().map(|c| c.etag.as_str()))
            .await?;
        if let Some(until) = limit_reached(status, &headers, &body) {
            self.cache().limited_until = Some(until);
            // A 200 that used the last call is still an answer; only the next call must wait.
            if status != StatusCode::OK {
                return Err(Failure::RateLimited { until });
            }
        }
        match status {
            StatusCode::NOT_MODIFIED => read(cached.ok_or_else(|| {
                Failure::Other("GitHub answered 304 to a request without a validator".into())
            })?),
            StatusCode::OK => {
                let page = CachedPage {
                    etag: header_str(&headers, header::ETAG)
                        .unwrap_or_default()
                        .into(),
                    body,
                    next: self.next_link(&headers),
                };
                // Read before caching, so an unreadable answer is never revalidated.
                let fetched = read(page.clone())?;
                if !page.etag.is_empty() {
                    let mut cache = self.cache();
                    // Every PR or branch looked up at launch adds a URL; a long-lived server must
                    // not grow without bound, and losing validators only costs full answers once.
                    if cache.pages.len() >= MAX_CACHED_PAGES {
                        cache.pages.clear();
                    }
                    cache.pages.insert(url.to_string(), page);
                }
                Ok(fetched)
            }
            StatusCode::NOT_FOUND => Ok(Fetched::NotFound),
            StatusCode::UNAUTHORIZED => Err(Failure::Other(
                "GitHub refused the configured token (401); it may have expired".into(),
            )),
            other => Err(Failure::Other(format!(
                "GitHub answered {}{}",
                other,
                api_message(&body)
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            ))),
        }
    }

    /// The `rel="next"` link, only when it points back at our API (the token goes with it).
    fn next_link(&self, headers: &HeaderMap) -> Option<String> {
        let next = next_link(header_str(headers, header::LINK)?)?;
        let ours = next
            .strip_prefix(&*self.base)
            .is_some_and(|rest| rest.starts_with('/'));
        ours.then_some(next)
    }

    async fn get(
        &self,
        url: &str,
        etag: Option<&str>,
    ) -> Result<(StatusCode, HeaderMap, Bytes), Failure> {
        let etag = etag.and_then(|e| HeaderValue::from_str(e).ok());
        self.send(Outgoing {
            method: Method::GET,
            url,
            auth: self.token.as_ref(),
            etag,
            body: None,
            accept: None,
        })
        .await
    }

    /// One request with this client's headers and deadline.
    async fn send(&self, out: Outgoing<'_>) -> Result<(StatusCode, HeaderMap, Bytes), Failure> {
        let client = self.http()?;
        let url = out.url;
        let mut req = Request::builder()
            .method(out.method)
            .uri(url)
            .header(header::USER_AGENT, "dspace-preview")
            .header(
                header::ACCEPT,
                out.accept.unwrap_or("application/vnd.github+json"),
            )
            .header("x-github-api-version", "2022-11-28");
        if let Some(token) = out.auth {
            req = req.header(header::AUTHORIZATION, token.clone());
        }
        if let Some(etag) = out.etag {
            req = req.header(header::IF_NONE_MATCH, etag);
        }
        if let Some((content_type, _)) = &out.body {
            req = req.header(header::CONTENT_TYPE, *content_type);
        }
        let body = out.body.map(|(_, b)| b).unwrap_or_default();
        let req = req
            .body(Full::new(body))
            .map_err(|e| Failure::Other(format!("bad request URL {url}: {e}")))?;
        let call = async {
            let resp = client.request(req).await.map_err(|e| {
                Failure::Other(format!("could not reach GitHub ({})", error_chain(&e)))
            })?;
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|e| Failure::Other(format!("GitHub's answer broke off ({e})")))?
                .to_bytes();
            Ok((parts.status, parts.headers, body))
        };
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(Failure::Other(format!(
                    "GitHub did not answer within {} s",
                    self.timeout.as_secs_f32()
                )))
            })
    }

    fn http(&self) -> Result<&HttpClient, Failure> {
        if let Some(client) = self.shared.http.get() {
            return Ok(client);
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| Failure::Other(format!("no TLS root certificates on this machine ({e})")))?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            // Short, so a Lambda thawed after minutes does not reuse a connection GitHub closed.
            .pool_idle_timeout(Duration::from_secs(20))
            .build(https);
        Ok(self.shared.http.get_or_init(|| client))
    }
}

/// `owner/name` with GitHub's characters only, so it cannot change the URL's path or query.
fn check_repo(repo: &str) -> Result<(), WebError> {
    let ok_part = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if ok_part(owner) && ok_part(name) => Ok(()),
        _ => Err(WebError::BadRequest(format!(
            "'{repo}' is not a GitHub repository (owner/name)"
        ))),
    }
}

/// When a 403/429 is a rate limit: until `x-ratelimit-reset` when none are left, else after
/// `retry-after` (secondary limit), else a minute when GitHub's message says so. A 200 that used
/// the last call also ends calls until the reset.
fn limit_reached(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Option<DateTime<Utc>> {
    let now = Utc::now();
    let exhausted = header_str(headers, "x-ratelimit-remaining").is_some_and(|r| r.trim() == "0");
    let reset = header_str(headers, "x-ratelimit-reset")
        .and_then(|r| r.trim().parse::<i64>().ok())
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single());
    let retry_after = header_str(headers, header::RETRY_AFTER)
        .and_then(|r| r.trim().parse::<i64>().ok())
        .map(|secs| now + chrono::Duration::seconds(secs.max(1)));
    let minute = || now + chrono::Duration::seconds(SECONDARY_LIMIT_WAIT);
    match status {
        StatusCode::OK => exhausted.then_some(reset).flatten(),
        StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
            if let Some(at) = retry_after {
                Some(at)
            } else if exhausted {
                Some(reset.unwrap_or_else(minute))
            } else if status == StatusCode::TOO_MANY_REQUESTS
                || api_message(body).is_some_and(|m| m.to_lowercase().contains("rate limit"))
            {
                Some(minute())
            } else {
                None
            }
        }
        _ => None,
    }
}

fn limited_note(fetched_at: DateTime<Utc>, until: DateTime<Utc>, typed: &str) -> String {
    format!(
        "GitHub's rate limit was reached; this list is from {} and refreshes after {}. You can \
         still type any {typed}.",
        hhmm(fetched_at),
        hhmm(until)
    )
}

/// `name` as a path under `/branches/`: `/` kept (GitHub takes it as is), every other byte
/// outside the unreserved set percent-encoded; `None` when git would refuse the name (an empty
/// part, or one starting with `.`), so no name can step out of the path.
fn branch_path(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split('/').collect();
    if parts.iter().any(|p| p.is_empty() || p.starts_with('.')) {
        return None;
    }
    let encode = |part: &str| -> String {
        part.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    Some(parts.into_iter().map(encode).collect::<Vec<_>>().join("/"))
}

/// The error for a call refused because of a rate limit.
fn rate_limited(until: DateTime<Utc>) -> WebError {
    WebError::GitHub(format!(
        "GitHub's rate limit was reached; it lifts at {}",
        hhmm(until)
    ))
}

fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%H:%M UTC").to_string()
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The URL of `rel="next"` in a `Link` header (RFC 8288, as GitHub writes it).
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().strip_prefix('<')?.split_once('>')?;
        params
            .split(';')
            .any(|p| {
                p.trim()
                    .strip_prefix("rel=")
                    .is_some_and(|rel| rel.trim_matches('"').split(' ').any(|r| r == "next"))
            })
            .then(|| target.to_string())
    })
}

/// GitHub's `{"message": …}` from an error body.
fn api_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ApiError {
        message: String,
    }
    serde_json::from_slice::<ApiError>(body)
        .ok()
        .map(|e| e.message)
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The fields we read of GitHub's pull-request object.
#[derive(Deserialize)]
struct ApiPull {
    number: u64,
    title: String,
    user: Option<ApiUser>,
    base: ApiRef,
    head: ApiHead,
    updated_at: DateTime<Utc>,
    html_url: String,
    #[serde(default)]
    draft: bool,
    state: String,
    body: Option<String>,
}

#[derive(Deserialize)]
struct ApiUser {
    login: String,
}

#[derive(Deserialize)]
struct ApiRef {
    #[serde(rename = "ref")]
    name: String,
}

#[derive(Deserialize)]
struct ApiHead {
    sha: String,
}

impl From<ApiPull> for Pull {
    fn from(p: ApiPull) -> Pull {
        Pull {
            number: p.number,
            title: p.title,
            author: p.user.map_or_else(|| "ghost".into(), |u| u.login),
            base: p.base.name,
            head_sha: p.head.sha,
            updated_at: p.updated_at,
            html_url: p.html_url,
            draft: p.draft,
            state: p.state,
            requires_backend: p.body.as_deref().and_then(picker::requires_backend),
        }
    }
}

/// The fields we read of GitHub's branch object (the list's and the single branch's).
#[derive(Deserialize)]
struct ApiBranch {
    name: String,
    commit: ApiHead,
    #[serde(default)]
    protected: bool,
}

impl From<ApiBranch> for Branch {
    fn from(b: ApiBranch) -> Branch {
        Branch {
            name: b.name,
            sha: b.commit.sha,
            protected: b.protected,
        }
    }
}

/// A single object (a PR, a branch) as a one-item page.
fn parse_one<A: serde::de::DeserializeOwned + Into<T>, T>(
    body: &[u8],
) -> serde_json::Result<Vec<T>> {
    let one: A = serde_json::from_slice(body)?;
    Ok(vec![one.into()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_reads_githubs_link_header() {
        let link = r#"<https://api.github.com/repositories/1/pulls?per_page=10&page=2>; rel="next", <https://api.github.com/repositories/1/pulls?per_page=10&page=3>; rel="last""#;
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/repositories/1/pulls?per_page=10&page=2")
        );
        let last = r#"<https://x/p?page=1>; rel="prev", <https://x/p?page=1>; rel="first""#;
        assert_eq!(next_link(last), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn next_link_must_stay_on_the_api() {
        let gh = GitHub::new("https://api.github.com/", None).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LINK,
            HeaderValue::from_static(r#"<https://evil.example/pulls?page=2>; rel="next""#),
        );
        assert_eq!(gh.next_link(&headers), None);
        headers.insert(
            header::LINK,
            HeaderValue::from_static(r#"<https://api.github.com.evil.example/p>; rel="next""#),
        );
        assert_eq!(gh.next_link(&headers), None);
        headers.insert(
            header::LINK,
            HeaderValue::from_static(
                r#"<https://api.github.com/repositories/1/pulls?page=2>; rel="next""#,
            ),
        );
        assert!(gh.next_link(&headers).is_some());
    }

    #[test]
    fn the_tls_client_builds_with_the_systems_roots() {
        // What api.github.com needs: aws-lc-rs and the system's root certificates.
        let gh = GitHub::new("https://api.github.com", None).unwrap();
        assert!(gh.http().is_ok());
        assert!(gh.shared.http.get().is_some());
    }

    #[test]
    fn repos_are_owner_slash_name() {
        assert!(check_repo("DSpace/dspace-angular").is_ok());
        assert!(check_repo("DSpace/DSpace").is_ok());
        for bad in [
            "", "DSpace", "DSpace/", "/x", "a/b/c", "a/..", "a/b?x=1", "a/b#c",
        ] {
            assert!(check_repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn branch_names_keep_their_slashes_and_encode_the_rest() {
        assert_eq!(branch_path("main").as_deref(), Some("main"));
        assert_eq!(
            branch_path("w2p-12345/fix-search").as_deref(),
            Some("w2p-12345/fix-search")
        );
        assert_eq!(
            branch_path("a b/c?d#e%f+ü").as_deref(),
            Some("a%20b/c%3Fd%23e%25f%2B%C3%BC")
        );
        for refused in ["", "/x", "x/", "a//b", "..", "a/../b", ".hidden", "a/.b"] {
            assert_eq!(branch_path(refused), None, "{refused}");
        }
    }

    #[test]
    fn base_urls_are_checked_and_tokens_hidden() {
        assert!(GitHub::new("ftp://x", None).is_err());
        assert!(GitHub::new("https://", None).is_err());
        assert!(GitHub::new("http://127.0.0.1:8084", Some("".into())).is_ok());
        assert!(GitHub::new("https://api.github.com", Some("a\nb".into())).is_err());
        let gh = GitHub::new("https://api.github.com", Some("ghp_secret".into())).unwrap();
        assert!(!format!("{gh:?}").contains("ghp_secret"));
    }

    #[test]
    fn rate_limits_are_recognised() {
        let reset = Utc::now().timestamp() + 600;
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert("x-ratelimit-reset", HeaderValue::from(reset));
        let until = limit_reached(StatusCode::FORBIDDEN, &h, b"{}").unwrap();
        assert_eq!(until.timestamp(), reset);
        assert_eq!(
            limit_reached(StatusCode::OK, &h, b"[]").map(|t| t.timestamp()),
            Some(reset)
        );

        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
        let until = limit_reached(StatusCode::TOO_MANY_REQUESTS, &h, b"").unwrap();
        assert!((until - Utc::now()).num_seconds() <= 30);

        let secondary = br#"{"message":"You have exceeded a secondary rate limit."}"#;
        assert!(limit_reached(StatusCode::FORBIDDEN, &HeaderMap::new(), secondary).is_some());
        let forbidden = br#"{"message":"Resource not accessible by personal access token"}"#;
        assert!(limit_reached(StatusCode::FORBIDDEN, &HeaderMap::new(), forbidden).is_none());
        assert!(limit_reached(StatusCode::OK, &HeaderMap::new(), b"[]").is_none());
    }

    #[test]
    fn pulls_are_read_from_githubs_shape() {
        let body = br#"{"number":4321,"title":"t","user":null,"state":"open","draft":true,
            "body":"* Requires DSpace/DSpace#9876","html_url":"https://github.com/DSpace/dspace-angular/pull/4321",
            "updated_at":"2026-11-20T10:00:00Z","head":{"sha":"abc","ref":"x"},"base":{"ref":"main"}}"#;
        let pull = parse_one::<ApiPull, Pull>(body).unwrap().remove(0);
        assert_eq!(pull.author, "ghost");
        assert_eq!(pull.base, "main");
        assert_eq!(pull.head_sha, "abc");
        assert!(pull.draft);
        assert_eq!(pull.requires_backend, Some(9876));
    }
}
