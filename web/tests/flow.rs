//! The web app against the local Step Functions engine and moto: sign-in, validation, launch,
//! extend by button and by signed link, forged links, stop, and the audit log.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

mod common;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE};
use axum::http::{Request, StatusCode};
use common::visitor::{answer, encode, form_body, Answer as Reply};
use common::{world, world_with, World, ACCESS_CODE};
use tower::ServiceExt;

impl World {
    async fn get(&self, path: &str, cookie: &str) -> Reply {
        let req = Request::get(path)
            .header(COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        answer(self.app.clone().oneshot(req).await.unwrap()).await
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Reply {
        let req = Request::post(path)
            .header(COOKIE, cookie)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form_body(form)))
            .unwrap();
        answer(self.app.clone().oneshot(req).await.unwrap()).await
    }

    /// Signs in as `user`; returns the session cookie and a CSRF token.
    async fn sign_in(&self, user: &str) -> (String, String) {
        let form = self.get("/signin", "").await;
        let pre = form.cookie("dsp_signin");
        let token = form.hidden("csrf");
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
        let session = signed.cookie("dsp_session");
        let home = self.get("/", &session).await;
        assert_eq!(home.status, StatusCode::OK);
        let csrf = home.hidden("csrf");
        (session, csrf)
    }
}

