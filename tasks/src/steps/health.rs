//! Step 3: run the instance's health check over SSM until it is healthy, failed, or out of time.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use tokio::time::Instant;

use aws_sdk_ssm::types::CommandInvocationStatus;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::dns;
use crate::domain::build_cache::{CacheStatus, Side};
use crate::domain::phase::Phase;
use crate::domain::preview_id::PreviewId;
use crate::domain::tags;
use crate::error::{Result, StepError};
use crate::instances;
use crate::step::Step;
use crate::steps::types::LaunchedInstance;
use crate::stop_request;

/// The command SSM runs on the instance (installed by the AMI, see `ami/`).
pub const HEALTH_COMMAND: &str = "/opt/dspace-preview/bin/preview-health";
/// The health script's exit code for "not yet".
pub const EXIT_NOT_YET: i32 = 75;
/// How long one SSM invocation may take before we call it "not yet".
const INVOCATION_WAIT: StdDuration = StdDuration::from_secs(60);

/// Input: the preview and what `launch` wrote.
#[derive(Debug, Clone, Deserialize)]
pub struct HealthInput {
    /// The preview id.
    pub preview_id: PreviewId,
    /// The launched instance.
    pub instance: LaunchedInstance,
}

/// What one invocation of the health step concluded (`$.health.status`, which IsHealthy matches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Every check passes: record the URL.
    Healthy,
    /// Still booting or building: the state machine asks again.
    Pending,
    /// Someone asked to stop it while it built.
    Stopped,
}

/// Output: healthy, or pending (the state machine asks again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthOutput {
    /// Healthy, pending or stopped.
    pub status: HealthStatus,
    /// The boot phase the instance reported.
    pub phase: String,
    /// The checks that passed.
    pub passed: Vec<String>,
    /// What the last check said.
    pub detail: String,
    /// Checks run in this invocation.
    pub probes: u32,
    /// Which image each side runs, once the stack is up.
    #[serde(default, skip_serializing_if = "RunningImages::is_empty")]
    pub images: RunningImages,
    /// The boot's timeline so far: every phase with its start and, once over, its end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<PhaseTiming>,
    /// Per built side, whether the instance pulled a cached build (hit) or built and pushes (miss).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_cache: BTreeMap<Side, CacheStatus>,
    /// Who asked to stop it while it built (status `stopped`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
}

/// One phase of the boot (phases may overlap: a build runs while the database starts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseTiming {
    /// The boot phase (`fetching`, `building-backend`, …).
    pub phase: String,
    /// When it started (RFC 3339).
    pub start: String,
    /// When it ended; `None` while it runs.
    #[serde(default)]
    pub end: Option<String>,
    /// How long it took, or has taken so far.
    #[serde(default)]
    pub seconds: u64,
}

/// Which image each side of a preview runs (the boot's `images.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningImages {
    /// The REST backend (`dspace` container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<SideImage>,
    /// The Angular UI (`dspace-angular` container).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<SideImage>,
}

impl RunningImages {
    /// True before the boot has recorded anything.
    pub fn is_empty(&self) -> bool {
        self.backend.is_none() && self.ui.is_none()
    }
}

/// One side's image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideImage {
    /// The image reference the container runs (`docker.io/dspace/dspace:latest`).
    #[serde(default)]
    pub image: String,
    /// Built on the instance from the merged PR (else the published image).
    #[serde(default)]
    pub built: bool,
    /// The registry digest of a published image (`dspace/dspace@sha256:…`).
    #[serde(default)]
    pub digest: String,
    /// When the image was created (RFC 3339).
    #[serde(default)]
    pub created: String,
    /// The commit the side's checkout was at (the merge, for a built side).
    #[serde(default)]
    pub commit: String,
}

