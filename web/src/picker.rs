//! The launch form's PR picker, pure: which backend PR a UI PR requires, filtering, the
//! `<datalist>`s of open PRs and of branches, and whether a backend/UI pair can share one preview.

use crate::github::{Branch, Pull};
use crate::pages::esc;

/// The `DSpace/DSpace` PR a PR body says it requires ("Requires DSpace/DSpace#9876" or
/// "requires https://github.com/DSpace/DSpace/pull/9876", any case, markdown allowed).
///
/// dspace-angular's PR template asks for `* Requires DSpace/DSpace#pr-number (if a REST API PR is
/// required to test this)`; authors fill it in either as a reference or as a URL, sometimes with
/// words in between ("Requires REST PR: …"), so the reference may be anywhere on the same line.
/// An unfilled template line has no number and yields nothing.
pub fn requires_backend(body: &str) -> Option<u64> {
    // ASCII lowercasing keeps byte offsets, so slices of `lower` line up with `body`.
    let lower = body.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("requires") {
        let start = from + i;
        from = start + "requires".len();
        if lower[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
        {
            continue;
        }
        let line = lower[from..].split('\n').next().unwrap_or_default();
        if let Some(n) = first_backend_ref(line) {
            return Some(n);
        }
    }
    None
}

/// The first `dspace/dspace#N` or `github.com/dspace/dspace/pull/N` in lowercased text.
fn first_backend_ref(line: &str) -> Option<u64> {
    const FORMS: [&str; 2] = ["github.com/dspace/dspace/pull/", "dspace/dspace#"];
    let mut best: Option<(usize, u64)> = None;
    for form in FORMS {
        let mut from = 0;
        while let Some(i) = line[from..].find(form) {
            let at = from + i;
            from = at + form.len();
            // "mydspace/dspace#1" or a fork's "x/dspace/dspace/pull/1" is not the upstream repo.
            let before = line[..at].chars().next_back();
            if form.starts_with("dspace/")
                && before.is_some_and(|c| c.is_alphanumeric() || c == '/')
            {
                continue;
            }
            let rest = &line[from..];
            let rest = rest.strip_prefix('[').unwrap_or(rest);
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if let Ok(n) = rest[..end].parse::<u64>() {
                if best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, n));
                }
                break;
            }
        }
    }
    best.map(|(_, n)| n)
}

/// The PRs matching every word of `query` (case-insensitive) in number, title, author or base
/// branch; an empty query keeps them all. A leading `#` on a word is ignored.
pub fn filter<'a>(pulls: &'a [Pull], query: &str) -> Vec<&'a Pull> {
    let words: Vec<String> = query
        .split_whitespace()
        .map(|w| w.trim_start_matches('#').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    pulls
        .iter()
        .filter(|p| {
            let number = p.number.to_string();
            let (title, author, base) = (
                p.title.to_lowercase(),
                p.author.to_lowercase(),
                p.base.to_lowercase(),
            );
            words.iter().all(|w| {
                number.contains(w.as_str())
                    || title.contains(w.as_str())
                    || author.contains(w.as_str())
                    || base.contains(w.as_str())
            })
        })
        .collect()
}

