//! The real `preview.asl.json` on the local engine with the real steps against moto. Every test
//! ends with no instance of its stack left running.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

use chrono::{Duration, Utc};
use preview_e2e::{states_entered, Fault, Harness};
use preview_statemachine::ExecutionStatus;
use serde_json::{json, Value};

fn output(d: &preview_statemachine::ExecutionDescription) -> Value {
    serde_json::from_str(d.output.as_deref().unwrap_or("null")).unwrap()
}

#[tokio::test]
async fn ready_then_one_extend_then_the_ttl_ends_it() {
    let h = Harness::new(3, &[], |_| {}).await;
    let (arn, id) = h.start(9876);
    h.parked(&arn, 1).await;
    assert_eq!(h.alive().await, 1);
    h.callback(&id, json!({"action": "extend", "minutes": 60, "by": "bob"}))
        .await;
    h.parked(&arn, 2).await;
    let done = h.run_to_end(&arn, Duration::minutes(10)).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let out = output(&done);
    assert_eq!(out["outcome"], "expired");
    assert!(out["ui_url"].as_str().unwrap().starts_with("http://"));
    assert!(
        out["ready_at"].is_string()
            && out["launched_at"].is_string()
            && out["ended_at"].is_string()
    );
    assert_eq!(h.alive().await, 0);

    let history = h.history(&arn);
    let entered = states_entered(&history);
    assert_eq!(
        entered,
        [
            "CheckCapacity",
            "Launch",
            "CheckHealth",
            "IsHealthy",
            "RecordUrl",
            "AnnounceReady",
            "AwaitExpiry",
            "OnCallback",
            "Extend",
            "AnnounceReady",
            "AwaitExpiry",
            "Terminate",
            "Ended"
        ]
    );
    // The PR-status function is queued (InvocationType Event): Lambda's 202, nothing awaited.
    // No such function runs in this harness, and the preview went on all the same.
    let queued = history
        .iter()
        .filter(|e| e.event_type == "TaskSucceeded")
        .filter(|e| {
            e.details["output"]
                .as_str()
                .is_some_and(|o| o.contains("\"StatusCode\":202"))
        })
        .count();
    assert_eq!(queued, 2, "AnnounceReady after RecordUrl and after Extend");
    let timed_out = history
        .iter()
        .filter(|e| e.event_type == "TaskTimedOut")
        .count();
    assert_eq!(timed_out, 1, "the TTL ends the second wait");
    let extended_by_bob = history.iter().any(|e| {
        e.event_type == "TaskSucceeded"
            && e.details
                .get("output")
                .and_then(|o| o.as_str())
                .is_some_and(|o| o.contains("bob"))
    });
    assert!(extended_by_bob, "the audit log names who extended");
}

#[tokio::test]
async fn stop_while_waiting_ends_it_at_once() {
    let h = Harness::new(3, &[], |_| {}).await;
    let (arn, id) = h.start(1);
    h.parked(&arn, 1).await;
    h.callback(&id, json!({"action": "stop", "by": "carol"}))
        .await;
    let done = h.engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(output(&done)["outcome"], "stopped");
    assert_eq!(output(&done)["detail"], "stopped by carol");
    assert_eq!(h.alive().await, 0);
}

#[tokio::test]
async fn stop_during_the_health_loop_is_cleaned_up_by_the_reaper() {
    let h = Harness::new(3, &[Fault::NeverReady], |_| {}).await;
    let (arn, _) = h.start(2);
    h.engine
        .wait_for(&arn, |e| {
            states_entered(e)
                .iter()
                .filter(|s| *s == "CheckHealth")
                .count()
                >= 2
        })
        .await
        .unwrap();
    h.engine
        .stop_execution(&arn, Some("Stopped"), Some("by an operator"))
        .await
        .unwrap();
    assert_eq!(
        h.engine.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Aborted
    );
    // Like AWS, StopExecution runs no cleanup states: the reaper is what ends the instance.
    assert_eq!(h.alive().await, 1);
    let report = preview_tasks::steps::reaper::reap(&h.ctx, Utc::now() + Duration::minutes(20))
        .await
        .unwrap();
    assert!(report.reaped[0].why.contains("ABORTED"), "{report:?}");
    assert_eq!(h.alive().await, 0);
}

