//! The AWS calls behind the pages: start, list live previews, describe one, send callbacks.

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use chrono::{DateTime, TimeZone, Utc};
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::PreviewRequest;
use preview_tasks::domain::tags;
use preview_tasks::instances::{self, ALIVE_STATES};
use serde_json::{json, Value};

use crate::audit::Event;
use crate::error::WebError;
use crate::state::AppState;

/// One live preview as the list shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LivePreview {
    /// The preview id (= execution name).
    pub id: String,
    /// When its execution started.
    pub started: Option<DateTime<Utc>>,
    /// Who asked (from the instance tags; empty before launch).
    pub requester: String,
    /// Backend source (`pr-9876`, `branch-main`, …).
    pub backend: String,
    /// UI source.
    pub ui: String,
    /// Phase: capacity (no instance yet), launching, building, healthy, expiring.
    pub phase: String,
    /// The UI once ready.
    pub ui_url: Option<String>,
    /// The REST API once ready.
    pub rest_url: Option<String>,
    /// When it will be stopped.
    pub expires_at: Option<DateTime<Utc>>,
    /// The EC2 instance.
    pub instance_id: Option<String>,
}

fn to_utc(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single())
}

/// Starts a preview's execution; returns its ARN.
pub async fn start(
    state: &AppState,
    id: &PreviewId,
    request: &PreviewRequest,
) -> Result<String, WebError> {
    let input = json!({"preview_id": id, "request": request}).to_string();
    let out = state
        .clients
        .sfn
        .start_execution()
        .state_machine_arn(&state.state_machine_arn)
        .name(id.as_str())
        .input(input)
        .send()
        .await
        .map_err(|e| {
            WebError::aws(
                "states:StartExecution",
                aws_sdk_sfn::error::DisplayErrorContext(e),
            )
        })?;
    Ok(out.execution_arn().to_string())
}

/// The live previews: one ListExecutions page and one DescribeInstances, however many there are.
pub async fn live(state: &AppState) -> Result<Vec<LivePreview>, WebError> {
    let executions = state
        .clients
        .sfn
        .list_executions()
        .state_machine_arn(&state.state_machine_arn)
        .status_filter(ExecutionStatus::Running)
        .max_results(100)
        .send()
        .await
        .map_err(|e| {
            WebError::aws(
                "states:ListExecutions",
                aws_sdk_sfn::error::DisplayErrorContext(e),
            )
        })?;
    let found =
        instances::find(&state.clients.ec2, &state.config.stack, &ALIVE_STATES, &[]).await?;
    let mut live = Vec::new();
    for ex in executions.executions() {
        let arn = ex.execution_arn();
        let instance = found.iter().find(|i| {
            instances::tag(i, tags::EXECUTION) == Some(arn)
                || instances::tag(i, tags::PREVIEW_ID) == Some(ex.name())
        });
        let tag = |k: &str| {
            instance
                .and_then(|i| instances::tag(i, k))
                .unwrap_or_default()
                .to_string()
        };
        let opt = |k: &str| Some(tag(k)).filter(|v| !v.is_empty());
        live.push(LivePreview {
            id: ex.name().to_string(),
            started: to_utc(Some(ex.start_date())),
            requester: tag(tags::REQUESTER),
            backend: tag(tags::BACKEND),
            ui: tag(tags::UI),
            phase: opt(tags::PHASE).unwrap_or_else(|| "capacity".into()),
            ui_url: opt(tags::UI_URL),
            rest_url: opt(tags::REST_URL),
            expires_at: opt(tags::EXPIRES_AT)
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
            instance_id: instance.and_then(|i| i.instance_id()).map(str::to_string),
        });
    }
    Ok(live)
}

/// One preview's execution: status, output and history.
#[derive(Debug, Clone)]
pub struct Detail {
    /// The preview id.
    pub id: String,
    /// The execution ARN.
    pub arn: String,
    /// RUNNING, SUCCEEDED, FAILED, ABORTED, TIMED_OUT.
    pub status: String,
    /// The execution output once finished (`outcome`, `detail`, `ui_url`, …).
    pub output: Value,
    /// Its history, oldest first.
    pub events: Vec<Event>,
}

impl Detail {
    /// True while the execution runs.
    pub fn running(&self) -> bool {
        self.status == "RUNNING"
    }
}

