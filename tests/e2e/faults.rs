//! Fault tests: the real ASL and steps on the local engine, with AWS (moto) behind a
//! fault-injecting proxy, the clock virtual. An outage of two minutes or more during any step
//! ends with the preview alive or cleanly terminated, and nothing left behind.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

use chrono::{DateTime, Duration, Utc};
use preview_e2e::{states_entered, Harness};
use preview_statemachine::{Clock, ExecutionStatus, HistoryEvent};
use preview_tasks::domain::tags;
use preview_tasks::instances::{self, ALIVE_STATES};
use serde_json::{json, Value};

/// How long AWS stays down in these tests (the steps must ride out at least two minutes).
const OUTAGE: i64 = 125;

fn waiting(n: usize) -> impl Fn(&[HistoryEvent]) -> bool {
    move |h: &[HistoryEvent]| h.iter().filter(|e| e.event_type == "TaskSubmitted").count() >= n
}

/// A `tick` for [`Harness::drive`] that brings AWS back `seconds` of engine time after it died.
fn revive_after(seconds: i64) -> impl FnMut(&Harness) {
    let mut died: Option<DateTime<Utc>> = None;
    move |h: &Harness| {
        let proxy = h.proxy.as_ref().expect("a proxied harness");
        if !proxy.is_dead() {
            return;
        }
        let since = *died.get_or_insert_with(|| h.clock.now());
        if h.clock.now() - since >= Duration::seconds(seconds) {
            proxy.set_dead(false);
        }
    }
}

fn failures_in(history: &[HistoryEvent], state: &str) -> usize {
    let mut current = String::new();
    let mut n = 0;
    for e in history {
        if let Some(name) = e.details.get("name").and_then(Value::as_str) {
            if e.event_type.ends_with("StateEntered") {
                current = name.to_string();
            }
        }
        if e.event_type == "LambdaFunctionFailed" && current == state {
            n += 1;
        }
    }
    n
}

fn output(d: &preview_statemachine::ExecutionDescription) -> Value {
    serde_json::from_str(d.output.as_deref().unwrap_or("null")).unwrap()
}

/// Stops a waiting preview as the web app does and runs it to its end: nothing may be left.
async fn stop_and_check_clean(
    h: &Harness,
    arn: &str,
    id: &preview_tasks::domain::preview_id::PreviewId,
) {
    h.callback(id, json!({"action": "stop", "by": "tester"}))
        .await;
    let done = h.run_to_end(arn, Duration::seconds(10)).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(output(&done)["outcome"], "stopped");
    assert_eq!(
        h.leftovers().await,
        (0, 0, 0),
        "instances, slots, parameters"
    );
}

#[tokio::test]
async fn two_dead_minutes_during_the_capacity_check_only_delay_the_preview() {
    let h = Harness::proxied(3).await;
    h.proxy.as_ref().unwrap().set_dead(true);
    let (arn, id) = h.start(101);
    let history = h
        .drive(&arn, Duration::seconds(5), revive_after(OUTAGE), waiting(1))
        .await;
    assert!(
        failures_in(&history, "CheckCapacity") >= 5,
        "{:?}",
        states_entered(&history)
    );
    assert!(h.proxy.as_ref().unwrap().refused() > 0);
    assert_eq!(
        h.engine.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Running
    );
    assert_eq!(h.alive().await, 1);
    stop_and_check_clean(&h, &arn, &id).await;
}

#[tokio::test]
async fn two_dead_minutes_during_the_health_check_only_delay_the_preview() {
    let h = Harness::proxied(3).await;
    h.proxy.as_ref().unwrap().die_on("SendCommand");
    let (arn, id) = h.start(102);
    let history = h
        .drive(&arn, Duration::seconds(5), revive_after(OUTAGE), waiting(1))
        .await;
    assert!(
        failures_in(&history, "CheckHealth") >= 5,
        "{:?}",
        states_entered(&history)
    );
    assert!(!states_entered(&history).contains(&"CleanUpAfterFailure".to_string()));
    assert_eq!(h.alive().await, 1);
    stop_and_check_clean(&h, &arn, &id).await;
}

