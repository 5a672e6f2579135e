//! Shared set-up for the tests against emulated AWS: one moto per run, one stack per test.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_ec2::types::Instance;
use preview_local::{local_ctx, Moto};
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::{PreviewRequest, SourceInput, ValidRequest, BACKEND_REPO};
use preview_tasks::instances::{self, ALIVE_STATES};
use preview_tasks::{Config, Ctx};

/// A context on a fresh stack (so tests sharing one moto never see each other's previews).
pub async fn ctx(max_live: u32) -> Ctx {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let stack = format!(
        "t{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let endpoint = Moto::shared_endpoint().expect("moto");
    let config = Config {
        max_live,
        health_poll_interval_seconds: 1,
        health_poll_budget_seconds: 5,
        ..Config::default()
    };
    local_ctx(&endpoint, &stack, config)
        .await
        .expect("seed emulated AWS")
}

/// A request for one backend PR.
pub fn backend_pr(number: u64) -> PreviewRequest {
    PreviewRequest {
        sources: vec![SourceInput {
            repo: BACKEND_REPO.into(),
            pr: Some(number),
            ..Default::default()
        }],
        requester: "tester".into(),
        ..Default::default()
    }
}

/// A request as the capacity check admits it under the default dials (what launch and
/// record-url take).
pub fn admitted(request: PreviewRequest) -> ValidRequest {
    request
        .validate(&preview_tasks::Config::default().request_rules())
        .expect("a valid request")
}

/// A preview id for test number `n`.
pub fn preview_id(n: u32) -> PreviewId {
    PreviewId::parse(&format!("dsp-b{n}-202611281930-{n:04x}")).unwrap()
}

/// The execution ARN a preview would have.
pub fn execution_arn(ctx: &Ctx, id: &PreviewId) -> String {
    format!(
        "arn:aws:states:us-east-1:000000000000:execution:{}:{id}",
        ctx.base.stack
    )
}

/// Launches test preview `n` (backend PR `n`) as the workflow would.
pub async fn launched(ctx: &Ctx, n: u32) -> preview_tasks::steps::types::LaunchedInstance {
    let id = preview_id(n);
    let execution = execution_arn(ctx, &id);
    preview_tasks::steps::launch::launch(
        ctx,
        preview_tasks::steps::launch::LaunchInput {
            preview_id: id,
            request: admitted(backend_pr(u64::from(n))),
            execution,
        },
    )
    .await
    .expect("launch")
}

/// Our instances that still run (or could).
pub async fn alive(ctx: &Ctx) -> Vec<Instance> {
    instances::find(&ctx.clients.ec2, &ctx.base.stack, &ALIVE_STATES, &[])
        .await
        .unwrap()
}

/// The names of the stack's held slots.
pub async fn held_slots(ctx: &Ctx) -> Vec<String> {
    preview_tasks::slots::held(&ctx.clients.ssm, &ctx.base.names())
        .await
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect()
}

/// The boot script an instance was launched with (its user data, decoded).
pub async fn user_data(ctx: &Ctx, instance_id: &str) -> String {
    use base64::Engine as _;
    let out = ctx
        .clients
        .ec2
        .describe_instance_attribute()
        .instance_id(instance_id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .unwrap();
    let script = base64::engine::general_purpose::STANDARD
        .decode(out.user_data().and_then(|u| u.value()).unwrap())
        .unwrap();
    String::from_utf8(script).unwrap()
}
