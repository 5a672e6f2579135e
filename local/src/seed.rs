//! Our account set-up inside emulated AWS: what the CDK app and the AMI build create in a real account.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
use aws_sdk_ssm::types::ParameterType;

use preview_tasks::domain::public_name;
use preview_tasks::Config;
use preview_tasks::StepError;
use preview_tasks::{Clients, Ctx};

use crate::error::{LocalError, Result};

/// The region the local service uses.
pub const LOCAL_REGION: &str = "us-east-1";

/// An SDK config for an emulator endpoint, with dummy credentials (never real ones).
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(LOCAL_REGION))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "dspace-preview-local",
        ))
        .load()
        .await
}

/// A context for `stack` against an emulator, seeded (idempotently) with everything the steps need.
pub async fn local_ctx(endpoint: &str, stack: &str, mut config: Config) -> Result<Ctx> {
    let sdk = sdk_config(endpoint).await;
    config.stack = stack.to_string();
    let seeded = seed(&sdk, config).await?;
    Ok(Ctx::new(
        Clients::new(&sdk),
        seeded,
        LOCAL_REGION.to_string(),
    ))
}

/// The steps' dials from `PREVIEW_*` in the environment, as [`Config::from_env`] reads them,
/// except that `PREVIEW_DOMAIN_NAME` alone is allowed: [`seed`] then makes (or reuses) the
/// emulated hosted zone for it, so a local run shows HTTPS names with no zone id to copy.
pub fn config_from_env() -> Result<Config> {
    config_from_lookup(|k| std::env::var(k).ok())
}

/// [`config_from_env`] with whatever `lookup` finds for each `PREVIEW_<KEY>`.
pub fn config_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config> {
    let given = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
    let zone_given = given("PREVIEW_HOSTED_ZONE_ID").is_some();
    let mut config = Config::from_lookup(|k| match k {
        "PREVIEW_DOMAIN_NAME" if !zone_given => None,
        _ => lookup(k),
    })?;
    if let (false, Some(domain)) = (zone_given, given("PREVIEW_DOMAIN_NAME")) {
        config.set("domain-name", &domain)?;
    }
    Ok(config)
}

/// Creates the instance profile, security group, AMI parameter and log group (and, when the
/// config has a `domain-name` but no `hosted-zone-id`, a public hosted zone for it); returns the
/// config pointing at them. Safe to run again.
pub async fn seed(sdk: &SdkConfig, mut config: Config) -> Result<Config> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let ssm = aws_sdk_ssm::Client::new(sdk);
    let iam = aws_sdk_iam::Client::new(sdk);
    let logs = aws_sdk_cloudwatchlogs::Client::new(sdk);
    let stack = config.stack.clone();

    let profile = format!("{stack}-instance");
    instance_profile(&iam, &profile).await?;
    config.instance_profile = Some(profile);

    let vpc_id = default_vpc(&ec2).await?;
    config.subnet_id = Some(first_subnet(&ec2, &vpc_id).await?);
    config.security_group_ids =
        vec![security_group(&ec2, &vpc_id, &format!("{stack}-preview")).await?];

    let image_id = any_image(&ec2).await?;
    ssm.put_parameter()
        .name(&config.ami_parameter)
        .value(&image_id)
        .r#type(ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| StepError::from_sdk("ssm:PutParameter (AMI)", e))?;

    match logs
        .create_log_group()
        .log_group_name(config.names().log_group())
        .send()
        .await
    {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) => {}
        Err(e) => return Err(StepError::from_sdk("logs:CreateLogGroup", e).into()),
    }
    if config.build_cache_repository.is_none() {
        let ecr = aws_sdk_ecr::Client::new(sdk);
        config.build_cache_repository =
            Some(build_cache_repository(&ecr, &config.names().build_cache_repository()).await?);
    }
    if let (None, Some(domain)) = (&config.hosted_zone_id, &config.domain_name) {
        public_name::check_suffix(domain)
            .map_err(|e| LocalError::Setup(format!("PREVIEW_DOMAIN_NAME: {e}")))?;
        let route53 = aws_sdk_route53::Client::new(sdk);
        config.hosted_zone_id = Some(hosted_zone(&route53, &public_name::normalize(domain)).await?);
    }
    config.public_domain()?;
    Ok(config)
}

