//! Signing in with GitHub (`PREVIEW_AUTH_MODE=github`) against moto and the recorded GitHub,
//! which plays github.com's OAuth pages and the API: the round trip, a forged state, who may
//! sign in (org, team, permission, list) and who may not, the login as the launch's requester,
//! stop and extend for the requester and the maintainers only, and password reveals in the
//! audit log.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

mod common;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE};
use axum::http::{Request, StatusCode};
use axum::Router;
use common::{github_world, World, GITHUB_MAINTAINERS};
use preview_tasks::domain::request::ExecutionInput;
use preview_web::github_signin::SigninMode;
use preview_web::{router, AppState};
use tower::ServiceExt;

/// The host the tests' requests name (the callback URL is built from it).
const HOST_NAME: &str = "preview.test";

/// What came back from the app or the recorded GitHub.
struct Page {
    status: StatusCode,
    location: String,
    set_cookies: Vec<String>,
    text: String,
}

impl Page {
    /// `name=value` of a cookie this answer set, if it set one with a value.
    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies
            .iter()
            .filter_map(|c| c.split(';').next())
            .find(|pair| pair.starts_with(&format!("{name}=")) && pair.len() > name.len() + 1)
            .map(str::to_string)
    }
}

/// Sends `req` to `app` (the app or the recorded GitHub) and reads the whole answer.
async fn send(app: &Router, req: Request<Body>) -> Page {
    let answer = app.clone().oneshot(req).await.unwrap();
    let header_values = |name| {
        answer
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (status, set_cookies) = (answer.status(), header_values(SET_COOKIE));
    let location = header_values(LOCATION).pop().unwrap_or_default();
    let bytes = axum::body::to_bytes(answer.into_body(), 1 << 22)
        .await
        .unwrap();
    Page {
        status,
        location,
        set_cookies,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn unpercent(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The query parameter `key` of `url`, decoded.
fn query_param(url: &str, key: &str) -> String {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| unpercent(v))
        .unwrap_or_else(|| panic!("no {key} in {url}"))
}

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(HOST, HOST_NAME)
        .header(COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn post(path: &str, cookie: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect();
    Request::post(path)
        .header(HOST, HOST_NAME)
        .header(COOKIE, cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.join("&")))
        .unwrap()
}

/// A browser's trip: our `/auth/github`, the recorded GitHub's authorize form as `login`, and
/// back to our callback with the state cookie. Returns the callback's answer.
async fn github_trip(w: &World, login: &str) -> Page {
    let start = send(&w.app, get("/auth/github?next=/%23launch", "")).await;
    assert_eq!(start.status, StatusCode::FOUND, "{}", start.text);
    let state_cookie = start.cookie("dsp_github_state").expect("a state cookie");
    let authorize = start.location.clone();
    assert!(authorize.contains("/login/oauth/authorize?"), "{authorize}");
    assert_eq!(query_param(&authorize, "scope"), "read:org");
    let fields =
        ["client_id", "redirect_uri", "state", "scope"].map(|k| (k, query_param(&authorize, k)));
    let mut form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    form.push(("login", login));
    let granted = send(&w.github_app, post("/login/oauth/authorize", "", &form)).await;
    assert_eq!(granted.status, StatusCode::FOUND, "{}", granted.text);
    let back = granted
        .location
        .strip_prefix(&format!("http://{HOST_NAME}"))
        .unwrap_or_else(|| panic!("GitHub sent the browser to {}", granted.location))
        .to_string();
    assert!(back.starts_with("/auth/github/callback?"), "{back}");
    send(&w.app, get(&back, &state_cookie)).await
}

/// Signs `login` in with GitHub; returns the session cookie and a CSRF token.
async fn signed_in(w: &World, login: &str) -> (String, String) {
    let back = github_trip(w, login).await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{login}: {}", back.text);
    let session = back.cookie("dsp_session").expect("a session");
    let home = send(&w.app, get("/", &session)).await;
    assert_eq!(home.status, StatusCode::OK);
    let marker = r#"name="csrf" value=""#;
    let at = home.text.find(marker).unwrap() + marker.len();
    let csrf = home.text[at..].split('"').next().unwrap().to_string();
    (session, csrf)
}

#[tokio::test]
async fn signing_in_with_github_round_trip() {
    let w = github_world().await;
    let page = send(&w.app, get("/", "")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let signin = send(&w.app, get(&page.location, "")).await;
    assert!(
        signin.text.contains("Sign in with GitHub"),
        "{}",
        signin.text
    );
    assert!(
        !signin.text.contains(r#"name="code""#),
        "no access code field"
    );
    let code = send(
        &w.app,
        post(
            "/signin",
            "",
            &[("name", "octo-member"), ("code", common::ACCESS_CODE)],
        ),
    )
    .await;
    assert_eq!(
        code.status,
        StatusCode::BAD_REQUEST,
        "no access code in GitHub mode"
    );

    w.github_log.clear();
    let back = github_trip(&w, "octo-member").await;
    assert_eq!(back.status, StatusCode::SEE_OTHER, "{}", back.text);
    assert_eq!(back.location, "/#launch", "back to where sign-in started");
    let session = back.cookie("dsp_session").unwrap();
    assert!(
        !session.contains("gho_"),
        "the token is not kept: {session}"
    );
    assert!(
        back.set_cookies
            .iter()
            .any(|c| c.starts_with("dsp_github_state=;")),
        "the state is spent: {:?}",
        back.set_cookies
    );
    let exchanged = w.github_log.sent("POST", "/login/oauth/access_token");
    assert_eq!(exchanged.len(), 1);
    let body = exchanged[0].body.clone().unwrap_or_default();
    assert!(body.contains("\"code\""), "{body}");
    assert_eq!(w.github_log.sent("GET", "/user").len(), 1);
    let home = send(&w.app, get("/", &session)).await;
    assert!(
        home.text
            .contains("signed in with GitHub as <strong>@octo-member</strong>"),
        "{}",
        home.text
    );

    // The same callback again (its state cookie is spent in a browser) and a reused code.
    let again = send(&w.app, get("/auth/github/callback?code=x&state=y", "")).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_state_that_does_not_match_is_refused_and_nothing_happens() {
    let w = github_world().await;
    let start = send(&w.app, get("/auth/github", "")).await;
    let cookie = start.cookie("dsp_github_state").unwrap();
    w.github_log.clear();
    for (path, cookie) in [
        (
            "/auth/github/callback?code=abc&state=forged",
            cookie.as_str(),
        ),
        ("/auth/github/callback?code=abc&state=", cookie.as_str()),
        (
            &*format!(
                "/auth/github/callback?code=abc&state={}",
                query_param(&start.location, "state")
            ),
            "",
        ),
        (
            &*format!(
                "/auth/github/callback?code=abc&state={}",
                query_param(&start.location, "state")
            ),
            "dsp_github_state=tampered|1|2|3",
        ),
    ] {
        let back = send(&w.app, get(path, cookie)).await;
        assert_eq!(back.status, StatusCode::BAD_REQUEST, "{path} {cookie}");
        assert!(back.cookie("dsp_session").is_none());
        assert!(back.text.contains("start again"), "{}", back.text);
    }
    assert!(w.github_log.hits().is_empty(), "no GitHub call");
    assert_eq!(w.calls.count(), 0, "no AWS call");
}

#[tokio::test]
async fn members_collaborators_and_listed_logins_sign_in_strangers_do_not() {
    let w = github_world().await;
    for login in [
        "octo-member",
        "octo-committer",
        "octo-triager",
        "octo-listed",
        GITHUB_MAINTAINERS,
        "tdonohue",
    ] {
        signed_in(&w, login).await;
    }
    for stranger in ["octo-stranger", "octo-reviewer"] {
        let back = github_trip(&w, stranger).await;
        assert_eq!(back.status, StatusCode::FORBIDDEN, "{stranger}");
        assert!(
            back.cookie("dsp_session").is_none(),
            "{stranger} got a session"
        );
        assert!(back.text.contains(&format!("@{stranger}")), "{}", back.text);
        assert!(
            back.text.contains("DSpace/dspace-committers"),
            "{}",
            back.text
        );
        assert!(back.text.contains("triage"), "{}", back.text);
    }
    // The list needs no GitHub call besides the sign-in's own.
    w.github_log.clear();
    signed_in(&w, "octo-listed").await;
    let asked: Vec<String> = w.github_log.hits().iter().map(|h| h.path.clone()).collect();
    assert!(
        asked
            .iter()
            .all(|p| p.starts_with("/login/") || p == "/user"),
        "{asked:?}"
    );
}

/// Launches backend PR 9876 for the session; returns the preview id once it waits to expire.
async fn launch(w: &World, session: &str, csrf: &str) -> String {
    let launched = send(
        &w.app,
        post(
            "/previews",
            session,
            &[("csrf", csrf), ("backend_pr", "9876")],
        ),
    )
    .await;
    assert_eq!(launched.status, StatusCode::SEE_OTHER, "{}", launched.text);
    let id = launched.location.trim_start_matches("/previews/");
    let id = id.split('?').next().unwrap().to_string();
    w.submitted(&id, 1).await;
    id
}

#[tokio::test]
async fn the_login_is_the_requester_and_only_it_or_a_maintainer_stops_or_extends() {
    let w = github_world().await;
    let (owner, owner_csrf) = signed_in(&w, "octo-member").await;
    let id = launch(&w, &owner, &owner_csrf).await;
    let described = w
        .aws
        .sfn
        .describe_execution()
        .execution_arn(w.state.execution_arn(&id))
        .send()
        .await
        .unwrap();
    let input: ExecutionInput = serde_json::from_str(described.input().unwrap()).unwrap();
    assert_eq!(input.request.requester, "octo-member");

    let stop_form = format!(r#"action="/previews/{id}/stop""#);
    let (other, other_csrf) = signed_in(&w, "octo-committer").await;
    let home = send(&w.app, get("/", &other)).await;
    assert!(
        home.text.contains(&id) && !home.text.contains(&stop_form),
        "{}",
        home.text
    );
    let page = send(&w.app, get(&format!("/previews/{id}"), &other)).await;
    assert!(
        !page.text.contains(&stop_form) && !page.text.contains("/l/"),
        "{}",
        page.text
    );
    for (action, extra) in [("stop", None), ("extend", Some(("minutes", "30")))] {
        let mut fields = vec![("csrf", other_csrf.as_str())];
        fields.extend(extra);
        let refused = send(
            &w.app,
            post(&format!("/previews/{id}/{action}"), &other, &fields),
        )
        .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{action}: {}",
            refused.text
        );
        assert!(refused.text.contains("@octo-member"), "{}", refused.text);
    }
    let page = send(&w.app, get(&format!("/previews/{id}"), &owner)).await;
    assert!(page.text.contains(&stop_form), "the owner sees the buttons");
    assert!(!page.text.contains("stop requested") && !page.text.contains("extended"));

    let (maintainer, maintainer_csrf) = signed_in(&w, GITHUB_MAINTAINERS).await;
    let home = send(&w.app, get("/", &maintainer)).await;
    assert!(
        home.text.contains(&stop_form),
        "a maintainer sees the buttons"
    );
    let extended = send(
        &w.app,
        post(
            &format!("/previews/{id}/extend"),
            &maintainer,
            &[("csrf", &maintainer_csrf), ("minutes", "30")],
        ),
    )
    .await;
    assert_eq!(extended.status, StatusCode::SEE_OTHER, "{}", extended.text);
    assert!(
        extended.location.contains("notice=extend"),
        "{}",
        extended.location
    );
    w.submitted(&id, 2).await;
    let stopped = send(
        &w.app,
        post(
            &format!("/previews/{id}/stop"),
            &owner,
            &[("csrf", &owner_csrf)],
        ),
    )
    .await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER, "{}", stopped.text);
    w.ended(&id).await;
    let page = send(&w.app, get(&format!("/previews/{id}"), &owner)).await;
    assert!(
        page.text.contains("stop requested by octo-member"),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn showing_the_admin_password_is_recorded_in_the_audit_log() {
    let w = github_world().await;
    let (owner, csrf) = signed_in(&w, "octo-member").await;
    let id = launch(&w, &owner, &csrf).await;
    let (viewer, viewer_csrf) = signed_in(&w, "octo-triager").await;
    let shown = send(
        &w.app,
        post(
            &format!("/previews/{id}/admin-password"),
            &viewer,
            &[("csrf", &viewer_csrf)],
        ),
    )
    .await;
    assert!(
        shown.text.contains(r#"<code id="admin-password">"#),
        "{}",
        shown.text
    );
    assert!(
        shown
            .text
            .contains("@octo-triager showed the admin password"),
        "{}",
        shown.text
    );
    let root = w.state.ctx.base.names().parameter_root();
    let stored = w
        .aws
        .ssm
        .get_parameters_by_path()
        .path(format!("{root}/password-views/{id}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.parameters().len(), 1);
    assert_eq!(stored.parameters()[0].value(), Some("@octo-triager"));
    let page = send(&w.app, get(&format!("/previews/{id}"), &owner)).await;
    assert!(
        page.text
            .contains("@octo-triager showed the admin password"),
        "the owner sees who looked: {}",
        page.text
    );
}

/// Starts a flow on `app` and comes back at once with `code`, as if GitHub had granted it; the
/// answer must be an error page (`status`) saying `says`, without a session; returns it.
async fn comes_back_refused(app: &Router, code: &str, status: StatusCode, says: &str) -> Page {
    let start = send(app, get("/auth/github", "")).await;
    let cookie = start.cookie("dsp_github_state").unwrap();
    let state = query_param(&start.location, "state");
    let path = format!("/auth/github/callback?code={code}&state={state}");
    let back = send(app, get(&path, &cookie)).await;
    assert_eq!(back.status, status, "{}", back.text);
    assert!(back.text.contains(says), "{}", back.text);
    assert!(back.cookie("dsp_session").is_none());
    back
}

#[tokio::test]
async fn a_refused_code_or_an_unreachable_github_is_an_error_page_without_a_session() {
    let w = github_world().await;
    let refused = "bad_verification_code";
    let page = comes_back_refused(&w.app, "made-up", StatusCode::FORBIDDEN, refused).await;
    assert!(page.text.contains("start again"), "{}", page.text);

    let mut settings = w.settings();
    let mut signin = w.github_signin();
    if let SigninMode::GitHub(app) = &mut signin {
        app.web = "http://127.0.0.1:9".into();
    }
    settings.signin = signin;
    let offline = router(AppState::new(settings));
    let unreachable = "could not reach GitHub";
    let page = comes_back_refused(&offline, "abc", StatusCode::BAD_GATEWAY, unreachable).await;
    assert!(page.text.contains("start again"), "{}", page.text);
}

#[tokio::test]
async fn an_access_code_session_does_not_work_in_github_mode() {
    let w = github_world().await;
    let keys = w.state.keys.current().await.unwrap();
    let expires = chrono::Utc::now() + chrono::Duration::hours(1);
    let code_session = format!(
        "dsp_session={}",
        preview_web::auth::session_value(&keys, "tdonohue", expires)
    );
    let home = send(&w.app, get("/", &code_session)).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert!(home.location.starts_with("/signin"), "{}", home.location);
    let github_session = format!(
        "dsp_session={}",
        preview_web::auth::github_session_value(&keys, "tdonohue", expires)
    );
    let access_mode = router(AppState::new(w.settings()));
    let home = send(&access_mode, get("/", &github_session)).await;
    assert_eq!(
        home.status,
        StatusCode::SEE_OTHER,
        "and the other way round"
    );
    assert_eq!(
        send(&w.app, get("/", &github_session)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn callbacks_with_bad_codes_are_throttled_like_wrong_access_codes() {
    let w = github_world().await;
    for _ in 0..preview_web::throttle::PER_ADDRESS {
        let refused = "bad_verification_code";
        comes_back_refused(&w.app, "made-up", StatusCode::FORBIDDEN, refused).await;
    }
    let exchanges = w.github_log.sent("POST", "/login/oauth/access_token").len();
    let limited = "Too many sign-in attempts";
    comes_back_refused(&w.app, "made-up", StatusCode::TOO_MANY_REQUESTS, limited).await;
    let after = w.github_log.sent("POST", "/login/oauth/access_token").len();
    assert_eq!(
        after, exchanges,
        "a throttled callback costs no GitHub call"
    );
}
