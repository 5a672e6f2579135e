//! Stop requests for previews that are not waiting on a task token (still building, or between
//! two waits): the web app writes one, the health and await-expiry steps act on it.

use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::names::Names;
use crate::domain::preview_id::PreviewId;
use crate::error::{Result, StepError};

/// Who asked for the stop, and when (the parameter's JSON value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopRequest {
    /// The person who pressed Stop or followed the stop link.
    pub by: String,
    /// When they did.
    pub at: DateTime<Utc>,
}

/// Records a stop request; a later one replaces an earlier one (the first is not lost: the
/// audit log names whoever's request the workflow acted on).
pub async fn request(
    ssm: &aws_sdk_ssm::Client,
    names: &Names,
    id: &PreviewId,
    by: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let value = serde_json::to_string(&StopRequest {
        by: by.to_string(),
        at,
    })
    .map_err(|e| StepError::InvalidRequest(e.to_string()))?;
    ssm.put_parameter()
        .name(names.stop_request(id))
        .value(value)
        .r#type(ParameterType::String)
        .overwrite(true)
        .description("dspace-preview: stop asked for while the preview was not waiting")
        .send()
        .await
        .map_err(|e| StepError::from_sdk("ssm:PutParameter (stop request)", e))?;
    Ok(())
}

/// The pending stop request of a preview, if any. An unreadable value still means "stop".
pub async fn pending(
    ssm: &aws_sdk_ssm::Client,
    names: &Names,
    id: &PreviewId,
) -> Result<Option<StopRequest>> {
    let value = crate::parameters::value(ssm, &names.stop_request(id)).await?;
    Ok(value.map(|v| {
        serde_json::from_str(&v).unwrap_or_else(|_| StopRequest {
            by: "unknown".into(),
            at: Utc::now(),
        })
    }))
}
