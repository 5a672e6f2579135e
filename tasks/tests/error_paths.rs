//! Error paths moto cannot produce, with `aws-smithy-mocks`: throttling, no capacity, a failed or
//! not-yet health check, a vanished instance.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

use aws_sdk_ec2::operation::describe_images::DescribeImagesOutput;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::run_instances::{RunInstancesError, RunInstancesOutput};
use aws_sdk_ec2::operation::terminate_instances::TerminateInstancesError;
use aws_sdk_ec2::types::{Instance, InstanceState, InstanceStateName, Reservation};
use aws_sdk_ec2::Client as Ec2;
use aws_sdk_ssm::operation::get_command_invocation::GetCommandInvocationOutput;
use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
use aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathOutput;
use aws_sdk_ssm::operation::put_parameter::PutParameterError;
use aws_sdk_ssm::operation::send_command::{SendCommandError, SendCommandOutput};
use aws_sdk_ssm::types::{Command, CommandInvocationStatus, Parameter};
use aws_sdk_ssm::Client as Ssm;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use chrono::{Duration, Utc};
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::{PreviewRequest, SourceInput, BACKEND_REPO};
use preview_tasks::steps::capacity::{check_capacity, CapacityInput};
use preview_tasks::steps::health::HealthOutput;
use preview_tasks::steps::health::{check_health, HealthInput, HealthStatus};
use preview_tasks::steps::launch::{launch, LaunchInput};
use preview_tasks::steps::record_url::{record_url, RecordUrlInput};
use preview_tasks::steps::terminate::{terminate, TerminateInput};
use preview_tasks::steps::types::LaunchedInstance;
use preview_tasks::{Clients, Config, Ctx, StepError};

const INSTANCE: &str = "i-0123456789abcdef0";

