//! Dispatch by function name: how the local engine runs the same steps the Lambdas run.

use crate::aws::Ctx;
use crate::error::{Result, StepError};
use crate::step::{run_json, Step};
use crate::steps::{
    await_expiry::AwaitExpiry, capacity::CheckCapacity, extend::Extend, health::CheckHealth,
    launch::Launch, reaper::Reaper, record_url::RecordUrl, resume_wait::ResumeWait,
    terminate::Terminate,
};

/// Every step's function name, in workflow order.
pub const FUNCTIONS: [&str; 9] = [
    CheckCapacity::NAME,
    Launch::NAME,
    CheckHealth::NAME,
    RecordUrl::NAME,
    AwaitExpiry::NAME,
    Extend::NAME,
    ResumeWait::NAME,
    Terminate::NAME,
    Reaper::NAME,
];

/// The step name in a function name or ARN (`arn:…:function:dspace-preview-launch` → `launch`).
pub fn step_name(function: &str) -> Option<&'static str> {
    let name = function.rsplit(':').next().unwrap_or(function);
    // Longest first, so `check-health` never matches a shorter suffix by accident.
    let mut candidates = FUNCTIONS;
    candidates.sort_by_key(|n| std::cmp::Reverse(n.len()));
    candidates
        .into_iter()
        .find(|step| name == *step || name.ends_with(&format!("-{step}")))
}

/// Runs the step a function name points at.
pub async fn invoke(
    ctx: &Ctx,
    function: &str,
    payload: serde_json::Value,
) -> Result<serde_json::Value> {
    let step = step_name(function).ok_or_else(|| {
        StepError::Config(format!(
            "no step is called '{function}'; known: {}",
            FUNCTIONS.join(", ")
        ))
    })?;
    match step {
        CheckCapacity::NAME => run_json::<CheckCapacity>(ctx, payload).await,
        Launch::NAME => run_json::<Launch>(ctx, payload).await,
        CheckHealth::NAME => run_json::<CheckHealth>(ctx, payload).await,
        RecordUrl::NAME => run_json::<RecordUrl>(ctx, payload).await,
        AwaitExpiry::NAME => run_json::<AwaitExpiry>(ctx, payload).await,
        Extend::NAME => run_json::<Extend>(ctx, payload).await,
        Terminate::NAME => run_json::<Terminate>(ctx, payload).await,
        ResumeWait::NAME => run_json::<ResumeWait>(ctx, payload).await,
        Reaper::NAME => run_json::<Reaper>(ctx, payload).await,
        other => Err(StepError::Config(format!(
            "step '{other}' has no dispatch arm"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_steps_by_name_or_arn() {
        assert_eq!(
            step_name("arn:aws:lambda:us-east-1:1:function:dspace-preview-check-health"),
            Some("check-health")
        );
        assert_eq!(step_name("launch"), Some("launch"));
        assert_eq!(
            step_name("dspace-preview-prod-terminate"),
            Some("terminate")
        );
        assert_eq!(step_name("relaunch"), None);
    }
}
