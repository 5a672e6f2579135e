//! Restart cost of the engine's store: fills a directory with N closed executions (synthetic
//! preview-shaped histories, written straight in the store's on-disk format) and then, in a fresh
//! child process, times `Engine::open` over it and measures the loaded engine's resident set and
//! live heap.
//!
//! `cargo bench --profile dev -p preview-statemachine --bench store_restart [-- SIZES]`, SIZES
//! like `10000,100000` (the default). Prints figures; nothing is asserted on time.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use preview_statemachine::store::{IndexEntry, StateMachineRecord, Store};
use preview_statemachine::{Engine, ExecutionStatus, SystemClock, TaskFailure, TaskInvoker};
use serde_json::{json, Value};

/// The project's workflow: a realistic definition for the stored histories to belong to.
const DEFINITION: &str = include_str!("../preview.asl.json");

/// Every placeholder of [`DEFINITION`] named as a Lambda ARN (no task runs here).
fn substitutions() -> std::collections::HashMap<String, String> {
    preview_statemachine::asl::placeholders(DEFINITION)
        .into_iter()
        .map(|p| {
            (
                p.to_string(),
                format!("arn:aws:lambda:us-east-1:000000000000:function:bench-{p}"),
            )
        })
        .collect()
}

/// Counts live heap bytes, so the child reports the loaded engine's heap and not only its RSS.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator; the counter is only arithmetic.
#[allow(unsafe_code, reason = "a global allocator is an unsafe trait")]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const SM_ARN: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:dspace-preview";
const NAME_MARK: &str = "@@NAME@@";

struct NoTasks;

