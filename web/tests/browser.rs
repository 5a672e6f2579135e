//! The web page in headless Chromium (Debian `chromium` + `chromium-driver`): sign in, launch a
//! preview from the form, see it become ready with its URL, extend it through the shareable
//! callback link, stop it, and find all of that in the audit log. A screenshot of every page
//! goes to `web/tests/artifacts/browser/` (kept by CI as an artifact).
//!
//! `PREVIEW_CHROMEDRIVER` and `PREVIEW_CHROMIUM` override the Debian paths.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

mod common;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{github_world, world, world_full, World, ACCESS_CODE};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// chromedriver in a process group of its own, killed with the Chromium it started when the
/// test ends, however it ends (a failed test must not leave browsers running).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Starts chromedriver and opens a headless Chromium session with a window of the given size.
async fn browser(width: u32, height: u32) -> (Driver, Client) {
    let driver_bin =
        std::env::var("PREVIEW_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    let chromium = std::env::var("PREVIEW_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let port = free_port();
    let child = Command::new(&driver_bin)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {driver_bin} ({e}): run `cargo xtask setup` (installs chromium and chromium-driver)")
        });
    let driver = Driver(child);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-extensions",
                "--no-first-run",
                format!("--window-size={width},{height}"),
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return (driver, client),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver at {url} did not open a Chromium session");
}

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/artifacts/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

