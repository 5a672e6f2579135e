//! The AWS calls behind the pages: start, list live previews, describe one, send callbacks.

use aws_sdk_ec2::types::Instance;
use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus, HistoryEvent};
use chrono::{DateTime, TimeZone, Utc};
use preview_tasks::domain::phase::Phase;
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::{ExecutionInput, PreviewRequest};
use preview_tasks::domain::tags;
use preview_tasks::instances::{self, ALIVE_STATES};
use preview_tasks::steps::await_expiry::stored_token;
use preview_tasks::steps::extend::ExtendOutput;
use preview_tasks::steps::types::Callback as TaskCallback;
use preview_tasks::Config;
use serde_json::{json, Value};

use crate::audit::{self, Capacity, Event};
use crate::error::{OrAws, WebError};
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
    /// Backend source (`#9876` or a branch; empty = the base branch's published image).
    pub backend: String,
    /// UI source.
    pub ui: String,
    /// The branch both sides build on.
    pub base_branch: String,
    /// Sample content (entities, aip, none).
    pub sample_content: String,
    /// Backend environment overrides as tagged (`KEY=value; …`).
    pub env: String,
    /// The EC2 instance type.
    pub instance_type: String,
    /// Phase: capacity (no instance yet), launching, building, healthy, expiring.
    pub phase: Phase,
    /// While it builds: the boot phase the instance last reported, and since when.
    pub boot_phase: Option<(String, Option<DateTime<Utc>>)>,
    /// The UI once ready.
    pub ui_url: Option<String>,
    /// The REST API once ready.
    pub rest_url: Option<String>,
    /// When it will be stopped.
    pub expires_at: Option<DateTime<Utc>>,
    /// The EC2 instance.
    pub instance_id: Option<String>,
}

/// One finished preview as the past list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastPreview {
    /// The preview id.
    pub id: String,
    /// SUCCEEDED (ended as planned), FAILED, ABORTED or TIMED_OUT.
    pub status: String,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub stopped: DateTime<Utc>,
    /// When its URL worked (never, for a preview that failed before).
    pub ready_at: Option<DateTime<Utc>>,
}

impl PastPreview {
    /// How long it lived, in minutes (rounded up: billing is per second, estimates are coarse).
    pub fn minutes(&self) -> u64 {
        let secs = (self.stopped - self.started).num_seconds().max(0);
        u64::try_from(secs).unwrap_or(0).div_ceil(60)
    }

    /// Minutes from Launch to a working URL (rounded to the nearest), if it got one.
    pub fn minutes_to_url(&self) -> Option<u64> {
        let secs = (self.ready_at? - self.started).num_seconds().max(0);
        Some(u64::try_from(secs).unwrap_or(0).saturating_add(30) / 60)
    }
}

/// What the home page shows, from a fixed number of AWS calls however many previews there are.
#[derive(Debug, Clone)]
pub struct Overview {
    /// The previews whose executions run.
    pub live: Vec<LivePreview>,
    /// The most recent finished previews, newest first.
    pub past: Vec<PastPreview>,
    /// The dials in force now (SSM overrides applied).
    pub config: Config,
}

/// How many finished previews the home page lists.
pub const PAST_SHOWN: usize = 25;

fn to_utc(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single())
}

/// Starts a preview's execution; returns its ARN.
pub async fn start(
    state: &AppState,
    id: &PreviewId,
    request: &PreviewRequest,
) -> Result<String, WebError> {
    let input = serde_json::to_string(&ExecutionInput {
        preview_id: id.clone(),
        request: request.clone(),
    })
    .map_err(|e| WebError::BadRequest(format!("the request cannot be sent: {e}")))?;
    let out = state
        .ctx
        .clients
        .sfn
        .start_execution()
        .state_machine_arn(&state.state_machine_arn)
        .name(id.as_str())
        .input(input)
        .send()
        .await
        .or_aws("states:StartExecution")?;
    Ok(out.execution_arn().to_string())
}

/// One page of the state machine's executions, newest first.
async fn executions(
    state: &AppState,
    status: Option<ExecutionStatus>,
) -> Result<Vec<ExecutionListItem>, WebError> {
    let out = state
        .ctx
        .clients
        .sfn
        .list_executions()
        .state_machine_arn(&state.state_machine_arn)
        .set_status_filter(status)
        .max_results(100)
        .send()
        .await
        .or_aws("states:ListExecutions")?;
    Ok(out.executions().to_vec())
}