/// The id (`Z…`) of the public hosted zone named `name`: the one there is, else a new one.
pub async fn hosted_zone(route53: &aws_sdk_route53::Client, name: &str) -> Result<String> {
    let listed = route53
        .list_hosted_zones_by_name()
        .dns_name(name)
        .send()
        .await
        .map_err(|e| StepError::from_sdk("route53:ListHostedZonesByName", e))?;
    let found = listed.hosted_zones().iter().find(|z| {
        public_name::normalize(z.name()) == name && !z.config().is_some_and(|c| c.private_zone())
    });
    let zone = match found {
        Some(zone) => zone.clone(),
        None => route53
            .create_hosted_zone()
            .name(name)
            // Unique per request; the name is what makes it the same zone next time.
            .caller_reference(format!("{name}-{}", chrono::Utc::now().timestamp_micros()))
            .send()
            .await
            .map_err(|e| StepError::from_sdk("route53:CreateHostedZone", e))?
            .hosted_zone()
            .cloned()
            .ok_or_else(|| LocalError::Setup(format!("no hosted zone made for {name}")))?,
    };
    Ok(zone.id().trim_start_matches("/hostedzone/").to_string())
}

/// The build cache's repository (the CDK app's `preview-cache`); returns its URI.
async fn build_cache_repository(ecr: &aws_sdk_ecr::Client, name: &str) -> Result<String> {
    let created = ecr.create_repository().repository_name(name).send().await;
    let repository = match created {
        Ok(out) => out.repository().cloned(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_already_exists_exception()) =>
        {
            ecr.describe_repositories()
                .repository_names(name)
                .send()
                .await
                .map_err(|e| StepError::from_sdk("ecr:DescribeRepositories", e))?
                .repositories()
                .first()
                .cloned()
        }
        Err(e) => return Err(StepError::from_sdk("ecr:CreateRepository", e).into()),
    };
    repository
        .and_then(|r| r.repository_uri().map(str::to_string))
        .ok_or_else(|| StepError::Aws(format!("ecr repository {name} has no URI")).into())
}

async fn instance_profile(iam: &aws_sdk_iam::Client, name: &str) -> Result<()> {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let exists = |code: Option<&str>| code == Some("EntityAlreadyExists");
    if let Err(e) = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
    {
        if !exists(e.as_service_error().and_then(|s| s.meta().code())) {
            return Err(StepError::from_sdk("iam:CreateRole", e).into());
        }
    }
    match iam
        .create_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
    {
        Ok(_) => iam
            .add_role_to_instance_profile()
            .instance_profile_name(name)
            .role_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| StepError::from_sdk("iam:AddRoleToInstanceProfile", e).into()),
        Err(e) if exists(e.as_service_error().and_then(|s| s.meta().code())) => Ok(()),
        Err(e) => Err(StepError::from_sdk("iam:CreateInstanceProfile", e).into()),
    }
}

async fn default_vpc(ec2: &aws_sdk_ec2::Client) -> Result<String> {
    let out = ec2
        .describe_vpcs()
        .filters(Filter::builder().name("is-default").values("true").build())
        .send()
        .await
        .map_err(|e| StepError::from_sdk("ec2:DescribeVpcs", e))?;
    out.vpcs()
        .first()
        .and_then(|v| v.vpc_id())
        .map(str::to_string)
        .ok_or_else(|| LocalError::Setup("the emulator has no default VPC".into()))
}

async fn first_subnet(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> Result<String> {
    let out = ec2
        .describe_subnets()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .map_err(|e| StepError::from_sdk("ec2:DescribeSubnets", e))?;
    let mut ids: Vec<String> = out
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect();
    ids.sort();
    ids.into_iter()
        .next()
        .ok_or_else(|| LocalError::Setup(format!("VPC {vpc_id} has no subnet")))
}

/// The preview security group: HTTP on port 80 only (no SSH, no database, Solr or JDWP ports).
async fn security_group(ec2: &aws_sdk_ec2::Client, vpc_id: &str, name: &str) -> Result<String> {
    let found = ec2
        .describe_security_groups()
        .filters(Filter::builder().name("group-name").values(name).build())
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .map_err(|e| StepError::from_sdk("ec2:DescribeSecurityGroups", e))?;
    if let Some(id) = found.security_groups().first().and_then(|g| g.group_id()) {
        return Ok(id.to_string());
    }
    let created = ec2
        .create_security_group()
        .group_name(name)
        .description("dspace-preview instances: HTTP only")
        .vpc_id(vpc_id)
        .send()
        .await
        .map_err(|e| StepError::from_sdk("ec2:CreateSecurityGroup", e))?;
    let id = created.group_id().unwrap_or_default().to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(80)
                .to_port(80)
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .description("preview UI and REST")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| StepError::from_sdk("ec2:AuthorizeSecurityGroupIngress", e))?;
    Ok(id)
}

/// Any image the emulator knows, standing in for our AMI.
async fn any_image(ec2: &aws_sdk_ec2::Client) -> Result<String> {
    let out = ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .map_err(|e| StepError::from_sdk("ec2:DescribeImages", e))?;
    let mut ids: Vec<String> = out
        .images()
        .iter()
        .filter_map(|i| i.image_id().map(str::to_string))
        .collect();
    ids.sort();
    ids.into_iter()
        .next()
        .ok_or_else(|| LocalError::Setup("the emulator has no images".into()))
}
