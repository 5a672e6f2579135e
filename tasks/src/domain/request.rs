//! A preview request as the web page sends it, and its validation into a [`ValidRequest`].

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::error::StepError;

/// The backend repository.
pub const BACKEND_REPO: &str = "DSpace/DSpace";
/// The UI repository.
pub const UI_REPO: &str = "DSpace/dspace-angular";
/// The branch most PRs target.
pub const DEFAULT_BASE: &str = "main";
/// The base branches a preview can run on: DSpace publishes images for them, and the instance's
/// compose layer is tested against their compose files (`ami/tests/fixtures/compose/`). A PR
/// into any other branch would fail minutes into its build for want of images to pair with.
pub const SUPPORTED_BASES: [&str; 4] = ["main", "dspace-10_x", "dspace-9_x", "dspace-8_x"];
/// The most environment overrides one preview may set.
pub const MAX_ENV_OVERRIDES: usize = 20;
/// The most bytes all environment overrides may take together (they travel in 16 KB of user data).
pub const MAX_ENV_BYTES: usize = 2048;

/// What a person asked for, before validation (the execution input's `request`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// One entry per repository: a PR or a branch.
    #[serde(default)]
    pub sources: Vec<SourceInput>,
    /// Minutes until the preview is stopped; the default TTL when absent.
    #[serde(default)]
    pub ttl_minutes: Option<u32>,
    /// Who asked (GitHub login or e-mail), for tags and the audit log.
    #[serde(default)]
    pub requester: String,
    /// Which sample content to load.
    #[serde(default)]
    pub sample_content: SampleContent,
    /// Backend environment overrides (keys must be on the allowlist).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// The input of one preview's execution, as the web app starts it (the ASL reads
/// `$.preview_id` and `$.request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionInput {
    /// The preview id, also the execution's name.
    pub preview_id: crate::domain::preview_id::PreviewId,
    /// What was asked for, as submitted (CheckCapacity validates it).
    pub request: PreviewRequest,
}

/// One repository's part of a request: a pull request or a branch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    /// `DSpace/DSpace` or `DSpace/dspace-angular`.
    pub repo: String,
    /// The pull request number.
    #[serde(default)]
    pub pr: Option<u64>,
    /// A branch to build instead of a PR.
    #[serde(default)]
    pub branch: Option<String>,
    /// The PR head commit the requester saw (the instance checks it).
    #[serde(default)]
    pub head_sha: Option<String>,
    /// The branch the PR merges into.
    #[serde(default)]
    pub base: Option<String>,
}

/// Which sample content the instance loads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleContent {
    /// The configurable-entities demo data set.
    #[default]
    Entities,
    /// The small AIP ingest.
    Aip,
    /// An empty repository.
    None,
}

impl SampleContent {
    /// The name the boot script understands.
    pub fn as_str(self) -> &'static str {
        match self {
            SampleContent::Entities => "entities",
            SampleContent::Aip => "aip",
            SampleContent::None => "none",
        }
    }
}

/// Which side of DSpace a source builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The REST backend (DSpace/DSpace).
    Backend,
    /// The Angular UI (DSpace/dspace-angular).
    Ui,
}

/// What one side builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A pull request merged into its base.
    Pr {
        /// PR number.
        number: u64,
        /// Expected head commit, if known.
        head_sha: Option<String>,
    },
    /// A branch as it is.
    Branch {
        /// Branch name.
        name: String,
    },
}

/// A request that passed validation: everything the steps need, nothing unchecked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidRequest {
    /// What the backend builds; `None` runs the published image of `base_branch`.
    pub backend: Option<Source>,
    /// What the UI builds; `None` runs the published image of `base_branch`.
    pub ui: Option<Source>,
    /// The branch both sides agree on.
    pub base_branch: String,
    /// Time to live in minutes.
    pub ttl_minutes: u32,
    /// Who asked.
    pub requester: String,
    /// Sample content to load.
    pub sample_content: SampleContent,
    /// Allowed backend environment overrides.
    pub env: BTreeMap<String, String>,
}

/// The limits validation checks against (from the config).
#[derive(Debug, Clone)]
pub struct RequestRules {
    /// TTL when the request names none.
    pub default_ttl_minutes: u32,
    /// Shortest TTL.
    pub min_ttl_minutes: u32,
    /// Longest lifetime of a preview, extensions included.
    pub max_lifetime_minutes: u32,
    /// Environment keys allowed; a trailing `*` matches any suffix.
    pub env_allowlist: Vec<String>,
}

