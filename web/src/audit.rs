//! The audit log and the phase of a preview, derived from its execution history (pure).

use chrono::{DateTime, Utc};
use preview_tasks::steps::health::{HealthOutput, PhaseTiming, RunningImages};
use serde_json::Value;

/// The parts of a Step Functions history event the audit log reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// `ExecutionStarted`, `TaskSucceeded`, …
    pub kind: String,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The state's name (`…StateEntered` events).
    pub state: Option<String>,
    /// Execution input (`ExecutionStarted`).
    pub input: Option<String>,
    /// Task or execution output.
    pub output: Option<String>,
    /// Error name of a failure.
    pub error: Option<String>,
    /// Cause of a failure.
    pub cause: Option<String>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When.
    pub at: DateTime<Utc>,
    /// What happened and who did it.
    pub what: String,
}

fn json(s: &Option<String>) -> Value {
    s.as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// What a request asked for, e.g. `DSpace/DSpace#9876, DSpace/dspace-angular branch main`.
fn describe_sources(request: &Value) -> String {
    let sources: Vec<String> = request
        .get("sources")
        .and_then(Value::as_array)
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let repo = text(s, "repo").unwrap_or("?");
            match (s.get("pr").and_then(Value::as_u64), text(s, "branch")) {
                (Some(n), _) => format!("{repo}#{n}"),
                (None, Some(b)) => format!("{repo} branch {b}"),
                (None, None) => repo.to_string(),
            }
        })
        .collect();
    sources.join(", ")
}

fn failure(e: &Event) -> String {
    match (&e.error, &e.cause) {
        (Some(err), Some(cause)) => format!("{err}: {cause}"),
        (Some(err), None) => err.clone(),
        (None, Some(cause)) => cause.clone(),
        (None, None) => "no cause given".into(),
    }
}

/// Tasks that name a function ARN log `LambdaFunction…` events and service integrations log
/// `Task…` events; the audit reads both alike.
fn task_kind(kind: &str) -> &str {
    match kind {
        "LambdaFunctionSucceeded" => "TaskSucceeded",
        "LambdaFunctionFailed" | "LambdaFunctionStartFailed" | "LambdaFunctionScheduleFailed" => {
            "TaskFailed"
        }
        "LambdaFunctionTimedOut" => "TaskTimedOut",
        other => other,
    }
}

/// The preview's URLs (label, URL) once the RecordUrl step has recorded them.
pub fn urls(events: &[Event]) -> Vec<(&'static str, String)> {
    let mut state = "";
    let mut found = Vec::new();
    for e in events {
        if e.kind.ends_with("StateEntered") {
            state = e.state.as_deref().unwrap_or_default();
        } else if task_kind(&e.kind) == "TaskSucceeded" && state == "RecordUrl" {
            let out = json(&e.output);
            found = [("UI", "ui_url"), ("REST API", "rest_url")]
                .into_iter()
                .filter_map(|(label, key)| {
                    text(&out, key)
                        .or_else(|| out.pointer(&format!("/urls/{key}")).and_then(Value::as_str))
                        .map(|u| (label, u.to_string()))
                })
                .collect();
        }
    }
    found
}

/// The outputs of the health checks, oldest first.
fn health_reports(events: &[Event]) -> Vec<HealthOutput> {
    let mut state = "";
    let mut found = Vec::new();
    for e in events {
        if e.kind.ends_with("StateEntered") {
            state = e.state.as_deref().unwrap_or_default();
        } else if task_kind(&e.kind) == "TaskSucceeded" && state == "CheckHealth" {
            if let Some(h) = e
                .output
                .as_deref()
                .and_then(|o| serde_json::from_str::<HealthOutput>(o).ok())
            {
                found.push(h);
            }
        }
    }
    found
}

/// Which image each side runs, from the latest health check that reported them.
pub fn images(events: &[Event]) -> RunningImages {
    health_reports(events)
        .into_iter()
        .rev()
        .map(|h| h.images)
        .find(|i| !i.is_empty())
        .unwrap_or_default()
}

/// The boot's timeline, from the latest health check that reported one.
pub fn timeline(events: &[Event]) -> Vec<PhaseTiming> {
    health_reports(events)
        .into_iter()
        .rev()
        .map(|h| h.phases)
        .find(|p| !p.is_empty())
        .unwrap_or_default()
}

