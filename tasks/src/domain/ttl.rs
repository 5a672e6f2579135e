//! TTL rules: when a preview expires, how extending works, and the hard maximum lifetime.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The extension steps a person can pick, in minutes.
pub const EXTEND_STEPS: [u32; 2] = [30, 60];

/// The lifetime limits of one deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// No preview lives longer than this after launch, extensions included.
    pub max_lifetime_minutes: u32,
}

/// The result of an extend request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The new expiry.
    pub expires_at: DateTime<Utc>,
    /// Minutes actually added (less than asked when capped).
    pub granted_minutes: i64,
    /// True when the hard maximum lifetime cut the extension short.
    pub capped: bool,
}

impl Lifetime {
    /// The latest a preview launched at `launched_at` may live.
    pub fn hard_stop(&self, launched_at: DateTime<Utc>) -> DateTime<Utc> {
        launched_at + Duration::minutes(i64::from(self.max_lifetime_minutes))
    }

    /// The first expiry: the TTL counts from when the preview became ready.
    pub fn first_expiry(
        &self,
        launched_at: DateTime<Utc>,
        ready_at: DateTime<Utc>,
        ttl_minutes: u32,
    ) -> DateTime<Utc> {
        (ready_at + Duration::minutes(i64::from(ttl_minutes))).min(self.hard_stop(launched_at))
    }

    /// Extends by `minutes` (one of [`EXTEND_STEPS`]) from the later of now and the current expiry.
    pub fn extend(
        &self,
        launched_at: DateTime<Utc>,
        current: DateTime<Utc>,
        now: DateTime<Utc>,
        minutes: u32,
    ) -> Result<Extension, String> {
        if !EXTEND_STEPS.contains(&minutes) {
            return Err(format!("extend by 30 or 60 minutes, not {minutes}"));
        }
        let from = current.max(now);
        let wanted = from + Duration::minutes(i64::from(minutes));
        let cap = self.hard_stop(launched_at);
        let expires_at = wanted.min(cap).max(current);
        Ok(Extension {
            expires_at,
            granted_minutes: (expires_at - current).num_minutes(),
            capped: wanted > cap,
        })
    }
}

/// Whole seconds from `now` until `expires_at`, at least 1 (Step Functions timeouts must be positive).
pub fn seconds_until(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    u64::try_from((expires_at - now).num_seconds())
        .unwrap_or(0)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, h, m, 0).unwrap()
    }

    const EIGHT_HOURS: Lifetime = Lifetime {
        max_lifetime_minutes: 480,
    };

    #[test]
    fn first_expiry_counts_from_ready_and_respects_the_cap() {
        assert_eq!(EIGHT_HOURS.first_expiry(t(8, 0), t(8, 20), 120), t(10, 20));
        assert_eq!(EIGHT_HOURS.first_expiry(t(8, 0), t(15, 50), 120), t(16, 0));
    }

    #[test]
    fn extend_adds_from_the_current_expiry() {
        let e = EIGHT_HOURS.extend(t(8, 0), t(10, 0), t(9, 30), 60).unwrap();
        assert_eq!(
            e,
            Extension {
                expires_at: t(11, 0),
                granted_minutes: 60,
                capped: false
            }
        );
    }

    #[test]
    fn extend_is_capped_at_the_hard_maximum() {
        let e = EIGHT_HOURS
            .extend(t(8, 0), t(15, 40), t(15, 0), 60)
            .unwrap();
        assert_eq!(
            e,
            Extension {
                expires_at: t(16, 0),
                granted_minutes: 20,
                capped: true
            }
        );
        let none = EIGHT_HOURS
            .extend(t(8, 0), t(16, 0), t(15, 59), 30)
            .unwrap();
        assert_eq!(none.granted_minutes, 0);
        assert!(none.capped);
    }

    #[test]
    fn extend_refuses_odd_steps() {
        assert!(EIGHT_HOURS
            .extend(t(8, 0), t(9, 0), t(8, 30), 45)
            .unwrap_err()
            .contains("30 or 60"));
    }

    #[test]
    fn seconds_until_is_positive() {
        assert_eq!(seconds_until(t(10, 0), t(9, 0)), 3600);
        assert_eq!(seconds_until(t(9, 0), t(10, 0)), 1);
    }
}
