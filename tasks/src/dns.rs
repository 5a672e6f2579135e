//! The previews' A records in Route 53, when the deployment has a domain (`hosted-zone-id` and
//! `domain-name`): made once the instance has a public IP, deleted when the preview ends, and
//! swept by the reaper when a preview ended without deleting its own.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Instance;
use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};

use crate::aws::Ctx;
use crate::config::PublicDomain;
use crate::domain::public_name;
use crate::domain::tags;
use crate::error::{Result, StepError};
use crate::instances::{self, ALIVE_STATES};

/// The records' TTL: short, because a name is only ever re-pointed at a replaced instance.
pub const TTL_SECONDS: i64 = 60;

/// Points `name` at `ip` (create or replace).
pub async fn upsert(
    r53: &aws_sdk_route53::Client,
    domain: &PublicDomain,
    name: &str,
    ip: &str,
) -> Result<()> {
    let record = built(
        ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::A)
            .ttl(TTL_SECONDS)
            .resource_records(built(ResourceRecord::builder().value(ip).build())?)
            .build(),
    )?;
    change(r53, domain, batch(ChangeAction::Upsert, record)?)
        .await
        .map_err(|e| StepError::from_sdk("route53:ChangeResourceRecordSets (UPSERT)", e))?;
    tracing::info!(%name, %ip, "A record upserted");
    Ok(())
}

/// Makes the A record of an instance that has both its name tag and a public IP; false when
/// either is still missing (a pending instance has no public IP yet).
pub async fn upsert_for_instance(
    ctx: &Ctx,
    domain: &PublicDomain,
    instance: &Instance,
) -> Result<bool> {
    let name = instances::tag(instance, tags::PUBLIC_NAME);
    match (name, instance.public_ip_address()) {
        (Some(name), Some(ip)) if !ip.is_empty() => {
            upsert(&ctx.clients.route53, domain, name, ip).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Deletes the A record of `name`; a record already gone is fine. True when one was deleted.
pub async fn delete(
    r53: &aws_sdk_route53::Client,
    domain: &PublicDomain,
    name: &str,
) -> Result<bool> {
    let name = public_name::normalize(name);
    // DELETE must repeat the record exactly (TTL and value), so it is read first.
    let Some(record) = a_records(r53, domain)
        .await?
        .into_iter()
        .find(|r| public_name::normalize(r.name()) == name)
    else {
        return Ok(false);
    };
    match change(r53, domain, batch(ChangeAction::Delete, record)?).await {
        Ok(()) => {
            tracing::info!(%name, "A record deleted");
            Ok(true)
        }
        // Changed or deleted by someone else between the read and the delete.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_invalid_change_batch()) =>
        {
            let still_there = a_records(r53, domain)
                .await?
                .iter()
                .any(|r| public_name::normalize(r.name()) == name);
            if still_there {
                Err(StepError::from_sdk(
                    "route53:ChangeResourceRecordSets (DELETE)",
                    e,
                ))
            } else {
                Ok(false)
            }
        }
        Err(e) => Err(StepError::from_sdk(
            "route53:ChangeResourceRecordSets (DELETE)",
            e,
        )),
    }
}

/// Deletes the A records one label under the suffix that no alive instance of this deployment
/// names (its preview ended without deleting its record); returns the names deleted.
pub async fn delete_strays(ctx: &Ctx, stack: &str, domain: &PublicDomain) -> Result<Vec<String>> {
    let r53 = &ctx.clients.route53;
    // Records first, instances second: a launch between the two reads tagged its instance
    // before it made its record, so a record read here always has its instance read below.
    let records: Vec<ResourceRecordSet> = a_records(r53, domain)
        .await?
        .into_iter()
        .filter(|r| public_name::label_under(r.name(), &domain.suffix).is_some())
        .collect();
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let alive = instances::find(&ctx.clients.ec2, stack, &ALIVE_STATES, &[]).await?;
    let live: BTreeSet<String> = alive
        .iter()
        .filter_map(|i| instances::tag(i, tags::PUBLIC_NAME))
        .map(public_name::normalize)
        .collect();
    let mut deleted = Vec::new();
    for record in records {
        let name = public_name::normalize(record.name());
        if live.contains(&name) {
            continue;
        }
        if delete(r53, domain, &name).await? {
            deleted.push(name);
        }
    }
    if !deleted.is_empty() {
        tracing::warn!(?deleted, "deleted stray preview records");
    }
    Ok(deleted)
}

/// Every A record in the zone (zones hold a handful of previews; pages of 300).
pub async fn a_records(
    r53: &aws_sdk_route53::Client,
    domain: &PublicDomain,
) -> Result<Vec<ResourceRecordSet>> {
    let mut out = Vec::new();
    let mut next: Option<(String, RrType)> = None;
    loop {
        let mut call = r53
            .list_resource_record_sets()
            .hosted_zone_id(&domain.hosted_zone_id);
        if let Some((name, kind)) = next.take() {
            call = call.start_record_name(name).start_record_type(kind);
        }
        let page = call
            .send()
            .await
            .map_err(|e| StepError::from_sdk("route53:ListResourceRecordSets", e))?;
        out.extend(
            page.resource_record_sets()
                .iter()
                .filter(|r| *r.r#type() == RrType::A)
                .cloned(),
        );
        match (
            page.is_truncated(),
            page.next_record_name(),
            page.next_record_type(),
        ) {
            (true, Some(name), Some(kind)) => next = Some((name.to_string(), kind.clone())),
            _ => return Ok(out),
        }
    }
}

/// One change as the API takes it.
fn batch(action: ChangeAction, record: ResourceRecordSet) -> Result<ChangeBatch> {
    let change = built(
        Change::builder()
            .action(action)
            .resource_record_set(record)
            .build(),
    )?;
    built(
        ChangeBatch::builder()
            .comment("dspace-preview")
            .changes(change)
            .build(),
    )
}

type ChangeError = aws_sdk_route53::error::SdkError<
    aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError,
>;

async fn change(
    r53: &aws_sdk_route53::Client,
    domain: &PublicDomain,
    batch: ChangeBatch,
) -> std::result::Result<(), ChangeError> {
    r53.change_resource_record_sets()
        .hosted_zone_id(&domain.hosted_zone_id)
        .change_batch(batch)
        .send()
        .await
        .map(|_| ())
}

/// A built Route 53 type, or the builder's complaint as an AWS error.
fn built<T>(
    r: std::result::Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T> {
    r.map_err(|e| StepError::Aws(format!("route53 request: {e}")))
}
