//! The web app against the local Step Functions engine and moto: sign-in, validation, launch,
//! extend by button and by signed link, forged links, stop, and the audit log.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use chrono::Utc;
use preview_statemachine::preview::{self, StepsInvoker};
use preview_statemachine::{Engine, ManualClock};
use preview_tasks::local::{local_ctx, Moto};
use preview_tasks::Config;
use preview_web::sign::Signer;
use preview_web::state::Settings;
use preview_web::{router, AppState};
use tower::ServiceExt;

struct World {
    app: Router,
    state: AppState,
    engine: Engine,
    dir: PathBuf,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _clock: Arc<ManualClock>,
}

impl Drop for World {
    fn drop(&mut self) {
        self.engine.halt();
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

async fn world() -> World {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let stack = format!("w{}-{n}", std::process::id());
    let config = Config {
        max_live: 3,
        health_poll_interval_seconds: 1,
        health_poll_budget_seconds: 2,
        ..Config::default()
    };
    let endpoint = Moto::shared_endpoint().expect("moto (set PREVIEW_VENV)");
    let mut ctx = local_ctx(&endpoint, &stack, config).await.expect("seed");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sfn_endpoint = format!("http://{}", listener.local_addr().unwrap());
    ctx.clients.sfn = preview::sfn_client(&sfn_endpoint).await;
    let dir = std::env::temp_dir().join(format!("dspace-preview-web-{stack}"));
    let _ = std::fs::remove_dir_all(&dir);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let (engine, arn) = preview::open(&dir, clock.clone(), StepsInvoker::new(ctx.clone()), &stack)
        .await
        .expect("engine");
    let server = tokio::spawn(preview_statemachine::serve(engine.clone(), listener));
    let state = AppState::new(Settings {
        clients: ctx.clients.clone(),
        config: ctx.base.clone(),
        region: ctx.region.clone(),
        state_machine_arn: arn,
        signer: Signer::new(&[9u8; 32]).unwrap(),
        access_code: "dspace rocks".into(),
        github_api: "http://127.0.0.1:9".into(),
        secure_cookies: false,
    });
    World {
        app: router(state.clone()),
        state,
        engine,
        dir,
        server,
        _clock: clock,
    }
}

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
                    ("code", "dspace rocks"),
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

    async fn submitted(&self, id: &str, n: usize) {
        let arn = self.state.execution_arn(id);
        let wait = self.engine.wait_for(&arn, |h| {
            h.iter().filter(|e| e.event_type == "TaskSubmitted").count() >= n
        });
        tokio::time::timeout(std::time::Duration::from_secs(120), wait)
            .await
            .expect("parked in time")
            .unwrap();
    }

    async fn executions(&self) -> usize {
        let out = self
            .state
            .clients
            .sfn
            .list_executions()
            .state_machine_arn(&self.state.state_machine_arn)
            .send()
            .await
            .unwrap();
        out.executions().len()
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
            &[
                ("csrf", &token),
                ("name", "alice"),
                ("code", "dspace rocks"),
            ],
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
    assert!(
        !w.get("/", &session).await.body.contains(&id),
        "no longer listed as live"
    );
}