/// One health check's verdict, as the script prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// healthy | pending | failed.
    #[serde(default)]
    pub status: String,
    /// Boot phase.
    #[serde(default)]
    pub phase: String,
    /// Checks passed so far.
    #[serde(default)]
    pub passed: Vec<String>,
    /// Failure or progress detail.
    #[serde(default)]
    pub detail: String,
    /// Which image each side runs.
    #[serde(default)]
    pub images: RunningImages,
    /// The boot's timeline.
    #[serde(default)]
    pub phases: Vec<PhaseTiming>,
    /// The build cache's outcome per built side.
    #[serde(default)]
    pub build_cache: BTreeMap<Side, CacheStatus>,
}

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// All checks pass.
    Healthy(Report),
    /// Still booting or building.
    NotYet(Report),
    /// Broken for good (merge conflict, build failure, crashed container).
    Failed(Report),
}

/// The health step.
pub struct CheckHealth;

impl Step for CheckHealth {
    const NAME: &'static str = "check-health";
    type Input = HealthInput;
    type Output = HealthOutput;
    async fn run(ctx: &Ctx, input: HealthInput) -> Result<HealthOutput> {
        check_health(ctx, input).await
    }
}

/// Polls within this invocation's budget; state transitions are billed, Lambda seconds are cheap.
pub async fn check_health(ctx: &Ctx, input: HealthInput) -> Result<HealthOutput> {
    let config = ctx.config().await?;
    let instance_id = input.instance.instance_id.as_str();
    let started = Instant::now();
    let budget = StdDuration::from_secs(config.health_poll_budget_seconds);
    let interval = StdDuration::from_secs(config.health_poll_interval_seconds);
    let mut probes = 0;
    let mut tagged_phase = String::new();
    let names = ctx.base.names();
    let domain = config.public_domain()?;
    // Made here, once per invocation, as soon as the instance has a public IP: the launch
    // rarely knows it, and the boot needs its name to resolve to get a certificate long
    // before RecordUrl runs. UPSERT makes a repeat harmless.
    let mut record_made = domain.is_none();
    loop {
        // Checked before each probe: Stop takes effect within one poll interval while it builds.
        if let Some(stop) =
            stop_request::pending(&ctx.clients.ssm, &names, &input.preview_id).await?
        {
            tracing::info!(preview = %input.preview_id, by = %stop.by, "stop requested while building");
            return Ok(HealthOutput {
                stopped_by: Some(stop.by.clone()),
                ..output(
                    HealthStatus::Stopped,
                    Report {
                        phase: tagged_phase,
                        detail: format!("stopped by {} while it built", stop.by),
                        ..Report::default()
                    },
                    probes,
                )
            });
        }
        let instance = instances::alive(&ctx.clients.ec2, instance_id).await?;
        if let (false, Some(domain)) = (record_made, &domain) {
            record_made = dns::upsert_for_instance(ctx, domain, &instance).await?;
        }
        let probe = probe(&ctx.clients.ssm, instance_id).await?;
        probes += 1;
        tag_boot_phase(ctx, instance_id, &probe, &mut tagged_phase).await?;
        let report = match probe {
            Probe::Healthy(report) => {
                instances::set_tags(
                    &ctx.clients.ec2,
                    &[instance_id.to_string()],
                    &[(tags::PHASE, Phase::Healthy.as_str().into())],
                )
                .await?;
                return Ok(output(HealthStatus::Healthy, report, probes));
            }
            Probe::Failed(report) => {
                return Err(StepError::HealthCheckFailed(format!(
                    "{instance_id} failed in phase '{}': {}",
                    report.phase, report.detail
                )))
            }
            Probe::NotYet(report) => report,
        };
        if Utc::now() > input.instance.health_deadline {
            return Err(StepError::HealthCheckFailed(format!(
                "{instance_id} was not healthy by its deadline {} ({} minutes after launch, for what it builds); last phase '{}': {}",
                input.instance.health_deadline.to_rfc3339(),
                (input.instance.health_deadline - input.instance.launched_at).num_minutes(),
                report.phase,
                report.detail
            )));
        }
        if started.elapsed() + interval >= budget {
            instances::set_tags(
                &ctx.clients.ec2,
                &[instance_id.to_string()],
                &[(tags::PHASE, Phase::Building.as_str().into())],
            )
            .await?;
            return Ok(output(HealthStatus::Pending, report, probes));
        }
        tokio::time::sleep(interval).await;
    }
}

