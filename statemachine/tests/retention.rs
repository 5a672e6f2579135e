//! Closed executions are deleted once their retention runs out (at open and periodically, on the
//! engine's clock); a restart reads the compact index and running executions' logs only, and the
//! index is compacted without losing anything a crash could leave behind.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]
mod common;

use common::*;
use preview_statemachine::{
    Engine, EngineOptions, Error, ExecutionStatus, ListExecutionsQuery, SweepReport,
};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const SM: &str = "arn:aws:states:us-east-1:000000000000:stateMachine:sm";

fn options(retention_hours: i64) -> EngineOptions {
    EngineOptions {
        retention: chrono::Duration::hours(retention_hours),
        sweep_interval: chrono::Duration::minutes(10),
    }
}

async fn open(dir: &Path, clock: &preview_statemachine::ManualClock, o: EngineOptions) -> Engine {
    Engine::open_with(
        dir,
        Arc::new(clock.clone()),
        Arc::new(Invoker::echo()),
        subs(),
        o,
    )
    .await
    .unwrap()
}

fn pass() -> String {
    json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string()
}

fn names(engine: &Engine) -> Vec<String> {
    engine
        .list_executions(&ListExecutionsQuery {
            state_machine_arn: SM.into(),
            max_results: Some(1000),
            ..Default::default()
        })
        .unwrap()
        .executions
        .into_iter()
        .map(|e| e.name)
        .collect()
}

fn index_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("index.jsonl"))
        .unwrap_or_default()
        .lines()
        .count()
}

fn log_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("executions")).unwrap().count()
}

/// Runs `name` (a Pass state) to its end.
async fn run(engine: &Engine, name: &str, input: &serde_json::Value) -> String {
    let (arn, _) = engine
        .start_execution(SM, Some(name), Some(&input.to_string()))
        .unwrap();
    tokio::time::timeout(Duration::from_secs(20), engine.wait_for_completion(&arn))
        .await
        .expect("finished")
        .unwrap();
    arn
}

/// Polls until `f` holds (the periodic sweep runs on a blocking thread).
async fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..2000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never: {what}");
}

#[tokio::test]
async fn closed_executions_expire_after_the_retention_and_running_ones_never_do() {
    let clock = preview_statemachine::ManualClock::new(start_time());
    let dir = temp_dir();
    let engine = open(&dir, &clock, options(2)).await;
    engine.create_state_machine("sm", &pass()).unwrap();
    let wait =
        json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 36000, "End": true}}});
    engine
        .create_state_machine("waits", &wait.to_string())
        .unwrap();
    let old = run(&engine, "old", &json!({"n": 1})).await;
    let (waiting, _) = engine
        .start_execution(
            "arn:aws:states:us-east-1:000000000000:stateMachine:waits",
            Some("long"),
            None,
        )
        .unwrap();
    clock.advance(Duration::from_secs(3600));
    let young = run(&engine, "young", &json!({"n": 2})).await;
    // 1h50 after "old" closed: still kept.
    clock.advance(Duration::from_secs(3000));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        engine.describe_execution(&old).unwrap().status,
        ExecutionStatus::Succeeded
    );
    // 2h10: the next sweep (every 10 minutes) deletes it, record and log; "young" has 50
    // minutes left.
    clock.advance(Duration::from_secs(1200));
    eventually("old expired", || {
        matches!(
            engine.describe_execution(&old),
            Err(Error::ExecutionDoesNotExist(_))
        )
    })
    .await;
    assert!(matches!(
        engine.history(&old),
        Err(Error::ExecutionDoesNotExist(_))
    ));
    assert_eq!(names(&engine), vec!["young"]);
    assert_eq!(log_files(&dir), 2, "the old log is deleted");
    let index = std::fs::read_to_string(dir.join("index.jsonl")).unwrap();
    assert!(!index.contains(":old\""), "{index}");
    assert_eq!(index.lines().count(), 2, "compacted: {index}");
    // The running execution started 3h ago is kept, whatever its age.
    assert_eq!(
        engine.describe_execution(&waiting).unwrap().status,
        ExecutionStatus::Running
    );
    // A name is free again once its execution expired (AWS: names are unique for 90 days).
    let again = run(&engine, "old", &json!({"n": 3})).await;
    assert_eq!(again, old);
    assert_eq!(
        parse(&engine.describe_execution(&again).unwrap().output),
        json!({"n": 3})
    );
    assert_eq!(names(&engine), vec!["old", "young"]);
    assert_eq!(
        engine.describe_execution(&young).unwrap().status,
        ExecutionStatus::Succeeded
    );
}

#[tokio::test]
async fn expired_executions_are_deleted_at_open() {
    let clock = preview_statemachine::ManualClock::new(start_time());
    let dir = temp_dir();
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    engine.create_state_machine("sm", &pass()).unwrap();
    run(&engine, "a", &json!({})).await;
    run(&engine, "b", &json!({})).await;
    engine.halt();
    // Closed 91 days ago by the time the engine opens again: 90 days is AWS's retention.
    clock.advance(Duration::from_secs(91 * 86_400));
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    assert!(names(&engine).is_empty());
    assert_eq!(log_files(&dir), 0);
    assert_eq!(index_lines(&dir), 0);
    assert_eq!(
        engine.sweep().unwrap(),
        SweepReport::default(),
        "nothing left to do"
    );
}

