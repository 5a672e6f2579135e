//! Finding and tagging our instances in EC2.

use aws_sdk_ec2::types::{Filter, Instance, InstanceStateName, Tag};

use crate::domain::preview_id::PreviewId;
use crate::domain::tags;
use crate::error::{Result, StepError};

/// States in which an instance still costs money or may come back.
pub const ALIVE_STATES: [&str; 4] = ["pending", "running", "stopping", "stopped"];
/// States that count against the slot limit.
pub const LIVE_STATES: [&str; 2] = ["pending", "running"];

/// Our instances of a stack in the given states, optionally narrowed by more tag filters.
pub async fn find(
    ec2: &aws_sdk_ec2::Client,
    stack: &str,
    states: &[&str],
    extra: &[(&str, &str)],
) -> Result<Vec<Instance>> {
    let mut filters = vec![
        Filter::builder()
            .name(tags::filter(tags::STACK))
            .values(stack)
            .build(),
        Filter::builder()
            .name("instance-state-name")
            .set_values(Some(states.iter().map(|s| s.to_string()).collect()))
            .build(),
    ];
    for (tag, value) in extra {
        filters.push(
            Filter::builder()
                .name(tags::filter(tag))
                .values(*value)
                .build(),
        );
    }
    let mut pages = ec2
        .describe_instances()
        .set_filters(Some(filters))
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| StepError::from_sdk("ec2:DescribeInstances", e))?;
        found.extend(
            page.reservations()
                .iter()
                .flat_map(|r| r.instances().iter().cloned()),
        );
    }
    Ok(found)
}

/// The alive instances of one preview.
pub async fn of_preview(
    ec2: &aws_sdk_ec2::Client,
    stack: &str,
    id: &PreviewId,
) -> Result<Vec<Instance>> {
    find(
        ec2,
        stack,
        &ALIVE_STATES,
        &[(tags::PREVIEW_ID, id.as_str())],
    )
    .await
}

/// One instance by id; `InstanceGone` when it does not exist or is shutting down.
pub async fn alive(ec2: &aws_sdk_ec2::Client, instance_id: &str) -> Result<Instance> {
    let gone = || StepError::InstanceGone(format!("instance {instance_id} no longer exists"));
    let out = match ec2
        .describe_instances()
        .instance_ids(instance_id)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error().and_then(|s| s.meta().code())
                == Some("InvalidInstanceID.NotFound") =>
        {
            return Err(gone())
        }
        Err(e) => return Err(StepError::from_sdk("ec2:DescribeInstances", e)),
    };
    let instance = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .next()
        .cloned()
        .ok_or_else(gone)?;
    match state_of(&instance) {
        Some(InstanceStateName::ShuttingDown | InstanceStateName::Terminated) => {
            Err(StepError::InstanceGone(format!(
                "instance {instance_id} is {}",
                state_of(&instance)
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default()
            )))
        }
        _ => Ok(instance),
    }
}

/// The state of an instance.
pub fn state_of(instance: &Instance) -> Option<&InstanceStateName> {
    instance.state().and_then(|s| s.name())
}

/// A tag's value on an instance.
pub fn tag<'a>(instance: &'a Instance, key: &str) -> Option<&'a str> {
    instance
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// Sets tags on instances (overwriting values).
pub async fn set_tags(
    ec2: &aws_sdk_ec2::Client,
    instance_ids: &[String],
    pairs: &[(&str, String)],
) -> Result<()> {
    if instance_ids.is_empty() {
        return Ok(());
    }
    let tags: Vec<Tag> = pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(tags::value(v)).build())
        .collect();
    ec2.create_tags()
        .set_resources(Some(instance_ids.to_vec()))
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| StepError::from_sdk("ec2:CreateTags", e))?;
    Ok(())
}