/// Puts the boot phase the instance reported on its tag whenever it changes, so the home page
/// shows it within one poll interval. The health step writes it, not the instance: the
/// instance's role may change nothing about itself.
async fn tag_boot_phase(
    ctx: &Ctx,
    instance_id: &str,
    probe: &Probe,
    tagged: &mut String,
) -> Result<()> {
    let report = match probe {
        Probe::Healthy(r) | Probe::NotYet(r) | Probe::Failed(r) => r,
    };
    let healthy = matches!(probe, Probe::Healthy(_));
    if healthy || report.phase.is_empty() || report.phase == "unknown" || report.phase == *tagged {
        return Ok(());
    }
    let since = report
        .phases
        .iter()
        .rev()
        .find(|p| p.phase == report.phase)
        .map(|p| p.start.clone())
        .unwrap_or_default();
    instances::set_tags(
        &ctx.clients.ec2,
        &[instance_id.to_string()],
        &[
            // From the first report on the home page says "building", not "launching".
            (tags::PHASE, Phase::Building.as_str().into()),
            (tags::BOOT_PHASE, report.phase.clone()),
            (tags::BOOT_PHASE_SINCE, since),
        ],
    )
    .await?;
    tagged.clone_from(&report.phase);
    Ok(())
}

fn output(status: HealthStatus, report: Report, probes: u32) -> HealthOutput {
    HealthOutput {
        status,
        phase: report.phase,
        passed: report.passed,
        detail: report.detail,
        probes,
        images: report.images,
        phases: report.phases,
        build_cache: report.build_cache,
        stopped_by: None,
    }
}

