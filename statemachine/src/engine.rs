//! The embeddable engine: state machines, executions, their index, task-token routing, and the
//! operations the API server exposes.

use crate::asl::{self, StateMachine};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::history::{self, HistoryEvent};
use crate::invoker::TaskInvoker;
use crate::retry::StateError;
use crate::runner::{self, Runner, Signal, TokenAction};
use crate::store::{Commit, ExecutionRecord, StateMachineRecord, Store};
use crate::{token, ACCOUNT, REGION};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::AbortHandle;

/// AWS's limit on execution input and task output sizes (256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// The role ARN recorded when the caller gives none.
pub const DEFAULT_ROLE_ARN: &str = "arn:aws:iam::000000000000:role/StepFunctionsLocal";

/// Status of an execution, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// Still running.
    Running,
    /// Reached a Succeed state or an End.
    Succeeded,
    /// Failed with an error.
    Failed,
    /// Ran past the state machine's TimeoutSeconds.
    TimedOut,
    /// Stopped by StopExecution.
    Aborted,
}

impl ExecutionStatus {
    /// The API spelling (`RUNNING`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "RUNNING" => ExecutionStatus::Running,
            "SUCCEEDED" => ExecutionStatus::Succeeded,
            "FAILED" => ExecutionStatus::Failed,
            "TIMED_OUT" => ExecutionStatus::TimedOut,
            "ABORTED" => ExecutionStatus::Aborted,
            _ => return None,
        })
    }
}

/// What DescribeStateMachine returns.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachineDescription {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Definition as created.
    pub definition: String,
    /// roleArn as created.
    pub role_arn: String,
    /// Creation time.
    pub created: DateTime<Utc>,
}

/// What DescribeExecution returns.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionDescription {
    /// Execution ARN.
    pub arn: String,
    /// State machine ARN.
    pub state_machine_arn: String,
    /// Execution name.
    pub name: String,
    /// Status.
    pub status: ExecutionStatus,
    /// Start time.
    pub start: DateTime<Utc>,
    /// Stop time, once closed.
    pub stop: Option<DateTime<Utc>>,
    /// Input JSON text.
    pub input: String,
    /// Output JSON text, if succeeded.
    pub output: Option<String>,
    /// Error, if failed/aborted/timed out.
    pub error: Option<String>,
    /// Cause, if any.
    pub cause: Option<String>,
}

/// One row of ListExecutions.
pub type ExecutionSummary = ExecutionDescription;

/// ListExecutions parameters.
#[derive(Debug, Clone, Default)]
pub struct ListExecutionsQuery {
    /// The state machine.
    pub state_machine_arn: String,
    /// Only executions with this status.
    pub status: Option<ExecutionStatus>,
    /// Page size (default 100, at most 1000).
    pub max_results: Option<usize>,
    /// Token from the previous page.
    pub next_token: Option<String>,
}

/// A page of ListExecutions, newest first.
#[derive(Debug, Clone)]
pub struct ListExecutionsPage {
    /// The executions.
    pub executions: Vec<ExecutionSummary>,
    /// Token for the next page.
    pub next_token: Option<String>,
}

/// GetExecutionHistory parameters.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// The execution.
    pub execution_arn: String,
    /// Page size (default 100, at most 1000).
    pub max_results: Option<usize>,
    /// Newest first.
    pub reverse_order: bool,
    /// Token from the previous page.
    pub next_token: Option<String>,
}

/// A page of history.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    /// The events.
    pub events: Vec<HistoryEvent>,
    /// Token for the next page.
    pub next_token: Option<String>,
}

pub(crate) struct Machine {
    pub(crate) record: StateMachineRecord,
    pub(crate) sm: Arc<StateMachine>,
}

pub(crate) struct Live {
    pub(crate) tx: mpsc::UnboundedSender<Signal>,
    pub(crate) abort: Option<AbortHandle>,
}

pub(crate) struct Exec {
    pub(crate) record: ExecutionRecord,
    pub(crate) live: Option<Live>,
    pub(crate) history: Option<Arc<Mutex<Vec<HistoryEvent>>>>,
    pub(crate) watch: Arc<watch::Sender<usize>>,
}