#[tokio::test]
async fn an_extend_during_four_dead_minutes_returns_to_the_wait_with_the_old_expiry() {
    let h = Harness::proxied(3).await;
    let (arn, id) = h.start(103);
    h.parked(&arn, 1).await;
    let instance = instances::find(&h.ctx.clients.ec2, &h.ctx.base.stack, &ALIVE_STATES, &[])
        .await
        .unwrap()
        .remove(0);
    let expiry_before = instances::tag(&instance, tags::EXPIRES_AT)
        .unwrap()
        .to_string();
    h.proxy.as_ref().unwrap().set_dead(true);
    h.callback(&id, json!({"action": "extend", "minutes": 60, "by": "bob"}))
        .await;
    let history = h
        .drive(
            &arn,
            Duration::seconds(5),
            revive_after(2 * OUTAGE),
            waiting(2),
        )
        .await;
    let entered = states_entered(&history);
    assert!(
        entered.ends_with(&["Extend".into(), "ResumeWait".into(), "AwaitExpiry".into()])
            || entered.contains(&"ResumeWait".to_string()),
        "{entered:?}"
    );
    let note = resumed_without_clean_up(&history);
    assert!(note.contains("extending by 60 minutes failed"), "{note}");
    assert!(note.contains("\"by\":\"bob\""), "{note}");
    let instance = instances::find(&h.ctx.clients.ec2, &h.ctx.base.stack, &ALIVE_STATES, &[])
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        instances::tag(&instance, tags::EXPIRES_AT),
        Some(expiry_before.as_str()),
        "the preview keeps its expiry"
    );
    stop_and_check_clean(&h, &arn, &id).await;
}

#[tokio::test]
async fn two_dead_minutes_during_terminate_still_end_everything() {
    let h = Harness::proxied(3).await;
    let (arn, id) = h.start(104);
    h.parked(&arn, 1).await;
    h.proxy.as_ref().unwrap().set_dead(true);
    h.callback(&id, json!({"action": "stop", "by": "tester"}))
        .await;
    let history = h
        .drive(&arn, Duration::seconds(10), revive_after(OUTAGE), |_| false)
        .await;
    assert!(failures_in(&history, "Terminate") >= 5);
    let done = h.engine.describe_execution(&arn).unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(output(&done)["outcome"], "stopped");
    assert_eq!(
        h.leftovers().await,
        (0, 0, 0),
        "instances, slots, parameters"
    );
}

