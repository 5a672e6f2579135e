//! One module per step of the preview workflow; each exposes a [`crate::step::Step`].

pub mod await_expiry;
pub mod capacity;
pub mod extend;
pub mod health;
pub mod launch;
pub mod reaper;
pub mod record_url;
pub mod resume_wait;
pub mod terminate;
pub mod types;
