//! The GitHub webhook against the local engine and moto: signed `/preview` comments start and
//! stop previews; unsigned, forged, replayed, unallowed, issue and malformed ones do nothing.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{pr_status_world, pr_status_world_full, world, World, PUBLIC_URL, WEBHOOK_SECRET};
use preview_tasks::domain::request::ExecutionInput;
use preview_web::webhook::signature;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

/// How a test delivery is signed.
enum Sig {
    /// With the webhook's secret.
    Good,
    /// With another secret.
    Forged,
    /// Not at all.
    Missing,
}

/// The `X-GitHub-Event` of a fixture: `pr_*` files are `pull_request` deliveries.
fn event_of(name: &str) -> &'static str {
    if name.starts_with("pr_") {
        "pull_request"
    } else {
        "issue_comment"
    }
}

/// A recorded payload from `fixtures/github/webhooks`.
fn payload(name: &str) -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/github/webhooks")
        .join(name);
    std::fs::read(&path).unwrap()
}

impl World {
    /// Delivers the fixture `name` as GitHub would; returns the status and the answer's text.
    async fn deliver(&self, name: &str, delivery: &str, sig: Sig) -> (StatusCode, String) {
        let body = payload(name);
        let mut req = Request::post("/github/webhook")
            .header("content-type", "application/json")
            .header("x-github-event", event_of(name))
            .header("x-github-delivery", delivery)
            .header("user-agent", "GitHub-Hookshot/044aadd");
        match sig {
            Sig::Good => {
                req = req.header(
                    signature::HEADER,
                    signature::sign(WEBHOOK_SECRET.as_bytes(), &body),
                )
            }
            Sig::Forged => req = req.header(signature::HEADER, signature::sign(b"guessed", &body)),
            Sig::Missing => {}
        }
        let response = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// Delivers the fixture `name`, signed, and expects it acted on; returns the answer's text.
    async fn acted_on(&self, name: &str, delivery: &str) -> String {
        let (status, text) = self.deliver(name, delivery, Sig::Good).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{name}: {text}");
        text
    }

    /// The execution inputs of every preview started so far.
    async fn inputs(&self) -> Vec<ExecutionInput> {
        let sfn = &self.aws.sfn;
        let listed = sfn
            .list_executions()
            .state_machine_arn(&self.state.state_machine_arn)
            .send()
            .await
            .unwrap();
        let mut inputs = Vec::new();
        for ex in listed.executions() {
            let described = sfn
                .describe_execution()
                .execution_arn(ex.execution_arn())
                .send()
                .await
                .unwrap();
            inputs.push(serde_json::from_str(described.input().unwrap()).unwrap());
        }
        inputs
    }
}

/// The preview id in a "started preview …" answer.
fn started_id(text: &str) -> String {
    text.strip_prefix("started preview ")
        .unwrap_or_else(|| panic!("not started: {text}"))
        .to_string()
}

#[tokio::test]
async fn a_signed_preview_comment_starts_a_preview_and_stop_stops_it() {
    let w = world().await;
    let text = w
        .acted_on("preview_on_pr.json", "11111111-aaaa-4bbb-8ccc-000000000001")
        .await;
    let id = started_id(&text);
    let inputs = w.inputs().await;
    assert_eq!(inputs.len(), 1);
    let input = &inputs[0];
    assert_eq!(input.preview_id.as_str(), id);
    assert_eq!(input.request.requester, "alice");
    assert_eq!(input.request.ttl_minutes, Some(60));
    assert_eq!(input.request.sources.len(), 1);
    assert_eq!(input.request.sources[0].repo, "DSpace/DSpace");
    assert_eq!(input.request.sources[0].pr, Some(9876));
    // The PR was checked on GitHub as the form's launches are.
    assert_eq!(input.request.sources[0].base.as_deref(), Some("main"));

    w.submitted(&id, 1).await;
    let text = w
        .acted_on("stop_on_pr.json", "11111111-aaaa-4bbb-8ccc-000000000002")
        .await;
    assert!(text.contains(&id), "{text}");
    w.ended(&id).await;
    let arn = w.state.execution_arn(&id);
    let history = w.engine.history(&arn).unwrap();
    // The stop is the callback AwaitExpiry's task succeeded with.
    let stopped_by_alice = history.iter().any(|e| {
        e.event_type == "TaskSucceeded"
            && e.details["output"]
                .as_str()
                .and_then(|o| serde_json::from_str::<serde_json::Value>(o).ok())
                .is_some_and(|o| o["action"] == "stop" && o["by"] == "alice")
    });
    assert!(stopped_by_alice, "{history:?}");
    assert_eq!(w.executions().await, 1, "a stop starts nothing");
}

#[tokio::test]
async fn bad_or_missing_signatures_are_401_and_do_nothing() {
    let w = world().await;
    for (sig, delivery) in [
        (Sig::Forged, "22222222-aaaa-4bbb-8ccc-000000000001"),
        (Sig::Missing, "22222222-aaaa-4bbb-8ccc-000000000002"),
    ] {
        let calls = w.calls.count();
        let (status, text) = w.deliver("preview_on_pr.json", delivery, sig).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
        assert_eq!(
            w.calls.count(),
            calls,
            "no AWS call for an unsigned delivery"
        );
    }
    assert!(w.github_log.hits().is_empty(), "no GitHub call either");
    assert_eq!(w.executions().await, 0);
    // Nothing was recorded either: the same delivery, signed, is acted on.
    w.acted_on("preview_on_pr.json", "22222222-aaaa-4bbb-8ccc-000000000001")
        .await;
}

#[tokio::test]
async fn a_replayed_delivery_starts_nothing_the_second_time() {
    let w = world().await;
    let delivery = "33333333-aaaa-4bbb-8ccc-000000000001";
    w.acted_on("preview_on_pr.json", delivery).await;
    let (status, text) = w.deliver("preview_on_pr.json", delivery, Sig::Good).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("handled"), "{text}");
    assert_eq!(w.executions().await, 1);
}