impl PreviewRequest {
    /// The checks that need no run-time dial (the minimum TTL is not one), so a bad request fails
    /// before any AWS call; [`PreviewRequest::validate`] adds the dial-dependent ones.
    pub fn precheck(&self, min_ttl_minutes: u32) -> Result<(), StepError> {
        let lenient = RequestRules {
            default_ttl_minutes: min_ttl_minutes,
            min_ttl_minutes,
            max_lifetime_minutes: u32::MAX,
            env_allowlist: vec!["*".into()],
        };
        self.validate(&lenient).map(|_| ())
    }

    /// Checks the request against the rules; every message says what to change.
    pub fn validate(&self, rules: &RequestRules) -> Result<ValidRequest, StepError> {
        let invalid = |m: String| Err(StepError::InvalidRequest(m));
        if self.sources.is_empty() {
            return invalid(format!(
                "choose a backend PR ({BACKEND_REPO}), a UI PR ({UI_REPO}), or a branch"
            ));
        }
        let mut backend = None;
        let mut ui = None;
        let mut bases = Vec::new();
        for input in &self.sources {
            let side = side_of(&input.repo)?;
            let slot = match side {
                Side::Backend => &mut backend,
                Side::Ui => &mut ui,
            };
            if slot.is_some() {
                return invalid(format!(
                    "{} is named twice; pick one PR or branch per repository",
                    input.repo
                ));
            }
            let (source, base) = validate_source(input)?;
            bases.push((input.repo.clone(), base));
            *slot = Some(source);
        }
        let base_branch = agree_on_base(&bases)?;
        let ttl_minutes = self.ttl_minutes.unwrap_or(rules.default_ttl_minutes);
        if ttl_minutes < rules.min_ttl_minutes {
            return invalid(format!(
                "a TTL of {ttl_minutes} minutes is out of range: choose at least {} minutes",
                rules.min_ttl_minutes
            ));
        }
        if ttl_minutes > rules.max_lifetime_minutes {
            return invalid(format!(
                "a TTL of {ttl_minutes} minutes is out of range: previews live at most {} minutes",
                rules.max_lifetime_minutes
            ));
        }
        let requester = validate_requester(&self.requester)?;
        let env = validate_env(&self.env, &rules.env_allowlist)?;
        Ok(ValidRequest {
            backend,
            ui,
            base_branch,
            ttl_minutes,
            requester,
            sample_content: self.sample_content,
            env,
        })
    }
}

/// Which side a repository name is, or a message listing the two we know.
pub fn side_of(repo: &str) -> Result<Side, StepError> {
    if repo.eq_ignore_ascii_case(BACKEND_REPO) {
        Ok(Side::Backend)
    } else if repo.eq_ignore_ascii_case(UI_REPO) {
        Ok(Side::Ui)
    } else {
        Err(StepError::InvalidRequest(format!(
            "unknown repository '{repo}': previews build {BACKEND_REPO} or {UI_REPO}"
        )))
    }
}

fn validate_source(input: &SourceInput) -> Result<(Source, String), StepError> {
    let invalid = |m: String| Err(StepError::InvalidRequest(m));
    let repo = &input.repo;
    match (input.pr, &input.branch) {
        (Some(_), Some(_)) => invalid(format!("{repo}: give a PR number or a branch, not both")),
        (None, None) => invalid(format!("{repo}: give a PR number or a branch")),
        (Some(0), None) => invalid(format!("{repo}: PR numbers start at 1, got 0")),
        (Some(number), None) => {
            let head_sha = match &input.head_sha {
                Some(sha) if !is_sha(sha) => {
                    return invalid(format!(
                        "{repo}#{number}: head_sha '{sha}' is not a 40-character hex commit id"
                    ))
                }
                other => other.clone(),
            };
            let base = input
                .base
                .clone()
                .unwrap_or_else(|| DEFAULT_BASE.to_string());
            check_branch_name(repo, &base)?;
            Ok((Source::Pr { number, head_sha }, base))
        }
        (None, Some(name)) => {
            check_branch_name(repo, name)?;
            if input.head_sha.is_some() {
                return invalid(format!("{repo}: head_sha goes with a PR, not a branch"));
            }
            let base = input.base.clone().unwrap_or_else(|| {
                if is_maintained_branch(name) {
                    name.clone()
                } else {
                    DEFAULT_BASE.to_string()
                }
            });
            check_branch_name(repo, &base)?;
            Ok((Source::Branch { name: name.clone() }, base))
        }
    }
}

