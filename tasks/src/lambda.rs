//! The Lambda glue: tracing set-up, the context built once, errors mapped to stable `errorType`s.

use std::sync::Arc;

use lambda_runtime::{service_fn, LambdaEvent};

use crate::aws::Ctx;
use crate::step::{run_json, Step};

/// Starts the Lambda runtime loop for one step.
pub async fn run<S: Step>() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let ctx = Arc::new(Ctx::from_env().await?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let ctx = Arc::clone(&ctx);
        async move {
            // Boxed: the step futures are deep enough to overflow the layout query limit.
            let result = Box::pin(run_json::<S>(&ctx, event.payload)).await;
            if let Err(e) = &result {
                tracing::error!(step = S::NAME, error_type = e.error_type(), error = %e, "step failed");
            }
            result
        }
    }))
    .await
}

/// JSON logs on Lambda (CloudWatch parses them), readable text elsewhere; `RUST_LOG` filters.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    // try_init: a second call (tests, the local service) keeps the first subscriber.
    let _ = if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        builder.json().without_time().try_init()
    } else {
        builder.try_init()
    };
}
