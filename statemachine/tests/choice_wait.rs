//! Every Choice operator, And/Or/Not/Default, and each Wait form on the virtual clock.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]
mod common;

use common::*;
use preview_statemachine::ExecutionStatus;
use serde_json::{json, Value};

/// Runs a one-rule Choice and says whether the rule matched.
async fn matches(rule: Value, input: Value) -> bool {
    let env = env(Invoker::echo()).await;
    let mut rule = rule;
    rule["Next"] = json!("Yes");
    let def = json!({
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [rule], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": "yes", "End": true},
            "No": {"Type": "Pass", "Result": "no", "End": true}
        }
    });
    let arn = env.start(&def, &input);
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded, "{:?}", d.cause);
    parse(&d.output) == json!("yes")
}

#[tokio::test]
async fn string_operators() {
    let i = json!({"v": "b", "o": "b"});
    for (op, val, want) in [
        ("StringEquals", "b", true),
        ("StringEquals", "c", false),
        ("StringLessThan", "c", true),
        ("StringLessThan", "b", false),
        ("StringGreaterThan", "a", true),
        ("StringLessThanEquals", "b", true),
        ("StringGreaterThanEquals", "c", false),
        ("StringMatches", "*b", true),
        ("StringMatches", "a*", false),
    ] {
        assert_eq!(
            matches(json!({"Variable": "$.v", op: val}), i.clone()).await,
            want,
            "{op} {val}"
        );
    }
    for (op, want) in [
        ("StringEqualsPath", true),
        ("StringLessThanPath", false),
        ("StringGreaterThanEqualsPath", true),
        ("StringLessThanEqualsPath", true),
        ("StringGreaterThanPath", false),
    ] {
        assert_eq!(
            matches(json!({"Variable": "$.v", op: "$.o"}), i.clone()).await,
            want,
            "{op}"
        );
    }
    // A number is not a string: comparison is false, not an error.
    assert!(
        !matches(
            json!({"Variable": "$.v", "StringEquals": "1"}),
            json!({"v": 1})
        )
        .await
    );
}

#[tokio::test]
async fn numeric_operators() {
    let i = json!({"v": 5, "o": 5.0, "big": 7});
    for (op, val, want) in [
        ("NumericEquals", 5.0, true),
        ("NumericEquals", 4.0, false),
        ("NumericLessThan", 6.0, true),
        ("NumericGreaterThan", 4.5, true),
        ("NumericLessThanEquals", 5.0, true),
        ("NumericGreaterThanEquals", 5.1, false),
    ] {
        assert_eq!(
            matches(json!({"Variable": "$.v", op: val}), i.clone()).await,
            want,
            "{op} {val}"
        );
    }
    for (op, path, want) in [
        ("NumericEqualsPath", "$.o", true),
        ("NumericLessThanPath", "$.big", true),
        ("NumericGreaterThanPath", "$.big", false),
        ("NumericLessThanEqualsPath", "$.o", true),
        ("NumericGreaterThanEqualsPath", "$.big", false),
    ] {
        assert_eq!(
            matches(json!({"Variable": "$.v", op: path}), i.clone()).await,
            want,
            "{op}"
        );
    }
}

#[tokio::test]
async fn boolean_and_timestamp_operators() {
    assert!(
        matches(
            json!({"Variable": "$.b", "BooleanEquals": true}),
            json!({"b": true})
        )
        .await
    );
    assert!(
        !matches(
            json!({"Variable": "$.b", "BooleanEquals": true}),
            json!({"b": "true"})
        )
        .await
    );
    assert!(
        matches(
            json!({"Variable": "$.b", "BooleanEqualsPath": "$.c"}),
            json!({"b": false, "c": false})
        )
        .await
    );
    let i = json!({"t": "2024-01-01T10:00:00Z", "u": "2024-01-01T11:00:00+01:00", "later": "2024-06-01T00:00:00Z"});
    for (op, val, want) in [
        ("TimestampEquals", "2024-01-01T10:00:00Z", true),
        ("TimestampLessThan", "2024-01-01T10:00:01Z", true),
        ("TimestampGreaterThan", "2024-01-01T09:59:59Z", true),
        ("TimestampLessThanEquals", "2024-01-01T10:00:00Z", true),
        ("TimestampGreaterThanEquals", "2024-01-01T10:00:01Z", false),
    ] {
        assert_eq!(
            matches(json!({"Variable": "$.t", op: val}), i.clone()).await,
            want,
            "{op}"
        );
    }
    for (op, path, want) in [
        ("TimestampEqualsPath", "$.u", true),
        ("TimestampLessThanPath", "$.later", true),
        ("TimestampGreaterThanPath", "$.later", false),
        ("TimestampLessThanEqualsPath", "$.u", true),
        ("TimestampGreaterThanEqualsPath", "$.later", false),
    ] {
        assert_eq!(
            matches(json!({"Variable": "$.t", op: path}), i.clone()).await,
            want,
            "{op}"
        );
    }
}