/// The live and recent previews and the dials: four calls in parallel (running executions,
/// recent executions, our instances, the SSM dials).
pub async fn overview(state: &AppState) -> Result<Overview, WebError> {
    let (running, recent, found, config) = tokio::try_join!(
        executions(state, Some(ExecutionStatus::Running)),
        executions(state, None),
        async {
            instances::find(
                &state.ctx.clients.ec2,
                &state.ctx.base.stack,
                &ALIVE_STATES,
                &[],
            )
            .await
            .map_err(WebError::from)
        },
        async { state.ctx.config().await.map_err(WebError::from) },
    )?;
    let mut past = past_previews(&recent);
    state
        .time_to_url
        .fill(&state.ctx.clients.sfn, &mut past, |id| {
            state.execution_arn(id)
        })
        .await;
    Ok(Overview {
        live: live_previews(&running, &found),
        past,
        config,
    })
}

/// The live previews: each running execution with its instance's tags, if it has one yet.
pub fn live_previews(running: &[ExecutionListItem], found: &[Instance]) -> Vec<LivePreview> {
    running
        .iter()
        .map(|ex| {
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
            LivePreview {
                id: ex.name().to_string(),
                started: to_utc(Some(ex.start_date())),
                requester: tag(tags::REQUESTER),
                backend: tag(tags::BACKEND),
                ui: tag(tags::UI),
                base_branch: tag(tags::BASE_BRANCH),
                sample_content: tag(tags::SAMPLE_CONTENT),
                env: tag(tags::ENV),
                instance_type: instance
                    .and_then(|i| i.instance_type())
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                phase: opt(tags::PHASE)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(Phase::Capacity),
                boot_phase: opt(tags::BOOT_PHASE).map(|p| {
                    let since = opt(tags::BOOT_PHASE_SINCE)
                        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                        .map(|t| t.with_timezone(&Utc));
                    (p, since)
                }),
                ui_url: opt(tags::UI_URL),
                rest_url: opt(tags::REST_URL),
                expires_at: opt(tags::EXPIRES_AT)
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc)),
                instance_id: instance.and_then(|i| i.instance_id()).map(str::to_string),
            }
        })
        .collect()
}

/// The finished previews among `recent`, newest first, at most [`PAST_SHOWN`].
pub fn past_previews(recent: &[ExecutionListItem]) -> Vec<PastPreview> {
    recent
        .iter()
        .filter(|ex| ex.status() != &ExecutionStatus::Running)
        .filter_map(|ex| {
            Some(PastPreview {
                id: ex.name().to_string(),
                status: ex.status().as_str().to_string(),
                started: to_utc(Some(ex.start_date()))?,
                stopped: to_utc(ex.stop_date())?,
                ready_at: None,
            })
        })
        .take(PAST_SHOWN)
        .collect()
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
        .ctx
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
                WebError::from_sdk("states:DescribeExecution", e)
            }
        })
}

/// A preview's whole history, oldest first.
async fn history(state: &AppState, arn: &str) -> Result<Vec<Event>, WebError> {
    let mut events = Vec::new();
    let mut pages = state
        .ctx
        .clients
        .sfn
        .get_execution_history()
        .execution_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.or_aws("states:GetExecutionHistory")?;
        events.extend(page.events().iter().map(event));
    }
    Ok(events)
}

