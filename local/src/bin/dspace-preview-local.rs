//! The local service: emulated AWS seeded for a stack, the engine running `preview.asl.json` with
//! the real step handlers, the Step Functions API on loopback, the reaper every five minutes (and on every execution
//! close, as EventBridge delivers it in AWS), a liveness check every 30 s, and a
//! stand-in that writes the logs and admin password a booting instance would (nothing boots here).
//!
//! `dspace-preview-local [--port 8083] [--dir .local/engine] [--stack local] [--retention-days 90]
//! [--demo]`, with `AWS_ENDPOINT_URL` pointing at moto's server. `--demo` takes one preview
//! through launch, health, URL, extend and stop, printing each step. Closed executions are kept
//! for `--retention-days` (AWS keeps them 90 days), then deleted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use preview_local::local_ctx;
use preview_local::preview::{self, StepsInvoker};
use preview_local::seed::config_from_env;
use preview_statemachine::{serve, Engine, EngineOptions, EventType, SystemClock};

struct Args {
    port: u16,
    dir: PathBuf,
    stack: String,
    retention_days: i64,
    demo: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 8083,
        dir: PathBuf::from(".local/engine"),
        stack: "local".into(),
        retention_days: 90,
        demo: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--port" => {
                args.port = value()?
                    .parse()
                    .map_err(|_| "--port takes a number".to_string())?
            }
            "--dir" => args.dir = PathBuf::from(value()?),
            "--stack" => args.stack = value()?,
            "--retention-days" => {
                args.retention_days = value()?
                    .parse()
                    .ok()
                    .filter(|d| (1..=36_500).contains(d))
                    .ok_or_else(|| "--retention-days takes a number of days".to_string())?
            }
            "--demo" => args.demo = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    preview_tasks::lambda::init_tracing();
    let args = parse_args().map_err(|e| {
        format!("{e}\nusage: dspace-preview-local [--port N] [--dir DIR] [--stack NAME] [--retention-days N] [--demo]")
    })?;
    let aws = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "set AWS_ENDPOINT_URL to moto's server (cargo xtask run does)")?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let sfn_endpoint = format!("http://{}", listener.local_addr()?);

    let mut ctx = local_ctx(&aws, &args.stack, config_from_env()?).await?;
    ctx.clients.sfn = preview::sfn_client(&sfn_endpoint).await;
    let options = EngineOptions {
        retention: chrono::Duration::days(args.retention_days),
        ..EngineOptions::default()
    };
    let (engine, arn) = preview::open_with(
        &args.dir,
        Arc::new(SystemClock),
        StepsInvoker::new(ctx.clone())
            .with_function("pr-status", preview::pr_status_not_published()),
        &args.stack,
        options,
    )
    .await?;
    println!("Step Functions API: {sfn_endpoint} (AWS_ENDPOINT_URL_SFN)\nstate machine:      {arn}\nemulated AWS:       {aws}");
    if let Some(domain) = ctx.base.public_domain()? {
        println!(
            "preview names:      https://<name>.{}/ (emulated hosted zone {})",
            domain.suffix, domain.hosted_zone_id
        );
    }
    tokio::spawn(serve(engine.clone(), listener));
    // The sweep names executions by the state machine's ARN (to find stray parameters).
    let mut janitor = ctx.clone();
    janitor
        .base
        .state_machine_arn
        .get_or_insert_with(|| arn.clone());
    tokio::spawn(reaper(janitor.clone()));
    tokio::spawn(liveness(janitor));
    tokio::spawn(stand_in(ctx.clone()));
    if args.demo {
        demo(&engine, &arn, &ctx).await?;
    }
    println!("serving; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// Every two seconds, "boots" new instances: no instance runs here, so this writes the logs and
/// the admin password their boot script would.
async fn stand_in(ctx: preview_tasks::Ctx) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        match preview_local::stand_in::boot_new_instances(&ctx).await {
            Ok(booted) if !booted.is_empty() => println!("stand-in booted: {booted:?}"),
            Ok(_) => {}
            Err(e) => eprintln!("stand-in: {e}"),
        }
    }
}

/// Every five minutes, as the EventBridge schedule does in AWS.
async fn reaper(ctx: preview_tasks::Ctx) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        match preview_tasks::steps::reaper::reap(&ctx, chrono::Utc::now()).await {
            Ok(report) if !report.reaped.is_empty() => println!("reaper: {report:?}"),
            Ok(_) => {}
            Err(e) => eprintln!("reaper: {e}"),
        }
    }
}

