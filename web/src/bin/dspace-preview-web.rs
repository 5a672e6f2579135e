//! Serves the web app on `PREVIEW_WEB_ADDR` (default 127.0.0.1:8080).
//!
//! Environment: `PREVIEW_STATE_MACHINE_ARN`, `PREVIEW_LINK_KEY` (≥ 32 bytes),
//! `PREVIEW_ACCESS_CODE`, optional `PREVIEW_GITHUB_API`, `PREVIEW_COOKIE_SECURE`, the `PREVIEW_*`
//! dials, and the usual AWS variables (`AWS_ENDPOINT_URL_SFN` points at the local engine).

use preview_web::{router, AppState, WebError};

#[tokio::main]
async fn main() -> Result<(), WebError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let state = AppState::from_env().await?;
    let addr = std::env::var("PREVIEW_WEB_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| WebError::Config(format!("cannot listen on {addr}: {e}")))?;
    tracing::info!(%addr, "serving the preview web app");
    axum::serve(listener, router(state))
        .await
        .map_err(|e| WebError::Config(format!("server: {e}")))
}
