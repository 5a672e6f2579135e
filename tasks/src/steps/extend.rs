//! Extend: move the expiry later, never past the hard maximum lifetime.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::domain::preview_id::PreviewId;
use crate::domain::tags;
use crate::domain::ttl::seconds_until;
use crate::error::{Result, StepError};
use crate::instances;
use crate::step::Step;
use crate::steps::types::{Callback, Expiry, LaunchedInstance};

/// Input: the instance, the current expiry and the callback that asked.
#[derive(Debug, Clone, Deserialize)]
pub struct ExtendInput {
    /// The preview id.
    pub preview_id: PreviewId,
    /// The instance (for its launch time).
    pub instance: LaunchedInstance,
    /// The expiry in force.
    pub expiry: Expiry,
    /// The extend callback.
    pub callback: Callback,
}

/// Output: the new expiry, written over `$.ready.expiry`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtendOutput {
    /// New expiry.
    pub expires_at: DateTime<Utc>,
    /// Seconds until then.
    pub seconds_left: u64,
    /// Minutes granted.
    pub granted_minutes: i64,
    /// True when the hard maximum cut it short.
    pub capped: bool,
    /// Who extended.
    pub by: String,
    /// Why nothing was granted, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The extend step.
pub struct Extend;

impl Step for Extend {
    const NAME: &'static str = "extend";
    type Input = ExtendInput;
    type Output = ExtendOutput;
    async fn run(ctx: &Ctx, input: ExtendInput) -> Result<ExtendOutput> {
        extend(ctx, input).await
    }
}

/// Computes and tags the new expiry. A bad extend never ends the preview: it keeps the old expiry.
pub async fn extend(ctx: &Ctx, input: ExtendInput) -> Result<ExtendOutput> {
    let config = ctx.config().await?;
    let now = Utc::now();
    let current = input.expiry.expires_at;
    let Callback::Extend { minutes, by } = &input.callback else {
        return Err(StepError::InvalidRequest(
            "Extend was handed a stop callback; OnCallback routes only extends here".into(),
        ));
    };
    let (minutes, by) = (*minutes, by.clone().unwrap_or_else(|| "unknown".into()));
    let (expires_at, granted_minutes, capped, note) =
        match config
            .lifetime()
            .extend(input.instance.launched_at, current, now, minutes)
        {
            Ok(e) => (e.expires_at, e.granted_minutes, e.capped, None),
            Err(why) => (current, 0, false, Some(why)),
        };
    instances::set_tags(
        &ctx.clients.ec2,
        std::slice::from_ref(&input.instance.instance_id),
        &[(tags::EXPIRES_AT, expires_at.to_rfc3339())],
    )
    .await?;
    tracing::info!(preview = %input.preview_id, %by, granted_minutes, capped, "extended");
    Ok(ExtendOutput {
        expires_at,
        seconds_left: seconds_until(expires_at, now),
        granted_minutes,
        capped,
        by,
        note,
    })
}