/// The audit log: launch (by whom, what), ready, each extend and stop (by whom), the TTL
/// running out, failures with their cause, and how the execution ended.
pub fn audit_log(events: &[Event]) -> Vec<Entry> {
    let mut state = String::new();
    let mut log = Vec::new();
    for e in events {
        let what = match task_kind(&e.kind) {
            "ExecutionStarted" => {
                let input = json(&e.input);
                let request = input.get("request").cloned().unwrap_or(Value::Null);
                let who = text(&request, "requester").unwrap_or("someone");
                let ttl = request
                    .get("ttl_minutes")
                    .and_then(Value::as_u64)
                    .map(|m| format!(", TTL {m} minutes"))
                    .unwrap_or_default();
                Some(format!(
                    "launched by {who}: {}{ttl}",
                    describe_sources(&request)
                ))
            }
            kind if kind.ends_with("StateEntered") => {
                state = e.state.clone().unwrap_or_default();
                None
            }
            "TaskSucceeded" if state == "AwaitExpiry" => {
                let out = json(&e.output);
                let by = text(&out, "by").unwrap_or("someone");
                match text(&out, "action") {
                    Some("extend") => Some(format!(
                        "extended by {} minutes by {by}",
                        out.get("minutes").and_then(Value::as_u64).unwrap_or(0)
                    )),
                    Some("stop") => Some(format!("stop requested by {by}")),
                    other => Some(format!("callback '{}' by {by}", other.unwrap_or("?"))),
                }
            }
            "TaskSucceeded" if state == "RecordUrl" => {
                let out = json(&e.output);
                let url = text(&out, "ui_url")
                    .or_else(|| out.pointer("/urls/ui_url").and_then(Value::as_str));
                Some(match url {
                    Some(url) => format!("ready at {url}"),
                    None => "ready".into(),
                })
            }
            "TaskSucceeded" if state == "Terminate" || state == "CleanUpAfterFailure" => {
                let out = json(&e.output);
                let ids: Vec<&str> = out
                    .get("terminated")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                Some(match ids.as_slice() {
                    [] => "nothing left to terminate".to_string(),
                    ids => format!("instance {} terminated", ids.join(", ")),
                })
            }
            "TaskTimedOut" if state == "AwaitExpiry" => Some("the TTL ran out".into()),
            "TaskFailed" | "TaskTimedOut" => Some(format!("step {state} failed: {}", failure(e))),
            "ExecutionSucceeded" => {
                let out = json(&e.output);
                let outcome = text(&out, "outcome").unwrap_or("ended");
                Some(match text(&out, "detail") {
                    Some(detail) => format!("ended ({outcome}): {detail}"),
                    None => format!("ended ({outcome})"),
                })
            }
            "ExecutionFailed" => Some(format!("failed: {}", failure(e))),
            "ExecutionAborted" => Some(format!("aborted through Step Functions: {}", failure(e))),
            "ExecutionTimedOut" => Some("the execution timed out".into()),
            _ => None,
        };
        if let Some(what) = what {
            log.push(Entry { at: e.at, what });
        }
    }
    log
}

