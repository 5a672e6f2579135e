//! Extend and stop: by a signed-in person's button here, by a signed link in [`super::links`].

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Router};
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::steps::extend::ExtendOutput;

use super::{parse_id, see_other};
use crate::auth::{self, Session};
use crate::error::WebError;
use crate::forms::{CsrfForm, ExtendForm};
use crate::state::AppState;
use crate::workflow::{self, Action, Callback};

/// The extend and stop buttons.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/previews/{id}/extend", post(extend))
        .route("/previews/{id}/stop", post(stop))
}

/// What an extend or stop achieved, for the redirect and the link page.
pub(super) enum Outcome {
    /// Extended: the Extend step's result.
    Extended(ExtendOutput),
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
    pub(super) fn code(&self) -> &'static str {
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
pub(super) async fn act(
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

/// Acts for the signed-in person, then shows the preview's page with the outcome. Signed in
/// with GitHub, only the requester and the maintainers may (403 otherwise, before any callback);
/// with the access code, anyone signed in (see [`auth::acts_on_any`]).
async fn act_and_show(
    state: &AppState,
    session: &Session,
    id: &PreviewId,
    action: Action,
) -> Result<Response, WebError> {
    if !auth::acts_on_any(state, session) {
        let requester = workflow::requester(state, id).await?;
        auth::check_may_act(state, session, &requester)?;
    }
    let outcome = act(state, id, action, &session.user).await?;
    Ok(see_other(&format!(
        "/previews/{id}?notice={}",
        outcome.code()
    )))
}

async fn extend(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<ExtendForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let minutes = form.minutes()?;
    act_and_show(&state, &session, &id, Action::Extend(minutes)).await
}

async fn stop(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    act_and_show(&state, &session, &id, Action::Stop).await
}
