//! Every step against moto's server through the real SDK clients.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

mod common;

use aws_sdk_ec2::types::HttpTokensState;
use aws_sdk_ssm::types::ParameterType;
use chrono::{Duration, Utc};
use futures::future::join_all;
use preview_tasks::domain::tags;
use preview_tasks::error::StepError;
use preview_tasks::instances;
use preview_tasks::steps::await_expiry::{await_expiry, AwaitExpiryInput};
use preview_tasks::steps::capacity::{check_capacity, CapacityInput};
use preview_tasks::steps::extend::{extend, ExtendInput};
use preview_tasks::steps::health::{check_health, HealthInput, HealthStatus};
use preview_tasks::steps::reaper::reap;
use preview_tasks::steps::record_url::{record_url, RecordUrlInput};
use preview_tasks::steps::terminate::{terminate, Outcome, TerminateInput};
use preview_tasks::steps::types::Callback;
use preview_tasks::Ctx;

use common::*;

async fn capacity(ctx: &Ctx, n: u32) -> Result<u32, StepError> {
    let id = preview_id(n);
    let execution = execution_arn(ctx, &id);
    check_capacity(
        ctx,
        CapacityInput {
            preview_id: id,
            request: backend_pr(u64::from(n)),
            execution,
        },
    )
    .await
    .map(|o| o.slot)
}