#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) machines: BTreeMap<String, Machine>,
    pub(crate) executions: HashMap<String, Exec>,
    /// Execution ARNs per state machine in start order: the index ListExecutions pages through.
    pub(crate) by_machine: HashMap<String, Vec<String>>,
}

pub(crate) struct Inner {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) invoker: Arc<dyn TaskInvoker>,
    pub(crate) substitutions: HashMap<String, String>,
    pub(crate) store: Store,
    pub(crate) registry: Mutex<Registry>,
}

impl Inner {
    pub(crate) fn reg(&self) -> MutexGuard<'_, Registry> {
        // Registry updates are single assignments; a panic elsewhere cannot corrupt them.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an execution's close in the index (memory and disk).
    pub(crate) fn close_execution(
        &self,
        arn: &str,
        status: ExecutionStatus,
        output: Option<String>,
        error: Option<String>,
        cause: Option<String>,
    ) {
        let now = self.clock.now();
        let rec = {
            let mut reg = self.reg();
            let Some(exec) = reg.executions.get_mut(arn) else {
                return;
            };
            exec.record.status = status.as_str().to_string();
            exec.record.stop = Some(now);
            exec.record.output = output;
            exec.record.error = error;
            exec.record.cause = cause;
            exec.live = None;
            exec.record.clone()
        };
        if let Err(e) = self.store.put_execution(&rec) {
            tracing::error!(execution = arn, error = %e, "could not persist the execution's close");
        }
        tracing::info!(
            execution = arn,
            status = status.as_str(),
            "execution closed"
        );
    }
}

/// The engine; cheap to clone (all clones share one engine).
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=80).contains(&n)
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c))
}

/// The ARN of a state machine called `name`.
pub fn state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}")
}

fn check_arn(arn: &str, kind: &str) -> Result<()> {
    let parts: Vec<&str> = arn.split(':').collect();
    let want = if kind == "execution" { 8 } else { 7 };
    if parts.len() != want || parts[0] != "arn" || parts[2] != "states" || parts[5] != kind {
        return Err(Error::InvalidArn(format!("Invalid ARN prefix: {arn}")));
    }
    Ok(())
}

fn describe(rec: &ExecutionRecord) -> ExecutionDescription {
    ExecutionDescription {
        arn: rec.arn.clone(),
        state_machine_arn: rec.state_machine_arn.clone(),
        name: rec.name.clone(),
        status: ExecutionStatus::parse(&rec.status).unwrap_or(ExecutionStatus::Running),
        start: rec.start,
        stop: rec.stop,
        input: rec.input.clone(),
        output: rec.output.clone(),
        error: rec.error.clone(),
        cause: rec.cause.clone(),
    }
}

fn page_size(max: Option<usize>) -> Result<usize> {
    match max {
        None | Some(0) => Ok(100),
        Some(n) if n <= 1000 => Ok(n),
        Some(n) => Err(Error::Validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"
        ))),
    }
}

impl Engine {
    /// Opens the engine over `dir` (created if missing) and resumes the running executions found
    /// there. Must be called inside a Tokio runtime.
    pub async fn open(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        invoker: Arc<dyn TaskInvoker>,
        substitutions: HashMap<String, String>,
    ) -> Result<Engine> {
        let store = Store::open(dir.as_ref())?;
        let machines = store.state_machines()?;
        let executions = store.executions()?;
        let inner = Arc::new(Inner {
            clock,
            invoker,
            substitutions,
            store,
            registry: Mutex::new(Registry::default()),
        });
        let engine = Engine { inner };
        {
            let mut reg = engine.inner.reg();
            for record in machines {
                match asl::load(&record.definition, &engine.inner.substitutions) {
                    Ok(sm) => {
                        reg.machines.insert(
                            record.arn.clone(),
                            Machine {
                                record,
                                sm: Arc::new(sm),
                            },
                        );
                    }
                    Err(e) => tracing::warn!(
                        state_machine = %record.arn,
                        error = %e,
                        "stored state machine no longer loads with these substitutions; skipped"
                    ),
                }
            }
            for record in executions {
                reg.by_machine
                    .entry(record.state_machine_arn.clone())
                    .or_default()
                    .push(record.arn.clone());
                reg.executions.insert(
                    record.arn.clone(),
                    Exec {
                        record,
                        live: None,
                        history: None,
                        watch: Arc::new(watch::channel(0).0),
                    },
                );
            }
        }
        let running: Vec<ExecutionRecord> = engine
            .inner
            .reg()
            .executions
            .values()
            .filter(|e| e.record.status == "RUNNING")
            .map(|e| e.record.clone())
            .collect();
        for rec in running {
            if let Err(e) = engine.resume(rec.clone()) {
                tracing::error!(execution = %rec.arn, error = %e, "could not resume execution");
            }
        }
        Ok(engine)
    }

