//! HTTPS names against moto's Route 53: the record appears at launch, the URLs are `https://`,
//! and the record goes at terminate and with the reaper.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

mod common;

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use chrono::{Duration, Utc};
use preview_tasks::domain::tags;
use preview_tasks::instances;
use preview_tasks::steps::health::{check_health, HealthInput, HealthStatus};
use preview_tasks::steps::reaper::reap;
use preview_tasks::steps::record_url::{record_url, RecordUrlInput};
use preview_tasks::steps::terminate::{terminate, TerminateInput};
use preview_tasks::Ctx;

use common::*;

/// A stack whose previews get names under their own hosted zone.
async fn ctx_with_domain() -> (Ctx, String) {
    let mut ctx = ctx(3).await;
    let suffix = format!("{}.previews.test", ctx.base.stack.to_ascii_lowercase());
    let zone = ctx
        .clients
        .route53
        .create_hosted_zone()
        .name(&suffix)
        .caller_reference(&suffix)
        .send()
        .await
        .unwrap();
    let zone_id = zone.hosted_zone().unwrap().id().to_string();
    ctx.base.hosted_zone_id = Some(zone_id);
    ctx.base.domain_name = Some(suffix.clone());
    (ctx, suffix)
}

/// The zone's A records: name (no trailing dot) → (value, TTL).
async fn a_records(ctx: &Ctx) -> Vec<(String, String, i64)> {
    let zone = ctx.base.public_domain().unwrap().unwrap().hosted_zone_id;
    let out = ctx
        .clients
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .unwrap();
    out.resource_record_sets()
        .iter()
        .filter(|r| *r.r#type() == RrType::A)
        .map(|r| {
            (
                r.name().trim_end_matches('.').to_string(),
                r.resource_records()
                    .first()
                    .map(|v| v.value().to_string())
                    .unwrap_or_default(),
                r.ttl().unwrap_or_default(),
            )
        })
        .collect()
}

async fn add_record(ctx: &Ctx, name: &str) {
    let zone = ctx.base.public_domain().unwrap().unwrap().hosted_zone_id;
    let record = ResourceRecordSet::builder()
        .name(name)
        .r#type(RrType::A)
        .ttl(300)
        .resource_records(
            ResourceRecord::builder()
                .value("192.0.2.1")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    ctx.clients
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(record)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

fn names(records: &[(String, String, i64)]) -> Vec<&str> {
    records.iter().map(|(n, _, _)| n.as_str()).collect()
}

#[tokio::test]
async fn a_preview_with_a_domain_gets_an_https_name_and_its_record_goes_at_terminate() {
    let (ctx, suffix) = ctx_with_domain().await;
    let id = preview_id(1);
    let name = format!("b1-0001.{suffix}");
    let instance = launched(&ctx, 1).await;
    assert_eq!(instance.public_name.as_deref(), Some(name.as_str()));

    let described = instances::alive(&ctx.clients.ec2, &instance.instance_id)
        .await
        .unwrap();
    assert_eq!(
        instances::tag(&described, tags::PUBLIC_NAME),
        Some(name.as_str())
    );
    let ip = described.public_ip_address().expect("moto assigns one");
    assert_eq!(
        a_records(&ctx).await,
        vec![(name.clone(), ip.to_string(), 60)],
        "the launch made the record"
    );
    let script = user_data(&ctx, &instance.instance_id).await;
    assert!(script
        .lines()
        .any(|l| l == format!("PREVIEW_PUBLIC_NAME='{name}'")));
    assert_eq!(
        launched(&ctx, 1).await.instance_id,
        instance.instance_id,
        "a retried launch upserts the same record"
    );
    assert_eq!(a_records(&ctx).await.len(), 1);

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
    assert_eq!(ready.ui_url, format!("https://{name}/"));
    assert_eq!(ready.rest_url, format!("https://{name}/server"));
    assert_eq!(ready.public_dns, name);
    let tagged = instances::alive(&ctx.clients.ec2, &instance.instance_id)
        .await
        .unwrap();
    assert_eq!(
        instances::tag(&tagged, tags::UI_URL),
        Some(ready.ui_url.as_str())
    );

    let input = || {
        serde_json::from_value::<TerminateInput>(serde_json::json!({
            "preview_id": id, "instance": instance, "ready": ready,
            "callback": {"Error": "States.Timeout", "Cause": null}
        }))
        .unwrap()
    };
    let summary = terminate(&ctx, input()).await.unwrap();
    assert_eq!(summary.ui_url.as_deref(), Some(ready.ui_url.as_str()));
    assert!(a_records(&ctx).await.is_empty(), "the record went with it");
    terminate(&ctx, input())
        .await
        .expect("terminating again is fine");
}

#[tokio::test]
async fn terminate_deletes_the_record_of_an_instance_already_gone() {
    let (ctx, suffix) = ctx_with_domain().await;
    let id = preview_id(4);
    let instance = launched(&ctx, 4).await;
    ctx.clients
        .ec2
        .terminate_instances()
        .instance_ids(&instance.instance_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        names(&a_records(&ctx).await),
        vec![format!("b4-0004.{suffix}")]
    );
    terminate(
        &ctx,
        serde_json::from_value::<TerminateInput>(serde_json::json!({
            "preview_id": id, "instance": instance,
            "error": {"Error": "InstanceGone", "Cause": "terminated"}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    assert!(a_records(&ctx).await.is_empty());
}

#[tokio::test]
async fn the_reaper_deletes_records_whose_preview_is_gone_and_keeps_the_rest() {
    let (ctx, suffix) = ctx_with_domain().await;
    let live = format!("b2-0002.{suffix}");
    launched(&ctx, 2).await;
    let stray = format!("b99-dead.{suffix}");
    let deeper = format!("www.other.{suffix}");
    // A zone shared with the site itself: one label under the suffix, but not a preview's shape.
    let site = format!("www.{suffix}");
    for name in [&stray, &deeper, &site] {
        add_record(&ctx, name).await;
    }

    let report = reap(&ctx, Utc::now()).await.unwrap();
    assert!(report.reaped.is_empty(), "{report:?}");
    assert_eq!(report.stray_records, vec![stray.clone()]);
    let mut left = names(&a_records(&ctx).await)
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    left.sort();
    let mut expected = vec![live.clone(), deeper.clone(), site.clone()];
    expected.sort();
    assert_eq!(
        left, expected,
        "a live preview's record and records that are not previews' stay"
    );

    // The execution never existed: past the grace period the reaper ends the preview and
    // its record goes with it.
    let report = reap(&ctx, Utc::now() + Duration::minutes(20))
        .await
        .unwrap();
    assert_eq!(report.reaped.len(), 1, "{report:?}");
    let records = a_records(&ctx).await;
    let mut left = names(&records);
    left.sort();
    assert_eq!(left, vec![deeper.as_str(), site.as_str()]);
}

#[tokio::test]
async fn without_the_domain_dials_urls_stay_plain_http() {
    let ctx = ctx(3).await;
    let instance = launched(&ctx, 5).await;
    assert_eq!(instance.public_name, None);
    let described = instances::alive(&ctx.clients.ec2, &instance.instance_id)
        .await
        .unwrap();
    assert_eq!(instances::tag(&described, tags::PUBLIC_NAME), None);
    let ready = record_url(
        &ctx,
        RecordUrlInput {
            preview_id: preview_id(5),
            request: admitted(backend_pr(5)),
            instance,
        },
    )
    .await
    .unwrap();
    assert!(ready.ui_url.starts_with("http://"), "{}", ready.ui_url);
}
