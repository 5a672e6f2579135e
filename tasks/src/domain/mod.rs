//! The pure domain: requests, ids, TTL rules, tag and parameter names, URLs. No AWS calls here.

pub mod boot_budget;
pub mod build_cache;
pub mod cost;
pub mod names;
pub mod phase;
pub mod preview_id;
pub mod request;
pub mod slots;
pub mod states;
pub mod tags;
pub mod ttl;
pub mod urls;
