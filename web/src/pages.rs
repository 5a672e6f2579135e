//! The HTML pages. Every dynamic value goes through [`esc`]; pages work without JavaScript.

use chrono::{DateTime, Utc};
use preview_tasks::domain::urls;
use preview_tasks::logs::LogLine;

use crate::audit::Entry;
use crate::links::LinkAction;
use crate::workflow::{Detail, LivePreview};

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a query value.
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// Only http(s) URLs become links; anything else is shown as text.
fn link(url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        format!(r#"<a href="{0}">{0}</a>"#, esc(url))
    } else {
        esc(url)
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:70rem;margin:0 auto;padding:1rem;line-height:1.4}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.4rem;text-align:left;vertical-align:top}\
form.inline{display:inline}.msg{padding:.6rem;border-radius:.3rem;background:#eef}.err{background:#fdd}\
pre{background:#111;color:#eee;padding:.6rem;overflow-x:auto;font-size:.8rem}\
label{display:block;margin:.4rem 0}fieldset{margin:.6rem 0}@media(max-width:40rem){td,th{display:block}}";

/// The page frame: title, who is signed in, body.
pub fn layout(title: &str, user: Option<(&str, &str)>, body: &str) -> String {
    let nav = match user {
        Some((name, csrf)) => format!(
            r#"<nav><a href="/">Previews</a> · signed in as <strong>{}</strong>
<form class="inline" method="post" action="/signout"><input type="hidden" name="csrf" value="{}"><button>Sign out</button></form></nav>"#,
            esc(name),
            esc(csrf)
        ),
        None => r#"<nav><a href="/">Previews</a></nav>"#.into(),
    };
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{} · DSpace previews</title><style>{STYLE}</style></head><body>{nav}<h1>{}</h1>{body}</body></html>"#,
        esc(title),
        esc(title)
    )
}

/// A page with one message (errors, results).
pub fn message(title: &str, text: &str, back: Option<&str>) -> String {
    let back = back
        .map(|b| format!(r#"<p><a href="{}">Back</a></p>"#, esc(b)))
        .unwrap_or_default();
    layout(
        title,
        None,
        &format!(r#"<p class="msg">{}</p>{back}"#, esc(text)),
    )
}

/// The sign-in form.
pub fn signin(next: &str, csrf: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!(r#"<p class="msg err">{}</p>"#, esc(e)))
        .unwrap_or_default();
    layout(
        "Sign in",
        None,
        &format!(
            r#"{error}<p>Enter your GitHub login (or e-mail) so the audit log can name you, and the access code shared with the DSpace community.</p>
<form method="post" action="/signin"><input type="hidden" name="csrf" value="{}"><input type="hidden" name="next" value="{}">
<label>Your name <input name="name" required maxlength="100" autocomplete="username"></label>
<label>Access code <input name="code" type="password" required autocomplete="current-password"></label>
<button>Sign in</button></form>"#,
            esc(csrf),
            esc(next)
        ),
    )
}

/// What the launch form shows (the values a person typed, kept on errors).
#[derive(Debug, Clone, Default, serde::Deserialize)]
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
}

fn countdown(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match expires {
        None => "—".into(),
        Some(t) => {
            let mins = (t - now).num_minutes();
            let when = t.format("%H:%M UTC");
            if mins <= 0 {
                format!("{when} (now)")
            } else {
                format!("{when} (in {}h {:02}m)", mins / 60, mins % 60)
            }
        }
    }
}

fn buttons(id: &str, csrf: &str) -> String {
    let id = esc(id);
    let csrf = esc(csrf);
    format!(
        r#"<form class="inline" method="post" action="/previews/{id}/extend"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="minutes" value="30"><button>Extend 30 min</button></form>
<form class="inline" method="post" action="/previews/{id}/extend"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="minutes" value="60"><button>Extend 60 min</button></form>
<form class="inline" method="post" action="/previews/{id}/stop"><input type="hidden" name="csrf" value="{csrf}"><button>Stop</button></form>"#
    )
}

/// The home page: live previews and the launch form.
pub fn home(
    user: &str,
    csrf: &str,
    live: &[LivePreview],
    form: &LaunchForm,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> String {
    let rows: String = live
        .iter()
        .map(|p| {
            let prs = [("backend", &p.backend), ("UI", &p.ui)]
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| format!("{k}: {}", esc(v)))
                .collect::<Vec<_>>()
                .join("<br>");
            let urls = [&p.ui_url, &p.rest_url]
                .iter()
                .filter_map(|u| u.as_deref())
                .map(link)
                .collect::<Vec<_>>()
                .join("<br>");
            format!(
                r#"<tr><td><a href="/previews/{0}">{0}</a><br>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td><td>{6}</td></tr>"#,
                esc(&p.id),
                prs,
                esc(&p.requester),
                esc(&p.phase),
                if urls.is_empty() { "not ready yet".into() } else { urls },
                esc(&countdown(p.expires_at, now)),
                buttons(&p.id, csrf)
            )
        })
        .collect();
    let table = if live.is_empty() {
        "<p>No preview is running.</p>".to_string()
    } else {
        format!("<table><thead><tr><th>Preview</th><th>Requested by</th><th>Phase</th><th>URLs</th><th>Stops at</th><th></th></tr></thead><tbody>{rows}</tbody></table>")
    };
    let error = error
        .map(|e| format!(r#"<p class="msg err" role="alert">{}</p>"#, esc(e)))
        .unwrap_or_default();
    let sample = |v: &str, label: &str| {
        let sel = if form.sample_content == v || (form.sample_content.is_empty() && v == "entities")
        {
            " selected"
        } else {
            ""
        };
        format!(r#"<option value="{v}"{sel}>{label}</option>"#)
    };
    let field = |name: &str, label: &str, value: &str, kind: &str| {
        format!(
            r#"<label>{label} <input name="{name}" value="{}" inputmode="{kind}"></label>"#,
            esc(value)
        )
    };
    let body = format!(
        r#"<h2>Live previews</h2>{table}
<h2 id="launch">Launch a preview</h2>{error}
<form method="post" action="/previews"><input type="hidden" name="csrf" value="{}">
<fieldset><legend>Backend (DSpace/DSpace): a PR number or a branch</legend>{}{}</fieldset>
<fieldset><legend>UI (DSpace/dspace-angular): a PR number or a branch</legend>{}{}</fieldset>
<label>Time to live (minutes) <input name="ttl_minutes" value="{}" inputmode="numeric" placeholder="default"></label>
<label>Sample content <select name="sample_content">{}{}{}</select></label>
<button>Launch</button></form>"#,
        esc(csrf),
        field("backend_pr", "PR #", &form.backend_pr, "numeric"),
        field("backend_branch", "or branch", &form.backend_branch, "text"),
        field("ui_pr", "PR #", &form.ui_pr, "numeric"),
        field("ui_branch", "or branch", &form.ui_branch, "text"),
        esc(&form.ttl_minutes),
        sample("entities", "Configurable entities demo"),
        sample("aip", "Small AIP ingest"),
        sample("none", "Empty repository"),
    );
    layout("DSpace previews", Some((user, csrf)), &body)
}

/// A preview's page: status, URLs, actions, shareable links, audit log, log tail.
pub struct PreviewPage<'a> {
    /// Who is looking.
    pub user: &'a str,
    /// Their CSRF token.
    pub csrf: &'a str,
    /// The execution.
    pub detail: &'a Detail,
    /// Its phase.
    pub phase: &'a str,
    /// Its audit log.
    pub audit: &'a [Entry],
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
}

/// Renders [`PreviewPage`].
pub fn preview(p: &PreviewPage) -> String {
    let d = p.detail;
    let notice = p
        .notice
        .map(|n| format!(r#"<p class="msg" role="status">{}</p>"#, esc(n)))
        .unwrap_or_default();
    let urls: String = ["ui_url", "rest_url"]
        .iter()
        .filter_map(|k| d.output.get(k).and_then(|v| v.as_str()))
        .map(|u| format!("<li>{}</li>", link(u)))
        .collect();
    let outcome = d
        .output
        .get("outcome")
        .and_then(|v| v.as_str())
        .map(|o| format!("<p>Outcome: <strong>{}</strong></p>", esc(o)))
        .unwrap_or_default();
    let actions = if d.running() {
        let links: String = p
            .links
            .iter()
            .map(|(a, path)| {
                format!(
                    r#"<li>{}: <a href="{1}"><code>{1}</code></a></li>"#,
                    esc(a.label()),
                    esc(path)
                )
            })
            .collect();
        format!(
            "<p>{}</p><h2>Shareable links</h2><p>Anyone with one of these links can confirm the action; opening a link does nothing by itself.</p><ul>{links}</ul>",
            buttons(&d.id, p.csrf)
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
    let logs: String = p
        .logs
        .iter()
        .map(|l| format!("[{}] {}\n", esc(&l.stream), esc(&l.message)))
        .collect();
    let logs = if logs.is_empty() {
        "No log lines yet.".to_string()
    } else {
        format!("<pre>{logs}</pre>")
    };
    let body = format!(
        r#"{notice}<p>Status: <strong>{}</strong> · phase: <strong>{}</strong></p>{outcome}<ul>{urls}</ul>{actions}
<h2>Audit log</h2><table><tbody>{audit}</tbody></table>
<h2>Logs</h2>{logs}
<p><a href="{}">Step Functions console</a> · <a href="{}">CloudWatch Logs console</a></p>"#,
        esc(&d.status),
        esc(p.phase),
        esc(&urls::execution_console_url(p.region, &d.arn)),
        esc(&urls::logs_console_url(
            p.region,
            p.log_group,
            &format!("{}/", d.id)
        )),
    );
    layout(&format!("Preview {}", d.id), Some((p.user, p.csrf)), &body)
}

/// The confirmation page of a callback link: a POST form, so opening the link does nothing.
pub fn confirm(id: &str, action: LinkAction, token: &str, csrf: &str) -> String {
    layout(
        "Confirm",
        None,
        &format!(
            r#"<p>{} for preview <a href="/previews/{1}">{1}</a>?</p>
<form method="post" action="/l/{2}"><input type="hidden" name="csrf" value="{3}"><button>{0}</button></form>"#,
            esc(action.label()),
            esc(id),
            esc(token),
            esc(csrf)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(url_encode("/previews/a b?x=1"), "/previews/a%20b%3Fx%3D1");
    }

    #[test]
    fn only_http_urls_become_links() {
        assert!(link("http://x/").starts_with("<a "));
        assert_eq!(link("javascript:alert(1)"), "javascript:alert(1)");
    }

    #[test]
    fn the_home_page_escapes_what_people_typed() {
        let form = LaunchForm {
            backend_branch: "<script>".into(),
            ..Default::default()
        };
        let html = home("alice", "t", &[], &form, Some("bad <b>"), Utc::now());
        assert!(!html.contains("<script>"));
        assert!(html.contains("bad &lt;b&gt;"));
    }
}
