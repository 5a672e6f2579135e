//! The crate's single error type; each variant maps to one Step Functions API error code.

use thiserror::Error as ThisError;

/// Everything that can go wrong when calling the engine; `code()` gives the AWS error name.
#[derive(Debug, ThisError)]
pub enum Error {
    /// The definition is not valid ASL or uses something this engine refuses.
    #[error("{0}")]
    InvalidDefinition(String),
    /// A name does not follow AWS's naming rules.
    #[error("Invalid Name: '{0}'")]
    InvalidName(String),
    /// An ARN is malformed.
    #[error("Invalid Arn: '{0}'")]
    InvalidArn(String),
    /// Execution input or task output is not valid JSON.
    #[error("{0}")]
    InvalidExecutionInput(String),
    /// Task output given to SendTaskSuccess is not valid JSON.
    #[error("{0}")]
    InvalidOutput(String),
    /// No state machine with that ARN.
    #[error("State Machine Does Not Exist: '{0}'")]
    StateMachineDoesNotExist(String),
    /// A state machine with that name exists with another definition.
    #[error("State Machine Already Exists: '{0}'")]
    StateMachineAlreadyExists(String),
    /// No execution with that ARN.
    #[error("Execution Does Not Exist: '{0}'")]
    ExecutionDoesNotExist(String),
    /// An execution with that name exists and the request is not an idempotent repeat.
    #[error("Execution Already Exists: '{0}'")]
    ExecutionAlreadyExists(String),
    /// The task token cannot be decoded.
    #[error("Invalid Token: '{0}'")]
    InvalidToken(String),
    /// The task token was never issued.
    #[error("Task Does Not Exist")]
    TaskDoesNotExist,
    /// The task token belongs to a task that is no longer waiting.
    #[error("Task Timed Out")]
    TaskTimedOut,
    /// A request parameter violates a constraint.
    #[error("{0}")]
    Validation(String),
    /// The request body is not a JSON object of the operation's shape (a member has the wrong
    /// JSON type): AWS's deserializer rejects it before any validation.
    #[error("{0}")]
    Serialization(String),
    /// A resource named by the request does not exist (e.g. a Map Run: this engine runs none).
    #[error("Resource not found: '{0}'")]
    ResourceNotFound(String),
    /// The request names an unsupported operation.
    #[error("Unknown operation: {0}")]
    UnknownOperation(String),
    /// Reading or writing the on-disk store failed.
    #[error("store I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A stored record could not be (de)serialised.
    #[error("store data error: {0}")]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// The AWS error code (`__type`) for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidDefinition(_) => "InvalidDefinition",
            Error::InvalidName(_) => "InvalidName",
            Error::InvalidArn(_) => "InvalidArn",
            Error::InvalidExecutionInput(_) => "InvalidExecutionInput",
            Error::InvalidOutput(_) => "InvalidOutput",
            Error::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            Error::StateMachineAlreadyExists(_) => "StateMachineAlreadyExists",
            Error::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            Error::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            Error::InvalidToken(_) => "InvalidToken",
            Error::TaskDoesNotExist => "TaskDoesNotExist",
            Error::TaskTimedOut => "TaskTimedOut",
            Error::Validation(_) => "ValidationException",
            Error::Serialization(_) => "SerializationException",
            Error::ResourceNotFound(_) => "ResourceNotFound",
            Error::UnknownOperation(_) => "UnknownOperationException",
            Error::Io(_) | Error::Json(_) => "InternalFailure",
        }
    }
}

/// Shorthand for results carrying [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