#[tokio::test]
async fn a_preview_goes_through_every_step_and_leaves_nothing() {
    let ctx = ctx(3).await;
    let id = preview_id(1);
    assert!(capacity(&ctx, 1).await.is_ok());
    let instance = launched(&ctx, 1).await;

    let described = instances::alive(&ctx.clients.ec2, &instance.instance_id)
        .await
        .unwrap();
    let metadata = described.metadata_options().expect("metadata options");
    assert_eq!(
        metadata.http_tokens(),
        Some(&HttpTokensState::Required),
        "IMDSv2 must be required"
    );
    assert_eq!(
        metadata.http_put_response_hop_limit(),
        Some(1),
        "containers must not reach IMDS"
    );
    assert_eq!(
        instances::tag(&described, tags::PREVIEW_ID),
        Some(id.as_str())
    );
    assert_eq!(instances::tag(&described, tags::BACKEND), Some("#1"));
    assert_eq!(instances::tag(&described, tags::REQUESTER), Some("tester"));
    assert!(described.key_name().is_none(), "no key pair");
    let script = user_data(&ctx, &instance.instance_id).await;
    assert!(
        script.contains(&format!("PREVIEW_ID='{id}'")),
        "user data carries the config"
    );
    // The launch step made the admin password: stored for the web page, handed to the instance.
    let names = ctx.base.names();
    let password = preview_tasks::parameters::value(&ctx.clients.ssm, &names.admin_password(&id))
        .await
        .unwrap()
        .expect("the launch step stores the admin password");
    assert_eq!(password.len(), 24);
    assert!(script.contains(&format!("ADMIN_PASSWORD='{password}'")));
    let again = launched(&ctx, 1).await;
    assert_eq!(
        again.instance_id, instance.instance_id,
        "a retry launches nothing"
    );
    assert_eq!(
        preview_tasks::parameters::value(&ctx.clients.ssm, &names.admin_password(&id))
            .await
            .unwrap()
            .as_deref(),
        Some(password.as_str()),
        "a retried launch keeps the password the instance has"
    );

    let health = check_health(
        &ctx,
        HealthInput {
            preview_id: id.clone(),
            instance: instance.clone(),
        },
    )
    .await
    .unwrap();
    assert_eq!(health.status, HealthStatus::Healthy);

    let ready = record_url(
        &ctx,
        RecordUrlInput {
            preview_id: id.clone(),
            request: admitted(backend_pr(1)),
            instance: instance.clone(),
        },
    )
    .await
    .unwrap();
    assert!(ready.ui_url.starts_with("http://") && ready.ui_url.ends_with('/'));
    assert_eq!(ready.rest_url, format!("{}server", ready.ui_url));
    let ttl = ready.expiry.expires_at - ready.ready_at;
    assert_eq!(ttl, Duration::minutes(120));

    let parked = await_expiry(
        &ctx,
        AwaitExpiryInput {
            task_token: "token-1".into(),
            preview_id: id.clone(),
            instance: instance.clone(),
            expiry: ready.expiry.clone(),
        },
    )
    .await
    .unwrap();
    let token = ctx
        .clients
        .ssm
        .get_parameter()
        .name(&parked.token_parameter)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        token.parameter().unwrap().r#type(),
        Some(&ParameterType::SecureString)
    );
    assert_eq!(token.parameter().unwrap().value(), Some("token-1"));

    let extended = extend(
        &ctx,
        ExtendInput {
            preview_id: id.clone(),
            instance: instance.clone(),
            expiry: ready.expiry.clone(),
            callback: Callback::Extend {
                minutes: 60,
                by: Some("alice".into()),
            },
        },
    )
    .await
    .unwrap();
    assert_eq!(
        extended.expires_at - ready.expiry.expires_at,
        Duration::minutes(60)
    );
    let tagged = instances::alive(&ctx.clients.ec2, &instance.instance_id)
        .await
        .unwrap();
    assert_eq!(
        instances::tag(&tagged, tags::EXPIRES_AT),
        Some(extended.expires_at.to_rfc3339().as_str())
    );

    let summary = terminate(
        &ctx,
        serde_json::from_value::<TerminateInput>(serde_json::json!({
            "preview_id": id, "instance": instance, "ready": ready,
            "callback": {"Error": "States.Timeout", "Cause": null}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(summary.outcome, Outcome::Expired);
    assert_eq!(summary.terminated, vec![instance.instance_id.clone()]);
    assert!(alive(&ctx).await.is_empty(), "no instance left");
    assert!(held_slots(&ctx).await.is_empty(), "slot released");
    let left = preview_tasks::parameters::names_under(
        &ctx.clients.ssm,
        &ctx.base.names().preview_path(&id),
    )
    .await
    .unwrap();
    assert!(left.is_empty(), "token removed: {left:?}");
}

#[tokio::test]
async fn twenty_simultaneous_launches_get_exactly_three_instances() {
    let ctx = ctx(3).await;
    let attempts = (100..120).map(|n| {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            capacity(&ctx, n).await?;
            Ok::<_, StepError>(launched(&ctx, n).await)
        })
    });
    let results: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let lost = results
        .iter()
        .filter(|r| matches!(r, Err(StepError::NoFreeSlot { max: 3 })))
        .count();
    assert_eq!(
        won.len(),
        3,
        "exactly N previews get an instance: {results:?}"
    );
    assert_eq!(lost, 17, "everyone else gets NoFreeSlot: {results:?}");
    assert_eq!(alive(&ctx).await.len(), 3, "no stray instance");
    assert_eq!(held_slots(&ctx).await.len(), 3, "no stray slot");
}

#[tokio::test]
async fn a_bad_request_takes_no_slot_and_launches_nothing() {
    let ctx = ctx(3).await;
    let mut request = backend_pr(1);
    request.ttl_minutes = Some(5);
    let id = preview_id(7);
    let err = check_capacity(
        &ctx,
        CapacityInput {
            preview_id: id.clone(),
            request: request.clone(),
            execution: "x".into(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "InvalidRequest");
    assert!(err.to_string().contains("at least 30 minutes"), "{err}");
    let _ = id;
    assert!(held_slots(&ctx).await.is_empty());
    assert!(alive(&ctx).await.is_empty());
}

#[tokio::test]
async fn retried_steps_do_not_double_up() {
    let ctx = ctx(3).await;
    assert_eq!(
        capacity(&ctx, 3).await.unwrap(),
        capacity(&ctx, 3).await.unwrap(),
        "same slot on retry"
    );
    assert_eq!(held_slots(&ctx).await.len(), 1);
    let first = launched(&ctx, 3).await;
    let again = launched(&ctx, 3).await;
    assert_eq!(
        first.instance_id, again.instance_id,
        "a retried launch finds its instance"
    );
    assert_eq!(alive(&ctx).await.len(), 1);
}

#[tokio::test]
async fn operators_change_the_limit_at_run_time() {
    let ctx = ctx(3).await;
    set_dial(&ctx, "max-live", "1").await;
    assert!(capacity(&ctx, 1).await.is_ok());
    assert!(matches!(
        capacity(&ctx, 2).await,
        Err(StepError::NoFreeSlot { max: 1 })
    ));
}

/// What an operator does to change a dial at run time.
async fn set_dial(ctx: &Ctx, key: &str, value: &str) {
    ctx.clients
        .ssm
        .put_parameter()
        .name(format!("{}{key}", ctx.base.names().config_path()))
        .value(value)
        .r#type(ParameterType::String)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_malformed_dial_is_ignored_and_steps_go_on() {
    let ctx = ctx(2).await;
    set_dial(&ctx, "max-live", "three").await;
    let config = ctx.config().await.expect("a bad dial is no error");
    assert_eq!(config.max_live, 2, "the deployment's value applies");
    assert_eq!(config.ignored_dials.len(), 1);
    assert!(capacity(&ctx, 1).await.is_ok());
    assert!(capacity(&ctx, 2).await.is_ok());
    assert!(matches!(
        capacity(&ctx, 3).await,
        Err(StepError::NoFreeSlot { max: 2 })
    ));
}

#[tokio::test]
async fn ending_twice_and_ending_a_vanished_instance_are_fine() {
    let ctx = ctx(3).await;
    let id = preview_id(4);
    capacity(&ctx, 4).await.unwrap();
    let instance = launched(&ctx, 4).await;
    ctx.clients
        .ec2
        .terminate_instances()
        .instance_ids(&instance.instance_id)
        .send()
        .await
        .unwrap();
    let err = record_url(
        &ctx,
        RecordUrlInput {
            preview_id: id.clone(),
            request: admitted(backend_pr(4)),
            instance: instance.clone(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "InstanceGone");
    let input = || {
        serde_json::from_value::<TerminateInput>(serde_json::json!({
            "preview_id": id, "instance": instance,
            "error": {"Error": "InstanceGone", "Cause": "terminated"}
        }))
        .unwrap()
    };
    let first = terminate(&ctx, input()).await.unwrap();
    assert_eq!(first.outcome, Outcome::Failed);
    assert_eq!(first.released_slots.len(), 1);
    let second = terminate(&ctx, input()).await.unwrap();
    assert!(second.terminated.is_empty() && second.released_slots.is_empty());
}

#[tokio::test]
async fn the_reaper_ends_previews_whose_execution_is_gone() {
    let ctx = ctx(3).await;
    capacity(&ctx, 5).await.unwrap();
    let instance = launched(&ctx, 5).await;
    assert!(
        reap(&ctx, Utc::now()).await.unwrap().reaped.is_empty(),
        "fresh launches get a grace period"
    );
    let report = reap(&ctx, Utc::now() + Duration::minutes(20))
        .await
        .unwrap();
    assert_eq!(report.reaped.len(), 1, "{report:?}");
    assert_eq!(report.reaped[0].instances, vec![instance.instance_id]);
    assert!(report.reaped[0].why.contains("does not exist"));
    assert!(alive(&ctx).await.is_empty());
    assert!(held_slots(&ctx).await.is_empty());
}

#[tokio::test]
async fn the_reaper_frees_slots_of_executions_that_died_before_launch() {
    let ctx = ctx(3).await;
    capacity(&ctx, 6).await.unwrap();
    let report = reap(&ctx, Utc::now() + Duration::minutes(20))
        .await
        .unwrap();
    assert_eq!(report.reaped.len(), 1);
    assert!(held_slots(&ctx).await.is_empty());
}

#[tokio::test]
async fn the_log_tail_reads_only_this_preview() {
    let ctx = ctx(3).await;
    let names = ctx.base.names();
    let mine = preview_id(8);
    let other = preview_id(9);
    for (stream, count) in [
        (names.boot_log_stream(&mine), 30),
        (format!("{mine}/dspace"), 5),
        (names.boot_log_stream(&other), 3),
    ] {
        let lines: Vec<String> = (0..count).map(|i| format!("{stream} line {i}")).collect();
        preview_tasks::logs::append(&ctx.clients.logs, &names, &stream, &lines)
            .await
            .unwrap();
    }
    let tail = preview_tasks::logs::tail(&ctx.clients.logs, &names, &mine, 20)
        .await
        .unwrap();
    assert_eq!(tail.len(), 20);
    assert!(tail.iter().all(|l| l.stream.starts_with(mine.as_str())));
    assert!(tail.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
    assert!(
        preview_tasks::logs::tail(&ctx.clients.logs, &names, &preview_id(10), 5)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_local_stand_in_writes_what_the_boot_script_would_once() {
    use preview_local::stand_in::boot_new_instances;
    let ctx = ctx(3).await;
    let id = preview_id(7);
    launched(&ctx, 7).await;
    // moto reports new instances as running at once.
    assert_eq!(boot_new_instances(&ctx).await.unwrap(), vec![id.clone()]);
    assert!(boot_new_instances(&ctx).await.unwrap().is_empty(), "once");
    let names = ctx.base.names();
    let lines = preview_tasks::logs::tail(&ctx.clients.logs, &names, &id, 50)
        .await
        .unwrap();
    let text: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
    assert!(
        text.iter()
            .any(|l| l.contains("phase fetching DSpace/DSpace #7")),
        "{text:?}"
    );
    assert!(text.iter().any(|l| l.contains("Started Application")));
}
