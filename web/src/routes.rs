//! The HTTP routes and their handlers.

use axum::extract::{Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, Utc};
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::{
    PreviewRequest, SampleContent, SourceInput, BACKEND_REPO, UI_REPO,
};
use serde::Deserialize;

use crate::audit;
use crate::auth::{self, Session};
use crate::error::WebError;
use crate::links::{self, Link, LinkAction};
use crate::pages::{self, LaunchForm, PreviewPage};
use crate::state::AppState;
use crate::workflow::{self, Callback};

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
        .route("/previews/{id}/extend", post(extend))
        .route("/previews/{id}/stop", post(stop))
        .route("/l/{token}", get(link_confirm).post(link_act))
        .with_state(state)
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn parse_id(id: &str) -> Result<PreviewId, WebError> {
    PreviewId::parse(id).map_err(|_| WebError::NotFound(format!("there is no preview {id}")))
}

async fn home(State(state): State<AppState>, session: Session) -> Result<Html<String>, WebError> {
    let live = workflow::live(&state).await?;
    let csrf = session.csrf(&state.signer);
    Ok(Html(pages::home(
        &session.user,
        &csrf,
        &live,
        &LaunchForm::default(),
        None,
        Utc::now(),
    )))
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
        env: Default::default(),
    })
}

async fn launch(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<LaunchForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&state.signer, &form.csrf)?;
    let checked = request_from_form(&form, &session.user).and_then(|request| {
        let valid = request.validate(&state.config.request_rules())?;
        Ok((request, valid))
    });
    let (request, valid) = match checked {
        Ok(ok) => ok,
        Err(WebError::BadRequest(message)) => {
            let live = workflow::live(&state).await.unwrap_or_default();
            let csrf = session.csrf(&state.signer);
            let html = pages::home(
                &session.user,
                &csrf,
                &live,
                &form,
                Some(&message),
                Utc::now(),
            );
            return Ok((StatusCode::BAD_REQUEST, Html(html)).into_response());
        }
        Err(e) => return Err(e),
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

async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Html<String>, WebError> {
    let id = parse_id(&id)?;
    let detail = workflow::detail(&state, &id).await?;
    let audit = audit::audit_log(&detail.events);
    let phase = audit::phase(&detail.events);
    let names = state.config.names();
    let logs = preview_tasks::logs::tail(&state.clients.logs, &names, &id, LOG_TAIL)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, preview = %id, "log tail unavailable");
            Vec::new()
        });
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
        logs: &logs,
        links: &links,
        notice: notice_text(&q.notice),
        region: &state.region,
        log_group: &names.log_group(),
    })))
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
