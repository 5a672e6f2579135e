//! The recorded GitHub answers the calls the service makes the way GitHub does: the OAuth web
//! flow, who may do what, comments, deployments and branches, and it records what was sent.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use preview_local::github_replay::{
    self, ReplayLog, BOT_LOGIN, DEFAULT_LOGIN, REPLAY_CLIENT_ID, REPLAY_CLIENT_SECRET,
};
use serde_json::{json, Value};
use tower::ServiceExt;

const CALLBACK: &str = "http://127.0.0.1:8080/auth/github/callback";
const TOKEN: &str = "Bearer ghs_installation-token";
const JSON_TYPE: [(&str, &str); 1] = [("content-type", "application/json")];

fn replay() -> (Router, ReplayLog) {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/fixtures/github");
    github_replay::app(&fixtures).unwrap()
}

/// One answer, its body as text.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }
}

/// Sends a request as the service does (a `User-Agent`, and `auth` as `Authorization`).
async fn send(
    app: &Router,
    method: Method,
    path: &str,
    auth: Option<&str>,
    extra: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "replay.test")
        .header(header::USER_AGENT, "dspace-preview-test");
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    for (k, v) in extra {
        request = request.header(*k, *v);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        text: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn get(app: &Router, path: &str) -> Answer {
    send(app, Method::GET, path, None, &[], "").await
}

/// A write with a token the replay did not issue, as the service's own token is.
async fn post_json(app: &Router, path: &str, body: Value) -> Answer {
    let body = body.to_string();
    send(app, Method::POST, path, Some(TOKEN), &JSON_TYPE, &body).await
}

/// Signs in as `login` through the form and returns the code the callback got.
async fn code_for(app: &Router, login: &str, state: &str) -> String {
    let form = format!(
        "login={login}&client_id={REPLAY_CLIENT_ID}&redirect_uri={}&state={}",
        enc(CALLBACK),
        enc(state)
    );
    let form_type = [("content-type", "application/x-www-form-urlencoded")];
    let path = "/login/oauth/authorize";
    let answer = send(app, Method::POST, path, None, &form_type, &form).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.text);
    let location = answer.headers[header::LOCATION].to_str().unwrap();
    let query = location.strip_prefix(&format!("{CALLBACK}?")).unwrap();
    let (code, rest) = query
        .strip_prefix("code=")
        .unwrap()
        .split_once("&state=")
        .unwrap();
    assert_eq!(rest, enc(state), "the state comes back as sent");
    code.to_string()
}

async fn exchange(app: &Router, code: &str, secret: &str) -> Value {
    let body = json!({
        "client_id": REPLAY_CLIENT_ID,
        "client_secret": secret,
        "code": code,
        "redirect_uri": CALLBACK,
    });
    let headers = [
        ("content-type", "application/json"),
        ("accept", "application/json"),
    ];
    let path = "/login/oauth/access_token";
    let answer = send(app, Method::POST, path, None, &headers, &body.to_string()).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.json()
}

/// Percent-encodes every byte but letters and digits, which is valid for any query value.
fn enc(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[tokio::test]
async fn oauth_round_trip_signs_in_whoever_is_named() {
    let (app, _) = replay();
    let path = format!(
        "/login/oauth/authorize?client_id={REPLAY_CLIENT_ID}&redirect_uri={}&state=s1&scope=read:org",
        enc(CALLBACK)
    );
    let page = get(&app, &path).await;
    assert_eq!(page.status, StatusCode::OK);
    for part in [
        "Sign in to GitHub (recorded)",
        r#"id="login" name="login" value="octo-reviewer""#,
        r#"id="authorize">Authorize</button>"#,
        r#"action="/login/oauth/authorize""#,
        r#"name="state" value="s1""#,
        r#"name="client_id" value="Iv1.replay-client""#,
    ] {
        assert!(page.text.contains(part), "{part} in {}", page.text);
    }
    assert_eq!(DEFAULT_LOGIN, "octo-reviewer");

    let code = code_for(&app, "tdonohue", "a state/with & odd=chars").await;
    let token = exchange(&app, &code, REPLAY_CLIENT_SECRET).await;
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["scope"], "read:org");
    let access = token["access_token"].as_str().unwrap();
    assert!(access.starts_with("gho_"), "{token}");

    for auth in [format!("Bearer {access}"), format!("token {access}")] {
        let me = send(&app, Method::GET, "/user", Some(&auth), &[], "").await;
        assert_eq!(me.status, StatusCode::OK);
        let me = me.json();
        assert_eq!(me["login"], "tdonohue");
        assert_eq!(me["type"], "User");
        assert_eq!(me["name"], "Tim Donohue");
        assert_eq!(me["html_url"], "https://github.com/tdonohue");
        assert!(me["id"].as_u64().is_some() && me["avatar_url"].is_string());
    }
}

