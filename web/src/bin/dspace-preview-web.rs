//! The web app: a Lambda behind a Function URL when the Lambda runtime is present, else a plain
//! server on `PREVIEW_WEB_ADDR` (default 127.0.0.1:8080). The same router serves both.
//!
//! Environment: `PREVIEW_STATE_MACHINE_ARN`, `PREVIEW_LINK_KEY` (≥ 32 bytes),
//! `PREVIEW_ACCESS_CODE`, optional `PREVIEW_GITHUB_API`, `PREVIEW_COOKIE_SECURE`, the `PREVIEW_*`
//! dials, and the usual AWS variables (`AWS_ENDPOINT_URL_SFN` points at the local engine).

use preview_web::{router, AppState, WebError};

#[tokio::main]
async fn main() -> Result<(), WebError> {
    preview_tasks::lambda::init_tracing();
    let state = AppState::from_env().await?;
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return lambda_http::run(router(state))
            .await
            .map_err(|e| WebError::Config(format!("Lambda runtime: {e}")));
    }
    let addr = std::env::var("PREVIEW_WEB_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| WebError::Config(format!("cannot listen on {addr}: {e}")))?;
    tracing::info!(%addr, "serving the preview web app");
    axum::serve(listener, router(state))
        .await
        .map_err(|e| WebError::Config(format!("server: {e}")))
}
