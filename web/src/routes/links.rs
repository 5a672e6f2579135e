//! Signed callback links (`/l/<token>`): GET confirms, only POST acts, because mail and chat
//! link scanners fetch URLs.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::Utc;

use super::actions::{act, Outcome};
use super::notices::{extend_sentence, notice_text, stop_requested};
use crate::auth;
use crate::error::WebError;
use crate::forms::CsrfForm;
use crate::links::{self, LinkAction};
use crate::pages;
use crate::state::AppState;
use crate::workflow::Action;

/// The confirmation page and the action of a signed link.
pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/l/{token}", get(link_confirm).post(link_act))
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
    let config = &state.ctx.base;
    let (status, text) = match outcome {
        Outcome::Extended(out) => (
            StatusCode::OK,
            format!("Preview {id}: {}", extend_sentence(&out)),
        ),
        Outcome::Stopped => (StatusCode::OK, format!("Preview {id} is being stopped.")),
        Outcome::StopRequested => (
            StatusCode::OK,
            format!("Preview {id}: {}", stop_requested(config)),
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
            notice_text(other.code(), &[], config).unwrap_or_default(),
        ),
    };
    Ok((status, Html(pages::message("Done", &text, Some(&back)))).into_response())
}
