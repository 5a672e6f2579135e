//! A local AWS Step Functions engine: runs ASL (JSONPath flavour, Standard workflows) with AWS's
//! semantics and history events, persists executions on disk and serves the Step Functions API.
//!
//! The engine is what the project's local run and end-to-end tests use instead of AWS, so it is
//! deliberately strict: anything it does not implement faithfully is refused when the definition
//! is loaded, naming the state and the field, rather than being approximated at run time.

pub mod api;
pub mod asl;
pub mod choice;
pub mod clock;
pub mod engine;
pub mod error;
pub mod events;
pub mod history;
pub mod intrinsics;
pub mod invoker;
pub mod paths;
pub(crate) mod request;
pub mod retry;
mod runner;
pub mod store;
pub mod token;

pub use api::serve;
pub use clock::{Clock, ManualClock, SystemClock};
pub use engine::{
    Engine, EngineOptions, ExecutionDescription, ExecutionStatus, ExecutionSummary, HistoryPage,
    HistoryQuery, ListExecutionsPage, ListExecutionsQuery, StateMachineDescription, SweepReport,
};
pub use error::Error;
pub use history::{EventType, HistoryEvent};
pub use invoker::{TaskFailure, TaskInvoker};

/// Region used in ARNs and `TaskScheduled` events, as in a default AWS CLI setup.
pub const REGION: &str = "us-east-1";
/// Account id used in ARNs (the one LocalStack and moto use too).
pub const ACCOUNT: &str = "000000000000";