/// Describes a preview and reads its whole history; 404 when there is no such execution.
pub async fn detail(state: &AppState, id: &PreviewId) -> Result<Detail, WebError> {
    let arn = state.execution_arn(id.as_str());
    let described = describe(state, id, &arn).await?;
    let events = history(state, &arn).await?;
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

/// A preview's execution input (`None` when unreadable); 404 when there is no such execution.
/// One DescribeExecution, no history.
pub async fn input(state: &AppState, id: &PreviewId) -> Result<Option<ExecutionInput>, WebError> {
    let arn = state.execution_arn(id.as_str());
    let described = describe(state, id, &arn).await?;
    Ok(described
        .input()
        .and_then(|i| serde_json::from_str::<ExecutionInput>(i).ok()))
}

/// Who launched a preview (its execution input's requester; empty when unreadable); 404 when
/// there is no such execution. One DescribeExecution, no history.
pub async fn requester(state: &AppState, id: &PreviewId) -> Result<String, WebError> {
    Ok(input(state, id)
        .await?
        .map(|i| i.request.requester)
        .unwrap_or_default())
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
    if let Some(d) = e.lambda_function_succeeded_event_details() {
        out.output = s(d.output());
    }
    if let Some(d) = e.lambda_function_failed_event_details() {
        (out.error, out.cause) = (s(d.error()), s(d.cause()));
    }
    if let Some(d) = e.lambda_function_timed_out_event_details() {
        (out.error, out.cause) = (s(d.error()), s(d.cause()));
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

/// The preview's DSpace admin password; `None` until the instance has created the account.
pub async fn admin_password(state: &AppState, id: &PreviewId) -> Result<Option<String>, WebError> {
    let name = state.ctx.base.names().admin_password(id);
    Ok(preview_tasks::parameters::value(&state.ctx.clients.ssm, &name).await?)
}

/// What a callback asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Extend by these minutes.
    Extend(u32),
    /// Stop now.
    Stop,
}

/// What a callback achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// The workflow took it.
    Sent,
    /// The preview has already ended.
    Ended,
    /// The preview is not waiting for an extend yet (still building) or is handling the previous
    /// callback.
    NotWaiting,
    /// No callback waits (the preview is building, or between two waits): a stop request was
    /// stored, which the workflow acts on at its next health check or wait.
    StopRequested,
}

/// Extends or stops a preview on behalf of `by`. A stop works in every phase: when no task
/// token waits, or the stored one is stale, it is recorded as a stop request instead.
pub async fn callback(
    state: &AppState,
    id: &PreviewId,
    action: Action,
    by: &str,
) -> Result<Callback, WebError> {
    let arn = state.execution_arn(id.as_str());
    let described = describe(state, id, &arn).await?;
    if described.status() != &ExecutionStatus::Running {
        return Ok(Callback::Ended);
    }
    let names = state.ctx.base.names();
    let token = stored_token(&state.ctx.clients.ssm, &names, id).await?;
    let sent = match token {
        Some(token) => send(state, token, action, by).await?,
        None => false,
    };
    match (sent, action) {
        (true, _) => Ok(Callback::Sent),
        (false, Action::Extend(_)) => Ok(Callback::NotWaiting),
        (false, Action::Stop) => {
            preview_tasks::stop_request::request(
                &state.ctx.clients.ssm,
                &names,
                id,
                by,
                Utc::now(),
            )
            .await?;
            Ok(Callback::StopRequested)
        }
    }
}

/// Hands the callback to the waiting task; false when the token is stale (the wait it belonged
/// to has ended).
async fn send(state: &AppState, token: String, action: Action, by: &str) -> Result<bool, WebError> {
    let by = Some(by.to_string());
    let body = match action {
        Action::Extend(minutes) => TaskCallback::Extend { minutes, by },
        Action::Stop => TaskCallback::Stop { by },
    };
    match state
        .ctx
        .clients
        .sfn
        .send_task_success()
        .task_token(token)
        .output(json!(body).to_string())
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_task_timed_out() || s.is_invalid_token() || s.is_task_does_not_exist()
            }) =>
        {
            Ok(false)
        }
        Err(e) => Err(WebError::from_sdk("states:SendTaskSuccess", e)),
    }
}

/// How often a short wait for the workflow reads the history.
const POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Reads the history until `decide` answers or `wait` has passed (then `None`).
async fn watch<T>(
    state: &AppState,
    id: &PreviewId,
    wait: std::time::Duration,
    decide: impl Fn(&[Event]) -> Option<T>,
) -> Result<Option<T>, WebError> {
    let until = tokio::time::Instant::now() + wait;
    // A zero wait reads nothing: the answer is "not yet" without asking.
    while tokio::time::Instant::now() < until {
        let events = history(state, &state.execution_arn(id.as_str())).await?;
        if let Some(answer) = decide(&events) {
            return Ok(Some(answer));
        }
        tokio::time::sleep(POLL.min(until - tokio::time::Instant::now())).await;
    }
    Ok(None)
}

/// Waits up to `wait` for the capacity check of a just-started preview.
pub async fn await_capacity(
    state: &AppState,
    id: &PreviewId,
    wait: std::time::Duration,
) -> Result<Capacity, WebError> {
    Ok(watch(state, id, wait, audit::capacity)
        .await?
        .unwrap_or(Capacity::Undecided))
}

/// How many extends the workflow has recorded for a preview.
pub async fn extends_recorded(state: &AppState, id: &PreviewId) -> Result<usize, WebError> {
    let events = history(state, &state.execution_arn(id.as_str())).await?;
    Ok(audit::extends(&events).len())
}

/// Waits up to `wait` for the extend after the `before` recorded ones; `None` when it has not
/// been recorded yet.
pub async fn await_extend(
    state: &AppState,
    id: &PreviewId,
    before: usize,
    wait: std::time::Duration,
) -> Result<Option<ExtendOutput>, WebError> {
    watch(state, id, wait, |events| {
        audit::extends(events).into_iter().nth(before)
    })
    .await
}
