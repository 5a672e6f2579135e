//! Where a preview is, as its PR is told: read from the execution alone, so any call (late,
//! repeated, out of order) says the current truth.

use chrono::{DateTime, Utc};
use preview_tasks::domain::phase::Phase;

use crate::audit::{self, Event};

/// What the PR comment and the deployment status say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Launching or building; `phase` is the workflow's.
    Building {
        /// The workflow's phase.
        phase: Phase,
    },
    /// DSpace answers.
    Ready {
        /// The UI's URL.
        ui_url: String,
        /// The REST API's URL.
        rest_url: String,
        /// When it stops unless extended.
        expires_at: Option<DateTime<Utc>>,
    },
    /// The workflow failed (its clean-up has run).
    Failed {
        /// What went wrong, as the audit log says it.
        reason: String,
    },
    /// Over: stopped, extended to its limit, or its TTL ran out.
    Ended {
        /// How it ended, as the audit log says it.
        reason: String,
    },
}

impl Stage {
    /// The stage of an execution with `status` (RUNNING, SUCCEEDED, …) and history `events`.
    pub fn of(status: &str, events: &[Event]) -> Stage {
        let last_words = || {
            audit::audit_log(events)
                .pop()
                .map(|e| e.what)
                .unwrap_or_else(|| format!("the workflow ended ({status})"))
        };
        match status {
            "RUNNING" => {}
            "SUCCEEDED" | "ABORTED" => {
                return Stage::Ended {
                    reason: last_words(),
                }
            }
            _ => {
                return Stage::Failed {
                    reason: last_words(),
                }
            }
        }
        let urls = audit::urls(events);
        match (urls.first(), urls.get(1)) {
            (Some((_, ui)), Some((_, rest))) => Stage::Ready {
                ui_url: ui.clone(),
                rest_url: rest.clone(),
                expires_at: audit::expiry(events),
            },
            _ => Stage::Building {
                phase: audit::phase(events),
            },
        }
    }

    /// The GitHub deployment state that goes with it.
    pub fn deployment_state(&self) -> &'static str {
        match self {
            Stage::Building { .. } => "in_progress",
            Stage::Ready { .. } => "success",
            Stage::Failed { .. } => "failure",
            Stage::Ended { .. } => "inactive",
        }
    }
}
