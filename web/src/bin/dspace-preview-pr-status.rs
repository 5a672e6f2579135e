//! Lambda: tells a preview's pull requests where it is (the sticky comment and the deployment
//! status). Its events are EventBridge's "Step Functions Execution Status Change" and the ASL's
//! `AnnounceReady` payload; both name the execution, which it reads.
//!
//! Environment: the web app's (`PREVIEW_STATE_MACHINE_ARN`, the link key, the dials), plus
//! `PREVIEW_PUBLIC_URL` and `PREVIEW_GITHUB_TOKEN_SECRET_ARN` (or `PREVIEW_GITHUB_TOKEN`); without
//! both it does nothing.

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use preview_web::{pr_status, AppState, WebError};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    preview_tasks::lambda::init_tracing();
    let state = AppState::from_env().await?;
    let state = &state;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let published = pr_status::publish(state, &event.payload)
            .await
            .map_err(|e: WebError| lambda_runtime::Error::from(e.to_string()))?;
        Ok::<Value, lambda_runtime::Error>(serde_json::json!({
            "told": published.told,
            "failed": published.failed,
            "skipped": published.skipped,
        }))
    }))
    .await
}
