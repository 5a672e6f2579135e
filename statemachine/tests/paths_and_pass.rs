//! Input/output processing (InputPath, Parameters, Result, ResultSelector, ResultPath,
//! OutputPath), the context object, intrinsics and runtime path errors.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]
mod common;

use common::*;
use preview_statemachine::ExecutionStatus;
use serde_json::{json, Value};
use std::sync::Arc;

#[tokio::test]
async fn pass_result_path_merges_and_creates_objects() {
    let env = env(Invoker::echo()).await;
    let def = json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.deep.new.place", "Next": "B"},
            "B": {"Type": "Pass", "Result": "ignored", "ResultPath": null, "Next": "C"},
            "C": {"Type": "Pass", "InputPath": "$.deep", "OutputPath": "$.new", "End": true}
        }
    });
    let arn = env.start(&def, &json!({"keep": true}));
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(parse(&d.output), json!({"place": {"x": 1}}));
    let h = env.history(&arn);
    assert_eq!(
        types(&h),
        vec![
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    let ids: Vec<(u64, u64)> = h.iter().map(|e| (e.id, e.previous_event_id)).collect();
    assert_eq!(ids[..3], [(1, 0), (2, 0), (3, 2)]);
    assert_eq!(h[1].detail_str("name"), Some("A"));
    assert_eq!(h[1].detail_str("input"), Some("{\"keep\":true}"));
    assert_eq!(h[1].details["inputDetails"], json!({"truncated": false}));
    // Compared as JSON: key order depends on serde_json's preserve_order feature (AWS keeps
    // insertion order).
    let output: serde_json::Value =
        serde_json::from_str(h[2].detail_str("output").unwrap()).unwrap();
    assert_eq!(
        output,
        json!({"deep": {"new": {"place": {"x": 1}}}, "keep": true})
    );
}

#[tokio::test]
async fn parameters_context_object_and_intrinsics() {
    let env = env(Invoker::echo()).await;
    let def = json!({
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Pass",
                "Parameters": {
                    "name.$": "$$.Execution.Name",
                    "sm.$": "$$.StateMachine.Name",
                    "state.$": "$$.State.Name",
                    "ids.$": "$.items[*].id",
                    "msg.$": "States.Format('Hello {} from {}', $.who, $$.Execution.Name)",
                    "json.$": "States.JsonToString($.obj)",
                    "back.$": "States.StringToJson($.text)",
                    "arr.$": "States.Array($.who, 2)",
                    "sum.$": "States.MathAdd($.n, 5)",
                    "const": {"nested.$": "$.n"}
                },
                "ResultPath": "$.out",
                "OutputPath": "$.out",
                "End": true
            }
        }
    });
    let input = json!({"who": "Ann", "items": [{"id": "a"}, {"id": "b"}], "obj": {"k": [1]}, "text": "{\"z\":true}", "n": 3});
    let arn = env.start(&def, &input);
    let out = parse(&env.done(&arn).await.output);
    assert_eq!(
        out,
        json!({
            "name": "run", "sm": "sm", "state": "P", "ids": ["a", "b"],
            "msg": "Hello Ann from run", "json": "{\"k\":[1]}", "back": {"z": true},
            "arr": ["Ann", 2], "sum": 8, "const": {"nested": 3}
        })
    );
}

#[tokio::test]
async fn uuid_intrinsic_makes_a_uuid() {
    let env = env(Invoker::echo()).await;
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"id.$": "States.UUID()"}, "End": true}}});
    let arn = env.start(&def, &json!({}));
    let out = parse(&env.done(&arn).await.output);
    assert_eq!(out["id"].as_str().map(str::len), Some(36));
}

#[tokio::test]
async fn missing_input_path_is_a_runtime_error_like_aws() {
    let env = env(Invoker::echo()).await;
    let def = json!({"StartAt": "pass", "States": {"pass": {"Type": "Pass", "InputPath": "$.NoSuchInputPath", "End": true}}});
    let arn = env.start(&def, &json!({"int-literal": 0}));
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(d.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        d.cause.as_deref(),
        Some("An error occurred while executing the state 'pass' (entered at the event id #2). Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']")
    );
    assert_eq!(
        types(&env.history(&arn)),
        vec!["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]
    );
}

#[tokio::test]
async fn missing_parameter_path_names_the_field() {
    let env = env(Invoker::echo()).await;
    let def = json!({"StartAt": "pass", "States": {"pass": {"Type": "Pass", "Parameters": {"value.$": "$.no_such_jsonpath"}, "End": true}}});
    let arn = env.start(&def, &json!({"int-literal": 0}));
    let d = env.done(&arn).await;
    assert_eq!(
        d.cause.as_deref(),
        Some("An error occurred while executing the state 'pass' (entered at the event id #2). The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'")
    );
}

#[tokio::test]
async fn task_result_selector_result_path_output_path() {
    let env = env(Invoker::new(|_, _, _| {
        Reply::Ok(json!({"status": "ok", "noise": 1}))
    }))
    .await;
    let def = json!({
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${WorkFn}", "Payload": {"id.$": "$.id"}},
                "ResultSelector": {"status.$": "$.Payload.status", "code.$": "$.StatusCode"},
                "ResultPath": "$.result",
                "OutputPath": "$",
                "End": true
            }
        }
    });
    let arn = env.start(&def, &json!({"id": 7}));
    let d = env.done(&arn).await;
    assert_eq!(
        parse(&d.output),
        json!({"id": 7, "result": {"status": "ok", "code": 200}})
    );
    let calls = env.invoker.calls();
    assert_eq!(
        calls[0].0,
        "arn:aws:lambda:us-east-1:000000000000:function:work"
    );
    assert_eq!(calls[0].1, json!({"id": 7}));
    let h = env.history(&arn);
    assert_eq!(
        types(&h),
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    let sched = &h[2].details;
    assert_eq!(sched["resourceType"], "lambda");
    assert_eq!(sched["resource"], "invoke");
    assert_eq!(sched["region"], "us-east-1");
    assert_eq!(
        sched["parameters"],
        json!({"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:work", "Payload": {"id": 7}}).to_string()
    );
    assert!(sched.get("timeoutInSeconds").is_none());
    let out: serde_json::Value = serde_json::from_str(h[4].detail_str("output").unwrap()).unwrap();
    assert_eq!(out["ExecutedVersion"], "$LATEST");
    assert_eq!(out["StatusCode"], 200);
    assert_eq!(out["Payload"], json!({"status": "ok", "noise": 1}));
    assert_eq!(out["SdkHttpMetadata"]["HttpStatusCode"], 200);
    assert!(out["SdkResponseMetadata"]["RequestId"].is_string());
}