/// A `<datalist id=…>` of the PRs, for a PR-number input's `list` attribute.
///
/// Browsers filter a datalist as the user types, which makes the list searchable without any
/// JavaScript; the option's value is the bare number the form expects.
pub fn datalist(id: &str, pulls: &[Pull], cached: &dyn Fn(&Pull) -> bool) -> String {
    let mut out = format!(r#"<datalist id="{}">"#, esc(id));
    for p in pulls {
        let draft = if p.draft { " · draft" } else { "" };
        // The page's script reads data-requires to fill in the backend PR a UI PR needs.
        let (requires, needs) = match p.requires_backend {
            Some(b) => (
                format!(r#" data-requires="{b}""#),
                format!(" · requires backend #{b}"),
            ),
            None => (String::new(), String::new()),
        };
        let cache = if cached(p) {
            " · cached build: starts without building"
        } else {
            ""
        };
        out.push_str(&format!(
            r#"<option value="{n}"{requires}>#{n} {} — {} · base {} · updated {}{draft}{needs}{cache}</option>"#,
            esc(&p.title),
            esc(&p.author),
            esc(&p.base),
            p.updated_at.format("%Y-%m-%d"),
            n = p.number,
        ));
    }
    out.push_str("</datalist>");
    out
}

/// `<datalist id=…>` of a repository's branches: the name is the value, the tip's short commit
/// (and protection) the label, so a tester sees which `main` they get.
pub fn branch_datalist(id: &str, branches: &[Branch]) -> String {
    let mut out = format!(r#"<datalist id="{}">"#, esc(id));
    for b in branches {
        let short = b.sha.get(..7).unwrap_or(&b.sha);
        let protected = if b.protected { " · protected" } else { "" };
        out.push_str(&format!(
            r#"<option value="{name}">{name} · {short}{protected}</option>"#,
            name = esc(&b.name),
            short = esc(short),
        ));
    }
    out.push_str("</datalist>");
    out
}

/// The backend PR that `ui` requires, when it is among the open `backend` PRs.
pub fn suggest_backend<'a>(ui: &Pull, backend: &'a [Pull]) -> Option<&'a Pull> {
    let wanted = ui.requires_backend?;
    backend.iter().find(|p| p.number == wanted)
}

/// Why a backend PR and a UI PR cannot share a preview, when they target different base
/// branches (a preview builds both sides of one DSpace version).
pub fn base_mismatch(backend: &Pull, ui: &Pull) -> Option<String> {
    (backend.base != ui.base).then(|| {
        format!(
            "Backend PR #{} targets {} but UI PR #{} targets {}. A preview runs both on one DSpace \
             version, so pick a backend and a UI PR for the same base branch (or launch them \
             separately).",
            backend.number, backend.base, ui.number, ui.base
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn pr(number: u64, title: &str, author: &str, base: &str) -> Pull {
        Pull {
            number,
            title: title.into(),
            author: author.into(),
            base: base.into(),
            head_sha: "0123456789abcdef0123456789abcdef01234567".into(),
            updated_at: Utc.with_ymd_and_hms(2026, 11, 3, 9, 30, 0).unwrap(),
            html_url: format!("https://github.com/DSpace/DSpace/pull/{number}"),
            draft: false,
            state: "open".into(),
            requires_backend: None,
        }
    }

    #[test]
    fn requires_backend_reads_the_template_line() {
        let body = "## References\n_Add references/links to any related issues or PRs._\n\
                    * Fixes #4100\n* Requires DSpace/DSpace#9876 (if a REST API PR is required to test this)\n";
        assert_eq!(requires_backend(body), Some(9876));
    }

    #[test]
    fn requires_backend_reads_urls_and_markdown() {
        for body in [
            "- requires https://github.com/DSpace/DSpace/pull/10378",
            "**Requires** DSpace/DSpace#9876",
            "Requires: DSpace/DSpace#9876",
            "REQUIRES dspace/dspace#9876",
            "* Requires [DSpace/DSpace#9876](https://github.com/DSpace/DSpace/pull/9876)",
            "Requires REST PR https://github.com/DSpace/DSpace/pull/9876/files",
            "Requires DSpace/DSpace#[9876]",
            "This PR requires\u{a0}DSpace/DSpace#9876 to be merged first",
        ] {
            let want = if body.contains("10378") { 10378 } else { 9876 };
            assert_eq!(requires_backend(body), Some(want), "{body}");
        }
    }

    #[test]
    fn requires_backend_ignores_what_is_not_a_backend_requirement() {
        for body in [
            "",
            "* Requires DSpace/DSpace#pr-number (if a REST API PR is required to test this)",
            "* Requires DSpace/DSpace#[pr-number]",
            "Fixes DSpace/DSpace#9876",
            "Requires DSpace/dspace-angular#4321",
            "Requires https://github.com/DSpace/dspace-angular/pull/4321",
            "Requires 4Science/DSpace/DSpace#12",
            "Requires https://github.com/myfork/DSpace/pull/12",
            "A REST API PR is required to test this: DSpace/DSpace#9876",
            "Acquires DSpace/DSpace#9876",
            "Requires a running backend.\nSee DSpace/DSpace#9876",
        ] {
            assert_eq!(requires_backend(body), None, "{body}");
        }
    }

    #[test]
    fn requires_backend_takes_the_first_requirement() {
        let body = "Related to DSpace/DSpace#1\nRequires DSpace/DSpace#22 and DSpace/DSpace#33\n\
                    Requires DSpace/DSpace#44";
        assert_eq!(requires_backend(body), Some(22));
    }

    #[test]
    fn filter_matches_every_word_in_any_field() {
        let pulls = vec![
            pr(
                9876,
                "Fix ORCID sync for person entities",
                "lmartin",
                "main",
            ),
            pr(9901, "Bump Spring Boot", "dependabot[bot]", "dspace-8_x"),
            pr(10012, "Add IIIF manifest caching", "kowalski", "dspace-8_x"),
        ];
        let numbers =
            |q: &str| -> Vec<u64> { filter(&pulls, q).iter().map(|p| p.number).collect() };
        assert_eq!(numbers(""), [9876, 9901, 10012]);
        assert_eq!(numbers("   "), [9876, 9901, 10012]);
        assert_eq!(numbers("orcid"), [9876]);
        assert_eq!(numbers("#9876"), [9876]);
        assert_eq!(numbers("98"), [9876]);
        assert_eq!(numbers("DEPENDABOT"), [9901]);
        assert_eq!(numbers("8_x"), [9901, 10012]);
        assert_eq!(numbers("8_x iiif"), [10012]);
        assert_eq!(numbers("main iiif"), Vec::<u64>::new());
    }

    #[test]
    fn datalist_lists_numbers_and_escapes_text() {
        let mut evil = pr(
            4321,
            "<script>alert(1)</script> & \"quotes\"",
            "o'brien",
            "main",
        );
        evil.draft = true;
        let none = |_: &Pull| false;
        let html = datalist(
            "ui-prs",
            &[pr(9876, "Fix ORCID", "lmartin", "main"), evil],
            &none,
        );
        assert!(html.starts_with(r#"<datalist id="ui-prs">"#));
        assert!(html.ends_with("</datalist>"));
        assert!(html.contains(
            r#"<option value="9876">#9876 Fix ORCID — lmartin · base main · updated 2026-11-03</option>"#
        ));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"));
        assert!(html.contains("o&#39;brien"));
        assert!(html.contains("updated 2026-11-03 · draft</option>"));
        assert!(!html.contains("<script>"));
        assert_eq!(datalist("x", &[], &none), r#"<datalist id="x"></datalist>"#);
        let mut needs = pr(4322, "UI for the API", "ana", "main");
        needs.requires_backend = Some(9876);
        assert!(datalist("ui-prs", &[needs], &none).contains(
            r#"<option value="4322" data-requires="9876">#4322 UI for the API — ana · base main · updated 2026-11-03 · requires backend #9876</option>"#
        ));
    }

    #[test]
    fn cached_builds_are_marked() {
        let html = datalist(
            "backend-prs",
            &[pr(1, "a", "x", "main"), pr(2, "b", "y", "main")],
            &|p: &Pull| p.number == 2,
        );
        assert!(
            html.contains("updated 2026-11-03 · cached build: starts without building</option>")
        );
        assert_eq!(html.matches("cached build").count(), 1);
    }

    #[test]
    fn suggest_backend_finds_the_required_open_pr() {
        let backend = vec![pr(9876, "a", "x", "main"), pr(9901, "b", "y", "main")];
        let mut ui = pr(4321, "UI", "z", "main");
        assert_eq!(suggest_backend(&ui, &backend), None);
        ui.requires_backend = Some(9876);
        assert_eq!(suggest_backend(&ui, &backend).map(|p| p.number), Some(9876));
        ui.requires_backend = Some(1234);
        assert_eq!(suggest_backend(&ui, &backend), None);
    }

    #[test]
    fn base_mismatch_names_both_branches() {
        let backend = pr(10012, "a", "x", "dspace-8_x");
        let ui = pr(4321, "b", "y", "main");
        let msg = base_mismatch(&backend, &ui).unwrap();
        assert!(msg.contains("#10012 targets dspace-8_x"), "{msg}");
        assert!(msg.contains("#4321 targets main"), "{msg}");
        assert_eq!(base_mismatch(&pr(1, "a", "x", "main"), &ui), None);
    }
}
