//! Drives one execution through its states: the ASL semantics (paths, Retry, Catch, timeouts,
//! task tokens), the history events, and a commit to disk at every step so that a new engine
//! over the same directory resumes where this one stopped.

use crate::asl::{
    FailField, Invocation, IoPath, Kind, Resource, Seconds, State, StateMachine, StateType,
    TaskSpec, Transition, WaitFor, LAMBDA,
};
use crate::choice;
use crate::engine::{Inner, MAX_PAYLOAD_BYTES};
use crate::error::Error;
use crate::history::{self, EventType, HistoryEvent, NewEvent};
use crate::invoker::{fire_and_forget, lambda_event_output, lambda_invoke_output, TaskFailure};
use crate::paths::RefPath;
use crate::retry::StateError;
use crate::store::{Commit, ExecutionRecord};
use crate::{token, REGION};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

/// A state just entered: what every kind's entry needs.
struct Entered<'a> {
    state: &'a State,
    name: &'a str,
    input: Value,
    ctx: Value,
    entered: DateTime<Utc>,
    entered_id: u64,
}

impl Entered<'_> {
    /// `States.Runtime` for this state.
    fn runtime(&self, why: String) -> StateError {
        StateError::runtime(self.name, self.entered_id, &why)
    }
}

/// The timers a running task waits on besides its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskTimer {
    /// `TimeoutSeconds` since the task started.
    Timeout,
    /// `HeartbeatSeconds` since the last heartbeat (token tasks).
    Heartbeat,
}

/// What a task-token callback asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum TokenAction {
    Success(Value),
    Failure(StateError),
    Heartbeat,
}

/// Messages from the API side to a running execution.
pub(crate) enum Signal {
    Token {
        token: String,
        action: TokenAction,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Stop {
        error: Option<String>,
        cause: Option<String>,
        reply: oneshot::Sender<DateTime<Utc>>,
    },
}

/// Where a Task state is in its attempt cycle.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Phase {
    /// About to schedule an attempt (first one or after a back-off).
    Schedule,
    /// An attempt is under way.
    Running {
        started: DateTime<Utc>,
        function: String,
        payload: Value,
        /// The `.waitForTaskToken` invoke has returned (TaskSubmitted recorded).
        submitted: bool,
        heartbeat_deadline: Option<DateTime<Utc>>,
        /// A callback that arrived before the invoke returned.
        early: Option<TokenAction>,
    },
    /// Waiting before the next retry.
    Backoff { until: DateTime<Utc> },
}

/// A Task state in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TaskPos {
    state: String,
    entered_id: u64,
    entered: DateTime<Utc>,
    raw_input: Value,
    /// The input after InputPath (Parameters are applied per attempt, with a fresh token).
    effective: Value,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
    /// Attempts used per retrier (they persist across retries of the state).
    retries: Vec<u64>,
    retry_count: u64,
    phase: Phase,
}

/// The execution's position between two steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Pos {
    Enter {
        state: String,
        input: Value,
    },
    Wait {
        state: String,
        output: Value,
        until: DateTime<Utc>,
    },
    Task(Box<TaskPos>),
    Done,
}

/// What is persisted with every commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Runtime {
    pos: Pos,
    /// The task token currently accepted, if a task waits for one.
    token: Option<String>,
}

impl Runtime {
    pub(crate) fn start(start_at: &str, input: Value) -> Runtime {
        Runtime {
            pos: Pos::Enter {
                state: start_at.to_string(),
                input,
            },
            token: None,
        }
    }
}

/// Why a wait ended.
enum Wake<T> {
    Done(T),
    Token(TokenAction, oneshot::Sender<Result<(), Error>>),
    Timer(usize),
    Stop(
        Option<String>,
        Option<String>,
        oneshot::Sender<DateTime<Utc>>,
    ),
    ExecTimeout,
    Shutdown,
}

