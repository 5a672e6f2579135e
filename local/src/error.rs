//! The local service's one error type.

use preview_tasks::StepError;

/// Why the local service (or a test's emulated account) could not be set up or run.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// An AWS call against the emulator, or a step, failed.
    #[error(transparent)]
    Step(#[from] StepError),
    /// The engine refused the definition or could not open its directory.
    #[error(transparent)]
    Engine(#[from] preview_statemachine::Error),
    /// Something the local set-up needs is missing (moto's virtualenv, a free port, a default VPC).
    #[error("{0}")]
    Setup(String),
}

/// The local crate's result.
pub type Result<T> = std::result::Result<T, LocalError>;
