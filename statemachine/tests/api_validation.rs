//! Requests AWS refuses before running the operation, sent as raw HTTP (the SDKs cannot send a
//! wrong JSON type): a wrong-typed member is a `SerializationException`, a missing required member
//! or a violated constraint a `ValidationException`, each with HTTP 400, and nothing happens.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]
mod common;

use common::*;
use serde_json::{json, Value};
use std::net::SocketAddr;

const SM: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:sm";

/// A served engine with state machine `sm` (a callback task, so executions stay running).
async fn served() -> (Env, SocketAddr) {
    let env = env(Invoker::new(|_, _, _| Reply::Ok(json!({})))).await;
    let def = json!({"StartAt": "Cb", "States": {"Cb": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}}, "End": true}}});
    env.engine
        .create_state_machine("sm", &def.to_string())
        .unwrap();
    let addr = serve_api(&env.engine).await;
    (env, addr)
}

/// Starts execution `name` and waits for its callback token.
async fn running(env: &Env, name: &str) -> (String, String) {
    let (arn, _) = env
        .engine
        .start_execution(SM, Some(name), Some("{\"a\":1}"))
        .unwrap();
    let token = token_from(&env.until(&arn, "TaskSubmitted").await);
    (arn, token)
}

/// Asserts a 400 with this `__type`; returns the message.
async fn refused(addr: SocketAddr, op: &str, body: &str, kind: &str) -> String {
    let (status, reply) = raw_call(addr, op, body).await;
    assert_eq!(status, 400, "{op} {body}: {reply}");
    assert_eq!(reply["__type"], kind, "{op} {body}: {reply}");
    reply["message"].as_str().unwrap_or_default().to_string()
}

async fn serialization(addr: SocketAddr, op: &str, body: Value) -> String {
    refused(addr, op, &body.to_string(), "SerializationException").await
}

async fn validation(addr: SocketAddr, op: &str, body: Value) -> String {
    refused(addr, op, &body.to_string(), "ValidationException").await
}

fn null_at(member: &str) -> String {
    format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    )
}

