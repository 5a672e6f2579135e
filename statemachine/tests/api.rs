//! The HTTP API driven by the real `aws-sdk-sfn` client.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]
mod common;

use aws_sdk_sfn::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sfn::types::{ExecutionStatus as SdkStatus, HistoryEventType};
use common::*;
use preview_statemachine::serve;
use serde_json::json;

async fn client(env: &Env) -> aws_sdk_sfn::Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(env.engine.clone(), listener));
    let conf = aws_sdk_sfn::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "static"))
        .endpoint_url(format!("http://{addr}"))
        .build();
    aws_sdk_sfn::Client::from_conf(conf)
}

#[tokio::test]
async fn sdk_round_trip() {
    let env = env(Invoker::new(|_, _, _| Reply::Ok(json!({"queued": true})))).await;
    let sfn = client(&env).await;
    let definition = json!({"StartAt": "Cb", "States": {
        "Cb": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
               "Parameters": {"FunctionName": "${WorkFn}", "Payload": {"token.$": "$$.Task.Token"}},
               "ResultPath": "$.reply", "Next": "Done"},
        "Done": {"Type": "Succeed"}}})
    .to_string();
    let created = sfn
        .create_state_machine()
        .name("preview")
        .definition(&definition)
        .role_arn("arn:aws:iam::000000000000:role/x")
        .send()
        .await
        .unwrap();
    let sm_arn = created.state_machine_arn().to_string();
    assert_eq!(
        sm_arn,
        "arn:aws:states:us-east-1:000000000000:stateMachine:preview"
    );
    // Idempotent create.
    let again = sfn
        .create_state_machine()
        .name("preview")
        .definition(&definition)
        .role_arn("arn:aws:iam::000000000000:role/x")
        .send()
        .await
        .unwrap();
    assert_eq!(again.state_machine_arn(), sm_arn);
    let bad = sfn
        .create_state_machine()
        .name("bad")
        .definition("{\"StartAt\":\"M\",\"States\":{\"M\":{\"Type\":\"Map\",\"End\":true}}}")
        .role_arn("r")
        .send()
        .await;
    let err = bad.unwrap_err().into_service_error();
    assert!(err.is_invalid_definition(), "{err:?}");

    let described = sfn
        .describe_state_machine()
        .state_machine_arn(&sm_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.definition(), definition);
    assert_eq!(
        sfn.list_state_machines()
            .send()
            .await
            .unwrap()
            .state_machines()
            .len(),
        1
    );

    let started = sfn
        .start_execution()
        .state_machine_arn(&sm_arn)
        .name("e1")
        .input("{\"a\":1}")
        .send()
        .await
        .unwrap();
    let exec_arn = started.execution_arn().to_string();
    assert_eq!(
        exec_arn,
        "arn:aws:states:us-east-1:000000000000:execution:preview:e1"
    );
    // Same name and input while running: same execution; other input: refused.
    let same = sfn
        .start_execution()
        .state_machine_arn(&sm_arn)
        .name("e1")
        .input("{\"a\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(same.execution_arn(), exec_arn);
    let clash = sfn
        .start_execution()
        .state_machine_arn(&sm_arn)
        .name("e1")
        .input("{\"a\":2}")
        .send()
        .await;
    assert!(clash
        .unwrap_err()
        .into_service_error()
        .is_execution_already_exists());

    let h = env.until(&exec_arn, "TaskSubmitted").await;
    let token = token_from(&h);

    let list = sfn
        .list_executions()
        .state_machine_arn(&sm_arn)
        .status_filter(SdkStatus::Running)
        .send()
        .await
        .unwrap();
    assert_eq!(list.executions().len(), 1);
    assert_eq!(list.executions()[0].name(), "e1");

    // History paging, forwards and backwards.
    let page1 = sfn
        .get_execution_history()
        .execution_arn(&exec_arn)
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page1.events().len(), 2);
    assert_eq!(
        page1.events()[0].r#type(),
        &HistoryEventType::ExecutionStarted
    );
    let token1 = page1.next_token().unwrap().to_string();
    let page2 = sfn
        .get_execution_history()
        .execution_arn(&exec_arn)
        .max_results(2)
        .next_token(token1)
        .send()
        .await
        .unwrap();
    assert_eq!(page2.events()[0].id(), 3);
    assert_eq!(page2.events()[0].r#type(), &HistoryEventType::TaskScheduled);
    let sched = page2.events()[0].task_scheduled_event_details().unwrap();
    assert_eq!(sched.resource_type(), "lambda");
    assert_eq!(sched.resource(), "invoke.waitForTaskToken");
    let rev = sfn
        .get_execution_history()
        .execution_arn(&exec_arn)
        .reverse_order(true)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(rev.events()[0].r#type(), &HistoryEventType::TaskSubmitted);
    let started_ev = &page1.events()[1];
    assert_eq!(started_ev.previous_event_id(), 0);
    assert_eq!(
        started_ev.state_entered_event_details().unwrap().name(),
        "Cb"
    );

    sfn.send_task_heartbeat()
        .task_token(&token)
        .send()
        .await
        .unwrap();
    sfn.send_task_success()
        .task_token(&token)
        .output("{\"ok\":true}")
        .send()
        .await
        .unwrap();
    let d = env.done(&exec_arn).await;
    assert_eq!(d.status, preview_statemachine::ExecutionStatus::Succeeded);
    let desc = sfn
        .describe_execution()
        .execution_arn(&exec_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(desc.status(), &SdkStatus::Succeeded);
    assert_eq!(desc.output(), Some("{\"a\":1,\"reply\":{\"ok\":true}}"));
    assert_eq!(desc.input(), Some("{\"a\":1}"));
    assert!(desc.stop_date().is_some());
    let late = sfn
        .send_task_success()
        .task_token(&token)
        .output("{}")
        .send()
        .await;
    assert!(late.unwrap_err().into_service_error().is_task_timed_out());
    let bogus = sfn.send_task_failure().task_token("%%%").send().await;
    assert!(bogus.unwrap_err().into_service_error().is_invalid_token());

    // Stop a second execution.
    let e2 = sfn
        .start_execution()
        .state_machine_arn(&sm_arn)
        .name("e2")
        .send()
        .await
        .unwrap();
    env.until(e2.execution_arn(), "TaskSubmitted").await;
    sfn.stop_execution()
        .execution_arn(e2.execution_arn())
        .error("Halt")
        .cause("test")
        .send()
        .await
        .unwrap();
    let d2 = sfn
        .describe_execution()
        .execution_arn(e2.execution_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(d2.status(), &SdkStatus::Aborted);
    assert_eq!(d2.error(), Some("Halt"));

    let all = sfn
        .list_executions()
        .state_machine_arn(&sm_arn)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = all.executions().iter().map(|e| e.name()).collect();
    assert_eq!(names, vec!["e2", "e1"]);
    let missing = sfn
        .describe_execution()
        .execution_arn("arn:aws:states:us-east-1:000000000000:execution:preview:nope")
        .send()
        .await;
    assert!(missing
        .unwrap_err()
        .into_service_error()
        .is_execution_does_not_exist());
}

#[tokio::test]
async fn list_executions_pages_over_a_thousand() {
    let env = env(Invoker::echo()).await;
    let sm = env
        .engine
        .create_state_machine(
            "many",
            &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}).to_string(),
        )
        .unwrap();
    let mut arns = Vec::new();
    for i in 0..1000 {
        arns.push(
            env.engine
                .start_execution(&sm, Some(&format!("e{i:04}")), None)
                .unwrap()
                .0,
        );
    }
    for a in &arns {
        env.done(a).await;
    }
    let sfn = client(&env).await;
    let mut token = None;
    let mut seen = Vec::new();
    loop {
        let page = sfn
            .list_executions()
            .state_machine_arn(&sm)
            .status_filter(SdkStatus::Succeeded)
            .max_results(300)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        seen.extend(page.executions().iter().map(|e| e.name().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen[0], "e0999");
    assert_eq!(seen[999], "e0000");
}
