//! Emulated AWS for the local service and the tests: moto's server and our account set-up in it.

pub mod moto;
pub mod seed;

pub use moto::Moto;
pub use seed::{local_ctx, sdk_config, seed};
