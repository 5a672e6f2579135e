//! The shipped binaries under a Lambda Runtime API: the step answers, its errors keep their stable
//! `errorType`, and the web app answers a Function URL request.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

use std::path::PathBuf;

use preview_e2e::runtime_api::{invoke_cold, lambda_command};
use preview_local::{local_ctx, Moto};
use preview_tasks::Config;

/// A binary built by this workspace (`cargo test --workspace` builds every bin).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} missing: run `cargo build -p preview-tasks -p preview-web --bins`",
        path.display()
    );
    path
}

fn lambda(name: &str, endpoint: &str) -> std::process::Command {
    let mut cmd = lambda_command(binary(name), name);
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1");
    cmd
}

#[tokio::test]
async fn the_capacity_lambda_answers_and_names_its_errors() {
    let endpoint = Moto::shared_endpoint().expect("moto");
    let stack = format!("lambda-{}", std::process::id());
    local_ctx(&endpoint, &stack, Config::default())
        .await
        .expect("seed");
    let event = |pr: u64| {
        serde_json::json!({
            "preview_id": format!("dsp-b{pr}-202611281930-0001"),
            "request": {"sources": [{"repo": "DSpace/DSpace", "pr": pr}], "requester": "t"},
            "execution": "arn:aws:states:us-east-1:000000000000:execution:sm:x"
        })
        .to_string()
    };
    let mut ok = lambda("check-capacity", &endpoint);
    ok.env("PREVIEW_STACK", &stack);
    let run = invoke_cold(ok, event(5)).await;
    assert!(
        run.answer.starts_with("response:") && run.answer.contains("\"slot\""),
        "{}",
        run.answer
    );

    let mut bad = lambda("check-capacity", &endpoint);
    bad.env("PREVIEW_STACK", &stack);
    let run = invoke_cold(bad, event(0)).await;
    assert!(run.answer.starts_with("error:"), "{}", run.answer);
    assert!(
        run.answer.contains(r#""errorType":"InvalidRequest""#),
        "{}",
        run.answer
    );
    assert!(
        run.answer.contains("PR numbers start at 1"),
        "{}",
        run.answer
    );
}

#[tokio::test]
async fn the_web_app_answers_a_function_url_request() {
    let endpoint = Moto::shared_endpoint().expect("moto");
    let mut web = lambda("dspace-preview-web", &endpoint);
    web.env(
        "PREVIEW_STATE_MACHINE_ARN",
        "arn:aws:states:us-east-1:000000000000:stateMachine:x",
    )
    .env("PREVIEW_LINK_KEY", "k".repeat(32))
    .env("PREVIEW_ACCESS_CODE", "code");
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/healthz", "rawQueryString": "",
        "headers": {"host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc", "domainName": "abc.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc", "requestId": "r-1", "routeKey": "$default", "stage": "$default",
            "time": "28/Nov/2026:21:00:00 +0000", "timeEpoch": 1_795_000_000_000_i64,
            "http": {"method": "GET", "path": "/healthz", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"}
        },
        "isBase64Encoded": false
    })
    .to_string();
    let run = invoke_cold(web, event).await;
    assert!(run.answer.starts_with("response:"), "{}", run.answer);
    let body: serde_json::Value =
        serde_json::from_str(run.answer.trim_start_matches("response:").trim())
            .expect("JSON response");
    assert_eq!(body["statusCode"], 200, "{body}");
    assert_eq!(body["body"], "ok", "{body}");
}
