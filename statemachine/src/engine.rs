//! The embeddable engine: state machines, executions, their index, task-token routing, and the
//! operations the API server exposes.

use crate::asl::{self, StateMachine};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::history::{self, EventType, HistoryEvent};
use crate::invoker::TaskInvoker;
use crate::retry::StateError;
use crate::runner::{self, Runner, Signal, TokenAction};
use crate::store::{Commit, ExecutionRecord, IndexEntry, StateMachineRecord, Store};
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

/// One row of ListExecutions (what the index keeps: no input or output).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionSummary {
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
}

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

/// Settings of an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// How long a closed execution is kept after it stopped; then it is deleted, record and
    /// history (AWS keeps closed executions for 90 days).
    pub retention: chrono::Duration,
    /// How often, on the engine's clock, expired executions are looked for (also at open).
    pub sweep_interval: chrono::Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            retention: chrono::Duration::days(90),
            sweep_interval: chrono::Duration::hours(1),
        }
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Closed executions deleted because their retention ran out.
    pub removed: usize,
    /// Whether the index file was rewritten (compacted).
    pub compacted: bool,
}

/// Superseded index lines tolerated before a sweep compacts the index: at least this many, and
/// at least an eighth of the executions (so a restart reads at most ~12% more than it needs).
const COMPACT_MIN_LINES: usize = 1000;

pub(crate) struct Machine {
    pub(crate) record: StateMachineRecord,
    pub(crate) sm: Arc<StateMachine>,
}

pub(crate) struct Live {
    pub(crate) tx: mpsc::UnboundedSender<Signal>,
    pub(crate) abort: Option<AbortHandle>,
}

/// What only a running execution keeps in memory: a closed one is its [`Exec`] summary, and
/// the rest is read from its log when asked for.
pub(crate) struct Running {
    pub(crate) record: ExecutionRecord,
    pub(crate) live: Option<Live>,
    pub(crate) history: Arc<Mutex<Vec<HistoryEvent>>>,
    pub(crate) watch: Arc<watch::Sender<usize>>,
}

/// The runner's ends of a running execution's in-memory part.
pub(crate) struct RunnerEnds {
    rx: mpsc::UnboundedReceiver<Signal>,
    history: Arc<Mutex<Vec<HistoryEvent>>>,
    watch: Arc<watch::Sender<usize>>,
}

impl Running {
    /// A running execution's in-memory part, with `events` as its history so far, and the ends
    /// its runner takes.
    fn new(record: ExecutionRecord, events: Vec<HistoryEvent>) -> (Box<Running>, RunnerEnds) {
        let (tx, rx) = mpsc::unbounded_channel();
        let watch = Arc::new(watch::channel(events.len()).0);
        let history = Arc::new(Mutex::new(events));
        let running = Box::new(Running {
            record,
            live: Some(Live { tx, abort: None }),
            history: history.clone(),
            watch: watch.clone(),
        });
        (running, RunnerEnds { rx, history, watch })
    }
}

/// One execution in the in-memory index (kept small: there is one per execution retained).
pub(crate) struct Exec {
    pub(crate) seq: u64,
    pub(crate) status: ExecutionStatus,
    pub(crate) start: DateTime<Utc>,
    pub(crate) stop: Option<DateTime<Utc>>,
    /// Present while the execution runs in this engine.
    pub(crate) running: Option<Box<Running>>,
}

#[derive(Default)]
pub(crate) struct Registry {
    pub(crate) machines: BTreeMap<String, Machine>,
    pub(crate) executions: HashMap<Arc<str>, Exec>,
    /// Execution ARNs per state machine by start order: the index ListExecutions pages through.
    /// Keyed by the ARN prefix the state machine's executions share (see [`machine_key`]); a
    /// list, because there are a handful of state machines and a restart files every execution
    /// (comparing a prefix is cheaper than hashing it).
    pub(crate) by_machine: Vec<(String, BTreeMap<u64, Arc<str>>)>,
    pub(crate) next_seq: u64,
}

