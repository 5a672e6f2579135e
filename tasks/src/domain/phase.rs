//! The lifecycle phase of a preview: one vocabulary for the instance's phase tag, the audit log
//! and the pages.

use std::fmt;
use std::str::FromStr;

use super::states;

/// Where a preview is in its life, in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// The request is being checked and a slot taken.
    #[default]
    Capacity,
    /// The instance was just launched.
    Launching,
    /// The boot script is fetching, building or starting DSpace.
    Building,
    /// DSpace answered every health check.
    Healthy,
    /// Waiting for the TTL, extend or stop.
    Expiring,
    /// Being terminated.
    Ending,
    /// Over: its instance is (being) terminated and the workflow succeeded.
    Ended,
    /// The workflow failed (its clean-up has run).
    Failed,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 8] = [
        Phase::Capacity,
        Phase::Launching,
        Phase::Building,
        Phase::Healthy,
        Phase::Expiring,
        Phase::Ending,
        Phase::Ended,
        Phase::Failed,
    ];

    /// Its spelling on tags and pages (also a CSS class).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Capacity => "capacity",
            Phase::Launching => "launching",
            Phase::Building => "building",
            Phase::Healthy => "healthy",
            Phase::Expiring => "expiring",
            Phase::Ending => "ending",
            Phase::Ended => "ended",
            Phase::Failed => "failed",
        }
    }

    /// The phase a preview is in once the workflow enters `state`; `None` for a state that is not
    /// one of the definition's.
    pub fn of_state(state: &str) -> Option<Phase> {
        Some(match state {
            states::CHECK_CAPACITY => Phase::Capacity,
            states::LAUNCH => Phase::Launching,
            states::CHECK_HEALTH | states::IS_HEALTHY => Phase::Building,
            states::RECORD_URL => Phase::Healthy,
            states::ANNOUNCE_READY
            | states::AWAIT_EXPIRY
            | states::ON_CALLBACK
            | states::EXTEND
            | states::RESUME_WAIT => Phase::Expiring,
            states::TERMINATE
            | states::CLEAN_UP_AFTER_FAILURE
            | states::STOP_WHILE_BUILDING
            | states::RELEASE_SLOT
            | states::ENDED
            | states::FAILED
            | states::CLEAN_UP_FAILED => Phase::Ending,
            _ => return None,
        })
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A spelling that is no phase (a tag written by hand, or by a newer version).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a preview phase (one of capacity, launching, building, healthy, expiring, ending, ended, failed)")]
pub struct UnknownPhase(pub String);

impl FromStr for Phase {
    type Err = UnknownPhase;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPhase(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_reads_back_from_its_spelling() {
        for p in Phase::ALL {
            assert_eq!(p.as_str().parse::<Phase>(), Ok(p));
        }
        assert!("Building".parse::<Phase>().is_err());
    }

    #[test]
    fn every_state_of_the_definition_has_a_phase() {
        for s in states::ALL {
            assert!(Phase::of_state(s).is_some(), "{s}");
        }
        assert_eq!(Phase::of_state("NoSuchState"), None);
        assert_eq!(Phase::of_state(states::IS_HEALTHY), Some(Phase::Building));
    }
}
