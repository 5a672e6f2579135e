//! The live-previews page on the local engine: server time and AWS calls per page with 3 live
//! previews and 1,000 past executions, against the same page with none. Prints figures; the
//! target (≤ 100 ms, a constant number of AWS calls) is read off them, never asserted on time.
//!
//! Run with `cargo xtask bench` (it starts moto), or with `PREVIEW_VENV` set.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::header::COOKIE;
use axum::http::{Request, StatusCode};
use axum::Router;
use chrono::Utc;
use common::Calls;
use preview_web::auth;
use tower::ServiceExt;

const PAST: usize = 1_000;
const LIVE: usize = 3;
const SAMPLES: usize = 30;

/// Server time of GET / (median, p95) and AWS calls per page.
async fn measure(app: &Router, calls: &Calls, cookie: &str) -> (Duration, Duration, usize) {
    let get = || async {
        let req = Request::get("/")
            .header(COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        let started = Instant::now();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        axum::body::to_bytes(res.into_body(), 1 << 24)
            .await
            .unwrap();
        started.elapsed()
    };
    get().await; // warms connections and the GitHub cache
    calls.0.store(0, Ordering::SeqCst);
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        times.push(get().await);
    }
    let per_page = calls.0.load(Ordering::SeqCst) / SAMPLES;
    times.sort();
    (times[SAMPLES / 2], times[SAMPLES * 95 / 100], per_page)
}

async fn seed_past(w: &common::World) {
    let started = Instant::now();
    let mut arns = Vec::with_capacity(PAST);
    for i in 0..PAST {
        // An empty request: CheckCapacity refuses it before any AWS call and the execution fails.
        let id = format!("dsp-b{}-202611280000-{:04x}", i + 1, i);
        let input = serde_json::json!({"preview_id": id, "request": {"sources": []}}).to_string();
        let (arn, _) = w
            .engine
            .start_execution(&w.state.state_machine_arn, Some(&id), Some(&input))
            .unwrap();
        arns.push(arn);
    }
    for arn in &arns {
        w.engine.wait_for_completion(arn).await.unwrap();
    }
    eprintln!(
        "seeded {PAST} finished executions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

async fn start_live(w: &common::World) {
    for i in 0..LIVE {
        let id = format!("dsp-b{}-202611281200-{:04x}", 9876 + i, i);
        let request = serde_json::json!({
            "sources": [{"repo": "DSpace/DSpace", "pr": 9876 + i}],
            "requester": format!("tester{i}"),
        });
        let input = serde_json::json!({"preview_id": id, "request": request}).to_string();
        w.engine
            .start_execution(&w.state.state_machine_arn, Some(&id), Some(&input))
            .unwrap();
        w.submitted(&id, 1).await;
    }
}

/// Stops the live previews the way the page does, so no instance is left running.
async fn stop_live(w: &common::World) {
    let names = w.state.ctx.base.names();
    for i in 0..LIVE {
        let id = format!("dsp-b{}-202611281200-{:04x}", 9876 + i, i);
        let parsed = preview_tasks::domain::preview_id::PreviewId::parse(&id).unwrap();
        let token = preview_tasks::steps::await_expiry::stored_token(
            &w.state.ctx.clients.ssm,
            &names,
            &parsed,
        )
        .await
        .unwrap()
        .expect("a waiting preview");
        let stop = serde_json::json!({"action": "stop", "by": "bench"}).to_string();
        w.engine.send_task_success(&token, &stop).await.unwrap();
        w.engine
            .wait_for_completion(&w.state.execution_arn(&id))
            .await
            .unwrap();
    }
    assert_eq!(w.alive().await, 0, "no instance is left running");
}

fn report(label: &str, (median, p95, calls): (Duration, Duration, usize)) {
    println!(
        "{label:<34} median {:>6.1} ms   p95 {:>6.1} ms   AWS calls per page {calls}",
        median.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3,
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let w = common::world().await;
        let (app, calls) = (w.app.clone(), w.calls.clone());
        let keys =
            preview_web::secrets::Keys::new(&common::SIGNING_KEY, common::ACCESS_CODE).unwrap();
        let session = auth::session_value(&keys, "bench", Utc::now() + chrono::Duration::hours(1));
        let cookie = format!("{}={session}", auth::SESSION_COOKIE);

        println!("GET / (the live-previews page), {SAMPLES} samples each, local engine + moto:");
        report("empty", measure(&app, &calls, &cookie).await);
        start_live(&w).await;
        report(
            &format!("{LIVE} live"),
            measure(&app, &calls, &cookie).await,
        );
        seed_past(&w).await;
        let page = app
            .clone()
            .oneshot(
                Request::get("/")
                    .header(COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let html = axum::body::to_bytes(page.into_body(), 1 << 24)
            .await
            .unwrap();
        let html = String::from_utf8_lossy(&html);
        let past_rows = html.matches("</td><td>failed</td>").count();
        let live_cards = html.matches(r#"<article class="card""#).count();
        assert_eq!(
            (live_cards, past_rows),
            (LIVE, preview_web::workflow::PAST_SHOWN)
        );
        report(
            &format!("{LIVE} live + {PAST} past executions"),
            measure(&app, &calls, &cookie).await,
        );
        println!("target: <= 100 ms server time, the same number of AWS calls in every row");
        stop_live(&w).await;
    });
}
