//! The HTTP routes and their handlers.

use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, Utc};
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::{
    env_key, PreviewRequest, SampleContent, SourceInput, ValidRequest, BACKEND_REPO, UI_REPO,
};
use preview_tasks::logs::LogLine;
use serde::Deserialize;
use std::collections::BTreeMap;

use crate::audit::{self, Capacity, Event};
use crate::auth::{self, safe_next, Session};
use crate::choices;
use crate::error::WebError;
use crate::limits;
use crate::limits::Claim;
use crate::links::{self, Link, LinkAction};
use crate::pages::{self, Home, LaunchForm, PreviewPage};
use crate::state::AppState;
use crate::throttle::ClientAddress;
use crate::workflow::{self, Action, Callback, Overview};
use preview_tasks::Config;

/// Log lines shown on a preview's page.
const LOG_TAIL: usize = 100;

/// Every route of the app.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(|| async { "ok" }))
        .route("/signin", get(signin_form).post(signin))
        .route("/signout", post(signout))
        .route("/previews", post(launch))
        .route("/previews/{id}", get(show))
        .route("/previews/{id}/logs", get(logs))
        .route("/previews/{id}/admin-password", post(admin_password))
        .route(pages::STYLE_PATH, get(|| asset(pages::STYLE, "text/css")))
        .route(
            pages::SCRIPT_PATH,
            get(|| asset(pages::SCRIPT, "text/javascript")),
        )
        .route("/previews/{id}/extend", post(extend))
        .route("/previews/{id}/stop", post(stop))
        .route("/l/{token}", get(link_confirm).post(link_act))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// A static asset; its path carries the version, so browsers may keep it.
async fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, kind),
            (CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        body,
    )
        .into_response()
}

/// Headers every page carries: no framing, no sniffing, scripts and styles from here only.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn parse_id(id: &str) -> Result<PreviewId, WebError> {
    PreviewId::parse(id).map_err(|_| WebError::NotFound(format!("there is no preview {id}")))
}

async fn home(State(state): State<AppState>, session: Session) -> Result<Html<String>, WebError> {
    let (overview, choices) = tokio::join!(workflow::overview(&state), choices::pr_choices(&state));
    let csrf = session.csrf();
    Ok(Html(pages::home(&Home {
        user: &session.user,
        csrf: &csrf,
        overview: &overview?,
        partial: false,
        form: &LaunchForm::default(),
        error: None,
        notice: None,
        choices: &choices,
        now: Utc::now(),
    })))
}

