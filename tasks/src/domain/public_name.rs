//! A preview's friendly DNS name under the deployment's domain (`domain-name`), e.g.
//! `b10003-u4415-ab12.previews.example.org` for backend PR 10003 with UI PR 4415.
//!
//! The first label names what the preview runs (`b<PR>` or `b-<branch slug>`, then `u…` for the
//! UI) and always ends with four hex digits unique to the preview: the random part of its id
//! (`dsp-…-ab12`), or a hash of the id when the id has none. Two live previews of the same PRs
//! (a push replacing a preview, two people asking) therefore never share a name, and a name
//! never outlives its preview into the next one's certificate or DNS record.

use super::preview_id::PreviewId;
use super::request::{Source, ValidRequest};

/// DNS's limit on one label.
pub const MAX_LABEL: usize = 63;
/// DNS's limit on a whole name (without the root dot).
pub const MAX_NAME: usize = 253;
/// The longest suffix: room for one full label and its dot.
pub const MAX_SUFFIX: usize = MAX_NAME - MAX_LABEL - 1;
/// A branch contributes at most this much of its slug, so both sides and the unique part fit
/// in one label (`b-` 24 `-u-` 24 `-abcd` = 57).
const MAX_SLUG: usize = 24;

/// The preview's DNS name (`<label>.<suffix>`, lower case, no trailing dot).
pub fn for_preview(request: &ValidRequest, id: &PreviewId, suffix: &str) -> String {
    format!("{}.{}", label(request, id), normalize(suffix))
}

/// The first label of a preview's name: what it runs, then its unique part.
pub fn label(request: &ValidRequest, id: &PreviewId) -> String {
    let mut parts = Vec::new();
    for (letter, source) in [("b", &request.backend), ("u", &request.ui)] {
        match source {
            Some(Source::Pr { number, .. }) => parts.push(format!("{letter}{number}")),
            Some(Source::Branch { name }) => match slug(name).as_str() {
                "" => parts.push(letter.to_string()),
                s => parts.push(format!("{letter}-{s}")),
            },
            None => {}
        }
    }
    if parts.is_empty() {
        parts.push("p".into());
    }
    let unique = unique_part(id);
    let mut head = parts.join("-");
    // Unreachable with today's limits (a PR number has at most 20 digits), kept so the
    // label limit holds whatever the parts become.
    head.truncate(MAX_LABEL - unique.len() - 1);
    format!("{}-{unique}", head.trim_end_matches('-'))
}

/// Four hex digits that tell two previews of the same sources apart: the id's random part
/// when it ends with one (every generated id does), else a hash of the whole id.
pub fn unique_part(id: &PreviewId) -> String {
    let last = id.as_str().rsplit('-').next().unwrap_or_default();
    if last.len() == 4 && last.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return last.to_string();
    }
    // FNV-1a: stable across builds and platforms, unlike std's hasher.
    let hash = id.as_str().bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{:04x}", hash & 0xffff)
}

/// A branch name as a DNS-safe fragment: lower case `[a-z0-9]`, anything else one `-`, no
/// `-` at either end, at most [`MAX_SLUG`] characters.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(MAX_SLUG);
    out.trim_end_matches('-').to_string()
}

/// A suffix as Route 53 and the names compare it: lower case, no trailing dot.
pub fn normalize(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Why `suffix` cannot hold preview names, if it cannot.
pub fn check_suffix(suffix: &str) -> Result<(), String> {
    let suffix = normalize(suffix);
    if suffix.len() > MAX_SUFFIX {
        return Err(format!(
            "'{suffix}' is {} characters; at most {MAX_SUFFIX} leave room for a preview's label",
            suffix.len()
        ));
    }
    for label in suffix.split('.') {
        if !valid_label(label) {
            return Err(format!(
                "'{suffix}' has the label '{label}': each must be 1 to {MAX_LABEL} of a-z, 0-9 and -, not starting or ending with -"
            ));
        }
    }
    Ok(())
}

/// One DNS label of `[a-z0-9-]`, 1 to 63 long, no `-` at either end.
pub fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The label of `name` when it is exactly one label under `suffix` and shaped like a label
/// [`label`] makes, for the reaper's sweep of stray records: a zone shared with other names
/// (`www`, `blog-2024`) must never lose them to the sweep.
pub fn label_under<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    let suffix = normalize(suffix);
    let name = name.trim_end_matches('.');
    let head = name.strip_suffix(suffix.as_str())?.strip_suffix('.')?;
    (valid_label(head) && !head.contains('.') && is_preview_label(head)).then_some(head)
}

