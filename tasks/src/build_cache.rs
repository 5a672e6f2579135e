//! The build cache in ECR: which merged commits have a built image, asked before a launch
//! (no instance needed). The instance pushes and pulls; this side only reads.

use std::collections::BTreeMap;

use aws_sdk_ecr::types::{DescribeImagesFilter, TagStatus};
use chrono::{DateTime, Utc};

use crate::domain::build_cache::{
    is_sha, newest_for, repository_name, CacheKey, CacheLookup, CacheStatus, CachedImage, Side,
};
use crate::domain::request::{Source, ValidRequest};
use crate::error::{Result, StepError};

/// Every image in the cache repository that carries one of our tags.
pub async fn list(ecr: &aws_sdk_ecr::Client, repository_uri: &str) -> Result<Vec<CachedImage>> {
    let name = repository_name(repository_uri).ok_or_else(|| {
        StepError::Config(format!(
            "build-cache-repository '{repository_uri}' is not a repository URI (<registry>/<name>)"
        ))
    })?;
    let mut pages = ecr
        .describe_images()
        .repository_name(name)
        .filter(
            DescribeImagesFilter::builder()
                .tag_status(TagStatus::Tagged)
                .build(),
        )
        .into_paginator()
        .send();
    let mut images = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| StepError::from_sdk("ecr:DescribeImages (build cache)", e))?;
        for detail in page.image_details() {
            let pushed_at = detail
                .image_pushed_at()
                .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), 0));
            images.extend(
                detail
                    .image_tags()
                    .iter()
                    .filter_map(|t| CacheKey::parse(t))
                    .map(|key| CachedImage { key, pushed_at }),
            );
        }
    }
    Ok(images)
}

/// The cache lookups of a request's built sides: hits name the image (and so the base to pin).
/// The cache only ever saves time, so a registry that does not answer makes the sides
/// `Unchecked` (the instance checks again) instead of failing the launch.
pub async fn lookup(
    ecr: &aws_sdk_ecr::Client,
    repository_uri: Option<&str>,
    request: &ValidRequest,
) -> BTreeMap<Side, CacheLookup> {
    let sides = built_sides(request);
    let status = |status| CacheLookup { status, tag: None };
    let Some(uri) = repository_uri else {
        return sides
            .into_iter()
            .map(|(side, _)| (side, status(CacheStatus::Off)))
            .collect();
    };
    let images = if sides.iter().any(|(_, head)| head.is_some()) {
        match list(ecr, uri).await {
            Ok(images) => Some(images),
            Err(e) => {
                tracing::warn!(error = %e, "build cache not readable; the instance checks it itself");
                None
            }
        }
    } else {
        None
    };
    sides
        .into_iter()
        .map(|(side, head)| {
            let found = match (&images, head) {
                (Some(images), Some(head)) => match newest_for(side, head, images) {
                    Some(image) => CacheLookup {
                        status: CacheStatus::Hit,
                        tag: Some(image.key.tag()),
                    },
                    None => status(CacheStatus::Miss),
                },
                _ => status(CacheStatus::Unchecked),
            };
            (side, found)
        })
        .collect()
}

/// The built sides and their requested head commit (known for PRs the web page resolved).
fn built_sides(request: &ValidRequest) -> Vec<(Side, Option<&str>)> {
    [(Side::Backend, &request.backend), (Side::Ui, &request.ui)]
        .into_iter()
        .filter_map(|(side, source)| {
            let head = match source.as_ref()? {
                Source::Pr {
                    head_sha: Some(sha),
                    ..
                } if is_sha(sha) => Some(sha.as_str()),
                _ => None,
            };
            Some((side, head))
        })
        .collect()
}
