//! History events with AWS's names and detail fields (as GetExecutionHistory returns them).

use crate::retry::StateError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::asl::StateType;
use crate::engine::ExecutionStatus;

/// AWS's history event types (serialized as their names, e.g. `TaskStateEntered`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// `ExecutionStarted`.
    ExecutionStarted,
    /// `ExecutionSucceeded`.
    ExecutionSucceeded,
    /// `ExecutionFailed`.
    ExecutionFailed,
    /// `ExecutionAborted`.
    ExecutionAborted,
    /// `ExecutionTimedOut`.
    ExecutionTimedOut,
    /// `TaskStateEntered`.
    TaskStateEntered,
    /// `PassStateEntered`.
    PassStateEntered,
    /// `ChoiceStateEntered`.
    ChoiceStateEntered,
    /// `WaitStateEntered`.
    WaitStateEntered,
    /// `SucceedStateEntered`.
    SucceedStateEntered,
    /// `FailStateEntered`.
    FailStateEntered,
    /// `TaskStateExited`.
    TaskStateExited,
    /// `PassStateExited`.
    PassStateExited,
    /// `ChoiceStateExited`.
    ChoiceStateExited,
    /// `WaitStateExited`.
    WaitStateExited,
    /// `SucceedStateExited`.
    SucceedStateExited,
    /// `TaskScheduled`.
    TaskScheduled,
    /// `TaskStarted`.
    TaskStarted,
    /// `TaskSubmitted`.
    TaskSubmitted,
    /// `TaskSucceeded`.
    TaskSucceeded,
    /// `TaskFailed`.
    TaskFailed,
    /// `TaskTimedOut`.
    TaskTimedOut,
    /// `LambdaFunctionScheduled`.
    LambdaFunctionScheduled,
    /// `LambdaFunctionStarted`.
    LambdaFunctionStarted,
    /// `LambdaFunctionSucceeded`.
    LambdaFunctionSucceeded,
    /// `LambdaFunctionFailed`.
    LambdaFunctionFailed,
    /// `LambdaFunctionTimedOut`.
    LambdaFunctionTimedOut,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 27] = [
        EventType::ExecutionStarted,
        EventType::ExecutionSucceeded,
        EventType::ExecutionFailed,
        EventType::ExecutionAborted,
        EventType::ExecutionTimedOut,
        EventType::TaskStateEntered,
        EventType::PassStateEntered,
        EventType::ChoiceStateEntered,
        EventType::WaitStateEntered,
        EventType::SucceedStateEntered,
        EventType::FailStateEntered,
        EventType::TaskStateExited,
        EventType::PassStateExited,
        EventType::ChoiceStateExited,
        EventType::WaitStateExited,
        EventType::SucceedStateExited,
        EventType::TaskScheduled,
        EventType::TaskStarted,
        EventType::TaskSubmitted,
        EventType::TaskSucceeded,
        EventType::TaskFailed,
        EventType::TaskTimedOut,
        EventType::LambdaFunctionScheduled,
        EventType::LambdaFunctionStarted,
        EventType::LambdaFunctionSucceeded,
        EventType::LambdaFunctionFailed,
        EventType::LambdaFunctionTimedOut,
    ];

    /// AWS's name, e.g. `TaskStateEntered`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ExecutionStarted => "ExecutionStarted",
            EventType::ExecutionSucceeded => "ExecutionSucceeded",
            EventType::ExecutionFailed => "ExecutionFailed",
            EventType::ExecutionAborted => "ExecutionAborted",
            EventType::ExecutionTimedOut => "ExecutionTimedOut",
            EventType::TaskStateEntered => "TaskStateEntered",
            EventType::PassStateEntered => "PassStateEntered",
            EventType::ChoiceStateEntered => "ChoiceStateEntered",
            EventType::WaitStateEntered => "WaitStateEntered",
            EventType::SucceedStateEntered => "SucceedStateEntered",
            EventType::FailStateEntered => "FailStateEntered",
            EventType::TaskStateExited => "TaskStateExited",
            EventType::PassStateExited => "PassStateExited",
            EventType::ChoiceStateExited => "ChoiceStateExited",
            EventType::WaitStateExited => "WaitStateExited",
            EventType::SucceedStateExited => "SucceedStateExited",
            EventType::TaskScheduled => "TaskScheduled",
            EventType::TaskStarted => "TaskStarted",
            EventType::TaskSubmitted => "TaskSubmitted",
            EventType::TaskSucceeded => "TaskSucceeded",
            EventType::TaskFailed => "TaskFailed",
            EventType::TaskTimedOut => "TaskTimedOut",
            EventType::LambdaFunctionScheduled => "LambdaFunctionScheduled",
            EventType::LambdaFunctionStarted => "LambdaFunctionStarted",
            EventType::LambdaFunctionSucceeded => "LambdaFunctionSucceeded",
            EventType::LambdaFunctionFailed => "LambdaFunctionFailed",
            EventType::LambdaFunctionTimedOut => "LambdaFunctionTimedOut",
        }
    }

    /// The details field name, e.g. `stateEnteredEventDetails` (none for `LambdaFunctionStarted`).
    pub fn details_key(self) -> Option<&'static str> {
        match self {
            EventType::ExecutionStarted => Some("executionStartedEventDetails"),
            EventType::ExecutionSucceeded => Some("executionSucceededEventDetails"),
            EventType::ExecutionFailed => Some("executionFailedEventDetails"),
            EventType::ExecutionAborted => Some("executionAbortedEventDetails"),
            EventType::ExecutionTimedOut => Some("executionTimedOutEventDetails"),
            EventType::TaskStateEntered => Some("stateEnteredEventDetails"),
            EventType::PassStateEntered => Some("stateEnteredEventDetails"),
            EventType::ChoiceStateEntered => Some("stateEnteredEventDetails"),
            EventType::WaitStateEntered => Some("stateEnteredEventDetails"),
            EventType::SucceedStateEntered => Some("stateEnteredEventDetails"),
            EventType::FailStateEntered => Some("stateEnteredEventDetails"),
            EventType::TaskStateExited => Some("stateExitedEventDetails"),
            EventType::PassStateExited => Some("stateExitedEventDetails"),
            EventType::ChoiceStateExited => Some("stateExitedEventDetails"),
            EventType::WaitStateExited => Some("stateExitedEventDetails"),
            EventType::SucceedStateExited => Some("stateExitedEventDetails"),
            EventType::TaskScheduled => Some("taskScheduledEventDetails"),
            EventType::TaskStarted => Some("taskStartedEventDetails"),
            EventType::TaskSubmitted => Some("taskSubmittedEventDetails"),
            EventType::TaskSucceeded => Some("taskSucceededEventDetails"),
            EventType::TaskFailed => Some("taskFailedEventDetails"),
            EventType::TaskTimedOut => Some("taskTimedOutEventDetails"),
            EventType::LambdaFunctionScheduled => Some("lambdaFunctionScheduledEventDetails"),
            EventType::LambdaFunctionStarted => None,
            EventType::LambdaFunctionSucceeded => Some("lambdaFunctionSucceededEventDetails"),
            EventType::LambdaFunctionFailed => Some("lambdaFunctionFailedEventDetails"),
            EventType::LambdaFunctionTimedOut => Some("lambdaFunctionTimedOutEventDetails"),
        }
    }

    /// `<Type>StateEntered` for a state of kind `kind`.
    pub fn state_entered(kind: StateType) -> Self {
        match kind {
            StateType::Task => EventType::TaskStateEntered,
            StateType::Pass => EventType::PassStateEntered,
            StateType::Choice => EventType::ChoiceStateEntered,
            StateType::Wait => EventType::WaitStateEntered,
            StateType::Succeed => EventType::SucceedStateEntered,
            StateType::Fail => EventType::FailStateEntered,
        }
    }

    /// `<Type>StateExited` for a state of kind `kind` (a Fail state never exits).
    pub fn state_exited(kind: StateType) -> Option<Self> {
        Some(match kind {
            StateType::Task => EventType::TaskStateExited,
            StateType::Pass => EventType::PassStateExited,
            StateType::Choice => EventType::ChoiceStateExited,
            StateType::Wait => EventType::WaitStateExited,
            StateType::Succeed => EventType::SucceedStateExited,
            StateType::Fail => return None,
        })
    }

    /// Whether this event closes an execution (`ExecutionSucceeded`, `ExecutionFailed`, ...).
    pub fn is_closing(self) -> bool {
        self.closing_status().is_some()
    }

    /// The status an execution closed by this event has.
    pub fn closing_status(self) -> Option<ExecutionStatus> {
        Some(match self {
            EventType::ExecutionSucceeded => ExecutionStatus::Succeeded,
            EventType::ExecutionFailed => ExecutionStatus::Failed,
            EventType::ExecutionAborted => ExecutionStatus::Aborted,
            EventType::ExecutionTimedOut => ExecutionStatus::TimedOut,
            _ => return None,
        })
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets callers treat the type as its name (`ends_with("StateEntered")`, ...).
impl std::ops::Deref for EventType {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for EventType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EventType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for EventType {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

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
    pub event_type: EventType,
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
    /// AWS's event type (it names the details key).
    pub event_type: EventType,
    /// The details.
    pub details: Value,
}

fn ev(event_type: EventType, details: Value) -> NewEvent {
    NewEvent {
        event_type,
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
        EventType::ExecutionStarted,
        json!({"input": text(input), "inputDetails": truncated(), "roleArn": role_arn}),
    )
}

/// `ExecutionSucceeded`.
pub fn execution_succeeded(output: &Value) -> NewEvent {
    ev(
        EventType::ExecutionSucceeded,
        json!({"output": text(output), "outputDetails": truncated()}),
    )
}

/// `ExecutionFailed`.
pub fn execution_failed(err: &StateError) -> NewEvent {
    ev(EventType::ExecutionFailed, error_details(err, &[]))
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
    ev(EventType::ExecutionAborted, Value::Object(m))
}

/// `ExecutionTimedOut`.
pub fn execution_timed_out() -> NewEvent {
    ev(
        EventType::ExecutionTimedOut,
        json!({"error": crate::retry::TIMEOUT}),
    )
}

/// `<Type>StateEntered`.
pub fn state_entered(kind: StateType, name: &str, input: &Value) -> NewEvent {
    ev(
        EventType::state_entered(kind),
        json!({"name": name, "input": text(input), "inputDetails": truncated()}),
    )
}

/// `<Type>StateExited`.
pub fn state_exited(kind: StateType, name: &str, output: &Value) -> Option<NewEvent> {
    Some(ev(
        EventType::state_exited(kind)?,
        json!({"name": name, "output": text(output), "outputDetails": truncated()}),
    ))
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
    ev(EventType::TaskScheduled, Value::Object(m))
}

/// `TaskStarted`.
pub fn task_started(resource_type: &str, resource: &str) -> NewEvent {
    ev(
        EventType::TaskStarted,
        json!({"resourceType": resource_type, "resource": resource}),
    )
}

/// `TaskSubmitted` (the immediate response of a `.waitForTaskToken` call).
pub fn task_submitted(resource_type: &str, resource: &str, output: &Value) -> NewEvent {
    ev(
        EventType::TaskSubmitted,
        json!({"resourceType": resource_type, "resource": resource, "output": text(output), "outputDetails": truncated()}),
    )
}

/// `TaskSucceeded`.
pub fn task_succeeded(resource_type: &str, resource: &str, output: &Value) -> NewEvent {
    ev(
        EventType::TaskSucceeded,
        json!({"resourceType": resource_type, "resource": resource, "output": text(output), "outputDetails": truncated()}),
    )
}

/// `TaskFailed`.
pub fn task_failed(resource_type: &str, resource: &str, err: &StateError) -> NewEvent {
    ev(
        EventType::TaskFailed,
        error_details(
            err,
            &[("resourceType", resource_type), ("resource", resource)],
        ),
    )
}

/// `TaskTimedOut`.
pub fn task_timed_out(resource_type: &str, resource: &str, err: &StateError) -> NewEvent {
    ev(
        EventType::TaskTimedOut,
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
    ev(EventType::LambdaFunctionScheduled, Value::Object(m))
}

/// `LambdaFunctionStarted` (no details).
pub fn lambda_started() -> NewEvent {
    NewEvent {
        event_type: EventType::LambdaFunctionStarted,
        details: Value::Null,
    }
}

/// `LambdaFunctionSucceeded`.
pub fn lambda_succeeded(output: &Value) -> NewEvent {
    ev(
        EventType::LambdaFunctionSucceeded,
        json!({"output": text(output), "outputDetails": truncated()}),
    )
}

/// `LambdaFunctionFailed`.
pub fn lambda_failed(err: &StateError) -> NewEvent {
    ev(EventType::LambdaFunctionFailed, error_details(err, &[]))
}

/// `LambdaFunctionTimedOut`.
pub fn lambda_timed_out(err: &StateError) -> NewEvent {
    ev(EventType::LambdaFunctionTimedOut, error_details(err, &[]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_serialize_as_their_aws_names() {
        for t in EventType::ALL {
            let s = serde_json::to_string(&t).expect("serialize");
            assert_eq!(s, format!("\"{}\"", t.as_str()));
            let back: EventType = serde_json::from_str(&s).expect("deserialize");
            assert_eq!(back, t);
        }
    }

    #[test]
    fn stored_events_load_and_render_unchanged() {
        let line = r#"{"id":3,"previous_event_id":2,"timestamp":"2024-05-01T12:00:00Z","type":"TaskStateEntered","details_key":"stateEnteredEventDetails","details":{"name":"A"}}"#;
        let e: HistoryEvent = serde_json::from_str(line).expect("load");
        assert_eq!(e.event_type, EventType::TaskStateEntered);
        assert_eq!(e.details_key.as_deref(), e.event_type.details_key());
        assert_eq!(serde_json::to_string(&e).expect("store"), line);
    }
}
