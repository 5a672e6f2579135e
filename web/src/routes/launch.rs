//! The home page with its launch form, and launching: every check before StartExecution, then
//! the capacity check's answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::request::{PreviewRequest, ValidRequest};

use super::see_other;
use crate::audit::Capacity;
use crate::auth::Session;
use crate::choices;
use crate::error::WebError;
use crate::forms::LaunchForm;
use crate::github::Pull;
use crate::limits::{self, Claim};
use crate::pages::{self, Home};
use crate::state::AppState;
use crate::workflow::{self, Overview};

/// The home page and the launch.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/previews", post(launch))
}

async fn home(State(state): State<AppState>, session: Session) -> Result<Html<String>, WebError> {
    let (overview, choices) =
        tokio::join!(workflow::overview(&state), choices::form_choices(&state));
    let viewer = session.viewer(&state);
    Ok(Html(pages::home(&Home {
        viewer: &viewer,
        overview: &overview?,
        partial: false,
        form: &LaunchForm::default(),
        error: None,
        notice: None,
        choices: &choices,
        now: Utc::now(),
    })))
}

/// Why the form comes back instead of a launch: the status and what the form says.
pub(super) struct Back(pub(super) StatusCode, pub(super) Message);

/// What the re-shown form says.
pub(super) enum Message {
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
        config: state.ctx.base.clone(),
    };
    let choices = match overview {
        Some(_) => choices::form_choices(state).await,
        None => Default::default(),
    };
    let viewer = session.viewer(state);
    let (error, notice) = match &message {
        Message::Error(e) => (Some(e.as_str()), None),
        Message::Notice(n) => (None, Some(n.as_str())),
    };
    let html = pages::home(&Home {
        viewer: &viewer,
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

/// A launch every check passed: the request, validated, and the launch-limit places it took
/// (given back if the launch is refused after all).
pub(super) struct Admitted {
    request: PreviewRequest,
    valid: ValidRequest,
    claims: Vec<Claim>,
}

/// What the checks before a launch decided.
pub(super) enum Admission {
    /// Launch it (boxed: a request is large, a refusal small).
    Admitted(Box<Admitted>),
    /// No launch: the form comes back with what to fix, or with a suggestion.
    FormBack(Back),
}

impl From<Back> for Admission {
    fn from(back: Back) -> Admission {
        Admission::FormBack(back)
    }
}

/// The message when every slot is taken.
fn no_free_slot(max_live: u32) -> String {
    format!(
        "All {max_live} preview slots are in use; nothing was launched. Try again when one frees, or ask a requester to stop a preview they no longer need."
    )
}

/// Every check before a launch, cheapest first: the form against the dials in force, then
/// [`admit_request`].
async fn admit(
    state: &AppState,
    user: &str,
    overview: &Overview,
    form: &mut LaunchForm,
) -> Result<Admission, WebError> {
    let rules = overview.config.request_rules();
    let request = match form
        .request(user)
        .and_then(|r| Ok(r.validate(&rules).map(|_| r)?))
    {
        Ok(request) => request,
        Err(e) => return refused(e, StatusCode::BAD_REQUEST).map(Admission::from),
    };
    let paired = form.pairing_suggested();
    admit_request(state, user, overview, request, |backend| {
        (!paired).then(|| {
            let text = form.suggest_backend(backend.number, &backend.base);
            Back(StatusCode::OK, Message::Notice(text))
        })
    })
    .await
}

/// The checks every launch passes, however it was asked for (the form, a PR comment): the PRs
/// on GitHub, the pairing (`on_pairing` gets the backend PR a UI PR requires and may refuse with
/// a suggestion), a free slot, then the launch limits (places taken only when all else passed,
/// and given back if the capacity check refuses).
pub(super) async fn admit_request(
    state: &AppState,
    user: &str,
    overview: &Overview,
    request: PreviewRequest,
    on_pairing: impl FnOnce(&Pull) -> Option<Back>,
) -> Result<Admission, WebError> {
    let config = &overview.config;
    let rules = config.request_rules();
    let (request, pairing) = match choices::check_sources(state, request).await {
        Ok(checked) => checked,
        Err(e) => return refused(e, StatusCode::BAD_REQUEST).map(Admission::from),
    };
    let valid = match request.validate(&rules) {
        Ok(valid) => valid,
        Err(e) => return refused(e.into(), StatusCode::BAD_REQUEST).map(Admission::from),
    };
    if let Some(back) = pairing.as_ref().and_then(on_pairing) {
        return Ok(back.into());
    }
    if overview.live.len() >= config.max_live as usize {
        let text = no_free_slot(config.max_live);
        return Ok(Back(StatusCode::CONFLICT, Message::Error(text)).into());
    }
    let per_user = config.launches_per_user_per_hour;
    match limits::admit(state, user, per_user, config.launches_per_hour).await {
        Ok(claims) => Ok(Admission::Admitted(Box::new(Admitted {
            request,
            valid,
            claims,
        }))),
        Err(e) => refused(e, StatusCode::TOO_MANY_REQUESTS).map(Admission::from),
    }
}

/// Starts an admitted launch under a fresh preview id; its places are given back when
/// StartExecution fails.
pub(super) async fn start(state: &AppState, admitted: &Admitted) -> Result<PreviewId, WebError> {
    let id = PreviewId::generate(&admitted.valid, Utc::now(), rand::random());
    if let Err(e) = workflow::start(state, &id, &admitted.request).await {
        limits::release(state, &admitted.claims).await;
        return Err(e);
    }
    Ok(id)
}

async fn launch(
    State(state): State<AppState>,
    session: Session,
    Form(mut form): Form<LaunchForm>,
) -> Result<Response, WebError> {
    session.check_csrf(&form.csrf)?;
    // What is wrong with the form itself is said before any AWS or GitHub call.
    let precheck = form
        .request(&session.user)
        .and_then(|r| Ok(r.precheck(state.ctx.base.min_ttl_minutes)?));
    if let Err(e) = precheck {
        let back = refused(e, StatusCode::BAD_REQUEST)?;
        return Ok(form_back(&state, &session, None, &form, back).await);
    }
    let overview = workflow::overview(&state).await?;
    let admitted = match admit(&state, &session.user, &overview, &mut form).await? {
        Admission::Admitted(admitted) => *admitted,
        Admission::FormBack(back) => {
            return Ok(form_back(&state, &session, Some(&overview), &form, back).await)
        }
    };
    let id = start(&state, &admitted).await?;
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
    limits::release(&state, &admitted.claims).await;
    let back = Back(status, Message::Error(text));
    Ok(form_back(&state, &session, Some(&overview), &form, back).await)
}
