//! The AWS clients, built once per process, and the context every step receives.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::config::Config;
use crate::error::{Result, StepError};

/// The service clients the steps use.
#[derive(Debug, Clone)]
pub struct Clients {
    /// EC2: instances and tags.
    pub ec2: aws_sdk_ec2::Client,
    /// SSM: parameters and Run Command.
    pub ssm: aws_sdk_ssm::Client,
    /// CloudWatch Logs: the previews' logs.
    pub logs: aws_sdk_cloudwatchlogs::Client,
    /// Step Functions: the reaper checks executions.
    pub sfn: aws_sdk_sfn::Client,
    /// ECR: the build cache (read only; the instances push).
    pub ecr: aws_sdk_ecr::Client,
    /// Route 53: the previews' A records, when the deployment has a domain.
    pub route53: aws_sdk_route53::Client,
}

impl Clients {
    /// Clients from a loaded SDK config (honours `AWS_ENDPOINT_URL` and per-service endpoint variables).
    pub fn new(sdk: &SdkConfig) -> Clients {
        Clients {
            ec2: aws_sdk_ec2::Client::new(sdk),
            ssm: aws_sdk_ssm::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
            ecr: aws_sdk_ecr::Client::new(sdk),
            route53: aws_sdk_route53::Client::new(sdk),
        }
    }
}

/// What a step runs with: clients, the deployment's base config, and its region.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The AWS clients.
    pub clients: Clients,
    /// Config from the environment; [`Ctx::config`] adds the run-time overrides.
    pub base: Config,
    /// The AWS region (for console links and the boot script).
    pub region: String,
}

impl Ctx {
    /// Loads the SDK config and the dials from the environment, once per process.
    pub async fn from_env() -> Result<Ctx> {
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Ok(Ctx::new(
            Clients::new(&sdk),
            Config::from_env()?,
            region_of(&sdk),
        ))
    }

    /// A context from parts (tests, the local service).
    pub fn new(clients: Clients, base: Config, region: String) -> Ctx {
        Ctx {
            clients,
            base,
            region,
        }
    }

    /// The config in force now: the base overlaid with the SSM dials under `/dspace-preview/<stack>/config/`.
    pub async fn config(&self) -> Result<Config> {
        let path = self.base.names().config_path();
        let mut pages = self
            .clients
            .ssm
            .get_parameters_by_path()
            .path(&path)
            .recursive(false)
            .into_paginator()
            .send();
        let mut overrides = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| StepError::from_sdk("ssm:GetParametersByPath (config)", e))?;
            for p in page.parameters() {
                overrides.push((
                    p.name().unwrap_or_default().to_string(),
                    p.value().unwrap_or_default().to_string(),
                ));
            }
        }
        let mut config = self.base.clone();
        config.apply_overrides(overrides.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        Ok(config)
    }
}

/// The region of an SDK config, `us-east-1` when none is set.
pub fn region_of(sdk: &SdkConfig) -> String {
    sdk.region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".to_string())
}
