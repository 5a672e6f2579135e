//! How long each finished preview took from Launch to its URL. An ended execution's output never
//! changes, so each is read once per process (DescribeExecution) and remembered: the home page
//! pays at most one call per newly finished preview, never one per page view.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use futures::future::join_all;

use crate::workflow::PastPreview;

/// Per execution ARN: when it became ready (`None`: it never did).
#[derive(Debug, Default)]
pub struct TimeToUrl {
    known: Mutex<HashMap<String, Option<DateTime<Utc>>>>,
}

impl TimeToUrl {
    /// Sets `ready_at` on the previews that ended through Terminate (their output is its summary).
    pub async fn fill(
        &self,
        sfn: &aws_sdk_sfn::Client,
        past: &mut [PastPreview],
        arn_of: impl Fn(&str) -> String,
    ) {
        let unknown: Vec<String> = past
            .iter()
            .map(|p| arn_of(&p.id))
            .filter(|arn| !self.lock().contains_key(arn))
            .collect();
        let found = join_all(unknown.into_iter().map(|arn| async move {
            let out = sfn.describe_execution().execution_arn(&arn).send().await;
            match out {
                Ok(out) => Some((arn, ready_at(out.output()))),
                // Not remembered: the next page view asks again.
                Err(e) => {
                    tracing::warn!(error = %e, %arn, "time to URL not read");
                    None
                }
            }
        }))
        .await;
        let mut known = self.lock();
        known.extend(found.into_iter().flatten());
        for p in past {
            p.ready_at = known.get(&arn_of(&p.id)).copied().flatten();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<DateTime<Utc>>>> {
        self.known
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `ready_at` of Terminate's summary (the execution output), if it has one.
fn ready_at(output: Option<&str>) -> Option<DateTime<Utc>> {
    let output: serde_json::Value = serde_json::from_str(output?).ok()?;
    output["ready_at"].as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_at_comes_from_the_summary() {
        assert_eq!(
            ready_at(Some(
                r#"{"outcome":"expired","ready_at":"2026-12-02T10:21:00Z"}"#
            )),
            "2026-12-02T10:21:00Z".parse().ok()
        );
        assert_eq!(
            ready_at(Some(r#"{"outcome":"failed","ready_at":null}"#)),
            None
        );
        assert_eq!(ready_at(None), None);
    }
}