#[tokio::test]
async fn codes_are_single_use_and_bound_to_the_app_and_callback() {
    let (app, _) = replay();
    let code = code_for(&app, "octo-stranger", "x").await;
    let wrong = exchange(&app, &code, "not-the-secret").await;
    assert_eq!(wrong["error"], "incorrect_client_credentials");
    // A refused secret does not spend the code.
    let token = exchange(&app, &code, REPLAY_CLIENT_SECRET).await;
    assert!(token["access_token"].is_string());
    let again = exchange(&app, &code, REPLAY_CLIENT_SECRET).await;
    assert_eq!(again["error"], "bad_verification_code");
    assert!(again["error_description"].is_string());

    let code = code_for(&app, "octo-stranger", "y").await;
    let body = format!(
        "client_id={REPLAY_CLIENT_ID}&client_secret={REPLAY_CLIENT_SECRET}&code={code}&redirect_uri={}",
        enc("http://elsewhere.test/cb")
    );
    let headers = [("accept", "application/json")];
    let path = "/login/oauth/access_token";
    let mismatch = send(&app, Method::POST, path, None, &headers, &body).await;
    assert_eq!(mismatch.json()["error"], "redirect_uri_mismatch");
}

#[tokio::test]
async fn unknown_apps_bad_tokens_and_form_answers() {
    let (app, _) = replay();
    let path = format!("/login/oauth/authorize?client_id=Iv1.other&redirect_uri={CALLBACK}");
    assert_eq!(get(&app, &path).await.status, StatusCode::NOT_FOUND);
    for auth in [None, Some("Bearer gho_never-issued")] {
        let me = send(&app, Method::GET, "/user", auth, &[], "").await;
        assert_eq!(me.status, StatusCode::UNAUTHORIZED);
        assert_eq!(me.json()["message"], "Bad credentials");
    }
    // Without `Accept: application/json`, GitHub answers form-encoded.
    let code = code_for(&app, "octo-member", "z").await;
    let body =
        format!("client_id={REPLAY_CLIENT_ID}&client_secret={REPLAY_CLIENT_SECRET}&code={code}");
    let path = "/login/oauth/access_token";
    let answer = send(&app, Method::POST, path, None, &[], &body).await;
    assert!(
        answer.text.starts_with("access_token=gho_"),
        "{}",
        answer.text
    );
    assert!(answer.text.contains("token_type=bearer"));
}