fn ec2(rules: &[&Rule]) -> Ec2 {
    mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

fn ssm(rules: &[&Rule]) -> Ssm {
    mock_client!(aws_sdk_ssm, RuleMode::MatchAny, rules, |c| c
        .retry_config(RetryConfig::disabled()))
}

/// Clients for services a test does not touch: any call would fail to connect.
fn unused<C>(make: impl Fn(&aws_config::SdkConfig) -> C) -> C {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    make(&sdk)
}

fn ctx(ec2: Ec2, ssm: Ssm, config: Config) -> Ctx {
    let clients = Clients {
        ec2,
        ssm,
        logs: unused(aws_sdk_cloudwatchlogs::Client::new),
        sfn: unused(aws_sdk_sfn::Client::new),
        ecr: unused(aws_sdk_ecr::Client::new),
        route53: unused(aws_sdk_route53::Client::new),
    };
    Ctx::new(clients, config, "us-east-1".into())
}

fn no_overrides() -> Rule {
    mock!(Ssm::get_parameters_by_path).then_output(|| GetParametersByPathOutput::builder().build())
}

/// Nobody asked to stop the preview (the health step looks before each probe).
fn no_stop_request() -> Rule {
    mock!(Ssm::get_parameter).then_error(|| {
        aws_sdk_ssm::operation::get_parameter::GetParameterError::ParameterNotFound(
            aws_sdk_ssm::types::error::ParameterNotFound::builder().build(),
        )
    })
}

fn ami_parameter() -> Rule {
    mock!(Ssm::get_parameter).then_output(|| {
        GetParameterOutput::builder()
            .parameter(
                Parameter::builder()
                    .name("/dspace-preview/ami-id")
                    .value("ami-1")
                    .build(),
            )
            .build()
    })
}

fn instance_in(state: InstanceStateName) -> Instance {
    Instance::builder()
        .instance_id(INSTANCE)
        .state(InstanceState::builder().name(state).build())
        .public_dns_name("ec2-1-2-3-4.compute-1.amazonaws.com")
        .build()
}

/// DescribeInstances finds nothing by tag, and `state` by id.
fn describe_instances(state: Option<InstanceStateName>) -> Rule {
    mock!(Ec2::describe_instances).then_compute_output(move |req| {
        let by_id = !req.instance_ids().is_empty();
        let mut out = DescribeInstancesOutput::builder();
        if let (true, Some(state)) = (by_id, state.clone()) {
            out = out.reservations(Reservation::builder().instances(instance_in(state)).build());
        }
        out.build()
    })
}

fn error(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message(format!("{code} (mocked)"))
        .build()
}

fn backend_request() -> PreviewRequest {
    PreviewRequest {
        sources: vec![SourceInput {
            repo: BACKEND_REPO.into(),
            pr: Some(1),
            ..Default::default()
        }],
        requester: "t".into(),
        ..Default::default()
    }
}

fn launch_input() -> LaunchInput {
    LaunchInput {
        preview_id: PreviewId::parse("dsp-b1-202611281930-0001").unwrap(),
        request: backend_request()
            .validate(&Config::default().request_rules())
            .unwrap(),
        execution: "arn:aws:states:us-east-1:1:execution:sm:dsp-b1-202611281930-0001".into(),
    }
}

fn launched(deadline_in_minutes: i64) -> LaunchedInstance {
    LaunchedInstance {
        instance_id: INSTANCE.into(),
        image_id: "ami-1".into(),
        instance_type: "t3.large".into(),
        spot: false,
        // A backend-only preview's budget (55 min) ago, give or take the deadline asked for.
        launched_at: Utc::now() - Duration::minutes(55),
        health_deadline: Utc::now() + Duration::minutes(deadline_in_minutes),
        build_cache: Default::default(),
        public_name: None,
    }
}

fn run_instances_fails(code: &'static str) -> Rule {
    mock!(Ec2::run_instances).then_error(move || RunInstancesError::generic(error(code)))
}

fn no_images() -> Rule {
    mock!(Ec2::describe_images).then_output(|| DescribeImagesOutput::builder().build())
}

/// Runs launch against an EC2 whose RunInstances always fails with `code`.
async fn launch_failing_with(code: &'static str) -> StepError {
    let (d, i, r) = (
        describe_instances(None),
        no_images(),
        run_instances_fails(code),
    );
    let (o, a) = (no_overrides(), ami_parameter());
    let ctx = ctx(ec2(&[&d, &i, &r]), ssm(&[&o, &a]), Config::default());
    launch(&ctx, launch_input()).await.unwrap_err()
}

#[tokio::test]
async fn throttled_launch_is_retryable() {
    let err = launch_failing_with("RequestLimitExceeded").await;
    assert_eq!(err.error_type(), "Throttled", "{err}");
}

#[tokio::test]
async fn no_capacity_is_its_own_error() {
    let err = launch_failing_with("InsufficientInstanceCapacity").await;
    assert_eq!(err.error_type(), "InsufficientCapacity", "{err}");
    assert!(err.to_string().contains("another instance type"));
}

#[tokio::test]
async fn spot_without_capacity_falls_back_to_on_demand() {
    let (d, i) = (describe_instances(None), no_images());
    let run = mock!(Ec2::run_instances)
        .sequence()
        .error(|| RunInstancesError::generic(error("InsufficientInstanceCapacity")))
        .output(|| {
            RunInstancesOutput::builder()
                .instances(instance_in(InstanceStateName::Pending))
                .build()
        })
        .build();
    let (o, a) = (no_overrides(), ami_parameter());
    let config = Config {
        use_spot: true,
        ..Config::default()
    };
    let out = launch(
        &ctx(ec2(&[&d, &i, &run]), ssm(&[&o, &a]), config),
        launch_input(),
    )
    .await
    .unwrap();
    assert_eq!(out.instance_id, INSTANCE);
    assert!(!out.spot, "the fallback runs on demand");
    assert_eq!(run.num_calls(), 2);
}

#[tokio::test]
async fn a_missing_ami_parameter_says_how_to_fix_it() {
    let d = describe_instances(None);
    let o = no_overrides();
    let missing = mock!(Ssm::get_parameter).then_error(|| {
        aws_sdk_ssm::operation::get_parameter::GetParameterError::ParameterNotFound(
            aws_sdk_ssm::types::error::ParameterNotFound::builder().build(),
        )
    });
    let err = launch(
        &ctx(ec2(&[&d]), ssm(&[&o, &missing]), Config::default()),
        launch_input(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "LaunchFailed");
    assert!(err.to_string().contains("build the AMI"), "{err}");
}

fn send_command_ok() -> Rule {
    mock!(Ssm::send_command).then_output(|| {
        SendCommandOutput::builder()
            .command(Command::builder().command_id("c-1").build())
            .build()
    })
}

fn invocation(
    status: CommandInvocationStatus,
    code: i32,
    stdout: &'static str,
) -> GetCommandInvocationOutput {
    GetCommandInvocationOutput::builder()
        .status(status)
        .response_code(code)
        .standard_output_content(stdout)
        .build()
}

fn tags_ok() -> Rule {
    mock!(Ec2::create_tags)
        .then_output(|| aws_sdk_ec2::operation::create_tags::CreateTagsOutput::builder().build())
}

/// Runs the health step on a running instance whose health command answers as `invocation` does.
async fn health_with(
    invocation: Rule,
    config: Config,
    deadline_in_minutes: i64,
) -> Result<HealthOutput, StepError> {
    let (d, t) = (
        describe_instances(Some(InstanceStateName::Running)),
        tags_ok(),
    );
    let (o, s, n) = (no_overrides(), send_command_ok(), no_stop_request());
    let ctx = ctx(ec2(&[&d, &t]), ssm(&[&o, &s, &n, &invocation]), config);
    check_health(
        &ctx,
        HealthInput {
            preview_id: launch_input().preview_id,
            instance: launched(deadline_in_minutes),
        },
    )
    .await
}

const NOT_YET: &str =
    r#"{"status":"pending","phase":"building-backend","passed":["db"],"detail":"mvn package"}"#;

#[tokio::test(start_paused = true)]
async fn a_failed_health_check_fails_with_the_instance_s_detail() {
    let inv = mock!(Ssm::get_command_invocation).then_output(|| {
        invocation(CommandInvocationStatus::Failed, 1, r#"{"status":"failed","phase":"merging","passed":[],"detail":"merge conflict in dspace-api/pom.xml"}"#)
    });
    let err = health_with(inv, Config::default(), 60).await.unwrap_err();
    assert_eq!(err.error_type(), "HealthCheckFailed");
    assert!(
        err.to_string()
            .contains("merge conflict in dspace-api/pom.xml"),
        "{err}"
    );
    assert!(err.to_string().contains("'merging'"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn not_yet_then_healthy_within_one_invocation() {
    let inv = mock!(Ssm::get_command_invocation)
        .sequence()
        .output(|| invocation(CommandInvocationStatus::InProgress, -1, ""))
        .output(|| invocation(CommandInvocationStatus::Failed, 75, NOT_YET))
        .output(|| invocation(CommandInvocationStatus::Success, 0, r#"{"status":"healthy","phase":"ready","passed":["db","solr","rest","ui"],"detail":""}"#))
        .build();
    let out = health_with(inv, Config::default(), 60).await.unwrap();
    assert_eq!(
        (out.status, out.phase.as_str(), out.probes),
        (HealthStatus::Healthy, "ready", 2)
    );
}

#[tokio::test(start_paused = true)]
async fn the_boot_phase_is_tagged_once_per_change_while_polling() {
    let starting = r#"{"status":"pending","phase":"starting","passed":[],"detail":"","phases":[{"phase":"starting","start":"2026-12-02T08:20:00Z","end":null,"seconds":5}]}"#;
    let inv = mock!(Ssm::get_command_invocation)
        .sequence()
        .output(|| invocation(CommandInvocationStatus::Failed, 75, NOT_YET))
        .output(|| invocation(CommandInvocationStatus::Failed, 75, NOT_YET))
        .output(move || invocation(CommandInvocationStatus::Failed, 75, starting))
        .output(|| {
            invocation(
                CommandInvocationStatus::Success,
                0,
                r#"{"status":"healthy","phase":"ready","passed":[],"detail":""}"#,
            )
        })
        .build();
    let tagged = |phase: &'static str| {
        mock!(Ec2::create_tags)
            .match_requests(move |r| {
                r.tags().iter().any(|t| {
                    t.key() == Some("dspace-preview:boot-phase") && t.value() == Some(phase)
                })
            })
            .then_output(|| {
                aws_sdk_ec2::operation::create_tags::CreateTagsOutput::builder().build()
            })
    };
    let (building, started) = (tagged("building-backend"), tagged("starting"));
    let (d, t) = (
        describe_instances(Some(InstanceStateName::Running)),
        tags_ok(),
    );
    let (o, s, n) = (no_overrides(), send_command_ok(), no_stop_request());
    let ctx = ctx(
        ec2(&[&d, &building, &started, &t]),
        ssm(&[&o, &s, &n, &inv]),
        Config::default(),
    );
    let out = check_health(
        &ctx,
        HealthInput {
            preview_id: launch_input().preview_id,
            instance: launched(60),
        },
    )
    .await
    .unwrap();
    assert_eq!(out.status, HealthStatus::Healthy);
    assert_eq!(building.num_calls(), 1, "tagged once for two reports of it");
    assert_eq!(started.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn not_yet_past_the_budget_reports_pending_with_the_phase() {
    let inv = mock!(Ssm::get_command_invocation)
        .then_output(|| invocation(CommandInvocationStatus::Failed, 75, NOT_YET));
    let config = Config {
        health_poll_budget_seconds: 60,
        health_poll_interval_seconds: 20,
        ..Config::default()
    };
    let out = health_with(inv, config, 60).await.unwrap();
    assert_eq!(
        (out.status, out.phase.as_str()),
        (HealthStatus::Pending, "building-backend")
    );
    assert_eq!(out.passed, vec!["db"]);
    assert_eq!(
        out.probes, 3,
        "probes at 0 s, 20 s and 40 s fit a 60 s budget"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unregistered_ssm_agent_is_not_yet() {
    let (d, t) = (
        describe_instances(Some(InstanceStateName::Running)),
        tags_ok(),
    );
    let o = no_overrides();
    let s = mock!(Ssm::send_command).then_error(|| {
        SendCommandError::InvalidInstanceId(
            aws_sdk_ssm::types::error::InvalidInstanceId::builder().build(),
        )
    });
    let config = Config {
        health_poll_budget_seconds: 1,
        ..Config::default()
    };
    let out = check_health(
        &ctx(ec2(&[&d, &t]), ssm(&[&o, &s, &no_stop_request()]), config),
        HealthInput {
            preview_id: launch_input().preview_id,
            instance: launched(60),
        },
    )
    .await
    .unwrap();
    assert_eq!(out.status, HealthStatus::Pending);
    assert!(out.detail.contains("SSM agent"), "{}", out.detail);
}

#[tokio::test(start_paused = true)]
async fn never_healthy_fails_at_the_deadline() {
    let inv = mock!(Ssm::get_command_invocation)
        .then_output(|| invocation(CommandInvocationStatus::Failed, 75, NOT_YET));
    let err = health_with(inv, Config::default(), -1).await.unwrap_err();
    assert_eq!(err.error_type(), "HealthCheckFailed");
    assert!(
        err.to_string()
            .contains("54 minutes after launch, for what it builds"),
        "{err}"
    );
}

#[tokio::test]
async fn a_vanished_instance_is_instance_gone() {
    let o = no_overrides();
    let d = mock!(Ec2::describe_instances).then_error(|| {
        aws_sdk_ec2::operation::describe_instances::DescribeInstancesError::generic(error(
            "InvalidInstanceID.NotFound",
        ))
    });
    let input = RecordUrlInput {
        preview_id: launch_input().preview_id,
        request: launch_input().request,
        instance: launched(60),
    };
    let err = record_url(&ctx(ec2(&[&d]), ssm(&[&o]), Config::default()), input)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InstanceGone");
    let d2 = describe_instances(Some(InstanceStateName::ShuttingDown));
    let input = HealthInput {
        preview_id: launch_input().preview_id,
        instance: launched(60),
    };
    let n = no_stop_request();
    let err = check_health(&ctx(ec2(&[&d2]), ssm(&[&o, &n]), Config::default()), input)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InstanceGone");
    assert!(err.to_string().contains("shutting-down"), "{err}");
}

#[tokio::test]
async fn terminating_an_instance_already_gone_succeeds() {
    let (d, t) = (
        describe_instances(Some(InstanceStateName::Running)),
        tags_ok(),
    );
    let term = mock!(Ec2::terminate_instances)
        .then_error(|| TerminateInstancesError::generic(error("InvalidInstanceID.NotFound")));
    let o = no_overrides();
    let input: TerminateInput = serde_json::from_value(serde_json::json!({
        "preview_id": launch_input().preview_id, "instance": launched(60), "callback": {"action": "stop", "by": "bob"}
    }))
    .unwrap();
    let out = terminate(
        &ctx(ec2(&[&d, &t, &term]), ssm(&[&o]), Config::default()),
        input,
    )
    .await
    .unwrap();
    assert_eq!(out.detail, "stopped by bob");
}

#[tokio::test]
async fn throttled_slot_reservation_is_retryable_and_takes_nothing() {
    let o = no_overrides();
    let d = describe_instances(None);
    let put = mock!(Ssm::put_parameter)
        .then_error(|| PutParameterError::generic(error("ThrottlingException")));
    let input = CapacityInput {
        preview_id: launch_input().preview_id,
        request: backend_request(),
        execution: "e".into(),
    };
    let err = check_capacity(&ctx(ec2(&[&d]), ssm(&[&o, &put]), Config::default()), input)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Throttled", "{err}");
}

#[tokio::test]
async fn bad_requests_are_refused_before_any_aws_call() {
    // Every call would be answered by these rules and counted; none may happen.
    let (o, d) = (no_overrides(), describe_instances(None));
    let ctx = ctx(ec2(&[&d]), ssm(&[&o]), Config::default());
    let src = |repo: &str, pr: Option<u64>| SourceInput {
        repo: repo.into(),
        pr,
        ..Default::default()
    };
    let cases = [
        (
            vec![src("DSpace/not-dspace", Some(1))],
            None,
            "unknown repository",
        ),
        (
            vec![src(BACKEND_REPO, Some(0))],
            None,
            "PR numbers start at 1",
        ),
        (
            vec![src(BACKEND_REPO, Some(1))],
            Some(5),
            "at least 30 minutes",
        ),
        (vec![], None, "choose a backend PR"),
        (
            vec![src(BACKEND_REPO, None)],
            None,
            "give a PR number or a branch",
        ),
    ];
    for (sources, ttl_minutes, message) in cases {
        let request = PreviewRequest {
            sources,
            ttl_minutes,
            requester: "t".into(),
            ..Default::default()
        };
        let capacity = CapacityInput {
            preview_id: launch_input().preview_id,
            request,
            execution: "e".into(),
        };
        let err = check_capacity(&ctx, capacity).await.unwrap_err();
        assert_eq!(err.error_type(), "InvalidRequest");
        assert!(err.to_string().contains(message), "{err}");
        // Launch takes only an admitted request (`ValidRequest`): an invalid one cannot reach it.
    }
    assert_eq!(o.num_calls() + d.num_calls(), 0, "no AWS call was made");
}
