//! The sticky PR comment and the deployment status, as text and JSON (pure).
//!
//! The comment is public: it never carries the admin password, only where to read it (the
//! preview page, behind sign-in).

use preview_tasks::domain::request::SourceInput;
use serde_json::{json, Value};

use super::stage::Stage;
use crate::links::LinkAction;

/// Marks our comment on a PR so it is found and edited in place, never duplicated.
pub const MARKER: &str = "<!-- dspace-preview:status (edited in place by dspace-preview) -->";

/// GitHub's limit on a deployment status description.
const DESCRIPTION_MAX: usize = 140;

/// Everything a PR is told about one preview.
#[derive(Debug, Clone)]
pub struct View<'a> {
    /// The preview id.
    pub id: &'a str,
    /// Where it is.
    pub stage: &'a Stage,
    /// What it builds.
    pub sources: &'a [SourceInput],
    /// Who asked.
    pub requester: &'a str,
    /// The preview's page in the web app (absolute URL).
    pub page_url: String,
    /// Signed extend and stop links (absolute URLs); only shown while ready.
    pub links: Vec<(LinkAction, String)>,
    /// The DSpace admin account's e-mail.
    pub admin_email: &'a str,
}

/// The comment's Markdown, starting with [`MARKER`].
pub fn comment(v: &View<'_>) -> String {
    let what = v
        .sources
        .iter()
        .map(|s| match (s.pr, s.branch.as_deref()) {
            (Some(n), _) => format!("{}#{n}", s.repo),
            (None, Some(b)) => format!("{} `{b}`", s.repo),
            (None, None) => s.repo.clone(),
        })
        .collect::<Vec<_>>()
        .join(" + ");
    let by = if v.requester.is_empty() {
        String::new()
    } else {
        format!(", asked for by @{}", v.requester.trim_start_matches('@'))
    };
    let head = format!(
        "{MARKER}\n### DSpace preview `{}`\nBuilds {what}{by}. [Preview page, audit log and logs]({})\n\n",
        v.id, v.page_url
    );
    head + &body(v)
}

fn body(v: &View<'_>) -> String {
    match v.stage {
        Stage::Building { phase } => format!(
            "🟡 **Building** (now: {phase}). This comment is edited when the preview is ready.\n"
        ),
        Stage::Ready {
            ui_url,
            rest_url,
            expires_at,
        } => {
            let until = expires_at
                .map(|t| format!(" until **{} UTC**", t.format("%Y-%m-%d %H:%M")))
                .unwrap_or_default();
            let links = v
                .links
                .iter()
                .map(|(action, url)| format!("[{}]({url})", action.label()))
                .collect::<Vec<_>>()
                .join(" · ");
            format!(
                "🟢 **Ready**{until}\n\n- UI: {ui_url}\n- REST API: {rest_url}\n- Log in as \
                 `{}`; the password is on the [preview page]({}) (sign-in required)\n\n{links}\n",
                v.admin_email, v.page_url
            )
        }
        Stage::Failed { reason } => format!(
            "🔴 **Failed**: {}\n\nThe instance is terminated. [Logs and audit log]({})\n",
            one_line(reason),
            v.page_url
        ),
        Stage::Ended { reason } => format!("⚪ **Ended**: {}\n", one_line(reason)),
    }
}

/// The deployment status to post (GitHub's `POST …/deployments/{id}/statuses` body).
pub fn deployment_status(v: &View<'_>) -> Value {
    let description = match v.stage {
        Stage::Building { phase } => format!("Building ({phase})"),
        Stage::Ready { .. } => "DSpace is up".to_string(),
        Stage::Failed { reason } => format!("Failed: {}", one_line(reason)),
        Stage::Ended { reason } => format!("Ended: {}", one_line(reason)),
    };
    let mut status = json!({
        "state": v.stage.deployment_state(),
        "log_url": v.page_url,
        "description": truncate(&description, DESCRIPTION_MAX),
        // Older previews of the same PR are marked inactive by the "ended" status of their own.
        "auto_inactive": false,
    });
    if let Stage::Ready { ui_url, .. } = v.stage {
        status["environment_url"] = json!(ui_url);
    }
    status
}

/// The GitHub environment of a PR's previews.
pub fn environment(number: u64) -> String {
    format!("dspace-preview-pr-{number}")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use preview_tasks::domain::phase::Phase;

    fn view<'a>(stage: &'a Stage, sources: &'a [SourceInput]) -> View<'a> {
        View {
            id: "dsp-abc",
            stage,
            sources,
            requester: "alice",
            page_url: "https://p.example/previews/dsp-abc".into(),
            links: vec![(LinkAction::Stop, "https://p.example/l/t".into())],
            admin_email: "admin@x.invalid",
        }
    }

    fn pr(repo: &str, n: u64) -> SourceInput {
        SourceInput {
            repo: repo.into(),
            pr: Some(n),
            ..Default::default()
        }
    }

    #[test]
    fn the_comment_starts_with_the_marker_and_follows_the_stage() {
        let sources = [pr("DSpace/DSpace", 9876), pr("DSpace/dspace-angular", 4321)];
        let building = Stage::Building {
            phase: Phase::Building,
        };
        let c = comment(&view(&building, &sources));
        assert!(c.starts_with(MARKER));
        assert!(c.contains("DSpace/DSpace#9876 + DSpace/dspace-angular#4321"));
        assert!(c.contains("@alice") && c.contains("Building"));
        assert!(
            !c.contains("https://p.example/l/t"),
            "no links while building"
        );
        let ready = Stage::Ready {
            ui_url: "http://ui".into(),
            rest_url: "http://ui/server".into(),
            expires_at: Some(chrono::Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap()),
        };
        let c = comment(&view(&ready, &sources));
        assert!(c.contains("http://ui/server") && c.contains("2026-12-03 12:00 UTC"));
        assert!(c.contains("[Stop the preview](https://p.example/l/t)"));
        assert!(c.contains("admin@x.invalid") && !c.to_lowercase().contains("password:"));
    }

    #[test]
    fn deployment_statuses_map_the_stage() {
        let sources = [pr("DSpace/DSpace", 1)];
        let ready = Stage::Ready {
            ui_url: "http://ui".into(),
            rest_url: "http://ui/server".into(),
            expires_at: None,
        };
        let s = deployment_status(&view(&ready, &sources));
        assert_eq!(s["state"], "success");
        assert_eq!(s["environment_url"], "http://ui");
        let failed = Stage::Failed {
            reason: "x".repeat(300),
        };
        let s = deployment_status(&view(&failed, &sources));
        assert_eq!(s["state"], "failure");
        assert_eq!(s["description"].as_str().unwrap().chars().count(), 140);
        assert!(s.get("environment_url").is_none());
        let ended = Stage::Ended {
            reason: "stopped".into(),
        };
        assert_eq!(
            deployment_status(&view(&ended, &sources))["state"],
            "inactive"
        );
    }
}