/// Whether `label` has the shape [`label`] gives: `b…`, `u…` (each a PR number or `-` and a
/// branch slug) or `p`, then `-` and four hex digits.
fn is_preview_label(label: &str) -> bool {
    let Some((head, unique)) = label.rsplit_once('-') else {
        return false;
    };
    let unique_ok = unique.len() == 4
        && unique
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let mut rest = head.bytes().skip(1);
    let head_ok = match head.as_bytes().first() {
        Some(b'b' | b'u') => rest.next().is_none_or(|b| b.is_ascii_digit() || b == b'-'),
        Some(b'p') => head.len() == 1,
        _ => false,
    };
    unique_ok && head_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::request::SampleContent;

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

    fn pr(number: u64) -> Option<Source> {
        Some(Source::Pr {
            number,
            head_sha: None,
        })
    }

    fn branch(name: &str) -> Option<Source> {
        Some(Source::Branch { name: name.into() })
    }

    fn id(s: &str) -> PreviewId {
        PreviewId::parse(s).unwrap()
    }

    #[test]
    fn names_both_prs_and_the_random_part_of_the_id() {
        let name = for_preview(
            &req(pr(10003), pr(4415)),
            &id("dsp-b10003-u4415-202611281930-ab12"),
            "Previews.Example.org.",
        );
        assert_eq!(name, "b10003-u4415-ab12.previews.example.org");
    }

    #[test]
    fn branches_are_slugged() {
        let r = req(branch("main"), branch("feature/Über_Fix--2"));
        assert_eq!(
            label(&r, &id("dsp-b-main-202611281930-00ff")),
            "b-main-u-feature-ber-fix-2-00ff"
        );
        assert_eq!(
            label(&req(branch("///"), None), &id("dsp-x-0001")),
            "b-0001"
        );
        assert_eq!(label(&req(None, pr(7)), &id("dsp-u7-0001")), "u7-0001");
    }

    #[test]
    fn two_previews_of_the_same_prs_differ() {
        let r = req(pr(1), pr(2));
        assert_ne!(
            label(&r, &id("dsp-b1-u2-202611281930-ab12")),
            label(&r, &id("dsp-b1-u2-202611281930-ab13"))
        );
    }

    #[test]
    fn an_id_without_a_random_part_gets_a_stable_hash() {
        let a = unique_part(&id("dsp-b1-202611281930-xyz"));
        assert_eq!(a.len(), 4);
        assert_eq!(a, unique_part(&id("dsp-b1-202611281930-xyz")));
        assert_ne!(a, unique_part(&id("dsp-b1-202611281930-xyw")));
    }

    #[test]
    fn the_longest_names_stay_within_dns_limits() {
        let long = format!("-Feature/{}-", "X".repeat(300));
        let r = req(branch(&long), branch(&long));
        let id = id(&format!("dsp-{}", "a".repeat(76)));
        let l = label(&r, &id);
        assert!(l.len() <= MAX_LABEL, "{l}");
        assert!(valid_label(&l), "{l}");
        let suffix = vec!["a".repeat(62); 3].join(".");
        assert_eq!(suffix.len(), 188);
        check_suffix(&suffix).unwrap();
        let name = for_preview(&r, &id, &suffix);
        assert!(name.len() <= MAX_NAME, "{}", name.len());
        assert!(name.split('.').all(valid_label), "{name}");
        let huge_pr = req(pr(u64::MAX), pr(u64::MAX));
        let l = label(&huge_pr, &id);
        assert!(l.len() <= MAX_LABEL && valid_label(&l), "{l}");
    }

    #[test]
    fn bad_suffixes_are_refused() {
        for bad in [
            "",
            "a..b",
            "-a.org",
            "a-.org",
            "a_b.org",
            &format!("{}.org", "a".repeat(64)),
            &vec!["a".repeat(60); 4].join("."),
        ] {
            assert!(check_suffix(bad).is_err(), "{bad}");
        }
        check_suffix("previews.example.org").unwrap();
    }

    #[test]
    fn records_one_label_under_the_suffix_are_recognised() {
        let s = "previews.example.org";
        assert_eq!(
            label_under("b1-u2-ab12.previews.example.org.", s),
            Some("b1-u2-ab12")
        );
        assert_eq!(label_under("previews.example.org.", s), None);
        assert_eq!(label_under("a.b.previews.example.org", s), None);
        assert_eq!(label_under("xpreviews.example.org", s), None);
        assert_eq!(label_under("b1.other.org", s), None);
        for theirs in [
            "www",
            "blog-2024",
            "bar-abcd",
            "upload-ab12",
            "b1-u2",
            "b1-u2-abcg",
            "bx-ab12",
        ] {
            let name = format!("{theirs}.{s}");
            assert_eq!(label_under(&name, s), None, "{theirs} is not a preview's");
        }
        for ours in ["u4415-ab12", "b-main-u-main-0f0f", "p-1234", "b10003-ffff"] {
            let name = format!("{ours}.{s}");
            assert_eq!(label_under(&name, s), Some(ours));
        }
    }

    #[test]
    fn every_label_made_is_recognised_by_the_sweep() {
        let id = PreviewId::parse("dsp-b1-u2-ab12").unwrap();
        let sources = [
            Some(Source::Pr {
                number: 10003,
                head_sha: None,
            }),
            Some(Source::Branch {
                name: "w2p-12345/fix-search".into(),
            }),
            Some(Source::Branch { name: "---".into() }),
            None,
        ];
        for backend in &sources {
            for ui in &sources {
                let l = label(&req(backend.clone(), ui.clone()), &id);
                let name = format!("{l}.x.org");
                assert_eq!(label_under(&name, "x.org"), Some(l.as_str()), "{l}");
            }
        }
    }
}
