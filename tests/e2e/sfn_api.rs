//! aws-sdk-sfn, unchanged, against the engine's served API running our workflow.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use chrono::{Duration, Utc};
use preview_e2e::{backend_pr, Harness};
use preview_local::preview::sfn_client;

#[tokio::test]
async fn start_list_history_callback_and_stop_through_the_sdk() {
    let h = Harness::new(3, &[], |_| {}).await;
    let sfn = sfn_client(&h.sfn_endpoint).await;
    let id = "dsp-b77-202611281930-0077";
    let input = serde_json::json!({"preview_id": id, "request": backend_pr(77)}).to_string();
    let started = sfn
        .start_execution()
        .state_machine_arn(&h.state_machine)
        .name(id)
        .input(&input)
        .send()
        .await
        .unwrap();
    let arn = started.execution_arn().to_string();
    let again = sfn
        .start_execution()
        .state_machine_arn(&h.state_machine)
        .name(id)
        .input(&input)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.execution_arn(),
        arn,
        "StartExecution is idempotent by name and input"
    );
    h.parked(&arn, 1).await;

    let running = sfn
        .list_executions()
        .state_machine_arn(&h.state_machine)
        .status_filter(ExecutionStatus::Running)
        .send()
        .await
        .unwrap();
    assert!(running
        .executions()
        .iter()
        .any(|e| e.execution_arn() == arn));

    let history = sfn
        .get_execution_history()
        .execution_arn(&arn)
        .reverse_order(true)
        .max_results(5)
        .send()
        .await
        .unwrap();
    assert_eq!(
        history.events()[0].r#type(),
        &HistoryEventType::TaskSubmitted,
        "newest first"
    );
    assert!(history.next_token().is_some());

    let token = h
        .token(&preview_tasks::domain::preview_id::PreviewId::parse(id).unwrap())
        .await;
    sfn.send_task_success()
        .task_token(&token)
        .output(r#"{"action":"stop","by":"sdk"}"#)
        .send()
        .await
        .unwrap();
    h.engine.wait_for_completion(&arn).await.unwrap();
    let described = sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.status(), &ExecutionStatus::Succeeded);
    assert!(described.output().unwrap().contains("stopped by sdk"));
    let err = sfn
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.into_service_error().meta().code(),
        Some("TaskTimedOut"),
        "a used token is dead"
    );

    let other = "dsp-b78-202611281930-0078";
    let input = serde_json::json!({"preview_id": other, "request": backend_pr(78)}).to_string();
    let arn2 = sfn
        .start_execution()
        .state_machine_arn(&h.state_machine)
        .name(other)
        .input(&input)
        .send()
        .await
        .unwrap()
        .execution_arn()
        .to_string();
    h.parked(&arn2, 1).await;
    sfn.stop_execution()
        .execution_arn(&arn2)
        .cause("operator")
        .send()
        .await
        .unwrap();
    let d = sfn
        .describe_execution()
        .execution_arn(&arn2)
        .send()
        .await
        .unwrap();
    assert_eq!(d.status(), &ExecutionStatus::Aborted);
    preview_tasks::steps::reaper::reap(&h.ctx, Utc::now() + Duration::minutes(20))
        .await
        .unwrap();
    assert_eq!(h.alive().await, 0);
}