#[tokio::test]
async fn permissions_follow_the_recorded_roles() {
    let (app, _) = replay();
    let cases = [
        ("tdonohue", "admin", "admin"),
        ("AlanOrth", "write", "maintain"),
        ("octo-writer", "write", "write"),
        ("octo-triager", "read", "triage"),
        ("octo-reviewer", "read", "read"),
        ("octo-stranger", "read", "read"),
    ];
    for repo in ["DSpace/DSpace", "dspace/dspace-angular"] {
        for (login, permission, role) in cases {
            let path = format!("/repos/{repo}/collaborators/{login}/permission");
            let answer = get(&app, &path).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}");
            let body = answer.json();
            assert_eq!(body["permission"], permission, "{login}");
            assert_eq!(body["role_name"], role, "{login}");
            assert_eq!(body["user"]["login"], login);
        }
    }
    let unknown = get(
        &app,
        "/repos/DSpace/nothing/collaborators/tdonohue/permission",
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn org_and_team_membership() {
    let (app, _) = replay();
    for (login, member) in [
        ("tdonohue", true),
        ("Octo-Member", true),
        ("octo-reviewer", false),
        ("octo-stranger", false),
    ] {
        let answer = get(&app, &format!("/orgs/DSpace/members/{login}")).await;
        let expected = if member {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(answer.status, expected, "{login}");
    }
    let team = "/orgs/dspace/teams/dspace-committers/memberships";
    let committer = get(&app, &format!("{team}/OCTO-COMMITTER")).await;
    assert_eq!(committer.status, StatusCode::OK);
    let body = committer.json();
    assert_eq!(body["state"], "active");
    assert_eq!(body["role"], "member");
    assert!(body["url"].as_str().unwrap().ends_with("/OCTO-COMMITTER"));
    for outsider in ["octo-member", "octo-reviewer"] {
        let answer = get(&app, &format!("{team}/{outsider}")).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND);
    }
    let no_team = get(&app, "/orgs/DSpace/teams/nobody/memberships/tdonohue").await;
    assert_eq!(no_team.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn comments_are_created_listed_and_edited() {
    let (app, log) = replay();
    let path = "/repos/DSpace/DSpace/issues/9876/comments";
    let first = post_json(&app, path, json!({"body": "Preview starting"})).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let first = first.json();
    let id = first["id"].as_u64().unwrap();
    assert_eq!(first["body"], "Preview starting");
    assert_eq!(first["user"]["login"], BOT_LOGIN);
    assert_eq!(first["user"]["type"], "Bot");
    assert_eq!(
        first["html_url"],
        format!("https://github.com/DSpace/DSpace/pull/9876#issuecomment-{id}")
    );
    assert!(first["node_id"].is_string() && first["created_at"].is_string());
    assert!(first["updated_at"].is_string());
    assert!(first["issue_url"]
        .as_str()
        .unwrap()
        .ends_with("/issues/9876"));
    for n in 2..=3 {
        let body = json!({"body": format!("comment {n}")});
        assert_eq!(
            post_json(&app, path, body).await.status,
            StatusCode::CREATED
        );
    }

    let page = get(&app, &format!("{path}?per_page=2&page=1")).await;
    assert_eq!(page.json().as_array().unwrap().len(), 2);
    let link = page.headers[header::LINK].to_str().unwrap();
    assert!(link.contains(r#"page=2>; rel="next""#), "{link}");
    assert_eq!(page.json()[0]["id"], id, "oldest first");

    let edit = json!({"body": "Preview ready"}).to_string();
    let comment = format!("/repos/DSpace/DSpace/issues/comments/{id}");
    let edited = send(
        &app,
        Method::PATCH,
        &comment,
        Some(TOKEN),
        &JSON_TYPE,
        &edit,
    )
    .await;
    assert_eq!(edited.status, StatusCode::OK);
    assert_eq!(edited.json()["body"], "Preview ready");
    assert_eq!(get(&app, &comment).await.json()["body"], "Preview ready");
    let missing = "/repos/DSpace/DSpace/issues/comments/1";
    let unknown = send(&app, Method::PATCH, missing, Some(TOKEN), &JSON_TYPE, &edit).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, missing).await.status, StatusCode::NOT_FOUND);

    let stored = log.comments("dspace/DSpace", 9876);
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0]["body"], "Preview ready");
    assert!(log.comments("DSpace/DSpace", 9877).is_empty());
    let (other, _) = replay();
    assert_eq!(
        get(&other, path).await.json(),
        json!([]),
        "each app starts empty"
    );
}

#[tokio::test]
async fn comments_need_a_body() {
    let (app, _) = replay();
    let path = "/repos/DSpace/DSpace/issues/9876/comments";
    let empty = post_json(&app, path, json!({})).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    let garbage = send(&app, Method::POST, path, Some(TOKEN), &JSON_TYPE, "{").await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(garbage.json()["message"], "Problems parsing JSON");
}

#[tokio::test]
async fn deployments_and_statuses() {
    let (app, log) = replay();
    let repo = "/repos/DSpace/dspace-angular";
    let deployments = format!("{repo}/deployments");
    let create = json!({
        "ref": "main",
        "environment": "pr-4321",
        "description": "Preview of #4321",
        "auto_merge": false,
        "required_contexts": [],
        "payload": {"preview": "p-4321"},
        "transient_environment": true,
        "production_environment": false,
    });
    let created = post_json(&app, &deployments, create).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let deployment = created.json();
    let id = deployment["id"].as_u64().unwrap();
    let main = get(&app, &format!("{repo}/branches/main")).await.json();
    assert_eq!(deployment["sha"], main["commit"]["sha"]);
    assert_eq!(deployment["ref"], "main");
    assert_eq!(deployment["environment"], "pr-4321");
    assert_eq!(deployment["description"], "Preview of #4321");
    assert_eq!(deployment["payload"]["preview"], "p-4321");
    assert_eq!(deployment["transient_environment"], true);
    assert_eq!(deployment["production_environment"], false);
    assert_eq!(deployment["creator"]["login"], BOT_LOGIN);
    let statuses_url = deployment["statuses_url"].as_str().unwrap();
    assert!(statuses_url.ends_with(&format!("/deployments/{id}/statuses")));
    assert!(deployment["created_at"].is_string());

    let sha = "0123456789abcdef0123456789abcdef01234567";
    let second = post_json(&app, &deployments, json!({"ref": sha}))
        .await
        .json();
    assert_eq!(second["sha"], sha);
    assert_eq!(second["environment"], "production");
    let listed = get(&app, &deployments).await.json();
    assert_eq!(listed[0]["sha"], sha, "newest first");
    let by_env = get(&app, &format!("{deployments}?environment=pr-4321"))
        .await
        .json();
    assert_eq!(by_env.as_array().unwrap().len(), 1);
    assert_eq!(by_env[0]["id"], id);

    let statuses = format!("{deployments}/{id}/statuses");
    for state in ["in_progress", "success"] {
        let body = json!({
            "state": state,
            "environment_url": "https://pr-4321.preview.test",
            "log_url": "https://preview.test/p-4321",
            "description": state,
        });
        let status = post_json(&app, &statuses, body).await;
        assert_eq!(status.status, StatusCode::CREATED);
        let status = status.json();
        assert_eq!(status["state"], state);
        assert_eq!(status["environment_url"], "https://pr-4321.preview.test");
        assert_eq!(status["log_url"], "https://preview.test/p-4321");
    }
    let invalid = post_json(&app, &statuses, json!({"state": "done"})).await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.json()["message"], "Validation Failed");
    let listed = get(&app, &statuses).await.json();
    assert_eq!(listed[0]["state"], "success", "newest first");
    assert_eq!(listed[1]["state"], "in_progress");

    let stored = log.deployments("DSpace/dspace-angular");
    assert_eq!(stored.len(), 2);
    let (first, first_statuses) = &stored[1];
    assert_eq!(first["id"], id);
    assert_eq!(first_statuses[0]["state"], "success");
    assert!(log.deployments("DSpace/DSpace").is_empty());
}

