//! The GitHub client against the replay of the recorded PRs and, for what the replay never
//! answers (rate limits, outages, slowness), a small server with canned answers. No AWS needed.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{Duration as Days, Utc};
use preview_local::github_replay::{self, Hit, ReplayLog};
use preview_web::github::{GitHub, Pull};
use preview_web::picker;
use serde_json::Value;

const BACKEND: &str = "DSpace/DSpace";
const UI: &str = "DSpace/dspace-angular";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/github")
}

/// The replay on a free port: its base URL and its request log.
async fn replay() -> (String, ReplayLog) {
    let (app, log) = github_replay::app(&fixtures()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, log)
}

/// The open PR numbers of a recording, most recently updated first (read straight from the file).
fn recorded_open(repo: &str) -> Vec<u64> {
    let path = fixtures().join("repos").join(repo).join("pulls.json");
    let mut pulls: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    pulls.retain(|p| p["state"] == "open");
    pulls.sort_by(|a, b| {
        b["updated_at"]
            .as_str()
            .unwrap()
            .cmp(a["updated_at"].as_str().unwrap())
    });
    pulls
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect()
}

fn numbers(pulls: &[Pull]) -> Vec<u64> {
    pulls.iter().map(|p| p.number).collect()
}

fn paths(hits: &[Hit]) -> Vec<String> {
    hits.iter().map(|h| h.path.clone()).collect()
}

#[tokio::test]
async fn every_page_is_followed_in_order() {
    let (base, log) = replay().await;
    let gh = GitHub::new(&base, None).unwrap().with_page_size(10);
    let list = gh.open_pulls(BACKEND).await.unwrap();

    let expected = recorded_open(BACKEND);
    assert_eq!(expected.len(), 25);
    assert_eq!(numbers(&list.pulls), expected);
    assert_eq!(list.note, None);
    assert!(list
        .pulls
        .windows(2)
        .all(|w| w[0].updated_at >= w[1].updated_at));
    let first = "/repos/DSpace/DSpace/pulls?state=open&sort=updated&direction=desc&per_page=10";
    assert_eq!(
        paths(&log.hits()),
        [
            first.to_string(),
            format!("{first}&page=2"),
            format!("{first}&page=3")
        ]
    );
    assert!(log.hits().iter().all(|h| h.status == 200 && !h.authorized));

    // One page at GitHub's own page size.
    log.clear();
    let ui = GitHub::new(&base, None).unwrap();
    let list = ui.open_pulls(UI).await.unwrap();
    assert_eq!(numbers(&list.pulls), recorded_open(UI));
    assert_eq!(log.hits().len(), 1);
    assert!(log.hits()[0].path.ends_with("per_page=100"));
}

#[tokio::test]
async fn a_list_longer_than_five_pages_says_it_is_cut() {
    let (base, log) = replay().await;
    let gh = GitHub::new(&base, None).unwrap().with_page_size(2);
    let list = gh.open_pulls(BACKEND).await.unwrap();
    assert_eq!(numbers(&list.pulls), recorded_open(BACKEND)[..10]);
    assert_eq!(log.hits().len(), 5);
    let note = list.note.unwrap();
    assert!(note.contains("Only the 10 most recently updated"), "{note}");
}

#[tokio::test]
async fn a_fresh_list_costs_no_call_and_a_stale_one_is_revalidated() {
    let (base, log) = replay().await;
    let gh = GitHub::new(&base, None)
        .unwrap()
        .with_page_size(10)
        .with_fresh_for(Duration::from_millis(300));
    let first = gh.open_pulls(BACKEND).await.unwrap();
    assert_eq!(log.hits().len(), 3);

    // Within the window: no request at all, also from a clone (the cache is shared).
    let again = gh.clone().open_pulls(BACKEND).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(log.hits().len(), 3);

    // After it: every page is asked again with its ETag, and GitHub says 304.
    tokio::time::sleep(Duration::from_millis(350)).await;
    let revalidated = gh.open_pulls(BACKEND).await.unwrap();
    assert_eq!(revalidated, first);
    let hits = log.hits();
    assert_eq!(hits.len(), 6);
    for hit in &hits[3..] {
        assert_eq!(hit.status, 304, "{hit:?}");
        let etag = hit.if_none_match.as_deref().unwrap_or_default();
        assert!(etag.starts_with('"') && etag.len() == 66, "{hit:?}");
    }
    assert_eq!(paths(&hits[..3]), paths(&hits[3..]));
}