fn agree_on_base(bases: &[(String, String)]) -> Result<String, StepError> {
    let (first_repo, first) = &bases[0];
    if !SUPPORTED_BASES.contains(&first.as_str()) {
        return Err(StepError::InvalidRequest(format!(
            "{first_repo} targets '{first}', which has no published DSpace images to pair with: previews run on {}",
            SUPPORTED_BASES.join(", ")
        )));
    }
    for (repo, base) in &bases[1..] {
        if base != first {
            return Err(StepError::InvalidRequest(format!(
                "{first_repo} targets '{first}' but {repo} targets '{base}': pair PRs with the same base branch"
            )));
        }
    }
    Ok(first.clone())
}

/// `main` and the maintained `dspace-N_x` branches, which have published images.
pub fn is_maintained_branch(name: &str) -> bool {
    name == "main"
        || name
            .strip_prefix("dspace-")
            .and_then(|rest| rest.strip_suffix("_x"))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Branch names reach a shell on the instance: allow git's common safe subset only.
fn check_branch_name(repo: &str, name: &str) -> Result<(), StepError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with(['-', '.', '/'])
        && !name.contains("..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if ok {
        Ok(())
    } else {
        Err(StepError::InvalidRequest(format!(
            "{repo}: branch '{name}' is not a valid branch name (letters, digits, - _ . / only, at most 100)"
        )))
    }
}

fn validate_requester(requester: &str) -> Result<String, StepError> {
    let r = requester.trim();
    let ok = !r.is_empty()
        && r.len() <= 100
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+'));
    if ok {
        Ok(r.to_string())
    } else {
        Err(StepError::InvalidRequest(format!(
            "requester '{requester}' must be a GitHub login or an e-mail address (at most 100 characters)"
        )))
    }
}

fn validate_env(
    env: &BTreeMap<String, String>,
    allowlist: &[String],
) -> Result<BTreeMap<String, String>, StepError> {
    if env.len() > MAX_ENV_OVERRIDES {
        return Err(StepError::InvalidRequest(format!(
            "{} environment overrides given; at most {MAX_ENV_OVERRIDES} are allowed",
            env.len()
        )));
    }
    let total: usize = env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    if total > MAX_ENV_BYTES {
        return Err(StepError::InvalidRequest(format!(
            "environment overrides take {total} bytes; at most {MAX_ENV_BYTES} are allowed"
        )));
    }
    for (key, value) in env {
        if !allowlist.iter().any(|pattern| key_matches(pattern, key)) {
            return Err(StepError::InvalidRequest(format!(
                "environment override '{key}' is not allowed; allowed: {}",
                allowlist.join(", ")
            )));
        }
        // Values end up in a shell script and a compose file: no quoting characters at all.
        let safe = value.len() <= 256
            && value.chars().all(|c| {
                c.is_ascii_graphic() && !matches!(c, '\'' | '"' | '`' | '$' | '\\') || c == ' '
            });
        if !safe {
            return Err(StepError::InvalidRequest(format!(
                "environment override '{key}': values may hold printable ASCII without quotes, $, ` or \\ (at most 256 characters)"
            )));
        }
    }
    Ok(env.clone())
}

/// A `local.cfg` key as the environment variable DSpace's images read: `.` is `__P__` and `-` is
/// `__D__` (`researcher-profile.entity-type` → `researcher__D__profile__P__entity__D__type`).
pub fn env_key(cfg_key: &str) -> String {
    cfg_key.replace('.', "__P__").replace('-', "__D__")
}

/// The `local.cfg` key of such a variable (or of an allowlist pattern), for people to read.
pub fn cfg_key(env_key: &str) -> String {
    env_key.replace("__P__", ".").replace("__D__", "-")
}

fn key_matches(pattern: &str, key: &str) -> bool {
    let key_ok = !key.is_empty()
        && key.len() <= 100
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    key_ok
        && match pattern.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix) && key.len() > prefix.len(),
            None => pattern == key,
        }
}