#[tokio::test]
async fn plain_lambda_arn_uses_lambda_function_events() {
    let env = env(Invoker::new(|_, p, _| Reply::Ok(json!({"got": p})))).await;
    let def = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${WorkFn}", "End": true}}});
    let arn = env.start(&def, &json!({"a": 1}));
    let d = env.done(&arn).await;
    assert_eq!(parse(&d.output), json!({"got": {"a": 1}}));
    let h = env.history(&arn);
    assert_eq!(
        types(&h),
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ExecutionSucceeded"
        ]
    );
    assert_eq!(
        h[2].detail_str("resource"),
        Some("arn:aws:lambda:us-east-1:000000000000:function:work")
    );
    assert!(h[3].details_key.is_none());
}

#[tokio::test]
async fn output_path_missing_intermediate_is_missing_property() {
    let env = env(Invoker::echo()).await;
    let def = json!({"StartAt": "RaiseRuntime", "States": {
        "RaiseRuntime": {"Type": "Task", "Resource": "${WorkFn}", "OutputPath": "$.no.such.result.path",
            "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "Caught"}], "Next": "Final"},
        "Caught": {"Type": "Pass", "End": true},
        "Final": {"Type": "Pass", "End": true}}});
    let arn = env.start(&def, &json!({}));
    let d = env.done(&arn).await;
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(
        d.cause.as_deref(),
        Some("An error occurred while executing the state 'RaiseRuntime' (entered at the event id #2). Invalid path '$.no.such.result.path' : Missing property in path $['no']")
    );
    assert_eq!(
        types(&env.history(&arn)),
        vec![
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "ExecutionFailed"
        ]
    );
}

#[tokio::test]
async fn fail_state_with_paths_and_succeed_state() {
    let env = env(Invoker::echo()).await;
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "$.c"}}});
    let arn = env.start(&def, &json!({"e": "Bad", "c": "because"}));
    let d = env.done(&arn).await;
    assert_eq!(
        (d.error.as_deref(), d.cause.as_deref()),
        (Some("Bad"), Some("because"))
    );
    assert_eq!(
        types(&env.history(&arn)),
        vec!["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );

    let env = env_again().await;
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Succeed", "OutputPath": "$.a"}}});
    let arn = env.start(&def, &json!({"a": [1]}));
    let d = env.done(&arn).await;
    assert_eq!(parse(&d.output), json!([1]));
    assert_eq!(
        types(&env.history(&arn)),
        vec![
            "ExecutionStarted",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
}

async fn env_again() -> Env {
    env(Invoker::echo()).await
}

#[tokio::test]
async fn an_event_invoke_returns_202_at_once_and_its_failure_is_not_the_executions() {
    // The function hangs for one call and fails for the other: with InvocationType Event
    // neither holds up or fails the state, as Lambda queues the call and answers 202.
    let env = env(Invoker::new(|_, p, _| {
        if p["hang"] == json!(true) {
            Reply::Hang
        } else {
            Reply::Err("Boom", "the queued function failed")
        }
    }))
    .await;
    let task = |payload: Value, next: Value| {
        let mut t = json!({
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${WorkFn}", "InvocationType": "Event", "Payload": payload},
            "ResultPath": "$.queued",
        });
        t.as_object_mut()
            .unwrap()
            .extend(next.as_object().unwrap().clone());
        t
    };
    let def = json!({
        "StartAt": "Hangs",
        "States": {
            "Hangs": task(json!({"hang": true}), json!({"Next": "Fails"})),
            "Fails": task(json!({"hang": false}), json!({"End": true})),
        }
    });
    let arn = env.start(&def, &json!({}));
    let d = env.done(&arn).await;
    let out = parse(&d.output);
    assert_eq!(out["queued"]["StatusCode"], json!(202), "{out}");
    assert_eq!(out["queued"]["Payload"], json!(""), "{out}");
    assert_eq!(
        out["queued"]["SdkHttpMetadata"]["HttpStatusCode"],
        json!(202)
    );
    assert_eq!(env.invoker.calls().len(), 2);
    let h = env.history(&arn);
    assert_eq!(types(&h).last(), Some(&"ExecutionSucceeded"));
    assert!(!types(&h).contains(&"TaskFailed"));
}

#[tokio::test]
async fn status_change_events_come_at_start_and_at_close() {
    let env = env(Invoker::echo()).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    env.engine.on_status_change(move |e| {
        sink.lock().unwrap().push((
            e["detail"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            e["detail"]["stopDate"].is_null(),
        ))
    });
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let arn = env.start(&def, &json!({}));
    env.done(&arn).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            ("RUNNING".to_string(), true),
            ("SUCCEEDED".to_string(), false)
        ]
    );
}
