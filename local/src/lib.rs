//! The local service and the tests' emulated account: moto's server ([`moto`]) and our account
//! set up in it ([`seed`]), the engine running `statemachine/preview.asl.json` with the real step
//! handlers in-process ([`preview`]), a stand-in for the instances that cannot boot here
//! ([`stand_in`]), and the recorded-GitHub server ([`github_replay`]).
//!
//! Nothing here is linked into a Lambda: the steps (`preview-tasks`) and the engine
//! (`preview-statemachine`) do not depend on this crate.

pub mod cache_push;
pub mod error;
pub mod github_replay;
pub mod moto;
pub mod preview;
#[cfg(feature = "test-util")]
pub mod reporting_instance;
pub mod seed;
pub mod stand_in;

pub use error::{LocalError, Result};
pub use moto::Moto;
pub use seed::{local_ctx, sdk_config, seed};