    fn resume(&self, rec: ExecutionRecord) -> Result<()> {
        let (events, runtime) = self.inner.store.load_execution(&rec.arn)?;
        let sm = self
            .inner
            .reg()
            .machines
            .get(&rec.state_machine_arn)
            .map(|m| m.sm.clone())
            .ok_or_else(|| Error::StateMachineDoesNotExist(rec.state_machine_arn.clone()))?;
        let runtime = runtime.ok_or_else(|| {
            Error::InvalidExecutionInput(format!("execution {} has no stored state", rec.arn))
        })?;
        let rt: runner::Runtime = serde_json::from_value(runtime)?;
        tracing::info!(execution = %rec.arn, events = events.len(), "resuming execution");
        self.spawn_runner(rec, sm, events, rt);
        Ok(())
    }

    fn spawn_runner(
        &self,
        rec: ExecutionRecord,
        sm: Arc<StateMachine>,
        events: Vec<HistoryEvent>,
        rt: runner::Runtime,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let history = Arc::new(Mutex::new(events));
        let watch = {
            let mut reg = self.inner.reg();
            let Some(exec) = reg.executions.get_mut(&rec.arn) else {
                return;
            };
            exec.history = Some(history.clone());
            exec.live = Some(Live { tx, abort: None });
            exec.watch.clone()
        };
        let runner = Runner::new(self.inner.clone(), sm, rec.clone(), rx, history, watch, rt);
        let handle = tokio::spawn(runner.run());
        let mut reg = self.inner.reg();
        if let Some(live) = reg
            .executions
            .get_mut(&rec.arn)
            .and_then(|e| e.live.as_mut())
        {
            live.abort = Some(handle.abort_handle());
        }
    }

    /// The engine's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    /// Creates a state machine with the default role; see [`Engine::create_state_machine_with_role`].
    pub fn create_state_machine(&self, name: &str, definition: &str) -> Result<String> {
        self.create_state_machine_with_role(name, definition, DEFAULT_ROLE_ARN)
            .map(|(arn, _)| arn)
    }

    /// Loads and validates `definition` (with the engine's substitutions) and registers it under
    /// `name`; idempotent for the same name, definition and role. Returns ARN and creation date.
    pub fn create_state_machine_with_role(
        &self,
        name: &str,
        definition: &str,
        role_arn: &str,
    ) -> Result<(String, DateTime<Utc>)> {
        if !valid_name(name) {
            return Err(Error::InvalidName(name.to_string()));
        }
        let sm = asl::load(definition, &self.inner.substitutions).map_err(|e| {
            Error::InvalidDefinition(format!("Invalid State Machine Definition: '{e}'"))
        })?;
        let arn = state_machine_arn(name);
        let mut reg = self.inner.reg();
        if let Some(existing) = reg.machines.get(&arn) {
            if existing.record.definition == definition && existing.record.role_arn == role_arn {
                return Ok((arn, existing.record.created));
            }
            return Err(Error::StateMachineAlreadyExists(arn));
        }
        let record = StateMachineRecord {
            name: name.to_string(),
            arn: arn.clone(),
            definition: definition.to_string(),
            role_arn: role_arn.to_string(),
            created: self.inner.clock.now(),
        };
        self.inner.store.put_state_machine(&record)?;
        let created = record.created;
        reg.machines.insert(
            arn.clone(),
            Machine {
                record,
                sm: Arc::new(sm),
            },
        );
        tracing::info!(state_machine = %arn, "state machine created");
        Ok((arn, created))
    }