impl ValidRequest {
    /// The sources as (side, source) pairs, backend first.
    pub fn built_sides(&self) -> impl Iterator<Item = (Side, &Source)> {
        [(Side::Backend, &self.backend), (Side::Ui, &self.ui)]
            .into_iter()
            .filter_map(|(side, source)| source.as_ref().map(|s| (side, s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> RequestRules {
        RequestRules {
            default_ttl_minutes: 120,
            min_ttl_minutes: 30,
            max_lifetime_minutes: 480,
            env_allowlist: vec!["dspace__P__name".into(), "webui__P__*".into()],
        }
    }

    fn pr(repo: &str, n: u64) -> SourceInput {
        SourceInput {
            repo: repo.into(),
            pr: Some(n),
            ..Default::default()
        }
    }

    fn request(sources: Vec<SourceInput>) -> PreviewRequest {
        PreviewRequest {
            sources,
            requester: "alice".into(),
            ..Default::default()
        }
    }

    fn message(r: Result<ValidRequest, StepError>) -> String {
        match r {
            Err(StepError::InvalidRequest(m)) => m,
            other => panic!("expected InvalidRequest, got {other:?}"),
        }
    }

    #[test]
    fn backend_pr_with_defaults() {
        let v = request(vec![pr("DSpace/DSpace", 9876)])
            .validate(&rules())
            .unwrap();
        assert_eq!(
            v.backend,
            Some(Source::Pr {
                number: 9876,
                head_sha: None
            })
        );
        assert_eq!(v.ui, None);
        assert_eq!(v.base_branch, "main");
        assert_eq!(v.ttl_minutes, 120);
        assert_eq!(v.sample_content, SampleContent::Entities);
    }

    #[test]
    fn both_prs_must_share_a_base() {
        let mut ui = pr("DSpace/dspace-angular", 4000);
        ui.base = Some("dspace-9_x".into());
        let m = message(request(vec![pr("DSpace/DSpace", 1), ui.clone()]).validate(&rules()));
        assert!(m.contains("same base branch"), "{m}");
        let mut backend = pr("DSpace/DSpace", 1);
        backend.base = Some("dspace-9_x".into());
        let v = request(vec![backend, ui]).validate(&rules()).unwrap();
        assert_eq!(v.base_branch, "dspace-9_x");
        assert_eq!(v.built_sides().count(), 2);
    }

    #[test]
    fn refuses_a_base_without_published_images_before_anything_else() {
        for base in ["feature/new-ui", "dspace-7_x", "dspace-11_x"] {
            let mut backend = pr("DSpace/DSpace", 1);
            backend.base = Some(base.into());
            let request = request(vec![backend]);
            let m = message(request.validate(&rules()));
            assert!(m.contains(&format!("targets '{base}'")), "{m}");
            assert!(
                m.contains("main, dspace-10_x, dspace-9_x, dspace-8_x"),
                "{m}"
            );
            assert!(
                request.precheck(30).is_err(),
                "precheck lets {base} through"
            );
        }
    }

    #[test]
    fn every_supported_base_has_compose_fixtures_the_instance_is_tested_with() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ami/tests/fixtures/compose");
        let mut found: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        found.sort();
        let mut expected: Vec<String> = SUPPORTED_BASES.map(String::from).to_vec();
        expected.sort();
        assert_eq!(found, expected);
    }

    #[test]
    fn maintained_branch_is_its_own_base() {
        let src = SourceInput {
            repo: "DSpace/DSpace".into(),
            branch: Some("dspace-8_x".into()),
            ..Default::default()
        };
        let v = request(vec![src]).validate(&rules()).unwrap();
        assert_eq!(v.base_branch, "dspace-8_x");
        let feature = SourceInput {
            repo: "DSpace/DSpace".into(),
            branch: Some("feature/x".into()),
            ..Default::default()
        };
        assert_eq!(
            request(vec![feature])
                .validate(&rules())
                .unwrap()
                .base_branch,
            "main"
        );
    }

    #[test]
    fn rejects_unknown_repository() {
        let m = message(request(vec![pr("DSpace/other", 3)]).validate(&rules()));
        assert!(m.contains("unknown repository 'DSpace/other'"), "{m}");
    }

    #[test]
    fn rejects_pr_zero() {
        let m = message(request(vec![pr("DSpace/DSpace", 0)]).validate(&rules()));
        assert!(m.contains("start at 1"), "{m}");
    }

    #[test]
    fn rejects_short_ttl_with_the_range() {
        let mut r = request(vec![pr("DSpace/DSpace", 3)]);
        r.ttl_minutes = Some(5);
        let m = message(r.validate(&rules()));
        assert!(m.contains("at least 30 minutes"), "{m}");
        r.ttl_minutes = Some(481);
        let m = message(r.validate(&rules()));
        assert!(m.contains("at most 480 minutes"), "{m}");
    }

    #[test]
    fn rejects_neither_pr_nor_branch() {
        assert!(message(request(vec![]).validate(&rules())).contains("choose a backend PR"));
        let src = SourceInput {
            repo: "DSpace/DSpace".into(),
            ..Default::default()
        };
        assert!(
            message(request(vec![src]).validate(&rules())).contains("give a PR number or a branch")
        );
    }

    #[test]
    fn rejects_duplicates_bad_sha_and_shell_characters() {
        let m = message(
            request(vec![pr("DSpace/DSpace", 1), pr("dspace/dspace", 2)]).validate(&rules()),
        );
        assert!(m.contains("named twice"), "{m}");
        let mut bad = pr("DSpace/DSpace", 1);
        bad.head_sha = Some("abc".into());
        assert!(message(request(vec![bad]).validate(&rules())).contains("40-character"));
        let branch = SourceInput {
            repo: "DSpace/DSpace".into(),
            branch: Some("x;rm -rf /".into()),
            ..Default::default()
        };
        assert!(
            message(request(vec![branch]).validate(&rules())).contains("not a valid branch name")
        );
    }

    #[test]
    fn env_overrides_follow_the_allowlist() {
        let mut r = request(vec![pr("DSpace/DSpace", 1)]);
        r.env.insert("webui__P__browse".into(), "true".into());
        r.env.insert("dspace__P__name".into(), "My preview".into());
        assert_eq!(r.validate(&rules()).unwrap().env.len(), 2);
        r.env.insert("db__P__url".into(), "x".into());
        assert!(message(r.validate(&rules())).contains("'db__P__url' is not allowed"));
        let mut q = request(vec![pr("DSpace/DSpace", 1)]);
        q.env.insert("dspace__P__name".into(), "$(id)".into());
        assert!(message(q.validate(&rules())).contains("without quotes"));
    }

    #[test]
    fn dashes_in_cfg_keys_become_dspaces_d_marker_and_match_the_default_allowlist() {
        let key = env_key("researcher-profile.entity-type");
        assert_eq!(key, "researcher__D__profile__P__entity__D__type");
        assert_eq!(cfg_key(&key), "researcher-profile.entity-type");
        let defaults = crate::config::Config::default().request_rules();
        let mut r = request(vec![pr("DSpace/DSpace", 1)]);
        r.env.insert(key, "Person".into());
        assert_eq!(r.validate(&defaults).unwrap().env.len(), 1);
        assert!(
            defaults.env_allowlist.iter().all(|p| p
                .trim_end_matches('*')
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')),
            "every default entry can match a key (no '-' or '.')"
        );
    }

    #[test]
    fn precheck_catches_what_needs_no_dial() {
        let mut r = request(vec![pr("DSpace/DSpace", 1)]);
        assert!(r.precheck(30).is_ok());
        r.ttl_minutes = Some(5);
        assert!(r.precheck(30).is_err());
        r.ttl_minutes = Some(5000);
        r.env.insert("any__P__key".into(), "v".into());
        assert!(
            r.precheck(30).is_ok(),
            "the maximum and the allowlist are run-time dials"
        );
        assert!(request(vec![pr("DSpace/x", 1)]).precheck(30).is_err());
    }

    #[test]
    fn requester_is_required() {
        let mut r = request(vec![pr("DSpace/DSpace", 1)]);
        r.requester = " ".into();
        assert!(message(r.validate(&rules())).contains("GitHub login"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err =
            serde_json::from_value::<PreviewRequest>(serde_json::json!({"sources": [], "tll": 3}));
        assert!(err.unwrap_err().to_string().contains("unknown field `tll`"));
    }
}
