//! The one error type of the web app and how each kind answers over HTTP.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::pages;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not signed in: send the browser to the sign-in page, then back to `next`.
    #[error("sign in first")]
    SignIn {
        /// Where to return after signing in.
        next: String,
    },
    /// A forged, expired or missing signature or CSRF token.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such preview.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request itself is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// The deployment is misconfigured (missing key, bad dial).
    #[error("configuration: {0}")]
    Config(String),
    /// An AWS call failed.
    #[error("AWS: {0}")]
    Aws(String),
    /// GitHub could not answer (rate limit, outage); the message says what to do instead.
    #[error("{0}")]
    GitHub(String),
}

impl WebError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::SignIn { .. } => StatusCode::SEE_OTHER,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Aws(_) | WebError::GitHub(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// Wraps an AWS SDK error with the operation's name.
    pub fn aws(operation: &str, err: impl std::fmt::Display) -> WebError {
        WebError::Aws(format!("{operation}: {err}"))
    }
}

impl From<preview_tasks::StepError> for WebError {
    fn from(e: preview_tasks::StepError) -> Self {
        match e {
            preview_tasks::StepError::InvalidRequest(m) => WebError::BadRequest(m),
            preview_tasks::StepError::Config(m) => WebError::Config(m),
            other => WebError::Aws(other.to_string()),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::SignIn { next } = &self {
            return Redirect::to(&format!("/signin?next={}", pages::url_encode(next)))
                .into_response();
        }
        if matches!(self, WebError::Aws(_) | WebError::Config(_)) {
            tracing::error!(error = %self, "request failed");
        }
        let status = self.status();
        let title = status.canonical_reason().unwrap_or("Error");
        (status, Html(pages::message(title, &self.to_string(), None))).into_response()
    }
}
