//! The DSpace preview steps: the pure domain, one module per step, and the Lambda glue.
//!
//! Each step is a [`step::Step`]; `src/bin/*` runs one as a Lambda, [`registry::invoke`] runs any
//! of them in-process for the local Step Functions engine.

pub mod admin_password;
pub mod aws;
pub mod build_cache;
pub mod config;
pub mod dns;
pub mod domain;
pub mod error;
pub mod instances;
pub mod lambda;
pub mod lifecycle;
pub mod logs;
pub mod parameters;
pub mod registry;
pub mod slots;
pub mod step;
pub mod steps;
pub mod stop_request;
pub mod user_data;

pub use aws::{Clients, Ctx};
pub use config::Config;
pub use error::StepError;