/// DescribeExecution of a preview's execution; 404 when there is no such execution.
async fn describe(
    state: &AppState,
    id: &PreviewId,
    arn: &str,
) -> Result<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput, WebError> {
    state
        .clients
        .sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_execution_does_not_exist())
            {
                WebError::NotFound(format!("there is no preview {id}"))
            } else {
                WebError::aws(
                    "states:DescribeExecution",
                    aws_sdk_sfn::error::DisplayErrorContext(e),
                )
            }
        })
}

/// Describes a preview and reads its whole history; 404 when there is no such execution.
pub async fn detail(state: &AppState, id: &PreviewId) -> Result<Detail, WebError> {
    let arn = state.execution_arn(id.as_str());
    let described = describe(state, id, &arn).await?;
    let mut events = Vec::new();
    let mut pages = state
        .clients
        .sfn
        .get_execution_history()
        .execution_arn(&arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            WebError::aws(
                "states:GetExecutionHistory",
                aws_sdk_sfn::error::DisplayErrorContext(e),
            )
        })?;
        events.extend(page.events().iter().map(event));
    }
    Ok(Detail {
        id: id.to_string(),
        arn,
        status: described.status().as_str().to_string(),
        output: described
            .output()
            .and_then(|o| serde_json::from_str(o).ok())
            .unwrap_or(Value::Null),
        events,
    })
}

/// The fields of a history event the audit log reads.
pub fn event(e: &HistoryEvent) -> Event {
    let mut out = Event {
        kind: e.r#type().as_str().to_string(),
        at: to_utc(Some(e.timestamp())).unwrap_or_default(),
        ..Default::default()
    };
    let s = |v: Option<&str>| v.map(str::to_string);
    if let Some(d) = e.state_entered_event_details() {
        out.state = Some(d.name().to_string());
    }
    if let Some(d) = e.execution_started_event_details() {
        out.input = s(d.input());
    }
    if let Some(d) = e.task_succeeded_event_details() {
        out.output = s(d.output());
    }
    if let Some(d) = e.execution_succeeded_event_details() {
        out.output = s(d.output());
    }
    if let Some(d) = e.task_failed_event_details() {
        (out.error, out.cause) = (s(d.error()), s(d.cause()));
    }
    if let Some(d) = e.task_timed_out_event_details() {
        (out.error, out.cause) = (s(d.error()), s(d.cause()));
    }
    if let Some(d) = e.execution_failed_event_details() {
        (out.error, out.cause) = (s(d.error()), s(d.cause()));
    }
    if let Some(d) = e.execution_aborted_event_details() {
        (out.error, out.cause) = (s(d.error()), s(d.cause()));
    }
    out
}

/// What a callback achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// The workflow took it.
    Sent,
    /// The preview has already ended.
    Ended,
    /// The preview is not waiting yet (still starting) or is handling the previous callback.
    NotWaiting,
}

/// Extends (`minutes` = Some) or stops (None) a preview on behalf of `by`.
pub async fn callback(
    state: &AppState,
    id: &PreviewId,
    minutes: Option<u32>,
    by: &str,
) -> Result<Callback, WebError> {
    let arn = state.execution_arn(id.as_str());
    let described = describe(state, id, &arn).await?;
    if described.status() != &ExecutionStatus::Running {
        return Ok(Callback::Ended);
    }
    let token = match state
        .clients
        .ssm
        .get_parameter()
        .name(state.config.names().task_token(id))
        .with_decryption(true)
        .send()
        .await
    {
        Ok(out) => out
            .parameter()
            .and_then(|p| p.value())
            .unwrap_or_default()
            .to_string(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            return Ok(Callback::NotWaiting)
        }
        Err(e) => {
            return Err(WebError::aws(
                "ssm:GetParameter",
                aws_sdk_ssm::error::DisplayErrorContext(e),
            ))
        }
    };
    let body = match minutes {
        Some(m) => json!({"action": "extend", "minutes": m, "by": by}),
        None => json!({"action": "stop", "by": by}),
    };
    match state
        .clients
        .sfn
        .send_task_success()
        .task_token(token)
        .output(body.to_string())
        .send()
        .await
    {
        Ok(_) => Ok(Callback::Sent),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_task_timed_out() || s.is_invalid_token() || s.is_task_does_not_exist()
            }) =>
        {
            Ok(Callback::NotWaiting)
        }
        Err(e) => Err(WebError::aws(
            "states:SendTaskSuccess",
            aws_sdk_sfn::error::DisplayErrorContext(e),
        )),
    }
}