/// The phase a history shows: capacity → launching → building → healthy → expiring, then ended
/// or failed.
pub fn phase(events: &[Event]) -> &'static str {
    let mut phase = "capacity";
    for e in events {
        phase = match (e.kind.as_str(), e.state.as_deref()) {
            ("ExecutionSucceeded", _) | ("ExecutionAborted", _) => "ended",
            ("ExecutionFailed", _) | ("ExecutionTimedOut", _) => "failed",
            (k, Some(s)) if k.ends_with("StateEntered") => match s {
                "CheckCapacity" => "capacity",
                "Launch" => "launching",
                "CheckHealth" | "IsHealthy" => "building",
                "RecordUrl" => "healthy",
                "AwaitExpiry" | "OnCallback" | "Extend" => "expiring",
                "Terminate" | "CleanUpAfterFailure" | "Ended" | "Failed" => "ending",
                _ => phase,
            },
            _ => phase,
        };
    }
    phase
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 12, min, 0).unwrap()
    }

    fn ev(kind: &str, min: u32) -> Event {
        Event {
            kind: kind.into(),
            at: at(min),
            ..Default::default()
        }
    }

    fn entered(state: &str, min: u32) -> Event {
        Event {
            state: Some(state.into()),
            ..ev("TaskStateEntered", min)
        }
    }

    fn with_output(mut e: Event, output: &str) -> Event {
        e.output = Some(output.into());
        e
    }

    fn history() -> Vec<Event> {
        vec![
            Event {
                input: Some(r#"{"preview_id":"dsp-b1","request":{"sources":[{"repo":"DSpace/DSpace","pr":9876},{"repo":"DSpace/dspace-angular","branch":"main"}],"requester":"alice","ttl_minutes":60}}"#.into()),
                ..ev("ExecutionStarted", 0)
            },
            entered("CheckCapacity", 0),
            entered("Launch", 1),
            entered("CheckHealth", 2),
            entered("RecordUrl", 20),
            with_output(ev("TaskSucceeded", 20), r#"{"ui_url":"http://x/"}"#),
            entered("AwaitExpiry", 20),
            with_output(ev("TaskSucceeded", 30), r#"{"action":"extend","minutes":30,"by":"bob"}"#),
            entered("Extend", 30),
            entered("AwaitExpiry", 30),
            with_output(ev("TaskSucceeded", 40), r#"{"action":"stop","by":"carol"}"#),
            entered("Terminate", 40),
            with_output(
                ev("LambdaFunctionSucceeded", 41),
                r#"{"outcome":"stopped","terminated":["i-0abc"]}"#,
            ),
            with_output(ev("ExecutionSucceeded", 41), r#"{"outcome":"stopped","detail":"stopped by carol"}"#),
        ]
    }

    #[test]
    fn the_log_names_who_did_what() {
        let log: Vec<String> = audit_log(&history()).into_iter().map(|e| e.what).collect();
        assert_eq!(
            log,
            [
                "launched by alice: DSpace/DSpace#9876, DSpace/dspace-angular branch main, TTL 60 minutes",
                "ready at http://x/",
                "extended by 30 minutes by bob",
                "stop requested by carol",
                "instance i-0abc terminated",
                "ended (stopped): stopped by carol",
            ]
        );
        assert_eq!(audit_log(&history())[2].at, at(30));
    }

    #[test]
    fn failures_carry_their_cause_and_the_ttl_is_named() {
        let events = vec![
            entered("Launch", 1),
            Event {
                error: Some("LaunchFailed".into()),
                cause: Some("no AMI".into()),
                ..ev("TaskFailed", 2)
            },
            entered("AwaitExpiry", 3),
            ev("TaskTimedOut", 4),
            Event {
                error: Some("HealthCheckFailed".into()),
                cause: Some("deadline".into()),
                ..ev("ExecutionFailed", 5)
            },
        ];
        let log: Vec<String> = audit_log(&events).into_iter().map(|e| e.what).collect();
        assert_eq!(
            log,
            [
                "step Launch failed: LaunchFailed: no AMI",
                "the TTL ran out",
                "failed: HealthCheckFailed: deadline",
            ]
        );
    }

    #[test]
    fn images_come_from_the_latest_health_report_that_has_them() {
        let health = |images: &str| {
            with_output(
                ev("TaskSucceeded", 12),
                &format!(
                    r#"{{"status":"pending","phase":"starting","passed":[],"detail":"","probes":1{images}}}"#
                ),
            )
        };
        let events = vec![
            entered("CheckHealth", 10),
            health(
                r#","images":{"backend":{"image":"dspace-preview/dspace:local","built":true,"commit":"c0ffee"}}"#,
            ),
            entered("CheckHealth", 20),
            health(""),
        ];
        let images = images(&events);
        assert_eq!(images.backend.expect("backend").commit, "c0ffee");
        assert!(images.ui.is_none());
        assert!(super::images(&history()).is_empty());
    }

    #[test]
    fn the_timeline_is_the_latest_reported() {
        let health = |phases: &str| {
            with_output(
                ev("TaskSucceeded", 12),
                &format!(
                    r#"{{"status":"pending","phase":"x","passed":[],"detail":"","probes":1,"phases":{phases}}}"#
                ),
            )
        };
        let events = vec![
            entered("CheckHealth", 10),
            health(
                r#"[{"phase":"booting","start":"2026-11-28T12:10:00Z","end":null,"seconds":5}]"#,
            ),
            entered("CheckHealth", 20),
            health(
                r#"[{"phase":"booting","start":"2026-11-28T12:10:00Z","end":"2026-11-28T12:11:00Z","seconds":60},{"phase":"fetching","start":"2026-11-28T12:11:00Z","end":null,"seconds":30}]"#,
            ),
        ];
        let t = timeline(&events);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].seconds, 60);
        assert!(timeline(&history()).is_empty());
    }

    #[test]
    fn phases_follow_the_states() {
        let h = history();
        assert_eq!(phase(&h[..2]), "capacity");
        assert_eq!(phase(&h[..3]), "launching");
        assert_eq!(phase(&h[..4]), "building");
        assert_eq!(phase(&h[..7]), "expiring");
        assert_eq!(phase(&h), "ended");
        assert_eq!(phase(&[]), "capacity");
    }

    #[test]
    fn lambda_function_events_read_like_task_events() {
        let h = vec![
            entered("RecordUrl", 20),
            with_output(
                ev("LambdaFunctionSucceeded", 20),
                r#"{"ui_url":"http://x/","rest_url":"http://x/server"}"#,
            ),
            entered("Launch", 21),
            Event {
                error: Some("Throttled".into()),
                cause: Some("slow down".into()),
                ..ev("LambdaFunctionFailed", 21)
            },
        ];
        let log: Vec<String> = audit_log(&h).into_iter().map(|e| e.what).collect();
        assert_eq!(
            log,
            [
                "ready at http://x/",
                "step Launch failed: Throttled: slow down"
            ]
        );
        assert_eq!(
            urls(&h),
            [
                ("UI", "http://x/".to_string()),
                ("REST API", "http://x/server".to_string())
            ]
        );
        assert!(urls(&history()[..4]).is_empty());
    }
}
