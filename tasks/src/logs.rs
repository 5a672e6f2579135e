//! Reading the tail of a preview's logs (boot script and containers) from CloudWatch Logs.

use serde::{Deserialize, Serialize};

use crate::domain::names::Names;
use crate::domain::preview_id::PreviewId;
use crate::error::{Result, StepError};

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// The stream, e.g. `<id>/boot` or `<id>/dspace`.
    pub stream: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// The message.
    pub message: String,
}

/// The last `limit` lines of a preview's streams, oldest first; empty when nothing was logged yet.
pub async fn tail(
    logs: &aws_sdk_cloudwatchlogs::Client,
    names: &Names,
    id: &PreviewId,
    limit: usize,
) -> Result<Vec<LogLine>> {
    let mut lines: Vec<LogLine> = Vec::new();
    let mut next: Option<String> = None;
    // FilterLogEvents pages forward in time; keep only the newest `limit` as we go.
    loop {
        let out = logs
            .filter_log_events()
            .log_group_name(names.log_group())
            .log_stream_name_prefix(names.log_stream_prefix(id))
            .set_next_token(next.take())
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                return Ok(Vec::new())
            }
            Err(e) => return Err(StepError::from_sdk("logs:FilterLogEvents", e)),
        };
        lines.extend(out.events().iter().map(|e| LogLine {
            stream: e.log_stream_name().unwrap_or_default().to_string(),
            timestamp: e.timestamp().unwrap_or_default(),
            message: e.message().unwrap_or_default().trim_end().to_string(),
        }));
        if lines.len() > limit {
            lines.drain(..lines.len() - limit);
        }
        match out.next_token() {
            Some(token) if !out.events().is_empty() => next = Some(token.to_string()),
            _ => break,
        }
    }
    lines.sort_by_key(|l| l.timestamp);
    Ok(lines)
}
