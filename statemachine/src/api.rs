//! The Step Functions API over HTTP (awsJson 1.0: `POST /` with `X-Amz-Target:
//! AWSStepFunctions.<Operation>`), so `aws-sdk-sfn` and the AWS CLI work unchanged.

use crate::engine::{
    Engine, ExecutionDescription, ExecutionStatus, HistoryQuery, ListExecutionsQuery,
};
use crate::error::Error;
use crate::history::epoch_seconds;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Map, Value};

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

fn reply(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", CONTENT_TYPE)], body.to_string()).into_response()
}

fn error_reply(e: &Error) -> Response {
    let status = match e {
        Error::Io(_) | Error::Json(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    reply(
        status,
        json!({"__type": e.code(), "message": e.to_string()}),
    )
}

fn s<'a>(body: &'a Value, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

fn required<'a>(body: &'a Value, key: &str) -> Result<&'a str, Error> {
    s(body, key).ok_or_else(|| {
        Error::Validation(format!(
            "1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

fn max_results(body: &Value) -> Option<usize> {
    body.get("maxResults")
        .and_then(Value::as_u64)
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

fn execution_json(d: &ExecutionDescription, full: bool) -> Value {
    let mut m = Map::new();
    m.insert("executionArn".into(), json!(d.arn));
    m.insert("stateMachineArn".into(), json!(d.state_machine_arn));
    m.insert("name".into(), json!(d.name));
    m.insert("status".into(), json!(d.status.as_str()));
    m.insert("startDate".into(), json!(epoch_seconds(d.start)));
    if let Some(stop) = d.stop {
        m.insert("stopDate".into(), json!(epoch_seconds(stop)));
    }
    m.insert("redriveCount".into(), json!(0));
    if full {
        m.insert("input".into(), json!(d.input));
        m.insert("inputDetails".into(), json!({"included": true}));
        if let Some(o) = &d.output {
            m.insert("output".into(), json!(o));
            m.insert("outputDetails".into(), json!({"included": true}));
        }
        if let Some(e) = &d.error {
            m.insert("error".into(), json!(e));
        }
        if let Some(c) = &d.cause {
            m.insert("cause".into(), json!(c));
        }
    }
    Value::Object(m)
}

async fn dispatch(engine: &Engine, op: &str, body: &Value) -> Result<Value, Error> {
    match op {
        "CreateStateMachine" => {
            let name = required(body, "name")?;
            let definition = required(body, "definition")?;
            let role = s(body, "roleArn").unwrap_or(crate::engine::DEFAULT_ROLE_ARN);
            if let Some(t) = s(body, "type") {
                if t != "STANDARD" {
                    return Err(Error::Validation(format!(
                        "The local engine runs STANDARD workflows only, not {t}"
                    )));
                }
            }
            let (arn, created) = engine.create_state_machine_with_role(name, definition, role)?;
            Ok(json!({"stateMachineArn": arn, "creationDate": epoch_seconds(created)}))
        }
        "DescribeStateMachine" => {
            let d = engine.describe_state_machine(required(body, "stateMachineArn")?)?;
            Ok(json!({
                "stateMachineArn": d.arn,
                "name": d.name,
                "status": "ACTIVE",
                "definition": d.definition,
                "roleArn": d.role_arn,
                "type": "STANDARD",
                "creationDate": epoch_seconds(d.created),
                "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
                "tracingConfiguration": {"enabled": false},
            }))
        }
        "ListStateMachines" => {
            let list: Vec<Value> = engine
                .list_state_machines()
                .iter()
                .map(|d| {
                    json!({
                        "stateMachineArn": d.arn,
                        "name": d.name,
                        "type": "STANDARD",
                        "creationDate": epoch_seconds(d.created),
                    })
                })
                .collect();
            Ok(json!({"stateMachines": list}))
        }
        "StartExecution" => {
            let (arn, start) = engine.start_execution(
                required(body, "stateMachineArn")?,
                s(body, "name"),
                s(body, "input"),
            )?;
            Ok(json!({"executionArn": arn, "startDate": epoch_seconds(start)}))
        }
        "DescribeExecution" => {
            let d = engine.describe_execution(required(body, "executionArn")?)?;
            Ok(execution_json(&d, true))
        }
        "ListExecutions" => {
            let status = match s(body, "statusFilter") {
                None => None,
                Some(f) => Some(ExecutionStatus::parse(f).ok_or_else(|| {
                    Error::Validation(format!(
                        "1 validation error detected: Value '{f}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [SUCCEEDED, TIMED_OUT, PENDING_REDRIVE, ABORTED, FAILED, RUNNING]"
                    ))
                })?),
            };
            let page = engine.list_executions(&ListExecutionsQuery {
                state_machine_arn: required(body, "stateMachineArn")?.to_string(),
                status,
                max_results: max_results(body),
                next_token: s(body, "nextToken").map(str::to_string),
            })?;
            let list: Vec<Value> = page
                .executions
                .iter()
                .map(|d| execution_json(d, false))
                .collect();
            let mut out = json!({"executions": list});
            if let (Some(t), Some(o)) = (page.next_token, out.as_object_mut()) {
                o.insert("nextToken".into(), json!(t));
            }
            Ok(out)
        }
        "GetExecutionHistory" => {
            let include = body
                .get("includeExecutionData")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let page = engine.history_page(&HistoryQuery {
                execution_arn: required(body, "executionArn")?.to_string(),
                max_results: max_results(body),
                reverse_order: body
                    .get("reverseOrder")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                next_token: s(body, "nextToken").map(str::to_string),
            })?;
            let events: Vec<Value> = page.events.iter().map(|e| e.to_api_json(include)).collect();
            let mut out = json!({"events": events});
            if let (Some(t), Some(o)) = (page.next_token, out.as_object_mut()) {
                o.insert("nextToken".into(), json!(t));
            }
            Ok(out)
        }
        "StopExecution" => {
            let stop = engine
                .stop_execution(
                    required(body, "executionArn")?,
                    s(body, "error"),
                    s(body, "cause"),
                )
                .await?;
            Ok(json!({"stopDate": epoch_seconds(stop)}))
        }
        "SendTaskSuccess" => {
            engine
                .send_task_success(required(body, "taskToken")?, required(body, "output")?)
                .await?;
            Ok(json!({}))
        }
        "SendTaskFailure" => {
            engine
                .send_task_failure(
                    required(body, "taskToken")?,
                    s(body, "error"),
                    s(body, "cause"),
                )
                .await?;
            Ok(json!({}))
        }
        "SendTaskHeartbeat" => {
            engine
                .send_task_heartbeat(required(body, "taskToken")?)
                .await?;
            Ok(json!({}))
        }
        other => Err(Error::UnknownOperation(other.to_string())),
    }
}

async fn handle(State(engine): State<Engine>, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(op) = target.strip_prefix("AWSStepFunctions.") else {
        return error_reply(&Error::UnknownOperation(target.to_string()));
    };
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({"__type": "SerializationException", "message": e.to_string()}),
                )
            }
        }
    };
    tracing::debug!(operation = op, "api request");
    match dispatch(&engine, op, &body).await {
        Ok(v) => reply(StatusCode::OK, v),
        Err(e) => {
            tracing::debug!(operation = op, error = %e, "api error");
            error_reply(&e)
        }
    }
}

/// The API as an axum router (for embedding in another server).
pub fn router(engine: Engine) -> Router {
    Router::new().route("/", post(handle)).with_state(engine)
}

/// Serves the Step Functions API on `listener` until the task is dropped or fails.
pub async fn serve(engine: Engine, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "Step Functions API listening");
    }
    axum::serve(listener, router(engine)).await
}