/// The launch form as a request, or the message saying what to fix.
pub fn request_from_form(form: &LaunchForm, requester: &str) -> Result<PreviewRequest, WebError> {
    let mut sources = Vec::new();
    for (repo, pr, branch, side) in [
        (
            BACKEND_REPO,
            &form.backend_pr,
            &form.backend_branch,
            "backend",
        ),
        (UI_REPO, &form.ui_pr, &form.ui_branch, "UI"),
    ] {
        let (pr, branch) = (pr.trim().trim_start_matches('#'), branch.trim());
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
    let ttl_minutes = match form.ttl_minutes.trim() {
        "" => None,
        t => Some(t.parse::<u32>().map_err(|_| {
            WebError::BadRequest(format!(
                "the time to live '{t}' is not a whole number of minutes"
            ))
        })?),
    };
    let sample_content = match form.sample_content.as_str() {
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
        env: env_from_form(&form.env)?,
    })
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

/// Why the form comes back instead of a launch: the status and what the form says.
struct Back(StatusCode, Message);

/// What the re-shown form says.
enum Message {
    /// Something to fix.
    Error(String),
    /// A suggestion; nothing was wrong.
    Notice(String),
}

/// A refusal as the form's message; any other error stays an error.
fn refused(e: WebError, status: StatusCode) -> Result<Back, WebError> {
    match e {
        WebError::BadRequest(m) => Ok(Back(status, Message::Error(m))),
        other => Err(other),
    }
}

/// The form back with what to fix (or a suggestion), keeping what was typed. Without an
/// overview (the form itself is wrong) the page shows the form alone, so a bad form costs no
/// AWS or GitHub call.
async fn form_back(
    state: &AppState,
    session: &Session,
    overview: Option<&Overview>,
    form: &LaunchForm,
    Back(status, message): Back,
) -> Response {
    let form_only = Overview {
        live: Vec::new(),
        past: Vec::new(),
        config: state.config.clone(),
    };
    let choices = match overview {
        Some(_) => choices::pr_choices(state).await,
        None => Default::default(),
    };
    let csrf = session.csrf();
    let (error, notice) = match &message {
        Message::Error(e) => (Some(e.as_str()), None),
        Message::Notice(n) => (None, Some(n.as_str())),
    };
    let html = pages::home(&Home {
        user: &session.user,
        csrf: &csrf,
        overview: overview.unwrap_or(&form_only),
        partial: overview.is_none(),
        form,
        error,
        notice,
        choices: &choices,
        now: Utc::now(),
    });
    (status, Html(html)).into_response()
}

/// What a launch was admitted with: the request and the launch-limit places it took.
type Admitted = (PreviewRequest, ValidRequest, Vec<Claim>);

/// The message when every slot is taken.
fn no_free_slot(max_live: u32) -> String {
    format!(
        "All {max_live} preview slots are in use; nothing was launched. Try again when one frees, or ask a requester to stop a preview they no longer need."
    )
}

/// Every check before a launch, cheapest first: the form against the dials in force, the PRs on
/// GitHub, the pairing suggestion, a free slot, then the launch limits (places taken only when
/// all else passed, and given back if the capacity check refuses).
async fn admit(
    state: &AppState,
    user: &str,
    overview: &Overview,
    form: &mut LaunchForm,
) -> Result<Result<Admitted, Back>, WebError> {
    let config = &overview.config;
    let rules = config.request_rules();
    let request =
        match request_from_form(form, user).and_then(|r| Ok(r.validate(&rules).map(|_| r)?)) {
            Ok(request) => request,
            Err(e) => return refused(e, StatusCode::BAD_REQUEST).map(Err),
        };
    let (request, pairing) = match choices::check_prs(state, request).await {
        Ok(checked) => checked,
        Err(e) => return refused(e, StatusCode::BAD_REQUEST).map(Err),
    };
    let valid = match request.validate(&rules) {
        Ok(valid) => valid,
        Err(e) => return refused(e.into(), StatusCode::BAD_REQUEST).map(Err),
    };
    if let (Some(backend), true) = (pairing, form.paired.is_empty()) {
        form.backend_pr = backend.number.to_string();
        form.paired = "1".into();
        let text = format!(
            "UI PR #{} says it requires DSpace/DSpace#{}, so that is now the backend PR. Press Launch again, or empty the backend field to run the published backend of {}.",
            form.ui_pr.trim().trim_start_matches('#'),
            backend.number,
            backend.base
        );
        return Ok(Err(Back(StatusCode::OK, Message::Notice(text))));
    }
    if overview.live.len() >= config.max_live as usize {
        let text = no_free_slot(config.max_live);
        return Ok(Err(Back(StatusCode::CONFLICT, Message::Error(text))));
    }
    let per_user = config.launches_per_user_per_hour;
    match limits::admit(state, user, per_user, config.launches_per_hour).await {
        Ok(claims) => Ok(Ok((request, valid, claims))),
        Err(e) => refused(e, StatusCode::TOO_MANY_REQUESTS).map(Err),
    }
}

async fn launch(
    State(state): State<AppState>,
    session: Session,
    Form(mut form): Form<LaunchForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    // What is wrong with the form itself is said before any AWS or GitHub call.
    let precheck = request_from_form(&form, &session.user)
        .and_then(|r| Ok(r.precheck(state.config.min_ttl_minutes)?));
    if let Err(e) = precheck {
        let back = refused(e, StatusCode::BAD_REQUEST)?;
        return Ok(form_back(&state, &session, None, &form, back).await);
    }
    let overview = workflow::overview(&state).await?;
    let (request, valid, claims) = match admit(&state, &session.user, &overview, &mut form).await? {
        Ok(admitted) => admitted,
        Err(back) => return Ok(form_back(&state, &session, Some(&overview), &form, back).await),
    };
    let id = PreviewId::generate(&valid, Utc::now(), rand::random());
    if let Err(e) = workflow::start(&state, &id, &request).await {
        limits::release(&state, &claims).await;
        return Err(e);
    }
    // Say "launched" only once the capacity check took a slot; the workflow may still refuse.
    let answer = workflow::await_capacity(&state, &id, state.launch_answer_wait)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, preview = %id, "capacity answer not read");
            Capacity::Undecided
        });
    let (status, text) = match answer {
        Capacity::Took => {
            tracing::info!(preview = %id, by = %session.user, "launched");
            return Ok(see_other(&format!("/previews/{id}?notice=launched")));
        }
        Capacity::Undecided => {
            tracing::info!(preview = %id, by = %session.user, "started; capacity undecided");
            return Ok(see_other(&format!("/previews/{id}?notice=starting")));
        }
        Capacity::Refused { error, message } => match error.as_str() {
            "NoFreeSlot" => (StatusCode::CONFLICT, no_free_slot(overview.config.max_live)),
            "InvalidRequest" => (StatusCode::BAD_REQUEST, message),
            _ => (
                StatusCode::BAD_GATEWAY,
                format!("The capacity check failed, so nothing was launched ({error}: {message}). Try again in a minute; the attempt's audit log is at /previews/{id}."),
            ),
        },
    };
    tracing::info!(preview = %id, by = %session.user, "refused by the capacity check");
    limits::release(&state, &claims).await;
    let back = Back(status, Message::Error(text));
    Ok(form_back(&state, &session, Some(&overview), &form, back).await)
}