impl Registry {
    /// The executions of the state machine whose executions' ARNs start with `key`.
    fn machine(&self, key: &str) -> Option<&BTreeMap<u64, Arc<str>>> {
        self.by_machine
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, m)| m)
    }

    fn machine_mut(&mut self, key: &str) -> Option<&mut BTreeMap<u64, Arc<str>>> {
        self.by_machine
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, m)| m)
    }

    /// Files an execution; `false` (and nothing filed) if `arn` is not an execution ARN.
    fn insert(&mut self, arn: Arc<str>, exec: Exec) -> bool {
        let Some(key) = machine_key(&arn) else {
            return false;
        };
        match self.machine_mut(key) {
            Some(m) => {
                m.insert(exec.seq, arn.clone());
            }
            None if valid_machine_key(key) => {
                self.by_machine
                    .push((key.to_string(), BTreeMap::from([(exec.seq, arn.clone())])));
            }
            None => return false,
        }
        self.next_seq = self.next_seq.max(exec.seq + 1);
        self.executions.insert(arn, exec);
        true
    }

    fn remove(&mut self, arn: &str) -> Option<Exec> {
        let exec = self.executions.remove(arn)?;
        if let Some(m) = machine_key(arn).and_then(|k| self.machine_mut(k)) {
            m.remove(&exec.seq);
        }
        Some(exec)
    }

    /// Folds one index line read at open: a later line of an execution supersedes its earlier
    /// ones; a line without seq (earlier versions) is numbered by its position. (One hash per
    /// line: a restart does this for every execution retained.)
    fn fold(&mut self, entry: IndexEntry) {
        use std::collections::hash_map::Entry;
        let Some(status) = entry.status else {
            tracing::warn!(execution = %entry.arn, "unreadable index entry (status); skipped");
            return;
        };
        let arn: Arc<str> = Arc::from(entry.arn);
        let Some(key) = machine_key(&arn) else {
            tracing::warn!(execution = %arn, "index entry without an execution ARN; skipped");
            return;
        };
        let machines = &mut self.by_machine;
        let filed = match machines.iter_mut().find(|(k, _)| k == key) {
            Some((_, m)) => m,
            None if valid_machine_key(key) => {
                machines.push((key.to_string(), BTreeMap::new()));
                match machines.last_mut() {
                    Some((_, m)) => m,
                    None => return,
                }
            }
            None => {
                tracing::warn!(execution = %arn, "index entry without an execution ARN; skipped");
                return;
            }
        };
        match self.executions.entry(arn) {
            Entry::Occupied(mut o) => {
                let exec = o.get_mut();
                exec.status = status;
                exec.start = entry.start;
                exec.stop = entry.stop;
                // A line with its own seq belongs to a later execution of the same name (the
                // earlier one expired before its index was compacted); it orders by that seq.
                if let Some(seq) = entry.seq.filter(|s| *s != exec.seq) {
                    let old = std::mem::replace(&mut exec.seq, seq);
                    self.next_seq = self.next_seq.max(seq + 1);
                    if let Some(arn) = filed.remove(&old) {
                        filed.insert(seq, arn);
                    }
                }
            }
            Entry::Vacant(v) => {
                let seq = entry.seq.unwrap_or(self.next_seq);
                self.next_seq = self.next_seq.max(seq + 1);
                filed.insert(seq, v.key().clone());
                v.insert(Exec {
                    seq,
                    status,
                    start: entry.start,
                    stop: entry.stop,
                    running: None,
                });
            }
        }
    }

    fn index_entry(arn: &str, e: &Exec) -> IndexEntry {
        IndexEntry {
            seq: Some(e.seq),
            arn: arn.to_string(),
            status: Some(e.status),
            start: e.start,
            stop: e.stop,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) invoker: Arc<dyn TaskInvoker>,
    pub(crate) substitutions: HashMap<String, String>,
    pub(crate) store: Store,
    pub(crate) registry: Mutex<Registry>,
    pub(crate) options: EngineOptions,
    pub(crate) sweeper: Mutex<Option<AbortHandle>>,
    pub(crate) sweeping: Mutex<()>,
    /// Receivers of execution status-change events (see [`Engine::on_status_change`]).
    pub(crate) listeners: Mutex<Vec<crate::events::Listener>>,
}

