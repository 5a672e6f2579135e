//! The world the web tests run in: a stack in moto, the local engine with the real steps, the
//! app in front of them.

#![allow(dead_code)]

pub mod pr_seen;
pub mod visitor;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use axum::Router;
use chrono::Utc;
use preview_local::github_replay::ReplayLog;
use preview_local::preview::{self, StepsInvoker};
use preview_local::{local_ctx, Moto};
use preview_statemachine::{Engine, ManualClock};
use preview_tasks::{Clients, Config, Ctx};
use preview_web::github::GitHub;
use preview_web::github_signin::{GitHubSignin, SigninMode};
use preview_web::membership::Membership;
use preview_web::secrets::KeySource;
use preview_web::state::Settings;
use preview_web::webhook::allowed::AllowedUsers;
use preview_web::webhook::WebhookSettings;
use preview_web::{router, AppState};

/// The key the tests' app signs sessions and links with.
pub const SIGNING_KEY: [u8; 32] = [9u8; 32];

/// The access code the tests sign in with.
pub const ACCESS_CODE: &str = "dspace rocks";

/// The secret the tests' GitHub webhook deliveries are signed with.
pub const WEBHOOK_SECRET: &str = "webhook secret";

/// The logins the tests' webhook accepts commands from.
pub const WEBHOOK_USERS: &str = "alice, Maintainer-Mo";

/// In GitHub mode: the logins allowed by name (no rights on the recorded GitHub).
pub const GITHUB_ALLOWED: &str = "octo-listed";
/// In GitHub mode: the maintainers, who may stop or extend any preview.
pub const GITHUB_MAINTAINERS: &str = "octo-maintainer";
/// In GitHub mode: the org and the team whose members may sign in.
pub const GITHUB_ORGS: &str = "DSpace, DSpace/dspace-committers";

/// Counts every request the SDK clients send (retries included).
#[derive(Debug, Clone, Default)]
pub struct Calls(pub Arc<AtomicUsize>);

impl Calls {
    /// Calls so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_transmit(
        &self,
        _ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// `clients` with the counting interceptor added to every one of them.
pub fn counted(c: &Clients, calls: &Calls) -> Clients {
    macro_rules! counted {
        ($sdk:ident, $field:ident) => {
            $sdk::Client::from_conf(
                c.$field
                    .config()
                    .to_builder()
                    .interceptor(calls.clone())
                    .build(),
            )
        };
    }
    Clients {
        ec2: counted!(aws_sdk_ec2, ec2),
        ssm: counted!(aws_sdk_ssm, ssm),
        logs: counted!(aws_sdk_cloudwatchlogs, logs),
        sfn: counted!(aws_sdk_sfn, sfn),
        ecr: counted!(aws_sdk_ecr, ecr),
        // Not counted: the web app makes no Route 53 call (web has no aws-sdk-route53 dependency).
        route53: c.route53.clone(),
    }
}

/// One test's world: a stack in moto, the engine on a manual clock, the app in front.
pub struct World {
    /// The app.
    pub app: Router,
    /// Its state.
    pub state: AppState,
    /// The engine.
    pub engine: Engine,
    dir: PathBuf,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The engine's clock.
    pub clock: Arc<ManualClock>,
    /// The AWS calls the app made (not the workflow's).
    pub calls: Calls,
    /// The GitHub requests the app made.
    pub github_log: ReplayLog,
    /// The recorded GitHub itself (what a browser would reach on github.com).
    pub github_app: Router,
    /// The stack's clients, uncounted (for what a test itself reads or writes).
    pub aws: Clients,
    github_api: String,
    /// Whose PR-status function the engine runs (none until a test turns statuses on).
    pub publisher: Publisher,
}

/// The `pr-status` function as the engine runs it here: queued by AnnounceReady and called on
/// every status change (EventBridge's rule in AWS), with the app state a test set.
#[derive(Clone, Default)]
pub struct Publisher(Arc<std::sync::Mutex<Option<AppState>>>);

impl Publisher {
    /// Publishes with `state` from now on.
    pub fn set(&self, state: &AppState) {
        *self.0.lock().unwrap() = Some(state.clone());
    }

    fn state(&self) -> Option<AppState> {
        self.0.lock().unwrap().clone()
    }

