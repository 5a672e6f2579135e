//! The reaper: ends any preview whose execution stopped running or whose hard maximum passed,
//! and deletes DNS records under the deployment's domain that no live preview names.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::dns;
use crate::domain::preview_id::PreviewId;
use crate::domain::tags;
use crate::domain::ttl::Lifetime;
use crate::error::{Result, StepError};
use crate::instances::{self, ALIVE_STATES};
use crate::lifecycle::{self, LifecycleEvent};
use crate::slots;
use crate::step::Step;
use crate::steps::terminate::end_preview;

/// A fresh launch gets this long before the reaper judges it (tags and execution settle).
const GRACE_MINUTES: i64 = 10;

/// One preview the reaper ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaped {
    /// The preview.
    pub preview_id: String,
    /// Its instances terminated.
    pub instances: Vec<String>,
    /// Why.
    pub why: String,
}

/// What one run found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaperReport {
    /// Instances of ours looked at.
    pub checked: usize,
    /// Previews ended.
    pub reaped: Vec<Reaped>,
    /// A records under the deployment's domain deleted because no live preview names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stray_records: Vec<String>,
}

/// The reaper: the target of the schedule and of the lifecycle rules (execution closed,
/// instance gone); its input is the EventBridge event.
pub struct Reaper;

impl Step for Reaper {
    const NAME: &'static str = "reaper";
    type Input = serde_json::Value;
    type Output = ReaperReport;
    async fn run(ctx: &Ctx, input: serde_json::Value) -> Result<ReaperReport> {
        handle(ctx, &input).await
    }
}

/// Handles one event: a lifecycle event at once, anything else with a full sweep.
pub async fn handle(ctx: &Ctx, event: &serde_json::Value) -> Result<ReaperReport> {
    let one = match LifecycleEvent::parse(event) {
        LifecycleEvent::ExecutionClosed { name, status, .. } => {
            lifecycle::on_execution_closed(ctx, &name, &status).await?
        }
        LifecycleEvent::InstanceGone { instance_id, why } => {
            lifecycle::on_instance_gone(ctx, &instance_id, &why).await?
        }
        LifecycleEvent::Sweep => return reap(ctx, Utc::now()).await,
    };
    Ok(ReaperReport {
        checked: 1,
        reaped: one.into_iter().collect(),
        ..ReaperReport::default()
    })
}

/// Why something of a preview should end now, or `None` to leave it (pure).
pub fn verdict(
    now: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
    lifetime: Lifetime,
    execution_status: Option<&str>,
) -> Option<String> {
    let since = since.unwrap_or(now);
    if now < since + Duration::minutes(GRACE_MINUTES) {
        return None;
    }
    if now > lifetime.hard_stop(since) + Duration::minutes(GRACE_MINUTES) {
        return Some(format!(
            "reaped: past the {}-minute maximum lifetime",
            lifetime.max_lifetime_minutes
        ));
    }
    match execution_status {
        Some("RUNNING") => None,
        Some(status) => Some(format!("reaped: its execution is {status}")),
        None => Some("reaped: its execution does not exist".into()),
    }
}

/// Checks every instance and slot of ours and ends the strays.
pub async fn reap(ctx: &Ctx, now: DateTime<Utc>) -> Result<ReaperReport> {
    let config = ctx.config().await?;
    let lifetime = config.lifetime();
    let mut report = ReaperReport::default();
    let found = instances::find(&ctx.clients.ec2, &config.stack, &ALIVE_STATES, &[]).await?;
    report.checked = found.len();
    let mut ended: Vec<String> = Vec::new();
    for instance in &found {
        let launched = instances::tag(instance, tags::LAUNCHED_AT)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let execution = instances::tag(instance, tags::EXECUTION).unwrap_or_default();
        let status = lifecycle::execution_status(ctx, execution).await?;
        let Some(why) = verdict(now, launched, lifetime, status.as_deref()) else {
            continue;
        };
        let Some(id) =
            instances::tag(instance, tags::PREVIEW_ID).and_then(|t| PreviewId::parse(t).ok())
        else {
            // Ours by the stack tag but without an id: terminate it alone.
            let iid = instance.instance_id().unwrap_or_default().to_string();
            ctx.clients
                .ec2
                .terminate_instances()
                .instance_ids(&iid)
                .send()
                .await
                .map_err(|e| StepError::from_sdk("ec2:TerminateInstances", e))?;
            report.reaped.push(Reaped {
                preview_id: String::new(),
                instances: vec![iid],
                why,
            });
            continue;
        };
        if ended.contains(&id.to_string()) {
            continue;
        }
        let (terminated, _) = end_preview(ctx, &id, instance.instance_id(), &why).await?;
        ended.push(id.to_string());
        report.reaped.push(Reaped {
            preview_id: id.to_string(),
            instances: terminated,
            why,
        });
    }
    // Slots held by executions that died before launching anything.
    for (_, reservation) in slots::held(&ctx.clients.ssm, &config.names()).await? {
        if ended.contains(&reservation.preview_id) {
            continue;
        }
        let status = lifecycle::execution_status(ctx, &reservation.execution).await?;
        let Some(why) = verdict(
            now,
            Some(reservation.reserved_at),
            lifetime,
            status.as_deref(),
        ) else {
            continue;
        };
        if let Ok(id) = PreviewId::parse(&reservation.preview_id) {
            let (terminated, _) = end_preview(ctx, &id, None, &why).await?;
            report.reaped.push(Reaped {
                preview_id: id.to_string(),
                instances: terminated,
                why,
            });
        }
    }
    // Backstops for the lifecycle events: a dead instance under a waiting preview, and
    // parameters left by previews that no longer run.
    report.reaped.extend(lifecycle::liveness(ctx).await?);
    if let Some(arn) = &config.state_machine_arn {
        lifecycle::stray_parameters(ctx, arn).await?;
    }
    // After the previews above ended (each deleting its own record): what is left under the
    // suffix without a live preview is a stray.
    if let Some(domain) = config.public_domain()? {
        report.stray_records = dns::delete_strays(ctx, &config.stack, &domain).await?;
    }
    if !report.reaped.is_empty() {
        tracing::warn!(reaped = ?report.reaped, "reaper ended strays");
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const LIFE: Lifetime = Lifetime {
        max_lifetime_minutes: 480,
    };

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, h, m, 0).unwrap()
    }

    #[test]
    fn leaves_running_and_fresh_previews_alone() {
        assert_eq!(verdict(t(9, 0), Some(t(8, 0)), LIFE, Some("RUNNING")), None);
        assert_eq!(verdict(t(8, 5), Some(t(8, 0)), LIFE, None), None);
    }

    #[test]
    fn reaps_orphans_and_overdue_previews() {
        assert!(verdict(t(9, 0), Some(t(8, 0)), LIFE, Some("ABORTED"))
            .unwrap()
            .contains("ABORTED"));
        assert!(verdict(t(9, 0), Some(t(8, 0)), LIFE, None)
            .unwrap()
            .contains("does not exist"));
        assert!(verdict(t(16, 11), Some(t(8, 0)), LIFE, Some("RUNNING"))
            .unwrap()
            .contains("maximum lifetime"));
    }
}
