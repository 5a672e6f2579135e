//! The forms people post, and turning what they typed into requests: pure, so a typo is caught
//! before any AWS or GitHub call and can be tested without either.

use std::collections::BTreeMap;

use preview_tasks::domain::request::{
    env_key, PreviewRequest, SampleContent, SourceInput, BACKEND_REPO, UI_REPO,
};
use serde::Deserialize;

use crate::error::WebError;

/// What the launch form shows (the values a person typed, kept on errors).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LaunchForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// Backend PR number.
    #[serde(default)]
    pub backend_pr: String,
    /// Backend branch.
    #[serde(default)]
    pub backend_branch: String,
    /// UI PR number.
    #[serde(default)]
    pub ui_pr: String,
    /// UI branch.
    #[serde(default)]
    pub ui_branch: String,
    /// TTL in minutes.
    #[serde(default)]
    pub ttl_minutes: String,
    /// entities, aip or none.
    #[serde(default)]
    pub sample_content: String,
    /// Backend environment overrides, one `KEY=value` per line.
    #[serde(default)]
    pub env: String,
    /// Set once the form suggested a pairing, so it is not suggested twice.
    #[serde(default)]
    pub paired: String,
}

impl LaunchForm {
    /// The form as a request by `requester`, or the message saying what to fix.
    pub fn request(&self, requester: &str) -> Result<PreviewRequest, WebError> {
        let mut sources = Vec::new();
        for (repo, pr, branch, side) in [
            (
                BACKEND_REPO,
                &self.backend_pr,
                &self.backend_branch,
                "backend",
            ),
            (UI_REPO, &self.ui_pr, &self.ui_branch, "UI"),
        ] {
            let (pr, branch) = (pr_number_text(pr), branch.trim());
            if pr.is_empty() && branch.is_empty() {
                continue;
            }
            let pr = match pr {
                "" => None,
                n => Some(n.parse::<u64>().map_err(|_| {
                    WebError::BadRequest(format!("the {side} PR number '{n}' is not a number"))
                })?),
            };
            sources.push(SourceInput {
                repo: repo.into(),
                pr,
                branch: (!branch.is_empty()).then(|| branch.to_string()),
                ..Default::default()
            });
        }
        let ttl_minutes = match self.ttl_minutes.trim() {
            "" => None,
            t => Some(t.parse::<u32>().map_err(|_| {
                WebError::BadRequest(format!(
                    "the time to live '{t}' is not a whole number of minutes"
                ))
            })?),
        };
        let sample_content = match self.sample_content.as_str() {
            "" | "entities" => SampleContent::Entities,
            "aip" => SampleContent::Aip,
            "none" => SampleContent::None,
            other => {
                return Err(WebError::BadRequest(format!(
                    "unknown sample content '{other}'"
                )))
            }
        };
        Ok(PreviewRequest {
            sources,
            ttl_minutes,
            requester: requester.to_string(),
            sample_content,
            env: env_from_form(&self.env)?,
        })
    }

    /// True once the form has suggested the backend PR a UI PR requires; it suggests only once,
    /// so a person who empties the field again gets the published backend.
    pub fn pairing_suggested(&self) -> bool {
        !self.paired.is_empty()
    }

    /// Fills in the backend PR the UI PR requires and remembers that it did; returns the
    /// notice that says so and how to decline.
    pub fn suggest_backend(&mut self, backend_pr: u64, base_branch: &str) -> String {
        self.backend_pr = backend_pr.to_string();
        self.paired = "1".into();
        format!(
            "UI PR #{} says it requires DSpace/DSpace#{backend_pr}, so that is now the backend PR. Press Launch again, or empty the backend field to run the published backend of {base_branch}.",
            pr_number_text(&self.ui_pr),
        )
    }
}

/// A PR field as typed, without spaces or a leading `#`.
fn pr_number_text(field: &str) -> &str {
    field.trim().trim_start_matches('#')
}

/// `key=value` lines as DSpace environment overrides: `dspace.name` becomes `dspace__P__name` and
/// `-` becomes `__D__`, the form DSpace's Docker images read; the allowlist is checked by validation.
pub fn env_from_form(text: &str) -> Result<BTreeMap<String, String>, WebError> {
    let mut env = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(WebError::BadRequest(format!(
                "configuration line {} ('{line}') needs the form key=value",
                n + 1
            )));
        };
        let key = env_key(key.trim());
        if key.is_empty() {
            return Err(WebError::BadRequest(format!(
                "configuration line {} has no key before '='",
                n + 1
            )));
        }
        env.insert(key, value.trim().to_string());
    }
    Ok(env)
}

/// The extend button's form.
#[derive(Debug, Deserialize)]
pub struct ExtendForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// The extension asked for, in minutes.
    #[serde(default)]
    pub minutes: String,
}

impl ExtendForm {
    /// The extension in minutes: only the two the buttons offer, so a hand-made POST cannot ask
    /// for more.
    pub fn minutes(&self) -> Result<u32, WebError> {
        match self.minutes.trim() {
            "30" => Ok(30),
            "60" => Ok(60),
            other => Err(WebError::BadRequest(format!(
                "extend by 30 or 60 minutes, not '{other}'"
            ))),
        }
    }
}

/// A form that carries nothing but its CSRF token (stop, sign-out, the admin password, a link's
/// confirmation).
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SigninForm {
    /// The double-submit token (also in the sign-in cookie).
    #[serde(default)]
    pub csrf: String,
    /// Where to go after signing in.
    #[serde(default)]
    pub next: String,
    /// Who signs in (a GitHub login or an e-mail address).
    #[serde(default)]
    pub name: String,
    /// The shared access code.
    #[serde(default)]
    pub code: String,
}

/// What GitHub sends back to `/auth/github/callback`: a code and our state, or an error (the
/// person declined).
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    /// The one-time code to trade for a token.
    #[serde(default)]
    pub code: String,
    /// The state we sent, which the state cookie must hold.
    #[serde(default)]
    pub state: String,
    /// GitHub's error code (`access_denied`) when there is no code.
    #[serde(default)]
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_a_request() {
        let form = LaunchForm {
            backend_pr: "#9876".into(),
            ui_branch: "main".into(),
            ttl_minutes: "60".into(),
            sample_content: "aip".into(),
            ..Default::default()
        };
        let r = form.request("alice").unwrap();
        assert_eq!(r.sources.len(), 2);
        assert_eq!(r.sources[0].pr, Some(9876));
        assert_eq!(r.sources[1].branch.as_deref(), Some("main"));
        assert_eq!(
            (r.ttl_minutes, r.sample_content),
            (Some(60), SampleContent::Aip)
        );
    }

    #[test]
    fn bad_numbers_say_which_field() {
        let form = LaunchForm {
            ui_pr: "abc".into(),
            ..Default::default()
        };
        let err = form.request("a").unwrap_err();
        assert!(err.to_string().contains("UI PR number 'abc'"), "{err}");
    }
}
