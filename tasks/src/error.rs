//! The one error type of the steps, with stable `errorType` names for Retry and Catch.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Everything a step can fail with; `error_type()` is what the state machine matches on.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The request or step input is malformed; nothing was changed.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// All preview slots are taken.
    #[error("no free preview slot: all {max} slots are in use; stop a preview or wait for one to expire")]
    NoFreeSlot {
        /// The configured maximum of live previews.
        max: u32,
    },
    /// AWS has no capacity for the instance type right now (retry later or use another type).
    #[error("insufficient instance capacity: {0}")]
    InsufficientCapacity(String),
    /// RunInstances failed for a reason retrying will not fix.
    #[error("launch failed: {0}")]
    LaunchFailed(String),
    /// The instance reported a failure (merge conflict, build failure) or never became healthy.
    #[error("health check failed: {0}")]
    HealthCheckFailed(String),
    /// The preview's instance no longer exists or is shutting down.
    #[error("instance gone: {0}")]
    InstanceGone(String),
    /// AWS throttled us; the state machine retries with backoff.
    #[error("AWS throttled the call {0}; retry with backoff")]
    Throttled(String),
    /// A configuration value is missing or malformed.
    #[error("configuration error: {0}")]
    Config(String),
    /// Any other AWS error.
    #[error("AWS call failed: {0}")]
    Aws(String),
}

/// Result alias for the steps.
pub type Result<T, E = StepError> = std::result::Result<T, E>;

impl StepError {
    /// The stable name the state machine's Retry and Catch match (Lambda's `errorType`).
    pub fn error_type(&self) -> &'static str {
        match self {
            StepError::InvalidRequest(_) => "InvalidRequest",
            StepError::NoFreeSlot { .. } => "NoFreeSlot",
            StepError::InsufficientCapacity(_) => "InsufficientCapacity",
            StepError::LaunchFailed(_) => "LaunchFailed",
            StepError::HealthCheckFailed(_) => "HealthCheckFailed",
            StepError::InstanceGone(_) => "InstanceGone",
            StepError::Throttled(_) => "Throttled",
            StepError::Config(_) => "ConfigError",
            StepError::Aws(_) => "AwsError",
        }
    }

    /// Maps an SDK error to a step error, naming the operation so the message says what failed.
    pub fn from_sdk<E>(operation: &str, err: aws_sdk_ec2::error::SdkError<E>) -> StepError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let code = err.code().unwrap_or_default().to_string();
        let message = err.message().map(str::to_string).unwrap_or_else(|| {
            aws_smithy_types::error::display::DisplayErrorContext(&err).to_string()
        });
        let detail = if code.is_empty() {
            format!("{operation}: {message}")
        } else {
            format!("{operation}: {code}: {message}")
        };
        if is_throttling(&code) {
            StepError::Throttled(detail)
        } else {
            StepError::Aws(detail)
        }
    }
}

/// The error codes AWS services use for throttling.
pub fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "TooManyRequestsException"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "SlowDown"
            // Route 53 while an earlier change to the same zone is still applied.
            | "PriorRequestNotComplete"
    )
}

impl From<StepError> for lambda_runtime::Diagnostic {
    fn from(err: StepError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: err.error_type().to_string(),
            error_message: err.to_string(),
        }
    }
}

/// The SDK error code of an error, if the service sent one.
pub fn sdk_code<E: ProvideErrorMetadata>(err: &aws_sdk_ec2::error::SdkError<E>) -> Option<&str> {
    err.code()
}