#[tokio::test]
async fn a_capacity_check_that_times_out_after_taking_a_slot_gives_it_back() {
    let h = Harness::proxied(3).await;
    // The slot's PutParameter reaches moto, its answer never comes back: the state times out.
    h.proxy.as_ref().unwrap().hang_on("PutParameter");
    let (arn, _) = h.start(105);
    h.engine
        .wait_for(&arn, |hist| {
            hist.iter().any(|e| e.event_type == "LambdaFunctionStarted")
        })
        .await
        .unwrap();
    let names = h.ctx.base.names();
    for _ in 0..500 {
        if !preview_tasks::slots::held(&h.ctx.clients.ssm, &names)
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(h.leftovers().await.1, 1, "the hung attempt took a slot");
    // A running step holds the clock; move it past the state's timeout by hand.
    for _ in 0..20 {
        h.clock.advance(std::time::Duration::from_secs(10));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let done = h.run_to_end(&arn, Duration::seconds(10)).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.Timeout"));
    assert!(states_entered(&h.history(&arn)).contains(&"ReleaseSlot".to_string()));
    assert_eq!(
        h.leftovers().await,
        (0, 0, 0),
        "the slot was given back before the execution failed"
    );
}

#[tokio::test]
async fn an_aborted_execution_s_instance_is_gone_at_once() {
    let h = Harness::new(3, &[], |_| {}).await;
    let (arn, _) = h.start(106);
    h.parked(&arn, 1).await;
    assert_eq!(h.alive().await, 1);
    let aborted_at = h
        .engine
        .stop_execution(&arn, Some("Aborted"), Some("test"))
        .await
        .unwrap();
    // The status-change event reaches the reaper at once; the clock does not move.
    for _ in 0..500 {
        if h.leftovers().await == (0, 0, 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        h.leftovers().await,
        (0, 0, 0),
        "instances, slots, parameters"
    );
    assert!(h.clock.now() - aborted_at < Duration::seconds(60));
}

#[tokio::test]
async fn an_instance_terminated_behind_the_workflow_s_back_ends_it_as_instance_gone() {
    let h = Harness::new(3, &[], |_| {}).await;
    let (arn, _) = h.start(107);
    h.parked(&arn, 1).await;
    let found = instances::find(&h.ctx.clients.ec2, &h.ctx.base.stack, &ALIVE_STATES, &[])
        .await
        .unwrap();
    let instance_id = found[0].instance_id().unwrap().to_string();
    h.ctx
        .clients
        .ec2
        .terminate_instances()
        .instance_ids(&instance_id)
        .send()
        .await
        .unwrap();
    // Locally the liveness check stands in for EC2's state-change event.
    let reaped = preview_tasks::lifecycle::liveness(&h.ctx).await.unwrap();
    assert_eq!(reaped.len(), 1, "{reaped:?}");
    let done = h.run_to_end(&arn, Duration::seconds(10)).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("InstanceGone"));
    assert!(done.cause.unwrap_or_default().contains(&instance_id));
    assert_eq!(
        h.leftovers().await,
        (0, 0, 0),
        "instances, slots, parameters"
    );
}

#[tokio::test]
async fn a_spot_interruption_warning_ends_a_waiting_preview() {
    let h = Harness::new(3, &[], |_| {}).await;
    let (arn, _) = h.start(108);
    h.parked(&arn, 1).await;
    let found = instances::find(&h.ctx.clients.ec2, &h.ctx.base.stack, &ALIVE_STATES, &[])
        .await
        .unwrap();
    let event = json!({"version": "0", "source": "aws.ec2", "detail-type": "EC2 Spot Instance Interruption Warning",
        "detail": {"instance-id": found[0].instance_id().unwrap(), "instance-action": "terminate"}});
    let report = preview_tasks::steps::reaper::handle(&h.ctx, &event)
        .await
        .unwrap();
    assert_eq!(report.reaped.len(), 1);
    let done = h.run_to_end(&arn, Duration::seconds(10)).await;
    assert_eq!(done.error.as_deref(), Some("InstanceGone"));
    assert_eq!(
        h.leftovers().await,
        (0, 0, 0),
        "instances, slots, parameters"
    );
    // An event for an instance that is not ours changes nothing.
    let other = json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification",
        "detail": {"instance-id": "i-0123456789abcdef0", "state": "terminated"}});
    assert!(preview_tasks::steps::reaper::handle(&h.ctx, &other)
        .await
        .unwrap()
        .reaped
        .is_empty());
}

