//! Reading the tail of a preview's logs (boot script and containers) from CloudWatch Logs, and
//! appending lines (the local stand-in for an instance, and tests).

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
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

/// The last `limit` lines across a preview's streams, oldest first; empty when nothing was logged yet.
///
/// One DescribeLogStreams plus one backwards GetLogEvents per stream: reads only the tail, however
/// long the build log grew.
pub async fn tail(
    logs: &aws_sdk_cloudwatchlogs::Client,
    names: &Names,
    id: &PreviewId,
    limit: usize,
) -> Result<Vec<LogLine>> {
    let streams = match logs
        .describe_log_streams()
        .log_group_name(names.log_group())
        .log_stream_name_prefix(names.log_stream_prefix(id))
        .send()
        .await
    {
        Ok(out) => out
            .log_streams()
            .iter()
            .filter_map(|s| s.log_stream_name().map(str::to_string))
            .collect::<Vec<_>>(),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(Vec::new())
        }
        Err(e) => return Err(StepError::from_sdk("logs:DescribeLogStreams", e)),
    };
    let per_stream = i32::try_from(limit.min(10_000)).unwrap_or(10_000);
    let mut lines = Vec::new();
    for stream in streams {
        let out = logs
            .get_log_events()
            .log_group_name(names.log_group())
            .log_stream_name(&stream)
            .start_from_head(false)
            .limit(per_stream)
            .send()
            .await
            .map_err(|e| StepError::from_sdk("logs:GetLogEvents", e))?;
        lines.extend(out.events().iter().map(|e| LogLine {
            stream: stream.clone(),
            timestamp: e.timestamp().unwrap_or_default(),
            message: e.message().unwrap_or_default().trim_end().to_string(),
        }));
    }
    lines.sort_by_key(|l| l.timestamp);
    if lines.len() > limit {
        lines.drain(..lines.len() - limit);
    }
    Ok(lines)
}

/// Appends `lines` to a stream of the previews' log group, creating the stream if needed; the
/// lines get consecutive millisecond timestamps from now.
pub async fn append(
    logs: &aws_sdk_cloudwatchlogs::Client,
    names: &Names,
    stream: &str,
    lines: &[String],
) -> Result<()> {
    let group = names.log_group();
    if let Err(e) = logs
        .create_log_stream()
        .log_group_name(&group)
        .log_stream_name(stream)
        .send()
        .await
    {
        if !e
            .as_service_error()
            .is_some_and(|s| s.is_resource_already_exists_exception())
        {
            return Err(StepError::from_sdk("logs:CreateLogStream", e));
        }
    }
    let now = chrono::Utc::now().timestamp_millis();
    let events: Vec<InputLogEvent> = lines
        .iter()
        .zip(now..)
        .filter_map(|(line, at)| {
            InputLogEvent::builder()
                .timestamp(at)
                .message(line)
                .build()
                .ok()
        })
        .collect();
    logs.put_log_events()
        .log_group_name(&group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .map_err(|e| StepError::from_sdk("logs:PutLogEvents", e))?;
    Ok(())
}
