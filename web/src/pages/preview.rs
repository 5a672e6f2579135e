//! A preview's page: status, URLs, admin sign-in, actions, shareable links, audit log, logs.

use preview_tasks::domain::phase::Phase;
use preview_tasks::domain::urls;
use preview_tasks::logs::LogLine;
use preview_tasks::steps::health::{PhaseTiming, RunningImages, SideImage};

use super::{admin_hint, buttons, esc, layout, link, notice, Viewer};
use crate::audit::Entry;
use crate::links::LinkAction;
use crate::workflow::Detail;

/// Everything a preview's page shows.
pub struct PreviewPage<'a> {
    /// Who is looking.
    pub viewer: &'a Viewer,
    /// Who launched it (the execution input's requester).
    pub requester: &'a str,
    /// The execution.
    pub detail: &'a Detail,
    /// Its phase.
    pub phase: Phase,
    /// Its audit log.
    pub audit: &'a [Entry],
    /// Its URLs once recorded (label, URL).
    pub urls: &'a [(&'static str, String)],
    /// The tail of its logs.
    pub logs: &'a [LogLine],
    /// Shareable links (action, URL path).
    pub links: &'a [(LinkAction, String)],
    /// A notice to show (after an action).
    pub notice: Option<&'a str>,
    /// The AWS region (console links).
    pub region: &'a str,
    /// The log group.
    pub log_group: &'a str,
    /// The DSpace admin account of every preview.
    pub admin_email: &'a str,
    /// The admin password, once someone asked to see it.
    pub admin_password: Option<&'a str>,
    /// Which image each side runs, once the health check reported it.
    pub images: &'a RunningImages,
    /// The boot's timeline, as the latest health check reported it.
    pub timeline: &'a [PhaseTiming],
}

/// The log lines as plain text (the page's `<pre>` and the refresh endpoint).
pub fn logs_text(logs: &[LogLine]) -> String {
    if logs.is_empty() {
        return "No log lines yet.".into();
    }
    logs.iter()
        .map(|l| format!("[{}] {}\n", l.stream, l.message))
        .collect()
}

fn ready(p: &PreviewPage, urls: &str) -> String {
    if urls.is_empty() {
        return String::new();
    }
    let d = p.detail;
    let password = match (p.admin_password, d.running()) {
        (Some(pw), _) => format!(
            r#"<p>Admin password: <code id="admin-password">{}</code></p>"#,
            esc(pw)
        ),
        (None, true) => format!(
            r#"<form method="post" action="/previews/{}/admin-password"><input type="hidden" name="csrf" value="{}"><button class="secondary">Show the admin password</button></form>"#,
            esc(&d.id),
            esc(&p.viewer.csrf)
        ),
        (None, false) => String::new(),
    };
    format!(
        r#"<ul class="urls">{urls}</ul><p><small>{}</small></p>{password}"#,
        admin_hint(p.admin_email)
    )
}

/// One side's image: built from the merge (with its commit) or published (with its digest).
fn side_image(label: &str, i: &SideImage) -> String {
    let short = |s: &str| s.chars().take(19).collect::<String>();
    let origin = if i.built {
        format!(
            "built here from commit <code>{}</code>",
            esc(&short(&i.commit))
        )
    } else if i.digest.is_empty() {
        "published image".to_string()
    } else {
        format!("published, <code>{}</code>", esc(&i.digest))
    };
    let created = if i.created.is_empty() {
        String::new()
    } else {
        format!(", created {}", esc(&short(&i.created)))
    };
    format!(
        r#"<li class="image-{}">{label}: <code>{}</code> ({origin}{created})</li>"#,
        label.to_lowercase(),
        esc(&i.image)
    )
}

