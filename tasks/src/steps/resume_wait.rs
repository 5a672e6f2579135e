//! Back to the wait after a failed extend or an interrupted wait: the expiry the preview had,
//! with the seconds left counted from now. Pure, so it works through the AWS outage that failed
//! the step before it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::domain::preview_id::PreviewId;
use crate::domain::ttl::seconds_until;
use crate::error::Result;
use crate::step::Step;
use crate::steps::types::{Callback, Expiry, WaitEnded};

/// Input: the expiry in force and how the wait ended (with the error that interrupted it).
#[derive(Debug, Clone, Deserialize)]
pub struct ResumeWaitInput {
    /// The preview id.
    pub preview_id: PreviewId,
    /// The expiry in force before the failure.
    pub expiry: Expiry,
    /// The failed extend, or the error that interrupted the wait (`$.callback`).
    pub ended: WaitEnded,
}

/// Output, written over `$.ready.expiry`: the same expiry, and what the audit log says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumedExpiry {
    /// The unchanged expiry.
    pub expires_at: DateTime<Utc>,
    /// Seconds from now until then (AwaitExpiry's timeout).
    pub seconds_left: u64,
    /// Minutes granted: none.
    pub granted_minutes: i64,
    /// What failed and that the preview keeps its expiry.
    pub note: String,
    /// Who asked for the extend that failed, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// The resume-wait step.
pub struct ResumeWait;

impl Step for ResumeWait {
    const NAME: &'static str = "resume-wait";
    type Input = ResumeWaitInput;
    type Output = ResumedExpiry;
    async fn run(_ctx: &Ctx, input: ResumeWaitInput) -> Result<ResumedExpiry> {
        let resumed = resume(&input, Utc::now());
        tracing::warn!(preview = %input.preview_id, note = %resumed.note, "back to the wait");
        Ok(resumed)
    }
}

/// The resumed expiry at `now` (pure).
pub fn resume(input: &ResumeWaitInput, now: DateTime<Utc>) -> ResumedExpiry {
    let extend = match &input.ended {
        WaitEnded::Callback {
            callback: Callback::Extend { minutes, by },
            ..
        } => Some((*minutes, by.clone())),
        _ => None,
    };
    let what = match &extend {
        Some((minutes, _)) => format!("extending by {minutes} minutes failed"),
        None => "the wait was interrupted".to_string(),
    };
    let (error, reason) = match input.ended.error() {
        Some(e) => (e.error.as_str(), e.reason()),
        None => ("unknown", "no error was recorded".to_string()),
    };
    ResumedExpiry {
        expires_at: input.expiry.expires_at,
        seconds_left: seconds_until(input.expiry.expires_at, now),
        granted_minutes: 0,
        note: format!(
            "{what} ({error}: {reason}); the preview keeps its expiry {}",
            input.expiry.expires_at.to_rfc3339()
        ),
        by: extend.and_then(|(_, by)| by),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn keeps_the_expiry_and_counts_from_now() {
        let input: ResumeWaitInput = serde_json::from_value(json!({
            "preview_id": "dsp-b1-202601010000-0001",
            "expiry": {"expires_at": "2026-11-28T10:00:00Z", "seconds_left": 7200},
            "ended": {"action": "extend", "minutes": 60, "by": "alice",
                "error": {"Error": "AwsError", "Cause": "{\"errorType\":\"AwsError\",\"errorMessage\":\"ec2:CreateTags: dead\"}"}}
        }))
        .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 9, 30, 0).unwrap();
        let r = resume(&input, now);
        assert_eq!(r.seconds_left, 1800);
        assert_eq!(r.granted_minutes, 0);
        assert_eq!(r.by.as_deref(), Some("alice"));
        assert!(
            r.note
                .starts_with("extending by 60 minutes failed (AwsError: ec2:CreateTags: dead)"),
            "{}",
            r.note
        );
        assert!(r
            .note
            .contains("keeps its expiry 2026-11-28T10:00:00+00:00"));
        let late = resume(&input, now + chrono::Duration::hours(1));
        assert_eq!(
            late.seconds_left, 1,
            "past the expiry the wait times out at once"
        );
    }

    #[test]
    fn an_interrupted_wait_names_no_one() {
        let input: ResumeWaitInput = serde_json::from_value(json!({
            "preview_id": "dsp-b1-202601010000-0001",
            "expiry": {"expires_at": "2026-11-28T10:00:00Z", "seconds_left": 7200},
            "ended": {"Error": "States.TaskFailed", "Cause": "boom"}
        }))
        .unwrap();
        let r = resume(&input, Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap());
        assert!(r
            .note
            .starts_with("the wait was interrupted (States.TaskFailed: boom)"));
        assert_eq!(r.by, None);
    }
}
