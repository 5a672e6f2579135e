//! The one error type of the web app and how each kind answers over HTTP.

use aws_sdk_sfn::error::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use axum::http::header::RETRY_AFTER;
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
    /// A request that must prove where it comes from and did not (a webhook's signature).
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// A forged, expired or missing signature or CSRF token.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No such preview.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request itself is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// Too many attempts; the message says when to try again.
    #[error("{message}")]
    TooMany {
        /// What happened and when to retry.
        message: String,
        /// Seconds until a retry can succeed (the `Retry-After` header).
        retry_after: u64,
    },
    /// The deployment is misconfigured (missing key, bad dial).
    #[error("configuration: {0}")]
    Config(String),
    /// An AWS call failed; the detail goes to the log, never to the page.
    #[error("AWS: {0}")]
    Aws(String),
    /// AWS (or the local engine) could not be reached at all; the detail goes to the log.
    #[error("AWS unreachable: {0}")]
    Unavailable(String),
    /// GitHub could not answer (rate limit, outage); the message says what to do instead.
    #[error("{0}")]
    GitHub(String),
}

/// How the SDK words a call that never got an answer (connection refused, DNS, timeouts); the
/// steps' errors carry it as text, so it is recognised by these words.
const UNREACHABLE_MARKERS: [&str; 3] = ["dispatch failure", "timed out", "io error"];

impl WebError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::SignIn { .. } => StatusCode::SEE_OTHER,
            WebError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Aws(_) | WebError::GitHub(_) => StatusCode::BAD_GATEWAY,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The one mapping of AWS SDK errors: the operation, the service's code and message (for the
    /// log); a call that never reached AWS becomes [`WebError::Unavailable`].
    pub fn from_sdk<E>(operation: &str, err: SdkError<E>) -> WebError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let unreachable = matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
        );
        let code = err.code().map(str::to_string);
        let message = err.message().map(str::to_string).unwrap_or_else(|| {
            aws_smithy_types::error::display::DisplayErrorContext(&err).to_string()
        });
        let detail = match code {
            Some(code) => format!("{operation}: {code}: {message}"),
            None => format!("{operation}: {message}"),
        };
        if unreachable {
            WebError::Unavailable(detail)
        } else {
            WebError::Aws(detail)
        }
    }

    /// An AWS failure described as text (from the steps' error type).
    fn aws_text(detail: String) -> WebError {
        let lower = detail.to_ascii_lowercase();
        if UNREACHABLE_MARKERS.iter().any(|m| lower.contains(m)) {
            WebError::Unavailable(detail)
        } else {
            WebError::Aws(detail)
        }
    }
}

/// An AWS SDK call's result with its error mapped by [`WebError::from_sdk`], so every call
/// site words and classifies AWS failures the same way.
pub trait OrAws<T> {
    /// The result, its error named after `operation` (`service:Operation`, for the log).
    fn or_aws(self, operation: &str) -> Result<T, WebError>;
}

// Every service's `SdkError` is the same smithy type, so this covers SSM, Step Functions and
// Secrets Manager alike.
impl<T, E> OrAws<T> for Result<T, SdkError<E>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn or_aws(self, operation: &str) -> Result<T, WebError> {
        self.map_err(|e| WebError::from_sdk(operation, e))
    }
}

impl From<preview_tasks::StepError> for WebError {
    fn from(e: preview_tasks::StepError) -> Self {
        match e {
            preview_tasks::StepError::InvalidRequest(m) => WebError::BadRequest(m),
            preview_tasks::StepError::Config(m) => WebError::Config(m),
            other => WebError::aws_text(other.to_string()),
        }
    }
}

/// A short reference that ties what a person sees to the log line with the detail.
pub fn reference() -> String {
    format!("{:08x}", rand::random::<u32>())
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let WebError::SignIn { next } = &self {
            return Redirect::to(&format!("/signin?next={}", pages::url_encode(next)))
                .into_response();
        }
        let status = self.status();
        let title = status.canonical_reason().unwrap_or("Error");
        // Internal detail (SDK messages, ARNs, configuration) is for operators: the log gets it
        // with a reference, the page only the reference and what to do.
        let text = match &self {
            WebError::Aws(_) | WebError::Unavailable(_) | WebError::Config(_) => {
                let reference = reference();
                tracing::error!(error = %self, %reference, "request failed");
                match self {
                    WebError::Unavailable(_) => format!(
                        "The preview service cannot reach AWS right now; nothing was changed. Try again in a minute. If it persists, tell an operator the reference {reference}."
                    ),
                    WebError::Config(_) => format!(
                        "The preview service is misconfigured; nothing was changed. Tell an operator the reference {reference}."
                    ),
                    _ => format!(
                        "AWS refused or failed a call; nothing more was changed. Try again in a minute. If it persists, tell an operator the reference {reference}."
                    ),
                }
            }
            other => other.to_string(),
        };
        let mut response = (status, Html(pages::message(title, &text, None))).into_response();
        let retry_after = match &self {
            WebError::TooMany { retry_after, .. } => Some(*retry_after),
            WebError::Unavailable(_) => Some(30),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, seconds.max(1).into());
        }
        response
    }
}
