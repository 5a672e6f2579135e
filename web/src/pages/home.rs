//! The home page: live previews, the launch form with free slots and the cost estimate, and the
//! past previews.

use chrono::{DateTime, Utc};
use preview_tasks::domain::cost::{self, Usd};
use preview_tasks::domain::phase::Phase;
use preview_tasks::domain::request::{cfg_key, BACKEND_REPO, UI_REPO};

use super::{admin_hint, buttons, countdown, esc, layout, link, notice, Viewer};
use crate::forms::LaunchForm;
use crate::workflow::{LivePreview, Overview, PastPreview};

/// The open PRs to pick from, rendered as datalists, and what to tell about them.
#[derive(Debug, Clone, Default)]
pub struct FormChoices {
    /// `<datalist id="backend-prs">`.
    pub backend: String,
    /// `<datalist id="ui-prs">`.
    pub ui: String,
    /// `<datalist id="backend-branches">`.
    pub backend_branches: String,
    /// `<datalist id="ui-branches">`.
    pub ui_branches: String,
    /// Notes (stale lists, GitHub unreachable).
    pub notes: Vec<String>,
    /// The listed PRs whose head has a cached build ("backend PR #9876").
    pub cached: Vec<String>,
}

/// Everything the home page shows.
pub struct Home<'a> {
    /// Who is signed in.
    pub viewer: &'a Viewer,
    /// Live and past previews, and the dials in force.
    pub overview: &'a Overview,
    /// Only the form (it was wrong, and is shown back without asking AWS for the lists).
    pub partial: bool,
    /// The form as typed.
    pub form: &'a LaunchForm,
    /// What to fix in the form.
    pub error: Option<&'a str>,
    /// A notice (a suggestion that needs no fixing).
    pub notice: Option<&'a str>,
    /// The PRs to pick from.
    pub choices: &'a FormChoices,
    /// The time the page is rendered at.
    pub now: DateTime<Utc>,
}

/// A PR number or branch as tagged, linked to GitHub; empty means the base branch's image.
fn source(repo: &str, tagged: &str, base: &str) -> String {
    if let Some(n) = tagged.strip_prefix('#') {
        if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() {
            return format!(r#"<a href="https://github.com/{repo}/pull/{n}">{repo}#{n}</a>"#);
        }
    }
    if tagged.is_empty() {
        let base = if base.is_empty() { "main" } else { base };
        return format!("published image of {}", esc(base));
    }
    format!(
        r#"<a href="https://github.com/{repo}/tree/{0}">{repo} branch {0}</a>"#,
        esc(tagged)
    )
}

fn live_card(p: &LivePreview, viewer: &Viewer, admin_email: &str, now: DateTime<Utc>) -> String {
    let urls: Vec<String> = [("UI", &p.ui_url), ("REST API", &p.rest_url)]
        .iter()
        .filter_map(|(k, u)| u.as_deref().map(|u| format!("{k}: {}", link(u))))
        .collect();
    let urls = if urls.is_empty() {
        "<dd>not ready yet</dd>".to_string()
    } else {
        format!(
            "<dd>{}<br><small>{}</small></dd>",
            urls.join("<br>"),
            admin_hint(admin_email)
        )
    };
    let or_dash = |s: &str| {
        if s.is_empty() {
            "—".to_string()
        } else {
            esc(s)
        }
    };
    let phase = p.phase;
    format!(
        r#"<article class="card" data-preview="{id}"><h3><a href="/previews/{id}">{id}</a> <span class="phase phase-{phase}">{phase}</span>{boot}</h3>
<dl><dt>Backend</dt><dd>{backend}</dd><dt>UI</dt><dd>{ui}</dd><dt>Requested by</dt><dd>{requester}</dd><dt>URLs</dt>{urls}<dt>Stops at</dt><dd>{stops}</dd></dl>
<details><summary>Configuration</summary><dl><dt>Base branch</dt><dd>{base}</dd><dt>Sample content</dt><dd>{sample}</dd><dt>Environment</dt><dd><code>{env}</code></dd><dt>Instance</dt><dd>{instance} {itype}</dd><dt>Started</dt><dd>{started}</dd></dl></details>
<p><a href="/previews/{id}">Audit log</a> · <a href="/previews/{id}#logs">Logs</a></p>{buttons}</article>"#,
        id = esc(&p.id),
        boot = boot_phase(p, now),
        backend = source(BACKEND_REPO, &p.backend, &p.base_branch),
        ui = source(UI_REPO, &p.ui, &p.base_branch),
        requester = if p.requester.is_empty() {
            "— (shown once launched)".into()
        } else {
            esc(&p.requester)
        },
        stops = countdown(p.expires_at, now),
        base = or_dash(&p.base_branch),
        sample = or_dash(&p.sample_content),
        env = or_dash(&p.env),
        instance = or_dash(p.instance_id.as_deref().unwrap_or_default()),
        itype = esc(&p.instance_type),
        started = p
            .started
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default(),
        buttons = if viewer.may_act(&p.requester) {
            buttons(&p.id, &viewer.csrf)
        } else {
            String::new()
        },
    )
}

/// While a preview builds: which boot phase it is in, and for how long.
fn boot_phase(p: &LivePreview, now: DateTime<Utc>) -> String {
    let Some((phase, since)) = p.boot_phase.as_ref().filter(|_| p.phase == Phase::Building) else {
        return String::new();
    };
    let how_long = since
        .map(|t| format!(" for {} min", (now - t).num_minutes().max(0)))
        .unwrap_or_default();
    format!(
        r#" <small class="boot-phase">{}{how_long}</small>"#,
        esc(phase)
    )
}

fn outcome(status: &str) -> &'static str {
    match status {
        "SUCCEEDED" => "ended",
        "FAILED" => "failed",
        "ABORTED" => "aborted",
        "TIMED_OUT" => "timed out",
        _ => "unknown",
    }
}

