//! A new engine over the same directory resumes running executions.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]
mod common;

use common::*;
use preview_statemachine::{Engine, Error, ExecutionStatus};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

async fn reopen(env: &Env, invoker: Invoker) -> Env {
    env.engine.halt();
    let engine = Engine::open(
        &env.dir,
        Arc::new(env.clock.clone()),
        Arc::new(invoker.clone()),
        subs(),
    )
    .await
    .unwrap();
    Env {
        engine,
        clock: env.clock.clone(),
        invoker,
        dir: env.dir.clone(),
    }
}

#[tokio::test]
async fn wait_timer_is_rearmed_after_restart() {
    let env = env(Invoker::echo()).await;
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "Next": "E"}, "E": {"Type": "Pass", "End": true}}});
    let arn = env.start(&def, &json!({"v": 1}));
    env.until(&arn, "WaitStateEntered").await;
    let env2 = reopen(&env, Invoker::echo()).await;
    assert_eq!(
        env2.engine.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Running
    );
    env2.clock.advance(Duration::from_secs(1800));
    tokio::task::yield_now().await;
    assert_eq!(
        env2.engine.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Running
    );
    env2.clock.advance(Duration::from_secs(1800));
    let d = env2.done(&arn).await;
    assert_eq!(parse(&d.output), json!({"v": 1}));
    assert_eq!(
        types(&env2.history(&arn)),
        vec![
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn waiting_token_is_accepted_after_restart_and_timeout_rearmed() {
    let invoker = Invoker::new(|_, _, _| Reply::Ok(json!("submitted")));
    let env = env(invoker.clone()).await;
    let def = json!({"StartAt": "Cb", "States": {"Cb": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 100, "End": true}}});
    let arn = env.start(&def, &json!({}));
    let token = token_from(&env.until(&arn, "TaskSubmitted").await);
    let env2 = reopen(&env, invoker.clone()).await;
    env2.engine
        .send_task_success(&token, "{\"back\":1}")
        .await
        .unwrap();
    let d = env2.done(&arn).await;
    assert_eq!(parse(&d.output), json!({"back": 1}));
    // Submitted before the restart: the function is not invoked again.
    assert_eq!(invoker.calls().len(), 1);

    // Same again, but let the re-armed timeout fire.
    let arn = env2
        .engine
        .start_execution(&d.state_machine_arn, Some("second"), None)
        .unwrap()
        .0;
    let token = token_from(&env2.until(&arn, "TaskSubmitted").await);
    let env3 = reopen(&env2, invoker.clone()).await;
    env3.clock.advance(Duration::from_secs(100));
    let d = env3.done(&arn).await;
    assert_eq!(d.error.as_deref(), Some("States.Timeout"));
    assert!(matches!(
        env3.engine.send_task_success(&token, "{}").await,
        Err(Error::TaskTimedOut)
    ));
}

#[tokio::test]
async fn interrupted_invoke_is_run_again() {
    let hang = Invoker::new(|_, _, _| Reply::Hang);
    let env = env(hang.clone()).await;
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${WorkFn}", "End": true}}});
    let arn = env.start(&def, &json!({"n": 1}));
    env.until(&arn, "LambdaFunctionStarted").await;
    assert_eq!(hang.calls().len(), 1);
    let ok = Invoker::new(|_, p, _| Reply::Ok(json!({"echo": p})));
    let env2 = reopen(&env, ok.clone()).await;
    let d = env2.done(&arn).await;
    assert_eq!(parse(&d.output), json!({"echo": {"n": 1}}));
    assert_eq!(ok.calls().len(), 1);
    // Finished executions are listed and described after yet another restart.
    let env3 = reopen(&env2, ok).await;
    let d3 = env3.engine.describe_execution(&arn).unwrap();
    assert_eq!(d3.status, ExecutionStatus::Succeeded);
    assert_eq!(env3.history(&arn).len(), 7);
}

#[tokio::test]
async fn a_torn_last_commit_is_cut_before_the_resumed_execution_appends() {
    let env = env(Invoker::echo()).await;
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "Next": "E"}, "E": {"Type": "Pass", "End": true}}});
    let arn = env.start(&def, &json!({"v": 1}));
    env.until(&arn, "WaitStateEntered").await;
    env.engine.halt();
    // A crash in the middle of writing the next commit.
    let log = std::fs::read_dir(env.dir.join("executions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("run.jsonl"))
        .expect("the execution's log");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, br#"{"events":[{"id":3,"previous_event_id":2,"#).unwrap();
    drop(f);
    let env2 = reopen(&env, Invoker::echo()).await;
    env2.clock.advance(Duration::from_secs(60));
    let d = env2.done(&arn).await;
    assert_eq!(parse(&d.output), json!({"v": 1}));
    // Everything appended after the cut is readable, after yet another restart too.
    let env3 = reopen(&env2, Invoker::echo()).await;
    assert_eq!(
        types(&env3.history(&arn)),
        vec![
            "ExecutionStarted",
            "WaitStateEntered",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}
