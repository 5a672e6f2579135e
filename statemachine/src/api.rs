//! The Step Functions API over HTTP (awsJson 1.0: `POST /` with `X-Amz-Target:
//! AWSStepFunctions.<Operation>`), so `aws-sdk-sfn` and the AWS CLI work unchanged.

use crate::engine::{
    Engine, ExecutionDescription, ExecutionStatus, ExecutionSummary, HistoryQuery,
    ListExecutionsQuery,
};
use crate::error::Error;
use crate::history::epoch_seconds;
use crate::request::{self as req, parse};
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

fn summary_json(d: &ExecutionSummary) -> Map<String, Value> {
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
    m
}

/// DescribeExecution's answer; `data` is false for `includedData: METADATA_ONLY`.
fn description_json(d: &ExecutionDescription, data: bool) -> Value {
    let mut m = summary_json(&ExecutionSummary {
        arn: d.arn.clone(),
        state_machine_arn: d.state_machine_arn.clone(),
        name: d.name.clone(),
        status: d.status,
        start: d.start,
        stop: d.stop,
    });
    if data {
        m.insert("input".into(), json!(d.input));
        m.insert("inputDetails".into(), json!({"included": true}));
        if let Some(o) = &d.output {
            m.insert("output".into(), json!(o));
            m.insert("outputDetails".into(), json!({"included": true}));
        }
    }
    if let Some(e) = &d.error {
        m.insert("error".into(), json!(e));
    }
    if let Some(c) = &d.cause {
        m.insert("cause".into(), json!(c));
    }
    Value::Object(m)
}

fn with_token(mut out: Value, token: Option<String>) -> Value {
    if let (Some(t), Some(o)) = (token, out.as_object_mut()) {
        o.insert("nextToken".into(), json!(t));
    }
    out
}

/// Runs one operation: the body is read into the operation's typed request (wrong JSON types
/// are a `SerializationException`), its constraints checked (a `ValidationException`), and only
/// then is the engine called.
async fn dispatch(engine: &Engine, op: &str, body: &[u8]) -> Result<Value, Error> {
    match op {
        "CreateStateMachine" => {
            let r = parse::<req::CreateStateMachine>(body)?.validate()?;
            if let Some(t) = r.kind.as_deref().filter(|t| *t != "STANDARD") {
                return Err(Error::Validation(format!(
                    "The local engine runs STANDARD workflows only, not {t}"
                )));
            }
            let (arn, created) =
                engine.create_state_machine_with_role(&r.name, &r.definition, &r.role_arn)?;
            Ok(json!({"stateMachineArn": arn, "creationDate": epoch_seconds(created)}))
        }
        "DescribeStateMachine" => {
            let arn = parse::<req::DescribeStateMachine>(body)?.validate()?;
            let d = engine.describe_state_machine(&arn)?;
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
            let (max, token) = parse::<req::ListStateMachines>(body)?.validate()?;
            let size = match max {
                None | Some(0) => 100,
                Some(n) => n,
            };
            // The token is the ARN of the last state machine of the previous page.
            if let Some(t) = &token {
                if !t.starts_with("arn:aws:states:") {
                    return Err(Error::InvalidToken(t.clone()));
                }
            }
            let all = engine.list_state_machines();
            let rest: Vec<_> = all
                .iter()
                .filter(|d| token.as_deref().is_none_or(|t| d.arn.as_str() > t))
                .collect();
            let page: Vec<Value> = rest
                .iter()
                .take(size)
                .map(|d| {
                    json!({
                        "stateMachineArn": d.arn,
                        "name": d.name,
                        "type": "STANDARD",
                        "creationDate": epoch_seconds(d.created),
                    })
                })
                .collect();
            let next = (rest.len() > size).then(|| rest[size - 1].arn.clone());
            Ok(with_token(json!({"stateMachines": page}), next))
        }
        "StartExecution" => {
            let r = parse::<req::StartExecution>(body)?.validate()?;
            let (arn, start) = engine.start_execution(
                &r.state_machine_arn,
                r.name.as_deref(),
                r.input.as_deref(),
            )?;
            Ok(json!({"executionArn": arn, "startDate": epoch_seconds(start)}))
        }
        "DescribeExecution" => {
            let (arn, data) = parse::<req::DescribeExecution>(body)?.validate()?;
            let d = engine.describe_execution(&arn)?;
            Ok(description_json(&d, data))
        }
        "ListExecutions" => {
            let r = parse::<req::ListExecutions>(body)?.validate()?;
            let Some(state_machine_arn) = r.state_machine_arn else {
                // Only Map states have Map Runs, and this engine runs no Map state.
                return Err(Error::ResourceNotFound(r.map_run_arn.unwrap_or_default()));
            };
            // Valid filters no execution here can match: nothing is redriven.
            let none = r.status_filter.as_deref() == Some("PENDING_REDRIVE")
                || r.redrive_filter.as_deref() == Some("REDRIVEN");
            let page = engine.list_executions(&ListExecutionsQuery {
                state_machine_arn,
                status: r.status_filter.as_deref().and_then(ExecutionStatus::parse),
                max_results: if none { Some(1) } else { r.max_results },
                next_token: r.next_token,
            })?;
            if none {
                return Ok(json!({"executions": []}));
            }
            let list: Vec<Value> = page
                .executions
                .iter()
                .map(|d| Value::Object(summary_json(d)))
                .collect();
            Ok(with_token(json!({"executions": list}), page.next_token))
        }
        "GetExecutionHistory" => {
            let r = parse::<req::GetExecutionHistory>(body)?.validate()?;
            let page = engine.history_page(&HistoryQuery {
                execution_arn: r.execution_arn,
                max_results: r.max_results,
                reverse_order: r.reverse_order,
                next_token: r.next_token,
            })?;
            let events: Vec<Value> = page
                .events
                .iter()
                .map(|e| e.to_api_json(r.include_execution_data))
                .collect();
            Ok(with_token(json!({"events": events}), page.next_token))
        }
        "StopExecution" => {
            let r = parse::<req::StopExecution>(body)?.validate()?;
            let stop = engine
                .stop_execution(&r.target, r.error.as_deref(), r.cause.as_deref())
                .await?;
            Ok(json!({"stopDate": epoch_seconds(stop)}))
        }
        "SendTaskSuccess" => {
            let (token, output) = parse::<req::SendTaskSuccess>(body)?.validate()?;
            engine.send_task_success(&token, &output).await?;
            Ok(json!({}))
        }
        "SendTaskFailure" => {
            let r = parse::<req::SendTaskFailure>(body)?.validate()?;
            engine
                .send_task_failure(&r.target, r.error.as_deref(), r.cause.as_deref())
                .await?;
            Ok(json!({}))
        }
        "SendTaskHeartbeat" => {
            let token = parse::<req::SendTaskHeartbeat>(body)?.validate()?;
            engine.send_task_heartbeat(&token).await?;
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
