//! Signing in (with the shared access code, or with GitHub), and signing out.

use axum::extract::{Query, State};
use axum::http::header::{HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Duration, Utc};
use serde::Deserialize;

use super::see_other;
use crate::auth::{self, safe_next, Session, SignedInWith};
use crate::error::WebError;
use crate::forms::{CallbackQuery, CsrfForm, SigninForm};
use crate::github_signin::{self, FlowState, GitHubSignin};
use crate::membership::{self, Allowed};
use crate::pages;
use crate::state::AppState;
use crate::throttle::{ClientAddress, Refused};

/// The sign-in and sign-out routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/signin", get(signin_form).post(signin))
        .route("/signout", post(signout))
        .route("/auth/github", get(github_start))
        .route(github_signin::CALLBACK_PATH, get(github_callback))
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
    if state.signin.github().is_some() {
        return Html(pages::signin_github(safe_next(&q.next), None)).into_response();
    }
    signin_page(&state, &q.next, None, StatusCode::OK)
}

/// The GitHub settings, or 404 in access-code mode (the routes do not exist there).
fn github_mode(state: &AppState) -> Result<&GitHubSignin, WebError> {
    state.signin.github().ok_or_else(|| {
        WebError::NotFound("this service signs in with its access code, not GitHub".into())
    })
}

/// The callback URL of this deployment (its public URL, else the request's host).
fn redirect_uri(
    state: &AppState,
    app: &GitHubSignin,
    headers: &HeaderMap,
) -> Result<String, WebError> {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    app.redirect_uri(host, state.secure_cookies)
}

/// Starts the OAuth flow: a signed state cookie, then GitHub's authorize page.
async fn github_start(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let app = github_mode(&state)?;
    let keys = state.keys.current().await?;
    let flow = FlowState::new(safe_next(&q.next), Utc::now());
    let cookie = auth::set_cookie(
        github_signin::STATE_COOKIE,
        &flow.cookie_value(&keys.signer),
        github_signin::STATE_MINUTES * 60,
        state.secure_cookies,
    );
    let to = app.authorize_url(&redirect_uri(&state, app, &headers)?, &flow.state);
    Ok((StatusCode::FOUND, [(SET_COOKIE, cookie), (LOCATION, to)]).into_response())
}

/// GitHub's redirect back: the state cookie is spent whatever happens, so a callback URL cannot
/// be used twice.
async fn github_callback(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let clear = auth::set_cookie(github_signin::STATE_COOKIE, "", 0, state.secure_cookies);
    let mut response = match github_signed_in(&state, &address, &headers, &q).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    if let Ok(v) = clear.parse() {
        response.headers_mut().append(SET_COOKIE, v);
    }
    response
}

/// The callback's work: check the state, trade the code, ask who it is and whether they may.
async fn github_signed_in(
    state: &AppState,
    address: &str,
    headers: &HeaderMap,
    q: &CallbackQuery,
) -> Result<Response, WebError> {
    let app = github_mode(state)?;
    let keys = state.keys.current().await?;
    // Checked before anything else: a callback this browser did not start changes nothing.
    let flow = auth::cookie(headers, github_signin::STATE_COOKIE)
        .and_then(|v| FlowState::parse(&keys.signer, v, Utc::now()))
        .filter(|f| !q.state.is_empty() && auth::same_secret(&keys, &q.state, &f.state))
        .ok_or_else(|| {
            WebError::BadRequest(
                "this sign-in with GitHub expired or was not started here; start again from the \
                 sign-in page"
                    .into(),
            )
        })?;
    // Each callback with a valid state costs GitHub calls: the code sign-in's throttle holds
    // them too (refused people and bad codes use it up, successful sign-ins give it back).
    let attempt = state
        .signin_throttle
        .attempt(address, std::time::Instant::now())
        .map_err(|refused| throttled(&refused))?;
    if q.code.is_empty() {
        return Err(WebError::Forbidden(format!(
            "GitHub did not sign you in ({}); start again from the sign-in page",
            if q.error.is_empty() {
                "no code"
            } else {
                &q.error
            }
        )));
    }
    let callback = redirect_uri(state, app, headers)?;
    let token = github_signin::exchange(&state.github, app, &q.code, &callback).await?;
    let login = github_signin::login_of(&state.github, &token).await?;
    let allowed =
        membership::is_allowed(&state.github, &app.rules, &login, Some(token.secret())).await?;
    if allowed == Allowed::Refused {
        tracing::info!(%login, "GitHub sign-in refused");
        return Ok((
            StatusCode::FORBIDDEN,
            Html(pages::refused(&login, &app.rules.describe())),
        )
            .into_response());
    }
    state.signin_throttle.succeeded(attempt);
    tracing::info!(%login, ?allowed, "signed in with GitHub");
    let session =
        auth::new_session_cookie(&keys, &login, SignedInWith::GitHub, state.secure_cookies);
    Ok(([(SET_COOKIE, session)], Redirect::to(safe_next(&flow.next))).into_response())
}

async fn signin(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Result<Response, WebError> {
    if state.signin.github().is_some() {
        return Err(WebError::BadRequest(
            "this service signs in with GitHub; use the button on the sign-in page".into(),
        ));
    }
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
    let session =
        auth::new_session_cookie(&keys, name, SignedInWith::AccessCode, state.secure_cookies);
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