    /// DescribeStateMachine.
    pub fn describe_state_machine(&self, arn: &str) -> Result<StateMachineDescription> {
        check_arn(arn, "stateMachine")?;
        let reg = self.inner.reg();
        let m = reg
            .machines
            .get(arn)
            .ok_or_else(|| Error::StateMachineDoesNotExist(arn.to_string()))?;
        Ok(StateMachineDescription {
            arn: m.record.arn.clone(),
            name: m.record.name.clone(),
            definition: m.record.definition.clone(),
            role_arn: m.record.role_arn.clone(),
            created: m.record.created,
        })
    }

    /// ListStateMachines (all of them, by ARN).
    pub fn list_state_machines(&self) -> Vec<StateMachineDescription> {
        self.inner
            .reg()
            .machines
            .values()
            .map(|m| StateMachineDescription {
                arn: m.record.arn.clone(),
                name: m.record.name.clone(),
                definition: m.record.definition.clone(),
                role_arn: m.record.role_arn.clone(),
                created: m.record.created,
            })
            .collect()
    }

    /// StartExecution: idempotent by name for the same input while running. Returns the
    /// execution ARN and its start date.
    pub fn start_execution(
        &self,
        state_machine_arn: &str,
        name: Option<&str>,
        input: Option<&str>,
    ) -> Result<(String, DateTime<Utc>)> {
        check_arn(state_machine_arn, "stateMachine")?;
        let input_text = input.unwrap_or("{}");
        if input_text.len() > MAX_PAYLOAD_BYTES {
            return Err(Error::InvalidExecutionInput(
                "Execution input exceeds the maximum size of 262144 bytes".into(),
            ));
        }
        let input_value: Value = serde_json::from_str(input_text).map_err(|e| {
            Error::InvalidExecutionInput(format!("Invalid State Machine Execution Input: '{e}'"))
        })?;
        let name = match name {
            Some(n) => n.to_string(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        if !valid_name(&name) {
            return Err(Error::InvalidName(name));
        }
        let mut reg = self.inner.reg();
        let machine = reg
            .machines
            .get(state_machine_arn)
            .ok_or_else(|| Error::StateMachineDoesNotExist(state_machine_arn.to_string()))?;
        let sm = machine.sm.clone();
        let role_arn = machine.record.role_arn.clone();
        let sm_name = machine.record.name.clone();
        let arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{sm_name}:{name}");
        if let Some(existing) = reg.executions.get(&arn) {
            let same_input = serde_json::from_str::<Value>(&existing.record.input).ok()
                == Some(input_value.clone());
            if existing.record.status == "RUNNING" && same_input {
                return Ok((arn, existing.record.start));
            }
            return Err(Error::ExecutionAlreadyExists(arn));
        }
        let start = self.inner.clock.now();
        let record = ExecutionRecord {
            arn: arn.clone(),
            state_machine_arn: state_machine_arn.to_string(),
            name,
            status: "RUNNING".into(),
            start,
            stop: None,
            input: input_value.to_string(),
            output: None,
            error: None,
            cause: None,
        };
        let rt = runner::Runtime::start(&sm.start_at, input_value.clone());
        let first = HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp: start,
            event_type: "ExecutionStarted".into(),
            details_key: Some("executionStartedEventDetails".into()),
            details: history::execution_started(&input_value, &role_arn).details,
        };
        self.inner.store.append_commit(
            &arn,
            &Commit {
                events: vec![first.clone()],
                runtime: serde_json::to_value(&rt)?,
            },
        )?;
        self.inner.store.put_execution(&record)?;
        reg.by_machine
            .entry(state_machine_arn.to_string())
            .or_default()
            .push(arn.clone());
        reg.executions.insert(
            arn.clone(),
            Exec {
                record: record.clone(),
                live: None,
                history: None,
                watch: Arc::new(watch::channel(1).0),
            },
        );
        drop(reg);
        tracing::info!(execution = %arn, "execution started");
        self.spawn_runner(record, sm, vec![first], rt);
        Ok((arn, start))
    }

    /// DescribeExecution.
    pub fn describe_execution(&self, arn: &str) -> Result<ExecutionDescription> {
        check_arn(arn, "execution")?;
        let reg = self.inner.reg();
        let exec = reg
            .executions
            .get(arn)
            .ok_or_else(|| Error::ExecutionDoesNotExist(arn.to_string()))?;
        Ok(describe(&exec.record))
    }

    /// ListExecutions, newest first, from the in-memory index (no history is read).
    pub fn list_executions(&self, q: &ListExecutionsQuery) -> Result<ListExecutionsPage> {
        check_arn(&q.state_machine_arn, "stateMachine")?;
        let size = page_size(q.max_results)?;
        let reg = self.inner.reg();
        if !reg.machines.contains_key(&q.state_machine_arn) {
            return Err(Error::StateMachineDoesNotExist(q.state_machine_arn.clone()));
        }
        let empty = Vec::new();
        let arns = reg.by_machine.get(&q.state_machine_arn).unwrap_or(&empty);
        // The token is the position (in start order) below which the next page starts; it
        // stays valid while new executions are appended.
        let mut end = arns.len();
        if let Some(t) = &q.next_token {
            end = t
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= arns.len())
                .ok_or_else(|| Error::Validation(format!("Invalid nextToken: {t}")))?;
        }
        let mut out = Vec::new();
        let mut pos = end;
        while pos > 0 && out.len() < size {
            pos -= 1;
            if let Some(exec) = reg.executions.get(&arns[pos]) {
                let d = describe(&exec.record);
                if q.status.is_none_or(|s| s == d.status) {
                    out.push(d);
                }
            }
        }
        let more = (0..pos).any(|i| {
            reg.executions.get(&arns[i]).is_some_and(|e| {
                q.status
                    .is_none_or(|s| ExecutionStatus::parse(&e.record.status) == Some(s))
            })
        });
        Ok(ListExecutionsPage {
            executions: out,
            next_token: more.then(|| pos.to_string()),
        })
    }