#[derive(Debug, Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

/// The notices a redirect may ask for (a fixed set, so nothing from the URL is echoed); some
/// read the preview's history (`events`) or the dials in force.
fn notice_text(code: &str, events: &[Event], config: &Config) -> Option<String> {
    let fixed = match code {
        "launched" => "Launched: it has a slot. The preview takes a while to build; this page shows its progress.",
        "starting" => "Starting: the capacity check has not answered yet, so it may still be refused. Check the home page in a minute: it lists the preview once it has a slot.",
        "extended" => return audit::extends(events).last().map(extend_notice),
        "extend-sent" => "Extend requested. The new shutdown time shows once the workflow has recorded it.",
        "stopped" => "Stop requested: the preview is being shut down.",
        "stop-requested" => return Some(stop_requested(config)),
        "ended" => "This preview has already ended; there is nothing to extend or stop.",
        "busy" => "The preview is not waiting for an extend right now (still building, or handling the previous request); try again in a moment.",
        "no-password" => "The admin password is not created yet: the launch step makes it as the instance starts.",
        _ => return None,
    };
    Some(fixed.to_string())
}

/// What an extend granted and the shutdown time now, as the audit log words it.
fn extend_sentence(out: &preview_tasks::steps::extend::ExtendOutput) -> String {
    format!(
        "{}. It now stops at {} UTC.",
        audit::extend_text(out, None),
        out.expires_at.format("%H:%M")
    )
}

/// [`extend_sentence`] as a notice of its own (capitalised).
fn extend_notice(out: &preview_tasks::steps::extend::ExtendOutput) -> String {
    let text = extend_sentence(out);
    let mut chars = text.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    format!("{first}{}", chars.as_str())
}

