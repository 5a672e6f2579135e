//! How long a preview may take from launch to healthy: derived from what it builds, because a
//! UI-only preview and one that builds both sides differ by half an hour or more.
//!
//! Each part is about twice its modeled time on the default 2-vCPU instance
//! (`ami/bench/phase-durations.tsv`), so a slow registry or a cold volume does not fail a
//! preview that would have come up, while a hung one is still ended within the hour or so.

use super::request::{Side, ValidRequest};

/// Instance boot, fetch and merge, pulls, start, admin and sample content (modeled ~11 min).
pub const BOOT_MINUTES: u32 = 25;
/// The backend image build (modeled 14 min on 2 vCPUs).
pub const BACKEND_BUILD_MINUTES: u32 = 30;
/// The UI image build (modeled 17.5 min on 2 vCPUs).
pub const UI_BUILD_MINUTES: u32 = 35;

/// Minutes from launch until a preview that is not healthy is ended: the boot plus each build
/// (builds run one after the other on the default instance), at most `cap` (the dial).
pub fn health_deadline_minutes(request: &ValidRequest, cap: u32) -> u32 {
    let builds: u32 = request
        .built_sides()
        .map(|(side, _)| match side {
            Side::Backend => BACKEND_BUILD_MINUTES,
            Side::Ui => UI_BUILD_MINUTES,
        })
        .sum();
    (BOOT_MINUTES + builds).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::{PreviewRequest, RequestRules, SourceInput};

    fn request(repos: &[&str]) -> ValidRequest {
        PreviewRequest {
            sources: repos
                .iter()
                .map(|r| SourceInput {
                    repo: (*r).into(),
                    pr: Some(1),
                    ..Default::default()
                })
                .collect(),
            requester: "t".into(),
            ..Default::default()
        }
        .validate(&RequestRules {
            default_ttl_minutes: 60,
            min_ttl_minutes: 30,
            max_lifetime_minutes: 480,
            env_allowlist: vec![],
        })
        .unwrap()
    }

    #[test]
    fn the_deadline_follows_what_is_built() {
        let backend = health_deadline_minutes(&request(&["DSpace/DSpace"]), 120);
        let ui = health_deadline_minutes(&request(&["DSpace/dspace-angular"]), 120);
        let both =
            health_deadline_minutes(&request(&["DSpace/DSpace", "DSpace/dspace-angular"]), 120);
        assert_eq!((backend, ui, both), (55, 60, 90));
    }

    #[test]
    fn the_dial_caps_it() {
        let both = request(&["DSpace/DSpace", "DSpace/dspace-angular"]);
        assert_eq!(health_deadline_minutes(&both, 45), 45);
        assert_eq!(health_deadline_minutes(&both, 0), 0);
    }
}
