//! `.waitForTaskToken`: callbacks, heartbeats, dead and bogus tokens, StopExecution.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]
mod common;

use common::*;
use preview_statemachine::{Error, ExecutionStatus};
use serde_json::{json, Value};

fn def(extra: Value) -> Value {
    let mut t = json!({
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "${WorkFn}", "Payload": {"token.$": "$$.Task.Token", "in.$": "$"}},
        "ResultPath": "$.answer",
        "End": true
    });
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    json!({"StartAt": "Cb", "States": {"Cb": t}})
}

fn submitted() -> Invoker {
    Invoker::new(|_, _, _| Reply::Ok(json!({"accepted": true})))
}

#[tokio::test]
async fn success_callback_completes_the_task() {
    let env = env(submitted()).await;
    let arn = env.start(&def(json!({})), &json!({"q": 1}));
    let h = env.until(&arn, "TaskSubmitted").await;
    let token = token_from(&h);
    assert_eq!(env.invoker.calls()[0].1["token"], json!(token));
    env.engine
        .send_task_success(&token, "{\"ok\":true}")
        .await
        .unwrap();
    let d = env.done(&arn).await;
    assert_eq!(parse(&d.output), json!({"q": 1, "answer": {"ok": true}}));
    let h = env.history(&arn);
    assert_eq!(
        types(&h),
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(h[2].detail_str("resource"), Some("invoke.waitForTaskToken"));
    let sub: Value = serde_json::from_str(h[4].detail_str("output").unwrap()).unwrap();
    assert_eq!(sub["Payload"], json!({"accepted": true}));
    assert_eq!(h[5].detail_str("output"), Some("{\"ok\":true}"));
    // The token is dead now.
    assert!(matches!(
        env.engine.send_task_success(&token, "{}").await,
        Err(Error::TaskTimedOut)
    ));
}

#[tokio::test]
async fn failure_callback_fails_with_given_error() {
    let env = env(submitted()).await;
    let arn = env.start(&def(json!({})), &json!({}));
    let token = token_from(&env.until(&arn, "TaskSubmitted").await);
    env.engine
        .send_task_failure(&token, Some("Failure error"), Some("Failure cause"))
        .await
        .unwrap();
    let d = env.done(&arn).await;
    assert_eq!(
        (d.error.as_deref(), d.cause.as_deref()),
        (Some("Failure error"), Some("Failure cause"))
    );
    assert_eq!(
        types(&env.history(&arn)),
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSubmitted",
            "TaskFailed",
            "ExecutionFailed"
        ]
    );
}

#[tokio::test]
async fn heartbeat_keeps_the_task_alive_then_times_out() {
    let env = env(submitted()).await;
    let arn = env.start(
        &def(json!({"HeartbeatSeconds": 10, "TimeoutSeconds": 600})),
        &json!({}),
    );
    let h = env.until(&arn, "TaskSubmitted").await;
    assert_eq!(h[2].details["heartbeatInSeconds"], 10);
    assert_eq!(h[2].details["timeoutInSeconds"], 600);
    let token = token_from(&h);
    for _ in 0..3 {
        env.advance(9);
        env.engine.send_task_heartbeat(&token).await.unwrap();
    }
    assert_eq!(
        env.engine.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Running
    );
    // Heartbeats create no events.
    assert_eq!(env.history(&arn).len(), 5);
    env.advance(10);
    let d = env.done(&arn).await;
    assert_eq!(d.error.as_deref(), Some("States.Timeout"));
    let h = env.history(&arn);
    assert_eq!(h[5].event_type, "TaskTimedOut");
    assert!(matches!(
        env.engine.send_task_success(&token, "{}").await,
        Err(Error::TaskTimedOut)
    ));
}

#[tokio::test]
async fn heartbeat_timeout_matches_states_heartbeat_timeout() {
    let env = env(submitted()).await;
    let mut d = def(
        json!({"HeartbeatSeconds": 5, "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "H"}]}),
    );
    d["States"]["Cb"].as_object_mut().unwrap().remove("End");
    d["States"]["Cb"]["Next"] = json!("H");
    d["States"]["H"] = json!({"Type": "Pass", "End": true});
    let arn = env.start(&d, &json!({}));
    env.until(&arn, "TaskSubmitted").await;
    env.advance(5);
    let out = parse(&env.done(&arn).await.output);
    assert_eq!(out, json!({"Error": "States.Timeout"}));
}

#[tokio::test]
async fn token_after_timeout_unknown_and_malformed() {
    let env = env(submitted()).await;
    let arn = env.start(&def(json!({"TimeoutSeconds": 5})), &json!({}));
    let token = token_from(&env.until(&arn, "TaskSubmitted").await);
    env.advance(5);
    env.done(&arn).await;
    assert!(matches!(
        env.engine.send_task_success(&token, "{}").await,
        Err(Error::TaskTimedOut)
    ));
    assert!(matches!(
        env.engine.send_task_heartbeat(&token).await,
        Err(Error::TaskTimedOut)
    ));
    let other = preview_statemachine::token::issue(
        "arn:aws:states:us-east-1:000000000000:execution:sm:nope",
    );
    assert!(matches!(
        env.engine.send_task_success(&other, "{}").await,
        Err(Error::TaskDoesNotExist)
    ));
    assert!(matches!(
        env.engine.send_task_success("garbage!", "{}").await,
        Err(Error::InvalidToken(_))
    ));
}

#[tokio::test]
async fn callback_before_invoke_returns_is_kept() {
    // The function answers the callback itself before returning (what a real handler may do).
    let env = env(Invoker::new(|_, _, _| Reply::Hang)).await;
    let arn = env.start(&def(json!({})), &json!({}));
    let h = env.until(&arn, "TaskStarted").await;
    let token = token_from(&h);
    env.engine
        .send_task_success(&token, "\"early\"")
        .await
        .unwrap();
    tokio::task::yield_now().await;
    assert_eq!(
        env.engine.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Running
    );
    assert_eq!(env.invoker.calls().len(), 1);
}

#[tokio::test]
async fn stop_execution_kills_the_token() {
    let env = env(submitted()).await;
    let arn = env.start(&def(json!({})), &json!({}));
    let token = token_from(&env.until(&arn, "TaskSubmitted").await);
    env.engine.stop_execution(&arn, None, None).await.unwrap();
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Aborted);
    assert!(matches!(
        env.engine.send_task_success(&token, "{}").await,
        Err(Error::TaskTimedOut)
    ));
    assert_eq!(
        env.history(&arn).last().unwrap().event_type,
        "ExecutionAborted"
    );
}