fn images(images: &RunningImages) -> String {
    let items: String = [("Backend", &images.backend), ("UI", &images.ui)]
        .into_iter()
        .filter_map(|(label, i)| i.as_ref().map(|i| side_image(label, i)))
        .collect();
    if items.is_empty() {
        String::new()
    } else {
        format!(r#"<h2>Images</h2><ul class="images">{items}</ul>"#)
    }
}

/// The boot's phases with their start and duration (phases may overlap: builds run in the
/// background while the database and content load).
fn timeline(phases: &[PhaseTiming]) -> String {
    if phases.is_empty() {
        return String::new();
    }
    let rows: String = phases
        .iter()
        .map(|p| {
            let start = p.start.get(11..19).unwrap_or(&p.start);
            let running = if p.end.is_none() { " (running)" } else { "" };
            format!(
                r#"<tr class="timeline-{phase}"><td>{phase}</td><td>{start}</td><td>{}m {:02}s{running}</td></tr>"#,
                p.seconds / 60,
                p.seconds % 60,
                phase = esc(&p.phase),
                start = esc(start),
            )
        })
        .collect();
    format!(
        r#"<h2>Boot timeline</h2><table class="stack timeline"><thead><tr><th>Phase</th><th>Started (UTC)</th><th>Took</th></tr></thead><tbody>{rows}</tbody></table>"#
    )
}

/// Renders [`PreviewPage`].
pub fn preview(p: &PreviewPage) -> String {
    let d = p.detail;
    let urls: String = if d.running() {
        p.urls
            .iter()
            .map(|(label, u)| format!("<li>{label}: {}</li>", link(u)))
            .collect()
    } else {
        String::new()
    };
    let outcome = d
        .output
        .get("outcome")
        .and_then(|v| v.as_str())
        .map(|o| format!("<p>Outcome: <strong>{}</strong></p>", esc(o)))
        .unwrap_or_default();
    // The shareable links stop and extend too, so they show only to whoever may act.
    let actions = if d.running() && p.viewer.may_act(p.requester) {
        let links: String = p
            .links
            .iter()
            .map(|(a, path)| {
                format!(
                    r#"<li>{}: <a class="callback-{}" href="{2}"><code>{2}</code></a></li>"#,
                    esc(a.label()),
                    a.as_str(),
                    esc(path)
                )
            })
            .collect();
        format!(
            "{}<h2>Shareable links</h2><p>Send these to whoever tests the preview. Opening a link only asks for confirmation, so mail and chat link previews cannot extend or stop anything.</p><ul>{links}</ul>",
            buttons(&d.id, &p.viewer.csrf)
        )
    } else {
        String::new()
    };
    let audit: String = p
        .audit
        .iter()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td></tr>",
                e.at.format("%Y-%m-%d %H:%M:%S UTC"),
                esc(&e.what)
            )
        })
        .collect();
    let refresh = if d.running() {
        format!(r#" data-refresh="/previews/{}/logs""#, esc(&d.id))
    } else {
        String::new()
    };
    let body = format!(
        r#"{notice}<p>Status: <strong>{status}</strong> · phase: <strong class="phase phase-{phase}">{phase}</strong></p>{outcome}{ready}{images}{timeline}{actions}
<h2>Audit log</h2><table class="stack"><thead><tr><th>When</th><th>What</th></tr></thead><tbody>{audit}</tbody></table>
<h2 id="logs">Logs</h2><p><small>From the log streams <code>{id}/…</code> that this preview's instance and its containers write.</small></p><pre{refresh}>{logs}</pre>
<p><a href="{sfn}">Step Functions console</a> · <a href="{cw}">CloudWatch Logs console</a></p>"#,
        notice = notice(p.notice, false),
        status = esc(&d.status),
        phase = p.phase,
        ready = ready(p, &urls),
        images = images(p.images),
        timeline = timeline(p.timeline),
        id = esc(&d.id),
        logs = esc(&logs_text(p.logs)),
        sfn = esc(&urls::execution_console_url(p.region, &d.arn)),
        cw = esc(&urls::logs_console_url(
            p.region,
            p.log_group,
            &format!("{}/", d.id)
        )),
    );
    layout(&format!("Preview {}", d.id), Some(p.viewer), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_images_say_what_was_built_and_what_was_published() {
        let running = RunningImages {
            backend: Some(SideImage {
                image: "dspace-preview/dspace:local".into(),
                built: true,
                commit: "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff".into(),
                created: "2026-12-02T08:00:00.123456789Z".into(),
                ..Default::default()
            }),
            ui: Some(SideImage {
                image: "docker.io/dspace/dspace-angular:latest-dist".into(),
                digest: "dspace/dspace-angular@sha256:0123".into(),
                ..Default::default()
            }),
        };
        let html = images(&running);
        assert!(html.contains(r#"<li class="image-backend">Backend: <code>dspace-preview/dspace:local</code> (built here from commit <code>c0ffeec0ffeec0ffeec</code>, created 2026-12-02T08:00:00)</li>"#), "{html}");
        assert!(
            html.contains("published, <code>dspace/dspace-angular@sha256:0123</code>"),
            "{html}"
        );
        assert_eq!(images(&RunningImages::default()), "");
    }

    #[test]
    fn the_timeline_shows_start_and_duration() {
        let html = timeline(&[
            PhaseTiming {
                phase: "building-backend".into(),
                start: "2026-12-02T08:03:00Z".into(),
                end: Some("2026-12-02T08:17:05Z".into()),
                seconds: 845,
            },
            PhaseTiming {
                phase: "starting".into(),
                start: "2026-12-02T08:17:05Z".into(),
                end: None,
                seconds: 30,
            },
        ]);
        assert!(
            html.contains("<td>building-backend</td><td>08:03:00</td><td>14m 05s</td>"),
            "{html}"
        );
        assert!(html.contains("<td>0m 30s (running)</td>"), "{html}");
        assert_eq!(timeline(&[]), "");
    }
}