pub(crate) struct Runner {
    inner: Arc<Inner>,
    sm: Arc<StateMachine>,
    rec: ExecutionRecord,
    sm_name: String,
    exec_input: Value,
    rx: mpsc::UnboundedReceiver<Signal>,
    history: Arc<Mutex<Vec<HistoryEvent>>>,
    watch: Arc<watch::Sender<usize>>,
    rt: Runtime,
    pending: Vec<NewEvent>,
    deadline: Option<DateTime<Utc>>,
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn apply_io(p: &IoPath, v: &Value, ctx: &Value) -> Result<Value, String> {
    match p {
        IoPath::Whole => Ok(v.clone()),
        IoPath::Null => Ok(json!({})),
        IoPath::Path(p) => p.eval_invalid_path(v, ctx),
    }
}

fn apply_result_path(
    rp: &Option<RefPath>,
    raw: &Value,
    result: Value,
    shown: &str,
) -> Result<Value, String> {
    match rp {
        None => Ok(raw.clone()),
        Some(r) => r
            .set(raw.clone(), result)
            .map_err(|why| format!("Invalid path '{shown}' : {why}")),
    }
}

impl Runner {
    pub(crate) fn new(
        inner: Arc<Inner>,
        sm: Arc<StateMachine>,
        rec: ExecutionRecord,
        rx: mpsc::UnboundedReceiver<Signal>,
        history: Arc<Mutex<Vec<HistoryEvent>>>,
        watch: Arc<watch::Sender<usize>>,
        rt: Runtime,
    ) -> Runner {
        let sm_name = rec
            .state_machine_arn
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string();
        let exec_input = serde_json::from_str(&rec.input).unwrap_or(Value::Null);
        let deadline = sm
            .timeout_seconds
            .map(|s| rec.start + chrono::Duration::seconds(s as i64));
        Runner {
            inner,
            sm,
            rec,
            sm_name,
            exec_input,
            rx,
            history,
            watch,
            rt,
            pending: Vec::new(),
            deadline,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    fn hist(&self) -> std::sync::MutexGuard<'_, Vec<HistoryEvent>> {
        self.history.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn next_id(&self) -> u64 {
        (self.hist().len() + self.pending.len() + 1) as u64
    }

    fn push(&mut self, e: NewEvent) {
        self.pending.push(e);
    }

    /// Pushes `<Type>StateExited` (nothing for a Fail state, which never exits).
    fn push_exited(&mut self, kind: StateType, name: &str, output: &Value) {
        if let Some(e) = history::state_exited(kind, name, output) {
            self.push(e);
        }
    }

    /// Gives pending events ids and timestamps and writes them with the runtime snapshot.
    fn commit(&mut self) {
        let now = self.now();
        let runtime = match serde_json::to_value(&self.rt) {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(execution = %self.rec.arn, error = %e, "cannot serialise runtime");
                Value::Null
            }
        };
        let pending = std::mem::take(&mut self.pending);
        let events = {
            let mut hist = self.history.lock().unwrap_or_else(|e| e.into_inner());
            let mut events = Vec::with_capacity(pending.len());
            for e in pending {
                let id = hist.len() as u64 + 1;
                // AWS links the first state to 0, and ExecutionAborted to 0 too.
                let previous_event_id = if id <= 2 || e.event_type == EventType::ExecutionAborted {
                    0
                } else {
                    id - 1
                };
                let ev = HistoryEvent {
                    id,
                    previous_event_id,
                    timestamp: now,
                    event_type: e.event_type,
                    details_key: e.event_type.details_key().map(str::to_string),
                    details: e.details,
                };
                hist.push(ev.clone());
                events.push(ev);
            }
            events
        };
        let count = self.hist().len();
        if let Err(e) = self
            .inner
            .store
            .append_commit(&self.rec.arn, &Commit { events, runtime })
        {
            tracing::error!(execution = %self.rec.arn, error = %e, "could not persist a step");
        }
        self.watch.send_replace(count);
    }

    fn context(&self, state: &str, entered: DateTime<Utc>, retry_count: u64) -> Value {
        let mut ctx = json!({
            "Execution": {
                "Id": self.rec.arn,
                "Input": self.exec_input,
                "Name": self.rec.name,
                "RoleArn": crate::engine::DEFAULT_ROLE_ARN,
                "StartTime": iso(self.rec.start),
                "RedriveCount": 0,
            },
            "State": {"EnteredTime": iso(entered), "Name": state, "RetryCount": retry_count},
            "StateMachine": {"Id": self.rec.state_machine_arn, "Name": self.sm_name},
        });
        if let (Some(t), Some(obj)) = (&self.rt.token, ctx.as_object_mut()) {
            obj.insert("Task".into(), json!({"Token": t}));
        }
        ctx
    }

    pub(crate) async fn run(mut self) {
        loop {
            match self.rt.pos.clone() {
                Pos::Done => break,
                Pos::Enter { state, input } => self.enter(&state, input),
                Pos::Wait {
                    state,
                    output,
                    until,
                } => {
                    let wake = self.wait::<()>(None, &[until]).await;
                    match wake {
                        Wake::Timer(_) => {
                            let sm = self.sm.clone();
                            if let Some(s) = sm.states.get(&state) {
                                self.push_exited(StateType::Wait, &state, &output);
                                self.transition(s, output);
                            }
                        }
                        other => self.interrupt(other),
                    }
                }
                Pos::Task(tp) => self.task(*tp).await,
            }
        }
        self.close_from_history();
    }

    /// Updates the index from the closing event (also repairs a crash between the two writes).
    fn close_from_history(&mut self) {
        let last = self.hist().last().cloned();
        let Some(last) = last else { return };
        let Some(status) = last.event_type.closing_status() else {
            return;
        };
        self.inner.close_execution(&self.rec.arn, status);
        let event = crate::events::status_change(&self.rec, status, Some(&last), self.now());
        self.inner.emit(event);
    }

    /// Waits for `fut`, a timer, a signal, or the execution deadline.
    async fn wait<T>(
        &mut self,
        mut fut: Option<&mut BoxFuture<'static, T>>,
        timers: &[DateTime<Utc>],
    ) -> Wake<T> {
        loop {
            let clock = self.inner.clock.clone();
            let deadline = self.deadline;
            let exec_timer = async {
                match deadline {
                    Some(d) => clock.sleep_until(d).await,
                    None => futures::future::pending().await,
                }
            };
            let timer_futs: Vec<BoxFuture<'static, ()>> =
                timers.iter().map(|t| clock.sleep_until(*t)).collect();
            let any_timer = async move {
                if timer_futs.is_empty() {
                    futures::future::pending::<usize>().await
                } else {
                    futures::future::select_all(timer_futs).await.1
                }
            };
            let work = async {
                match fut.as_mut() {
                    Some(f) => f.await,
                    None => futures::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = exec_timer => return Wake::ExecTimeout,
                sig = self.rx.recv() => match sig {
                    None => return Wake::Shutdown,
                    Some(Signal::Stop { error, cause, reply }) => return Wake::Stop(error, cause, reply),
                    Some(Signal::Token { token, action, reply }) => {
                        if self.rt.token.as_deref() == Some(token.as_str()) {
                            return Wake::Token(action, reply);
                        }
                        // Not the token this execution waits for (any more): dead.
                        let _ = reply.send(Err(Error::TaskTimedOut));
                    }
                },
                i = any_timer => return Wake::Timer(i),
                r = work => return Wake::Done(r),
            }
        }
    }

    /// Handles stop, execution timeout and shutdown, which can end any wait.
    fn interrupt<T>(&mut self, wake: Wake<T>) {
        match wake {
            Wake::Stop(error, cause, reply) => {
                self.rt.token = None;
                self.push(history::execution_aborted(
                    error.as_deref(),
                    cause.as_deref(),
                ));
                self.rt.pos = Pos::Done;
                self.commit();
                let _ = reply.send(self.now());
            }
            Wake::ExecTimeout => {
                self.rt.token = None;
                self.push(history::execution_timed_out());
                self.rt.pos = Pos::Done;
                self.commit();
            }
            Wake::Shutdown => {
                // The engine is gone; leave the state on disk as it is for a later resume.
                self.pending.clear();
                self.rt.pos = Pos::Done;
            }
            Wake::Done(_) | Wake::Token(..) | Wake::Timer(_) => {}
        }
    }

    fn fail_execution(&mut self, err: StateError) {
        self.rt.token = None;
        self.push(history::execution_failed(&err));
        self.rt.pos = Pos::Done;
        self.commit();
    }

    fn transition(&mut self, state: &State, output: Value) {
        match &state.transition {
            Some(Transition::Next(n)) => {
                self.rt.pos = Pos::Enter {
                    state: n.clone(),
                    input: output,
                };
                self.commit();
            }
            _ => self.succeed(output),
        }
    }

    fn succeed(&mut self, output: Value) {
        self.push(history::execution_succeeded(&output));
        self.rt.pos = Pos::Done;
        self.commit();
    }

    fn enter(&mut self, name: &str, input: Value) {
        let sm = self.sm.clone();
        let Some(state) = sm.states.get(name) else {
            self.fail_execution(StateError::new(
                crate::retry::RUNTIME,
                format!("State '{name}' does not exist"),
            ));
            return;
        };
        let entered_id = self.next_id();
        let entered = self.now();
        self.push(history::state_entered(state.state_type(), name, &input));
        let e = Entered {
            state,
            name,
            ctx: self.context(name, entered, 0),
            input,
            entered,
            entered_id,
        };
        match &state.kind {
            Kind::Pass { result } => self.enter_pass(&e, result),
            Kind::Choice { choices, default } => self.enter_choice(&e, choices, default),
            Kind::Wait(w) => self.enter_wait(&e, w),
            Kind::Succeed => self.enter_succeed(&e),
            Kind::Fail { error, cause } => self.enter_fail(&e, error, cause),
            Kind::Task(spec) => self.enter_task(e, spec),
        }
    }

    fn enter_pass(&mut self, e: &Entered<'_>, result: &Option<Value>) {
        let out = (|| {
            let eff = apply_io(&e.state.input_path, &e.input, &e.ctx)?;
            let eff = match &e.state.parameters {
                Some(t) => t.eval(&eff, &e.ctx)?,
                None => eff,
            };
            let res = result.clone().unwrap_or(eff);
            let merged = apply_result_path(&e.state.result_path, &e.input, res, "ResultPath")?;
            apply_io(&e.state.output_path, &merged, &e.ctx)
        })();
        match out {
            Ok(out) => {
                self.push_exited(StateType::Pass, e.name, &out);
                self.transition(e.state, out);
            }
            Err(why) => self.fail_execution(e.runtime(why)),
        }
    }

    fn enter_choice(
        &mut self,
        e: &Entered<'_>,
        choices: &[(choice::Rule, String)],
        default: &Option<String>,
    ) {
        let picked = (|| {
            let eff = apply_io(&e.state.input_path, &e.input, &e.ctx)?;
            let mut next = None;
            for (rule, target) in choices {
                if choice::eval(rule, &eff, &e.ctx)? {
                    next = Some(target.clone());
                    break;
                }
            }
            let out = apply_io(&e.state.output_path, &eff, &e.ctx)?;
            Ok::<_, String>((next.or_else(|| default.clone()), out))
        })();
        match picked {
            Ok((Some(next), out)) => {
                self.push_exited(StateType::Choice, e.name, &out);
                self.rt.pos = Pos::Enter {
                    state: next,
                    input: out,
                };
                self.commit();
            }
            Ok((None, _)) => self.fail_execution(StateError::new(
                "States.NoChoiceMatched",
                format!(
                    "An error occurred while executing the state '{}' (entered at the event id #{}). No Choice rule matched and there is no Default.",
                    e.name, e.entered_id
                ),
            )),
            Err(why) => self.fail_execution(e.runtime(why)),
        }
    }

    fn enter_wait(&mut self, e: &Entered<'_>, w: &WaitFor) {
        let (ctx, entered) = (&e.ctx, e.entered);
        let planned = (|| {
            let eff = apply_io(&e.state.input_path, &e.input, ctx)?;
            let until = match w {
                WaitFor::Seconds(s) => entered + chrono::Duration::seconds(*s as i64),
                WaitFor::Timestamp(t) => t.with_timezone(&Utc),
                WaitFor::SecondsPath(p) => {
                    let v = p.eval_invalid_path(&eff, ctx)?;
                    let s = v.as_u64().filter(|s| *s <= 99_999_999).ok_or_else(|| {
                        format!("The SecondsPath parameter does not reference a valid non-negative integer: {v}")
                    })?;
                    entered + chrono::Duration::seconds(s as i64)
                }
                WaitFor::TimestampPath(p) => {
                    let v = p.eval_invalid_path(&eff, ctx)?;
                    v.as_str()
                        .and_then(choice::parse_timestamp)
                        .map(|t| t.with_timezone(&Utc))
                        .ok_or_else(|| {
                            format!("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {v}")
                        })?
                }
            };
            let out = apply_io(&e.state.output_path, &eff, ctx)?;
            Ok::<_, String>((until, out))
        })();
        match planned {
            Ok((until, output)) => {
                self.rt.pos = Pos::Wait {
                    state: e.name.to_string(),
                    output,
                    until,
                };
                self.commit();
            }
            Err(why) => self.fail_execution(e.runtime(why)),
        }
    }

    fn enter_succeed(&mut self, e: &Entered<'_>) {
        let out = apply_io(&e.state.input_path, &e.input, &e.ctx)
            .and_then(|eff| apply_io(&e.state.output_path, &eff, &e.ctx));
        match out {
            Ok(out) => {
                self.push_exited(StateType::Succeed, e.name, &out);
                self.succeed(out);
            }
            Err(why) => self.fail_execution(e.runtime(why)),
        }
    }

    fn enter_fail(&mut self, e: &Entered<'_>, error: &FailField, cause: &FailField) {
        let field = |f: &FailField, label: &str| -> Result<Option<String>, String> {
            match f {
                FailField::None => Ok(None),
                FailField::Literal(s) => Ok(Some(s.clone())),
                FailField::Path(p) => match p.eval(&e.input, &e.ctx) {
                    Ok(Value::String(s)) => Ok(Some(s)),
                    _ => Err(format!(
                        "The JSONPath '{}' specified for the field '{label}' could not be found in the input '{}'",
                        p.as_str(),
                        e.input
                    )),
                },
            }
        };
        match field(error, "ErrorPath").and_then(|er| Ok((er, field(cause, "CausePath")?))) {
            Ok((er, c)) => {
                let err = StateError {
                    error: er.unwrap_or_default(),
                    cause: c,
                    heartbeat: false,
                };
                // ExecutionFailed carries only what the Fail state defines.
                let mut details = serde_json::Map::new();
                if !err.error.is_empty() {
                    details.insert("error".into(), json!(err.error));
                }
                if let Some(c) = &err.cause {
                    details.insert("cause".into(), json!(c));
                }
                self.push(NewEvent {
                    event_type: EventType::ExecutionFailed,
                    details: Value::Object(details),
                });
                self.rt.pos = Pos::Done;
                self.commit();
            }
            Err(why) => self.fail_execution(e.runtime(why)),
        }
    }

    fn enter_task(&mut self, e: Entered<'_>, spec: &TaskSpec) {
        let prepared = (|| {
            let eff = apply_io(&e.state.input_path, &e.input, &e.ctx)?;
            let secs = |s: &Option<Seconds>| -> Result<Option<u64>, String> {
                match s {
                    None => Ok(None),
                    Some(Seconds::Fixed(n)) => Ok(Some(*n)),
                    Some(Seconds::Path(p)) => {
                        let v = p.eval_invalid_path(&eff, &e.ctx)?;
                        v.as_u64().filter(|n| *n > 0).map(Some).ok_or_else(|| {
                            format!(
                                "The value at '{}' must be a positive integer, got {v}",
                                p.as_str()
                            )
                        })
                    }
                }
            };
            let timeout = secs(&spec.timeout)?;
            let heartbeat = secs(&spec.heartbeat)?;
            Ok::<_, String>((eff, timeout, heartbeat))
        })();
        match prepared {
            Ok((effective, timeout, heartbeat)) => {
                self.rt.pos = Pos::Task(Box::new(TaskPos {
                    state: e.name.to_string(),
                    entered_id: e.entered_id,
                    entered: e.entered,
                    raw_input: e.input,
                    effective,
                    timeout,
                    heartbeat,
                    retries: vec![0; spec.retry.len()],
                    retry_count: 0,
                    phase: Phase::Schedule,
                }));
                // No commit: the Schedule step commits TaskStateEntered with its own
                // events; a crash in between re-enters the state.
            }
            Err(why) => self.fail_execution(e.runtime(why)),
        }
    }

    async fn task(&mut self, mut tp: TaskPos) {
        let sm = self.sm.clone();
        let Some(state) = sm.states.get(&tp.state) else {
            self.fail_execution(StateError::new(crate::retry::RUNTIME, "unknown state"));
            return;
        };
        let Kind::Task(spec) = &state.kind else {
            self.fail_execution(StateError::new(crate::retry::RUNTIME, "not a task"));
            return;
        };
        match tp.phase.clone() {
            Phase::Backoff { until } => match self.wait::<()>(None, &[until]).await {
                Wake::Timer(_) => {
                    tp.phase = Phase::Schedule;
                    self.rt.pos = Pos::Task(Box::new(tp));
                }
                other => self.interrupt(other),
            },
            Phase::Schedule => self.schedule(state, spec, tp),
            Phase::Running { .. } => self.running(state, spec, tp).await,
        }
    }

    fn schedule(&mut self, state: &State, spec: &TaskSpec, mut tp: TaskPos) {
        let wait_for_token = spec.resource == Resource::LambdaInvokeWaitForToken;
        self.rt.token = wait_for_token.then(|| token::issue(&self.rec.arn));
        let ctx = self.context(&tp.state, tp.entered, tp.retry_count);
        let runtime = |why: String| StateError::runtime(&tp.state, tp.entered_id, &why);
        let params = match &state.parameters {
            Some(t) => t.eval(&tp.effective, &ctx),
            None => Ok(tp.effective.clone()),
        };
        let params = match params {
            Ok(p) => p,
            Err(why) => return self.fail_execution(runtime(why)),
        };
        let (function, payload) = match &spec.resource {
            Resource::LambdaArn(arn) => (arn.clone(), params.clone()),
            _ => match params.get("FunctionName").and_then(Value::as_str) {
                Some(f) => (
                    f.to_string(),
                    params.get("Payload").cloned().unwrap_or_else(|| json!({})),
                ),
                None => {
                    return self.fail_execution(runtime(
                        "The value for the field 'FunctionName' must be a string".into(),
                    ))
                }
            },
        };
        let resource = spec.resource.resource_name().to_string();
        match &spec.resource {
            Resource::LambdaArn(arn) => {
                self.push(history::lambda_scheduled(arn, &params, tp.timeout));
                self.push(history::lambda_started());
            }
            _ => {
                self.push(history::task_scheduled(
                    spec.resource.resource_type(),
                    &resource,
                    REGION,
                    &params,
                    tp.timeout,
                    tp.heartbeat,
                ));
                self.push(history::task_started(
                    spec.resource.resource_type(),
                    &resource,
                ));
            }
        }
        let now = self.now();
        tp.phase = Phase::Running {
            started: now,
            function,
            payload,
            submitted: false,
            heartbeat_deadline: if wait_for_token {
                tp.heartbeat
                    .map(|h| now + chrono::Duration::seconds(h as i64))
            } else {
                None
            },
            early: None,
        };
        self.rt.pos = Pos::Task(Box::new(tp));
        self.commit();
    }

    async fn running(&mut self, state: &State, spec: &TaskSpec, mut tp: TaskPos) {
        let Phase::Running {
            started,
            function,
            payload,
            mut submitted,
            mut heartbeat_deadline,
            mut early,
        } = tp.phase.clone()
        else {
            return;
        };
        let wait_for_token = spec.resource == Resource::LambdaInvokeWaitForToken;
        // Not submitted yet means the invoke never returned (or we restarted while it ran):
        // (re-)invoke, at least once as AWS does.
        let mut fut: Option<BoxFuture<'static, Result<Value, TaskFailure>>> =
            (!submitted).then(|| {
                let call = self.inner.invoker.invoke(&function, payload.clone());
                match spec.invocation {
                    Invocation::RequestResponse => call,
                    Invocation::Event => fire_and_forget(call, &function),
                }
            });
        loop {
            let timers: Vec<(TaskTimer, DateTime<Utc>)> = [
                tp.timeout.map(|t| {
                    (
                        TaskTimer::Timeout,
                        started + chrono::Duration::seconds(t as i64),
                    )
                }),
                heartbeat_deadline.map(|h| (TaskTimer::Heartbeat, h)),
            ]
            .into_iter()
            .flatten()
            .collect();
            let deadlines: Vec<DateTime<Utc>> = timers.iter().map(|(_, at)| *at).collect();
            let wake = self.wait(fut.as_mut(), &deadlines).await;
            let save = |tp: &mut TaskPos, submitted, hb, early: &Option<TokenAction>| {
                tp.phase = Phase::Running {
                    started,
                    function: function.clone(),
                    payload: payload.clone(),
                    submitted,
                    heartbeat_deadline: hb,
                    early: early.clone(),
                };
            };
            match wake {
                Wake::Done(Ok(v)) => {
                    fut = None;
                    if wait_for_token {
                        let out = lambda_invoke_output(
                            v,
                            &uuid::Uuid::new_v4().to_string(),
                            &self.http_date(),
                        );
                        self.push(history::task_submitted(
                            spec.resource.resource_type(),
                            spec.resource.resource_name(),
                            &out,
                        ));
                        submitted = true;
                        if let Some(e) = early.take() {
                            return self.token_outcome(state, spec, tp, e);
                        }
                        save(&mut tp, submitted, heartbeat_deadline, &early);
                        self.rt.pos = Pos::Task(Box::new(tp.clone()));
                        self.commit();
                    } else {
                        let request_id = uuid::Uuid::new_v4().to_string();
                        let result = match (&spec.resource, spec.invocation) {
                            (Resource::LambdaInvoke, Invocation::Event) => {
                                lambda_event_output(&request_id, &self.http_date())
                            }
                            (Resource::LambdaInvoke, _) => {
                                lambda_invoke_output(v, &request_id, &self.http_date())
                            }
                            _ => v,
                        };
                        return self.task_succeeded(state, spec, tp, result);
                    }
                }
                Wake::Done(Err(f)) => {
                    let err = StateError::new(f.error.clone(), f.aws_cause());
                    return self.task_failed(spec, tp, err, false);
                }
                Wake::Token(TokenAction::Heartbeat, reply) => {
                    heartbeat_deadline = tp
                        .heartbeat
                        .map(|h| self.now() + chrono::Duration::seconds(h as i64));
                    save(&mut tp, submitted, heartbeat_deadline, &early);
                    self.rt.pos = Pos::Task(Box::new(tp.clone()));
                    self.commit();
                    let _ = reply.send(Ok(()));
                }
                Wake::Token(action, reply) => {
                    let _ = reply.send(Ok(()));
                    if submitted {
                        return self.token_outcome(state, spec, tp, action);
                    }
                    // The callback beat the invoke's return: keep it until TaskSubmitted.
                    early = Some(action);
                    save(&mut tp, submitted, heartbeat_deadline, &early);
                    self.rt.pos = Pos::Task(Box::new(tp.clone()));
                    self.commit();
                }
                Wake::Timer(i) => {
                    let heartbeat = matches!(timers.get(i), Some((TaskTimer::Heartbeat, _)));
                    return self.task_failed(spec, tp, StateError::timeout(heartbeat), true);
                }
                other => return self.interrupt(other),
            }
        }
    }

    fn http_date(&self) -> String {
        self.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    }

    fn token_outcome(&mut self, state: &State, spec: &TaskSpec, tp: TaskPos, action: TokenAction) {
        match action {
            TokenAction::Success(v) => self.task_succeeded(state, spec, tp, v),
            TokenAction::Failure(e) => self.task_failed(spec, tp, e, false),
            TokenAction::Heartbeat => {}
        }
    }

    fn task_succeeded(&mut self, state: &State, spec: &TaskSpec, tp: TaskPos, result: Value) {
        if result.to_string().len() > MAX_PAYLOAD_BYTES {
            let who = match &spec.resource {
                Resource::LambdaArn(arn) => arn.clone(),
                _ => LAMBDA.to_string(),
            };
            let err = StateError::new(
                "States.DataLimitExceeded",
                format!("The state/task '{who}' returned a result with a size exceeding the maximum number of bytes service limit."),
            );
            return self.task_failed(spec, tp, err, false);
        }
        self.rt.token = None;
        match &spec.resource {
            Resource::LambdaArn(_) => self.push(history::lambda_succeeded(&result)),
            r => self.push(history::task_succeeded(
                spec.resource.resource_type(),
                r.resource_name(),
                &result,
            )),
        }
        let ctx = self.context(&tp.state, tp.entered, tp.retry_count);
        let out = (|| {
            let selected = match &spec.result_selector {
                Some(t) => t.eval(&result, &ctx)?,
                None => result,
            };
            let merged =
                apply_result_path(&state.result_path, &tp.raw_input, selected, "ResultPath")?;
            apply_io(&state.output_path, &merged, &ctx)
        })();
        match out {
            Ok(out) => {
                self.push_exited(StateType::Task, &tp.state, &out);
                self.transition(state, out);
            }
            Err(why) => self.fail_execution(StateError::runtime(&tp.state, tp.entered_id, &why)),
        }
    }

    fn task_failed(&mut self, spec: &TaskSpec, mut tp: TaskPos, err: StateError, timed_out: bool) {
        self.rt.token = None;
        let lambda_arn = matches!(spec.resource, Resource::LambdaArn(_));
        let resource = spec.resource.resource_name().to_string();
        self.push(match (lambda_arn, timed_out) {
            (true, true) => history::lambda_timed_out(&err),
            (true, false) => history::lambda_failed(&err),
            (false, true) => {
                history::task_timed_out(spec.resource.resource_type(), &resource, &err)
            }
            (false, false) => history::task_failed(spec.resource.resource_type(), &resource, &err),
        });
        // Retry: the first retrier whose ErrorEquals matches decides; when it is exhausted the
        // error goes to Catch (later retriers are not consulted), as in AWS.
        if let Some(i) = spec
            .retry
            .iter()
            .position(|r| err.matches_any(&r.error_equals))
        {
            let r = &spec.retry[i];
            if tp.retries[i] < r.max_attempts {
                let attempt = u32::try_from(tp.retries[i]).unwrap_or(u32::MAX);
                let delay = r.jittered_delay_millis(attempt);
                tp.retries[i] += 1;
                tp.retry_count += 1;
                let until = self.now() + chrono::Duration::milliseconds(delay as i64);
                tracing::debug!(execution = %self.rec.arn, state = %tp.state, delay_ms = delay, "retrying");
                tp.phase = Phase::Backoff { until };
                self.rt.pos = Pos::Task(Box::new(tp));
                self.commit();
                return;
            }
        }
        if let Some(c) = spec.catch.iter().find(|c| err.matches_any(&c.error_equals)) {
            match apply_result_path(&c.result_path, &tp.raw_input, err.to_output(), "ResultPath") {
                Ok(out) => {
                    self.push_exited(StateType::Task, &tp.state, &out);
                    self.rt.pos = Pos::Enter {
                        state: c.next.clone(),
                        input: out,
                    };
                    self.commit();
                }
                Err(why) => {
                    self.fail_execution(StateError::runtime(&tp.state, tp.entered_id, &why))
                }
            }
            return;
        }
        self.fail_execution(err);
    }
}
