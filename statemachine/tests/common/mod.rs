//! Shared test support: a scripted invoker, a virtual clock and helpers over histories.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use preview_statemachine::{Engine, HistoryEvent, ManualClock, TaskFailure, TaskInvoker};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the scripted invoker does for one call.
pub enum Reply {
    Ok(Value),
    Err(&'static str, &'static str),
    /// Never answers (for timeouts and callbacks).
    Hang,
}

type Script = dyn Fn(&str, &Value, usize) -> Reply + Send + Sync;

/// Records calls and answers with a script (function name, payload, call number).
#[derive(Clone)]
pub struct Invoker {
    pub calls: Arc<Mutex<Vec<(String, Value)>>>,
    script: Arc<Script>,
}

impl Invoker {
    pub fn new(f: impl Fn(&str, &Value, usize) -> Reply + Send + Sync + 'static) -> Self {
        Invoker {
            calls: Arc::new(Mutex::new(Vec::new())),
            script: Arc::new(f),
        }
    }

    pub fn echo() -> Self {
        Invoker::new(|_, p, _| Reply::Ok(p.clone()))
    }

    pub fn calls(&self) -> Vec<(String, Value)> {
        self.calls.lock().unwrap().clone()
    }
}

impl TaskInvoker for Invoker {
    fn invoke(
        &self,
        function: &str,
        payload: Value,
    ) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        let n = {
            let mut c = self.calls.lock().unwrap();
            c.push((function.to_string(), payload.clone()));
            c.len() - 1
        };
        match (self.script)(function, &payload, n) {
            Reply::Ok(v) => futures::future::ready(Ok(v)).boxed(),
            Reply::Err(e, c) => futures::future::ready(Err(TaskFailure::new(e, c))).boxed(),
            Reply::Hang => futures::future::pending().boxed(),
        }
    }
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("sfn-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub struct Env {
    pub engine: Engine,
    pub clock: ManualClock,
    pub invoker: Invoker,
    pub dir: PathBuf,
}

pub fn subs() -> HashMap<String, String> {
    HashMap::from([(
        "WorkFn".to_string(),
        "arn:aws:lambda:us-east-1:000000000000:function:work".to_string(),
    )])
}

pub async fn env(invoker: Invoker) -> Env {
    let clock = ManualClock::new(start_time());
    let dir = temp_dir();
    let engine = Engine::open(
        &dir,
        Arc::new(clock.clone()),
        Arc::new(invoker.clone()),
        subs(),
    )
    .await
    .unwrap();
    Env {
        engine,
        clock,
        invoker,
        dir,
    }
}

impl Env {
    /// Creates the state machine and starts one execution; returns its ARN.
    pub fn start(&self, definition: &Value, input: &Value) -> String {
        let sm = self
            .engine
            .create_state_machine("sm", &definition.to_string())
            .unwrap();
        self.engine
            .start_execution(&sm, Some("run"), Some(&input.to_string()))
            .unwrap()
            .0
    }

    pub async fn done(&self, arn: &str) -> preview_statemachine::ExecutionDescription {
        tokio::time::timeout(
            Duration::from_secs(20),
            self.engine.wait_for_completion(arn),
        )
        .await
        .expect("execution did not finish (hang guard)")
        .unwrap()
    }

    pub async fn until(&self, arn: &str, event_type: &str) -> Vec<HistoryEvent> {
        let t = event_type.to_string();
        tokio::time::timeout(
            Duration::from_secs(20),
            self.engine
                .wait_for(arn, move |h| h.iter().any(|e| e.event_type == t)),
        )
        .await
        .expect("event never came (hang guard)")
        .unwrap()
    }

    /// Waits for the n-th occurrence of an event type.
    pub async fn until_n(&self, arn: &str, event_type: &str, n: usize) -> Vec<HistoryEvent> {
        let t = event_type.to_string();
        tokio::time::timeout(
            Duration::from_secs(20),
            self.engine.wait_for(arn, move |h| {
                h.iter().filter(|e| e.event_type == t).count() >= n
            }),
        )
        .await
        .expect("event never came (hang guard)")
        .unwrap()
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub fn history(&self, arn: &str) -> Vec<HistoryEvent> {
        self.engine.history(arn).unwrap()
    }
}

pub fn types(h: &[HistoryEvent]) -> Vec<&str> {
    h.iter().map(|e| e.event_type.as_str()).collect()
}

pub fn parse(s: &Option<String>) -> Value {
    serde_json::from_str(s.as_deref().expect("has output")).unwrap()
}

/// The task token from the last TaskScheduled event's parameters (Payload.token).
pub fn token_from(h: &[HistoryEvent]) -> String {
    let ev = h
        .iter()
        .rev()
        .find(|e| e.event_type == "TaskScheduled")
        .expect("scheduled");
    let params: Value = serde_json::from_str(ev.detail_str("parameters").unwrap()).unwrap();
    params["Payload"]["token"].as_str().unwrap().to_string()
}

/// Serves the engine's API on a loopback port; returns the address.
pub async fn serve_api(engine: &Engine) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(preview_statemachine::serve(engine.clone(), listener));
    addr
}

/// Posts a raw awsJson 1.0 request (any bytes: the SDKs cannot send wrong types) and returns the
/// HTTP status and the JSON body.
pub async fn raw_call(addr: std::net::SocketAddr, operation: &str, body: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: AWSStepFunctions.{operation}\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, payload) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}