#[tokio::test]
async fn stop_while_building_ends_it_as_stopped_by_whoever_asked() {
    let h = Harness::new(3, &[], |_| {}).await;
    let request = preview_e2e::backend_pr(109);
    let valid = request.validate(&h.ctx.base.request_rules()).unwrap();
    let id = preview_tasks::domain::preview_id::PreviewId::generate(&valid, Utc::now(), 109);
    // Asked for before the preview is healthy: the web app writes a stop request.
    preview_tasks::stop_request::request(
        &h.ctx.clients.ssm,
        &h.ctx.base.names(),
        &id,
        "carol",
        Utc::now(),
    )
    .await
    .unwrap();
    let input = json!({"preview_id": id, "request": request}).to_string();
    let (arn, _) = h
        .engine
        .start_execution(&h.state_machine, Some(id.as_str()), Some(&input))
        .unwrap();
    let done = h.run_to_end(&arn, Duration::seconds(10)).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let out = output(&done);
    assert_eq!(out["outcome"], "stopped");
    assert_eq!(out["detail"], "stopped by carol");
    let entered = states_entered(&h.history(&arn));
    assert!(
        entered.contains(&"StopWhileBuilding".to_string()),
        "{entered:?}"
    );
    assert!(!entered.contains(&"RecordUrl".to_string()), "{entered:?}");
    assert_eq!(
        h.leftovers().await,
        (0, 0, 0),
        "instances, slots, parameters"
    );
}

#[tokio::test]
async fn a_stop_asked_for_between_two_waits_ends_the_next_wait_at_once() {
    let h = Harness::new(3, &[], |_| {}).await;
    let (arn, id) = h.start(110);
    h.parked(&arn, 1).await;
    // The web app found no waiting token (an extend was being handled) and wrote a request.
    preview_tasks::stop_request::request(
        &h.ctx.clients.ssm,
        &h.ctx.base.names(),
        &id,
        "dave",
        Utc::now(),
    )
    .await
    .unwrap();
    h.callback(
        &id,
        json!({"action": "extend", "minutes": 30, "by": "erin"}),
    )
    .await;
    let done = h.run_to_end(&arn, Duration::seconds(10)).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(output(&done)["detail"], "stopped by dave");
    assert_eq!(
        h.leftovers().await,
        (0, 0, 0),
        "instances, slots, parameters"
    );
}

/// A `tick` that kills AWS when the execution first enters `state` and brings it back
/// `seconds` of engine time later.
fn outage_from(arn: &str, state: &'static str, seconds: i64) -> impl FnMut(&Harness) {
    let arn = arn.to_string();
    let mut died: Option<DateTime<Utc>> = None;
    move |h: &Harness| {
        let proxy = h.proxy.as_ref().expect("a proxied harness");
        match died {
            None if states_entered(&h.history(&arn)).iter().any(|s| s == state) => {
                proxy.set_dead(true);
                died = Some(h.clock.now());
            }
            Some(since) if h.clock.now() - since >= Duration::seconds(seconds) => {
                proxy.set_dead(false)
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_first_wait_that_fails_for_four_dead_minutes_returns_to_the_wait() {
    let h = Harness::proxied(3).await;
    let (arn, id) = h.start(110);
    let history = h
        .drive(
            &arn,
            Duration::seconds(5),
            outage_from(&arn, "AwaitExpiry", 2 * OUTAGE),
            waiting(1),
        )
        .await;
    assert_eq!(
        h.engine.describe_execution(&arn).unwrap().status,
        ExecutionStatus::Running
    );
    let note = resumed_without_clean_up(&history);
    assert!(note.contains("the wait was interrupted"), "{note}");
    stop_and_check_clean(&h, &arn, &id).await;
}

/// The workflow went back to the wait without cleaning up; ResumeWait's note (the audit log's
/// line) from the history.
fn resumed_without_clean_up(history: &[HistoryEvent]) -> String {
    let entered = states_entered(history);
    assert!(entered.contains(&"ResumeWait".to_string()), "{entered:?}");
    assert!(
        !entered.contains(&"CleanUpAfterFailure".to_string()),
        "{entered:?}"
    );
    history
        .iter()
        .filter(|e| e.event_type == "LambdaFunctionSucceeded")
        .filter_map(|e| e.details.get("output").and_then(Value::as_str))
        .find(|o| o.contains("keeps its expiry"))
        .expect("ResumeWait's note in the history (the audit log)")
        .to_string()
}
