//! The preview id: readable, unique, and valid as a Step Functions execution name.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

use super::request::{Source, ValidRequest};
use crate::error::StepError;

/// Execution names are at most 80 characters of `[A-Za-z0-9_-]`.
const MAX_LEN: usize = 80;
/// All preview ids start with this, so a human spots them in the console.
pub const PREFIX: &str = "dsp-";

/// A validated preview id, also the execution name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PreviewId(String);

impl PreviewId {
    /// A new id for a request, e.g. `dsp-b9876-u1234-202611281930-ab12`.
    pub fn generate(request: &ValidRequest, now: DateTime<Utc>, random: u16) -> PreviewId {
        let mut parts = vec![PREFIX.trim_end_matches('-').to_string()];
        for (letter, source) in [("b", &request.backend), ("u", &request.ui)] {
            match source {
                Some(Source::Pr { number, .. }) => parts.push(format!("{letter}{number}")),
                Some(Source::Branch { name }) => parts.push(format!("{letter}-{}", slug(name))),
                None => {}
            }
        }
        parts.push(now.format("%Y%m%d%H%M").to_string());
        parts.push(format!("{random:04x}"));
        let mut id = parts.join("-");
        id.truncate(MAX_LEN);
        PreviewId(id)
    }

    /// Parses an id from outside (execution input, a URL), refusing anything else.
    pub fn parse(s: &str) -> Result<PreviewId, StepError> {
        let ok = s.starts_with(PREFIX)
            && s.len() <= MAX_LEN
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(PreviewId(s.to_string()))
        } else {
            Err(StepError::InvalidRequest(format!(
                "'{s}' is not a preview id (dsp-… of letters, digits, - and _, at most {MAX_LEN})"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.chars().take(24).collect()
}

impl fmt::Display for PreviewId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PreviewId {
    type Error = StepError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PreviewId::parse(&s)
    }
}

impl From<PreviewId> for String {
    fn from(id: PreviewId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::SampleContent;
    use chrono::TimeZone;

    fn req(backend: Option<Source>, ui: Option<Source>) -> ValidRequest {
        ValidRequest {
            backend,
            ui,
            base_branch: "main".into(),
            ttl_minutes: 120,
            requester: "a".into(),
            sample_content: SampleContent::None,
            env: Default::default(),
        }
    }

    #[test]
    fn names_both_prs_and_the_time() {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 19, 30, 0).unwrap();
        let id = PreviewId::generate(
            &req(
                Some(Source::Pr {
                    number: 9876,
                    head_sha: None,
                }),
                Some(Source::Pr {
                    number: 1234,
                    head_sha: None,
                }),
            ),
            now,
            0xab12,
        );
        assert_eq!(id.as_str(), "dsp-b9876-u1234-202611281930-ab12");
        assert_eq!(PreviewId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn branch_names_are_slugged_and_length_is_bounded() {
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 0).unwrap();
        let long = "feature/".to_string() + &"x".repeat(200);
        let id = PreviewId::generate(
            &req(
                Some(Source::Branch { name: long.clone() }),
                Some(Source::Branch { name: long }),
            ),
            now,
            1,
        );
        assert!(id.as_str().len() <= 80);
        assert!(id.as_str().starts_with("dsp-b-feature-xxx"));
        assert!(PreviewId::parse(id.as_str()).is_ok());
    }

    #[test]
    fn parse_refuses_foreign_ids() {
        for bad in [
            "",
            "x",
            "dsp-a b",
            "dsp-../etc",
            &format!("dsp-{}", "a".repeat(80)),
        ] {
            assert!(PreviewId::parse(bad).is_err(), "{bad}");
        }
    }
}
