//! Step 6: terminate the preview's instance and remove what it held (parameters, slot, DNS
//! record). Runs on every ending.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::dns;
use crate::domain::phase::Phase;
use crate::domain::preview_id::PreviewId;
use crate::domain::tags;
use crate::error::{Result, StepError};
use crate::instances;
use crate::parameters;
use crate::slots;
use crate::step::Step;
pub use crate::steps::types::CaughtError;
use crate::steps::types::{Callback, LaunchedInstance, Ready, WaitEnded};

/// Input: the whole workflow state; any part may be missing after an early failure.
#[derive(Debug, Clone, Deserialize)]
pub struct TerminateInput {
    /// The preview id.
    pub preview_id: PreviewId,
    /// Set once launched.
    #[serde(default)]
    pub instance: Option<LaunchedInstance>,
    /// Set once healthy.
    #[serde(default)]
    pub ready: Option<Ready>,
    /// The callback or the timeout that ended the wait.
    #[serde(default)]
    pub callback: Option<WaitEnded>,
    /// The caught error on the failure path (`{"Error","Cause"}`).
    #[serde(default)]
    pub error: Option<CaughtError>,
}

/// How a preview ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The TTL passed.
    Expired,
    /// Someone pressed Stop.
    Stopped,
    /// A step failed.
    Failed,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Expired => "expired",
            Outcome::Stopped => "stopped",
            Outcome::Failed => "failed",
        })
    }
}

/// The execution's output: how the preview ended and what it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The preview id.
    pub preview_id: PreviewId,
    /// expired | stopped | failed.
    pub outcome: Outcome,
    /// Who stopped it, or the error.
    pub detail: String,
    /// The instance, if one was launched.
    pub instance_id: Option<String>,
    /// The UI URL, if it became healthy.
    pub ui_url: Option<String>,
    /// The REST URL, if it became healthy.
    pub rest_url: Option<String>,
    /// When it launched.
    pub launched_at: Option<DateTime<Utc>>,
    /// When it became healthy.
    pub ready_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub ended_at: DateTime<Utc>,
    /// The instances terminated now.
    pub terminated: Vec<String>,
    /// The slots released.
    pub released_slots: Vec<String>,
}

/// The terminate step.
pub struct Terminate;

impl Step for Terminate {
    const NAME: &'static str = "terminate";
    type Input = TerminateInput;
    type Output = Summary;
    async fn run(ctx: &Ctx, input: TerminateInput) -> Result<Summary> {
        terminate(ctx, input).await
    }
}

/// Decides the outcome from the state (pure).
pub fn outcome_of(input: &TerminateInput) -> (Outcome, String) {
    if let Some(err) = &input.error {
        return (Outcome::Failed, err.reason());
    }
    match &input.callback {
        Some(WaitEnded::Callback {
            callback: callback @ Callback::Stop { .. },
            ..
        }) => (
            Outcome::Stopped,
            format!("stopped by {}", callback.by().unwrap_or("unknown")),
        ),
        Some(ended) if ended.timed_out() => (Outcome::Expired, "the TTL passed".into()),
        _ => (Outcome::Stopped, "stopped".into()),
    }
}

/// Terminates every instance of the preview (gone already is fine), deletes its parameters, frees its slot.
pub async fn terminate(ctx: &Ctx, input: TerminateInput) -> Result<Summary> {
    let (outcome, detail) = outcome_of(&input);
    // Its name, even when the instance (and so its tag) is gone already.
    if let Some(name) = input
        .instance
        .as_ref()
        .and_then(|i| i.public_name.as_deref())
    {
        delete_records(ctx, &[name]).await?;
    }
    let summary = end_preview(
        ctx,
        &input.preview_id,
        input.instance.as_ref().map(|i| i.instance_id.as_str()),
        &detail,
    )
    .await?;
    Ok(Summary {
        preview_id: input.preview_id,
        outcome,
        detail,
        instance_id: input.instance.as_ref().map(|i| i.instance_id.clone()),
        ui_url: input.ready.as_ref().map(|r| r.ui_url.clone()),
        rest_url: input.ready.as_ref().map(|r| r.rest_url.clone()),
        launched_at: input.instance.as_ref().map(|i| i.launched_at),
        ready_at: input.ready.as_ref().map(|r| r.ready_at),
        ended_at: Utc::now(),
        terminated: summary.0,
        released_slots: summary.1,
    })
}