#[tokio::test]
async fn simultaneous_page_loads_share_one_refresh() {
    let (base, log) = replay().await;
    let gh = GitHub::new(&base, None).unwrap().with_page_size(10);
    let (a, b, c) = tokio::join!(
        gh.open_pulls(BACKEND),
        gh.open_pulls(BACKEND),
        gh.open_pulls(UI)
    );
    assert_eq!(a.unwrap(), b.unwrap());
    assert_eq!(c.unwrap().pulls.len(), 25);
    assert_eq!(log.hits().len(), 3 + 3);
}

#[tokio::test]
async fn pulls_are_looked_up_by_number() {
    let (base, log) = replay().await;
    let gh = GitHub::new(&base, None).unwrap();

    let backend = gh.pull(BACKEND, 9876).await.unwrap().unwrap();
    assert_eq!(backend.number, 9876);
    assert_eq!(backend.base, "main");
    assert_eq!(backend.state, "open");
    assert_eq!(backend.author, "lmartin-uni");
    assert_eq!(backend.head_sha.len(), 40);
    assert_eq!(
        backend.html_url,
        "https://github.com/DSpace/DSpace/pull/9876"
    );

    let ui = gh.pull(UI, 4321).await.unwrap().unwrap();
    assert_eq!(
        (ui.base.as_str(), ui.requires_backend),
        ("main", Some(9876))
    );

    assert_eq!(gh.pull(BACKEND, 1).await.unwrap(), None);
    assert_eq!(gh.pull("DSpace/nothing-here", 1).await.unwrap(), None);
    let closed = gh.pull(BACKEND, 10010).await.unwrap().unwrap();
    assert_eq!(closed.state, "closed");

    // Asked again: revalidated with the ETag, not downloaded again.
    assert_eq!(gh.pull(BACKEND, 9876).await.unwrap(), Some(backend));
    let last = log.hits().pop().unwrap();
    assert_eq!(last.status, 304);

    let bad = gh.pull("../etc", 1).await.unwrap_err();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_picker_works_on_the_recordings() {
    let (base, _log) = replay().await;
    let gh = GitHub::new(&base, None).unwrap();
    let backend = gh.open_pulls(BACKEND).await.unwrap().pulls;
    let ui = gh.open_pulls(UI).await.unwrap().pulls;
    let by_number = |n: u64| ui.iter().find(|p| p.number == n).unwrap();

    let suggested = picker::suggest_backend(by_number(4321), &backend).unwrap();
    assert_eq!(suggested.number, 9876);
    assert_eq!(picker::base_mismatch(suggested, by_number(4321)), None);
    let cross = picker::suggest_backend(by_number(4385), &backend).unwrap();
    assert!(picker::base_mismatch(cross, by_number(4385)).is_some());
    assert_eq!(picker::suggest_backend(by_number(4390), &backend), None);

    assert_eq!(ui.iter().filter(|p| p.draft).count(), 1);
    assert!(picker::filter(&ui, "orcid main")
        .iter()
        .any(|p| p.number == 4321));
    let html = picker::datalist("ui-prs", &ui, &|_| false);
    assert_eq!(html.matches("<option ").count(), 25);
    assert!(html.contains(r#"<option value="4321" data-requires="9876">#4321 "#));
}

// ---- canned answers ----

#[derive(Clone)]
enum Mode {
    /// A one-page list with an ETag; 304 when it matches.
    List(String),
    /// 403 with no calls left until `reset` (epoch seconds).
    Exhausted(i64),
    /// 429 with `retry-after`.
    RetryAfter(u64),
    /// 502 with GitHub's JSON error.
    Down,
    /// 200 that is not a PR list.
    Garbage,
    /// Answers after this long.
    Slow(Duration),
}

struct Canned {
    mode: Mutex<Mode>,
    hits: Mutex<Vec<HeaderMap>>,
}

impl Canned {
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
    fn hits(&self) -> Vec<HeaderMap> {
        self.hits.lock().unwrap().clone()
    }
}

async fn canned_answer(State(canned): State<Arc<Canned>>, headers: HeaderMap) -> Response {
    canned.hits.lock().unwrap().push(headers.clone());
    let mode = canned.mode.lock().unwrap().clone();
    let json = [("content-type", "application/json; charset=utf-8")];
    match mode {
        Mode::List(body) => {
            let etag = format!("\"{}\"", body.len());
            if headers.get("if-none-match").and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
                return (StatusCode::NOT_MODIFIED, [("etag", etag)]).into_response();
            }
            (StatusCode::OK, json, [("etag", etag)], body).into_response()
        }
        Mode::Exhausted(reset) => (
            StatusCode::FORBIDDEN,
            json,
            [
                ("x-ratelimit-limit", "60".to_string()),
                ("x-ratelimit-remaining", "0".to_string()),
                ("x-ratelimit-reset", reset.to_string()),
            ],
            r#"{"message":"API rate limit exceeded for 192.0.2.1.","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}"#,
        )
            .into_response(),
        Mode::RetryAfter(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            json,
            [("retry-after", secs.to_string())],
            r#"{"message":"You have exceeded a secondary rate limit."}"#,
        )
            .into_response(),
        Mode::Down => (
            StatusCode::BAD_GATEWAY,
            json,
            r#"{"message":"Server Error"}"#,
        )
            .into_response(),
        Mode::Garbage => (StatusCode::OK, json, "<html>captive portal</html>").into_response(),
        Mode::Slow(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, json, "[]").into_response()
        }
    }
}

async fn canned(mode: Mode) -> (String, Arc<Canned>) {
    let canned = Arc::new(Canned {
        mode: Mutex::new(mode),
        hits: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .fallback(canned_answer)
        .with_state(canned.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, canned)
}

fn list_body(numbers: &[u64]) -> String {
    let pulls: Vec<Value> = numbers
        .iter()
        .map(|n| {
            serde_json::json!({
                "number": n, "title": format!("PR {n}"), "state": "open", "draft": false,
                "user": {"login": "someone"}, "body": null,
                "html_url": format!("https://github.com/DSpace/DSpace/pull/{n}"),
                "updated_at": "2026-11-20T10:00:00Z", "created_at": "2026-11-01T10:00:00Z",
                "head": {"sha": "0123456789abcdef0123456789abcdef01234567", "ref": "x"},
                "base": {"ref": "main"}
            })
        })
        .collect();
    Value::Array(pulls).to_string()
}

#[tokio::test]
async fn a_rate_limit_serves_the_last_list_and_stops_calls_until_the_reset() {
    let (base, canned) = canned(Mode::List(list_body(&[2, 1]))).await;
    let gh = GitHub::new(&base, None)
        .unwrap()
        .with_fresh_for(Duration::ZERO);
    let before = Utc::now().format("%H:%M UTC").to_string();
    let fetched = gh.open_pulls(BACKEND).await.unwrap();
    assert_eq!(numbers(&fetched.pulls), [2, 1]);
    let after = Utc::now().format("%H:%M UTC").to_string();

    let reset = Utc::now() + Days::minutes(42);
    canned.set(Mode::Exhausted(reset.timestamp()));
    let stale = gh.open_pulls(BACKEND).await.unwrap();
    assert_eq!(stale.pulls, fetched.pulls);
    let note = stale.note.unwrap();
    let refresh = reset.format("%H:%M UTC").to_string();
    assert!(note.contains("rate limit"), "{note}");
    let says = |at: &str| {
        note.contains(&format!(
            "this list is from {at} and refreshes after {refresh}"
        ))
    };
    assert!(says(&before) || says(&after), "{note}");
    assert_eq!(canned.hits().len(), 2);

    // Until the reset nothing goes to GitHub: not the list, not a PR lookup.
    let again = gh.open_pulls(BACKEND).await.unwrap();
    assert_eq!(again.pulls, fetched.pulls);
    assert!(again.note.unwrap().contains("rate limit"));
    let err = gh.pull(BACKEND, 2).await.unwrap_err();
    assert!(err.to_string().contains("rate limit"), "{err}");
    assert!(err.to_string().contains(&refresh), "{err}");
    assert_eq!(canned.hits().len(), 2);
}

#[tokio::test]
async fn a_rate_limit_with_nothing_cached_is_a_clear_error() {
    let reset = Utc::now() + Days::minutes(30);
    let (base, canned) = canned(Mode::Exhausted(reset.timestamp())).await;
    let gh = GitHub::new(&base, None).unwrap();
    let err = gh.open_pulls(UI).await.unwrap_err();
    let text = err.to_string();
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
    assert!(text.contains("rate limit"), "{text}");
    assert!(text.contains(UI), "{text}");
    assert!(
        text.contains(&reset.format("%H:%M UTC").to_string()),
        "{text}"
    );
    assert!(text.contains("type the PR number"), "{text}");
    // The limit is GitHub's, not the repository's: the other list waits too.
    assert!(gh.open_pulls(BACKEND).await.is_err());
    assert_eq!(canned.hits().len(), 1);
}

#[tokio::test]
async fn a_secondary_limit_ends_after_retry_after() {
    let (base, canned) = canned(Mode::RetryAfter(1)).await;
    let gh = GitHub::new(&base, None).unwrap();
    assert!(gh.open_pulls(BACKEND).await.is_err());
    assert!(gh.open_pulls(BACKEND).await.is_err());
    assert_eq!(canned.hits().len(), 1);

    canned.set(Mode::List(list_body(&[7])));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let list = gh.open_pulls(BACKEND).await.unwrap();
    assert_eq!(numbers(&list.pulls), [7]);
    assert_eq!(canned.hits().len(), 2);
}

#[tokio::test]
async fn server_errors_are_explained_or_covered_by_the_last_list() {
    let (base, canned) = canned(Mode::Down).await;
    let gh = GitHub::new(&base, None)
        .unwrap()
        .with_fresh_for(Duration::ZERO);
    let err = gh.open_pulls(BACKEND).await.unwrap_err();
    let text = err.to_string();
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
    assert!(
        text.contains("could not list the open PRs of DSpace/DSpace"),
        "{text}"
    );
    assert!(text.contains("502 Bad Gateway: Server Error"), "{text}");
    assert!(
        text.contains("Try again in a minute, or type the PR number"),
        "{text}"
    );
    let err = gh.pull(BACKEND, 5).await.unwrap_err().to_string();
    assert!(
        err.contains("could not check PR #5 of DSpace/DSpace"),
        "{err}"
    );

    canned.set(Mode::List(list_body(&[3])));
    let fetched = gh.open_pulls(BACKEND).await.unwrap();
    canned.set(Mode::Down);
    let stale = gh.open_pulls(BACKEND).await.unwrap();
    assert_eq!(stale.pulls, fetched.pulls);
    let note = stale.note.unwrap();
    assert!(note.contains("GitHub could not be asked"), "{note}");
    assert!(note.contains("502"), "{note}");
}

#[tokio::test]
async fn garbage_slowness_and_no_server_are_errors_naming_the_cause() {
    let (base, _canned) = canned(Mode::Garbage).await;
    let gh = GitHub::new(&base, None).unwrap();
    let err = gh.open_pulls(BACKEND).await.unwrap_err().to_string();
    assert!(err.contains("GitHub's answer could not be read"), "{err}");

    let (base, _canned) = canned(Mode::Slow(Duration::from_secs(3))).await;
    let gh = GitHub::new(&base, None)
        .unwrap()
        .with_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let err = gh.open_pulls(BACKEND).await.unwrap_err().to_string();
    assert!(err.contains("did not answer within 0.2 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let gh = GitHub::new(&base, None).unwrap();
    let err = gh.open_pulls(BACKEND).await.unwrap_err().to_string();
    assert!(err.contains("could not reach GitHub"), "{err}");
}

#[tokio::test]
async fn the_token_is_sent_only_when_configured() {
    let (base, canned) = canned(Mode::List(list_body(&[1]))).await;
    GitHub::new(&base, Some("t0ken".into()))
        .unwrap()
        .open_pulls(BACKEND)
        .await
        .unwrap();
    GitHub::new(&base, None)
        .unwrap()
        .open_pulls(BACKEND)
        .await
        .unwrap();
    let hits = canned.hits();
    let header = |i: usize, name: &str| hits[i].get(name).cloned();
    assert_eq!(
        header(0, "authorization"),
        Some(HeaderValue::from_static("Bearer t0ken"))
    );
    assert_eq!(header(1, "authorization"), None);
    for i in 0..2 {
        assert_eq!(
            header(i, "user-agent"),
            Some(HeaderValue::from_static("dspace-preview"))
        );
        assert_eq!(
            header(i, "accept"),
            Some(HeaderValue::from_static("application/vnd.github+json"))
        );
        assert_eq!(
            header(i, "x-github-api-version"),
            Some(HeaderValue::from_static("2022-11-28"))
        );
    }
}

/// The branch names of a recording, in the recorded order (read straight from the file).
fn recorded_branches(repo: &str) -> Vec<String> {
    let path = fixtures().join("repos").join(repo).join("branches.json");
    let branches: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    branches
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn branches_are_listed_page_by_page_cached_and_revalidated() {
    let (base, log) = replay().await;
    let gh = GitHub::new(&base, None)
        .unwrap()
        .with_page_size(2)
        .with_fresh_for(Duration::from_millis(300));
    let list = gh.branches(BACKEND).await.unwrap();
    let names: Vec<String> = list.branches.iter().map(|b| b.name.clone()).collect();
    assert_eq!(names, recorded_branches(BACKEND));
    assert!(names.contains(&"w2p-12345/fix-search".to_string()));
    assert!(list.branches.iter().all(|b| b.sha.len() == 40), "{list:?}");
    assert_eq!(list.note, None);
    let first_pages = log.hits().len();
    assert_eq!(first_pages, names.len().div_ceil(2));

    // Fresh: no call. The PR list of the same repository is a list of its own, not this one.
    assert_eq!(gh.branches(BACKEND).await.unwrap(), list);
    assert_eq!(log.hits().len(), first_pages);
    assert!(!gh.open_pulls(BACKEND).await.unwrap().pulls.is_empty());
    let after_pulls = log.hits().len();
    assert!(after_pulls > first_pages);

    // Stale: every page revalidated with its ETag; GitHub says 304 and the list is the same.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(gh.branches(BACKEND).await.unwrap(), list);
    let hits = log.hits();
    let revalidated = &hits[after_pulls..];
    assert_eq!(revalidated.len(), first_pages);
    assert!(
        revalidated.iter().all(|h| h.status == 304),
        "{revalidated:?}"
    );
    assert!(revalidated.iter().all(|h| h.path.contains("/branches")));
}

#[tokio::test]
async fn branches_are_looked_up_by_name_slashes_included() {
    let (base, log) = replay().await;
    let gh = GitHub::new(&base, None).unwrap();

    let main = gh.branch(UI, "main").await.unwrap().unwrap();
    assert_eq!(main.name, "main");
    assert_eq!(main.sha.len(), 40);
    let nested = gh
        .branch(BACKEND, "w2p-12345/fix-search")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(nested.name, "w2p-12345/fix-search");
    assert_eq!(
        log.hits().last().unwrap().path,
        "/repos/DSpace/DSpace/branches/w2p-12345/fix-search"
    );

    assert_eq!(gh.branch(BACKEND, "no-such-branch").await.unwrap(), None);
    // Names git refuses are no branch, and are never sent (no path tricks).
    let before = log.hits().len();
    for refused in ["../../user", "a//b", ".hidden"] {
        assert_eq!(
            gh.branch(BACKEND, refused).await.unwrap(),
            None,
            "{refused}"
        );
    }
    assert_eq!(log.hits().len(), before);

    // Asked again: revalidated with the ETag.
    assert_eq!(gh.branch(UI, "main").await.unwrap(), Some(main));
    assert_eq!(log.hits().last().unwrap().status, 304);
}

#[tokio::test]
async fn an_unreachable_github_is_a_note_for_branches_too() {
    let gh = GitHub::new("http://127.0.0.1:9", None).unwrap();
    let e = gh.branches(BACKEND).await.unwrap_err().to_string();
    assert!(
        e.contains("could not list the branches of DSpace/DSpace"),
        "{e}"
    );
    assert!(e.contains("type the branch name"), "{e}");
    let e = gh.branch(BACKEND, "main").await.unwrap_err().to_string();
    assert!(
        e.contains("could not check branch 'main' of DSpace/DSpace"),
        "{e}"
    );
}
