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

use crate::audit;
use crate::auth::{self, Session};
use crate::choices;
use crate::error::WebError;
use crate::limits;
use crate::links::{self, Link, LinkAction};
use crate::pages::{self, Home, LaunchForm, PreviewPage};
use crate::state::AppState;
use crate::workflow::{self, Callback, Overview};

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
    let csrf = session.csrf(&state.signer);
    Ok(Html(pages::home(&Home {
        user: &session.user,
        csrf: &csrf,
        overview: &overview?,
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

/// The form back with what to fix (or a suggestion), keeping what was typed.
async fn form_back(
    state: &AppState,
    session: &Session,
    overview: &Overview,
    form: &LaunchForm,
    Back(status, message): Back,
) -> Response {
    let choices = choices::pr_choices(state).await;
    let csrf = session.csrf(&state.signer);
    let (error, notice) = match &message {
        Message::Error(e) => (Some(e.as_str()), None),
        Message::Notice(n) => (None, Some(n.as_str())),
    };
    let html = pages::home(&Home {
        user: &session.user,
        csrf: &csrf,
        overview,
        form,
        error,
        notice,
        choices: &choices,
        now: Utc::now(),
    });
    (status, Html(html)).into_response()
}

/// Every check before a launch, cheapest first: the form, the PRs on GitHub, the pairing
/// suggestion, a free slot, the person's launch limit (counted only when all else passed).
async fn admit(
    state: &AppState,
    user: &str,
    overview: &Overview,
    form: &mut LaunchForm,
) -> Result<Result<(PreviewRequest, ValidRequest), Back>, WebError> {
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
        let text = format!(
            "All {} preview slots are in use; nothing was launched. Try again when one frees, or ask a requester to stop a preview they no longer need.",
            config.max_live
        );
        return Ok(Err(Back(StatusCode::CONFLICT, Message::Error(text))));
    }
    if let Err(e) = limits::record_launch(state, user, config.launches_per_user_per_hour).await {
        return refused(e, StatusCode::TOO_MANY_REQUESTS).map(Err);
    }
    Ok(Ok((request, valid)))
}

async fn launch(
    State(state): State<AppState>,
    session: Session,
    Form(mut form): Form<LaunchForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&state.signer, &form.csrf)?;
    let overview = workflow::overview(&state).await?;
    let (request, valid) = match admit(&state, &session.user, &overview, &mut form).await? {
        Ok(admitted) => admitted,
        Err(back) => return Ok(form_back(&state, &session, &overview, &form, back).await),
    };
    let id = PreviewId::generate(&valid, Utc::now(), rand::random());
    workflow::start(&state, &id, &request).await?;
    tracing::info!(preview = %id, by = %session.user, "launched");
    Ok(see_other(&format!("/previews/{id}?notice=launched")))
}

#[derive(Debug, Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

/// The notices a redirect may ask for (a fixed set, so nothing from the URL is echoed).
fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "launched" => "Launched. The preview takes a while to build; this page shows its progress.",
        "extended" => "Extended. The new shutdown time shows once the workflow has recorded it.",
        "stopped" => "Stop requested: the preview is being shut down.",
        "ended" => "This preview has already ended; there is nothing to extend or stop.",
        "busy" => "The preview is not waiting for a callback right now (still starting, or handling the previous request); try again in a moment.",
        _ => return None,
    })
}

