//! Retry timing and counters, Catch with ResultPath, States.Runtime never caught, task and
//! heartbeat timeouts, Lambda error causes.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]
mod common;

use common::*;
use preview_statemachine::ExecutionStatus;
use serde_json::{json, Value};

fn task(extra: Value) -> Value {
    let mut t = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "work", "Payload.$": "$"},
        "End": true
    });
    if let (Some(t), Some(e)) = (t.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            t.insert(k.clone(), v.clone());
        }
    }
    t
}

fn sm(t: Value) -> Value {
    if t.get("Next").is_some() {
        json!({"StartAt": "T", "States": {"T": t, "Handler": {"Type": "Pass", "End": true}}})
    } else {
        json!({"StartAt": "T", "States": {"T": t}})
    }
}

#[tokio::test]
async fn retry_backoff_and_max_delay() {
    let env = env(Invoker::new(|_, _, n| {
        if n < 4 {
            Reply::Err("Flaky", "try again")
        } else {
            Reply::Ok(json!("done"))
        }
    }))
    .await;
    let def = json!({"StartAt": "T", "States": {"T": task(json!({"Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 5, "MaxDelaySeconds": 10}]}))}});
    let arn = env.start(&def, &json!({}));
    // Delays: 2, 6, 10 (capped from 18), 10 (capped from 54).
    for (n, delay) in [(1, 2), (2, 6), (3, 10), (4, 10)] {
        env.until_n(&arn, "TaskFailed", n).await;
        env.advance(delay - 1);
        tokio::task::yield_now().await;
        assert_eq!(env.invoker.calls().len(), n, "retry {n} too early");
        env.advance(1);
    }
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    let h = env.history(&arn);
    let sched: Vec<_> = h
        .iter()
        .filter(|e| e.event_type == "TaskScheduled")
        .map(|e| e.timestamp)
        .collect();
    let gaps: Vec<i64> = sched
        .windows(2)
        .map(|w| (w[1] - w[0]).num_seconds())
        .collect();
    assert_eq!(gaps, vec![2, 6, 10, 10]);
    // Retries do not re-enter the state.
    assert_eq!(
        h.iter()
            .filter(|e| e.event_type == "TaskStateEntered")
            .count(),
        1
    );
    let seq = types(&h);
    assert_eq!(
        seq[..8],
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed"
        ]
    );
}

#[tokio::test]
async fn max_attempts_zero_never_retries_and_catch_result_path() {
    let env = env(Invoker::new(|_, _, _| Reply::Err("Boom", "it broke"))).await;
    let t = task(json!({
        "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 0}],
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Handler"}],
        "End": null
    }));
    let mut t = t;
    t.as_object_mut().unwrap().remove("End");
    t["Next"] = json!("Handler");
    let arn = env.start(&sm(t), &json!({"keep": 1}));
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(env.invoker.calls().len(), 1);
    let out = parse(&d.output);
    assert_eq!(out["keep"], 1);
    assert_eq!(out["error"]["Error"], "Boom");
    assert_eq!(
        out["error"]["Cause"],
        "{\"errorType\":\"Boom\",\"errorMessage\":\"it broke\"}"
    );
    let h = env.history(&arn);
    assert_eq!(
        types(&h),
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(h[4].detail_str("error"), Some("Boom"));
    assert_eq!(h[4].detail_str("resource"), Some("invoke"));
}

#[tokio::test]
async fn uncaught_lambda_error_fails_execution_without_exit() {
    let env = env(Invoker::new(|_, _, _| Reply::Err("Boom", "it broke"))).await;
    let mut t = task(json!({"Catch": [{"ErrorEquals": ["Other"], "Next": "Handler"}]}));
    t.as_object_mut().unwrap().remove("End");
    t["Next"] = json!("Handler");
    let arn = env.start(&sm(t), &json!({}));
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("Boom"));
    assert_eq!(
        d.cause.as_deref(),
        Some("{\"errorType\":\"Boom\",\"errorMessage\":\"it broke\"}")
    );
    assert_eq!(
        types(&env.history(&arn)),
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "ExecutionFailed"
        ]
    );
}

#[tokio::test]
async fn states_all_catch_default_result_path_replaces_input() {
    let env = env(Invoker::new(|_, _, _| Reply::Err("Boom", "x"))).await;
    let mut t = task(json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]}));
    t.as_object_mut().unwrap().remove("End");
    t["Next"] = json!("Handler");
    let arn = env.start(&sm(t), &json!({"gone": true}));
    let out = parse(&env.done(&arn).await.output);
    assert_eq!(
        out,
        json!({"Error": "Boom", "Cause": "{\"errorType\":\"Boom\",\"errorMessage\":\"x\"}"})
    );
}

#[tokio::test]
async fn runtime_errors_are_not_retried_or_caught() {
    let env = env(Invoker::echo()).await;
    let mut t = task(json!({
        "ResultSelector": {"x.$": "$.Payload.missing"},
        "Retry": [{"ErrorEquals": ["States.ALL"]}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]
    }));
    t.as_object_mut().unwrap().remove("End");
    t["Next"] = json!("Handler");
    let arn = env.start(&sm(t), &json!({}));
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.Runtime"));
    assert_eq!(env.invoker.calls().len(), 1);
}

#[tokio::test]
async fn task_timeout_seconds_and_path() {
    for extra in [
        json!({"TimeoutSeconds": 30}),
        json!({"TimeoutSecondsPath": "$.limit"}),
    ] {
        let env = env(Invoker::new(|_, _, _| Reply::Hang)).await;
        let arn = env.start(&sm(task(extra)), &json!({"limit": 30}));
        env.until(&arn, "TaskStarted").await;
        env.advance(29);
        tokio::task::yield_now().await;
        assert_eq!(
            env.engine.describe_execution(&arn).unwrap().status,
            ExecutionStatus::Running
        );
        env.advance(1);
        let d = env.done(&arn).await;
        assert_eq!(d.error.as_deref(), Some("States.Timeout"));
        assert_eq!(d.cause, None);
        let h = env.history(&arn);
        assert_eq!(
            types(&h),
            vec![
                "ExecutionStarted",
                "TaskStateEntered",
                "TaskScheduled",
                "TaskStarted",
                "TaskTimedOut",
                "ExecutionFailed"
            ]
        );
        assert_eq!(h[2].details["timeoutInSeconds"], 30);
        assert_eq!(h[4].detail_str("error"), Some("States.Timeout"));
        assert!(h[4].details.get("cause").is_none());
    }
}

#[tokio::test]
async fn bad_timeout_seconds_path_fails_at_entry() {
    let env = env(Invoker::echo()).await;
    let arn = env.start(
        &sm(task(
            json!({"TimeoutSecondsPath": "$.NoSuchTimeoutSecondsPath"}),
        )),
        &json!({"int-literal": 0}),
    );
    let d = env.done(&arn).await;
    assert_eq!(
        d.cause.as_deref(),
        Some("An error occurred while executing the state 'T' (entered at the event id #2). Invalid path '$.NoSuchTimeoutSecondsPath' : No results for path: $['NoSuchTimeoutSecondsPath']")
    );
    assert_eq!(
        types(&env.history(&arn)),
        vec!["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    );
    assert!(env.invoker.calls().is_empty());
}

#[tokio::test]
async fn timeout_is_retried_only_when_named() {
    let env = env(Invoker::new(|_, _, n| {
        if n == 0 {
            Reply::Hang
        } else {
            Reply::Ok(json!(1))
        }
    }))
    .await;
    let t = task(json!({"TimeoutSeconds": 5, "Retry": [
        {"ErrorEquals": ["States.TaskFailed"], "MaxAttempts": 5},
        {"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 1}
    ]}));
    let arn = env.start(&sm(t), &json!({}));
    env.until(&arn, "TaskStarted").await;
    env.advance(5);
    env.until(&arn, "TaskTimedOut").await;
    env.advance(1);
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(env.invoker.calls().len(), 2);
}
