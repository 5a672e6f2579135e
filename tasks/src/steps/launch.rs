//! Step 2: launch the preview's instance from our AMI, idempotently.

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, HttpTokensState, IamInstanceProfileSpecification,
    InstanceMarketOptionsRequest, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest,
    InstanceMetadataTagsState, MarketType, ResourceType, ShutdownBehavior, SpotInstanceType,
    SpotMarketOptions, Tag, TagSpecification, VolumeType,
};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use crate::admin_password;
use crate::aws::Ctx;
use crate::build_cache;
use crate::config::Config;
use crate::dns;
use crate::domain::boot_budget;
use crate::domain::phase::Phase;
use crate::domain::preview_id::PreviewId;
use crate::domain::public_name;
use crate::domain::request::{Source, ValidRequest};
use crate::domain::tags;
use crate::error::{is_throttling, Result, StepError};
use crate::instances::{self, ALIVE_STATES};
use crate::step::Step;
use crate::steps::types::LaunchedInstance;
use crate::user_data;

/// Input: the execution input plus the execution ARN.
#[derive(Debug, Clone, Deserialize)]
pub struct LaunchInput {
    /// The preview id.
    pub preview_id: PreviewId,
    /// The request as the capacity check admitted it (`$.capacity.request`): validated once,
    /// so a later dial change never fails a preview already admitted.
    pub request: ValidRequest,
    /// The execution ARN (`$$.Execution.Id`): tag and idempotency key.
    pub execution: String,
}

/// The launch step.
pub struct Launch;

impl Step for Launch {
    const NAME: &'static str = "launch";
    type Input = LaunchInput;
    type Output = LaunchedInstance;
    async fn run(ctx: &Ctx, input: LaunchInput) -> Result<LaunchedInstance> {
        launch(ctx, input).await
    }
}

/// Error codes after which spot falls back to on-demand.
const SPOT_UNAVAILABLE: [&str; 4] = [
    "InsufficientInstanceCapacity",
    "SpotMaxPriceTooLow",
    "MaxSpotInstanceCountExceeded",
    "InsufficientCapacity",
];

/// Launches (or finds the instance already launched by this execution).
pub async fn launch(ctx: &Ctx, input: LaunchInput) -> Result<LaunchedInstance> {
    let config = ctx.config().await?;
    let request = input.request;
    if input.execution.is_empty() {
        return Err(StepError::InvalidRequest(
            "launch needs the execution ARN ($$.Execution.Id)".into(),
        ));
    }
    let domain = config.public_domain()?;
    let public_name = domain
        .as_ref()
        .map(|d| public_name::for_preview(&request, &input.preview_id, &d.suffix));
    // moto ignores ClientToken, and a retry after a lost response must not launch twice.
    let existing = instances::find(
        &ctx.clients.ec2,
        &config.stack,
        &ALIVE_STATES,
        &[(tags::EXECUTION, &input.execution)],
    )
    .await?;
    if let Some(instance) = existing.first() {
        tracing::info!(
            instance = instance.instance_id(),
            "instance already launched by this execution"
        );
        let mut launched = describe(&config, &request, instance);
        launched.public_name = public_name.clone();
        if let Some(domain) = &domain {
            // The first attempt may have failed at the record; the instance may have its IP now.
            dns::upsert_for_instance(ctx, domain, instance).await?;
        }
        return Ok(launched);
    }
    let image_id = resolve_ami(ctx, &config.ami_parameter).await?;
    let password =
        admin_password::ensure(&ctx.clients.ssm, &config.names(), &input.preview_id).await?;
    let cache = build_cache::lookup(
        &ctx.clients.ecr,
        config.build_cache_repository.as_deref(),
        &request,
    )
    .await;
    let user_data = user_data::render(
        &config,
        &ctx.region,
        &input.preview_id,
        &request,
        &password,
        &cache,
    )?;
    let plan = LaunchPlan {
        config: &config,
        image_id: &image_id,
        id: &input.preview_id,
        execution: &input.execution,
        request: &request,
        user_data: &user_data,
        public_name: public_name.as_deref(),
    };
    let root_device = root_device_name(ctx, &image_id).await;
    let first = run_instance(ctx, &plan, root_device.as_deref(), config.use_spot).await;
    let result = match first {
        Err(RunError::Code(code, _))
            if config.use_spot && SPOT_UNAVAILABLE.contains(&code.as_str()) =>
        {
            tracing::warn!(%code, "no spot capacity, falling back to on-demand");
            run_instance(ctx, &plan, root_device.as_deref(), false).await
        }
        other => other,
    };
    match result {
        Ok((mut instance, public_ip)) => {
            tracing::info!(preview = %input.preview_id, instance = %instance.instance_id, "launched");
            instance.build_cache = cache;
            instance.public_name.clone_from(&public_name);
            // RunInstances rarely answers with the public IP (the instance is pending); when
            // it does, the name resolves before the boot asks for its certificate. Otherwise
            // the health step makes the record as soon as the IP shows.
            if let (Some(domain), Some(name), Some(ip)) = (&domain, &public_name, public_ip) {
                dns::upsert(&ctx.clients.route53, domain, name, &ip).await?;
            }
            Ok(instance)
        }
        Err(RunError::Code(code, message)) => Err(classify(&code, &message)),
        Err(RunError::Other(e)) => Err(e),
    }
}

