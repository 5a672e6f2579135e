//! The HTTP routes: one router per feature, merged here under the headers every response carries.

mod actions;
mod launch;
mod links;
mod notices;
mod preview;
mod session;
mod webhook;

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use preview_tasks::domain::preview_id::PreviewId;

use crate::error::WebError;
use crate::pages;
use crate::state::AppState;

/// Every route of the app.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(pages::STYLE_PATH, get(|| asset(pages::STYLE, "text/css")))
        .route(
            pages::SCRIPT_PATH,
            get(|| asset(pages::SCRIPT, "text/javascript")),
        )
        .merge(session::routes())
        .merge(launch::routes())
        .merge(preview::routes())
        .merge(actions::routes())
        .merge(links::routes())
        .merge(webhook::routes())
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

/// A 303 to `to`, so a reload after a POST does not post again.
fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The preview id of a path; an id that cannot be one is a preview that does not exist.
fn parse_id(id: &str) -> Result<PreviewId, WebError> {
    PreviewId::parse(id).map_err(|_| WebError::NotFound(format!("there is no preview {id}")))
}
