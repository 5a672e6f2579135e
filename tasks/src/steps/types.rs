//! The pieces of workflow state that several steps read (what earlier steps wrote).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::build_cache::{CacheLookup, Side};

/// What `launch` wrote at `$.instance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchedInstance {
    /// EC2 instance id.
    pub instance_id: String,
    /// The AMI launched.
    pub image_id: String,
    /// The instance type.
    pub instance_type: String,
    /// True when it runs on spot capacity.
    pub spot: bool,
    /// When RunInstances answered.
    pub launched_at: DateTime<Utc>,
    /// After this the health check gives up.
    pub health_deadline: DateTime<Utc>,
    /// What the build cache held for each built side when it launched.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build_cache: BTreeMap<Side, CacheLookup>,
}

/// When the preview stops, as `$.ready.expiry` holds it (AwaitExpiry's `TimeoutSecondsPath` reads `seconds_left`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiry {
    /// The expiry time.
    pub expires_at: DateTime<Utc>,
    /// Seconds from when it was computed until the expiry (at least 1).
    pub seconds_left: u64,
}

/// What `record_url` wrote at `$.ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// The instance's public DNS name.
    pub public_dns: String,
    /// The UI URL.
    pub ui_url: String,
    /// The REST URL.
    pub rest_url: String,
    /// When the health check passed.
    pub ready_at: DateTime<Utc>,
    /// The current expiry (Extend replaces it).
    pub expiry: Expiry,
}

/// The callback payload the web app sends with `SendTaskSuccess` (at `$.callback`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Callback {
    /// `extend` or `stop`.
    pub action: String,
    /// Minutes to extend by (extend only).
    #[serde(default)]
    pub minutes: Option<u32>,
    /// Who pressed the button or followed the link.
    #[serde(default)]
    pub by: Option<String>,
}