/// Ends a preview: shared by terminate and the reaper. Returns (instances terminated, slots released).
pub async fn end_preview(
    ctx: &Ctx,
    id: &PreviewId,
    known_instance: Option<&str>,
    why: &str,
) -> Result<(Vec<String>, Vec<String>)> {
    let names = ctx.base.names();
    let mut found = instances::of_preview(&ctx.clients.ec2, &ctx.base.stack, id).await?;
    if let Some(known) = known_instance {
        if !found.iter().any(|i| i.instance_id() == Some(known)) {
            if let Ok(instance) = instances::alive(&ctx.clients.ec2, known).await {
                found.push(instance);
            }
        }
    }
    let ids: Vec<String> = found
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect();
    let public_names: Vec<&str> = found
        .iter()
        .filter_map(|i| instances::tag(i, tags::PUBLIC_NAME))
        .collect();
    // Before the instance goes: a record left pointing at a released IP would serve whoever
    // gets that IP next under our name. A failure here still ends the instance, then fails
    // the step so the state retries (and the reaper sweeps what is left).
    let dns_failed = delete_records(ctx, &public_names).await.err();
    if !ids.is_empty() {
        // Tag first: once terminated, the reason would have nowhere to go.
        let tagged = instances::set_tags(
            &ctx.clients.ec2,
            &ids,
            &[
                (tags::ENDED, why.to_string()),
                (tags::PHASE, Phase::Ended.as_str().into()),
            ],
        )
        .await;
        if let Err(e) = tagged {
            tracing::warn!(error = %e, "could not tag the ending; terminating anyway");
        }
        match ctx
            .clients
            .ec2
            .terminate_instances()
            .set_instance_ids(Some(ids.clone()))
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error().and_then(|s| s.meta().code())
                    == Some("InvalidInstanceID.NotFound") => {}
            Err(e) => return Err(StepError::from_sdk("ec2:TerminateInstances", e)),
        }
    }
    let params = parameters::names_under(&ctx.clients.ssm, &names.preview_path(id)).await?;
    parameters::delete_all(&ctx.clients.ssm, &params).await?;
    let released = slots::release(&ctx.clients.ssm, &names, id).await?;
    if let Some(e) = dns_failed {
        return Err(e);
    }
    tracing::info!(preview = %id, instances = ?ids, released = ?released, why, "preview ended");
    Ok((ids, released))
}

/// Deletes the A records of `public_names` when the deployment has a domain (gone is fine).
async fn delete_records(ctx: &Ctx, public_names: &[&str]) -> Result<()> {
    let Some(domain) = ctx.base.public_domain()? else {
        return Ok(());
    };
    for name in public_names {
        dns::delete(&ctx.clients.route53, &domain, name).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: serde_json::Value) -> TerminateInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn outcome_follows_the_state() {
        let id = "dsp-b1-202601010000-0001";
        let expired = input(
            json!({"preview_id": id, "callback": {"Error": "States.Timeout", "Cause": null}}),
        );
        assert_eq!(outcome_of(&expired).0, Outcome::Expired);
        let stopped =
            input(json!({"preview_id": id, "callback": {"action": "stop", "by": "alice"}}));
        assert_eq!(
            outcome_of(&stopped),
            (Outcome::Stopped, "stopped by alice".into())
        );
        let failed = input(
            json!({"preview_id": id, "error": {"Error": "HealthCheckFailed", "Cause": "merge conflict"}}),
        );
        assert_eq!(
            outcome_of(&failed),
            (Outcome::Failed, "merge conflict".into())
        );
        let lambda = input(
            json!({"preview_id": id, "error": {"Error": "NoFreeSlot", "Cause": "{\"errorType\":\"NoFreeSlot\",\"errorMessage\":\"no free preview slot\"}"}}),
        );
        assert_eq!(
            outcome_of(&lambda),
            (Outcome::Failed, "no free preview slot".into())
        );
        let timeout = input(json!({"preview_id": id, "error": {"Error": "States.Timeout"}}));
        assert_eq!(
            outcome_of(&timeout),
            (Outcome::Failed, "States.Timeout".into())
        );
    }
}