impl TaskInvoker for NoTasks {
    fn invoke(&self, _: &str, _: Value) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        async {
            Err(TaskFailure::new(
                "Bench.NoTasks",
                "no task runs in this bench",
            ))
        }
        .boxed()
    }
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Builds a preview's history (the states of `preview.asl.json` for a preview that launches, is
/// healthy, waits for its expiry and is terminated: 39 events in 8 commits) with `NAME_MARK` in
/// place of the preview's name. Returns the commit lines, the input and the output.
fn template(start: DateTime<Utc>) -> (String, String, String) {
    struct Log {
        events: Vec<Value>,
        pending: Vec<Value>,
        lines: String,
        t: DateTime<Utc>,
    }
    impl Log {
        fn push(&mut self, ty: &str, key: Option<&str>, details: Value) {
            let id = (self.events.len() + self.pending.len()) as u64 + 1;
            let prev = if id <= 2 { 0 } else { id - 1 };
            self.pending
                .push(json!({"id": id, "previous_event_id": prev,
                "timestamp": iso(self.t), "type": ty, "details_key": key, "details": details}));
        }
        fn commit(&mut self, runtime: Value) {
            let events = std::mem::take(&mut self.pending);
            self.lines
                .push_str(&json!({"events": events, "runtime": runtime}).to_string());
            self.lines.push('\n');
            self.events.extend(events);
        }
        fn state(&mut self, kind: &str, name: &str, input: &Value, output: &Value) {
            let (entered, exited) = (format!("{kind}StateEntered"), format!("{kind}StateExited"));
            self.push(&entered, Some("stateEnteredEventDetails"),
                json!({"name": name, "input": input.to_string(), "inputDetails": {"truncated": false}}));
            self.push(&exited, Some("stateExitedEventDetails"),
                json!({"name": name, "output": output.to_string(), "outputDetails": {"truncated": false}}));
        }
    }
    let mut log = Log {
        events: Vec::new(),
        pending: Vec::new(),
        lines: String::new(),
        t: start,
    };
    let input = json!({"preview_id": NAME_MARK, "request": {
        "sources": [
            {"repo": "DSpace/DSpace", "pr": 9876, "commit": "0123456789abcdef0123456789abcdef01234567"},
            {"repo": "DSpace/dspace-angular", "pr": 4321, "commit": "89abcdef0123456789abcdef0123456789abcdef"}],
        "requester": "someone@example.org", "duration_minutes": 120, "base": "main",
        "note": "Preview of the new submission form with the accessibility fixes"}});
    log.push(
        "ExecutionStarted",
        Some("executionStartedEventDetails"),
        json!({
        "input": input.to_string(), "inputDetails": {"truncated": false},
        "roleArn": "arn:aws:iam::000000000000:role/StepFunctionsLocal"}),
    );
    log.commit(
        json!({"pos": {"Enter": {"state": "CheckCapacity", "input": input}}, "token": null}),
    );
    let steps = [
        (
            "CheckCapacity",
            "capacity",
            json!({"slot": 3, "running": 2, "limit": 5}),
        ),
        (
            "Launch",
            "instance",
            json!({"instance_id": "i-0123456789abcdef0", "instance_type": "t3.large",
            "image": "ami-0123456789abcdef0", "private_ip": "10.0.1.23",
            "public_dns": "ec2-203-0-113-10.compute-1.amazonaws.com", "launched_at": "2024-05-01T12:00:05Z"}),
        ),
        (
            "CheckHealth",
            "health",
            json!({"status": "healthy", "elapsed_seconds": 1380,
            "checks": [{"name": "ui", "ok": true}, {"name": "rest", "ok": true}, {"name": "solr", "ok": true}],
            "images": ["dspace/dspace:dspace-8_x", "dspace/dspace-angular:dspace-8_x"]}),
        ),
        (
            "RecordUrl",
            "ready",
            json!({"ui_url": "https://pr-9876-4321.preview.example.org",
            "rest_url": "https://pr-9876-4321.preview.example.org/server/api",
            "expiry": {"expires_at": "2024-05-01T14:25:00Z", "extended": 0}}),
        ),
    ];
    let mut data = input.clone();
    for (state, key, result) in steps {
        let function = format!("arn:aws:lambda:us-east-1:000000000000:function:bench-{state}");
        log.push(
            "TaskStateEntered",
            Some("stateEnteredEventDetails"),
            json!({"name": state, "input": data.to_string(), "inputDetails": {"truncated": false}}),
        );
        log.push("LambdaFunctionScheduled", Some("lambdaFunctionScheduledEventDetails"),
            json!({"resource": function, "input": data.to_string(), "inputDetails": {"truncated": false}}));
        log.push("LambdaFunctionStarted", None, json!({}));
        log.commit(task_runtime(state, &data, None));
        log.t += Duration::seconds(30);
        let mut after = data.clone();
        after[key] = result.clone();
        log.push(
            "LambdaFunctionSucceeded",
            Some("lambdaFunctionSucceededEventDetails"),
            json!({"output": result.to_string(), "outputDetails": {"truncated": false}}),
        );
        log.push("TaskStateExited", Some("stateExitedEventDetails"),
            json!({"name": state, "output": after.to_string(), "outputDetails": {"truncated": false}}));
        if state == "CheckHealth" {
            log.state("Choice", "IsHealthy", &after, &after);
        }
        data = after;
    }
    let token = "A".repeat(200);
    log.push("TaskStateEntered", Some("stateEnteredEventDetails"),
        json!({"name": "AwaitExpiry", "input": data.to_string(), "inputDetails": {"truncated": false}}));
    log.push("TaskScheduled", Some("taskScheduledEventDetails"), json!({
        "resourceType": "lambda", "resource": "invoke.waitForTaskToken", "region": "us-east-1",
        "parameters": json!({"FunctionName": "bench-AwaitExpiry", "Payload": {"token": token, "preview": data}}).to_string()}));
    log.push(
        "TaskStarted",
        Some("taskStartedEventDetails"),
        json!({"resourceType": "lambda", "resource": "invoke.waitForTaskToken"}),
    );
    log.push("TaskSubmitted", Some("taskSubmittedEventDetails"), json!({"resourceType": "lambda",
        "resource": "invoke.waitForTaskToken", "output": "{\"StatusCode\":200}", "outputDetails": {"truncated": false}}));
    log.commit(task_runtime("AwaitExpiry", &data, Some(&token)));
    log.t += Duration::minutes(120);
    let callback = json!({"action": "expire", "by": "timer"});
    data["callback"] = callback.clone();
    log.push("TaskSucceeded", Some("taskSucceededEventDetails"), json!({"resourceType": "lambda",
        "resource": "invoke.waitForTaskToken", "output": callback.to_string(), "outputDetails": {"truncated": false}}));
    log.push("TaskStateExited", Some("stateExitedEventDetails"),
        json!({"name": "AwaitExpiry", "output": data.to_string(), "outputDetails": {"truncated": false}}));
    log.state("Choice", "OnCallback", &data, &data);
    log.push("TaskStateEntered", Some("stateEnteredEventDetails"),
        json!({"name": "Terminate", "input": data.to_string(), "inputDetails": {"truncated": false}}));
    log.push(
        "LambdaFunctionScheduled",
        Some("lambdaFunctionScheduledEventDetails"),
        json!({
        "resource": "arn:aws:lambda:us-east-1:000000000000:function:bench-Terminate",
        "input": data.to_string(), "inputDetails": {"truncated": false}}),
    );
    log.push("LambdaFunctionStarted", None, json!({}));
    log.commit(task_runtime("Terminate", &data, None));
    log.t += Duration::seconds(30);
    let output = json!({"preview_id": NAME_MARK, "ready": data["ready"], "instance": data["instance"],
        "terminated": {"at": iso(log.t), "reason": "expired"}});
    log.push(
        "LambdaFunctionSucceeded",
        Some("lambdaFunctionSucceededEventDetails"),
        json!({"output": output.to_string(), "outputDetails": {"truncated": false}}),
    );
    log.push("TaskStateExited", Some("stateExitedEventDetails"),
        json!({"name": "Terminate", "output": output.to_string(), "outputDetails": {"truncated": false}}));
    log.state("Succeed", "Ended", &output, &output);
    log.push(
        "ExecutionSucceeded",
        Some("executionSucceededEventDetails"),
        json!({"output": output.to_string(), "outputDetails": {"truncated": false}}),
    );
    log.commit(json!({"pos": "Done", "token": null}));
    (log.lines, input.to_string(), output.to_string())
}