/// Every 30 seconds: the stand-in for EC2's state-change events (nothing here sends them), so a
/// healthy preview whose instance was terminated behind its back ends as `InstanceGone`.
async fn liveness(ctx: preview_tasks::Ctx) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        match preview_tasks::lifecycle::liveness(&ctx).await {
            Ok(reaped) if !reaped.is_empty() => println!("liveness: {reaped:?}"),
            Ok(_) => {}
            Err(e) => eprintln!("liveness: {e}"),
        }
    }
}

/// One preview end to end, printed step by step.
async fn demo(
    engine: &Engine,
    arn: &str,
    ctx: &preview_tasks::Ctx,
) -> Result<(), Box<dyn std::error::Error>> {
    use preview_tasks::domain::preview_id::PreviewId;
    use preview_tasks::domain::request::{PreviewRequest, SourceInput, BACKEND_REPO, UI_REPO};
    let request = PreviewRequest {
        sources: vec![
            SourceInput {
                repo: BACKEND_REPO.into(),
                pr: Some(9876),
                ..Default::default()
            },
            SourceInput {
                repo: UI_REPO.into(),
                pr: Some(4321),
                ..Default::default()
            },
        ],
        requester: "demo".into(),
        ..Default::default()
    };
    let valid = request.validate(&ctx.config().await?.request_rules())?;
    let id = PreviewId::generate(&valid, chrono::Utc::now(), rand::random::<u16>());
    let input = serde_json::json!({ "preview_id": id, "request": request }).to_string();
    let (execution, _) = engine.start_execution(arn, Some(id.as_str()), Some(&input))?;
    println!("\nstarted preview {id}\n  execution {execution}");
    let waiting = |h: &[preview_statemachine::HistoryEvent]| {
        h.iter().any(|e| e.event_type == EventType::TaskSubmitted)
            || h.iter().any(|e| e.event_type.is_closing())
    };
    let history = engine.wait_for(&execution, waiting).await?;
    for event in history
        .iter()
        .filter(|e| e.event_type.ends_with("StateExited"))
    {
        let name = event
            .details
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let output = event
            .details
            .get("output")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        println!("  {name:<14} {}", summarize(name, output));
    }
    let token = waiting_token(ctx, &id).await?;
    engine
        .send_task_success(&token, r#"{"action":"extend","minutes":60,"by":"demo"}"#)
        .await?;
    println!("  extended by 60 minutes");
    let second = |h: &[preview_statemachine::HistoryEvent]| {
        h.iter()
            .filter(|e| e.event_type == EventType::TaskSubmitted)
            .count()
            >= 2
    };
    engine.wait_for(&execution, second).await?;
    let token = waiting_token(ctx, &id).await?;
    engine
        .send_task_success(&token, r#"{"action":"stop","by":"demo"}"#)
        .await?;
    let done = engine.wait_for_completion(&execution).await?;
    println!(
        "  stopped: {:?}\n  output {}",
        done.status,
        done.output.unwrap_or_default()
    );
    Ok(())
}

async fn waiting_token(
    ctx: &preview_tasks::Ctx,
    id: &preview_tasks::domain::preview_id::PreviewId,
) -> Result<String, Box<dyn std::error::Error>> {
    let token =
        preview_tasks::steps::await_expiry::stored_token(&ctx.clients.ssm, &ctx.base.names(), id)
            .await?;
    Ok(token.ok_or("no task token stored")?)
}

fn summarize(state: &str, output: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(output).unwrap_or_default();
    let at = |p: &str| v.pointer(p).map(|x| x.to_string()).unwrap_or_default();
    match state {
        "CheckCapacity" => format!("slot {}", at("/capacity/slot")),
        "Launch" => format!(
            "instance {} ({})",
            at("/instance/instance_id"),
            at("/instance/instance_type")
        ),
        "CheckHealth" => format!("health {}", at("/health/status")),
        "RecordUrl" => format!(
            "UI {}  REST {}  expires {}",
            at("/ready/ui_url"),
            at("/ready/rest_url"),
            at("/ready/expiry/expires_at")
        ),
        _ => String::new(),
    }
}