async fn body_text(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Reloads the page until its text contains `what` (the page has no live updates without JS).
async fn reload_until(c: &Client, what: &str) -> String {
    for _ in 0..240 {
        let text = body_text(c).await;
        if text.contains(what) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.refresh().await.unwrap();
    }
    panic!("the page never showed '{what}': {}", body_text(c).await);
}

async fn fill(c: &Client, name: &str, value: &str) {
    let field = c
        .find(Locator::Css(&format!(r#"[name="{name}"]"#)))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits (without reloading) until the page's text contains `what`; returns the text.
async fn wait_for_text(c: &Client, what: &str) -> String {
    for _ in 0..200 {
        if let Ok(text) = c.find(Locator::Css("body")).await {
            if let Ok(text) = text.text().await {
                if text.contains(what) {
                    return text;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the page never showed '{what}': {}", body_text(c).await);
}

/// Waits until the browser has navigated to a path starting with `prefix` (a click on a submit
/// button may return before the POST and its redirect complete); returns the path.
async fn wait_for_path(c: &Client, prefix: &str) -> String {
    for _ in 0..200 {
        let path = c.current_url().await.unwrap().path().to_string();
        if path.starts_with(prefix) {
            return path;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never reached {prefix}: {}", body_text(c).await);
}

async fn sign_in(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/")).await.unwrap();
    assert!(c.current_url().await.unwrap().path().starts_with("/signin"));
    screenshot(c, "01-sign-in").await;
    fill(c, "name", user).await;
    fill(c, "code", ACCESS_CODE).await;
    click(c, "form[action='/signin'] button").await;
    wait_for_text(c, &format!("signed in as {user}")).await;
}

async fn the_preview_flow(w: &World, c: &Client, base: &str) {
    sign_in(c, base, "alice").await;
    screenshot(c, "02-home").await;

    fill(c, "backend_pr", "9876").await;
    fill(c, "ttl_minutes", "90").await;
    click(c, "form[action='/previews'] button[type='submit']").await;
    let path = wait_for_path(c, "/previews/dsp-").await;
    let id = path.trim_start_matches("/previews/").to_string();
    assert!(id.starts_with("dsp-b9876-"), "launched to {path}");
    screenshot(c, "03-launched").await;

    let ready = reload_until(c, "phase: expiring").await;
    assert!(ready.contains("ready at http://"), "{ready}");
    let ui_url = c
        .find(Locator::Css("ul.urls a"))
        .await
        .unwrap_or_else(|_| panic!("no URL list in {:?}", page_source(c)))
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(ui_url.starts_with("http://"), "{ui_url}");
    screenshot(c, "04-ready").await;

    c.goto(&format!("{base}/")).await.unwrap();
    let home = body_text(c).await;
    assert!(home.contains(&id) && home.contains(&ui_url), "{home}");
    screenshot(c, "05-home-live").await;

    c.goto(&format!("{base}/previews/{id}")).await.unwrap();
    let link = c
        .find(Locator::Css("a.callback-extend-30"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    c.goto(&format!("{base}{link}")).await.unwrap();
    let confirm = body_text(c).await;
    assert!(confirm.contains("Extend by 30 minutes"), "{confirm}");
    screenshot(c, "06-confirm-extend").await;
    click(c, "form.confirm button").await;
    wait_for_text(c, "extended by 30 minutes").await;
    screenshot(c, "07-extended").await;
    w.submitted(&id, 2).await;

    stop_from_page(w, c, base, &id).await;

    let audit = reload_until(c, "ended (stopped)").await;
    for line in [
        "launched by alice: DSpace/DSpace#9876, TTL 90 minutes",
        "ready at http://",
        "extended by 30 minutes by alice",
        "stop requested by alice",
        "ended (stopped)",
    ] {
        assert!(
            audit.contains(line),
            "the audit log lacks '{line}': {audit}"
        );
    }
    screenshot(c, "08-audit-log").await;

    c.goto(&format!("{base}/")).await.unwrap();
    let home = body_text(c).await;
    assert!(home.contains("No preview is running"), "{home}");
}

/// Presses Stop on the preview's page and waits for its execution to end.
async fn stop_from_page(w: &World, c: &Client, base: &str, id: &str) {
    c.goto(&format!("{base}/previews/{id}")).await.unwrap();
    click(c, &format!("form[action='/previews/{id}/stop'] button")).await;
    wait_for_text(c, "Stop requested").await;
    let arn = w.state.execution_arn(id);
    tokio::time::timeout(Duration::from_secs(120), w.engine.wait_for_completion(&arn))
        .await
        .expect("stopped in time")
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_launch_ready_extend_by_link_stop_audit() {
    let w = world().await;
    let base = w.serve().await;
    let (_driver, c) = browser(1280, 1000).await;
    the_preview_flow(&w, &c, &base).await;
    c.close().await.unwrap();
    assert_eq!(w.alive().await, 0, "no instance is left running");
}

/// GitHub mode: the button leads to the recorded GitHub's authorize page, and authorizing there
/// as a DSpace org member comes back signed in as that login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_with_github_through_the_recorded_authorize_page() {
    let w = github_world().await;
    let base = w.serve().await;
    let (_driver, c) = browser(1280, 900).await;
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for_path(&c, "/signin").await;
    screenshot(&c, "20-sign-in-github").await;
    click(&c, "#signin-github").await;
    wait_for_path(&c, "/login/oauth/authorize").await;
    let authorize = c.current_url().await.unwrap().to_string();
    assert!(
        !authorize.starts_with(&base),
        "on the recorded GitHub: {authorize}"
    );
    screenshot(&c, "21-github-authorize").await;
    fill(&c, "login", "octo-member").await;
    click(&c, "#authorize").await;
    let home = wait_for_text(&c, "signed in with GitHub as @octo-member").await;
    assert!(home.contains("Launch a preview"), "{home}");
    assert_eq!(c.current_url().await.unwrap().as_str(), format!("{base}/"));
    screenshot(&c, "22-signed-in-with-github").await;
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_fits_a_phone() {
    let w = world().await;
    let base = w.serve().await;
    let (_driver, c) = browser(390, 844).await;
    sign_in(&c, &base, "bob").await;
    let overflow: bool = c
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap()
        .as_bool()
        .unwrap();
    screenshot(&c, "09-home-phone").await;
    c.close().await.unwrap();
    assert!(!overflow, "the home page scrolls sideways on a phone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn picking_a_ui_pr_fills_in_the_backend_pr_it_requires() {
    let w = world().await;
    let base = w.serve().await;
    let (_driver, c) = browser(1280, 1000).await;
    sign_in(&c, &base, "carol").await;
    let options = c
        .find_all(Locator::Css("#ui-prs option"))
        .await
        .unwrap()
        .len();
    assert!(options > 20, "the UI PRs are listed: {options}");
    // Typing the number and leaving the field is what picking from the list does too.
    fill(&c, "ui_pr", "4321").await;
    c.find(Locator::Css("input[name=ttl_minutes]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let backend = c
        .find(Locator::Css("input[name=backend_pr]"))
        .await
        .unwrap();
    let mut filled = String::new();
    for _ in 0..40 {
        filled = backend.prop("value").await.unwrap().unwrap_or_default();
        if !filled.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(filled, "9876");
    wait_for_text(&c, "requires DSpace/DSpace#9876").await;
    screenshot(&c, "10-paired").await;
    c.close().await.unwrap();
    assert_eq!(w.executions().await, 0, "nothing starts before Launch");
}

/// The page's HTML, for failure messages (fetched on a thread of its own: panics happen in sync
/// formatting code).
fn page_source(c: &Client) -> String {
    let c = c.clone();
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async { c.source().await.unwrap() })
    })
    .join()
    .unwrap()
}

/// The boot an instance reports through the health check, with the phases so far. Stub: moto's
/// Run Command runs nothing, so this SSM answers as `preview-health` on a booting instance would
/// (pending in `building-backend` until `done`, then ready with the whole timeline).
fn reporting_instance(ctx: &preview_tasks::Ctx, done: Arc<AtomicBool>) -> preview_tasks::Ctx {
    use preview_local::reporting_instance::{self, HealthAnswer};

    let started = chrono::Utc::now() - chrono::Duration::minutes(9);
    let phases = [
        ("booting", 0, 30),
        ("fetching", 30, 50),
        ("merging", 80, 10),
        ("building-backend", 90, 600),
        ("pulling", 690, 5),
        ("starting", 695, 200),
        ("creating-admin", 895, 60),
        ("loading-content", 955, 240),
        ("ready", 1195, 0),
    ];
    let timeline = move |upto: usize, running: bool| {
        let at = |s: i64| (started + chrono::Duration::seconds(s)).to_rfc3339();
        phases[..upto]
            .iter()
            .enumerate()
            .map(|(i, (phase, start, took))| {
                let open = running && i + 1 == upto;
                json!({"phase": phase, "start": at(*start), "end": (!open).then(|| at(start + took)), "seconds": if open { 420 } else { *took }})
            })
            .collect::<Vec<_>>()
    };
    reporting_instance::ctx(ctx, move || {
        if done.load(Ordering::SeqCst) {
            HealthAnswer {
                exit_code: 0,
                stdout: json!({"status": "healthy", "phase": "ready", "passed": ["rest", "ui"], "detail": "", "phases": timeline(phases.len(), false), "build_cache": {"backend": "miss"}}).to_string(),
            }
        } else {
            HealthAnswer {
                exit_code: 75,
                stdout: json!({"status": "pending", "phase": "building-backend", "passed": [], "detail": "", "phases": timeline(4, true), "build_cache": {"backend": "miss"}}).to_string(),
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_boot_timeline_shows_while_building_and_once_ready() {
    let done = Arc::new(AtomicBool::new(false));
    let instance = done.clone();
    let w = world_full(|_| {}, move |ctx| Some(reporting_instance(ctx, instance))).await;
    let base = w.serve().await;
    let (_driver, c) = browser(1280, 1200).await;
    sign_in(&c, &base, "dora").await;
    fill(&c, "backend_pr", "9876").await;
    click(&c, "form[action='/previews'] button[type='submit']").await;
    let path = wait_for_path(&c, "/previews/dsp-").await;
    let id = path.trim_start_matches("/previews/").to_string();

    let building = reload_until(&c, "Boot timeline").await;
    for row in ["booting", "fetching", "merging", "building-backend"] {
        assert!(
            building.contains(row),
            "no {row} row while building: {building}"
        );
    }
    assert!(!building.contains("loading-content"), "{building}");
    screenshot(&c, "11-timeline-building").await;

    c.goto(&format!("{base}/")).await.unwrap();
    let home = reload_until(&c, "building-backend for").await;
    assert!(home.contains(&id), "{home}");
    screenshot(&c, "12-home-building").await;

    done.store(true, Ordering::SeqCst);
    c.goto(&format!("{base}/previews/{id}")).await.unwrap();
    let ready = reload_until(&c, "phase: expiring").await;
    for row in [
        "building-backend",
        "creating-admin",
        "loading-content",
        "ready",
    ] {
        assert!(ready.contains(row), "no {row} row once ready: {ready}");
    }
    assert!(
        ready.contains("10m 00s"),
        "the build took 10 minutes: {ready}"
    );
    screenshot(&c, "13-timeline-ready").await;

    // The same timeline is in the execution history (the audit log's source).
    let reported = |h: &[preview_statemachine::HistoryEvent]| {
        h.iter()
            .filter(|e| e.event_type == "LambdaFunctionSucceeded")
            .any(|e| {
                let out = e.details["output"].as_str().unwrap_or_default();
                out.contains(r#""phase":"loading-content""#)
                    && out.contains(r#""build_cache":{"backend":"miss"}"#)
            })
    };
    tokio::time::timeout(
        Duration::from_secs(30),
        w.engine.wait_for(&w.state.execution_arn(&id), reported),
    )
    .await
    .expect("the health step's output carries the phases and the cache outcome")
    .unwrap();
    stop_from_page(&w, &c, &base, &id).await;
    c.close().await.unwrap();
    assert_eq!(w.alive().await, 0, "no instance is left running");
}
