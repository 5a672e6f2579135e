//! Definitions the engine must refuse at load, with the state and the field named.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]
mod common;

use common::*;
use preview_statemachine::Error;
use serde_json::{json, Value};

async fn refused(def: Value) -> String {
    let env = env(Invoker::echo()).await;
    match env.engine.create_state_machine("sm", &def.to_string()) {
        Err(Error::InvalidDefinition(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn one(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

fn lambda_task(extra: Value) -> Value {
    let mut t = json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"}, "End": true});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    t
}

#[tokio::test]
async fn unsupported_states_and_fields_are_named() {
    let m = refused(one(json!({"Type": "Map", "ItemsPath": "$.x", "End": true}))).await;
    assert!(
        m.contains("State 'S'") && m.contains("'Type'") && m.contains("Map"),
        "{m}"
    );
    let m = refused(one(
        json!({"Type": "Parallel", "Branches": [], "End": true}),
    ))
    .await;
    assert!(m.contains("State 'S'") && m.contains("Parallel"), "{m}");
    let m = refused(one(
        json!({"Type": "Pass", "ItemsPath": "$.x", "End": true}),
    ))
    .await;
    assert!(m.contains("State 'S'") && m.contains("'ItemsPath'"), "{m}");
    let m = refused(one(
        json!({"Type": "Pass", "Output": "{% $states.input %}", "End": true}),
    ))
    .await;
    assert!(m.contains("'Output'"), "{m}");
    let m = refused(
        json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {"Type": "Succeed"}}}),
    )
    .await;
    assert!(m.contains("QueryLanguage"), "{m}");
    let m = refused(one(
        json!({"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}),
    ))
    .await;
    assert!(m.contains("State 'S'") && m.contains("'Resource'"), "{m}");
    let m = refused(one(lambda_task(
        json!({"Parameters": {"FunctionName": "f", "InvocationType": "DryRun"}}),
    )))
    .await;
    assert!(m.contains("'Parameters.InvocationType'"), "{m}");
    let m = refused(one(lambda_task(
        json!({"Parameters": {"FunctionName": "f", "InvocationType.$": "$.how"}}),
    )))
    .await;
    assert!(m.contains("InvocationType"), "{m}");
    let m = refused(one(lambda_task(json!({"Credentials": {"RoleArn": "x"}})))).await;
    assert!(m.contains("'Credentials'"), "{m}");
    let m = refused(one(
        json!({"Type": "Pass", "Parameters": {"x.$": "States.Hash($.a, 'MD5')"}, "End": true}),
    ))
    .await;
    assert!(m.contains("State 'S'") && m.contains("States.Hash"), "{m}");
    let m = refused(one(json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "Parameters": {"FunctionName": "f"}, "End": true}))).await;
    assert!(m.contains("Task.Token"), "{m}");
}

#[tokio::test]
async fn structure_is_validated() {
    let m = refused(json!({"StartAt": "Nope", "States": {"S": {"Type": "Succeed"}}})).await;
    assert!(m.contains("StartAt"), "{m}");
    let m = refused(one(json!({"Type": "Pass", "Next": "Missing"}))).await;
    assert!(m.contains("State 'S'") && m.contains("Missing"), "{m}");
    let m = refused(one(json!({"Type": "Pass"}))).await;
    assert!(m.contains("'Next'"), "{m}");
    let m = refused(one(json!({"Type": "Pass", "Next": "S", "End": true}))).await;
    assert!(m.contains("'End'"), "{m}");
    let m = refused(json!({"StartAt": "S", "States": {"S": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}}})).await;
    assert!(m.contains("Orphan"), "{m}");
    let m = refused(one(lambda_task(
        json!({"TimeoutSeconds": 10, "HeartbeatSeconds": 10}),
    )))
    .await;
    assert!(m.contains("HeartbeatSeconds"), "{m}");
    let m = refused(one(lambda_task(
        json!({"TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t"}),
    )))
    .await;
    assert!(m.contains("TimeoutSeconds"), "{m}");
    let m = refused(one(lambda_task(
        json!({"Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}),
    )))
    .await;
    assert!(m.contains("Retry[0]"), "{m}");
    let m = refused(one(lambda_task(
        json!({"Retry": [{"ErrorEquals": ["States.ALL", "X"]}]}),
    )))
    .await;
    assert!(m.contains("alone"), "{m}");
    let m = refused(one(lambda_task(
        json!({"Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}),
    )))
    .await;
    assert!(m.contains("BackoffRate"), "{m}");
    let m = refused(one(lambda_task(
        json!({"Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}]}),
    )))
    .await;
    assert!(m.contains("JitterStrategy"), "{m}");
    let m = refused(one(
        json!({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}),
    ))
    .await;
    assert!(m.contains("exactly one"), "{m}");
    let m = refused(one(
        json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "StringEquals": 1, "Next": "S"}]}),
    ))
    .await;
    assert!(
        m.contains("Choices[0]") && m.contains("StringEquals"),
        "{m}"
    );
    let m = refused(one(
        json!({"Type": "Fail", "Error": "x", "ErrorPath": "$.e"}),
    ))
    .await;
    assert!(m.contains("Error"), "{m}");
    let m = refused(one(
        json!({"Type": "Pass", "ResultPath": "$.a[*]", "End": true}),
    ))
    .await;
    assert!(m.contains("ResultPath"), "{m}");
}

#[tokio::test]
async fn substitutions_must_all_resolve() {
    let m = refused(one(
        json!({"Type": "Task", "Resource": "${Missing}", "End": true}),
    ))
    .await;
    assert!(m.contains("${Missing}"), "{m}");
    let env = env(Invoker::echo()).await;
    let ok = one(json!({"Type": "Task", "Resource": "${WorkFn}", "End": true}));
    assert!(env
        .engine
        .create_state_machine("sm", &ok.to_string())
        .is_ok());
    // Same name and definition: idempotent; other definition: refused.
    assert!(env
        .engine
        .create_state_machine("sm", &ok.to_string())
        .is_ok());
    let other = one(json!({"Type": "Succeed"}));
    assert!(matches!(
        env.engine.create_state_machine("sm", &other.to_string()),
        Err(Error::StateMachineAlreadyExists(_))
    ));
}
