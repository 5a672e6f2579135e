//! The pure domain: requests, ids, TTL rules, tag and parameter names, DNS names, URLs. No AWS calls here.

pub mod boot_budget;
pub mod build_cache;
pub mod cost;
pub mod names;
pub mod phase;
pub mod preview_id;
pub mod public_name;
pub mod request;
pub mod slots;
pub mod states;
pub mod tags;
pub mod ttl;
pub mod urls;