fn duration(minutes: u64) -> String {
    format!("{}h {:02}m", minutes / 60, minutes % 60)
}

fn past_table(past: &[PastPreview], per_hour: Option<Usd>) -> String {
    if past.is_empty() {
        return "<p>No preview has finished yet.</p>".into();
    }
    let rows: String = past
        .iter()
        .map(|p| {
            let cost = per_hour
                .map(|h| h.for_minutes(p.minutes()).to_string())
                .unwrap_or_else(|| "—".into());
            let to_url = p
                .minutes_to_url()
                .map(duration)
                .unwrap_or_else(|| "—".into());
            format!(
                r#"<tr><td><a href="/previews/{0}">{0}</a></td><td>{1}</td><td>{2}</td><td>{to_url}</td><td>{3}</td><td>{cost}</td></tr>"#,
                esc(&p.id),
                outcome(&p.status),
                p.started.format("%Y-%m-%d %H:%M UTC"),
                duration(p.minutes()),
            )
        })
        .collect();
    format!(
        "<table class=\"stack\"><thead><tr><th>Preview</th><th>Outcome</th><th>Started</th><th>Time to URL</th><th>Lived</th><th>Estimated cost</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}

fn capacity(h: &Home) -> String {
    let max = h.overview.config.max_live as usize;
    let live = &h.overview.live;
    let free = max.saturating_sub(live.len());
    if free > 0 {
        return format!(
            r#"<p id="slots"><strong>{free} of {max}</strong> preview slots free.</p>"#
        );
    }
    let next = live.iter().filter_map(|p| p.expires_at).min();
    let when = next
        .map(|t| {
            format!(
                " The next one frees by {} at the latest.",
                t.format("%H:%M UTC")
            )
        })
        .unwrap_or_default();
    format!(
        r#"<p id="slots" class="msg err">All {max} preview slots are in use, so a launch now would be refused.{when} Ask a preview's requester to stop theirs if it is no longer needed.</p>"#
    )
}

fn estimate(h: &Home) -> String {
    let config = &h.overview.config;
    let Some(per_hour) = config.preview_hourly() else {
        return format!(
            r#"<p class="estimate">No price is known for instance type {}; set the <code>hourly-price-usd</code> dial to see estimates.</p>"#,
            esc(&config.instance_type)
        );
    };
    let ttl = h
        .form
        .ttl_minutes
        .trim()
        .parse()
        .unwrap_or(config.default_ttl_minutes);
    let e = cost::estimate(per_hour, config.max_live, ttl, config.max_lifetime_minutes);
    format!(
        r#"<div class="estimate" id="estimate"><strong>Cost estimate</strong> ({} {}, {} GiB): {} per hour, about <strong>{}</strong> for this preview ({} min).
<br><small>Worst case: {} slots × {} h longest lifetime = {}; every slot busy all month = {}.</small></div>"#,
        esc(&config.instance_type),
        if config.hourly_price_usd.is_some() {
            "at the configured price"
        } else {
            "on demand, us-east-1"
        },
        config.volume_gib,
        e.per_hour,
        e.this_preview,
        ttl,
        config.max_live,
        config.max_lifetime_minutes / 60,
        e.all_slots_max_lifetime,
        e.month_worst_case,
    )
}

fn launch_form(h: &Home) -> String {
    let form = h.form;
    let config = &h.overview.config;
    let sample = |v: &str, label: &str| {
        let sel = if form.sample_content == v || (form.sample_content.is_empty() && v == "entities")
        {
            " selected"
        } else {
            ""
        };
        format!(r#"<option value="{v}"{sel}>{label}</option>"#)
    };
    let field = |name: &str, label: &str, value: &str, extra: &str| {
        format!(
            r#"<label><span>{label}</span><input name="{name}" value="{}" {extra}></label>"#,
            esc(value)
        )
    };
    let pr_field = |name: &str, list: &str, value: &str| {
        let extra = format!(r#"list="{list}" inputmode="numeric" autocomplete="off""#);
        field(name, "PR number (type to filter open PRs)", value, &extra)
    };
    let branch_field = |name: &str, list: &str, value: &str| {
        let extra = format!(r#"list="{list}" autocomplete="off" spellcheck="false""#);
        field(name, "or a branch", value, &extra)
    };
    let mut notes: String = h
        .choices
        .notes
        .iter()
        .map(|n| format!(r#"<p class="msg">{}</p>"#, esc(n)))
        .collect();
    for dial in &h.overview.config.ignored_dials {
        notes.push_str(&format!(
            r#"<p class="msg err ignored-dial" role="alert">Run-time dial <code>{}</code> is ignored: {}. Its default applies until it is fixed in SSM Parameter Store.</p>"#,
            esc(&dial.parameter),
            esc(&dial.reason)
        ));
    }
    if !h.choices.cached.is_empty() {
        notes.push_str(&format!(
            r#"<p class="msg" id="cached-builds">A cached build exists for {}: a preview of it starts without building (minutes instead of a build).</p>"#,
            esc(&h.choices.cached.join(", "))
        ));
    }
    format!(
        r#"{slots}{error}{notice}{notes}
<form method="post" action="/previews"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="paired" value="{paired}">
<div class="grid2">
<fieldset><legend>Backend · DSpace/DSpace</legend>{bpr}{bbr}</fieldset>
<fieldset><legend>UI · DSpace/dspace-angular</legend>{upr}{ubr}<small id="pair-hint"></small></fieldset>
</div>
<small>Leave a side empty to run the published image of the base branch. Both sides must target the same base branch.</small>
<div class="grid2">
<label><span>Time to live (minutes, {min}–{max})</span><input name="ttl_minutes" type="number" min="{min}" max="{max}" step="10" value="{ttl}" placeholder="{default}"></label>
<label><span>Sample content</span><select name="sample_content">{s1}{s2}{s3}</select></label>
</div>
<details{open_env}><summary>Backend configuration overrides</summary>
<label><span>One <code>key=value</code> per line (local.cfg names, e.g. <code>dspace.name=Test</code>)</span><textarea name="env">{env}</textarea></label>
<small>Allowed keys: {allowed}</small></details>
{estimate}
<p><button type="submit">Launch</button></p></form>{blist}{ulist}{bbranches}{ubranches}"#,
        slots = if h.partial {
            String::new()
        } else {
            capacity(h)
        },
        error = notice(h.error, true),
        notice = notice(h.notice, false),
        csrf = esc(&h.viewer.csrf),
        paired = esc(&form.paired),
        bpr = pr_field("backend_pr", "backend-prs", &form.backend_pr),
        bbr = branch_field("backend_branch", "backend-branches", &form.backend_branch),
        upr = pr_field("ui_pr", "ui-prs", &form.ui_pr),
        ubr = branch_field("ui_branch", "ui-branches", &form.ui_branch),
        min = config.min_ttl_minutes,
        max = config.max_lifetime_minutes,
        default = config.default_ttl_minutes,
        ttl = esc(&form.ttl_minutes),
        s1 = sample("entities", "Configurable entities demo data"),
        s2 = sample("aip", "Small AIP ingest"),
        s3 = sample("none", "Empty repository"),
        open_env = if form.env.trim().is_empty() {
            ""
        } else {
            " open"
        },
        env = esc(&form.env),
        allowed = config
            .env_allowlist
            .iter()
            .map(|k| format!("<code>{}</code>", esc(&cfg_key(k))))
            .collect::<Vec<_>>()
            .join(", "),
        estimate = estimate(h),
        blist = h.choices.backend,
        ulist = h.choices.ui,
        bbranches = h.choices.backend_branches,
        ubranches = h.choices.ui_branches,
    )
}

/// Renders [`Home`].
pub fn home(h: &Home) -> String {
    if h.partial {
        let body = format!(
            r#"<p>The live and past previews are on the <a href="/">home page</a>.</p>
<h2 id="launch">Launch a preview</h2>{}"#,
            launch_form(h)
        );
        return layout("DSpace previews", Some(h.viewer), &body);
    }
    let live = &h.overview.live;
    let cards = if live.is_empty() {
        "<p>No preview is running.</p>".to_string()
    } else {
        let cards: String = live
            .iter()
            .map(|p| live_card(p, h.viewer, &h.overview.config.admin_email, h.now))
            .collect();
        format!(r#"<div class="cards">{cards}</div>"#)
    };
    let body = format!(
        r#"<h2>Live previews</h2>{cards}
<h2 id="launch">Launch a preview</h2>{}
<h2 id="past">Past previews</h2>{}"#,
        launch_form(h),
        past_table(&h.overview.past, h.overview.config.preview_hourly()),
    );
    layout("DSpace previews", Some(h.viewer), &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use preview_tasks::Config;

    fn overview(live: Vec<LivePreview>) -> Overview {
        Overview {
            live,
            past: vec![
                PastPreview {
                    id: "dsp-b1-x".into(),
                    status: "FAILED".into(),
                    started: "2026-11-28T10:00:00Z".parse().unwrap(),
                    stopped: "2026-11-28T11:05:30Z".parse().unwrap(),
                    ready_at: None,
                },
                PastPreview {
                    id: "dsp-b2-x".into(),
                    status: "SUCCEEDED".into(),
                    started: "2026-11-28T12:00:00Z".parse().unwrap(),
                    stopped: "2026-11-28T14:00:00Z".parse().unwrap(),
                    ready_at: "2026-11-28T12:21:20Z".parse().ok(),
                },
            ],
            config: Config::default(),
        }
    }

    fn render(o: &Overview, form: &LaunchForm, error: Option<&str>) -> String {
        home(&Home {
            viewer: &Viewer {
                user: "alice".into(),
                github: false,
                csrf: "t".into(),
                acts_on_any: true,
            },
            overview: o,
            partial: false,
            form,
            error,
            notice: None,
            choices: &FormChoices::default(),
            now: Utc::now(),
        })
    }

    #[test]
    fn the_home_page_escapes_what_people_typed() {
        let form = LaunchForm {
            backend_branch: "<script>".into(),
            env: "a=<b>".into(),
            ..Default::default()
        };
        let html = render(&overview(vec![]), &form, Some("bad <b>"));
        assert!(!html.contains("<script>") && !html.contains("<b>"));
        assert!(html.contains("bad &lt;b&gt;"));
    }

    #[test]
    fn an_ignored_dial_is_named_on_the_page() {
        let mut o = overview(vec![]);
        o.config
            .ignored_dials
            .push(preview_tasks::config::IgnoredDial {
                parameter: "/dspace-preview/dspace-preview/config/max-live".into(),
                reason: "PREVIEW_MAX_LIVE must be a whole number, got 'three'".into(),
            });
        let html = render(&o, &LaunchForm::default(), None);
        assert!(
            html.contains("Run-time dial <code>/dspace-preview/dspace-preview/config/max-live</code> is ignored: PREVIEW_MAX_LIVE must be a whole number, got &#39;three&#39;."),
            "{html}"
        );
    }

    #[test]
    fn free_slots_cost_and_past_previews_show() {
        let html = render(&overview(vec![]), &LaunchForm::default(), None);
        assert!(
            html.contains("<strong>3 of 3</strong> preview slots free"),
            "{html}"
        );
        // The default m7i.xlarge: $0.2016/h and the 60 GiB gp3 volume.
        assert!(
            html.contains("about <strong>$0.42</strong> for this preview (120 min)"),
            "{html}"
        );
        assert!(html.contains("every slot busy all month = $456"), "{html}");
        assert!(html.contains("<td>failed</td>"));
        assert!(
            html.contains("<td>—</td><td>1h 06m</td><td>$0.23</td>"),
            "{html}"
        );
        assert!(
            html.contains("<td>0h 21m</td><td>2h 00m</td>"),
            "time to URL: {html}"
        );
    }

    #[test]
    fn a_building_card_shows_its_boot_phase_and_for_how_long() {
        let now: DateTime<Utc> = "2026-11-28T12:10:00Z".parse().unwrap();
        let mut p = LivePreview {
            id: "dsp-b1-x".into(),
            phase: Phase::Building,
            boot_phase: Some((
                "building-backend".into(),
                Some("2026-11-28T12:03:00Z".parse().unwrap()),
            )),
            ..Default::default()
        };
        assert_eq!(
            boot_phase(&p, now),
            r#" <small class="boot-phase">building-backend for 7 min</small>"#
        );
        p.phase = Phase::Expiring;
        assert_eq!(boot_phase(&p, now), "");
    }

    #[test]
    fn full_slots_say_so_before_anyone_launches() {
        let live: Vec<LivePreview> = (0..3)
            .map(|i| LivePreview {
                id: format!("dsp-b{i}-x"),
                backend: format!("#{i}"),
                expires_at: Some("2026-11-28T12:00:00Z".parse().unwrap()),
                ..Default::default()
            })
            .collect();
        let html = render(&overview(live), &LaunchForm::default(), None);
        assert!(html.contains("All 3 preview slots are in use"), "{html}");
        assert!(html.contains("frees by 12:00 UTC"));
        assert!(html.contains(r#"href="https://github.com/DSpace/DSpace/pull/1""#));
        assert!(html.contains("published image of main"));
    }
}
