//! Emulated AWS for the local service and the tests: moto's server, our account set-up in it,
//! and a stand-in for the instances that cannot boot here.

pub mod cache_push;
pub mod moto;
#[cfg(feature = "test-util")]
pub mod reporting_instance;
pub mod seed;
pub mod stand_in;

pub use moto::Moto;
pub use seed::{local_ctx, sdk_config, seed};
