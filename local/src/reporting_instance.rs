//! An instance that answers the health check, for tests: moto's Run Command runs nothing and
//! says `Success`, so a test that needs a boot in progress gives the health step this SSM, which
//! answers as `preview-health` on the instance would (its exit code and its JSON line).

use aws_sdk_ssm::operation::get_command_invocation::GetCommandInvocationOutput;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::operation::get_parameters_by_path::GetParametersByPathOutput;
use aws_sdk_ssm::operation::send_command::SendCommandOutput;
use aws_sdk_ssm::types::error::ParameterNotFound;
use aws_sdk_ssm::types::{Command, CommandInvocationStatus};
use aws_smithy_mocks::{mock, mock_client, RuleMode};

use preview_tasks::Ctx;

/// What `preview-health` printed and how it exited (0 healthy, 75 not yet, other failed).
#[derive(Debug, Clone)]
pub struct HealthAnswer {
    /// The exit code.
    pub exit_code: i32,
    /// Its standard output (the JSON report).
    pub stdout: String,
}

/// `ctx` with an SSM whose health command answers what `answer` says at the time it is asked
/// (no run-time dials are set).
pub fn ctx(ctx: &Ctx, answer: impl Fn() -> HealthAnswer + Send + Sync + 'static) -> Ctx {
    let config = mock!(aws_sdk_ssm::Client::get_parameters_by_path)
        .then_output(|| GetParametersByPathOutput::builder().build());
    let send = mock!(aws_sdk_ssm::Client::send_command).then_output(|| {
        SendCommandOutput::builder()
            .command(Command::builder().command_id("c-1").build())
            .build()
    });
    let invocation =
        mock!(aws_sdk_ssm::Client::get_command_invocation).then_compute_output(move |_| {
            let HealthAnswer { exit_code, stdout } = answer();
            let status = match exit_code {
                0 => CommandInvocationStatus::Success,
                _ => CommandInvocationStatus::Failed,
            };
            GetCommandInvocationOutput::builder()
                .status(status)
                .response_code(exit_code)
                .standard_output_content(stdout)
                .build()
        });
    // Nobody asks to stop it through this SSM (the health step looks before each probe).
    let no_stop = mock!(aws_sdk_ssm::Client::get_parameter)
        .then_error(|| GetParameterError::ParameterNotFound(ParameterNotFound::builder().build()));
    let mut ctx = ctx.clone();
    ctx.clients.ssm = mock_client!(
        aws_sdk_ssm,
        RuleMode::MatchAny,
        [&config, &send, &no_stop, &invocation]
    );
    ctx
}