struct LaunchPlan<'a> {
    config: &'a Config,
    image_id: &'a str,
    id: &'a PreviewId,
    execution: &'a str,
    request: &'a ValidRequest,
    user_data: &'a str,
    public_name: Option<&'a str>,
}

enum RunError {
    Code(String, String),
    Other(StepError),
}

async fn run_instance(
    ctx: &Ctx,
    plan: &LaunchPlan<'_>,
    root_device: Option<&str>,
    spot: bool,
) -> Result<(LaunchedInstance, Option<String>), RunError> {
    let config = plan.config;
    let mut call = ctx
        .clients
        .ec2
        .run_instances()
        .image_id(plan.image_id)
        .instance_type(config.instance_type.as_str().into())
        .min_count(1)
        .max_count(1)
        .client_token(client_token(plan.execution, spot))
        .user_data(base64::engine::general_purpose::STANDARD.encode(plan.user_data))
        // The PR's code is untrusted: IMDSv2 only, and hop limit 1 keeps containers away from the role.
        .metadata_options(
            InstanceMetadataOptionsRequest::builder()
                .http_tokens(HttpTokensState::Required)
                .http_put_response_hop_limit(1)
                .http_endpoint(InstanceMetadataEndpointState::Enabled)
                .instance_metadata_tags(InstanceMetadataTagsState::Disabled)
                .build(),
        )
        .instance_initiated_shutdown_behavior(ShutdownBehavior::Terminate)
        .set_tag_specifications(Some(tag_specifications(plan)));
    if let Some(profile) = &config.instance_profile {
        call = call.iam_instance_profile(
            IamInstanceProfileSpecification::builder()
                .name(profile)
                .build(),
        );
    }
    if let Some(subnet) = &config.subnet_id {
        call = call.subnet_id(subnet);
    }
    if !config.security_group_ids.is_empty() {
        call = call.set_security_group_ids(Some(config.security_group_ids.clone()));
    }
    if let Some(device) = root_device {
        call = call.block_device_mappings(
            BlockDeviceMapping::builder()
                .device_name(device)
                .ebs(
                    EbsBlockDevice::builder()
                        .volume_size(config.volume_gib)
                        .volume_type(VolumeType::Gp3)
                        .delete_on_termination(true)
                        .encrypted(true)
                        .build(),
                )
                .build(),
        );
    }
    if spot {
        call = call.instance_market_options(
            InstanceMarketOptionsRequest::builder()
                .market_type(MarketType::Spot)
                .spot_options(
                    SpotMarketOptions::builder()
                        .spot_instance_type(SpotInstanceType::OneTime)
                        .build(),
                )
                .build(),
        );
    }
    let out = call.send().await.map_err(|e| {
        match e.as_service_error().and_then(|s| s.meta().code()) {
            Some(code) => RunError::Code(
                code.to_string(),
                e.as_service_error()
                    .and_then(|s| s.meta().message())
                    .unwrap_or_default()
                    .to_string(),
            ),
            None => RunError::Other(StepError::from_sdk("ec2:RunInstances", e)),
        }
    })?;
    let instance = out.instances().first().ok_or_else(|| {
        RunError::Other(StepError::LaunchFailed(
            "RunInstances returned no instance".into(),
        ))
    })?;
    let mut launched = describe(config, plan.request, instance);
    launched.spot = spot;
    let public_ip = instance
        .public_ip_address()
        .filter(|ip| !ip.is_empty())
        .map(str::to_string);
    Ok((launched, public_ip))
}

