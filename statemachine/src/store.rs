//! On-disk persistence as append-only JSON-lines files.
//!
//! Why JSON lines rather than an embedded database: every write the engine makes is an append
//! (history only grows, statuses only move forward), a line written with one `write` call is
//! either whole or detectably torn (a torn last line fails to parse and is dropped, which rolls
//! the execution back to its previous commit), the files are readable with `jq` when debugging a
//! local run, and it needs no extra dependency. Durability is "survives a process crash" (data
//! reaches the OS on every commit); an OS crash may lose the last commits, which is acceptable
//! for a local engine and re-runs the interrupted task (at-least-once, as in AWS).
//!
//! Layout under the root directory:
//! - `state-machines.jsonl`: one [`StateMachineRecord`] per created state machine;
//! - `index.jsonl`: [`ExecutionRecord`] snapshots (start and close of each execution), folded at
//!   open into the in-memory index that ListExecutions and DescribeExecution read;
//! - `executions/<encoded ARN>.jsonl`: one [`Commit`] per line, holding the new history events
//!   and the execution's runtime snapshot (position, data, timers, live token).

use crate::error::Result;
use crate::history::HistoryEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A created state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateMachineRecord {
    /// Name.
    pub name: String,
    /// ARN.
    pub arn: String,
    /// The definition exactly as given (before substitution).
    pub definition: String,
    /// roleArn as given.
    pub role_arn: String,
    /// Creation time.
    pub created: DateTime<Utc>,
}

/// The summary of one execution (what the index keeps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    /// Execution ARN.
    pub arn: String,
    /// State machine ARN.
    pub state_machine_arn: String,
    /// Execution name.
    pub name: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
    pub status: String,
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
    /// Cause, if failed/aborted/timed out.
    pub cause: Option<String>,
}

/// One atomic step of an execution: new events plus the runtime snapshot after them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Commit {
    /// Events appended by this step.
    pub events: Vec<HistoryEvent>,
    /// The runtime state after this step (opaque to the store).
    pub runtime: Value,
}

/// The on-disk store.
pub struct Store {
    root: PathBuf,
    // Appends to the shared files are serialised so lines never interleave.
    lock: Mutex<()>,
}

fn read_lines<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(v) => out.push(v),
            // Only a torn last line (crash mid-write) can fail to parse; drop it.
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "ignoring a torn record");
                break;
            }
        }
    }
    Ok(out)
}

fn append_line<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(&line)?;
    Ok(())
}

fn encode_file_name(arn: &str) -> String {
    arn.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Store {
    /// Opens (creating if needed) a store under `root`.
    pub fn open(root: &Path) -> Result<Store> {
        fs::create_dir_all(root.join("executions"))?;
        Ok(Store {
            root: root.to_path_buf(),
            lock: Mutex::new(()),
        })
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// All state machines, in creation order.
    pub fn state_machines(&self) -> Result<Vec<StateMachineRecord>> {
        read_lines(&self.root.join("state-machines.jsonl"))
    }

    /// All executions, in start order, each in its latest recorded form.
    pub fn executions(&self) -> Result<Vec<ExecutionRecord>> {
        let all: Vec<ExecutionRecord> = read_lines(&self.root.join("index.jsonl"))?;
        let mut order: Vec<String> = Vec::new();
        let mut latest: std::collections::HashMap<String, ExecutionRecord> =
            std::collections::HashMap::new();
        for r in all {
            if !latest.contains_key(&r.arn) {
                order.push(r.arn.clone());
            }
            latest.insert(r.arn.clone(), r);
        }
        Ok(order
            .into_iter()
            .filter_map(|a| latest.remove(&a))
            .collect())
    }

    /// Records a new state machine.
    pub fn put_state_machine(&self, rec: &StateMachineRecord) -> Result<()> {
        let _g = self.guard();
        append_line(&self.root.join("state-machines.jsonl"), rec)
    }

    /// Records an execution's summary (at start and at close).
    pub fn put_execution(&self, rec: &ExecutionRecord) -> Result<()> {
        let _g = self.guard();
        append_line(&self.root.join("index.jsonl"), rec)
    }

    fn execution_path(&self, arn: &str) -> PathBuf {
        self.root
            .join("executions")
            .join(format!("{}.jsonl", encode_file_name(arn)))
    }

    /// Appends one commit to an execution's log.
    pub fn append_commit(&self, arn: &str, commit: &Commit) -> Result<()> {
        append_line(&self.execution_path(arn), commit)
    }

    /// Reads an execution's full history and its last runtime snapshot.
    pub fn load_execution(&self, arn: &str) -> Result<(Vec<HistoryEvent>, Option<Value>)> {
        let commits: Vec<Commit> = read_lines(&self.execution_path(arn))?;
        let mut events = Vec::new();
        let mut runtime = None;
        for c in commits {
            events.extend(c.events);
            runtime = Some(c.runtime);
        }
        Ok((events, runtime))
    }
}