#[tokio::test]
async fn health_that_never_passes_terminates_and_fails_with_the_cause() {
    let h = Harness::new(3, &[Fault::NeverReady], |c| c.health_deadline_minutes = 0).await;
    let (arn, _) = h.start(3);
    let done = h.engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("HealthCheckFailed"));
    let cause = done.cause.unwrap_or_default();
    assert!(
        cause.contains("not healthy") && cause.contains("building-backend"),
        "{cause}"
    );
    assert!(states_entered(&h.history(&arn)).contains(&"CleanUpAfterFailure".to_string()));
    assert_eq!(h.alive().await, 0);
}

#[tokio::test]
async fn no_free_slot_fails_without_launching() {
    let h = Harness::new(1, &[], |_| {}).await;
    let (first, first_id) = h.start(10);
    h.parked(&first, 1).await;
    let (second, _) = h.start(11);
    let done = h.engine.wait_for_completion(&second).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("NoFreeSlot"));
    assert!(done
        .cause
        .unwrap_or_default()
        .contains("all 1 slots are in use"));
    assert_eq!(
        states_entered(&h.history(&second)),
        ["CheckCapacity", "ReleaseSlot", "Failed"],
        "refused: nothing launched, and the release holds nothing to give back"
    );
    assert_eq!(h.alive().await, 1, "only the first preview has an instance");
    h.callback(&first_id, json!({"action": "stop", "by": "x"}))
        .await;
    h.engine.wait_for_completion(&first).await.unwrap();
    assert_eq!(h.alive().await, 0);
}

#[tokio::test]
async fn a_bad_request_fails_before_anything_exists() {
    let h = Harness::new(3, &[], |_| {}).await;
    let input = json!({"preview_id": "dsp-b0-202611281930-0000", "request": {"sources": [{"repo": "DSpace/DSpace", "pr": 0}], "requester": "x"}});
    let (arn, _) = h
        .engine
        .start_execution(
            &h.state_machine,
            Some("dsp-b0-202611281930-0000"),
            Some(&input.to_string()),
        )
        .unwrap();
    let done = h.engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.error.as_deref(), Some("InvalidRequest"));
    assert!(done
        .cause
        .unwrap_or_default()
        .contains("PR numbers start at 1"));
    assert_eq!(h.alive().await, 0);
}

#[tokio::test]
async fn a_launch_that_keeps_failing_is_retried_then_fails_cleanly() {
    let h = Harness::new(3, &[Fault::LaunchThrottled], |_| {}).await;
    let (arn, _) = h.start(4);
    let done = h.run_to_end(&arn, Duration::seconds(30)).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("Throttled"));
    let history = h.history(&arn);
    let launch_failures = history
        .iter()
        .filter(|e| e.event_type == "LambdaFunctionFailed")
        .count();
    assert_eq!(
        launch_failures, 9,
        "one try and eight retries (over two minutes of errors)"
    );
    assert!(states_entered(&history)
        .ends_with(&["CleanUpAfterFailure".to_string(), "Failed".to_string()]));
    assert_eq!(h.alive().await, 0);
    let slots = preview_tasks::slots::held(&h.ctx.clients.ssm, &h.ctx.base.names())
        .await
        .unwrap();
    assert!(slots.is_empty(), "the slot is released");
}

#[tokio::test]
async fn a_restarted_engine_resumes_the_preview() {
    let mut h = Harness::new(3, &[], |_| {}).await;
    let (arn, id) = h.start(5);
    h.parked(&arn, 1).await;
    h.restart(&[]).await;
    h.callback(
        &id,
        json!({"action": "extend", "minutes": 30, "by": "dave"}),
    )
    .await;
    h.parked(&arn, 2).await;
    h.restart(&[]).await;
    let done = h.run_to_end(&arn, Duration::minutes(10)).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(output(&done)["outcome"], "expired");
    assert_eq!(h.alive().await, 0);
}
