//! History events with AWS's names and detail fields (as GetExecutionHistory returns them).

use crate::retry::StateError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// One history event as stored and as returned (timestamps rendered by the API layer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// 1-based position in the history.
    pub id: u64,
    /// The event this one follows (0 for the first two, like AWS).
    pub previous_event_id: u64,
    /// When it happened (from the engine's clock).
    pub timestamp: DateTime<Utc>,
    /// AWS's event type, e.g. `TaskStateEntered`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The details field name, e.g. `stateEnteredEventDetails` (none for some events).
    pub details_key: Option<String>,
    /// The details object.
    pub details: Value,
}

impl HistoryEvent {
    /// Renders the event like the awsJson GetExecutionHistory response does.
    pub fn to_api_json(&self, include_data: bool) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        m.insert("timestamp".into(), json!(epoch_seconds(self.timestamp)));
        m.insert("type".into(), json!(self.event_type));
        if let Some(k) = &self.details_key {
            let mut d = self.details.clone();
            if !include_data {
                if let Value::Object(o) = &mut d {
                    o.remove("input");
                    o.remove("output");
                    o.remove("parameters");
                }
            }
            m.insert(k.clone(), d);
        }
        Value::Object(m)
    }

    /// A detail field as a string, for tests and checks.
    pub fn detail_str(&self, field: &str) -> Option<&str> {
        self.details.get(field).and_then(Value::as_str)
    }
}

/// Seconds since the epoch with millisecond precision, as AWS JSON timestamps are sent.
pub fn epoch_seconds(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// An event before the history gives it an id and a timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// AWS's event type.
    pub event_type: &'static str,
    /// The details key, if the event has details.
    pub details_key: Option<&'static str>,
    /// The details.
    pub details: Value,
}

fn ev(event_type: &'static str, key: &'static str, details: Value) -> NewEvent {
    NewEvent {
        event_type,
        details_key: Some(key),
        details,
    }
}

fn truncated() -> Value {
    json!({"truncated": false})
}

fn text(v: &Value) -> String {
    v.to_string()
}

fn error_details(err: &StateError, extra: &[(&str, &str)]) -> Value {
    let mut m = Map::new();
    m.insert("error".into(), json!(err.error));
    if let Some(c) = &err.cause {
        m.insert("cause".into(), json!(c));
    }
    for (k, v) in extra {
        m.insert((*k).into(), json!(v));
    }
    Value::Object(m)
}

/// `ExecutionStarted`.
pub fn execution_started(input: &Value, role_arn: &str) -> NewEvent {
    ev(
        "ExecutionStarted",
        "executionStartedEventDetails",
        json!({"input": text(input), "inputDetails": truncated(), "roleArn": role_arn}),
    )
}

/// `ExecutionSucceeded`.
pub fn execution_succeeded(output: &Value) -> NewEvent {
    ev(
        "ExecutionSucceeded",
        "executionSucceededEventDetails",
        json!({"output": text(output), "outputDetails": truncated()}),
    )
}

/// `ExecutionFailed`.
pub fn execution_failed(err: &StateError) -> NewEvent {
    ev(
        "ExecutionFailed",
        "executionFailedEventDetails",
        error_details(err, &[]),
    )
}

/// `ExecutionAborted` (error and cause as given to StopExecution).
pub fn execution_aborted(error: Option<&str>, cause: Option<&str>) -> NewEvent {
    let mut m = Map::new();
    if let Some(e) = error {
        m.insert("error".into(), json!(e));
    }
    if let Some(c) = cause {
        m.insert("cause".into(), json!(c));
    }
    ev(
        "ExecutionAborted",
        "executionAbortedEventDetails",
        Value::Object(m),
    )
}

/// `ExecutionTimedOut`.
pub fn execution_timed_out() -> NewEvent {
    ev(
        "ExecutionTimedOut",
        "executionTimedOutEventDetails",
        json!({"error": crate::retry::TIMEOUT}),
    )
}

/// `<Type>StateEntered`.
pub fn state_entered(type_name: &str, name: &str, input: &Value) -> NewEvent {
    let t: &'static str = match type_name {
        "Task" => "TaskStateEntered",
        "Pass" => "PassStateEntered",
        "Choice" => "ChoiceStateEntered",
        "Wait" => "WaitStateEntered",
        "Succeed" => "SucceedStateEntered",
        _ => "FailStateEntered",
    };
    ev(
        t,
        "stateEnteredEventDetails",
        json!({"name": name, "input": text(input), "inputDetails": truncated()}),
    )
}