/// A stop recorded while no callback waits.
fn stop_requested(config: &Config) -> String {
    format!(
        "Stop requested: it takes effect within one health check (about {} seconds).",
        config.health_poll_interval_seconds
    )
}

/// A preview's page with the notice `notice_code` asks for; `admin_password` once someone asked
/// to see it.
async fn render_preview(
    state: &AppState,
    session: &Session,
    id: &PreviewId,
    notice_code: &str,
    admin_password: Option<&str>,
) -> Result<Html<String>, WebError> {
    let names = state.config.names();
    let (detail, logs) = tokio::join!(workflow::detail(state, id), log_tail(state, id));
    let detail = detail?;
    let notice = notice_text(notice_code, &detail.events, &state.config);
    let audit = audit::audit_log(&detail.events);
    let phase = audit::phase(&detail.events);
    let expires = Utc::now() + Duration::minutes(i64::from(state.config.max_lifetime_minutes));
    let links: Vec<(LinkAction, String)> = LinkAction::ALL
        .into_iter()
        .map(|action| {
            let link = Link {
                id: id.clone(),
                action,
                expires,
            };
            (
                action,
                format!("/l/{}", links::encode(&session.keys().signer, &link)),
            )
        })
        .collect();
    let csrf = session.csrf();
    Ok(Html(pages::preview(&PreviewPage {
        user: &session.user,
        csrf: &csrf,
        detail: &detail,
        phase,
        audit: &audit,
        urls: &audit::urls(&detail.events),
        logs: &logs,
        links: &links,
        notice: notice.as_deref(),
        region: &state.region,
        log_group: &names.log_group(),
        admin_email: &state.config.admin_email,
        admin_password,
        images: &audit::images(&detail.events),
        timeline: &audit::timeline(&detail.events),
    })))
}

/// The tail of a preview's logs; none when CloudWatch Logs cannot be read (the page still works).
async fn log_tail(state: &AppState, id: &PreviewId) -> Vec<LogLine> {
    let names = state.config.names();
    preview_tasks::logs::tail(&state.clients.logs, &names, id, LOG_TAIL)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, preview = %id, "log tail unavailable");
            Vec::new()
        })
}

async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, WebError> {
    let id = parse_id(&id)?;
    render_preview(&state, &session, &id, &q.notice, None).await
}