#[tokio::test]
async fn type_tests_and_combinators() {
    let i = json!({"n": null, "num": 1.5, "s": "x", "b": false, "ts": "2024-01-01T00:00:00Z"});
    for (var, op, want) in [
        ("$.n", "IsNull", true),
        ("$.s", "IsNull", false),
        ("$.num", "IsNumeric", true),
        ("$.s", "IsNumeric", false),
        ("$.s", "IsString", true),
        ("$.b", "IsBoolean", true),
        ("$.ts", "IsTimestamp", true),
        ("$.s", "IsTimestamp", false),
        ("$.s", "IsPresent", true),
        ("$.missing", "IsPresent", false),
    ] {
        assert_eq!(
            matches(json!({"Variable": var, op: true}), i.clone()).await,
            want,
            "{var} {op}"
        );
    }
    assert!(
        matches(
            json!({"Variable": "$.missing", "IsPresent": false}),
            i.clone()
        )
        .await
    );
    let and = json!({"And": [{"Variable": "$.num", "NumericGreaterThan": 1}, {"Not": {"Variable": "$.s", "StringEquals": "y"}}]});
    assert!(matches(and, i.clone()).await);
    let or = json!({"Or": [{"Variable": "$.num", "NumericGreaterThan": 9}, {"Variable": "$.b", "BooleanEquals": true}]});
    assert!(!matches(or, i.clone()).await);
}

#[tokio::test]
async fn choice_events_and_missing_variable() {
    let env = env(Invoker::echo()).await;
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "D"}], "Default": "D"},
        "D": {"Type": "Succeed"}}});
    let arn = env.start(&def, &json!({"y": 1}));
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.Runtime"));
    assert!(d
        .cause
        .unwrap()
        .contains("Invalid path '$.x' : No results for path: $['x']"));

    let env = common::env(Invoker::echo()).await;
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "D"}]},
        "D": {"Type": "Succeed"}}});
    let arn = env.start(&def, &json!({"x": 2}));
    let d = env.done(&arn).await;
    assert_eq!(d.error.as_deref(), Some("States.NoChoiceMatched"));
    let arn2 = env
        .engine
        .start_execution(&d.state_machine_arn, Some("two"), Some("{\"x\":1}"))
        .unwrap()
        .0;
    env.done(&arn2).await;
    assert_eq!(
        types(&env.history(&arn2)),
        vec![
            "ExecutionStarted",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
}

#[tokio::test]
async fn wait_seconds_on_virtual_clock() {
    let env = env(Invoker::echo()).await;
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 7200, "Next": "E"}, "E": {"Type": "Succeed"}}});
    let arn = env.start(&def, &json!({"a": 1}));
    env.until(&arn, "WaitStateEntered").await;
    env.advance(7199);
    tokio::task::yield_now().await;
    assert_eq!(
        env.engine.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Running
    );
    env.advance(1);
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    let h = env.history(&arn);
    let entered = h
        .iter()
        .find(|e| e.event_type == "WaitStateEntered")
        .unwrap()
        .timestamp;
    let exited = h
        .iter()
        .find(|e| e.event_type == "WaitStateExited")
        .unwrap()
        .timestamp;
    assert_eq!((exited - entered).num_seconds(), 7200);
}

#[tokio::test]
async fn wait_timestamp_forms() {
    for (state, input) in [
        (
            json!({"Type": "Wait", "Timestamp": "2024-05-01T13:00:00Z", "Next": "E"}),
            json!({}),
        ),
        (
            json!({"Type": "Wait", "TimestampPath": "$.at", "Next": "E"}),
            json!({"at": "2024-05-01T13:00:00Z"}),
        ),
        (
            json!({"Type": "Wait", "SecondsPath": "$.s", "Next": "E"}),
            json!({"s": 3600}),
        ),
    ] {
        let env = env(Invoker::echo()).await;
        let def = json!({"StartAt": "W", "States": {"W": state, "E": {"Type": "Succeed"}}});
        let arn = env.start(&def, &input);
        env.until(&arn, "WaitStateEntered").await;
        env.advance(3599);
        tokio::task::yield_now().await;
        assert_eq!(
            env.engine.describe_execution(&arn).unwrap().status,
            ExecutionStatus::Running
        );
        env.advance(1);
        assert_eq!(env.done(&arn).await.status, ExecutionStatus::Succeeded);
    }
}

#[tokio::test]
async fn wait_timestamp_path_without_zone_is_runtime_error() {
    let env = env(Invoker::echo()).await;
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.at", "Next": "E"}, "E": {"Type": "Succeed"}}});
    let arn = env.start(&def, &json!({"at": "2024-05-01T13:00:00"}));
    let d = env.done(&arn).await;
    assert_eq!(d.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        types(&env.history(&arn)),
        vec!["ExecutionStarted", "WaitStateEntered", "ExecutionFailed"]
    );
}

#[tokio::test]
async fn stop_during_wait_aborts() {
    let env = env(Invoker::echo()).await;
    let def =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}});
    let arn = env.start(&def, &json!({}));
    env.until(&arn, "WaitStateEntered").await;
    env.engine
        .stop_execution(&arn, Some("Stopped"), Some("by test"))
        .await
        .unwrap();
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Aborted);
    assert_eq!(
        (d.error.as_deref(), d.cause.as_deref()),
        (Some("Stopped"), Some("by test"))
    );
    let h = env.history(&arn);
    assert_eq!(
        types(&h),
        vec!["ExecutionStarted", "WaitStateEntered", "ExecutionAborted"]
    );
    assert_eq!(h[2].previous_event_id, 0);
}

#[tokio::test]
async fn execution_timeout_times_out() {
    let env = env(Invoker::echo()).await;
    let def = json!({"TimeoutSeconds": 60, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}});
    let arn = env.start(&def, &json!({}));
    env.until(&arn, "WaitStateEntered").await;
    env.advance(60);
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::TimedOut);
    assert_eq!(
        types(&env.history(&arn)),
        vec!["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]
    );
}