#[tokio::test]
async fn strangers_issues_and_malformed_commands_start_nothing() {
    let w = world().await;
    for (fixture, says) in [
        ("preview_by_stranger.json", "not allowed"),
        ("preview_on_issue.json", "not a new comment on a PR"),
        ("preview_bad_ttl.json", "`ttl=abc` is not a whole number"),
    ] {
        let calls = w.calls.count();
        let (status, text) = w
            .deliver(fixture, "44444444-aaaa-4bbb-8ccc-000000000001", Sig::Good)
            .await;
        assert_eq!(status, StatusCode::OK, "{fixture}: {text}");
        assert!(text.contains(says), "{fixture}: {text}");
        assert_eq!(w.calls.count(), calls, "{fixture}: no AWS call");
    }
    // Only the stranger cost GitHub calls: their permission on the DSpace repositories.
    let hits = w.github_log.hits();
    assert!(!hits.is_empty());
    assert!(
        hits.iter()
            .all(|h| h.method == "GET" && h.path.contains("/collaborators/mallory/permission")),
        "{hits:?}"
    );
    assert_eq!(w.executions().await, 0);
}

#[tokio::test]
async fn without_a_secret_there_is_no_webhook() {
    let w = world().await;
    let mut settings = w.settings();
    settings.webhook = None;
    let app = preview_web::router(preview_web::AppState::new(settings));
    let body = payload("preview_on_pr.json");
    let req = Request::post("/github/webhook")
        .header("x-github-event", "issue_comment")
        .header("x-github-delivery", "55555555-aaaa-4bbb-8ccc-000000000001")
        .header(
            signature::HEADER,
            signature::sign(WEBHOOK_SECRET.as_bytes(), &body),
        )
        .body(Body::from(body))
        .unwrap();
    let response = app.oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(w.executions().await, 0);
}

#[tokio::test]
async fn extend_reaches_the_prs_live_preview() {
    let w = world().await;
    let text = w
        .acted_on("preview_on_pr.json", "66666666-aaaa-4bbb-8ccc-000000000001")
        .await;
    let id = started_id(&text);
    w.submitted(&id, 1).await;
    let text = w
        .acted_on("extend_on_pr.json", "66666666-aaaa-4bbb-8ccc-000000000002")
        .await;
    assert_eq!(text, format!("preview {id} done"));
    w.submitted(&id, 2).await;
    let preview = preview_tasks::domain::preview_id::PreviewId::parse(&id).unwrap();
    let extends = preview_web::workflow::extends_recorded(&w.state, &preview)
        .await
        .unwrap();
    assert_eq!(extends, 1);
}

