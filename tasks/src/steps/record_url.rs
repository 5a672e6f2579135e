//! Step 4: record the preview's URLs (tags and output) and its first expiry; with a domain, the
//! URLs are `https://<public name>/` and its A record is confirmed.

use chrono::Utc;
use serde::Deserialize;

use crate::aws::Ctx;
use crate::dns;
use crate::domain::phase::Phase;
use crate::domain::preview_id::PreviewId;
use crate::domain::public_name;
use crate::domain::request::ValidRequest;
use crate::domain::tags;
use crate::domain::ttl::seconds_until;
use crate::domain::urls::PreviewUrls;
use crate::error::{Result, StepError};
use crate::instances;
use crate::step::Step;
use crate::steps::types::{Expiry, LaunchedInstance, Ready};

/// Input: the preview, its request and its instance.
#[derive(Debug, Clone, Deserialize)]
pub struct RecordUrlInput {
    /// The preview id.
    pub preview_id: PreviewId,
    /// The admitted request (`$.capacity.request`, for the TTL).
    pub request: ValidRequest,
    /// The launched instance.
    pub instance: LaunchedInstance,
}

/// The record-URL step.
pub struct RecordUrl;

impl Step for RecordUrl {
    const NAME: &'static str = "record-url";
    type Input = RecordUrlInput;
    type Output = Ready;
    async fn run(ctx: &Ctx, input: RecordUrlInput) -> Result<Ready> {
        record_url(ctx, input).await
    }
}

/// Reads the public DNS name, builds and tags the URLs, and sets the first expiry.
pub async fn record_url(ctx: &Ctx, input: RecordUrlInput) -> Result<Ready> {
    let config = ctx.config().await?;
    let request = &input.request;
    let instance_id = &input.instance.instance_id;
    let instance = instances::alive(&ctx.clients.ec2, instance_id).await?;
    let (public_dns, urls) = match config.public_domain()? {
        Some(domain) => {
            let name = instances::tag(&instance, tags::PUBLIC_NAME)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    public_name::for_preview(request, &input.preview_id, &domain.suffix)
                });
            let ip = instance.public_ip_address().unwrap_or_default();
            if ip.is_empty() {
                return Err(StepError::LaunchFailed(format!(
                    "{instance_id} has no public IP for {name}: launch into a subnet that assigns public IPs"
                )));
            }
            // The health step made it already; again in case the IP changed since.
            dns::upsert(&ctx.clients.route53, &domain, &name, ip).await?;
            let urls = PreviewUrls::for_public_name(&name);
            (name, urls)
        }
        None => {
            let public_dns = instance.public_dns_name().unwrap_or_default().to_string();
            if public_dns.is_empty() {
                return Err(StepError::LaunchFailed(format!(
                    "{instance_id} has no public DNS name: launch into a subnet that assigns public IPs in a VPC with DNS hostnames"
                )));
            }
            let urls = PreviewUrls::for_host(&public_dns);
            (public_dns, urls)
        }
    };
    let now = Utc::now();
    let expires_at =
        config
            .lifetime()
            .first_expiry(input.instance.launched_at, now, request.ttl_minutes);
    instances::set_tags(
        &ctx.clients.ec2,
        std::slice::from_ref(instance_id),
        &[
            (tags::UI_URL, urls.ui_url.clone()),
            (tags::REST_URL, urls.rest_url.clone()),
            (tags::EXPIRES_AT, expires_at.to_rfc3339()),
            (tags::PHASE, Phase::Healthy.as_str().into()),
        ],
    )
    .await?;
    Ok(Ready {
        public_dns,
        ui_url: urls.ui_url,
        rest_url: urls.rest_url,
        ready_at: now,
        expiry: Expiry {
            expires_at,
            seconds_left: seconds_until(expires_at, now),
        },
    })
}