    fn handler(&self) -> preview::Handler {
        let me = self.clone();
        Arc::new(move |payload| {
            let state = me.state();
            Box::pin(async move {
                let Some(state) = state else {
                    return Ok(serde_json::Value::Null);
                };
                preview_web::pr_status::publish(&state, &payload)
                    .await
                    .map(|p| serde_json::json!({"told": p.told, "failed": p.failed}))
                    .map_err(|e| {
                        preview_statemachine::TaskFailure::new("PrStatusError", e.to_string())
                    })
            })
        })
    }

    fn listen(&self, engine: &Engine) {
        let me = self.clone();
        engine.on_status_change(move |event| {
            if let Some(state) = me.state() {
                tokio::spawn(async move {
                    if let Err(e) = preview_web::pr_status::publish(&state, &event).await {
                        tracing::warn!(error = %e, "PR status on a status change failed");
                    }
                });
            }
        });
    }
}

/// A fresh stack whose app tells PRs where their previews are: the recorded GitHub with a
/// token, and public URL [`PUBLIC_URL`].
pub async fn pr_status_world() -> World {
    pr_status_world_full(|_| None).await
}

/// [`pr_status_world`] whose health step runs with the context `health` makes.
pub async fn pr_status_world_full(health: impl FnOnce(&Ctx) -> Option<Ctx>) -> World {
    publishing(world_full(|_| {}, health).await)
}

/// `w` with an app that tells PRs where their previews are, as [`pr_status_world`]'s does.
pub fn publishing(mut w: World) -> World {
    let mut settings = w.settings();
    settings.github = GitHub::new(&w.github_api, Some("test-token".into())).unwrap();
    settings.pr_status = Some(preview_web::pr_status::PrStatusSettings::new(PUBLIC_URL));
    w.state = AppState::new(settings);
    w.app = router(w.state.clone());
    w.publisher.set(&w.state);
    w
}

/// The public URL of [`pr_status_world`]'s app.
pub const PUBLIC_URL: &str = "https://previews.test";

impl Drop for World {
    fn drop(&mut self) {
        self.engine.halt();
        self.server.abort();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh stack with three slots.
pub async fn world() -> World {
    world_with(|_| {}).await
}

/// A fresh stack with three slots and the dials `tweak` sets.
pub async fn world_with(tweak: impl FnOnce(&mut Config)) -> World {
    world_full(tweak, |_| None).await
}

/// A fresh stack whose health step runs with the context `health` makes from the stack's
/// (an instance that reports its boot, which moto's Run Command cannot).
pub async fn world_full(
    tweak: impl FnOnce(&mut Config),
    health: impl FnOnce(&Ctx) -> Option<Ctx>,
) -> World {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let stack = format!("w{}-{n}", std::process::id());
    let mut config = Config {
        max_live: 3,
        health_poll_interval_seconds: 1,
        health_poll_budget_seconds: 2,
        ..Config::default()
    };
    tweak(&mut config);
    let endpoint = Moto::shared_endpoint().expect("moto (set PREVIEW_VENV)");
    let mut ctx = local_ctx(&endpoint, &stack, config).await.expect("seed");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sfn_endpoint = format!("http://{}", listener.local_addr().unwrap());
    ctx.clients.sfn = preview::sfn_client(&sfn_endpoint).await;
    let dir = std::env::temp_dir().join(format!("dspace-preview-web-{stack}"));
    let _ = std::fs::remove_dir_all(&dir);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let invoker = match health(&ctx) {
        Some(health) => StepsInvoker::new(ctx.clone()).with_context_for("check-health", health),
        None => StepsInvoker::new(ctx.clone()),
    };
    let publisher = Publisher::default();
    let invoker = invoker.with_function("pr-status", publisher.handler());
    let (engine, arn) = preview::open(&dir, clock.clone(), invoker, &stack)
        .await
        .expect("engine");
    publisher.listen(&engine);
    let server = tokio::spawn(preview_statemachine::serve(engine.clone(), listener));
    let github = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let github_api = format!("http://{}", github.local_addr().unwrap());
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/github");
    let (replay, github_log) = preview_local::github_replay::app(&fixtures).unwrap();
    let github_app = replay.clone();
    tokio::spawn(async move { axum::serve(github, replay).await });
    let calls = Calls::default();
    let counted_ctx = Ctx::new(
        counted(&ctx.clients, &calls),
        ctx.base.clone(),
        ctx.region.clone(),
    );
    let state = AppState::new(settings(counted_ctx, &arn, &github_api));
    World {
        app: router(state.clone()),
        state,
        engine,
        dir,
        server,
        clock,
        calls,
        github_log,
        github_app,
        aws: ctx.clients.clone(),
        github_api,
        publisher,
    }
}

/// The app's settings for a world: fixed keys, the replayed GitHub, a short launch wait.
fn settings(ctx: Ctx, arn: &str, github_api: &str) -> Settings {
    Settings {
        ctx,
        state_machine_arn: arn.to_string(),
        keys: KeySource::fixed(&SIGNING_KEY, ACCESS_CODE).unwrap(),
        revocations: Default::default(),
        signin_throttle: Default::default(),
        launch_answer_wait: std::time::Duration::from_secs(10),
        github: GitHub::new(github_api, None).unwrap(),
        secure_cookies: false,
        cached_builds: Default::default(),
        time_to_url: Default::default(),
        webhook: Some(WebhookSettings {
            secret: WEBHOOK_SECRET.as_bytes().to_vec(),
            allowed_users: AllowedUsers::parse(WEBHOOK_USERS),
            label: preview_web::webhook::DEFAULT_LABEL.into(),
            replace_on_push: true,
        }),
        signin: SigninMode::AccessCode,
        pr_status: None,
    }
}

/// A fresh stack whose app signs in with GitHub: the recorded server plays github.com and
/// api.github.com, with [`GITHUB_ALLOWED`], [`GITHUB_MAINTAINERS`] and [`GITHUB_ORGS`].
pub async fn github_world() -> World {
    let mut w = world().await;
    let mut settings = w.settings();
    settings.signin = w.github_signin();
    w.state = AppState::new(settings);
    w.app = router(w.state.clone());
    w
}

impl World {
    /// Fresh settings of this world's app (its counted clients), for a test to change and
    /// build a second app from.
    pub fn settings(&self) -> Settings {
        settings(
            self.state.ctx.clone(),
            &self.state.state_machine_arn,
            &self.github_api,
        )
    }

    /// GitHub mode with the recorded server's OAuth app and the tests' rules.
    pub fn github_signin(&self) -> SigninMode {
        SigninMode::GitHub(Box::new(GitHubSignin {
            client_id: preview_local::github_replay::REPLAY_CLIENT_ID.into(),
            client_secret: preview_local::github_replay::REPLAY_CLIENT_SECRET.into(),
            web: self.github_api.clone(),
            public_url: None,
            rules: Membership::parse(GITHUB_ALLOWED, GITHUB_MAINTAINERS, GITHUB_ORGS).unwrap(),
        }))
    }

    /// Waits until the preview has submitted its `n`th AwaitExpiry.
    pub async fn submitted(&self, id: &str, n: usize) {
        let arn = self.state.execution_arn(id);
        let wait = self.engine.wait_for(&arn, |h| {
            h.iter().filter(|e| e.event_type == "TaskSubmitted").count() >= n
        });
        tokio::time::timeout(std::time::Duration::from_secs(120), wait)
            .await
            .expect("parked in time")
            .unwrap();
    }

    /// Waits until the preview's execution has ended.
    pub async fn ended(&self, id: &str) {
        let arn = self.state.execution_arn(id);
        tokio::time::timeout(
            std::time::Duration::from_secs(120),
            self.engine.wait_for_completion(&arn),
        )
        .await
        .expect("ended in time")
        .unwrap();
    }

    /// Our instances that still run.
    pub async fn alive(&self) -> usize {
        preview_tasks::instances::find(
            &self.state.ctx.clients.ec2,
            &self.state.ctx.base.stack,
            &preview_tasks::instances::ALIVE_STATES,
            &[],
        )
        .await
        .unwrap()
        .len()
    }

    /// How many executions the state machine has.
    pub async fn executions(&self) -> usize {
        let out = self
            .state
            .ctx
            .clients
            .sfn
            .list_executions()
            .state_machine_arn(&self.state.state_machine_arn)
            .send()
            .await
            .unwrap();
        out.executions().len()
    }

    /// Serves the app on a loopback port; returns its base URL.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = self
            .app
            .clone()
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }
}