impl Inner {
    pub(crate) fn reg(&self) -> MutexGuard<'_, Registry> {
        // Registry updates are single assignments; a panic elsewhere cannot corrupt them.
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands an execution status-change event to every listener.
    pub(crate) fn emit(&self, event: serde_json::Value) {
        let listeners = self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for listener in listeners {
            listener(event.clone());
        }
    }

    /// Records an execution's close in the index (memory and disk) and lets go of what only a
    /// running execution needs (its history now lives on disk only).
    pub(crate) fn close_execution(&self, arn: &str, status: ExecutionStatus) {
        let now = self.clock.now();
        let entry = {
            let mut reg = self.reg();
            let Some(exec) = reg.executions.get_mut(arn) else {
                return;
            };
            exec.status = status;
            exec.stop = Some(now);
            exec.running = None;
            Registry::index_entry(arn, exec)
        };
        // Outside the registry lock: an index rewrite holds the store's lock while it takes its
        // snapshot from the registry.
        if let Err(e) = self.store.put_index(&entry) {
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

/// The part of an execution ARN its state machine's executions share (everything up to the
/// name): `arn:aws:states:REGION:ACCOUNT:execution:MACHINE:`. Names cannot contain `:`, so this
/// is unambiguous; [`valid_machine_key`] checks the shape.
fn machine_key(execution_arn: &str) -> Option<&str> {
    execution_arn
        .rfind(':')
        .map(|i| &execution_arn[..=i])
        .filter(|k| k.len() < execution_arn.len())
}

fn valid_machine_key(key: &str) -> bool {
    let mut parts = key.split(':');
    parts.next() == Some("arn") && parts.nth(4) == Some("execution") && parts.count() == 2
}

/// [`machine_key`] of a state machine's executions, from the state machine's ARN.
fn machine_key_of(state_machine_arn: &str) -> String {
    match state_machine_arn.rsplit_once(":stateMachine:") {
        Some((head, name)) => format!("{head}:execution:{name}:"),
        None => String::new(),
    }
}

/// The state machine ARN an execution ARN belongs to (names cannot contain `:`, so the parts
/// are unambiguous).
fn state_machine_of(execution_arn: &str) -> Option<String> {
    let p: Vec<&str> = execution_arn.split(':').collect();
    (p.len() == 8 && p[5] == "execution").then(|| {
        format!(
            "{}:{}:{}:{}:{}:stateMachine:{}",
            p[0], p[1], p[2], p[3], p[4], p[6]
        )
    })
}

fn name_of(execution_arn: &str) -> &str {
    execution_arn.rsplit(':').next().unwrap_or_default()
}

fn check_arn(arn: &str, kind: &str) -> Result<()> {
    let parts: Vec<&str> = arn.split(':').collect();
    let want = if kind == "execution" { 8 } else { 7 };
    if parts.len() != want || parts[0] != "arn" || parts[2] != "states" || parts[5] != kind {
        return Err(Error::InvalidArn(format!("Invalid ARN prefix: {arn}")));
    }
    Ok(())
}

fn summary(arn: &str, e: &Exec) -> ExecutionSummary {
    ExecutionSummary {
        arn: arn.to_string(),
        state_machine_arn: state_machine_of(arn).unwrap_or_default(),
        name: name_of(arn).to_string(),
        status: e.status,
        start: e.start,
        stop: e.stop,
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

fn detail(e: &HistoryEvent, key: &str) -> Option<String> {
    e.details
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
}

impl Engine {
    /// Opens the engine over `dir` (created if missing) with the default [`EngineOptions`] and
    /// resumes the running executions found there. Must be called inside a Tokio runtime.
    pub async fn open(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        invoker: Arc<dyn TaskInvoker>,
        substitutions: HashMap<String, String>,
    ) -> Result<Engine> {
        Engine::open_with(dir, clock, invoker, substitutions, EngineOptions::default()).await
    }

    /// [`Engine::open`] with explicit options. Closed executions past their retention are
    /// deleted before this returns, and again every `sweep_interval` on the engine's clock.
    ///
    /// What this reads: the state machines, the execution index (a short line per execution)
    /// and the logs of running executions only, so its cost does not grow with the history
    /// closed executions carry.
    pub async fn open_with(
        dir: impl AsRef<Path>,
        clock: Arc<dyn Clock>,
        invoker: Arc<dyn TaskInvoker>,
        substitutions: HashMap<String, String>,
        options: EngineOptions,
    ) -> Result<Engine> {
        let store = Store::open(dir.as_ref())?;
        let mut reg = Registry::default();
        for record in store.state_machines()? {
            match asl::load(&record.definition, &substitutions) {
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
        store.scan_index(|entry| reg.fold(entry))?;
        let running: Vec<Arc<str>> = reg
            .executions
            .iter()
            .filter(|(_, e)| e.status == ExecutionStatus::Running)
            .map(|(arn, _)| arn.clone())
            .collect();
        let engine = Engine {
            inner: Arc::new(Inner {
                clock,
                invoker,
                substitutions,
                store,
                registry: Mutex::new(reg),
                options,
                sweeper: Mutex::new(None),
                sweeping: Mutex::new(()),
                listeners: Mutex::new(Vec::new()),
            }),
        };
        // A failed sweep (a log that cannot be deleted, say) is retried later; it must not keep
        // the engine from opening.
        if let Err(e) = engine.sweep() {
            tracing::error!(error = %e, "sweeping the execution store at open failed");
        }
        for arn in running {
            if let Err(e) = engine.resume(&arn) {
                tracing::error!(execution = %arn, error = %e, "could not resume execution");
            }
        }
        engine.spawn_sweeper();
        Ok(engine)
    }

    /// Calls `listener` with an EventBridge-shaped "Step Functions Execution Status Change" event
    /// each time an execution starts (RUNNING) or closes, as a rule delivers them to its target
    /// in AWS. Listeners run on the engine's task and must return quickly (spawn the work).
    pub fn on_status_change(&self, listener: impl Fn(serde_json::Value) + Send + Sync + 'static) {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(listener));
    }

    /// Deletes the closed executions whose retention has run out (their logs first, while their
    /// names are still taken, so a new execution of the same name cannot write into a log about
    /// to be deleted), then compacts the index if that removed anything or enough of it is
    /// superseded lines. Runs at open and every `sweep_interval`.
    pub fn sweep(&self) -> Result<SweepReport> {
        // One sweep at a time: only a sweep frees a name, so while this one runs the executions
        // it found expired are the ones their logs belong to.
        let _one = self
            .inner
            .sweeping
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let cutoff = self.inner.clock.now() - self.inner.options.retention;
        let expired: Vec<Arc<str>> = self
            .inner
            .reg()
            .executions
            .iter()
            .filter(|(_, e)| e.running.is_none() && e.stop.is_some_and(|s| s <= cutoff))
            .filter(|(_, e)| e.status != ExecutionStatus::Running)
            .map(|(arn, _)| arn.clone())
            .collect();
        let mut removed = 0;
        for arn in &expired {
            match self.inner.store.remove_execution(arn) {
                Ok(()) => {
                    if self.inner.reg().remove(arn).is_some() {
                        removed += 1;
                    }
                }
                // Kept (and tried again at the next sweep) rather than indexed without a log.
                Err(e) => {
                    tracing::error!(execution = %arn, error = %e, "could not delete an expired execution")
                }
            }
        }
        let kept = self.inner.reg().executions.len();
        let superseded = self.inner.store.index_lines().saturating_sub(kept);
        let compact = removed > 0 || superseded >= COMPACT_MIN_LINES.max(kept / 8);
        if compact {
            self.inner.store.rewrite_index(|| {
                let reg = self.inner.reg();
                let mut entries: Vec<IndexEntry> = reg
                    .executions
                    .iter()
                    .map(|(arn, e)| Registry::index_entry(arn, e))
                    .collect();
                entries.sort_unstable_by_key(|e| e.seq);
                entries
            })?;
        }
        if removed > 0 || compact {
            tracing::info!(removed, compacted = compact, kept, "execution store swept");
        }
        Ok(SweepReport {
            removed,
            compacted: compact,
        })
    }

    fn spawn_sweeper(&self) {
        let weak = Arc::downgrade(&self.inner);
        let clock = self.inner.clock.clone();
        let every = self.inner.options.sweep_interval;
        let task = tokio::spawn(async move {
            loop {
                let next = clock.now() + every;
                clock.sleep_until(next).await;
                // The engine is gone once every clone is dropped: so is the sweeper.
                let Some(inner) = weak.upgrade() else { return };
                let engine = Engine { inner };
                // File deletions and the index rewrite block; keep them off the async workers.
                match tokio::task::spawn_blocking(move || engine.sweep()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "sweeping the execution store failed")
                    }
                    Err(e) => tracing::error!(error = %e, "the store sweep panicked"),
                }
            }
        });
        *self.inner.sweeper.lock().unwrap_or_else(|e| e.into_inner()) = Some(task.abort_handle());
    }

    /// Registers a running execution's in-memory part; returns the ends its runner takes.
    fn attach(
        &self,
        arn: &str,
        record: ExecutionRecord,
        events: Vec<HistoryEvent>,
    ) -> Option<RunnerEnds> {
        let (running, ends) = Running::new(record, events);
        let mut reg = self.inner.reg();
        reg.executions.get_mut(arn)?.running = Some(running);
        Some(ends)
    }

    fn resume(&self, arn: &str) -> Result<()> {
        let (events, runtime) = self.inner.store.load_execution_to_resume(arn)?;
        let state_machine_arn = state_machine_of(arn).unwrap_or_default();
        let sm = self
            .inner
            .reg()
            .machines
            .get(&state_machine_arn)
            .map(|m| m.sm.clone())
            .ok_or_else(|| Error::StateMachineDoesNotExist(state_machine_arn.clone()))?;
        let runtime = runtime.ok_or_else(|| {
            Error::InvalidExecutionInput(format!("execution {arn} has no stored state"))
        })?;
        let rt: runner::Runtime = serde_json::from_value(runtime)?;
        let start = self
            .inner
            .reg()
            .executions
            .get(arn)
            .map(|e| e.start)
            .ok_or_else(|| Error::ExecutionDoesNotExist(arn.to_string()))?;
        let record = ExecutionRecord {
            arn: arn.to_string(),
            state_machine_arn,
            name: name_of(arn).to_string(),
            start,
            // The input is recorded once, in ExecutionStarted.
            input: events
                .first()
                .and_then(|e| detail(e, "input"))
                .unwrap_or_else(|| "{}".to_string()),
        };
        tracing::info!(execution = %arn, events = events.len(), "resuming execution");
        let Some(ends) = self.attach(arn, record.clone(), events) else {
            return Err(Error::ExecutionDoesNotExist(arn.to_string()));
        };
        self.launch(record, sm, ends, rt);
        Ok(())
    }

    fn launch(
        &self,
        rec: ExecutionRecord,
        sm: Arc<StateMachine>,
        ends: RunnerEnds,
        rt: runner::Runtime,
    ) {
        let arn = rec.arn.clone();
        let RunnerEnds { rx, history, watch } = ends;
        let runner = Runner::new(self.inner.clone(), sm, rec, rx, history, watch, rt);
        let handle = tokio::spawn(runner.run());
        let mut reg = self.inner.reg();
        if let Some(live) = reg
            .executions
            .get_mut(arn.as_str())
            .and_then(|e| e.running.as_mut())
            .and_then(|r| r.live.as_mut())
        {
            live.abort = Some(handle.abort_handle());
        }
    }

    /// The engine's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    /// The engine's options.
    pub fn options(&self) -> EngineOptions {
        self.inner.options
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
        // Registered (name taken, signals queued) under the registry lock; written to disk
        // after it, because an index rewrite takes the store's lock before the registry's.
        let (record, sm, first, rt, seq, ends) = {
            let mut reg = self.inner.reg();
            let machine = reg
                .machines
                .get(state_machine_arn)
                .ok_or_else(|| Error::StateMachineDoesNotExist(state_machine_arn.to_string()))?;
            let sm = machine.sm.clone();
            let role_arn = machine.record.role_arn.clone();
            let sm_name = machine.record.name.clone();
            let arn = format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{sm_name}:{name}");
            if let Some(existing) = reg.executions.get(arn.as_str()) {
                let same_input = existing.running.as_ref().is_some_and(|r| {
                    serde_json::from_str::<Value>(&r.record.input).ok() == Some(input_value.clone())
                });
                if existing.status == ExecutionStatus::Running && same_input {
                    return Ok((arn, existing.start));
                }
                return Err(Error::ExecutionAlreadyExists(arn));
            }
            let start = self.inner.clock.now();
            let record = ExecutionRecord {
                arn: arn.clone(),
                state_machine_arn: state_machine_arn.to_string(),
                name,
                start,
                input: input_value.to_string(),
            };
            let rt = runner::Runtime::start(&sm.start_at, input_value.clone());
            let first = HistoryEvent {
                id: 1,
                previous_event_id: 0,
                timestamp: start,
                event_type: EventType::ExecutionStarted,
                details_key: EventType::ExecutionStarted
                    .details_key()
                    .map(str::to_string),
                details: history::execution_started(&input_value, &role_arn).details,
            };
            let seq = reg.next_seq;
            let (running, ends) = Running::new(record.clone(), vec![first.clone()]);
            reg.insert(
                Arc::from(arn.as_str()),
                Exec {
                    seq,
                    status: ExecutionStatus::Running,
                    start,
                    stop: None,
                    running: Some(running),
                },
            );
            (record, sm, first, rt, seq, ends)
        };
        let arn = record.arn.clone();
        let written = serde_json::to_value(&rt)
            .map_err(Error::from)
            .and_then(|runtime| {
                self.inner.store.append_commit(
                    &arn,
                    &Commit {
                        events: vec![first],
                        runtime,
                    },
                )
            })
            .and_then(|()| {
                self.inner.store.put_index(&IndexEntry {
                    seq: Some(seq),
                    arn: arn.clone(),
                    status: Some(ExecutionStatus::Running),
                    start: record.start,
                    stop: None,
                })
            });
        if let Err(e) = written {
            self.inner.reg().remove(&arn);
            let _ = self.inner.store.remove_execution(&arn);
            return Err(e);
        }
        tracing::info!(execution = %arn, "execution started");
        let start = record.start;
        let started = crate::events::status_change(&record, ExecutionStatus::Running, None, start);
        self.launch(record, sm, ends, rt);
        self.inner.emit(started);
        Ok((arn, start))
    }

    /// DescribeExecution. A running execution is described from memory; a closed one from the
    /// index and the first and last lines of its log.
    pub fn describe_execution(&self, arn: &str) -> Result<ExecutionDescription> {
        check_arn(arn, "execution")?;
        let (s, input) = {
            let reg = self.inner.reg();
            let exec = reg
                .executions
                .get(arn)
                .ok_or_else(|| Error::ExecutionDoesNotExist(arn.to_string()))?;
            (
                summary(arn, exec),
                exec.running.as_ref().map(|r| r.record.input.clone()),
            )
        };
        let mut d = ExecutionDescription {
            arn: s.arn,
            state_machine_arn: s.state_machine_arn,
            name: s.name,
            status: s.status,
            start: s.start,
            stop: s.stop,
            input: String::new(),
            output: None,
            error: None,
            cause: None,
        };
        if let Some(input) = input {
            d.input = input;
            return Ok(d);
        }
        // A log deleted under us belongs to an execution that has just expired.
        let (first, last) = self
            .inner
            .store
            .execution_ends(arn)?
            .ok_or_else(|| Error::ExecutionDoesNotExist(arn.to_string()))?;
        d.input = detail(&first, "input").unwrap_or_else(|| "{}".to_string());
        if d.status != ExecutionStatus::Running {
            d.output = detail(&last, "output");
            d.error = detail(&last, "error");
            d.cause = detail(&last, "cause");
        }
        Ok(d)
    }

    /// ListExecutions, newest first, from the in-memory index (no log is read). The page token
    /// is the start-order number of the last execution returned, so it stays valid while
    /// executions start, close or expire.
    pub fn list_executions(&self, q: &ListExecutionsQuery) -> Result<ListExecutionsPage> {
        check_arn(&q.state_machine_arn, "stateMachine")?;
        let size = page_size(q.max_results)?;
        let below = match &q.next_token {
            None => u64::MAX,
            Some(t) => t
                .parse::<u64>()
                .map_err(|_| Error::InvalidToken(t.clone()))?,
        };
        let reg = self.inner.reg();
        if !reg.machines.contains_key(&q.state_machine_arn) {
            return Err(Error::StateMachineDoesNotExist(q.state_machine_arn.clone()));
        }
        let mut out = Vec::new();
        let mut more = false;
        if let Some(arns) = reg.machine(&machine_key_of(&q.state_machine_arn)) {
            let matching = arns.range(..below).rev().filter_map(|(seq, arn)| {
                reg.executions
                    .get(arn)
                    .filter(|e| q.status.is_none_or(|s| s == e.status))
                    .map(|e| (*seq, arn, e))
            });
            for (seq, arn, e) in matching {
                if out.len() == size {
                    more = true;
                    break;
                }
                out.push((seq, summary(arn, e)));
            }
        }
        let next_token = more
            .then(|| out.last().map(|(seq, _)| seq.to_string()))
            .flatten();
        Ok(ListExecutionsPage {
            executions: out.into_iter().map(|(_, d)| d).collect(),
            next_token,
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
            exec.running.as_ref().map(|r| r.history.clone())
        };
        match mem {
            Some(h) => Ok(h.lock().unwrap_or_else(|e| e.into_inner()).clone()),
            None => {
                let (events, _) = self.inner.store.load_execution(arn)?;
                // Every execution's log starts with ExecutionStarted: an empty one has just
                // been deleted by a sweep.
                if events.is_empty() {
                    return Err(Error::ExecutionDoesNotExist(arn.to_string()));
                }
                Ok(events)
            }
        }
    }

    /// GetExecutionHistory with paging (event ids as tokens) and reverse order.
    pub fn history_page(&self, q: &HistoryQuery) -> Result<HistoryPage> {
        let size = page_size(q.max_results)?;
        let after: Option<u64> = match &q.next_token {
            None => None,
            Some(t) => Some(t.parse().map_err(|_| Error::InvalidToken(t.clone()))?),
        };
        let all = self.history(&q.execution_arn)?;
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
        Ok(exec
            .running
            .as_ref()
            .and_then(|r| r.live.as_ref())
            .map(|l| l.tx.clone()))
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
        let stop = {
            let reg = self.inner.reg();
            reg.executions
                .get(arn)
                .ok_or_else(|| Error::ExecutionDoesNotExist(arn.to_string()))?
                .stop
        };
        Ok(stop.unwrap_or_else(|| self.inner.clock.now()))
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

    /// Waits until the execution's history satisfies `pred`; returns that history (at once,
    /// satisfied or not, if the execution is closed: its history no longer changes).
    pub async fn wait_for<F>(&self, arn: &str, pred: F) -> Result<Vec<HistoryEvent>>
    where
        F: Fn(&[HistoryEvent]) -> bool,
    {
        let mut rx = {
            let reg = self.inner.reg();
            reg.executions
                .get(arn)
                .ok_or_else(|| Error::ExecutionDoesNotExist(arn.to_string()))?
                .running
                .as_ref()
                .map(|r| r.watch.subscribe())
        };
        loop {
            let h = self.history(arn)?;
            if pred(&h) {
                return Ok(h);
            }
            let Some(rx) = rx.as_mut() else {
                return Ok(h);
            };
            if rx.changed().await.is_err() {
                return Ok(h);
            }
        }
    }

    /// Waits until the execution is closed; returns its description.
    pub async fn wait_for_completion(&self, arn: &str) -> Result<ExecutionDescription> {
        self.wait_for(arn, |h| h.last().is_some_and(|e| e.event_type.is_closing()))
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

    /// Stops every execution task and the sweeper without recording anything, as a crash would
    /// (for tests of restart; the state on disk is what the last commit wrote).
    pub fn halt(&self) {
        if let Some(s) = self
            .inner
            .sweeper
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            s.abort();
        }
        let mut reg = self.inner.reg();
        for exec in reg.executions.values_mut() {
            if let Some(live) = exec.running.as_mut().and_then(|r| r.live.take()) {
                if let Some(a) = live.abort {
                    a.abort();
                }
            }
        }
    }
}
