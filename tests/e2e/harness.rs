//! The end-to-end harness: a stack in moto, the engine on a manual clock over a temporary
//! directory, our ASL and the real steps, and the Step Functions API served on loopback.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

pub mod fault_proxy;
pub mod runtime_api;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_smithy_mocks::{mock, mock_client, RuleMode};
use chrono::{Duration, Utc};
use preview_local::preview::{self, StepsInvoker};
use preview_local::reporting_instance::{self, HealthAnswer};
use preview_local::{local_ctx, Moto};
use preview_statemachine::{Engine, ExecutionDescription, HistoryEvent, ManualClock};
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::{PreviewRequest, SourceInput, BACKEND_REPO};
use preview_tasks::instances::{self, ALIVE_STATES};
use preview_tasks::{Config, Ctx};

use crate::fault_proxy::FaultProxy;

/// One test's world.
pub struct Harness {
    /// The steps' context (moto, and the engine's API for the reaper).
    pub ctx: Ctx,
    /// The engine.
    pub engine: Engine,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    /// The state machine.
    pub state_machine: String,
    /// Where the engine keeps executions.
    pub dir: PathBuf,
    /// The served Step Functions API.
    pub sfn_endpoint: String,
    /// The fault-injecting proxy the steps reach AWS through, when the test asked for one.
    pub proxy: Option<FaultProxy>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Faults moto cannot produce, injected into one step's clients with aws-smithy-mocks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fault {
    /// The health check keeps saying "not yet" (exit 75); moto always says healthy.
    NeverReady,
    /// EC2 throttles every RunInstances.
    LaunchThrottled,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Harness {
    /// A fresh stack with `max_live` slots and the given health behaviour.
    pub async fn new(max_live: u32, faults: &[Fault], tweak: impl FnOnce(&mut Config)) -> Harness {
        Harness::build(max_live, faults, tweak, false).await
    }

    /// A fresh stack whose steps reach AWS through a [`FaultProxy`] (without SDK-level retries,
    /// so the workflow's own Retry is what rides out an outage); assertions go to moto directly.
    pub async fn proxied(max_live: u32) -> Harness {
        Harness::build(max_live, &[], |_| {}, true).await
    }

    async fn build(
        max_live: u32,
        faults: &[Fault],
        tweak: impl FnOnce(&mut Config),
        proxied: bool,
    ) -> Harness {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let stack = format!("e{}-{n}", std::process::id());
        let mut config = Config {
            max_live,
            health_poll_interval_seconds: 1,
            health_poll_budget_seconds: 2,
            ..Config::default()
        };
        tweak(&mut config);
        let endpoint = Moto::shared_endpoint().expect("moto");
        let mut ctx = local_ctx(&endpoint, &stack, config).await.expect("seed");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sfn_endpoint = format!("http://{}", listener.local_addr().unwrap());
        ctx.clients.sfn = preview::sfn_client(&sfn_endpoint).await;
        let dir = std::env::temp_dir().join(format!("dspace-preview-e2e-{stack}"));
        let _ = std::fs::remove_dir_all(&dir);
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let proxy = match proxied {
            true => Some(FaultProxy::start(&endpoint).await),
            false => None,
        };
        let steps_ctx = match &proxy {
            Some(p) => through(&ctx, &p.endpoint).await,
            None => ctx.clone(),
        };
        let (engine, state_machine) =
            preview::open(&dir, clock.clone(), invoker(&steps_ctx, faults), &stack)
                .await
                .expect("engine");
        let server = tokio::spawn(preview_statemachine::serve(engine.clone(), listener));
        Harness {
            ctx,
            engine,
            clock,
            state_machine,
            dir,
            sfn_endpoint,
            proxy,
            server,
        }
    }

    /// Opens a new engine over the same directory, as after a crash of the local service.
    pub async fn restart(&mut self, faults: &[Fault]) {
        self.engine.halt();
        let (engine, arn) = preview::open(
            &self.dir,
            self.clock.clone(),
            invoker(&self.ctx, faults),
            &self.ctx.base.stack,
        )
        .await
        .expect("reopen");
        assert_eq!(arn, self.state_machine);
        self.engine = engine;
    }

    /// Starts a preview of backend PR `pr`; returns (execution ARN, preview id).
    pub fn start(&self, pr: u64) -> (String, PreviewId) {
        let request = backend_pr(pr);
        let valid = request.validate(&self.ctx.base.request_rules()).unwrap();
        let id = PreviewId::generate(&valid, Utc::now(), u16::try_from(pr % 65536).unwrap());
        let input = serde_json::json!({"preview_id": id, "request": request}).to_string();
        let (arn, _) = self
            .engine
            .start_execution(&self.state_machine, Some(id.as_str()), Some(&input))
            .unwrap();
        (arn, id)
    }

    /// Waits until the execution has submitted its `n`th AwaitExpiry (or ended).
    pub async fn parked(&self, arn: &str, n: usize) -> Vec<HistoryEvent> {
        self.engine
            .wait_for(arn, |h| {
                h.iter().filter(|e| e.event_type == "TaskSubmitted").count() >= n || ended(h)
            })
            .await
            .unwrap()
    }

    /// The task token the await-expiry step stored for the web app.
    pub async fn token(&self, id: &PreviewId) -> String {
        let names = self.ctx.base.names();
        preview_tasks::steps::await_expiry::stored_token(&self.ctx.clients.ssm, &names, id)
            .await
            .unwrap()
            .expect("a stored token")
    }

    /// Sends a callback as the web app does.
    pub async fn callback(&self, id: &PreviewId, body: serde_json::Value) {
        let token = self.token(id).await;
        self.engine
            .send_task_success(&token, &body.to_string())
            .await
            .unwrap();
    }

    /// Moves the clock in steps until the execution ends (timers, retries and TTLs fire). The
    /// clock stands still while a step runs, so no task timeout fires under a running handler.
    pub async fn run_to_end(&self, arn: &str, step: Duration) -> ExecutionDescription {
        for _ in 0..20_000 {
            let d = self.engine.describe_execution(arn).unwrap();
            if d.stop.is_some() {
                return d;
            }
            if idle(&self.history(arn)) {
                self.clock.advance(step.to_std().unwrap_or_default());
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        panic!("execution {arn} did not end");
    }

    /// Moves the clock in `step`s while the execution waits on it, calling `tick` before each
    /// look, until `until` holds for its history (or it ends).
    pub async fn drive(
        &self,
        arn: &str,
        step: Duration,
        mut tick: impl FnMut(&Harness),
        until: impl Fn(&[HistoryEvent]) -> bool,
    ) -> Vec<HistoryEvent> {
        for _ in 0..50_000 {
            tick(self);
            let h = self.history(arn);
            if until(&h) || ended(&h) {
                return h;
            }
            if idle(&h) {
                self.clock.advance(step.to_std().unwrap_or_default());
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        panic!("execution {arn} never got there");
    }

    /// What a stack holds after its previews ended: (instances alive, slots held, parameters
    /// under `previews/`). All zero means nothing was left behind.
    pub async fn leftovers(&self) -> (usize, usize, usize) {
        let names = self.ctx.base.names();
        let slots = preview_tasks::slots::held(&self.ctx.clients.ssm, &names)
            .await
            .unwrap()
            .len();
        let params =
            preview_tasks::parameters::names_under(&self.ctx.clients.ssm, &names.previews_path())
                .await
                .unwrap()
                .len();
        (self.alive().await, slots, params)
    }

    /// Our instances that still run.
    pub async fn alive(&self) -> usize {
        instances::find(
            &self.ctx.clients.ec2,
            &self.ctx.base.stack,
            &ALIVE_STATES,
            &[],
        )
        .await
        .unwrap()
        .len()
    }

    /// The execution's history.
    pub fn history(&self, arn: &str) -> Vec<HistoryEvent> {
        self.engine.history(arn).unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.engine.halt();
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// True once the history holds a closing event.
pub fn ended(h: &[HistoryEvent]) -> bool {
    h.last().is_some_and(|e| {
        matches!(
            e.event_type.as_str(),
            "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut"
        )
    })
}

/// True when the execution waits on the clock (a Wait, a retry back-off, a task token), not on a
/// running step.
fn idle(h: &[HistoryEvent]) -> bool {
    h.last().is_some_and(|e| {
        matches!(
            e.event_type.as_str(),
            "TaskSubmitted" | "WaitStateEntered" | "LambdaFunctionFailed" | "TaskFailed"
        )
    })
}

/// State names entered, in order (billed transitions).
pub fn states_entered(h: &[HistoryEvent]) -> Vec<String> {
    h.iter()
        .filter(|e| e.event_type.ends_with("StateEntered"))
        .filter_map(|e| {
            e.details
                .get("name")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .collect()
}

/// A request for one backend PR.
pub fn backend_pr(number: u64) -> PreviewRequest {
    PreviewRequest {
        sources: vec![SourceInput {
            repo: BACKEND_REPO.into(),
            pr: Some(number),
            ..Default::default()
        }],
        requester: "alice".into(),
        ..Default::default()
    }
}

/// The same stack through another endpoint, with the SDK's own retries off.
async fn through(ctx: &Ctx, endpoint: &str) -> Ctx {
    let sdk = preview_local::sdk_config(endpoint)
        .await
        .into_builder()
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    let mut steps = ctx.clone();
    let sfn = steps.clients.sfn.clone();
    steps.clients = preview_tasks::Clients::new(&sdk);
    steps.clients.sfn = sfn;
    steps
}

fn invoker(ctx: &Ctx, faults: &[Fault]) -> StepsInvoker {
    faults.iter().fold(
        StepsInvoker::new(ctx.clone()),
        |invoker, fault| match fault {
            Fault::NeverReady => invoker.with_context_for("check-health", never_ready(ctx)),
            Fault::LaunchThrottled => invoker.with_context_for("launch", throttled_launch(ctx)),
        },
    )
}

/// The same context, but EC2 answers RunInstances with RequestLimitExceeded.
fn throttled_launch(ctx: &Ctx) -> Ctx {
    use aws_sdk_ec2::operation::{
        describe_images::DescribeImagesOutput, describe_instances::DescribeInstancesOutput,
        run_instances::RunInstancesError,
    };
    let none = mock!(aws_sdk_ec2::Client::describe_instances)
        .then_output(|| DescribeInstancesOutput::builder().build());
    let images = mock!(aws_sdk_ec2::Client::describe_images)
        .then_output(|| DescribeImagesOutput::builder().build());
    let run = mock!(aws_sdk_ec2::Client::run_instances).then_error(|| {
        RunInstancesError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("RequestLimitExceeded")
                .message("Request limit exceeded.")
                .build(),
        )
    });
    let mut ctx = ctx.clone();
    ctx.clients.ec2 = mock_client!(
        aws_sdk_ec2,
        RuleMode::MatchAny,
        [&none, &images, &run],
        |c| c.retry_config(aws_smithy_types::retry::RetryConfig::disabled())
    );
    ctx
}

/// The same context, but SSM Run Command answers "not yet" every time (moto cannot).
fn never_ready(ctx: &Ctx) -> Ctx {
    reporting_instance::ctx(ctx, || {
        HealthAnswer {
        exit_code: 75,
        stdout: r#"{"status":"pending","phase":"building-backend","passed":["db"],"detail":"mvn package"}"#.into(),
    }
    })
}