/// Runs the health command once and reads its verdict.
pub async fn probe(ssm: &aws_sdk_ssm::Client, instance_id: &str) -> Result<Probe> {
    let sent = ssm
        .send_command()
        .document_name("AWS-RunShellScript")
        .instance_ids(instance_id)
        .parameters("commands", vec![HEALTH_COMMAND.to_string()])
        .timeout_seconds(30)
        .comment("dspace-preview health check")
        .send()
        .await;
    let command_id = match sent {
        Ok(out) => out
            .command()
            .and_then(|c| c.command_id())
            .unwrap_or_default()
            .to_string(),
        // The SSM agent registers a minute or so after boot.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_invalid_instance_id()) =>
        {
            return Ok(not_yet("booting", "the SSM agent has not registered yet"))
        }
        Err(e) => return Err(StepError::from_sdk("ssm:SendCommand", e)),
    };
    let started = Instant::now();
    let mut pause = StdDuration::from_millis(500);
    loop {
        let got = ssm
            .get_command_invocation()
            .command_id(&command_id)
            .instance_id(instance_id)
            .send()
            .await;
        match got {
            Ok(inv) => {
                let stdout = inv.standard_output_content().unwrap_or_default();
                let stderr = inv.standard_error_content().unwrap_or_default();
                match inv.status() {
                    Some(CommandInvocationStatus::Success) => {
                        return Ok(Probe::Healthy(parse_report(stdout, "ready", "")))
                    }
                    Some(CommandInvocationStatus::Failed)
                        if inv.response_code() == EXIT_NOT_YET =>
                    {
                        return Ok(Probe::NotYet(parse_report(stdout, "unknown", stderr)))
                    }
                    Some(CommandInvocationStatus::Failed) => {
                        let mut report = parse_report(stdout, "unknown", stderr);
                        if report.detail.is_empty() {
                            report.detail =
                                format!("health check exited with {}", inv.response_code());
                        }
                        return Ok(Probe::Failed(report));
                    }
                    Some(
                        CommandInvocationStatus::TimedOut
                        | CommandInvocationStatus::Cancelled
                        | CommandInvocationStatus::Cancelling,
                    ) => {
                        return Ok(not_yet(
                            "unknown",
                            "the health check did not finish in time",
                        ))
                    }
                    _ => {}
                }
            }
            // Right after SendCommand the invocation may not be visible yet.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_invocation_does_not_exist()) => {}
            Err(e) => return Err(StepError::from_sdk("ssm:GetCommandInvocation", e)),
        }
        if started.elapsed() > INVOCATION_WAIT {
            return Ok(not_yet("unknown", "the health check is still running"));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(StdDuration::from_secs(5));
    }
}

fn not_yet(phase: &str, detail: &str) -> Probe {
    Probe::NotYet(Report {
        status: "pending".into(),
        phase: phase.into(),
        passed: Vec::new(),
        detail: detail.into(),
        images: RunningImages::default(),
        phases: Vec::new(),
        build_cache: BTreeMap::new(),
    })
}

/// Reads the script's JSON line; anything else becomes the detail text.
pub fn parse_report(stdout: &str, default_phase: &str, stderr: &str) -> Report {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'));
    let mut report = line
        .and_then(|l| serde_json::from_str::<Report>(l).ok())
        .unwrap_or_else(|| Report {
            detail: [stdout.trim(), stderr.trim()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("; "),
            ..Report::default()
        });
    if report.phase.is_empty() {
        report.phase = default_phase.to_string();
    }
    report.detail.truncate(2000);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_json_line() {
        let r = parse_report("noise\n{\"status\":\"pending\",\"phase\":\"building-backend\",\"passed\":[\"db\"],\"detail\":\"mvn\"}\n", "x", "");
        assert_eq!(r.phase, "building-backend");
        assert_eq!(r.passed, vec!["db"]);
    }

    #[test]
    fn reads_which_image_each_side_runs() {
        let line = r#"{"status":"healthy","phase":"ready","passed":[],"detail":"","images":{"backend":{"image":"dspace-preview/dspace:local","built":true,"digest":"","created":"2026-12-02T08:00:00Z","commit":"c0ffee"},"ui":{"image":"docker.io/dspace/dspace-angular:latest-dist","built":false,"digest":"dspace/dspace-angular@sha256:ab","created":"2026-11-30T01:00:00Z","commit":""}}}"#;
        let r = parse_report(line, "x", "");
        let backend = r.images.backend.expect("backend");
        assert!(backend.built);
        assert_eq!(backend.commit, "c0ffee");
        let ui = r.images.ui.expect("ui");
        assert_eq!(ui.digest, "dspace/dspace-angular@sha256:ab");
        assert!(!ui.built);
    }

    #[test]
    fn reads_the_boot_timeline() {
        let line = r#"{"status":"pending","phase":"building-ui","passed":[],"detail":"","phases":[{"phase":"booting","start":"2026-12-02T08:00:00Z","end":"2026-12-02T08:00:30Z","seconds":30},{"phase":"building-ui","start":"2026-12-02T08:02:00Z","end":null,"seconds":600}]}"#;
        let r = parse_report(line, "x", "");
        assert_eq!(r.phases.len(), 2);
        assert_eq!(r.phases[0].end.as_deref(), Some("2026-12-02T08:00:30Z"));
        assert_eq!(r.phases[1].end, None);
        assert_eq!(r.phases[1].seconds, 600);
    }

    #[test]
    fn reads_the_build_cache_outcome() {
        let line = r#"{"status":"pending","phase":"building-ui","passed":[],"detail":"","build_cache":{"backend":"hit","ui":"miss"}}"#;
        let r = parse_report(line, "x", "");
        assert_eq!(r.build_cache[&Side::Backend], CacheStatus::Hit);
        assert_eq!(r.build_cache[&Side::Ui], CacheStatus::Miss);
    }

    #[test]
    fn plain_output_becomes_detail() {
        let r = parse_report("", "unknown", "No such file");
        assert_eq!(r.detail, "No such file");
        assert_eq!(r.phase, "unknown");
    }
}
