//! The web app against the local Step Functions engine and moto: sign-in, validation, launch,
//! extend by button and by signed link, forged links, stop, and the audit log.

mod common;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{Request, Response, StatusCode};
use common::{world, world_with, World, ACCESS_CODE};
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    location: String,
    cookies: Vec<String>,
    body: String,
}

async fn reply(r: Response<Body>) -> Reply {
    let status = r.status();
    let location = r
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let cookies = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let bytes = axum::body::to_bytes(r.into_body(), 1 << 22).await.unwrap();
    Reply {
        status,
        location,
        cookies,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl World {
    async fn get(&self, path: &str, cookie: &str) -> Reply {
        let req = Request::get(path)
            .header(COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        reply(self.app.clone().oneshot(req).await.unwrap()).await
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        let req = Request::post(path)
            .header(COOKIE, cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.join("&")))
            .unwrap();
        reply(self.app.clone().oneshot(req).await.unwrap()).await
    }

    /// Signs in as `user`; returns the session cookie and a CSRF token.
    async fn sign_in(&self, user: &str) -> (String, String) {
        let form = self.get("/signin", "").await;
        let pre = cookie_pair(&form.cookies, "dsp_signin");
        let token = hidden(&form.body, "csrf");
        let signed = self
            .post(
                "/signin",
                &pre,
                &[
                    ("csrf", &token),
                    ("next", "/"),
                    ("name", user),
                    ("code", ACCESS_CODE),
                ],
            )
            .await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
        let session = cookie_pair(&signed.cookies, "dsp_session");
        let home = self.get("/", &session).await;
        assert_eq!(home.status, StatusCode::OK);
        let csrf = hidden(&home.body, "csrf");
        (session, csrf)
    }
}

fn cookie_pair(set_cookies: &[String], name: &str) -> String {
    set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie in {set_cookies:?}"))
        .to_string()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn signing_in_needs_the_code_and_pages_need_a_session() {
    let w = world().await;
    let home = w.get("/", "").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert!(home.location.starts_with("/signin"), "{}", home.location);
    let form = w.get("/signin", "").await;
    let pre = cookie_pair(&form.cookies, "dsp_signin");
    let token = hidden(&form.body, "csrf");
    let wrong = w
        .post(
            "/signin",
            &pre,
            &[("csrf", &token), ("name", "alice"), ("code", "guess")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("access code is not right"));
    let no_token = w
        .post(
            "/signin",
            "",
            &[("csrf", &token), ("name", "alice"), ("code", ACCESS_CODE)],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let (session, _) = w.sign_in("alice").await;
    assert!(w
        .get("/", &session)
        .await
        .body
        .contains("signed in as <strong>alice</strong>"));
}

#[tokio::test]
async fn bad_input_gets_the_form_back_and_starts_nothing() {
    let w = world().await;
    let (session, csrf) = w.sign_in("alice").await;
    let empty = w.post("/previews", &session, &[("csrf", &csrf)]).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert!(empty.body.contains("choose a backend PR"), "{}", empty.body);
    let both = w
        .post(
            "/previews",
            &session,
            &[
                ("csrf", &csrf),
                ("backend_pr", "12"),
                ("backend_branch", "main<x>"),
            ],
        )
        .await;
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert!(both.body.contains("not both"), "{}", both.body);
    assert!(
        both.body.contains(r#"value="main&lt;x&gt;""#),
        "typed values are kept, escaped"
    );
    let ttl = w
        .post(
            "/previews",
            &session,
            &[
                ("csrf", &csrf),
                ("backend_pr", "12"),
                ("ttl_minutes", "9999"),
            ],
        )
        .await;
    assert_eq!(ttl.status, StatusCode::BAD_REQUEST);
    assert!(ttl.body.contains("out of range"), "{}", ttl.body);
    let no_csrf = w.post("/previews", &session, &[("backend_pr", "12")]).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(w.executions().await, 0);
}

#[tokio::test]
async fn launch_extend_by_button_and_link_then_stop() {
    let w = world().await;
    let (session, csrf) = w.sign_in("alice").await;
    let launched = w
        .post(
            "/previews",
            &session,
            &[
                ("csrf", &csrf),
                ("backend_pr", "9876"),
                ("ttl_minutes", "60"),
            ],
        )
        .await;
    assert_eq!(launched.status, StatusCode::SEE_OTHER, "{}", launched.body);
    let id = launched
        .location
        .trim_start_matches("/previews/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert!(id.starts_with("dsp-b9876-"), "{id}");
    w.submitted(&id, 1).await;

    let home = w.get("/", &session).await;
    assert!(home.body.contains(&id), "{}", home.body);
    assert!(
        home.body.contains("href=\"http://"),
        "the UI URL is shown: {}",
        home.body
    );

    let extended = w
        .post(
            &format!("/previews/{id}/extend"),
            &session,
            &[("csrf", &csrf), ("minutes", "60")],
        )
        .await;
    assert_eq!(extended.status, StatusCode::SEE_OTHER);
    assert!(
        extended.location.ends_with("notice=extended"),
        "{}",
        extended.location
    );
    w.submitted(&id, 2).await;

    let page = w.get(&format!("/previews/{id}"), &session).await;
    let start = page.body.find("/l/").expect("a shareable link");
    let token = page.body[start + 3..]
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert!(token.contains(".extend-30."), "{token}");
    let confirm = w.get(&format!("/l/{token}"), "").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Extend by 30 minutes"));
    let form_token = hidden(&confirm.body, "csrf");

    let forged = token.replace(".extend-30.", ".stop.");
    assert_eq!(
        w.get(&format!("/l/{forged}"), "").await.status,
        StatusCode::FORBIDDEN
    );
    let forged_post = w
        .post(&format!("/l/{forged}"), "", &[("csrf", &form_token)])
        .await;
    assert_eq!(forged_post.status, StatusCode::FORBIDDEN);

    let by_link = w
        .post(&format!("/l/{token}"), "", &[("csrf", &form_token)])
        .await;
    assert_eq!(by_link.status, StatusCode::OK, "{}", by_link.body);
    assert!(
        by_link.body.contains("extended by 30 minutes"),
        "{}",
        by_link.body
    );
    w.submitted(&id, 3).await;

    let stopped = w
        .post(
            &format!("/previews/{id}/stop"),
            &session,
            &[("csrf", &csrf)],
        )
        .await;
    assert!(
        stopped.location.ends_with("notice=stopped"),
        "{}",
        stopped.location
    );
    let arn = w.state.execution_arn(&id);
    tokio::time::timeout(
        std::time::Duration::from_secs(120),
        w.engine.wait_for_completion(&arn),
    )
    .await
    .expect("ended in time")
    .unwrap();

    let page = w.get(&format!("/previews/{id}"), &session).await;
    for line in [
        "launched by alice: DSpace/DSpace#9876, TTL 60 minutes",
        "extended by 60 minutes by alice",
        "extended by 30 minutes by a callback link",
        "stop requested by alice",
        "ended (stopped)",
    ] {
        assert!(
            page.body.contains(line),
            "audit log lacks '{line}': {}",
            page.body
        );
    }
    let late = w
        .post(&format!("/l/{token}"), "", &[("csrf", &form_token)])
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.body.contains("already ended"), "{}", late.body);
    let late_button = w
        .post(
            &format!("/previews/{id}/extend"),
            &session,
            &[("csrf", &csrf), ("minutes", "30")],
        )
        .await;
    assert!(
        late_button.location.ends_with("notice=ended"),
        "{}",
        late_button.location
    );
    let home = w.get("/", &session).await.body;
    let (live, rest) = home.split_once(r#"<h2 id="launch">"#).unwrap();
    assert!(!live.contains(&id), "no longer listed as live");
    let past = rest.split_once(r#"<h2 id="past">"#).unwrap().1;
    assert!(
        past.contains(&format!(
            r#"<a href="/previews/{id}">{id}</a></td><td>ended</td>"#
        )),
        "listed as past: {past}"
    );
    let row = past
        .split(&format!(r#"<a href="/previews/{id}">"#))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap();
    assert!(
        !row.contains("<td>—</td>"),
        "its time to URL is known: {row}"
    );
}

/// The preview id a launch redirected to.
fn launched_id(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.location
        .trim_start_matches("/previews/")
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn prs_are_checked_on_github_before_anything_starts() {
    let w = world().await;
    let (session, csrf) = w.sign_in("alice").await;
    let home = w.get("/", &session).await;
    assert!(home.body.contains(r#"<datalist id="backend-prs">"#));
    assert!(
        home.body.contains(r#"<option value="9876">"#),
        "{}",
        home.body
    );
    assert!(home.body.contains("3 of 3</strong> preview slots free"));
    assert!(home.body.contains("Cost estimate"));

    for (form, status, says) in [
        (
            vec![("backend_pr", "1")],
            StatusCode::BAD_REQUEST,
            "DSpace/DSpace has no PR #1",
        ),
        (
            vec![("backend_pr", "9801")],
            StatusCode::BAD_REQUEST,
            "DSpace/DSpace#9801 is closed",
        ),
        (
            vec![("backend_pr", "9876"), ("ui_pr", "4263")],
            StatusCode::BAD_REQUEST,
            "Backend PR #9876 targets main but UI PR #4263 targets dspace-8_x",
        ),
        (
            vec![("backend_pr", "9851")],
            StatusCode::BAD_REQUEST,
            "targets &#39;dspace-7_x&#39;, which has no published DSpace images to pair with: previews run on main, dspace-10_x, dspace-9_x, dspace-8_x",
        ),
        (
            vec![("backend_pr", "9876"), ("env", "dspace.dir=/tmp")],
            StatusCode::BAD_REQUEST,
            "dspace__P__dir",
        ),
        (
            vec![("backend_pr", "9876"), ("env", "no equals sign")],
            StatusCode::BAD_REQUEST,
            "needs the form key=value",
        ),
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form.iter().copied());
        let r = w.post("/previews", &session, &fields).await;
        assert_eq!(r.status, status, "{form:?}: {}", r.body);
        assert!(
            r.body.contains(&says.replace('<', "&lt;")),
            "{form:?} lacks '{says}': {}",
            r.body
        );
    }
    assert_eq!(w.executions().await, 0, "nothing started");
}

#[tokio::test]
async fn a_ui_pr_suggests_the_backend_pr_it_requires() {
    let w = world().await;
    let (session, csrf) = w.sign_in("alice").await;
    let first = w
        .post("/previews", &session, &[("csrf", &csrf), ("ui_pr", "4321")])
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(
        first.body.contains("requires DSpace/DSpace#9876"),
        "{}",
        first.body
    );
    assert_eq!(hidden(&first.body, "backend_pr"), "9876");
    assert_eq!(hidden(&first.body, "paired"), "1");
    assert_eq!(w.executions().await, 0, "a suggestion starts nothing");

    let second = w
        .post(
            "/previews",
            &session,
            &[
                ("csrf", &csrf),
                ("ui_pr", "4321"),
                ("backend_pr", "9876"),
                ("paired", "1"),
                (
                    "env",
                    "dspace.name=Test repository\nresearcher-profile.entity-type=Person",
                ),
                ("sample_content", "aip"),
            ],
        )
        .await;
    let id = launched_id(&second);
    assert!(id.starts_with("dsp-b9876-u4321-"), "{id}");
    w.submitted(&id, 1).await;
    let home = w.get("/", &session).await;
    for shown in [
        r#"href="https://github.com/DSpace/DSpace/pull/9876""#,
        r#"href="https://github.com/DSpace/dspace-angular/pull/4321""#,
        "dspace__P__name=Test repository",
        // A dash is DSpace's __D__, which the default allowlist entry matches.
        "researcher__D__profile__P__entity__D__type=Person",
        "<dd>aip</dd>",
        "<dd>alice</dd>",
    ] {
        assert!(
            home.body.contains(shown),
            "home lacks {shown}: {}",
            home.body
        );
    }
    let page = w.get(&format!("/previews/{id}"), &session).await;
    assert!(page
        .body
        .contains("DSpace/DSpace#9876, DSpace/dspace-angular#4321"));

    // The admin password: made by the launch step, shown on request.
    let name = w
        .state
        .config
        .names()
        .admin_password(&preview_tasks::domain::preview_id::PreviewId::parse(&id).unwrap());
    let stored = preview_tasks::parameters::value(&w.state.clients.ssm, &name)
        .await
        .unwrap()
        .expect("the launch step stored the admin password");
    let pw = w
        .post(
            &format!("/previews/{id}/admin-password"),
            &session,
            &[("csrf", &csrf)],
        )
        .await;
    assert!(
        pw.body
            .contains(&format!(r#"<code id="admin-password">{stored}</code>"#)),
        "{}",
        pw.body
    );
    // Before the launch step has run there is none yet, and the page says so.
    w.state
        .clients
        .ssm
        .delete_parameter()
        .name(&name)
        .send()
        .await
        .unwrap();
    let pw = w
        .post(
            &format!("/previews/{id}/admin-password"),
            &session,
            &[("csrf", &csrf)],
        )
        .await;
    assert!(pw.body.contains("not created yet"), "{}", pw.body);
    let forged = w
        .post(
            &format!("/previews/{id}/admin-password"),
            &session,
            &[("csrf", "x")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!forged.body.contains(&stored));
}

#[tokio::test]
async fn full_slots_and_the_launch_rate_limit_refuse_with_a_message() {
    let w = world_with(|c| {
        c.max_live = 2;
        c.launches_per_user_per_hour = 1;
    })
    .await;
    let (alice, alice_csrf) = w.sign_in("alice").await;
    let (bob, bob_csrf) = w.sign_in("bob").await;
    let launch = |session: &str, csrf: &str| {
        let (session, csrf) = (session.to_string(), csrf.to_string());
        let w = &w;
        async move {
            w.post(
                "/previews",
                &session,
                &[("csrf", &csrf), ("backend_pr", "9876")],
            )
            .await
        }
    };
    launched_id(&launch(&alice, &alice_csrf).await);
    let again = launch(&alice, &alice_csrf).await;
    assert_eq!(
        again.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        again.body
    );
    assert!(
        again
            .body
            .contains("you have launched 1 previews in the last hour"),
        "{}",
        again.body
    );
    assert!(
        again.body.contains(r#"value="9876""#),
        "the form keeps what was typed"
    );
    launched_id(&launch(&bob, &bob_csrf).await);
    assert_eq!(w.executions().await, 2);

    let (carol, carol_csrf) = w.sign_in("carol").await;
    let full = launch(&carol, &carol_csrf).await;
    assert_eq!(full.status, StatusCode::CONFLICT, "{}", full.body);
    assert!(
        full.body
            .contains("All 2 preview slots are in use; nothing was launched"),
        "{}",
        full.body
    );
    assert_eq!(w.executions().await, 2, "nothing started");
    // A refused launch does not count against carol's limit.
    let name = w
        .state
        .config
        .names()
        .user_launches(&preview_web::limits::user_key("carol"));
    let stored = preview_tasks::parameters::value(&w.state.clients.ssm, &name)
        .await
        .unwrap();
    assert_eq!(stored, None);
}

#[tokio::test]
async fn logs_assets_and_headers() {
    let w = world().await;
    let (session, _) = w.sign_in("alice").await;
    let css = w.get(preview_web::pages::STYLE_PATH, "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.body.contains(".card"));
    let home = w.get("/", &session).await;
    assert!(home.body.contains(preview_web::pages::SCRIPT_PATH));
    let raw = w
        .app
        .clone()
        .oneshot(
            Request::get("/")
                .header(COOKIE, &session)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let csp = raw
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(raw.headers().get("cache-control").unwrap(), "no-store");
    let logs = w
        .get("/previews/dsp-b1-202611281200-abcd/logs", &session)
        .await;
    assert_eq!(logs.status, StatusCode::OK);
    assert_eq!(logs.body, "No log lines yet.");
    let anonymous = w.get("/previews/dsp-b1-202611281200-abcd/logs", "").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_previews_compose_logs_show_on_its_page_and_refresh_endpoint() {
    let w = world().await;
    let (session, csrf) = w.sign_in("alice").await;
    let id = launched_id(
        &w.post(
            "/previews",
            &session,
            &[("csrf", &csrf), ("backend_pr", "9876")],
        )
        .await,
    );
    w.submitted(&id, 1).await;
    // What the instance's boot script sends: its own stream and the compose output.
    let names = w.state.config.names();
    for (stream, lines) in [
        ("boot", ["phase fetching", "phase building"].as_slice()),
        (
            "compose",
            ["dspace  | Started <Application> in 41 s"].as_slice(),
        ),
    ] {
        let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let stream = format!("{id}/{stream}");
        preview_tasks::logs::append(&w.state.clients.logs, &names, &stream, &lines)
            .await
            .unwrap();
    }
    let text = w.get(&format!("/previews/{id}/logs"), &session).await;
    assert_eq!(text.status, StatusCode::OK);
    for line in ["phase building", "Started <Application> in 41 s"] {
        assert!(text.body.contains(line), "{}", text.body);
    }
    let page = w.get(&format!("/previews/{id}"), &session).await;
    assert!(
        page.body.contains("Started &lt;Application&gt; in 41 s"),
        "escaped on the page: {}",
        page.body
    );
    assert!(page
        .body
        .contains(&format!(r#"data-refresh="/previews/{id}/logs""#)));
}

#[tokio::test]
async fn a_cached_build_shows_on_the_form_and_the_launch_reuses_it() {
    let w = world().await;
    // What an earlier preview of PR 9876's head (the recorded GitHub answer) pushed; before the
    // first page, which the form's one-minute view of the cache would otherwise predate.
    let head = "1a46470cd50084fb3dbf41af5a75bee2edafd3f2";
    let base = "b".repeat(40);
    let tag = format!("backend-{head}-{base}");
    let repository = w.state.config.names().build_cache_repository();
    preview_tasks::local::cache_push::push_manifest(&w.state.clients.ecr, &repository, &tag)
        .await
        .unwrap();
    let (session, csrf) = w.sign_in("alice").await;
    let home = w.get("/", &session).await;
    assert!(
        home.body
            .contains(r#"id="cached-builds">A cached build exists for backend PR #9876"#),
        "{}",
        home.body
    );
    assert_eq!(
        home.body
            .matches("· cached build: starts without building</option>")
            .count(),
        1,
        "only PR 9876's option is marked"
    );

    let launched = w
        .post(
            "/previews",
            &session,
            &[("csrf", &csrf), ("backend_pr", "9876")],
        )
        .await;
    assert_eq!(launched.status, StatusCode::SEE_OTHER, "{}", launched.body);
    let id = launched_id(&launched);
    let history = w
        .engine
        .wait_for(&w.state.execution_arn(&id), |h| {
            h.iter()
                .filter(|e| e.event_type == "LambdaFunctionSucceeded")
                .count()
                >= 2
        })
        .await
        .unwrap();
    let launch_output = history
        .iter()
        .filter(|e| e.event_type == "LambdaFunctionSucceeded")
        .map(|e| e.details["output"].as_str().unwrap_or_default().to_string())
        .find(|o| o.contains("instance_id"))
        .expect("the launch step's output is in the history");
    let output: serde_json::Value = serde_json::from_str(&launch_output).unwrap();
    assert_eq!(
        output["build_cache"]["backend"]["status"], "hit",
        "{output}"
    );
    assert_eq!(output["build_cache"]["backend"]["tag"], tag.as_str());
}
