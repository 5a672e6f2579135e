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
    /// The preview's DNS name when the deployment has a domain (also the instance's
    /// `public-name` tag): terminate deletes its record even after the instance is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_name: Option<String>,
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
    /// The instance's public DNS name: its own name under the deployment's domain when there
    /// is one, else EC2's.
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

/// The callback sent with `SendTaskSuccess` to a waiting preview (the web app's buttons and
/// links, or a pending stop request), at `$.callback`. On the wire
/// `{"action":"extend","minutes":60,"by":"alice"}` or `{"action":"stop","by":"alice"}`: the
/// ASL's `OnCallback` reads `$.callback.action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Callback {
    /// Push the expiry out.
    Extend {
        /// Minutes asked for (the TTL rules cap what is granted).
        #[serde(default)]
        minutes: u32,
        /// Who pressed the button or followed the link.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// End the preview now.
    Stop {
        /// Who pressed the button, followed the link or asked while it built.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
}

impl Callback {
    /// Who sent it, if it says.
    pub fn by(&self) -> Option<&str> {
        match self {
            Callback::Extend { by, .. } | Callback::Stop { by } => by.as_deref(),
        }
    }
}

/// A Catch's error output (`{"Error","Cause"}`), as a state's `ResultPath` stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaughtError {
    /// The ASL error name.
    #[serde(rename = "Error")]
    pub error: String,
    /// Its cause (AWS leaves it out, or null, on `States.Timeout`).
    #[serde(rename = "Cause", default, deserialize_with = "null_as_empty")]
    pub cause: String,
}

/// A string that may be JSON null, read as empty.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

impl CaughtError {
    /// The ASL error a wait ends with at its TTL.
    pub const TIMEOUT: &'static str = "States.Timeout";

    /// The human part: a Lambda error's `errorMessage` (its Cause is `{"errorType","errorMessage"}`),
    /// else the cause, else the error name (States.Timeout carries no cause).
    pub fn reason(&self) -> String {
        #[derive(Deserialize)]
        struct LambdaCause {
            #[serde(rename = "errorMessage")]
            error_message: String,
        }
        if let Ok(c) = serde_json::from_str::<LambdaCause>(&self.cause) {
            return c.error_message;
        }
        if self.cause.is_empty() {
            self.error.clone()
        } else {
            self.cause.clone()
        }
    }
}

/// How the last wait ended, as `$.callback` holds it after AwaitExpiry: the callback (with the
/// error that failed its extend, which Extend's Catch adds at `$.callback.error`), or the error
/// that ended the wait itself (`States.Timeout` at the TTL, anything else when it was
/// interrupted). Terminate and ResumeWait read it; it never fails to parse, because Terminate
/// must run on every ending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WaitEnded {
    /// A callback arrived.
    Callback {
        /// What it asked for.
        #[serde(flatten)]
        callback: Callback,
        /// Why handling it failed (an extend that failed), if it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<CaughtError>,
    },
    /// The wait itself ended in an error.
    Error(CaughtError),
    /// Anything else a `SendTaskSuccess` carried (an unknown action): treated as a plain stop.
    Other(serde_json::Value),
}

impl WaitEnded {
    /// The error that ended the wait or failed its callback, if one did.
    pub fn error(&self) -> Option<&CaughtError> {
        match self {
            WaitEnded::Callback { error, .. } => error.as_ref(),
            WaitEnded::Error(e) => Some(e),
            WaitEnded::Other(_) => None,
        }
    }

    /// True when the TTL passed.
    pub fn timed_out(&self) -> bool {
        matches!(self, WaitEnded::Error(e) if e.error == CaughtError::TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn callbacks_keep_their_wire_form() {
        let extend = Callback::Extend {
            minutes: 60,
            by: Some("alice".into()),
        };
        assert_eq!(
            serde_json::to_value(&extend).unwrap(),
            json!({"action": "extend", "minutes": 60, "by": "alice"})
        );
        let stop: Callback =
            serde_json::from_value(json!({"action": "stop", "by": "bob"})).unwrap();
        assert_eq!(stop.by(), Some("bob"));
        assert_eq!(
            serde_json::to_string(&stop).unwrap(),
            r#"{"action":"stop","by":"bob"}"#
        );
    }

    #[test]
    fn a_wait_ends_in_a_callback_an_error_or_something_else() {
        let failed_extend: WaitEnded = serde_json::from_value(json!({
            "action": "extend", "minutes": 30, "by": "carol",
            "error": {"Error": "AwsError", "Cause": "dead"}
        }))
        .unwrap();
        assert_eq!(
            failed_extend.error().map(|e| e.error.as_str()),
            Some("AwsError")
        );
        assert!(matches!(
            failed_extend,
            WaitEnded::Callback {
                callback: Callback::Extend { minutes: 30, .. },
                ..
            }
        ));
        let ttl: WaitEnded =
            serde_json::from_value(json!({"Error": "States.Timeout", "Cause": ""})).unwrap();
        assert!(ttl.timed_out());
        let odd: WaitEnded = serde_json::from_value(json!({"action": "reboot"})).unwrap();
        assert!(matches!(odd, WaitEnded::Other(_)));
        assert!(!odd.timed_out() && odd.error().is_none());
    }
}
