//! Step 5: park the preview until its TTL, keeping the task token where the web app finds it.

use aws_sdk_ssm::types::ParameterType;
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::domain::phase::Phase;
use crate::domain::preview_id::PreviewId;
use crate::domain::tags;
use crate::error::{Result, StepError};
use crate::instances;
use crate::step::Step;
use crate::steps::types::{Callback, Expiry, LaunchedInstance};
use crate::stop_request;

/// Input, from a `.waitForTaskToken` Task's Payload.
#[derive(Debug, Clone, Deserialize)]
pub struct AwaitExpiryInput {
    /// `$$.Task.Token`.
    pub task_token: String,
    /// The preview id.
    pub preview_id: PreviewId,
    /// The instance.
    pub instance: LaunchedInstance,
    /// The expiry being waited for.
    pub expiry: Expiry,
}

/// Output (Step Functions ignores it; the callback decides the task's result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitExpiryOutput {
    /// The parameter that holds the token.
    pub token_parameter: String,
    /// Who had asked to stop it before the wait began (the wait was ended at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
}

/// The await-expiry step.
pub struct AwaitExpiry;

impl Step for AwaitExpiry {
    const NAME: &'static str = "await-expiry";
    type Input = AwaitExpiryInput;
    type Output = AwaitExpiryOutput;
    async fn run(ctx: &Ctx, input: AwaitExpiryInput) -> Result<AwaitExpiryOutput> {
        await_expiry(ctx, input).await
    }
}

/// Stores the token (SecureString: it is a capability to extend or stop) and tags the expiry.
pub async fn await_expiry(ctx: &Ctx, input: AwaitExpiryInput) -> Result<AwaitExpiryOutput> {
    if input.task_token.is_empty() || input.task_token.len() > 1024 {
        return Err(StepError::InvalidRequest(
            "await-expiry needs $$.Task.Token (1 to 1024 characters)".into(),
        ));
    }
    let names = ctx.base.names();
    let parameter = names.task_token(&input.preview_id);
    ctx.clients
        .ssm
        .put_parameter()
        .name(&parameter)
        .value(&input.task_token)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .description("dspace-preview: the waiting task token (extend/stop callbacks)")
        .send()
        .await
        .map_err(|e| StepError::from_sdk("ssm:PutParameter (task token)", e))?;
    instances::set_tags(
        &ctx.clients.ec2,
        std::slice::from_ref(&input.instance.instance_id),
        &[
            (tags::EXPIRES_AT, input.expiry.expires_at.to_rfc3339()),
            (tags::PHASE, Phase::Expiring.as_str().into()),
        ],
    )
    .await?;
    // A stop asked for between two waits (while RecordUrl or Extend ran) found no token then:
    // it ends this wait now.
    let stopped_by =
        match stop_request::pending(&ctx.clients.ssm, &names, &input.preview_id).await? {
            Some(stop) => {
                send_stop(ctx, &input.task_token, &stop.by).await?;
                Some(stop.by)
            }
            None => None,
        };
    Ok(AwaitExpiryOutput {
        token_parameter: parameter,
        stopped_by,
    })
}

/// Completes this wait with the same stop callback the web app would send.
async fn send_stop(ctx: &Ctx, token: &str, by: &str) -> Result<()> {
    let callback = Callback::Stop {
        by: Some(by.to_string()),
    };
    let output =
        serde_json::to_string(&callback).map_err(|e| StepError::InvalidRequest(e.to_string()))?;
    tracing::info!(%by, "a stop request was pending: ending the wait");
    ctx.clients
        .sfn
        .send_task_success()
        .task_token(token)
        .output(output)
        .send()
        .await
        .map_err(|e| StepError::from_sdk("states:SendTaskSuccess (pending stop)", e))?;
    Ok(())
}

/// The task token a waiting preview stored, for whoever sends its extend or stop callback;
/// `None` when the preview is not waiting (not ready yet, or ended).
pub async fn stored_token(
    ssm: &aws_sdk_ssm::Client,
    names: &crate::domain::names::Names,
    id: &PreviewId,
) -> Result<Option<String>> {
    crate::parameters::value(ssm, &names.task_token(id)).await
}
