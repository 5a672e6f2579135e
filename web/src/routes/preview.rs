//! A preview's page: status, audit log, shareable links, the log tail, and the admin password on
//! request.

use axum::extract::{Path, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, Utc};
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::logs::LogLine;
use serde::Deserialize;

use super::notices::notice_text;
use super::parse_id;
use crate::audit;
use crate::auth::Session;
use crate::error::WebError;
use crate::forms::CsrfForm;
use crate::links;
use crate::pages::{self, PreviewPage};
use crate::reveals;
use crate::state::AppState;
use crate::workflow;

/// Log lines shown on a preview's page.
const LOG_TAIL: usize = 100;

/// A preview's page, its log tail and its admin password.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/previews/{id}", get(show))
        .route("/previews/{id}/logs", get(logs))
        .route("/previews/{id}/admin-password", post(admin_password))
}

#[derive(Debug, Deserialize)]
struct NoticeQuery {
    #[serde(default)]
    notice: String,
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
    let config = &state.ctx.base;
    let names = config.names();
    let (detail, logs, reveals) = tokio::join!(
        workflow::detail(state, id),
        log_tail(state, id),
        reveals::list(state, id)
    );
    let detail = detail?;
    let notice = notice_text(notice_code, &detail.events, config);
    let audit = audit::merged(audit::audit_log(&detail.events), reveals?);
    let requester = audit::requester(&detail.events);
    let phase = audit::phase(&detail.events);
    let expires = Utc::now() + Duration::minutes(i64::from(config.max_lifetime_minutes));
    let links = links::all_for(&session.keys().signer, id, expires, "");
    let viewer = session.viewer(state);
    Ok(Html(pages::preview(&PreviewPage {
        viewer: &viewer,
        requester: &requester,
        detail: &detail,
        phase,
        audit: &audit,
        urls: &audit::urls(&detail.events),
        logs: &logs,
        links: &links,
        notice: notice.as_deref(),
        region: &state.ctx.region,
        log_group: &names.log_group(),
        admin_email: &config.admin_email,
        admin_password,
        images: &audit::images(&detail.events),
        timeline: &audit::timeline(&detail.events),
    })))
}

/// The tail of a preview's logs; none when CloudWatch Logs cannot be read (the page still works).
async fn log_tail(state: &AppState, id: &PreviewId) -> Vec<LogLine> {
    let names = state.ctx.base.names();
    preview_tasks::logs::tail(&state.ctx.clients.logs, &names, id, LOG_TAIL)
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
    if password.is_some() {
        // Recorded before it is shown: a reveal nobody could see in the audit log never happens.
        reveals::record(&state, &id, &session.shown_as()).await?;
    }
    tracing::info!(preview = %id, by = %session.user, "admin password shown");
    let notice = if password.is_some() {
        ""
    } else {
        "no-password"
    };
    render_preview(&state, &session, &id, notice, password.as_deref()).await
}