/// The log tail as text, for the page's refreshing log view.
async fn logs(
    State(state): State<AppState>,
    _session: Session,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = parse_id(&id)?;
    let text = pages::logs_text(&log_tail(&state, &id).await);
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// Shows the preview's DSpace admin password (a POST, so it never sits in a URL or a cache).
async fn admin_password(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Html<String>, WebError> {
    session.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let password = workflow::admin_password(&state, &id).await?;
    tracing::info!(preview = %id, by = %session.user, "admin password shown");
    let notice = if password.is_some() {
        ""
    } else {
        "no-password"
    };
    render_preview(&state, &session, &id, notice, password.as_deref()).await
}

#[derive(Debug, Deserialize)]
struct ExtendForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    minutes: String,
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// What an extend or stop achieved, for the redirect and the link page.
enum Outcome {
    /// Extended: the Extend step's result.
    Extended(preview_tasks::steps::extend::ExtendOutput),
    /// The extend was handed over but the workflow has not recorded it yet.
    ExtendSent,
    /// The waiting preview took the stop.
    Stopped,
    /// A stop request was stored for the workflow's next check.
    StopRequested,
    /// The preview has ended.
    Ended,
    /// Nothing waits for an extend.
    Busy,
}

impl Outcome {
    /// The notice code the preview page shows it with.
    fn code(&self) -> &'static str {
        match self {
            Outcome::Extended(_) => "extended",
            Outcome::ExtendSent => "extend-sent",
            Outcome::Stopped => "stopped",
            Outcome::StopRequested => "stop-requested",
            Outcome::Ended => "ended",
            Outcome::Busy => "busy",
        }
    }
}

/// How long an extend waits for the workflow to record what it granted.
const EXTEND_ANSWER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Extends or stops a preview for `by` and, for an extend, waits briefly for what was granted.
async fn act(
    state: &AppState,
    id: &PreviewId,
    action: Action,
    by: &str,
) -> Result<Outcome, WebError> {
    let before = match action {
        Action::Extend(_) => workflow::extends_recorded(state, id).await?,
        Action::Stop => 0,
    };
    let outcome = workflow::callback(state, id, action, by).await?;
    tracing::info!(preview = %id, %by, ?action, ?outcome, "callback");
    Ok(match (outcome, action) {
        (Callback::Sent, Action::Extend(_)) => {
            match workflow::await_extend(state, id, before, EXTEND_ANSWER_WAIT).await? {
                Some(out) => Outcome::Extended(out),
                None => Outcome::ExtendSent,
            }
        }
        (Callback::Sent, Action::Stop) => Outcome::Stopped,
        (Callback::StopRequested, _) => Outcome::StopRequested,
        (Callback::Ended, _) => Outcome::Ended,
        (Callback::NotWaiting, _) => Outcome::Busy,
    })
}

fn extension(minutes: &str) -> Result<u32, WebError> {
    match minutes.trim() {
        "30" => Ok(30),
        "60" => Ok(60),
        other => Err(WebError::BadRequest(format!(
            "extend by 30 or 60 minutes, not '{other}'"
        ))),
    }
}

async fn extend(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<ExtendForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let minutes = extension(&form.minutes)?;
    let outcome = act(&state, &id, Action::Extend(minutes), &session.user).await?;
    Ok(see_other(&format!(
        "/previews/{id}?notice={}",
        outcome.code()
    )))
}

async fn stop(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let outcome = act(&state, &id, Action::Stop, &session.user).await?;
    Ok(see_other(&format!(
        "/previews/{id}?notice={}",
        outcome.code()
    )))
}

async fn link_confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Html<String>, WebError> {
    let keys = state.keys.current().await?;
    let link = links::decode(&keys.signer, &token, Utc::now())?;
    let csrf = keys.signer.sign("link-form", &token);
    Ok(Html(pages::confirm(
        link.id.as_str(),
        link.action,
        &token,
        &csrf,
    )))
}

/// The link's POST: authorised by the signed link itself (a bearer capability), so it works for
/// people who are not signed in; the form token proves the POST came from the confirmation page.
async fn link_act(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let keys = state.keys.current().await?;
    let link = links::decode(&keys.signer, &token, Utc::now())?;
    if !keys.signer.verify("link-form", &token, &form.csrf) {
        return Err(WebError::Forbidden("confirm on the link's own page".into()));
    }
    let by = auth::session_of(&state, &headers)
        .await?
        .map(|s| s.user)
        .unwrap_or_else(|| "a callback link".into());
    let action = match link.action {
        LinkAction::Extend30 => Action::Extend(30),
        LinkAction::Extend60 => Action::Extend(60),
        LinkAction::Stop => Action::Stop,
    };
    let id = &link.id;
    let outcome = act(&state, id, action, &by).await?;
    let back = format!("/previews/{id}");
    let (status, text) = match outcome {
        Outcome::Extended(out) => (
            StatusCode::OK,
            format!("Preview {id}: {}", extend_sentence(&out)),
        ),
        Outcome::Stopped => (StatusCode::OK, format!("Preview {id} is being stopped.")),
        Outcome::StopRequested => (
            StatusCode::OK,
            format!("Preview {id}: {}", stop_requested(&state.config)),
        ),
        Outcome::Ended => (
            StatusCode::CONFLICT,
            format!("Preview {id} has already ended."),
        ),
        other => (
            if matches!(other, Outcome::Busy) {
                StatusCode::CONFLICT
            } else {
                StatusCode::OK
            },
            notice_text(other.code(), &[], &state.config).unwrap_or_default(),
        ),
    };
    Ok((status, Html(pages::message("Done", &text, Some(&back)))).into_response())
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

fn signin_page(state: &AppState, next: &str, error: Option<&str>, status: StatusCode) -> Response {
    let token = format!("{:032x}", rand::random::<u128>());
    let cookie = auth::set_cookie(auth::SIGNIN_COOKIE, &token, 3600, state.secure_cookies);
    (
        status,
        [(SET_COOKIE, cookie)],
        Html(pages::signin(safe_next(next), &token, error)),
    )
        .into_response()
}

async fn signin_form(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    signin_page(&state, &q.next, None, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
struct SigninForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: String,
}

async fn signin(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Result<Response, WebError> {
    // Throttled before anything else, so a flood of guesses costs neither AWS calls nor time.
    let attempt = state
        .signin_throttle
        .attempt(&address, std::time::Instant::now())
        .map_err(|refused| {
            tracing::warn!(%address, everyone = !refused.this_address, "sign-in throttled");
            throttled(&refused)
        })?;
    let keys = state.keys.current().await?;
    let expected = auth::cookie(&headers, auth::SIGNIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !auth::same_secret(&keys, &form.csrf, expected) {
        return Err(WebError::Forbidden(
            "the sign-in form expired; reload it and try again".into(),
        ));
    }
    let name = form.name.trim();
    if !auth::valid_user_name(name) {
        let msg =
            "your name must be a GitHub login or an e-mail address (letters, digits, - _ . @ +)";
        return Ok(signin_page(
            &state,
            &form.next,
            Some(msg),
            StatusCode::BAD_REQUEST,
        ));
    }
    if !keys.code_matches(&form.code) {
        tracing::warn!(user = %name, %address, "wrong access code");
        return Ok(signin_page(
            &state,
            &form.next,
            Some("that access code is not right"),
            StatusCode::UNAUTHORIZED,
        ));
    }
    state.signin_throttle.succeeded(attempt);
    let value = auth::session_value(
        &keys,
        name,
        Utc::now() + Duration::hours(auth::SESSION_HOURS),
    );
    let session = auth::set_cookie(
        auth::SESSION_COOKIE,
        &value,
        auth::SESSION_HOURS * 3600,
        state.secure_cookies,
    );
    let clear = auth::set_cookie(auth::SIGNIN_COOKIE, "", 0, state.secure_cookies);
    let mut response = see_other(safe_next(&form.next));
    for c in [session, clear] {
        if let Ok(v) = c.parse() {
            response.headers_mut().append(SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// The 429 of a throttled sign-in: when to retry, in the page and in `Retry-After`.
fn throttled(refused: &crate::throttle::Refused) -> WebError {
    let seconds = refused.retry_after.as_secs().max(1);
    let at = Utc::now() + Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 2));
    let whose = if refused.this_address {
        "from your address"
    } else {
        "on this service (from many addresses)"
    };
    WebError::TooMany {
        message: format!(
            "Too many sign-in attempts {whose}. Try again after {} UTC (in {} minutes).",
            at.format("%H:%M:%S"),
            seconds.div_ceil(60)
        ),
        retry_after: seconds,
    }
}

/// Signs out: the cookie is cleared and the session revoked server-side, so a copy of the
/// cookie no longer works either.
async fn signout(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    state
        .revocations
        .revoke(&state, &session.id(), session.expires)
        .await?;
    tracing::info!(user = %session.user, "signed out");
    let clear = auth::set_cookie(auth::SESSION_COOKIE, "", 0, state.secure_cookies);
    Ok(([(SET_COOKIE, clear)], Redirect::to("/signin")).into_response())
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
        let r = request_from_form(&form, "alice").unwrap();
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
        let err = request_from_form(&form, "a").unwrap_err();
        assert!(err.to_string().contains("UI PR number 'abc'"), "{err}");
    }
}
