//! What ends a preview outside its workflow, promptly: an execution that closed without
//! Terminate (aborted, timed out, failed outside the Catch) and an instance that died under a
//! healthy preview. In AWS EventBridge rules deliver these events to the reaper; locally the
//! engine emits the execution events and a liveness check stands in for EC2's.

use serde_json::Value;

use crate::aws::Ctx;
use crate::domain::preview_id::PreviewId;
use crate::domain::tags;
use crate::error::{Result, StepError};
use crate::instances;
use crate::parameters;
use crate::steps::await_expiry::stored_token;
use crate::steps::reaper::Reaped;
use crate::steps::terminate::end_preview;

/// The error a waiting preview's execution fails with when its instance dies.
pub const INSTANCE_GONE: &str = "InstanceGone";

/// Instance states after which a preview cannot serve (a stopped instance has lost its
/// containers' state and public address; it counts as gone).
const GONE_STATES: [&str; 4] = ["shutting-down", "terminated", "stopping", "stopped"];

/// An event the reaper handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// "Step Functions Execution Status Change".
    ExecutionClosed {
        /// The execution ARN.
        execution_arn: String,
        /// Its name (our preview id).
        name: String,
        /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED.
        status: String,
    },
    /// "EC2 Instance State-change Notification" for a state in which a preview cannot serve.
    InstanceGone {
        /// The instance.
        instance_id: String,
        /// What happened, for the audit log.
        why: String,
    },
    /// Anything else: the scheduled sweep.
    Sweep,
}

impl LifecycleEvent {
    /// Reads an EventBridge event (pure); anything unknown is the scheduled sweep.
    pub fn parse(event: &Value) -> LifecycleEvent {
        let text = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let detail = event.get("detail").cloned().unwrap_or(Value::Null);
        match (
            text(event, "source").as_str(),
            text(event, "detail-type").as_str(),
        ) {
            ("aws.states", "Step Functions Execution Status Change") => {
                LifecycleEvent::ExecutionClosed {
                    execution_arn: text(&detail, "executionArn"),
                    name: text(&detail, "name"),
                    status: text(&detail, "status"),
                }
            }
            ("aws.ec2", "EC2 Instance State-change Notification") => {
                let state = text(&detail, "state");
                if GONE_STATES.contains(&state.as_str()) {
                    LifecycleEvent::InstanceGone {
                        instance_id: text(&detail, "instance-id"),
                        why: format!("the instance is {state}"),
                    }
                } else {
                    LifecycleEvent::Sweep
                }
            }
            ("aws.ec2", "EC2 Spot Instance Interruption Warning") => LifecycleEvent::InstanceGone {
                instance_id: text(&detail, "instance-id"),
                why: "AWS is reclaiming the spot instance (interruption warning)".into(),
            },
            _ => LifecycleEvent::Sweep,
        }
    }
}

/// An execution closed: unless Terminate ended it, end its preview now (idempotent: a preview
/// Terminate already ended has nothing left to end).
pub async fn on_execution_closed(ctx: &Ctx, name: &str, status: &str) -> Result<Option<Reaped>> {
    if matches!(status, "RUNNING" | "SUCCEEDED") {
        return Ok(None);
    }
    let Ok(id) = PreviewId::parse(name) else {
        return Ok(None);
    };
    let why = format!("its execution is {status}");
    let (terminated, released) = end_preview(ctx, &id, None, &why).await?;
    if terminated.is_empty() && released.is_empty() {
        return Ok(None);
    }
    tracing::warn!(preview = %id, ?terminated, ?released, status, "ended a preview whose execution closed without Terminate");
    Ok(Some(Reaped {
        preview_id: id.to_string(),
        instances: terminated,
        why,
    }))
}

/// An instance died or is about to: if its preview waits (healthy), fail the wait with
/// `InstanceGone` so the workflow cleans up and the slot is freed. A preview still building
/// finds out itself at its next health poll; an instance we ended ourselves is left alone.
pub async fn on_instance_gone(ctx: &Ctx, instance_id: &str, why: &str) -> Result<Option<Reaped>> {
    let found = ctx
        .clients
        .ec2
        .describe_instances()
        .instance_ids(instance_id)
        .send()
        .await;
    let instance = match found {
        Ok(out) => out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .next()
            .cloned(),
        Err(e) if crate::error::sdk_code(&e) == Some("InvalidInstanceID.NotFound") => None,
        Err(e) => return Err(StepError::from_sdk("ec2:DescribeInstances", e)),
    };
    let Some(instance) = instance else {
        return Ok(None);
    };
    let ours = instances::tag(&instance, tags::STACK) == Some(ctx.base.stack.as_str());
    if !ours || instances::tag(&instance, tags::ENDED).is_some() {
        return Ok(None);
    }
    let Some(id) =
        instances::tag(&instance, tags::PREVIEW_ID).and_then(|t| PreviewId::parse(t).ok())
    else {
        return Ok(None);
    };
    fail_wait(ctx, &id, instance_id, why).await
}

/// Fails a waiting preview's task with `InstanceGone`; `None` when it does not wait.
async fn fail_wait(
    ctx: &Ctx,
    id: &PreviewId,
    instance_id: &str,
    why: &str,
) -> Result<Option<Reaped>> {
    let Some(token) = stored_token(&ctx.clients.ssm, &ctx.base.names(), id).await? else {
        return Ok(None);
    };
    let cause = format!("instance {instance_id} of {id} is gone: {why}");
    match ctx
        .clients
        .sfn
        .send_task_failure()
        .task_token(token)
        .error(INSTANCE_GONE)
        .cause(&cause)
        .send()
        .await
    {
        Ok(_) => {}
        // The wait already ended (a callback, the TTL): its own ending cleans up.
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_task_does_not_exist() || s.is_invalid_token() || s.is_task_timed_out()
            }) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(StepError::from_sdk("states:SendTaskFailure", e)),
    }
    tracing::warn!(preview = %id, instance = instance_id, why, "instance gone under a waiting preview");
    Ok(Some(Reaped {
        preview_id: id.to_string(),
        instances: vec![instance_id.to_string()],
        why: cause,
    }))
}

