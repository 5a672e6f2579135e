//! The HTML pages. Every dynamic value goes through [`esc`]; pages work without JavaScript.

mod home;
mod preview;

pub use home::{home, FormChoices, Home};
pub use preview::{logs_text, preview, PreviewPage};

use chrono::{DateTime, Utc};

use crate::links::LinkAction;

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
pub(crate) fn link(url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        format!(r#"<a href="{0}">{0}</a>"#, esc(url))
    } else {
        esc(url)
    }
}

/// The stylesheet, served at [`STYLE_PATH`].
pub const STYLE: &str = include_str!("../../assets/app.css");
/// The script, served at [`SCRIPT_PATH`]; pages work without it.
pub const SCRIPT: &str = include_str!("../../assets/app.js");
/// Where the stylesheet is served (versioned by the crate version so caches renew on deploy).
pub const STYLE_PATH: &str = concat!("/assets/app-", env!("CARGO_PKG_VERSION"), ".css");
/// Where the script is served.
pub const SCRIPT_PATH: &str = concat!("/assets/app-", env!("CARGO_PKG_VERSION"), ".js");

/// Who looks at a page: the header's name and whether the Stop and Extend buttons show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// Their name or GitHub login.
    pub user: String,
    /// Signed in with GitHub (the header says so and shows `@login`).
    pub github: bool,
    /// Their CSRF token.
    pub csrf: String,
    /// May stop or extend every preview (see [`crate::auth::acts_on_any`]).
    pub acts_on_any: bool,
}

impl Viewer {
    /// True when the buttons of `requester`'s preview show for them.
    pub fn may_act(&self, requester: &str) -> bool {
        crate::auth::may_act(self.acts_on_any, &self.user, requester)
    }
}

/// The page frame: title, who is signed in, body.
pub fn layout(title: &str, viewer: Option<&Viewer>, body: &str) -> String {
    let who = match viewer {
        Some(v) => format!(
            r#"<span>signed in {} <strong>{}</strong> <form method="post" action="/signout"><input type="hidden" name="csrf" value="{}"><button class="secondary">Sign out</button></form></span>"#,
            if v.github { "with GitHub as" } else { "as" },
            esc(&if v.github {
                format!("@{}", v.user)
            } else {
                v.user.clone()
            }),
            esc(&v.csrf)
        ),
        None => String::new(),
    };
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{0} · DSpace previews</title><link rel="stylesheet" href="{STYLE_PATH}"><script src="{SCRIPT_PATH}" defer></script></head>
<body><header><a href="/">DSpace previews</a>{who}</header><main><h1>{0}</h1>{body}</main></body></html>"#,
        esc(title)
    )
}

/// A notice or error paragraph, or nothing.
pub fn notice(text: Option<&str>, error: bool) -> String {
    text.map(|t| {
        let (class, role) = if error {
            ("msg err", "alert")
        } else {
            ("msg", "status")
        };
        format!(r#"<p class="{class}" role="{role}">{}</p>"#, esc(t))
    })
    .unwrap_or_default()
}

/// The shutdown time with a countdown that the script keeps current.
pub fn countdown(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match expires {
        None => "—".into(),
        Some(t) => {
            let mins = (t - now).num_minutes();
            let left = if mins <= 0 {
                "now".to_string()
            } else {
                format!("in {}h {:02}m", mins / 60, mins % 60)
            };
            format!(
                r#"{} (<span data-expires="{}">{left}</span>)"#,
                t.format("%H:%M UTC"),
                t.to_rfc3339()
            )
        }
    }
}

/// Extend and Stop buttons of a live preview.
pub fn buttons(id: &str, csrf: &str) -> String {
    let id = esc(id);
    let csrf = esc(csrf);
    let extend = |m: u32| {
        format!(
            r#"<form class="inline" method="post" action="/previews/{id}/extend"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="minutes" value="{m}"><button class="secondary">Extend {m} min</button></form>"#
        )
    };
    format!(
        r#"<div class="actions">{}{}<form class="inline" method="post" action="/previews/{id}/stop"><input type="hidden" name="csrf" value="{csrf}"><button class="danger">Stop</button></form></div>"#,
        extend(30),
        extend(60)
    )
}

/// How a person signs in to a preview's DSpace.
pub fn admin_hint(admin_email: &str) -> String {
    format!(
        "Log in to DSpace as <code>{}</code>; the password is on the preview's page.",
        esc(admin_email)
    )
}

/// A page with one message (errors, results).
pub fn message(title: &str, text: &str, back: Option<&str>) -> String {
    let back = back
        .map(|b| format!(r#"<p><a href="{}">Back</a></p>"#, esc(b)))
        .unwrap_or_default();
    layout(title, None, &format!("{}{back}", notice(Some(text), false)))
}

/// The sign-in form.
pub fn signin(next: &str, csrf: &str, error: Option<&str>) -> String {
    let error = notice(error, true);
    layout(
        "Sign in",
        None,
        &format!(
            r#"{error}<p>Enter your GitHub login (or e-mail) so the audit log can name you, and the access code shared with the DSpace community.</p>
<form method="post" action="/signin"><input type="hidden" name="csrf" value="{}"><input type="hidden" name="next" value="{}">
<label><span>Your name</span><input name="name" required maxlength="100" autocomplete="username"></label>
<label><span>Access code</span><input name="code" type="password" required autocomplete="current-password"></label>
<button>Sign in</button></form>"#,
            esc(csrf),
            esc(next)
        ),
    )
}

/// The sign-in page in GitHub mode: one button (a link, so no form posts to another site).
pub fn signin_github(next: &str, error: Option<&str>) -> String {
    layout(
        "Sign in",
        None,
        &format!(
            r#"{}<p>Sign in with your GitHub account. The service reads only your login and your DSpace organization and team memberships.</p>
<p><a class="button" id="signin-github" href="/auth/github?next={}">Sign in with GitHub</a></p>"#,
            notice(error, true),
            esc(&url_encode(next))
        ),
    )
}

/// The page of someone GitHub signed in whom the rules do not let in.
pub fn refused(login: &str, who_may: &str) -> String {
    layout(
        "Not signed in",
        None,
        &format!(
            r#"<p>Thank you for your interest, <strong>@{}</strong>. This service starts cloud machines paid for by the DSpace project, so only some GitHub accounts may use it: {}.</p>
<p>If you think you should be one of them, ask on the DSpace Slack or mailing list. You were not signed in.</p><p><a href="/signin">Back to the sign-in page</a></p>"#,
            esc(login),
            esc(who_may)
        ),
    )
}

/// The confirmation page of a callback link: a POST form, so opening the link does nothing.
pub fn confirm(id: &str, action: LinkAction, token: &str, csrf: &str) -> String {
    layout(
        "Confirm",
        None,
        &format!(
            r#"<p>{} for preview <a href="/previews/{1}">{1}</a>?</p>
<form class="confirm" method="post" action="/l/{2}"><input type="hidden" name="csrf" value="{3}"><button>{0}</button></form>"#,
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
}
