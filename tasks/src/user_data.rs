//! Renders the instance boot script (from `ami/boot/boot.sh`) with one preview's config.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::domain::build_cache::{CacheKey, CacheLookup, Side};
use crate::domain::preview_id::PreviewId;
use crate::domain::public_name;
use crate::domain::request::{Source, ValidRequest, BACKEND_REPO, UI_REPO};
use crate::error::{Result, StepError};

/// The boot script template, compiled in so the Lambda needs no files.
pub const BOOT_SCRIPT: &str = include_str!("../../ami/boot/boot.sh");
/// The line of the template that the config replaces.
pub const CONFIG_MARKER: &str = "# @PREVIEW_CONFIG@";
/// EC2's limit on raw user data.
pub const USER_DATA_LIMIT: usize = 16 * 1024;

/// The user data for one preview: the boot script with its config block filled in.
pub fn render(
    config: &Config,
    region: &str,
    id: &PreviewId,
    request: &ValidRequest,
    admin_password: &str,
    cache: &BTreeMap<Side, CacheLookup>,
) -> Result<String> {
    let names = config.names();
    let (backend_pr, backend_sha, backend_branch) = source_vars(&request.backend);
    let (ui_pr, ui_sha, ui_branch) = source_vars(&request.ui);
    let env_overrides: Vec<String> = request
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let vars: [(&str, String); 20] = [
        ("PREVIEW_ID", id.to_string()),
        ("PREVIEW_STACK", config.stack.clone()),
        ("AWS_REGION", region.to_string()),
        ("LOG_GROUP", names.log_group()),
        ("PARAMETER_PREFIX", names.preview_path(id)),
        (
            "BACKEND_REPO",
            format!("https://github.com/{BACKEND_REPO}.git"),
        ),
        ("UI_REPO", format!("https://github.com/{UI_REPO}.git")),
        ("BACKEND_PR", backend_pr),
        ("BACKEND_SHA", backend_sha),
        ("BACKEND_BRANCH", backend_branch),
        ("UI_PR", ui_pr),
        ("UI_SHA", ui_sha),
        ("UI_BRANCH", ui_branch),
        ("BASE_BRANCH", request.base_branch.clone()),
        (
            "SAMPLE_CONTENT",
            request.sample_content.as_str().to_string(),
        ),
        ("ADMIN_EMAIL", config.admin_email.clone()),
        // User data is the one channel to the instance that no container can read (IMDSv2 with
        // hop limit 1) and that needs no instance permission; ami/README.md says who else can.
        ("ADMIN_PASSWORD", admin_password.to_string()),
        ("ENV_OVERRIDES", env_overrides.join("\n")),
        ("REQUESTER", request.requester.clone()),
        (
            "BUILD_CACHE_REPO",
            config.build_cache_repository.clone().unwrap_or_default(),
        ),
    ];
    // Empty when the deployment has no domain: the instance then serves plain HTTP on port 80.
    let public_name = config
        .public_domain()?
        .map(|d| public_name::for_preview(request, id, &d.suffix))
        .unwrap_or_default();
    let https = [
        ("PREVIEW_PUBLIC_NAME".to_string(), public_name),
        (
            "PREVIEW_ACME_CA".to_string(),
            config.acme_ca.clone().unwrap_or_default(),
        ),
    ];
    let block: String = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .chain(https)
        .chain(cache_vars(cache))
        .map(|(k, v)| format!("{k}={}\n", shell_quote(&v)))
        .collect();
    let mut lines = BOOT_SCRIPT.lines();
    let mut out = String::with_capacity(BOOT_SCRIPT.len() + block.len());
    let mut replaced = false;
    for line in &mut lines {
        if !replaced && line.trim_end() == CONFIG_MARKER {
            out.push_str(&block);
            replaced = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !replaced {
        return Err(StepError::Config(format!(
            "the boot script has no '{CONFIG_MARKER}' line; rebuild with ami/boot/boot.sh"
        )));
    }
    if out.len() > USER_DATA_LIMIT {
        return Err(StepError::InvalidRequest(format!(
            "the rendered boot script is {} bytes, over EC2's {USER_DATA_LIMIT}: use fewer or shorter environment overrides",
            out.len()
        )));
    }
    Ok(out)
}

/// Per built side: the cached image found and the base it was merged into, which the instance
/// merges again so its tag (and so the image) is the same.
fn cache_vars(cache: &BTreeMap<Side, CacheLookup>) -> Vec<(String, String)> {
    [Side::Backend, Side::Ui]
        .into_iter()
        .flat_map(|side| {
            let key = cache
                .get(&side)
                .and_then(|l| l.tag.as_deref())
                .and_then(CacheKey::parse);
            let p = side.var_prefix();
            [
                (
                    format!("{p}_BASE_SHA"),
                    key.as_ref().map(|k| k.base.clone()).unwrap_or_default(),
                ),
                (
                    format!("{p}_CACHE_TAG"),
                    key.map(|k| k.tag()).unwrap_or_default(),
                ),
            ]
        })
        .collect()
}

fn source_vars(source: &Option<Source>) -> (String, String, String) {
    match source {
        Some(Source::Pr { number, head_sha }) => (
            number.to_string(),
            head_sha.clone().unwrap_or_default(),
            String::new(),
        ),
        Some(Source::Branch { name }) => (String::new(), String::new(), name.clone()),
        None => Default::default(),
    }
}

/// Single-quotes a value for POSIX shells.
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r#"'\''"#))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::{PreviewRequest, SourceInput};

    fn largest_request(config: &Config) -> ValidRequest {
        let long_branch = format!("feature/{}", "x".repeat(92));
        let mut request = PreviewRequest {
            sources: vec![
                SourceInput {
                    repo: BACKEND_REPO.into(),
                    branch: Some(long_branch.clone()),
                    base: Some("dspace-10_x".into()),
                    ..Default::default()
                },
                SourceInput {
                    repo: UI_REPO.into(),
                    branch: Some(long_branch),
                    base: Some("dspace-10_x".into()),
                    ..Default::default()
                },
            ],
            requester: "a".repeat(100),
            ..Default::default()
        };
        // Fill the override budget to the byte.
        for i in 0..8 {
            request
                .env
                .insert(format!("webui__P__{i:0>90}"), "v".repeat(154));
        }
        let used: usize = request.env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        assert!(
            used <= crate::domain::request::MAX_ENV_BYTES
                && used > crate::domain::request::MAX_ENV_BYTES - 100,
            "{used}"
        );
        request.validate(&config.request_rules()).unwrap()
    }

    fn hit(side: Side) -> (Side, CacheLookup) {
        let key = CacheKey {
            side,
            head: "a".repeat(40),
            base: "b".repeat(40),
        };
        (
            side,
            CacheLookup {
                status: crate::domain::build_cache::CacheStatus::Hit,
                tag: Some(key.tag()),
            },
        )
    }

    #[test]
    fn the_largest_request_fits_in_user_data() {
        let config = Config {
            build_cache_repository: Some(format!(
                "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com/{}/preview-cache",
                "s".repeat(64)
            )),
            hosted_zone_id: Some("Z0123456789ABCDEFGHIJ".into()),
            domain_name: Some(vec!["d".repeat(62); 3].join(".")),
            acme_ca: Some(format!(
                "https://acme.{}.example.org/directory",
                "c".repeat(60)
            )),
            ..Config::default()
        };
        let id = PreviewId::parse(&format!("dsp-{}", "a".repeat(76))).unwrap();
        let unique = public_name::unique_part(&id);
        let out = render(
            &config,
            "ap-southeast-2",
            &id,
            &largest_request(&config),
            &crate::admin_password::generate(),
            &[hit(Side::Backend), hit(Side::Ui)].into(),
        )
        .unwrap();
        assert!(out.len() <= USER_DATA_LIMIT, "{} bytes", out.len());
        assert!(!out.contains(CONFIG_MARKER));
        let x = "x".repeat(16);
        assert!(
            out.contains(&format!(
                "PREVIEW_PUBLIC_NAME='b-feature-{x}-u-feature-{x}-{unique}.ddd"
            )),
            "the longest name is in the config block"
        );
    }

    #[test]
    fn config_block_is_quoted_and_complete() {
        let config = Config::default();
        let request = PreviewRequest {
            sources: vec![SourceInput {
                repo: BACKEND_REPO.into(),
                pr: Some(42),
                head_sha: Some("a".repeat(40)),
                ..Default::default()
            }],
            requester: "bob".into(),
            ..Default::default()
        }
        .validate(&config.request_rules())
        .unwrap();
        let id = PreviewId::parse("dsp-b42-202611281930-0001").unwrap();
        let out = render(
            &config,
            "us-east-1",
            &id,
            &request,
            "Pw0rd",
            &[hit(Side::Backend)].into(),
        )
        .unwrap();
        assert!(out.starts_with("#!"));
        for line in [
            "PREVIEW_ID='dsp-b42-202611281930-0001'",
            "BACKEND_PR='42'",
            "UI_PR=''",
            "BASE_BRANCH='main'",
            "SAMPLE_CONTENT='entities'",
            "PARAMETER_PREFIX='/dspace-preview/dspace-preview/previews/dsp-b42-202611281930-0001'",
            "ADMIN_PASSWORD='Pw0rd'",
            "BUILD_CACHE_REPO=''",
            // A cached build pins the base it was merged into; the UI side has none.
            &format!("BACKEND_BASE_SHA='{}'", "b".repeat(40)),
            &format!(
                "BACKEND_CACHE_TAG='backend-{}-{}'",
                "a".repeat(40),
                "b".repeat(40)
            ),
            "UI_BASE_SHA=''",
            "UI_CACHE_TAG=''",
            // No domain: the instance serves plain HTTP on its EC2 name.
            "PREVIEW_PUBLIC_NAME=''",
            "PREVIEW_ACME_CA=''",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line}");
        }
    }

    #[test]
    fn with_a_domain_the_instance_learns_its_name() {
        let config = Config {
            hosted_zone_id: Some("Z1".into()),
            domain_name: Some("previews.example.org".into()),
            acme_ca: Some("https://acme-staging-v02.api.letsencrypt.org/directory".into()),
            ..Config::default()
        };
        let request = PreviewRequest {
            sources: vec![
                SourceInput {
                    repo: BACKEND_REPO.into(),
                    pr: Some(10003),
                    ..Default::default()
                },
                SourceInput {
                    repo: UI_REPO.into(),
                    pr: Some(4415),
                    ..Default::default()
                },
            ],
            requester: "bob".into(),
            ..Default::default()
        }
        .validate(&config.request_rules())
        .unwrap();
        let id = PreviewId::parse("dsp-b10003-u4415-202611281930-ab12").unwrap();
        let out = render(&config, "us-east-1", &id, &request, "pw", &BTreeMap::new()).unwrap();
        for line in [
            "PREVIEW_PUBLIC_NAME='b10003-u4415-ab12.previews.example.org'",
            "PREVIEW_ACME_CA='https://acme-staging-v02.api.letsencrypt.org/directory'",
        ] {
            assert!(out.lines().any(|l| l == line), "missing {line}");
        }
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("it's"), r#"'it'\''s'"#);
    }
}
