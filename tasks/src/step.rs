//! The shape every step has: a name, typed JSON in and out, one async function.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

use crate::aws::Ctx;
use crate::error::{Result, StepError};

/// One step of the preview workflow (one Lambda function).
pub trait Step {
    /// The function's short name, e.g. `check-capacity` (Lambda name suffix, engine dispatch key).
    const NAME: &'static str;
    /// The step's input, deserialized from the event.
    type Input: DeserializeOwned + Send;
    /// The step's output, serialized as the result.
    type Output: Serialize + Send;
    /// Runs the step.
    fn run(ctx: &Ctx, input: Self::Input) -> impl Future<Output = Result<Self::Output>> + Send;
}

/// Runs a step on a JSON payload: the common path of the Lambda runtime and the local engine.
pub async fn run_json<S: Step>(ctx: &Ctx, payload: serde_json::Value) -> Result<serde_json::Value> {
    let input: S::Input = serde_json::from_value(payload).map_err(|e| {
        StepError::InvalidRequest(format!("{}: the step input does not fit: {e}", S::NAME))
    })?;
    let output = S::run(ctx, input).await?;
    serde_json::to_value(output).map_err(|e| {
        StepError::InvalidRequest(format!("{}: output not serializable: {e}", S::NAME))
    })
}
