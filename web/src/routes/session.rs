//! Signing in with the shared access code, and signing out.

use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::see_other;
use crate::auth::{self, safe_next, Session};
use crate::error::WebError;
use crate::forms::{CsrfForm, SigninForm};
use crate::pages;
use crate::state::AppState;
use crate::throttle::{ClientAddress, Refused};

/// The sign-in and sign-out routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/signin", get(signin_form).post(signin))
        .route("/signout", post(signout))
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

/// The sign-in page with a fresh double-submit token in its cookie.
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
fn throttled(refused: &Refused) -> WebError {
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