/// A Task state's runtime snapshot as the runner writes it (raw input, effective input, payload).
fn task_runtime(state: &str, data: &Value, token: Option<&str>) -> Value {
    json!({"pos": {"Task": {"state": state, "entered_id": 2, "entered": "2024-05-01T12:00:00.000Z",
        "raw_input": data, "effective": data, "timeout": null, "heartbeat": null, "retries": [0],
        "retry_count": 0, "phase": {"Running": {"started": "2024-05-01T12:00:00.000Z",
        "function": format!("bench-{state}"), "payload": data, "submitted": false,
        "heartbeat_deadline": null, "early": null}}}}, "token": token})
}

fn execution_file(root: &Path, arn: &str) -> PathBuf {
    let name: String = arn
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    root.join("executions").join(format!("{name}.jsonl"))
}

/// Writes `n` closed executions, closed over the last 60 days (inside the default retention).
/// Returns the bytes written per execution history.
fn fill(root: &Path, n: usize) -> Result<usize, Box<dyn std::error::Error>> {
    let store = Store::open(root)?;
    let now = Utc::now();
    store.put_state_machine(&StateMachineRecord {
        name: "dspace-preview".into(),
        arn: SM_ARN.into(),
        definition: DEFINITION.into(),
        role_arn: preview_statemachine::engine::DEFAULT_ROLE_ARN.into(),
        created: now - Duration::days(61),
    })?;
    let (lines, _input, _output) = template(now - Duration::days(60));
    let mut bytes = 0;
    for i in 0..n {
        let name = format!("pr-{:05}-{:08x}", i % 10_000, i);
        let arn = format!("arn:aws:states:us-east-1:000000000000:execution:dspace-preview:{name}");
        let history = lines.replace(NAME_MARK, &name);
        bytes = history.len();
        std::fs::File::create(execution_file(root, &arn))?.write_all(history.as_bytes())?;
        // Spread over 60 days, in start order.
        let start = now - Duration::days(60)
            + Duration::milliseconds((i as i64) * 5_184_000_000 / n as i64);
        let mut entry = IndexEntry {
            seq: Some(i as u64),
            arn,
            status: Some(ExecutionStatus::Running),
            start,
            stop: None,
        };
        store.put_index(&entry)?;
        entry.status = Some(ExecutionStatus::Succeeded);
        entry.stop = Some(start + Duration::minutes(123));
        store.put_index(&entry)?;
    }
    Ok(bytes)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Child mode: open the engine over `dir` and print the figures as `key=value` pairs.
fn measure(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (rss0, heap0) = (rss_kb(), LIVE.load(Ordering::Relaxed));
    let t0 = Instant::now();
    let engine = rt.block_on(Engine::open(
        dir,
        Arc::new(SystemClock),
        Arc::new(NoTasks),
        substitutions(),
    ))?;
    let open_s = t0.elapsed().as_secs_f64();
    let (rss1, heap1) = (rss_kb(), LIVE.load(Ordering::Relaxed));
    let page = engine.list_executions(&preview_statemachine::ListExecutionsQuery {
        state_machine_arn: SM_ARN.into(),
        max_results: Some(1),
        ..Default::default()
    })?;
    let newest = page
        .executions
        .first()
        .map(|e| e.arn.clone())
        .unwrap_or_default();
    let t1 = Instant::now();
    let d = engine.describe_execution(&newest)?;
    let describe_ms = t1.elapsed().as_secs_f64() * 1000.0;
    let t2 = Instant::now();
    let events = engine.history(&newest)?.len();
    let history_ms = t2.elapsed().as_secs_f64() * 1000.0;
    assert!(d.output.is_some(), "the newest execution has its output");
    println!(
        "seconds={open_s:.3} rss_mb={:.1} heap_mb={:.1} describe_ms={describe_ms:.2} history_ms={history_ms:.2} events={events}",
        rss1 as f64 / 1024.0,
        (heap1 - heap0) as f64 / 1_048_576.0,
    );
    let _ = rss0;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--measure") {
        let dir = args.get(i + 1).ok_or("--measure DIR")?;
        return measure(Path::new(dir));
    }
    // `--fill DIR N`: only write the store (to measure it again and again with `--measure`).
    if let Some(i) = args.iter().position(|a| a == "--fill") {
        let (dir, n) = match (
            args.get(i + 1),
            args.get(i + 2).and_then(|n| n.parse().ok()),
        ) {
            (Some(d), Some(n)) => (d, n),
            _ => return Err("--fill DIR N".into()),
        };
        fill(Path::new(dir), n)?;
        return Ok(());
    }
    let sizes: Vec<usize> = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .map(String::as_str)
        .unwrap_or("10000,100000")
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let me = std::env::current_exe()?;
    for n in sizes {
        let dir = std::env::temp_dir().join(format!("store-restart-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let t = Instant::now();
        let per = fill(&dir, n)?;
        let fill_s = t.elapsed().as_secs_f64();
        let index = std::fs::metadata(dir.join("index.jsonl"))
            .map(|m| m.len())
            .unwrap_or(0);
        let total = dir_bytes(&dir);
        // Fresh processes, so the figures are the loaded engine's and not the generator's. The
        // first open also compacts the index (the generator wrote a start and a close line per
        // execution, as a running engine does); the second is the steady state.
        let mut runs = Vec::new();
        for _ in 0..2 {
            let out = Command::new(&me).arg("--measure").arg(&dir).output()?;
            if !out.status.success() {
                eprintln!("{}", String::from_utf8_lossy(&out.stderr));
                return Err(format!("measuring {n} executions failed").into());
            }
            runs.push(String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
        let first = runs[0]
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("seconds="))
            .unwrap_or("?");
        let compacted = std::fs::metadata(dir.join("index.jsonl"))
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "store-restart executions={n} {} first_open_seconds={first} index_mb={:.1} index_after_first_open_mb={:.1} store_mb={:.0} history_kb={:.1} fill_seconds={fill_s:.1}",
            runs[1],
            index as f64 / 1_048_576.0,
            compacted as f64 / 1_048_576.0,
            total as f64 / 1_048_576.0,
            per as f64 / 1024.0,
        );
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}
