//! The launch step's build-cache lookup against moto's ECR: a hit pins the cached build's base
//! for the instance, a miss or a branch leaves the instance to build, and a registry that does
//! not answer never stops a launch.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

mod common;

use preview_local::cache_push::push_manifest;
use preview_tasks::domain::build_cache::{CacheKey, CacheStatus, Side};
use preview_tasks::domain::request::{PreviewRequest, SourceInput, BACKEND_REPO, UI_REPO};
use preview_tasks::steps::launch::{launch, LaunchInput};
use preview_tasks::steps::types::LaunchedInstance;
use preview_tasks::Ctx;

use common::*;

const HEAD: &str = "1234567890abcdef1234567890abcdef12345678";
const OTHER_HEAD: &str = "fedcba0987654321fedcba0987654321fedcba09";

fn key(base: char) -> CacheKey {
    CacheKey {
        side: Side::Backend,
        head: HEAD.into(),
        base: base.to_string().repeat(40),
    }
}

/// What an instance does after a build: push the image under its commits' tag.
async fn push(ctx: &Ctx, tag: &str) {
    let repository = ctx.base.names().build_cache_repository();
    push_manifest(&ctx.clients.ecr, &repository, tag)
        .await
        .expect("push");
    // Pushes a second apart, so "newest" is well defined.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
}

fn request(sources: Vec<SourceInput>) -> PreviewRequest {
    PreviewRequest {
        sources,
        requester: "tester".into(),
        ..Default::default()
    }
}

fn backend(head: Option<&str>) -> SourceInput {
    SourceInput {
        repo: BACKEND_REPO.into(),
        pr: Some(77),
        head_sha: head.map(String::from),
        ..Default::default()
    }
}

async fn launch_request(ctx: &Ctx, n: u32, request: PreviewRequest) -> (LaunchedInstance, String) {
    let id = preview_id(n);
    let execution = execution_arn(ctx, &id);
    let launched = launch(
        ctx,
        LaunchInput {
            preview_id: id,
            request: admitted(request),
            execution,
        },
    )
    .await
    .expect("launch");
    let script = user_data(ctx, &launched.instance_id).await;
    (launched, script)
}

fn has_line(script: &str, line: &str) -> bool {
    script.lines().any(|l| l == line)
}

#[tokio::test]
async fn a_cached_build_of_the_head_is_a_hit_and_pins_its_base() {
    let ctx = ctx(5).await;
    push(&ctx, &key('a').tag()).await;
    push(&ctx, &key('b').tag()).await;
    push(&ctx, "latest").await;

    let (launched, script) = launch_request(&ctx, 1, request(vec![backend(Some(HEAD))])).await;
    let found = &launched.build_cache[&Side::Backend];
    assert_eq!(found.status, CacheStatus::Hit);
    assert_eq!(
        found.tag.as_deref(),
        Some(key('b').tag().as_str()),
        "the newest push"
    );
    let repo = ctx.base.build_cache_repository.clone().unwrap();
    assert!(
        repo.ends_with(&format!("/{}/preview-cache", ctx.base.stack)),
        "{repo}"
    );
    for line in [
        format!("BUILD_CACHE_REPO='{repo}'"),
        format!("BACKEND_BASE_SHA='{}'", "b".repeat(40)),
        format!("BACKEND_CACHE_TAG='{}'", key('b').tag()),
        "UI_CACHE_TAG=''".to_string(),
    ] {
        assert!(has_line(&script, &line), "user data lacks {line}");
    }
    // The history (the step's output) says so too.
    let output = serde_json::to_value(&launched).unwrap();
    assert_eq!(output["build_cache"]["backend"]["status"], "hit");
}

#[tokio::test]
async fn another_head_a_branch_and_an_unknown_head_are_not_hits() {
    let ctx = ctx(5).await;
    push(&ctx, &key('a').tag()).await;
    let ui_branch = SourceInput {
        repo: UI_REPO.into(),
        branch: Some("feature".into()),
        ..Default::default()
    };
    let (launched, script) =
        launch_request(&ctx, 2, request(vec![backend(Some(OTHER_HEAD)), ui_branch])).await;
    assert_eq!(
        launched.build_cache[&Side::Backend].status,
        CacheStatus::Miss
    );
    assert_eq!(
        launched.build_cache[&Side::Ui].status,
        CacheStatus::Unchecked
    );
    assert!(
        has_line(&script, "BACKEND_BASE_SHA=''"),
        "a miss pins nothing"
    );

    let (launched, _) = launch_request(&ctx, 3, request(vec![backend(None)])).await;
    assert_eq!(
        launched.build_cache[&Side::Backend].status,
        CacheStatus::Unchecked,
        "no head commit known before launch: the instance checks"
    );
}

#[tokio::test]
async fn no_cache_repository_is_off_and_a_missing_one_does_not_stop_the_launch() {
    let mut ctx = ctx(5).await;
    ctx.base.build_cache_repository = None;
    let (launched, script) = launch_request(&ctx, 4, request(vec![backend(Some(HEAD))])).await;
    assert_eq!(
        launched.build_cache[&Side::Backend].status,
        CacheStatus::Off
    );
    assert!(has_line(&script, "BUILD_CACHE_REPO=''"));

    ctx.base.build_cache_repository =
        Some("000000000000.dkr.ecr.us-east-1.amazonaws.com/no-such/repository".into());
    let (launched, _) = launch_request(&ctx, 5, request(vec![backend(Some(HEAD))])).await;
    assert_eq!(
        launched.build_cache[&Side::Backend].status,
        CacheStatus::Unchecked
    );
    assert_eq!(alive(&ctx).await.len(), 2, "both launched");
}

#[test]
fn keys_are_what_the_instance_tags() {
    assert_eq!(
        key('a').tag(),
        format!("backend-{HEAD}-{}", "a".repeat(40)),
        "ami/files/lib tags images the same way"
    );
}