#[tokio::test]
async fn create_state_machine_refuses_wrong_types_and_missing_members() {
    let (env, addr) = served().await;
    let definition =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string();
    let role = "arn:aws:iam::000000000000:role/x";
    let m = serialization(
        addr,
        "CreateStateMachine",
        json!({"name": "n", "definition": {"StartAt": "P"}, "roleArn": role}),
    )
    .await;
    assert_eq!(m, "Start of structure or map found where not expected.");
    serialization(
        addr,
        "CreateStateMachine",
        json!({"name": "n", "definition": definition, "roleArn": role, "tracingConfiguration": {"enabled": "yes"}}),
    )
    .await;
    serialization(
        addr,
        "CreateStateMachine",
        json!({"name": "n", "definition": definition, "roleArn": role, "tags": [{"key": 1, "value": "v"}]}),
    )
    .await;
    let m = validation(
        addr,
        "CreateStateMachine",
        json!({"name": "n", "definition": definition}),
    )
    .await;
    assert_eq!(m, null_at("roleArn"));
    let m = validation(addr, "CreateStateMachine", json!({})).await;
    assert!(
        m.starts_with("3 validation errors detected: Value null at 'name'"),
        "{m}"
    );
    let m = validation(
        addr,
        "CreateStateMachine",
        json!({"name": "n".repeat(81), "definition": definition, "roleArn": role}),
    )
    .await;
    assert!(
        m.ends_with("at 'name' failed to satisfy constraint: Member must have length less than or equal to 80"),
        "{m}"
    );
    refused(
        addr,
        "CreateStateMachine",
        &json!({"name": "a b", "definition": definition, "roleArn": role}).to_string(),
        "InvalidName",
    )
    .await;
    // Nothing was created by the refused requests.
    assert_eq!(env.engine.list_state_machines().len(), 1);
    // Unknown members are ignored and null is absent, as in AWS.
    let (status, reply) = raw_call(
        addr,
        "CreateStateMachine",
        &json!({"name": "n", "definition": definition, "roleArn": role, "type": null,
                "somethingNew": {"x": [1]}, "tags": [null, {"key": "k", "value": "v"}]})
        .to_string(),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn describe_state_machine_refuses_wrong_types_and_missing_members() {
    let (_env, addr) = served().await;
    let m = serialization(addr, "DescribeStateMachine", json!({"stateMachineArn": 1})).await;
    assert_eq!(m, "NUMBER_VALUE can not be converted to a String");
    let m = validation(addr, "DescribeStateMachine", json!({})).await;
    assert_eq!(m, null_at("stateMachineArn"));
    validation(
        addr,
        "DescribeStateMachine",
        json!({"stateMachineArn": SM, "includedData": "SOME"}),
    )
    .await;
    refused(
        addr,
        "DescribeStateMachine",
        &json!({"stateMachineArn": "nope"}).to_string(),
        "InvalidArn",
    )
    .await;
}

#[tokio::test]
async fn list_state_machines_refuses_wrong_types_and_pages() {
    let (env, addr) = served().await;
    let m = serialization(addr, "ListStateMachines", json!({"maxResults": "10"})).await;
    assert_eq!(m, "STRING_VALUE can not be converted to an Integer");
    serialization(addr, "ListStateMachines", json!({"nextToken": ["x"]})).await;
    let m = validation(addr, "ListStateMachines", json!({"maxResults": 1001})).await;
    assert_eq!(
        m,
        "1 validation error detected: Value '1001' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
    );
    refused(
        addr,
        "ListStateMachines",
        &json!({"nextToken": "garbage"}).to_string(),
        "InvalidToken",
    )
    .await;
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string();
    env.engine.create_state_machine("sm2", &def).unwrap();
    let (_, page1) = raw_call(addr, "ListStateMachines", r#"{"maxResults":1}"#).await;
    assert_eq!(page1["stateMachines"].as_array().unwrap().len(), 1);
    let token = page1["nextToken"].as_str().unwrap();
    let (_, page2) = raw_call(
        addr,
        "ListStateMachines",
        &json!({"maxResults": 1, "nextToken": token}).to_string(),
    )
    .await;
    assert_eq!(page2["stateMachines"][0]["name"], "sm2");
    assert!(page2.get("nextToken").is_none());
}

#[tokio::test]
async fn start_execution_refuses_an_object_as_input_and_starts_nothing() {
    let (env, addr) = served().await;
    // The reported bug: an object instead of the input's JSON text started an execution.
    let m = serialization(
        addr,
        "StartExecution",
        json!({"stateMachineArn": SM, "name": "e", "input": {}}),
    )
    .await;
    assert_eq!(m, "Start of structure or map found where not expected.");
    serialization(
        addr,
        "StartExecution",
        json!({"stateMachineArn": SM, "name": 7}),
    )
    .await;
    serialization(addr, "StartExecution", json!({"stateMachineArn": [SM]})).await;
    let m = validation(addr, "StartExecution", json!({"name": "e"})).await;
    assert_eq!(m, null_at("stateMachineArn"));
    let m = validation(
        addr,
        "StartExecution",
        json!({"stateMachineArn": SM, "name": "e".repeat(81)}),
    )
    .await;
    assert!(m.contains("at 'name' failed to satisfy constraint"), "{m}");
    let m = validation(
        addr,
        "StartExecution",
        json!({"stateMachineArn": SM, "input": format!("\"{}\"", "x".repeat(262_144))}),
    )
    .await;
    // A sensitive member's value is not echoed back.
    assert_eq!(
        m,
        "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to 262144"
    );
    refused(
        addr,
        "StartExecution",
        &json!({"stateMachineArn": SM, "input": "{not json"}).to_string(),
        "InvalidExecutionInput",
    )
    .await;
    refused(
        addr,
        "StartExecution",
        &json!({"stateMachineArn": SM, "name": "a/b"}).to_string(),
        "InvalidName",
    )
    .await;
    let page = env
        .engine
        .list_executions(&preview_statemachine::ListExecutionsQuery {
            state_machine_arn: SM.into(),
            ..Default::default()
        })
        .unwrap();
    assert!(page.executions.is_empty(), "{:?}", page.executions);
    // Null is absent and unknown members are ignored.
    let (status, reply) = raw_call(
        addr,
        "StartExecution",
        &json!({"stateMachineArn": SM, "name": "ok", "input": null, "somethingNew": 1}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn describe_execution_refuses_wrong_types_and_missing_members() {
    let (env, addr) = served().await;
    let (arn, _) = running(&env, "e").await;
    let m = serialization(addr, "DescribeExecution", json!({"executionArn": [arn]})).await;
    assert_eq!(m, "Start of list found where not expected");
    serialization(
        addr,
        "DescribeExecution",
        json!({"executionArn": arn, "includedData": false}),
    )
    .await;
    let m = validation(addr, "DescribeExecution", json!({})).await;
    assert_eq!(m, null_at("executionArn"));
    validation(addr, "DescribeExecution", json!({"executionArn": ""})).await;
    let (status, meta) = raw_call(
        addr,
        "DescribeExecution",
        &json!({"executionArn": arn, "includedData": "METADATA_ONLY"}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(meta.get("input").is_none(), "{meta}");
    assert_eq!(meta["status"], "RUNNING");
}

#[tokio::test]
async fn list_executions_refuses_wrong_types_and_missing_members() {
    let (env, addr) = served().await;
    running(&env, "e").await;
    let m = serialization(
        addr,
        "ListExecutions",
        json!({"stateMachineArn": SM, "maxResults": true}),
    )
    .await;
    assert_eq!(m, "TRUE_VALUE can not be converted to an Integer");
    serialization(
        addr,
        "ListExecutions",
        json!({"stateMachineArn": SM, "statusFilter": 1}),
    )
    .await;
    let m = validation(addr, "ListExecutions", json!({})).await;
    assert_eq!(m, "Must provide a StateMachine ARN or MapRun ARN");
    validation(
        addr,
        "ListExecutions",
        json!({"stateMachineArn": SM, "maxResults": 5000}),
    )
    .await;
    let m = validation(
        addr,
        "ListExecutions",
        json!({"stateMachineArn": SM, "statusFilter": "DONE"}),
    )
    .await;
    assert!(m.contains("Member must satisfy enum value set"), "{m}");
    refused(
        addr,
        "ListExecutions",
        &json!({"stateMachineArn": SM, "nextToken": "garbage"}).to_string(),
        "InvalidToken",
    )
    .await;
    refused(
        addr,
        "ListExecutions",
        &json!({"mapRunArn": "arn:aws:states:us-east-1:000000000000:mapRun:sm/m:x"}).to_string(),
        "ResourceNotFound",
    )
    .await;
    // Valid filters that nothing here matches.
    for body in [
        json!({"stateMachineArn": SM, "statusFilter": "PENDING_REDRIVE"}),
        json!({"stateMachineArn": SM, "redriveFilter": "REDRIVEN"}),
    ] {
        let (status, reply) = raw_call(addr, "ListExecutions", &body.to_string()).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["executions"], json!([]));
    }
    let (_, all) = raw_call(
        addr,
        "ListExecutions",
        &json!({"stateMachineArn": SM, "maxResults": 0, "redriveFilter": "NOT_REDRIVEN"})
            .to_string(),
    )
    .await;
    assert_eq!(all["executions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn get_execution_history_refuses_wrong_types_and_missing_members() {
    let (env, addr) = served().await;
    let (arn, _) = running(&env, "e").await;
    let m = serialization(
        addr,
        "GetExecutionHistory",
        json!({"executionArn": arn, "reverseOrder": "yes"}),
    )
    .await;
    assert_eq!(m, "STRING_VALUE can not be converted to a Boolean");
    serialization(
        addr,
        "GetExecutionHistory",
        json!({"executionArn": arn, "includeExecutionData": 0}),
    )
    .await;
    let m = validation(addr, "GetExecutionHistory", json!({"maxResults": 2})).await;
    assert_eq!(m, null_at("executionArn"));
    let m = validation(
        addr,
        "GetExecutionHistory",
        json!({"executionArn": arn, "maxResults": -1}),
    )
    .await;
    assert!(m.contains("greater than or equal to 0"), "{m}");
    refused(
        addr,
        "GetExecutionHistory",
        &json!({"executionArn": arn, "nextToken": "x"}).to_string(),
        "InvalidToken",
    )
    .await;
}

#[tokio::test]
async fn stop_execution_refuses_wrong_types_and_missing_members() {
    let (env, addr) = served().await;
    let (arn, _) = running(&env, "e").await;
    let m = serialization(
        addr,
        "StopExecution",
        json!({"executionArn": arn, "cause": 5}),
    )
    .await;
    assert_eq!(m, "NUMBER_VALUE can not be converted to a String");
    let m = validation(addr, "StopExecution", json!({"error": "E"})).await;
    assert_eq!(m, null_at("executionArn"));
    validation(
        addr,
        "StopExecution",
        json!({"executionArn": arn, "error": "e".repeat(257)}),
    )
    .await;
    // Still running: nothing was stopped by the refused requests.
    assert_eq!(
        env.engine.describe_execution(&arn).unwrap().status,
        preview_statemachine::ExecutionStatus::Running
    );
}

#[tokio::test]
async fn send_task_success_refuses_an_object_as_output() {
    let (env, addr) = served().await;
    let (arn, token) = running(&env, "e").await;
    let m = serialization(
        addr,
        "SendTaskSuccess",
        json!({"taskToken": token, "output": {"done": true}}),
    )
    .await;
    assert_eq!(m, "Start of structure or map found where not expected.");
    let m = validation(addr, "SendTaskSuccess", json!({"taskToken": token})).await;
    assert_eq!(m, null_at("output"));
    let m = validation(addr, "SendTaskSuccess", json!({})).await;
    assert!(m.starts_with("2 validation errors detected"), "{m}");
    refused(
        addr,
        "SendTaskSuccess",
        &json!({"taskToken": token, "output": "{nope"}).to_string(),
        "InvalidOutput",
    )
    .await;
    assert_eq!(
        env.engine.describe_execution(&arn).unwrap().status,
        preview_statemachine::ExecutionStatus::Running
    );
    let (status, reply) = raw_call(
        addr,
        "SendTaskSuccess",
        &json!({"taskToken": token, "output": "{\"done\":true}"}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(parse(&env.done(&arn).await.output), json!({"done": true}));
}

#[tokio::test]
async fn send_task_failure_refuses_wrong_types_and_missing_members() {
    let (env, addr) = served().await;
    let (arn, token) = running(&env, "e").await;
    let m = serialization(addr, "SendTaskFailure", json!({"taskToken": false})).await;
    assert_eq!(m, "FALSE_VALUE can not be converted to a String");
    serialization(
        addr,
        "SendTaskFailure",
        json!({"taskToken": token, "error": {"e": 1}}),
    )
    .await;
    let m = validation(addr, "SendTaskFailure", json!({"error": "E"})).await;
    assert_eq!(m, null_at("taskToken"));
    validation(
        addr,
        "SendTaskFailure",
        json!({"taskToken": token, "cause": "c".repeat(32_769)}),
    )
    .await;
    assert_eq!(
        env.engine.describe_execution(&arn).unwrap().status,
        preview_statemachine::ExecutionStatus::Running
    );
}

#[tokio::test]
async fn send_task_heartbeat_refuses_wrong_types_and_missing_members() {
    let (env, addr) = served().await;
    let (_, token) = running(&env, "e").await;
    let m = serialization(addr, "SendTaskHeartbeat", json!({"taskToken": 12.5})).await;
    assert_eq!(m, "NUMBER_VALUE can not be converted to a String");
    let m = validation(addr, "SendTaskHeartbeat", json!({})).await;
    assert_eq!(m, null_at("taskToken"));
    let m = validation(
        addr,
        "SendTaskHeartbeat",
        json!({"taskToken": "t".repeat(2049)}),
    )
    .await;
    assert!(
        m.starts_with("1 validation error detected: Value at 'taskToken'"),
        "{m}"
    );
    let (status, _) = raw_call(
        addr,
        "SendTaskHeartbeat",
        &json!({"taskToken": token}).to_string(),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_a_serialization_exception() {
    let (_env, addr) = served().await;
    for op in ["StartExecution", "DescribeExecution", "ListExecutions"] {
        for body in [
            "[]",
            "\"x\"",
            "42",
            "null",
            "{\"stateMachineArn\":",
            "not json",
        ] {
            refused(addr, op, body, "SerializationException").await;
        }
    }
    let m = refused(addr, "StartExecution", "[1]", "SerializationException").await;
    assert_eq!(m, "Start of list found where not expected");
    // An empty body is an empty object: a missing member, not a malformed body.
    refused(addr, "DescribeExecution", "", "ValidationException").await;
    refused(addr, "Nope", "{}", "UnknownOperationException").await;
}