#[tokio::test]
async fn a_ui_pr_is_paired_only_when_the_comment_says_with() {
    let w = world().await;
    let (status, text) = w
        .deliver(
            "preview_ui_alone.json",
            "77777777-aaaa-4bbb-8ccc-000000000001",
            Sig::Good,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(
        text.contains("/preview with DSpace/DSpace#9876"),
        "the required backend PR is suggested: {text}"
    );
    assert_eq!(w.executions().await, 0);

    w.acted_on(
        "preview_ui_with_backend.json",
        "77777777-aaaa-4bbb-8ccc-000000000002",
    )
    .await;
    let inputs = w.inputs().await;
    assert_eq!(inputs.len(), 1);
    let prs: Vec<(&str, Option<u64>)> = inputs[0]
        .request
        .sources
        .iter()
        .map(|s| (s.repo.as_str(), s.pr))
        .collect();
    assert_eq!(
        prs,
        [
            ("DSpace/dspace-angular", Some(4321)),
            ("DSpace/DSpace", Some(9876))
        ]
    );
}

#[tokio::test]
async fn delivery_records_older_than_githubs_redelivery_window_are_deleted() {
    let w = world().await;
    let root = w.state.ctx.base.names().parameter_root();
    let old = format!("{root}/webhook-deliveries/88888888-aaaa-4bbb-8ccc-000000000001");
    let recent = format!("{root}/webhook-deliveries/88888888-aaaa-4bbb-8ccc-000000000002");
    let four_days_ago = chrono::Utc::now() - chrono::Duration::days(4);
    for (name, at) in [(&old, four_days_ago), (&recent, chrono::Utc::now())] {
        w.aws
            .ssm
            .put_parameter()
            .name(name)
            .value(at.to_rfc3339())
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
    }
    w.acted_on("preview_on_pr.json", "88888888-aaaa-4bbb-8ccc-000000000003")
        .await;
    let left =
        preview_tasks::parameters::names_under(&w.aws.ssm, &format!("{root}/webhook-deliveries/"))
            .await
            .unwrap();
    assert!(!left.contains(&old), "{left:?}");
    assert!(left.contains(&recent), "{left:?}");
    assert_eq!(left.len(), 2, "{left:?}");
}

/// A health step that reports building until `done`, then healthy.
fn gated(ctx: &preview_tasks::Ctx, done: Arc<AtomicBool>) -> preview_tasks::Ctx {
    use preview_local::reporting_instance::{self, HealthAnswer};
    reporting_instance::ctx(ctx, move || {
        let (exit_code, status, phase) = if done.load(Ordering::SeqCst) {
            (0, "healthy", "ready")
        } else {
            (75, "pending", "building-backend")
        };
        HealthAnswer {
            exit_code,
            stdout:
                serde_json::json!({"status": status, "phase": phase, "passed": [], "detail": ""})
                    .to_string(),
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pr_gets_one_comment_and_a_deployment_that_follow_the_preview_to_its_end() {
    let done = Arc::new(AtomicBool::new(false));
    let health = done.clone();
    let w = pr_status_world_full(move |ctx| Some(gated(ctx, health))).await;
    let id = started_id(
        &w.acted_on("preview_on_pr.json", "66666666-aaaa-4bbb-8ccc-000000000001")
            .await,
    );
    let page = format!("{PUBLIC_URL}/previews/{id}");

    let building = w.comment_saying("DSpace/DSpace", 9876, "Building").await;
    assert_eq!(building.len(), 1);
    let body = building[0]["body"].as_str().unwrap();
    assert!(
        body.contains(&id) && body.contains(&page) && body.contains("@alice"),
        "{body}"
    );
    assert!(
        !body.contains("/l/"),
        "no extend or stop links before it is ready: {body}"
    );

    done.store(true, Ordering::SeqCst);
    let ready = w.comment_saying("DSpace/DSpace", 9876, "Ready").await;
    assert_eq!(ready.len(), 1, "the comment is edited in place");
    let body = ready[0]["body"].as_str().unwrap();
    let detail = preview_web::workflow::detail(
        &w.state,
        &preview_tasks::domain::preview_id::PreviewId::parse(&id).unwrap(),
    )
    .await
    .unwrap();
    let urls = preview_web::audit::urls(&detail.events);
    let ui = &urls[0].1;
    assert!(
        body.contains(ui.as_str()) && body.contains(&urls[1].1),
        "{body}"
    );
    assert!(
        body.contains(&format!("{PUBLIC_URL}/l/{id}.stop.")),
        "{body}"
    );
    assert!(!body.to_lowercase().contains("password:"), "{body}");
    let states = w.deployment_states("DSpace/DSpace", &id);
    assert_eq!(
        states.first().map(|s| s.0.as_str()),
        Some("in_progress"),
        "{states:?}"
    );
    assert_eq!(
        states.last(),
        Some(&("success".to_string(), Some(ui.clone()))),
        "{states:?}"
    );
    // The deployment is of the PR's head commit.
    let (deployment, _) = &w.github_log.deployments("DSpace/DSpace")[0];
    assert_eq!(
        deployment["sha"],
        "1a46470cd50084fb3dbf41af5a75bee2edafd3f2"
    );

    w.submitted(&id, 1).await;
    let text = w
        .acted_on("pr_closed.json", "66666666-aaaa-4bbb-8ccc-000000000002")
        .await;
    assert!(text.contains(&id), "{text}");
    w.ended(&id).await;
    let ended = w.comment_saying("DSpace/DSpace", 9876, "Ended").await;
    assert_eq!(ended.len(), 1);
    assert!(
        ended[0]["body"]
            .as_str()
            .unwrap()
            .contains("contributor-cat"),
        "{ended:?}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while w
        .deployment_states("DSpace/DSpace", &id)
        .last()
        .map(|s| s.0.clone())
        != Some("inactive".into())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            w.deployment_states("DSpace/DSpace", &id)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(w.alive().await, 0, "closing the PR terminated the instance");
}

#[tokio::test]
async fn the_preview_label_starts_a_preview_and_its_removal_stops_it() {
    let w = world().await;
    let (status, text) = w
        .deliver(
            "pr_labeled_other.json",
            "77777777-aaaa-4bbb-8ccc-000000000001",
            Sig::Good,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("ignored"), "{text}");
    assert_eq!(w.executions().await, 0);

    let id = started_id(
        &w.acted_on(
            "pr_labeled_preview.json",
            "77777777-aaaa-4bbb-8ccc-000000000002",
        )
        .await,
    );
    let inputs = w.inputs().await;
    assert_eq!(inputs[0].request.requester, "alice");
    assert_eq!(inputs[0].request.sources[0].pr, Some(9876));
    w.submitted(&id, 1).await;
    let text = w
        .acted_on(
            "pr_unlabeled_preview.json",
            "77777777-aaaa-4bbb-8ccc-000000000003",
        )
        .await;
    assert!(text.contains(&id) && text.contains("done"), "{text}");
    w.ended(&id).await;
    assert_eq!(w.alive().await, 0);
}

#[tokio::test]
async fn a_push_replaces_the_live_preview_with_the_new_head_keeping_its_time() {
    let w = world().await;
    let first = started_id(
        &w.acted_on("preview_on_pr.json", "88888888-aaaa-4bbb-8ccc-000000000001")
            .await,
    );
    w.submitted(&first, 1).await;
    let text = w
        .acted_on(
            "pr_synchronize.json",
            "88888888-aaaa-4bbb-8ccc-000000000002",
        )
        .await;
    assert!(
        text.contains(&first) && text.contains("started preview"),
        "{text}"
    );
    w.ended(&first).await;
    let inputs = w.inputs().await;
    assert_eq!(inputs.len(), 2, "{inputs:?}");
    let second = inputs
        .iter()
        .find(|i| i.preview_id.as_str() != first)
        .unwrap();
    assert_eq!(
        second.request.requester, "alice",
        "the requester stays the requester"
    );
    assert_eq!(second.request.sources[0].pr, Some(9876));
    let ttl = second.request.ttl_minutes.unwrap();
    assert!(
        (55..=60).contains(&ttl),
        "the remaining time of 60 minutes: {ttl}"
    );
}

#[tokio::test]
async fn statuses_are_off_without_a_public_url_and_a_token() {
    let w = world().await;
    let id = started_id(
        &w.acted_on("preview_on_pr.json", "99999999-aaaa-4bbb-8ccc-000000000001")
            .await,
    );
    w.submitted(&id, 1).await;
    assert!(w.github_log.sent("POST", "/repos/").is_empty());
    assert!(w.github_log.comments("DSpace/DSpace", 9876).is_empty());
}

#[tokio::test]
async fn a_stranger_gets_a_polite_reply_on_the_pr_and_nothing_starts() {
    let w = pr_status_world().await;
    let (status, text) = w
        .deliver(
            "preview_by_stranger.json",
            "aaaaaaaa-aaaa-4bbb-8ccc-000000000001",
            Sig::Good,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let replies = w.comment_saying("DSpace/DSpace", 9876, "@mallory").await;
    assert_eq!(replies.len(), 1);
    let body = replies[0]["body"].as_str().unwrap();
    assert!(body.contains("thanks for asking"), "{body}");
    assert!(
        !body.contains(preview_web::pr_status::render::MARKER),
        "a reply, not the status"
    );
    assert_eq!(w.executions().await, 0);
}