/// The stand-in for EC2's events (locally) and their backstop (in AWS): every waiting preview
/// whose instance no longer serves has its wait failed.
pub async fn liveness(ctx: &Ctx) -> Result<Vec<Reaped>> {
    let names = ctx.base.names();
    let waiting: Vec<String> = parameters::names_under(&ctx.clients.ssm, &names.previews_path())
        .await?
        .iter()
        .filter(|n| n.ends_with("/task-token"))
        .filter_map(|n| names.preview_of_parameter(n).map(str::to_string))
        .collect();
    let mut reaped = Vec::new();
    for id in waiting {
        let Ok(id) = PreviewId::parse(&id) else {
            continue;
        };
        let all_states = [
            "pending",
            "running",
            "shutting-down",
            "terminated",
            "stopping",
            "stopped",
        ];
        let found = instances::find(
            &ctx.clients.ec2,
            &ctx.base.stack,
            &all_states,
            &[(tags::PREVIEW_ID, id.as_str())],
        )
        .await?;
        let serving = found
            .iter()
            .any(|i| instances::state_of(i).is_some_and(|s| !GONE_STATES.contains(&s.as_str())));
        let ended_by_us = found
            .iter()
            .any(|i| instances::tag(i, tags::ENDED).is_some());
        let Some(dead) = found.first().filter(|_| !serving && !ended_by_us) else {
            continue;
        };
        let state = instances::state_of(dead)
            .map(|s| s.as_str())
            .unwrap_or("gone");
        let instance_id = dead.instance_id().unwrap_or_default();
        if let Some(r) =
            fail_wait(ctx, &id, instance_id, &format!("the instance is {state}")).await?
        {
            reaped.push(r);
        }
    }
    Ok(reaped)
}

/// Parameters of previews whose execution no longer runs (a stop request that came too late,
/// say): deleted, so nothing is left behind. Needs the state machine's ARN to name executions.
pub async fn stray_parameters(ctx: &Ctx, state_machine_arn: &str) -> Result<Vec<String>> {
    let names = ctx.base.names();
    let all = parameters::names_under(&ctx.clients.ssm, &names.previews_path()).await?;
    let mut ids: Vec<&str> = all
        .iter()
        .filter_map(|n| names.preview_of_parameter(n))
        .collect();
    ids.dedup();
    let mut stray = Vec::new();
    for id in ids {
        let execution = execution_arn(state_machine_arn, id);
        if execution_status(ctx, &execution).await?.as_deref() == Some("RUNNING") {
            continue;
        }
        let prefix = format!("{}{id}/", names.previews_path());
        stray.extend(all.iter().filter(|n| n.starts_with(&prefix)).cloned());
    }
    parameters::delete_all(&ctx.clients.ssm, &stray).await?;
    if !stray.is_empty() {
        tracing::warn!(?stray, "deleted parameters of previews that no longer run");
    }
    Ok(stray)
}

/// The ARN of the execution called `name` of a state machine (pure).
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
    )
}

/// The execution's status, `None` when it does not exist (or no ARN was recorded).
pub async fn execution_status(ctx: &Ctx, execution_arn: &str) -> Result<Option<String>> {
    if execution_arn.is_empty() {
        return Ok(None);
    }
    match ctx
        .clients
        .sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.status().as_str().to_string())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_execution_does_not_exist()) =>
        {
            Ok(None)
        }
        Err(e) => Err(StepError::from_sdk("states:DescribeExecution", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_events_the_rules_deliver() {
        let closed = json!({"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
            "detail": {"executionArn": "arn:aws:states:us-east-1:1:execution:sm:dsp-b1-202601010000-0001", "name": "dsp-b1-202601010000-0001", "status": "ABORTED"}});
        assert_eq!(
            LifecycleEvent::parse(&closed),
            LifecycleEvent::ExecutionClosed {
                execution_arn: "arn:aws:states:us-east-1:1:execution:sm:dsp-b1-202601010000-0001"
                    .into(),
                name: "dsp-b1-202601010000-0001".into(),
                status: "ABORTED".into()
            }
        );
        let terminated = json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification",
            "detail": {"instance-id": "i-1", "state": "terminated"}});
        assert!(
            matches!(LifecycleEvent::parse(&terminated), LifecycleEvent::InstanceGone { instance_id, .. } if instance_id == "i-1")
        );
        let running = json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification",
            "detail": {"instance-id": "i-1", "state": "running"}});
        assert_eq!(LifecycleEvent::parse(&running), LifecycleEvent::Sweep);
        let spot = json!({"source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning",
            "detail": {"instance-id": "i-2", "instance-action": "terminate"}});
        assert!(
            matches!(LifecycleEvent::parse(&spot), LifecycleEvent::InstanceGone { why, .. } if why.contains("spot"))
        );
        let scheduled =
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        assert_eq!(LifecycleEvent::parse(&scheduled), LifecycleEvent::Sweep);
        assert_eq!(LifecycleEvent::parse(&json!({})), LifecycleEvent::Sweep);
    }

    #[test]
    fn names_executions_of_a_state_machine() {
        assert_eq!(
            execution_arn("arn:aws:states:us-east-1:1:stateMachine:sm", "dsp-1"),
            "arn:aws:states:us-east-1:1:execution:sm:dsp-1"
        );
    }
}