#[tokio::test]
async fn a_restart_reads_no_closed_execution_log_and_describes_them_from_it_later() {
    let clock = preview_statemachine::ManualClock::new(start_time());
    let dir = temp_dir();
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    let fail = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": "because"}}});
    engine.create_state_machine("sm", &pass()).unwrap();
    engine
        .create_state_machine("fails", &fail.to_string())
        .unwrap();
    let ok = run(&engine, "ok", &json!({"k": "v"})).await;
    let broken = run(&engine, "broken", &json!({})).await;
    let (failed, _) = engine
        .start_execution(
            "arn:aws:states:us-east-1:000000000000:stateMachine:fails",
            Some("f"),
            Some("{\"x\":1}"),
        )
        .unwrap();
    engine.wait_for_completion(&failed).await.unwrap();
    engine.halt();
    // Ruin one closed execution's log: opening must not even notice.
    let ruined = std::fs::read_dir(dir.join("executions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("broken.jsonl"))
        .expect("the log");
    std::fs::write(&ruined, "garbage\n").unwrap();
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    assert_eq!(names(&engine), vec!["broken", "ok"]);
    let d = engine.describe_execution(&ok).unwrap();
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(parse(&Some(d.input)), json!({"k": "v"}));
    assert_eq!(parse(&d.output), json!({"k": "v"}));
    let d = engine.describe_execution(&failed).unwrap();
    assert_eq!(d.status, ExecutionStatus::Failed);
    assert_eq!(
        (d.error.as_deref(), d.cause.as_deref()),
        (Some("Bad"), Some("because"))
    );
    assert_eq!(d.input, "{\"x\":1}");
    assert_eq!(
        types(&engine.history(&ok).unwrap()),
        vec![
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
    // The ruined one is listed (from the index) but has nothing to describe.
    assert!(engine.describe_execution(&broken).is_err());
}

#[tokio::test]
async fn the_index_is_compacted_at_open_and_page_tokens_survive_it() {
    let clock = preview_statemachine::ManualClock::new(start_time());
    let dir = temp_dir();
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    engine.create_state_machine("sm", &pass()).unwrap();
    let mut arns = Vec::new();
    for i in 0..1100 {
        arns.push(
            engine
                .start_execution(SM, Some(&format!("e{i:04}")), None)
                .unwrap()
                .0,
        );
    }
    for a in &arns {
        tokio::time::timeout(Duration::from_secs(20), engine.wait_for_completion(a))
            .await
            .expect("finished")
            .unwrap();
    }
    // A start line and a close line per execution.
    assert_eq!(index_lines(&dir), 2200);
    let first = engine
        .list_executions(&ListExecutionsQuery {
            state_machine_arn: SM.into(),
            max_results: Some(500),
            ..Default::default()
        })
        .unwrap();
    let token = first.next_token.clone().expect("more pages");
    engine.halt();
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    assert_eq!(index_lines(&dir), 1100, "one line per execution after open");
    let second = engine
        .list_executions(&ListExecutionsQuery {
            state_machine_arn: SM.into(),
            max_results: Some(1000),
            next_token: Some(token),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(first.executions[0].name, "e1099");
    assert_eq!(first.executions[499].name, "e0600");
    assert_eq!(second.executions[0].name, "e0599");
    assert_eq!(second.executions.len(), 600);
    assert!(second.next_token.is_none());
    // New executions go after the old ones in start order, across the restart.
    run(&engine, "late", &json!({})).await;
    assert_eq!(names(&engine)[0], "late");
}

#[tokio::test]
async fn leftovers_of_a_crash_are_harmless() {
    let clock = preview_statemachine::ManualClock::new(start_time());
    let dir = temp_dir();
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    engine.create_state_machine("sm", &pass()).unwrap();
    let a = run(&engine, "a", &json!({"v": 1})).await;
    engine.halt();
    // A crash during a compaction (before its rename) and in the middle of an index append.
    std::fs::write(dir.join("index.jsonl.tmp"), "{\"seq\":0,\"arn\":\"half").unwrap();
    let mut index = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("index.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut index, b"{\"seq\":1,\"arn\":\"arn:aws:sta").unwrap();
    drop(index);
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    assert!(!dir.join("index.jsonl.tmp").exists());
    assert_eq!(names(&engine), vec!["a"]);
    assert_eq!(
        parse(&engine.describe_execution(&a).unwrap().output),
        json!({"v": 1})
    );
    // The torn line is superseded by the next append, not glued to it.
    run(&engine, "b", &json!({})).await;
    engine.halt();
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    assert_eq!(names(&engine), vec!["b", "a"]);
}

#[tokio::test]
async fn an_index_written_by_an_earlier_version_is_read_and_compacted() {
    let clock = preview_statemachine::ManualClock::new(start_time());
    let dir = temp_dir();
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    engine.create_state_machine("sm", &pass()).unwrap();
    let a = run(&engine, "a", &json!({"v": 1})).await;
    engine.halt();
    // The same execution as the earlier index format recorded it: whole records, RFC 3339 dates.
    let legacy = [
        json!({"arn": a, "state_machine_arn": SM, "name": "a", "status": "RUNNING",
               "start": "2024-05-01T12:00:00Z", "stop": null, "input": "{\"v\":1}",
               "output": null, "error": null, "cause": null}),
        json!({"arn": a, "state_machine_arn": SM, "name": "a", "status": "SUCCEEDED",
               "start": "2024-05-01T12:00:00Z", "stop": "2024-05-01T12:00:00Z",
               "input": "{\"v\":1}", "output": "{\"v\":1}", "error": null, "cause": null}),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect::<String>();
    std::fs::write(dir.join("index.jsonl"), legacy).unwrap();
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    let d = engine.describe_execution(&a).unwrap();
    assert_eq!(d.status, ExecutionStatus::Succeeded);
    assert_eq!(d.start, start_time());
    assert_eq!(parse(&d.output), json!({"v": 1}));
    // A sweep forced by an expiry rewrites the index in the current format.
    engine.halt();
    clock.advance(Duration::from_secs(91 * 86_400));
    let engine = open(&dir, &clock, EngineOptions::default()).await;
    assert!(names(&engine).is_empty());
}