#[tokio::test]
async fn unknown_deployments_and_refs() {
    let (app, _) = replay();
    let deployments = "/repos/DSpace/dspace-angular/deployments";
    let success = json!({"state": "success"});
    let unknown = post_json(&app, &format!("{deployments}/1/statuses"), success).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let listed = get(&app, &format!("{deployments}/1/statuses")).await;
    assert_eq!(listed.status, StatusCode::NOT_FOUND);
    let no_ref = post_json(&app, deployments, json!({"ref": "no-such-branch"})).await;
    assert_eq!(no_ref.status, StatusCode::UNPROCESSABLE_ENTITY);
    let slash = post_json(&app, deployments, json!({"ref": "w2p-12345/fix-search"})).await;
    assert_eq!(slash.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_new_success_retires_earlier_ones_in_the_environment() {
    let (app, log) = replay();
    let repo = "/repos/DSpace/DSpace";
    let mut ids = Vec::new();
    for _ in 0..2 {
        let body = json!({"ref": "main", "environment": "preview"});
        let d = post_json(&app, &format!("{repo}/deployments"), body).await;
        let id = d.json()["id"].as_u64().unwrap();
        let status = json!({"state": "success"});
        post_json(&app, &format!("{repo}/deployments/{id}/statuses"), status).await;
        ids.push(id);
    }
    let stored = log.deployments("DSpace/DSpace");
    assert_eq!(stored[0].0["id"], ids[1]);
    assert_eq!(stored[0].1[0]["state"], "success");
    assert_eq!(stored[1].1[0]["state"], "inactive");
}

#[tokio::test]
async fn branches_page_cache_and_take_slashes() {
    let (app, _) = replay();
    let path = "/repos/DSpace/DSpace/branches?per_page=2";
    let first = get(&app, path).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.json().as_array().unwrap().len(), 2);
    let link = first.headers[header::LINK].to_str().unwrap();
    assert!(link.contains(r#"page=3>; rel="last""#), "{link}");
    let etag = first.headers[header::ETAG].to_str().unwrap().to_string();
    let validator = [("if-none-match", etag.as_str())];
    let cached = send(&app, Method::GET, path, None, &validator, "").await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);

    let all = get(&app, "/repos/DSpace/DSpace/branches").await.json();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    for name in [
        "main",
        "dspace-9_x",
        "dspace-8_x",
        "dspace-7_x",
        "w2p-12345/fix-search",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    for branch in ["w2p-12345/fix-search", "w2p-12345%2Ffix-search"] {
        let answer = get(
            &app,
            &format!("/repos/DSpace/dspace-angular/branches/{branch}"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{branch}");
        let body = answer.json();
        assert_eq!(body["name"], "w2p-12345/fix-search");
        assert_eq!(body["commit"]["sha"].as_str().unwrap().len(), 40);
        assert!(body["protected"].is_boolean());
    }
    let missing = get(&app, "/repos/DSpace/DSpace/branches/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["message"], "Branch not found");
}

#[tokio::test]
async fn writes_need_credentials_reads_do_not() {
    let (app, log) = replay();
    let writes = [
        (Method::POST, "/repos/DSpace/DSpace/issues/9876/comments"),
        (Method::PATCH, "/repos/DSpace/DSpace/issues/comments/1"),
        (Method::POST, "/repos/DSpace/DSpace/deployments"),
        (Method::POST, "/repos/DSpace/DSpace/deployments/1/statuses"),
    ];
    for (method, path) in writes {
        let answer = send(&app, method, path, None, &JSON_TYPE, r#"{"body":"x"}"#).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(answer.json()["message"], "Bad credentials");
    }
    assert!(log.comments("DSpace/DSpace", 9876).is_empty());
    let read = get(&app, "/repos/DSpace/DSpace/issues/9876/comments").await;
    assert_eq!(read.status, StatusCode::OK);
}

#[tokio::test]
async fn hits_record_method_and_body_but_not_the_token() {
    let (app, log) = replay();
    let path = "/repos/DSpace/DSpace/issues/9876/comments";
    post_json(&app, path, json!({"body": "hello"})).await;
    get(&app, path).await;
    let sent = log.sent("post", "/repos/DSpace/DSpace/issues/");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, "POST");
    assert_eq!(sent[0].status, 201);
    assert!(sent[0].authorized);
    let body: Value = serde_json::from_str(sent[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["body"], "hello");
    let gets = log.sent("GET", path);
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].body, None);

    let code = code_for(&app, "octo-reviewer", "s").await;
    exchange(&app, &code, REPLAY_CLIENT_SECRET).await;
    let listed = get(&app, "/_replay/requests").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(!listed.text.contains("installation-token"));
    assert!(!listed.text.contains(REPLAY_CLIENT_SECRET));
    let hits = listed.json();
    assert_eq!(hits.as_array().unwrap().len(), log.hits().len());
    assert_eq!(hits[0]["method"], "POST");
    assert_eq!(
        log.hits().len(),
        4,
        "the debugging list is not itself recorded"
    );
}