    /// The full history of an execution.
    pub fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>> {
        check_arn(arn, "execution")?;
        let mem = {
            let reg = self.inner.reg();
            let exec = reg
                .executions
                .get(arn)
                .ok_or_else(|| Error::ExecutionDoesNotExist(arn.to_string()))?;
            exec.history.clone()
        };
        match mem {
            Some(h) => Ok(h.lock().unwrap_or_else(|e| e.into_inner()).clone()),
            None => Ok(self.inner.store.load_execution(arn)?.0),
        }
    }

    /// GetExecutionHistory with paging (event ids as tokens) and reverse order.
    pub fn history_page(&self, q: &HistoryQuery) -> Result<HistoryPage> {
        let size = page_size(q.max_results)?;
        let all = self.history(&q.execution_arn)?;
        let after: Option<u64> = match &q.next_token {
            None => None,
            Some(t) => Some(
                t.parse()
                    .map_err(|_| Error::Validation(format!("Invalid nextToken: {t}")))?,
            ),
        };
        let iter: Box<dyn Iterator<Item = &HistoryEvent>> = if q.reverse_order {
            Box::new(all.iter().rev().filter(|e| after.is_none_or(|a| e.id < a)))
        } else {
            Box::new(all.iter().filter(|e| after.is_none_or(|a| e.id > a)))
        };
        let rest: Vec<HistoryEvent> = iter.cloned().collect();
        let more = rest.len() > size;
        let events: Vec<HistoryEvent> = rest.into_iter().take(size).collect();
        let next_token = if more {
            events.last().map(|e| e.id.to_string())
        } else {
            None
        };
        Ok(HistoryPage { events, next_token })
    }

    fn live_sender(&self, arn: &str) -> Result<Option<mpsc::UnboundedSender<Signal>>> {
        let reg = self.inner.reg();
        let exec = reg
            .executions
            .get(arn)
            .ok_or_else(|| Error::ExecutionDoesNotExist(arn.to_string()))?;
        Ok(exec.live.as_ref().map(|l| l.tx.clone()))
    }

