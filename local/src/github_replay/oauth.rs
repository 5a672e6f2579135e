//! github.com's OAuth web flow, played by the replay: the sign-in page, the code exchange, and
//! `GET /user` for the tokens it issued.
//!
//! Anyone may sign in as anyone: the page asks only for a login, because the point is to let a
//! local run or a test act as an admin, a committer or a stranger.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::header::{self, HeaderMap};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::routing::post;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{json, Value};

use super::respond::{bad_credentials, form, json, json_object, url_encode, written, Params};
use super::store::{user, Grant};
use super::{Replay, Routes};

const ERRORS: &str =
    "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

pub(super) fn routes() -> Routes {
    Routes::new()
        .route("/login/oauth/authorize", get(sign_in_page).post(authorize))
        .route("/login/oauth/access_token", post(access_token))
        .route("/user", get(signed_in_user))
}

/// The login behind a token the replay issued, from `Authorization: Bearer …` or `token …`.
pub(super) fn token_login(replay: &Replay, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") && !scheme.eq_ignore_ascii_case("token") {
        return None;
    }
    replay.log.store().tokens.get(token.trim()).cloned()
}

async fn sign_in_page(State(replay): State<Arc<Replay>>, Query(q): Query<Params>) -> Response {
    let field = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    if field("client_id") != replay.options.client_id {
        return page(
            StatusCode::NOT_FOUND,
            "Not Found",
            "<p>No such OAuth app.</p>",
        );
    }
    if field("redirect_uri").is_empty() {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Redirect URI needed",
            "<p>The recorded GitHub has no registered callback URL: send <code>redirect_uri</code>.</p>",
        );
    }
    let hidden: String = ["client_id", "redirect_uri", "state", "scope"]
        .iter()
        .map(|k| {
            format!(
                r#"<input type="hidden" name="{k}" value="{}">"#,
                esc(field(k))
            )
        })
        .collect();
    let body = format!(
        r#"<form method="post" action="/login/oauth/authorize">
<p><label for="login">Sign in as</label>
<input type="text" id="login" name="login" value="{login}" autocomplete="off" required></p>
{hidden}
<p><button type="submit" id="authorize">Authorize</button></p>
</form>
<p>Anyone may sign in as any login here: this GitHub is a recording, for local runs and tests.</p>"#,
        login = esc(&replay.options.default_login),
    );
    page(StatusCode::OK, "Sign in to GitHub (recorded)", &body)
}

/// Issues a one-time code for the login typed, and sends the browser back to the app with it.
async fn authorize(State(replay): State<Arc<Replay>>, body: Bytes) -> Response {
    let fields = form(&String::from_utf8_lossy(&body)).unwrap_or_default();
    let field = |k: &str| fields.get(k).map(|v| v.trim()).unwrap_or_default();
    if field("client_id") != replay.options.client_id {
        return page(
            StatusCode::NOT_FOUND,
            "Not Found",
            "<p>No such OAuth app.</p>",
        );
    }
    let login = field("login");
    if !valid_login(login) || field("redirect_uri").is_empty() {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Cannot sign in",
            "<p>A login is letters, digits and hyphens, up to 39 characters, and the app must send a <code>redirect_uri</code>.</p>",
        );
    }
    let code = Alphanumeric
        .sample_string(&mut rand::rng(), 20)
        .to_lowercase();
    let grant = Grant {
        login: login.to_string(),
        client_id: field("client_id").to_string(),
        redirect_uri: field("redirect_uri").to_string(),
        scope: field("scope").to_string(),
    };
    replay.log.store().codes.insert(code.clone(), grant.clone());
    let mut location = grant.redirect_uri;
    location.push(if location.contains('?') { '&' } else { '?' });
    location.push_str(&format!("code={code}"));
    if let Some(state) = fields.get("state") {
        location.push_str(&format!("&state={}", url_encode(state)));
    }
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

/// Trades a code for a token; GitHub answers failures with 200 and an `error` field.
async fn access_token(
    State(replay): State<Arc<Replay>>,
    Query(query): Query<Params>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut fields = query;
    fields.extend(exchange_fields(&headers, &body));
    let outcome = exchange(&replay, &fields);
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if wants_json {
        return json(StatusCode::OK, &outcome);
    }
    // GitHub's default answer is a form-encoded body.
    let text: Vec<String> = outcome
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", url_encode(v.as_str().unwrap_or_default())))
        .collect();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
        text.join("&"),
    )
        .into_response()
}

/// The exchange's fields from a JSON or form body.
fn exchange_fields(headers: &HeaderMap, body: &Bytes) -> Params {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if !is_json {
        return form(&String::from_utf8_lossy(body)).unwrap_or_default();
    }
    json_object(body, ERRORS)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k, v.to_string())))
        .collect()
}

/// The token answer, or GitHub's error object; a code is spent once looked at.
fn exchange(replay: &Replay, fields: &Params) -> Value {
    let field = |k: &str| fields.get(k).map(String::as_str).unwrap_or_default();
    if field("client_id") != replay.options.client_id
        || field("client_secret") != replay.options.client_secret
    {
        return oauth_error(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let mut store = replay.log.store();
    let grant = store
        .codes
        .remove(field("code"))
        .filter(|g| g.client_id == field("client_id"));
    let Some(grant) = grant else {
        return oauth_error(
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        );
    };
    let redirect_uri = field("redirect_uri");
    if !redirect_uri.is_empty() && redirect_uri != grant.redirect_uri {
        return oauth_error(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    let token = format!("gho_{}", Alphanumeric.sample_string(&mut rand::rng(), 36));
    store.tokens.insert(token.clone(), grant.login);
    let scope = if grant.scope.is_empty() {
        "read:org"
    } else {
        &grant.scope
    };
    json!({"access_token": token, "token_type": "bearer", "scope": scope})
}

fn oauth_error(error: &str, description: &str) -> Value {
    json!({
        "error": error,
        "error_description": description,
        "error_uri": format!("{ERRORS}#{}", error.replace('_', "-")),
    })
}

async fn signed_in_user(State(replay): State<Arc<Replay>>, headers: HeaderMap) -> Response {
    let Some(login) = token_login(&replay, &headers) else {
        return bad_credentials();
    };
    let mut body = user(&login);
    body["name"] = replay
        .recorded
        .names
        .get(&login.to_lowercase())
        .map_or(Value::Null, |n| Value::String(n.clone()));
    written(&replay, StatusCode::OK, &body)
}

/// Letters, digits and hyphens, at most 39: what GitHub allows in a login, and all the replay
/// needs to keep the login safe in the URLs and HTML it is put in.
fn valid_login(login: &str) -> bool {
    (1..=39).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n<body><h1>{title}</h1>\n{body}\n</body></html>\n",
        title = esc(title),
    );
    (status, Html(html)).into_response()
}

/// Text made safe inside HTML, attribute values included.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