fn tag_specifications(plan: &LaunchPlan<'_>) -> Vec<TagSpecification> {
    let describe_source = |s: &Option<Source>| match s {
        Some(Source::Pr { number, .. }) => format!("#{number}"),
        Some(Source::Branch { name }) => name.clone(),
        None => String::new(),
    };
    let now = Utc::now();
    let mut pairs = vec![
        (tags::NAME, format!("dspace-preview {}", plan.id)),
        (tags::STACK, plan.config.stack.clone()),
        (tags::PREVIEW_ID, plan.id.to_string()),
        (tags::EXECUTION, plan.execution.to_string()),
        (tags::BACKEND, describe_source(&plan.request.backend)),
        (tags::UI, describe_source(&plan.request.ui)),
        (tags::BASE_BRANCH, plan.request.base_branch.clone()),
        (tags::REQUESTER, plan.request.requester.clone()),
        (tags::LAUNCHED_AT, now.to_rfc3339()),
        (
            tags::EXPIRES_AT,
            plan.config.lifetime().hard_stop(now).to_rfc3339(),
        ),
        (tags::PHASE, Phase::Launching.as_str().to_string()),
        (
            tags::SAMPLE_CONTENT,
            plan.request.sample_content.as_str().to_string(),
        ),
        (
            tags::ENV,
            plan.request
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    ];
    if let Some(name) = plan.public_name {
        pairs.push((tags::PUBLIC_NAME, name.to_string()));
    }
    let tags: Vec<Tag> = pairs
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(tags::value(v)).build())
        .collect();
    [ResourceType::Instance, ResourceType::Volume]
        .into_iter()
        .map(|rt| {
            TagSpecification::builder()
                .resource_type(rt)
                .set_tags(Some(tags.clone()))
                .build()
        })
        .collect()
}

/// The ClientToken: at most 64 ASCII characters, stable per execution and market.
fn client_token(execution: &str, spot: bool) -> String {
    let name = execution.rsplit(':').next().unwrap_or(execution);
    let mut token = format!("{}{name}", if spot { "s-" } else { "o-" });
    token.truncate(64);
    token
}

fn classify(code: &str, message: &str) -> StepError {
    let detail = format!("ec2:RunInstances: {code}: {message}");
    if is_throttling(code) {
        StepError::Throttled(detail)
    } else if code == "InsufficientInstanceCapacity" || code == "InsufficientCapacity" {
        StepError::InsufficientCapacity(format!(
            "{detail}; the state machine retries, or set another instance type"
        ))
    } else {
        StepError::LaunchFailed(detail)
    }
}

/// Reads the AMI id from its SSM parameter (moto does not resolve `resolve:ssm:` image ids).
async fn resolve_ami(ctx: &Ctx, parameter: &str) -> Result<String> {
    match ctx.clients.ssm.get_parameter().name(parameter).send().await {
        Ok(out) => out
            .parameter()
            .and_then(|p| p.value())
            .map(str::to_string)
            .ok_or_else(|| StepError::Config(format!("AMI parameter {parameter} is empty"))),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => Err(StepError::LaunchFailed(format!(
            "AMI parameter {parameter} does not exist: build the AMI (see ami/README.md) or set PREVIEW_AMI_PARAMETER"
        ))),
        Err(e) => Err(StepError::from_sdk("ssm:GetParameter (AMI)", e)),
    }
}

/// The AMI's root device, so the root volume can be sized; `None` keeps the AMI's default.
async fn root_device_name(ctx: &Ctx, image_id: &str) -> Option<String> {
    let out = ctx
        .clients
        .ec2
        .describe_images()
        .image_ids(image_id)
        .send()
        .await
        .ok()?;
    out.images()
        .first()
        .and_then(|i| i.root_device_name())
        .map(str::to_string)
}

fn describe(
    config: &Config,
    request: &ValidRequest,
    instance: &aws_sdk_ec2::types::Instance,
) -> LaunchedInstance {
    let deadline = boot_budget::health_deadline_minutes(request, config.health_deadline_minutes);
    let launched_at = instance
        .launch_time()
        .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), 0))
        .unwrap_or_else(Utc::now);
    LaunchedInstance {
        instance_id: instance.instance_id().unwrap_or_default().to_string(),
        image_id: instance.image_id().unwrap_or_default().to_string(),
        instance_type: instance
            .instance_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        spot: instance.instance_lifecycle().is_some(),
        launched_at,
        health_deadline: launched_at + Duration::minutes(i64::from(deadline)),
        build_cache: Default::default(),
        public_name: instances::tag(instance, tags::PUBLIC_NAME).map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_are_short_and_differ_by_market() {
        let arn = format!("arn:aws:states:us-east-1:1:execution:sm:{}", "x".repeat(80));
        assert!(client_token(&arn, true).len() <= 64);
        assert_ne!(client_token("a:b", true), client_token("a:b", false));
    }

    #[test]
    fn capacity_errors_are_retryable_and_others_are_not() {
        assert_eq!(
            classify("InsufficientInstanceCapacity", "x").error_type(),
            "InsufficientCapacity"
        );
        assert_eq!(
            classify("RequestLimitExceeded", "x").error_type(),
            "Throttled"
        );
        assert_eq!(
            classify("InvalidAMIID.NotFound", "x").error_type(),
            "LaunchFailed"
        );
    }
}