/// `<Type>StateExited`.
pub fn state_exited(type_name: &str, name: &str, output: &Value) -> NewEvent {
    let t: &'static str = match type_name {
        "Task" => "TaskStateExited",
        "Pass" => "PassStateExited",
        "Choice" => "ChoiceStateExited",
        "Wait" => "WaitStateExited",
        _ => "SucceedStateExited",
    };
    ev(
        t,
        "stateExitedEventDetails",
        json!({"name": name, "output": text(output), "outputDetails": truncated()}),
    )
}

/// `TaskScheduled`.
pub fn task_scheduled(
    resource_type: &str,
    resource: &str,
    region: &str,
    parameters: &Value,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
) -> NewEvent {
    let mut m = Map::new();
    m.insert("resourceType".into(), json!(resource_type));
    m.insert("resource".into(), json!(resource));
    m.insert("region".into(), json!(region));
    m.insert("parameters".into(), json!(text(parameters)));
    if let Some(t) = timeout {
        m.insert("timeoutInSeconds".into(), json!(t));
    }
    if let Some(h) = heartbeat {
        m.insert("heartbeatInSeconds".into(), json!(h));
    }
    ev(
        "TaskScheduled",
        "taskScheduledEventDetails",
        Value::Object(m),
    )
}

/// `TaskStarted`.
pub fn task_started(resource_type: &str, resource: &str) -> NewEvent {
    ev(
        "TaskStarted",
        "taskStartedEventDetails",
        json!({"resourceType": resource_type, "resource": resource}),
    )
}

/// `TaskSubmitted` (the immediate response of a `.waitForTaskToken` call).
pub fn task_submitted(resource_type: &str, resource: &str, output: &Value) -> NewEvent {
    ev(
        "TaskSubmitted",
        "taskSubmittedEventDetails",
        json!({"resourceType": resource_type, "resource": resource, "output": text(output), "outputDetails": truncated()}),
    )
}

/// `TaskSucceeded`.
pub fn task_succeeded(resource_type: &str, resource: &str, output: &Value) -> NewEvent {
    ev(
        "TaskSucceeded",
        "taskSucceededEventDetails",
        json!({"resourceType": resource_type, "resource": resource, "output": text(output), "outputDetails": truncated()}),
    )
}

/// `TaskFailed`.
pub fn task_failed(resource_type: &str, resource: &str, err: &StateError) -> NewEvent {
    ev(
        "TaskFailed",
        "taskFailedEventDetails",
        error_details(
            err,
            &[("resourceType", resource_type), ("resource", resource)],
        ),
    )
}

/// `TaskTimedOut`.
pub fn task_timed_out(resource_type: &str, resource: &str, err: &StateError) -> NewEvent {
    ev(
        "TaskTimedOut",
        "taskTimedOutEventDetails",
        error_details(
            err,
            &[("resourceType", resource_type), ("resource", resource)],
        ),
    )
}

/// `LambdaFunctionScheduled` (a Lambda ARN used directly as the resource).
pub fn lambda_scheduled(resource: &str, input: &Value, timeout: Option<u64>) -> NewEvent {
    let mut m = Map::new();
    m.insert("resource".into(), json!(resource));
    m.insert("input".into(), json!(text(input)));
    m.insert("inputDetails".into(), truncated());
    if let Some(t) = timeout {
        m.insert("timeoutInSeconds".into(), json!(t));
    }
    ev(
        "LambdaFunctionScheduled",
        "lambdaFunctionScheduledEventDetails",
        Value::Object(m),
    )
}

/// `LambdaFunctionStarted` (no details).
pub fn lambda_started() -> NewEvent {
    NewEvent {
        event_type: "LambdaFunctionStarted",
        details_key: None,
        details: Value::Null,
    }
}

/// `LambdaFunctionSucceeded`.
pub fn lambda_succeeded(output: &Value) -> NewEvent {
    ev(
        "LambdaFunctionSucceeded",
        "lambdaFunctionSucceededEventDetails",
        json!({"output": text(output), "outputDetails": truncated()}),
    )
}

/// `LambdaFunctionFailed`.
pub fn lambda_failed(err: &StateError) -> NewEvent {
    ev(
        "LambdaFunctionFailed",
        "lambdaFunctionFailedEventDetails",
        error_details(err, &[]),
    )
}

/// `LambdaFunctionTimedOut`.
pub fn lambda_timed_out(err: &StateError) -> NewEvent {
    ev(
        "LambdaFunctionTimedOut",
        "lambdaFunctionTimedOutEventDetails",
        error_details(err, &[]),
    )
}