/// A preview's page; `admin_password` once someone asked to see it.
async fn render_preview(
    state: &AppState,
    session: &Session,
    id: &PreviewId,
    notice: Option<&str>,
    admin_password: Option<&str>,
) -> Result<Html<String>, WebError> {
    let names = state.config.names();
    let (detail, logs) = tokio::join!(workflow::detail(state, id), log_tail(state, id));
    let detail = detail?;
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
                format!("/l/{}", links::encode(&state.signer, &link)),
            )
        })
        .collect();
    let csrf = session.csrf(&state.signer);
    Ok(Html(pages::preview(&PreviewPage {
        user: &session.user,
        csrf: &csrf,
        detail: &detail,
        phase,
        audit: &audit,
        urls: &audit::urls(&detail.events),
        logs: &logs,
        links: &links,
        notice,
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
    render_preview(&state, &session, &id, notice_text(&q.notice), None).await
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
    session.check_csrf(&state.signer, &form.csrf)?;
    let id = parse_id(&id)?;
    let password = workflow::admin_password(&state, &id).await?;
    tracing::info!(preview = %id, by = %session.user, "admin password shown");
    let (password, notice) = match password {
        Some(p) => (Some(p), None),
        None => (
            None,
            Some("The admin password is not created yet: the launch step makes it as the instance starts."),
        ),
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

fn after_callback(id: &PreviewId, done: &str, outcome: Callback) -> Response {
    let code = match outcome {
        Callback::Sent => done,
        Callback::Ended => "ended",
        Callback::NotWaiting => "busy",
    };
    see_other(&format!("/previews/{id}?notice={code}"))
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
    session.check_csrf(&state.signer, &form.csrf)?;
    let id = parse_id(&id)?;
    let minutes = extension(&form.minutes)?;
    let outcome = workflow::callback(&state, &id, Some(minutes), &session.user).await?;
    Ok(after_callback(&id, "extended", outcome))
}

async fn stop(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&state.signer, &form.csrf)?;
    let id = parse_id(&id)?;
    let outcome = workflow::callback(&state, &id, None, &session.user).await?;
    Ok(after_callback(&id, "stopped", outcome))
}

async fn link_confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Html<String>, WebError> {
    let link = links::decode(&state.signer, &token, Utc::now())?;
    let csrf = state.signer.sign("link-form", &token);
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
    let link = links::decode(&state.signer, &token, Utc::now())?;
    if !state.signer.verify("link-form", &token, &form.csrf) {
        return Err(WebError::Forbidden("confirm on the link's own page".into()));
    }
    let by = auth::session_of(&state, &headers)
        .map(|s| s.user)
        .unwrap_or_else(|| "a callback link".into());
    let minutes = match link.action {
        LinkAction::Extend30 => Some(30),
        LinkAction::Extend60 => Some(60),
        LinkAction::Stop => None,
    };
    let outcome = workflow::callback(&state, &link.id, minutes, &by).await?;
    let back = format!("/previews/{}", link.id);
    let (status, text) = match (outcome, minutes) {
        (Callback::Sent, Some(m)) => (
            StatusCode::OK,
            format!("Preview {} was extended by {m} minutes.", link.id),
        ),
        (Callback::Sent, None) => (
            StatusCode::OK,
            format!("Preview {} is being stopped.", link.id),
        ),
        (Callback::Ended, _) => (
            StatusCode::CONFLICT,
            format!("Preview {} has already ended.", link.id),
        ),
        (Callback::NotWaiting, _) => (
            StatusCode::CONFLICT,
            notice_text("busy").unwrap_or_default().to_string(),
        ),
    };
    Ok((status, Html(pages::message("Done", &text, Some(&back)))).into_response())
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next
    } else {
        "/"
    }
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
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Result<Response, WebError> {
    let expected = auth::cookie(&headers, auth::SIGNIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !auth::same_secret(&state.signer, &form.csrf, expected) {
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
    if !auth::same_secret(&state.signer, &form.code, &state.access_code) {
        tracing::warn!(user = %name, "wrong access code");
        return Ok(signin_page(
            &state,
            &form.next,
            Some("that access code is not right"),
            StatusCode::UNAUTHORIZED,
        ));
    }
    let value = auth::session_value(
        &state.signer,
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

async fn signout(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&state.signer, &form.csrf)?;
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

    #[test]
    fn only_local_redirects_after_sign_in() {
        assert_eq!(safe_next("/previews/x"), "/previews/x");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
    }
}