    /// StopExecution: aborts a running execution (its waiting task token becomes dead).
    /// Returns the stop date.
    pub async fn stop_execution(
        &self,
        arn: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<DateTime<Utc>> {
        check_arn(arn, "execution")?;
        if let Some(tx) = self.live_sender(arn)? {
            let (reply, rx) = oneshot::channel();
            let sent = tx.send(Signal::Stop {
                error: error.map(str::to_string),
                cause: cause.map(str::to_string),
                reply,
            });
            if sent.is_ok() {
                if let Ok(stop) = rx.await {
                    return Ok(stop);
                }
            }
        }
        // Already closed: report when it stopped.
        let d = self.describe_execution(arn)?;
        Ok(d.stop.unwrap_or_else(|| self.inner.clock.now()))
    }

    async fn send_token(&self, task_token: &str, action: TokenAction) -> Result<()> {
        let arn = token::execution_of(task_token)
            .ok_or_else(|| Error::InvalidToken("Invalid token".to_string()))?;
        let tx = match self.live_sender(&arn) {
            Ok(tx) => tx,
            Err(Error::ExecutionDoesNotExist(_)) => return Err(Error::TaskDoesNotExist),
            Err(e) => return Err(e),
        };
        let Some(tx) = tx else {
            return Err(Error::TaskTimedOut);
        };
        let (reply, rx) = oneshot::channel();
        tx.send(Signal::Token {
            token: task_token.to_string(),
            action,
            reply,
        })
        .map_err(|_| Error::TaskTimedOut)?;
        rx.await.unwrap_or(Err(Error::TaskTimedOut))
    }

    /// SendTaskSuccess with the task's JSON output.
    pub async fn send_task_success(&self, task_token: &str, output: &str) -> Result<()> {
        if output.len() > MAX_PAYLOAD_BYTES {
            return Err(Error::InvalidOutput("Output exceeds 262144 bytes".into()));
        }
        let v: Value = serde_json::from_str(output)
            .map_err(|e| Error::InvalidOutput(format!("Invalid output: {e}")))?;
        self.send_token(task_token, TokenAction::Success(v)).await
    }

    /// SendTaskFailure with optional error and cause.
    pub async fn send_task_failure(
        &self,
        task_token: &str,
        error: Option<&str>,
        cause: Option<&str>,
    ) -> Result<()> {
        let err = StateError {
            error: error.unwrap_or("").to_string(),
            cause: cause.map(str::to_string),
            heartbeat: false,
        };
        self.send_token(task_token, TokenAction::Failure(err)).await
    }

    /// SendTaskHeartbeat (resets the heartbeat timer; no history event, like AWS).
    pub async fn send_task_heartbeat(&self, task_token: &str) -> Result<()> {
        self.send_token(task_token, TokenAction::Heartbeat).await
    }

    /// Waits until the execution's history satisfies `pred`; returns that history.
    pub async fn wait_for<F>(&self, arn: &str, pred: F) -> Result<Vec<HistoryEvent>>
    where
        F: Fn(&[HistoryEvent]) -> bool,
    {
        let mut rx = {
            let reg = self.inner.reg();
            reg.executions
                .get(arn)
                .ok_or_else(|| Error::ExecutionDoesNotExist(arn.to_string()))?
                .watch
                .subscribe()
        };
        loop {
            let h = self.history(arn)?;
            if pred(&h) {
                return Ok(h);
            }
            if rx.changed().await.is_err() {
                return Ok(h);
            }
        }
    }

    /// Waits until the execution is closed; returns its description.
    pub async fn wait_for_completion(&self, arn: &str) -> Result<ExecutionDescription> {
        self.wait_for(arn, |h| {
            h.last().is_some_and(|e| {
                matches!(
                    e.event_type.as_str(),
                    "ExecutionSucceeded"
                        | "ExecutionFailed"
                        | "ExecutionAborted"
                        | "ExecutionTimedOut"
                )
            })
        })
        .await?;
        // The index is updated right after the closing commit; wait for it too.
        loop {
            let d = self.describe_execution(arn)?;
            if d.status != ExecutionStatus::Running {
                return Ok(d);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Stops every execution task without recording anything, as a crash would (for tests of
    /// restart; the state on disk is what the last commit wrote).
    pub fn halt(&self) {
        let mut reg = self.inner.reg();
        for exec in reg.executions.values_mut() {
            if let Some(live) = exec.live.take() {
                if let Some(a) = live.abort {
                    a.abort();
                }
            }
        }
    }
}
