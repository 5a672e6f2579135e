//! The audit log and the phase of a preview, derived from its execution history (pure).

use chrono::{DateTime, Utc};
use preview_tasks::domain::phase::Phase;
use preview_tasks::domain::request::{ExecutionInput, SourceInput};
use preview_tasks::domain::states;
use preview_tasks::steps::extend::ExtendOutput;
use preview_tasks::steps::health::{HealthOutput, HealthStatus, PhaseTiming, RunningImages};
use preview_tasks::steps::resume_wait::ResumedExpiry;
use preview_tasks::steps::terminate::Summary;
use preview_tasks::steps::types::{Callback, CaughtError, Ready};
use serde::de::DeserializeOwned;

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

/// A task's or execution's output read as the step's own output type; `None` when there is none
/// or it has another shape (a history written by another version).
fn parsed<T: DeserializeOwned>(raw: &Option<String>) -> Option<T> {
    raw.as_deref().and_then(|o| serde_json::from_str(o).ok())
}

/// What a request asked for, e.g. `DSpace/DSpace#9876, DSpace/dspace-angular branch main`.
fn describe_sources(sources: &[SourceInput]) -> String {
    let sources: Vec<String> = sources
        .iter()
        .map(|s| {
            let repo = &s.repo;
            match (s.pr, s.branch.as_deref().filter(|b| !b.is_empty())) {
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

/// The outputs of every successful task of `state`, oldest first, as that step's output type.
fn outputs_of<T: DeserializeOwned>(events: &[Event], state: &str) -> Vec<T> {
    let mut current = "";
    let mut found = Vec::new();
    for e in events {
        if e.kind.ends_with("StateEntered") {
            current = e.state.as_deref().unwrap_or_default();
        } else if task_kind(&e.kind) == "TaskSucceeded" && current == state {
            found.extend(parsed::<T>(&e.output));
        }
    }
    found
}

/// The preview's URLs (label, URL) once the RecordUrl step has recorded them.
pub fn urls(events: &[Event]) -> Vec<(&'static str, String)> {
    outputs_of::<Ready>(events, states::RECORD_URL)
        .pop()
        .map(|r| vec![("UI", r.ui_url), ("REST API", r.rest_url)])
        .unwrap_or_default()
}

/// The outputs of the health checks, oldest first.
fn health_reports(events: &[Event]) -> Vec<HealthOutput> {
    outputs_of(events, states::CHECK_HEALTH)
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
    let mut asked = None;
    let mut log = Vec::new();
    for e in events {
        let what = match task_kind(&e.kind) {
            "ExecutionStarted" => Some(match parsed::<ExecutionInput>(&e.input) {
                Some(ExecutionInput { request, .. }) => {
                    let who = Some(request.requester.as_str())
                        .filter(|r| !r.is_empty())
                        .unwrap_or("someone");
                    let ttl = request
                        .ttl_minutes
                        .map(|m| format!(", TTL {m} minutes"))
                        .unwrap_or_default();
                    format!(
                        "launched by {who}: {}{ttl}",
                        describe_sources(&request.sources)
                    )
                }
                None => "launched (with an input this version cannot read)".into(),
            }),
            kind if kind.ends_with("StateEntered") => {
                state = e.state.clone().unwrap_or_default();
                None
            }
            "TaskSucceeded" if state == states::AWAIT_EXPIRY => {
                match parsed::<Callback>(&e.output) {
                    // The Extend step's result says what was granted; the request is kept for it.
                    Some(Callback::Extend { minutes, .. }) => {
                        asked = Some(u64::from(minutes));
                        None
                    }
                    Some(stop @ Callback::Stop { .. }) => Some(format!(
                        "stop requested by {}",
                        stop.by().unwrap_or("someone")
                    )),
                    None => Some("a callback this version cannot read (treated as a stop)".into()),
                }
            }
            "TaskSucceeded" if state == states::EXTEND => {
                parsed::<ExtendOutput>(&e.output).map(|out| extend_text(&out, asked.take()))
            }
            "TaskSucceeded" if state == states::CHECK_HEALTH => parsed::<HealthOutput>(&e.output)
                .filter(|h| h.status == HealthStatus::Stopped)
                .map(|h| {
                    format!(
                        "stopped by {} while building",
                        h.stopped_by.as_deref().unwrap_or("someone")
                    )
                }),
            "TaskSucceeded" if state == states::RECORD_URL => {
                Some(match parsed::<Ready>(&e.output) {
                    Some(ready) => format!("ready at {}", ready.ui_url),
                    None => "ready".into(),
                })
            }
            "TaskSucceeded" if state == states::RESUME_WAIT => Some(
                parsed::<ResumedExpiry>(&e.output)
                    .map(|r| r.note)
                    .unwrap_or_else(|| "back to the wait, expiry unchanged".into()),
            ),
            "TaskSucceeded"
                if matches!(
                    state.as_str(),
                    states::TERMINATE
                        | states::CLEAN_UP_AFTER_FAILURE
                        | states::STOP_WHILE_BUILDING
                        | states::RELEASE_SLOT
                ) =>
            {
                let ids = parsed::<Summary>(&e.output)
                    .map(|s| s.terminated)
                    .unwrap_or_default();
                Some(match ids.as_slice() {
                    [] => "nothing left to terminate".to_string(),
                    ids => format!("instance {} terminated", ids.join(", ")),
                })
            }
            "TaskTimedOut" if state == states::AWAIT_EXPIRY => Some("the TTL ran out".into()),
            "TaskFailed" | "TaskTimedOut" => Some(format!("step {state} failed: {}", failure(e))),
            "ExecutionSucceeded" => Some(match parsed::<Summary>(&e.output) {
                Some(Summary {
                    outcome, detail, ..
                }) if !detail.is_empty() => format!("ended ({outcome}): {detail}"),
                Some(Summary { outcome, .. }) => format!("ended ({outcome})"),
                None => "ended".into(),
            }),
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

/// Who launched the preview: the execution input's requester (empty when unknown).
pub fn requester(events: &[Event]) -> String {
    execution_input(events)
        .map(|i| i.request.requester)
        .unwrap_or_default()
}

/// The audit log with lines recorded outside the history (password reveals) put in time order;
/// lines at the same moment keep the history's first.
pub fn merged(mut log: Vec<Entry>, extra: Vec<Entry>) -> Vec<Entry> {
    log.extend(extra);
    log.sort_by_key(|e| e.at);
    log
}

/// What an extend achieved, in words: the minutes actually granted, and whether the maximum
/// lifetime cut the request short (`asked` minutes, when known).
pub fn extend_text(out: &ExtendOutput, asked: Option<u64>) -> String {
    let by = &out.by;
    let asked_for = asked
        .map(|m| format!("asked for {m}; "))
        .unwrap_or_default();
    match (out.granted_minutes, out.capped, out.note.as_deref()) {
        (g, false, _) if g > 0 => format!("extended by {g} minutes by {by}"),
        (g, true, _) if g > 0 => {
            format!("extended by {g} minutes by {by} ({asked_for}capped by the maximum lifetime)")
        }
        (_, _, Some(note)) => format!("not extended (asked by {by}): {note}"),
        (_, true, None) => format!(
            "not extended (asked by {by}; {asked_for}the preview has reached its maximum lifetime)"
        ),
        _ => format!("not extended (asked by {by})"),
    }
}

/// The results of the Extend step, oldest first.
pub fn extends(events: &[Event]) -> Vec<ExtendOutput> {
    outputs_of(events, states::EXTEND)
}

/// The execution's input (what was asked, by whom), when the history has it.
pub fn execution_input(events: &[Event]) -> Option<ExecutionInput> {
    events
        .iter()
        .find(|e| e.kind == "ExecutionStarted")
        .and_then(|e| parsed::<ExecutionInput>(&e.input))
}

/// The preview's current expiry: the last extend's, else the one RecordUrl set.
pub fn expiry(events: &[Event]) -> Option<DateTime<Utc>> {
    let first = outputs_of::<Ready>(events, states::RECORD_URL)
        .pop()
        .map(|r| r.expiry.expires_at);
    extends(events).pop().map(|e| e.expires_at).or(first)
}

/// What the capacity check of a preview answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capacity {
    /// It took a slot.
    Took,
    /// It refused: the error name (`NoFreeSlot`, `InvalidRequest`, …) and its message.
    Refused {
        /// The error name.
        error: String,
        /// What the step said.
        message: String,
    },
    /// No answer yet.
    Undecided,
}

/// The capacity check's answer in a history, once there is one: it took a slot when its task
/// succeeded; it refused when it failed and the workflow moved on (a Catch, or the end of the
/// execution) instead of retrying.
pub fn capacity(events: &[Event]) -> Option<Capacity> {
    let mut state = "";
    let mut failed: Option<&Event> = None;
    let refusal = |e: &Event| {
        let error = e.error.clone().unwrap_or_else(|| e.kind.clone());
        // A Lambda's cause is its `{"errorType", "errorMessage"}`; show the message.
        let message = CaughtError {
            error: error.clone(),
            cause: e.cause.clone().unwrap_or_default(),
        }
        .reason();
        Capacity::Refused { error, message }
    };
    for e in events {
        match task_kind(&e.kind) {
            kind if kind.ends_with("StateEntered") => {
                let next = e.state.as_deref().unwrap_or_default();
                if state == states::CHECK_CAPACITY && next != states::CHECK_CAPACITY {
                    return Some(failed.map_or(Capacity::Took, refusal));
                }
                state = next;
            }
            "TaskSucceeded" if state == states::CHECK_CAPACITY => return Some(Capacity::Took),
            "TaskFailed" | "TaskTimedOut" if state == states::CHECK_CAPACITY => failed = Some(e),
            "ExecutionFailed" | "ExecutionAborted" | "ExecutionTimedOut" => {
                return Some(refusal(failed.unwrap_or(e)))
            }
            _ => {}
        }
    }
    None
}

/// The phase a history shows: capacity → launching → building → healthy → expiring, then ending
/// and ended or failed.
pub fn phase(events: &[Event]) -> Phase {
    let mut phase = Phase::Capacity;
    for e in events {
        phase = match (e.kind.as_str(), e.state.as_deref()) {
            ("ExecutionSucceeded", _) | ("ExecutionAborted", _) => Phase::Ended,
            ("ExecutionFailed", _) | ("ExecutionTimedOut", _) => Phase::Failed,
            (k, Some(s)) if k.ends_with("StateEntered") => Phase::of_state(s).unwrap_or(phase),
            _ => phase,
        };
    }
    phase
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

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

    /// RecordUrl's output, as the step writes it.
    fn ready_output() -> String {
        serde_json::to_string(&Ready {
            public_dns: "x".into(),
            ui_url: "http://x/".into(),
            rest_url: "http://x/server".into(),
            ready_at: at(20),
            expiry: preview_tasks::steps::types::Expiry {
                expires_at: at(59),
                seconds_left: 3600,
            },
        })
        .unwrap()
    }

    /// Terminate's output (also the execution's), as the step writes it.
    fn summary_output(detail: &str, terminated: &[&str]) -> String {
        serde_json::to_string(&Summary {
            preview_id: preview_tasks::domain::preview_id::PreviewId::parse(
                "dsp-b1-202611281200-0001",
            )
            .unwrap(),
            outcome: preview_tasks::steps::terminate::Outcome::Stopped,
            detail: detail.into(),
            instance_id: Some("i-0abc".into()),
            ui_url: None,
            rest_url: None,
            launched_at: None,
            ready_at: None,
            ended_at: at(41),
            terminated: terminated.iter().map(|s| s.to_string()).collect(),
            released_slots: Vec::new(),
        })
        .unwrap()
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
            with_output(ev("TaskSucceeded", 20), &ready_output()),
            entered("AwaitExpiry", 20),
            with_output(ev("TaskSucceeded", 30), r#"{"action":"extend","minutes":30,"by":"bob"}"#),
            entered("Extend", 30),
            with_output(
                ev("TaskSucceeded", 30),
                r#"{"expires_at":"2026-11-28T13:50:00Z","seconds_left":4800,"granted_minutes":30,"capped":false,"by":"bob"}"#,
            ),
            entered("AwaitExpiry", 30),
            with_output(ev("TaskSucceeded", 40), r#"{"action":"stop","by":"carol"}"#),
            entered("Terminate", 40),
            with_output(
                ev("LambdaFunctionSucceeded", 41),
                &summary_output("stopped by carol", &["i-0abc"]),
            ),
            with_output(
                ev("ExecutionSucceeded", 41),
                &summary_output("stopped by carol", &["i-0abc"]),
            ),
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
    fn the_requester_comes_from_the_input_and_reveals_fall_in_time_order() {
        assert_eq!(requester(&history()), "alice");
        assert_eq!(requester(&history()[1..]), "");
        let reveal = Entry {
            at: at(25),
            what: "@octo showed the admin password".into(),
        };
        let log: Vec<String> = merged(audit_log(&history()), vec![reveal])
            .into_iter()
            .map(|e| e.what)
            .collect();
        assert_eq!(
            log[1..4],
            [
                "ready at http://x/",
                "@octo showed the admin password",
                "extended by 30 minutes by bob"
            ]
        );
    }

    fn extend_output(granted: i64, capped: bool, note: Option<&str>) -> ExtendOutput {
        ExtendOutput {
            expires_at: at(50),
            seconds_left: 60,
            granted_minutes: granted,
            capped,
            by: "bob".into(),
            note: note.map(String::from),
        }
    }

    #[test]
    fn extends_say_what_was_granted_and_when_the_cap_hit() {
        let events = vec![
            entered("AwaitExpiry", 20),
            with_output(
                ev("TaskSucceeded", 30),
                r#"{"action":"extend","minutes":60,"by":"bob"}"#,
            ),
            entered("Extend", 30),
            with_output(
                ev("TaskSucceeded", 30),
                &serde_json::to_string(&extend_output(0, true, None)).unwrap(),
            ),
        ];
        let log: Vec<String> = audit_log(&events).into_iter().map(|e| e.what).collect();
        assert_eq!(
            log,
            ["not extended (asked by bob; asked for 60; the preview has reached its maximum lifetime)"]
        );
        assert_eq!(extends(&events), [extend_output(0, true, None)]);
        assert_eq!(
            extend_text(&extend_output(20, true, None), Some(60)),
            "extended by 20 minutes by bob (asked for 60; capped by the maximum lifetime)"
        );
        assert_eq!(
            extend_text(
                &extend_output(0, false, Some("extend by 30 or 60 minutes, not 5")),
                None
            ),
            "not extended (asked by bob): extend by 30 or 60 minutes, not 5"
        );
    }

    #[test]
    fn a_failed_extend_says_the_preview_kept_its_expiry() {
        let note = "extending by 60 minutes failed (AwsError: dead); the preview keeps its expiry 2026-11-28T10:00:00+00:00";
        let events = vec![
            entered("Extend", 30),
            ev("TaskFailed", 33),
            entered("ResumeWait", 33),
            with_output(
                ev("TaskSucceeded", 33),
                &json!({"expires_at": "2026-11-28T10:00:00Z", "seconds_left": 60, "granted_minutes": 0, "note": note, "by": "bob"}).to_string(),
            ),
            entered("AwaitExpiry", 33),
        ];
        let log: Vec<String> = audit_log(&events).into_iter().map(|e| e.what).collect();
        assert!(log.iter().any(|l| l == note), "{log:?}");
        assert_eq!(phase(&events), Phase::Expiring);
    }

    #[test]
    fn the_capacity_answer_is_read_from_the_history() {
        let started = ev("ExecutionStarted", 0);
        assert_eq!(
            capacity(&[started.clone(), entered("CheckCapacity", 0)]),
            None
        );
        let took = [
            entered("CheckCapacity", 0),
            with_output(ev("LambdaFunctionSucceeded", 0), r#"{"slot":1}"#),
        ];
        assert_eq!(capacity(&took), Some(Capacity::Took));
        assert_eq!(
            capacity(&[entered("CheckCapacity", 0), entered("Launch", 0)]),
            Some(Capacity::Took)
        );
        let no_slot = Capacity::Refused {
            error: "NoFreeSlot".into(),
            message: "all 3 slots are in use".into(),
        };
        let failed = Event {
            error: Some("NoFreeSlot".into()),
            cause: Some(
                r#"{"errorType":"NoFreeSlot","errorMessage":"all 3 slots are in use"}"#.into(),
            ),
            ..ev("LambdaFunctionFailed", 0)
        };
        // Caught: the workflow moves on to clean up.
        let caught = [
            entered("CheckCapacity", 0),
            failed.clone(),
            entered("ReleaseSlot", 0),
        ];
        assert_eq!(capacity(&caught), Some(no_slot.clone()));
        // Retried: not decided yet.
        assert_eq!(capacity(&caught[..2]), None);
        let ended = [
            entered("CheckCapacity", 0),
            Event {
                error: Some("NoFreeSlot".into()),
                cause: Some("all 3 slots are in use".into()),
                ..ev("ExecutionFailed", 0)
            },
        ];
        assert_eq!(capacity(&ended), Some(no_slot));
    }

    #[test]
    fn a_stop_while_building_names_who_stopped() {
        let events = vec![
            entered("CheckHealth", 5),
            with_output(
                ev("TaskSucceeded", 6),
                r#"{"status":"stopped","stopped_by":"carol","phase":"building","passed":[],"detail":"","probes":1}"#,
            ),
        ];
        let log: Vec<String> = audit_log(&events).into_iter().map(|e| e.what).collect();
        assert_eq!(log, ["stopped by carol while building"]);
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
        assert_eq!(phase(&h[..2]), Phase::Capacity);
        assert_eq!(phase(&h[..3]), Phase::Launching);
        assert_eq!(phase(&h[..4]), Phase::Building);
        assert_eq!(phase(&h[..7]), Phase::Expiring);
        assert_eq!(phase(&h), Phase::Ended);
        assert_eq!(phase(&[]), Phase::Capacity);
    }

    #[test]
    fn lambda_function_events_read_like_task_events() {
        let h = vec![
            entered("RecordUrl", 20),
            with_output(ev("LambdaFunctionSucceeded", 20), &ready_output()),
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