#[tokio::test]
async fn signing_in_needs_the_code_and_pages_need_a_session() {
    let w = world().await;
    let home = w.get("/", "").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert!(home.location.starts_with("/signin"), "{}", home.location);
    let form = w.get("/signin", "").await;
    let pre = form.cookie("dsp_signin");
    let token = form.hidden("csrf");
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
    let form_token = confirm.hidden("csrf");

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
async fn branches_are_offered_and_checked_on_github_before_anything_starts() {
    let w = world().await;
    let (session, csrf) = w.sign_in("alice").await;
    let home = w.get("/", &session).await;
    for list in ["backend-branches", "ui-branches"] {
        assert!(home.body.contains(&format!(r#"<datalist id="{list}">"#)));
        assert!(home.body.contains(&format!(r#"list="{list}""#)));
    }
    assert!(
        home.body
            .contains(r#"<option value="w2p-12345/fix-search">w2p-12345/fix-search · "#),
        "{}",
        home.body
    );

    let unknown = [("csrf", csrf.as_str()), ("ui_branch", "no-such-branch")];
    let r = w.post("/previews", &session, &unknown).await;
    let says = "DSpace/dspace-angular has no branch &#39;no-such-branch&#39;";
    assert!(
        r.status == StatusCode::BAD_REQUEST && r.body.contains(says),
        "{}: {}",
        r.status,
        r.body
    );
    assert!(
        r.body.contains(r#"value="no-such-branch""#),
        "typed value kept"
    );
    assert_eq!(w.executions().await, 0, "nothing started");

    w.github_log.clear();
    let known = [("csrf", csrf.as_str()), ("ui_branch", "main")];
    let r = w.post("/previews", &session, &known).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(w.executions().await, 1);
    let asked = w
        .github_log
        .sent("GET", "/repos/DSpace/dspace-angular/branches/main");
    assert_eq!(asked.len(), 1, "the branch was checked once");
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
    assert_eq!(first.hidden("backend_pr"), "9876");
    assert_eq!(first.hidden("paired"), "1");
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
        .ctx
        .base
        .names()
        .admin_password(&preview_tasks::domain::preview_id::PreviewId::parse(&id).unwrap());
    let stored = preview_tasks::parameters::value(&w.state.ctx.clients.ssm, &name)
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
        .ctx
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
    let carol_places = preview_web::limits::user_path(&w.state, "carol");
    assert_eq!(places(&w, &carol_places).await, Vec::<String>::new());
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
    let names = w.state.ctx.base.names();
    for (stream, lines) in [
        ("boot", ["phase fetching", "phase building"].as_slice()),
        (
            "compose",
            ["dspace  | Started <Application> in 41 s"].as_slice(),
        ),
    ] {
        let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let stream = format!("{id}/{stream}");
        preview_tasks::logs::append(&w.state.ctx.clients.logs, &names, &stream, &lines)
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
    let repository = w.state.ctx.base.names().build_cache_repository();
    preview_local::cache_push::push_manifest(&w.state.ctx.clients.ecr, &repository, &tag)
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

/// The launch-limit places taken under `path`.
async fn places(w: &World, path: &str) -> Vec<String> {
    preview_tasks::parameters::names_under(&w.aws.ssm, path)
        .await
        .unwrap()
}

/// Launches PR 9876 for the session.
async fn launch_9876(w: &World, session: &str, csrf: &str) -> Reply {
    w.post(
        "/previews",
        session,
        &[("csrf", csrf), ("backend_pr", "9876")],
    )
    .await
}

#[tokio::test]
async fn a_launch_the_capacity_check_refuses_is_not_called_launched_and_costs_no_place() {
    let mut w = world_with(|c| c.max_live = 1).await;
    // Another preview holds the only slot but has no running execution yet: the form's own
    // count sees a free slot, the workflow's capacity check does not.
    let names = w.state.ctx.base.names();
    let held = preview_tasks::domain::slots::Reservation {
        preview_id: "dsp-b1-202611281200-abcd".into(),
        execution: String::new(),
        reserved_at: chrono::Utc::now(),
    };
    assert!(
        preview_tasks::slots::try_take(&w.aws.ssm, &names.slot(1), &held)
            .await
            .unwrap()
    );
    let (session, csrf) = w.sign_in("alice").await;
    let refused = launch_9876(&w, &session, &csrf).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("All 1 preview slots are in use; nothing was launched"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("Launched"), "{}", refused.body);
    let user = preview_web::limits::user_path(&w.state, "alice");
    assert_eq!(places(&w, &user).await, Vec::<String>::new(), "not charged");
    let global = preview_web::limits::global_path(&w.state);
    assert_eq!(places(&w, &global).await, Vec::<String>::new());

    // Undecided within the wait: said honestly, never "launched".
    preview_tasks::parameters::delete_all(&w.aws.ssm, &[names.slot(1)])
        .await
        .unwrap();
    let mut settings = w.settings();
    settings.launch_answer_wait = std::time::Duration::ZERO;
    w.app = preview_web::router(preview_web::AppState::new(settings));
    let starting = launch_9876(&w, &session, &csrf).await;
    assert!(
        starting.location.ends_with("?notice=starting"),
        "{}",
        starting.location
    );
    let page = w.get(&starting.location, &session).await;
    assert!(
        page.body
            .contains("the capacity check has not answered yet"),
        "{}",
        page.body
    );
}

/// Launches of PR 9876 by each (session, csrf) at once; the status of each answer.
async fn launch_all(w: &World, people: &[(String, String)]) -> Vec<Reply> {
    futures::future::join_all(people.iter().map(|(s, c)| launch_9876(w, s, c))).await
}

fn count(replies: &[Reply], status: StatusCode) -> usize {
    replies.iter().filter(|r| r.status == status).count()
}

#[tokio::test]
async fn simultaneous_launches_hold_the_per_person_limit() {
    let w = world_with(|c| {
        c.max_live = 10;
        c.launches_per_user_per_hour = 4;
        c.launches_per_hour = 100;
    })
    .await;
    let alice = w.sign_in("alice").await;
    let replies = launch_all(&w, &vec![alice; 10]).await;
    assert_eq!(count(&replies, StatusCode::SEE_OTHER), 4);
    assert_eq!(count(&replies, StatusCode::TOO_MANY_REQUESTS), 6);
    for r in replies.iter().filter(|r| r.status == StatusCode::SEE_OTHER) {
        assert!(r.location.ends_with("?notice=launched"), "{}", r.location);
    }
    assert_eq!(w.executions().await, 4);
    let user = preview_web::limits::user_path(&w.state, "alice");
    assert_eq!(places(&w, &user).await.len(), 4);
}

#[tokio::test]
async fn twenty_people_at_once_three_slots_three_launched() {
    let w = world_with(|c| {
        c.max_live = 3;
        c.launches_per_hour = 100;
    })
    .await;
    let mut people = Vec::new();
    for i in 0..20 {
        people.push(w.sign_in(&format!("person{i}")).await);
    }
    let replies = launch_all(&w, &people).await;
    let launched: Vec<&Reply> = replies
        .iter()
        .filter(|r| r.status == StatusCode::SEE_OTHER)
        .collect();
    assert_eq!(launched.len(), 3, "exactly the free slots");
    for r in &launched {
        assert!(r.location.ends_with("?notice=launched"), "{}", r.location);
    }
    assert_eq!(count(&replies, StatusCode::CONFLICT), 17);
    for (i, r) in replies.iter().enumerate() {
        let user = preview_web::limits::user_path(&w.state, &format!("person{i}"));
        let charged = places(&w, &user).await.len();
        if r.status == StatusCode::CONFLICT {
            assert!(r.body.contains("nothing was launched"), "{}", r.body);
            assert_eq!(charged, 0, "a refused launch is not charged");
        } else {
            assert_eq!(charged, 1);
        }
    }
    let global = preview_web::limits::global_path(&w.state);
    assert_eq!(places(&w, &global).await.len(), 3);
}

#[tokio::test]
async fn the_global_launch_rate_holds_for_simultaneous_launches() {
    let w = world_with(|c| {
        c.max_live = 10;
        c.launches_per_hour = 2;
    })
    .await;
    let mut people = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        people.push(w.sign_in(name).await);
    }
    let replies = launch_all(&w, &people).await;
    assert_eq!(count(&replies, StatusCode::SEE_OTHER), 2);
    assert_eq!(count(&replies, StatusCode::TOO_MANY_REQUESTS), 3);
    let refused = replies
        .iter()
        .find(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    assert!(
        refused
            .body
            .contains("the service has launched 2 previews in the last hour"),
        "{}",
        refused.body
    );
    assert_eq!(w.executions().await, 2);
    // Refused by the global limit: the person's own place was given back.
    let total: usize = futures::future::join_all(["a", "b", "c", "d", "e"].map(|n| {
        let path = preview_web::limits::user_path(&w.state, n);
        let w = &w;
        async move { places(w, &path).await.len() }
    }))
    .await
    .into_iter()
    .sum();
    assert_eq!(total, 2);
}

#[tokio::test]
async fn an_invalid_form_costs_no_aws_or_github_call() {
    let w = world().await;
    let (session, csrf) = w.sign_in("alice").await;
    let (calls, github) = (w.calls.count(), w.github_log.hits().len());
    for form in [
        vec![],
        vec![("backend_pr", "abc")],
        vec![("backend_pr", "12"), ("backend_branch", "main")],
        vec![("backend_pr", "12"), ("env", "no equals sign")],
        vec![("backend_pr", "12"), ("sample_content", "everything")],
        vec![("ui_branch", "bad branch name;rm")],
    ] {
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend(form.iter().copied());
        let r = w.post("/previews", &session, &fields).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{form:?}: {}", r.body);
        assert!(r.body.contains(r#"class="msg err""#), "{}", r.body);
    }
    assert_eq!(w.calls.count(), calls, "no AWS call");
    assert_eq!(w.github_log.hits().len(), github, "no GitHub call");
}

impl World {
    /// A sign-in POST from the client address `from`.
    async fn sign_in_from(&self, from: [u8; 4], pre: &str, form: &[(&str, &str)]) -> Reply {
        let mut req = Request::post("/signin")
            .header(COOKIE, pre)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form_body(form)))
            .unwrap();
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                from, 40000,
            ))));
        answer(self.app.clone().oneshot(req).await.unwrap()).await
    }

    /// The sign-in form's cookie and token.
    async fn signin_form(&self) -> (String, String) {
        let form = self.get("/signin", "").await;
        (form.cookie("dsp_signin"), form.hidden("csrf"))
    }
}

#[tokio::test]
async fn sign_in_is_throttled_per_address_and_in_all() {
    use preview_web::throttle::{GLOBAL, PER_ADDRESS};
    let w = world().await;
    let (pre, token) = w.signin_form().await;
    let guess = |code: &'static str| {
        let token = token.clone();
        move |name: &'static str| {
            vec![
                ("csrf", token.clone()),
                ("name", name.to_string()),
                ("code", code.to_string()),
            ]
        }
    };
    let wrong = guess("guess");
    let right = guess(ACCESS_CODE);
    let send = |from: [u8; 4], fields: Vec<(&'static str, String)>| {
        let pre = pre.clone();
        let w = &w;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.sign_in_from(from, &pre, &fields).await
        }
    };
    let started = std::time::Instant::now();
    for _ in 0..PER_ADDRESS {
        let r = send([10, 0, 0, 1], wrong("alice")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    }
    let throttled = send([10, 0, 0, 1], right("alice")).await;
    let burst = started.elapsed();
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        throttled
            .body
            .contains("Too many sign-in attempts from your address. Try again after"),
        "{}",
        throttled.body
    );
    println!(
        "{PER_ADDRESS} wrong codes then refused, in {burst:?}; the right code too while throttled"
    );
    // Another address is not affected; its right code does not use up a place.
    let ok = send([10, 0, 0, 2], right("bob")).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    // Everyone together: the global window (wrong codes so far: the first address's).
    let mut counted = PER_ADDRESS;
    'spray: for a in 3..=255u8 {
        for _ in 0..PER_ADDRESS {
            if counted == GLOBAL {
                break 'spray;
            }
            let r = send([10, 0, 1, a], wrong("mallory")).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
            counted += 1;
        }
    }
    let everyone = send([10, 9, 9, 9], right("carol")).await;
    assert_eq!(everyone.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        everyone.body.contains("on this service"),
        "{}",
        everyone.body
    );
}

#[tokio::test]
async fn next_is_only_ever_a_path_on_this_site() {
    let w = world().await;
    for bad in [
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "/\tevil",
        "/a\r\nSet-Cookie: x=1",
        "javascript:alert(1)",
    ] {
        let (pre, token) = w.signin_form().await;
        let r = w
            .post(
                "/signin",
                &pre,
                &[
                    ("csrf", &token),
                    ("next", bad),
                    ("name", "alice"),
                    ("code", ACCESS_CODE),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{bad:?}: {}", r.body);
        assert_eq!(r.location, "/", "{bad:?}");
        let form = w.get(&format!("/signin?next={}", encode(bad)), "").await;
        assert_eq!(form.status, StatusCode::OK, "{bad:?}");
        assert_eq!(form.hidden("next"), "/", "{bad:?}");
    }
    let (pre, token) = w.signin_form().await;
    let good = w
        .post(
            "/signin",
            &pre,
            &[
                ("csrf", &token),
                ("next", "/previews/dsp-b1-202611281200-abcd?notice=launched"),
                ("name", "alice"),
                ("code", ACCESS_CODE),
            ],
        )
        .await;
    assert_eq!(
        good.location,
        "/previews/dsp-b1-202611281200-abcd?notice=launched"
    );
}

#[tokio::test]
async fn sign_out_revokes_the_session_and_a_new_code_revokes_all() {
    let mut w = world().await;
    let (first, first_csrf) = w.sign_in("alice").await;
    let (second, _) = w.sign_in("alice").await;
    let revoked = format!(
        "{}/revoked-sessions/",
        w.state.ctx.base.names().parameter_root()
    );
    // A revocation whose session has expired meanwhile: the next sign-out deletes it.
    w.aws
        .ssm
        .put_parameter()
        .name(format!("{revoked}0123456789abcdef"))
        .value("1")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let out = w.post("/signout", &first, &[("csrf", &first_csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        w.get("/", &first).await.status,
        StatusCode::SEE_OTHER,
        "signed out"
    );
    assert_eq!(
        w.get("/", &second).await.status,
        StatusCode::OK,
        "the other session stays"
    );
    let kept = places(&w, &revoked).await;
    assert_eq!(
        kept.len(),
        1,
        "kept in SSM, the expired one deleted: {kept:?}"
    );
    // Another instance of the app (a fresh cache) knows it too.
    w.app = preview_web::router(preview_web::AppState::new(w.settings()));
    assert_eq!(w.get("/", &first).await.status, StatusCode::SEE_OTHER);
    assert_eq!(w.get("/", &second).await.status, StatusCode::OK);
    // A new access code: every session made with the old one ends.
    let mut settings = w.settings();
    settings.keys =
        preview_web::secrets::KeySource::fixed(&common::SIGNING_KEY, "a new code").unwrap();
    w.app = preview_web::router(preview_web::AppState::new(settings));
    let home = w.get("/", &second).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert!(home.location.starts_with("/signin"), "{}", home.location);
}

#[tokio::test]
async fn keys_come_from_secrets_manager_and_a_rotated_code_applies_soon() {
    let mut w = world().await;
    let endpoint = preview_local::Moto::shared_endpoint().unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&preview_local::sdk_config(&endpoint).await);
    let stack = &w.state.ctx.base.stack;
    let mut arns = Vec::new();
    for (name, value) in [
        ("link-key", "k".repeat(40)),
        ("access-code", "first code".into()),
    ] {
        let out = sm
            .create_secret()
            .name(format!("{stack}/{name}"))
            .secret_string(value)
            .send()
            .await
            .unwrap();
        arns.push(out.arn().unwrap().to_string());
    }
    let cache = std::time::Duration::from_millis(300);
    let mut settings = w.settings();
    settings.keys = preview_web::secrets::KeySource::new(
        sm.clone(),
        preview_web::secrets::Secret::Arn(arns[0].clone()),
        preview_web::secrets::Secret::Arn(arns[1].clone()),
        cache,
    );
    w.app = preview_web::router(preview_web::AppState::new(settings));
    let attempt = |code: &'static str| {
        let w = &w;
        async move {
            let (pre, token) = w.signin_form().await;
            w.post(
                "/signin",
                &pre,
                &[("csrf", &token), ("name", "alice"), ("code", code)],
            )
            .await
        }
    };
    let signed = attempt("first code").await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let session = signed.cookie("dsp_session");
    assert_eq!(w.get("/", &session).await.status, StatusCode::OK);
    assert_eq!(attempt(ACCESS_CODE).await.status, StatusCode::UNAUTHORIZED);

    sm.put_secret_value()
        .secret_id(&arns[1])
        .secret_string("second code")
        .send()
        .await
        .unwrap();
    tokio::time::sleep(cache * 2).await;
    assert_eq!(
        w.get("/", &session).await.status,
        StatusCode::SEE_OTHER,
        "sessions of the old code end"
    );
    assert_eq!(attempt("first code").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt("second code").await.status, StatusCode::SEE_OTHER);
}

/// Captures what the app logs while a test runs (on this thread).
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).to_string()
    }
}

#[tokio::test]
async fn unreachable_aws_gets_a_friendly_503_with_a_reference_in_page_and_log() {
    let mut w = world().await;
    let (session, _) = w.sign_in("alice").await;
    // Nothing listens on port 1.
    let closed =
        preview_tasks::Clients::new(&preview_local::sdk_config("http://127.0.0.1:1").await);
    let mut settings = w.settings();
    settings.ctx.clients = closed;
    w.app = preview_web::router(preview_web::AppState::new(settings));
    let log = LogBuffer::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let started = std::time::Instant::now();
    let page = w.get("/", &session).await;
    println!("503 after {:?}", started.elapsed());
    assert_eq!(
        page.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        page.body
    );
    assert!(
        page.body.contains("cannot reach AWS right now"),
        "{}",
        page.body
    );
    let reference = page
        .body
        .split("the reference ")
        .nth(1)
        .and_then(|r| r.get(..8))
        .expect("a reference")
        .to_string();
    assert!(!page.body.contains("127.0.0.1") && !page.body.contains("dispatch"));
    let logged = log.text();
    assert!(
        logged.contains(&reference) && logged.contains("ssm:GetParametersByPath"),
        "the log has the detail under the same reference: {logged}"
    );
}

#[tokio::test]
async fn stop_works_when_no_callback_waits() {
    let w = world().await;
    let (session, csrf) = w.sign_in("alice").await;
    let id = launched_id(&launch_9876(&w, &session, &csrf).await);
    w.submitted(&id, 1).await;
    let preview = preview_tasks::domain::preview_id::PreviewId::parse(&id).unwrap();
    let names = w.state.ctx.base.names();
    let token = names.task_token(&preview);
    let pending = || preview_tasks::stop_request::pending(&w.aws.ssm, &names, &preview);

    // Still building: no token is stored yet.
    preview_tasks::parameters::delete_all(&w.aws.ssm, std::slice::from_ref(&token))
        .await
        .unwrap();
    let stop = w
        .post(
            &format!("/previews/{id}/stop"),
            &session,
            &[("csrf", &csrf)],
        )
        .await;
    assert!(
        stop.location.ends_with("?notice=stop-requested"),
        "{}",
        stop.location
    );
    assert_eq!(pending().await.unwrap().expect("recorded").by, "alice");
    let page = w.get(&stop.location, &session).await;
    assert!(
        page.body
            .contains("Stop requested: it takes effect within one health check (about 1 seconds)"),
        "{}",
        page.body
    );
    // An extend cannot be recorded that way: it says to try again.
    let extend = w
        .post(
            &format!("/previews/{id}/extend"),
            &session,
            &[("csrf", &csrf), ("minutes", "30")],
        )
        .await;
    assert!(
        extend.location.ends_with("?notice=busy"),
        "{}",
        extend.location
    );

    // A stale token (its wait has ended): the stop link records the request too.
    w.aws
        .ssm
        .put_parameter()
        .name(&token)
        .value("not-a-live-token")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let page = w.get(&format!("/previews/{id}"), &session).await.body;
    let link = page
        .split("/l/")
        .skip(1)
        .map(|t| t.split('"').next().unwrap())
        .find(|t| t.contains(".stop."))
        .expect("a stop link")
        .to_string();
    let confirm = w.get(&format!("/l/{link}"), "").await;
    let by_link = w
        .post(
            &format!("/l/{link}"),
            "",
            &[("csrf", &confirm.hidden("csrf"))],
        )
        .await;
    assert_eq!(by_link.status, StatusCode::OK, "{}", by_link.body);
    assert!(by_link.body.contains("Stop requested"), "{}", by_link.body);
    assert_eq!(pending().await.unwrap().unwrap().by, "a callback link");
}

#[tokio::test]
async fn a_capped_extend_says_what_was_granted() {
    let w = world_with(|c| {
        c.min_ttl_minutes = 30;
        c.default_ttl_minutes = 30;
        c.max_lifetime_minutes = 60;
    })
    .await;
    let (session, csrf) = w.sign_in("alice").await;
    let id = launched_id(&launch_9876(&w, &session, &csrf).await);
    w.submitted(&id, 1).await;
    let path = format!("/previews/{id}/extend");
    let extend = || async {
        w.post(&path, &session, &[("csrf", &csrf), ("minutes", "60")])
            .await
    };
    let first = extend().await;
    assert!(
        first.location.ends_with("?notice=extended"),
        "{}",
        first.location
    );
    let page = w.get(&first.location, &session).await.body;
    assert!(
        page.contains("capped by the maximum lifetime"),
        "the notice says the cap hit: {page}"
    );
    assert!(!page.contains("extended by 60 minutes"), "{page}");
    w.submitted(&id, 2).await;
    let second = extend().await;
    let page = w.get(&second.location, &session).await.body;
    for says in [
        "Not extended (asked by alice; the preview has reached its maximum lifetime)",
        "not extended (asked by alice; asked for 60; the preview has reached its maximum lifetime)",
    ] {
        assert!(page.contains(says), "lacks '{says}': {page}");
    }
}
