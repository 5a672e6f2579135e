//! How the replay answers: GitHub's headers (rate limit, `ETag`, `Link`), pages, error bodies,
//! and reading request bodies the way GitHub does.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Query};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::Replay;

/// GitHub's authenticated hourly limit; the replay never runs out in practice, so a local run
/// behaves like a deployment with a token.
const RATE_LIMIT: u32 = 5000;
/// GitHub's default and maximum `per_page`.
const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 100;

/// The current rate-limit hour.
pub(super) struct Window {
    reset: i64,
    used: u32,
}

impl Window {
    /// An hour starting now.
    pub(super) fn new() -> Self {
        Window {
            reset: chrono::Utc::now().timestamp() + 3600,
            used: 0,
        }
    }
}

struct WindowView {
    reset: i64,
    used: u32,
}

/// The query string as GitHub reads it: one value per key.
pub(super) type Params = HashMap<String, String>;

/// A list request: its query, and the URI and headers its page and `Link` depend on.
pub(super) struct Listing {
    /// The query string.
    pub query: Params,
    uri: Uri,
    headers: HeaderMap,
}

impl<S: Send + Sync> FromRequestParts<S> for Listing {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let Query(query) =
            Query::<Params>::try_from_uri(&parts.uri).map_err(IntoResponse::into_response)?;
        Ok(Listing {
            query,
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

impl Listing {
    /// The page of `items` that `per_page` and `page` ask for, answered as GitHub answers a
    /// list (`Link`, `ETag`, 304).
    pub fn page<T: Clone + serde::Serialize>(&self, replay: &Replay, items: &[T]) -> Response {
        let number = |k: &str| {
            self.query
                .get(k)
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n > 0)
        };
        let per_page = number("per_page").map_or(DEFAULT_PER_PAGE, |n| n.min(MAX_PER_PAGE));
        let page = number("page").unwrap_or(1);
        let pages = items.len().div_ceil(per_page).max(1);
        let slice: Vec<T> = items
            .iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .cloned()
            .collect();
        let link = link_header(&self.headers, &self.uri, page, pages);
        respond(replay, &self.headers, &slice, link)
    }
}

/// A 200 with `ETag` and rate-limit headers, or a 304 when the client's validator matches (which,
/// as on GitHub, does not count against the limit).
pub(super) fn respond(
    replay: &Replay,
    request: &HeaderMap,
    body: &impl serde::Serialize,
    link: Option<String>,
) -> Response {
    let body = match serde_json::to_vec_pretty(body) {
        Ok(b) => b,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let etag = format!("\"{}\"", hex(&Sha256::digest(&body)));
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    let mut headers = match replay.counted(!matches) {
        Ok(headers) => headers,
        Err(exhausted) => return exhausted.into_response(),
    };
    insert(&mut headers, header::ETAG, &etag);
    insert(
        &mut headers,
        header::CACHE_CONTROL,
        "private, max-age=60, s-maxage=60",
    );
    insert(&mut headers, header::VARY, "Accept, Authorization, Cookie");
    if let Some(link) = link {
        insert(&mut headers, header::LINK, &link);
    }
    if matches {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    json_type(&mut headers);
    (StatusCode::OK, headers, body).into_response()
}

/// The answer to a write (or an uncached read): JSON with the rate-limit headers, counted.
pub(super) fn written(replay: &Replay, status: StatusCode, body: &Value) -> Response {
    match replay.counted(true) {
        Ok(headers) => json(status, body).with_headers(headers),
        Err(exhausted) => exhausted.into_response(),
    }
}

/// A JSON body with GitHub's content type.
pub(super) fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut headers = HeaderMap::new();
    json_type(&mut headers);
    match serde_json::to_vec_pretty(body) {
        Ok(body) => (status, headers, body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

impl Replay {
    /// Counts a call when `counts`: the rate-limit headers after it, or GitHub's 403 when the
    /// hour's calls are used up.
    fn counted(&self, counts: bool) -> Result<HeaderMap, Refusal> {
        let mut w = self.limit.lock().unwrap_or_else(|p| p.into_inner());
        let now = chrono::Utc::now().timestamp();
        if now >= w.reset {
            *w = Window::new();
        }
        let exhausted = counts && w.used >= RATE_LIMIT;
        if counts && !exhausted {
            w.used += 1;
        }
        let headers = rate_headers(&WindowView {
            reset: w.reset,
            used: w.used,
        });
        if exhausted {
            return Err(github_error(
                StatusCode::FORBIDDEN,
                "API rate limit exceeded. (But here's the good news: Authenticated requests get a \
                 higher rate limit.)",
                "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting",
            )
            .with_headers(headers)
            .into());
        }
        Ok(headers)
    }
}

fn rate_headers(w: &WindowView) -> HeaderMap {
    let mut h = HeaderMap::new();
    insert(&mut h, "x-ratelimit-limit", &RATE_LIMIT.to_string());
    insert(
        &mut h,
        "x-ratelimit-remaining",
        &RATE_LIMIT.saturating_sub(w.used).to_string(),
    );
    insert(&mut h, "x-ratelimit-reset", &w.reset.to_string());
    insert(&mut h, "x-ratelimit-used", &w.used.to_string());
    insert(&mut h, "x-ratelimit-resource", "core");
    h
}

/// GitHub's `Link`: `next`/`last` before the last page, `prev`/`first` after the first, each
/// this server's own URL with the request's query and another `page`.
fn link_header(headers: &HeaderMap, uri: &Uri, page: usize, pages: usize) -> Option<String> {
    if pages <= 1 {
        return None;
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let others: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("page="))
        .collect();
    let url = |n: usize| {
        let mut query = others.clone();
        let page = format!("page={n}");
        query.push(&page);
        format!("<http://{host}{}?{}>", uri.path(), query.join("&"))
    };
    let mut rels = Vec::new();
    if page > 1 {
        rels.push(format!(r#"{}; rel="prev""#, url((page - 1).min(pages))));
    }
    if page < pages {
        rels.push(format!(r#"{}; rel="next""#, url(page + 1)));
        rels.push(format!(r#"{}; rel="last""#, url(pages)));
    }
    if page > 1 {
        rels.push(format!(r#"{}; rel="first""#, url(1)));
    }
    Some(rels.join(", "))
}

/// GitHub's 404 JSON.
pub(super) fn not_found(docs: &str) -> Response {
    github_error(StatusCode::NOT_FOUND, "Not Found", docs)
}

/// GitHub's 401 for missing or unknown credentials.
pub(super) fn bad_credentials() -> Response {
    github_error(
        StatusCode::UNAUTHORIZED,
        "Bad credentials",
        "https://docs.github.com/rest",
    )
}

/// GitHub's 422 naming the field that failed and how.
pub(super) fn validation_failed(resource: &str, field: &str, code: &str, docs: &str) -> Response {
    let body = json!({
        "message": "Validation Failed",
        "errors": [{"resource": resource, "field": field, "code": code}],
        "documentation_url": docs,
        "status": "422",
    });
    json(StatusCode::UNPROCESSABLE_ENTITY, &body)
}

/// GitHub's error JSON.
pub(super) fn github_error(status: StatusCode, message: &str, docs: &str) -> Response {
    let body = json!({
        "message": message,
        "documentation_url": docs,
        "status": status.as_u16().to_string(),
    });
    let mut headers = HeaderMap::new();
    json_type(&mut headers);
    (status, headers, Body::from(body.to_string())).into_response()
}

/// A JSON object body, or GitHub's 400 for anything else.
pub(super) fn json_object(body: &Bytes, docs: &str) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(github_error(StatusCode::BAD_REQUEST, "Problems parsing JSON", docs).into()),
    }
}

/// A form-urlencoded body's fields (a later duplicate wins), or `None` when it does not parse.
pub(super) fn form(body: &str) -> Option<Params> {
    // A form body is a query string; axum's query parser reads it once it sits in a URI.
    let uri: Uri = format!("/?{body}").parse().ok()?;
    Query::<Params>::try_from_uri(&uri).ok().map(|q| q.0)
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a query value.
pub(super) fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Now in GitHub's timestamp format.
pub(super) fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// This server's own base URL as the client reached it, for the `url` fields GitHub fills in.
pub(super) fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("api.github.com");
    format!("http://{host}")
}

/// A refusal on its way out of a handler; boxed, so results carrying one stay small.
#[derive(Debug)]
pub(super) struct Refusal(Box<Response>);

impl From<Response> for Refusal {
    fn from(response: Response) -> Self {
        Refusal(Box::new(response))
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// Adds headers to a response.
pub(super) trait WithHeaders {
    /// The response with `headers` added.
    fn with_headers(self, headers: HeaderMap) -> Response;
}

impl WithHeaders for Response {
    fn with_headers(mut self, headers: HeaderMap) -> Response {
        self.headers_mut().extend(headers);
        self
    }
}

fn json_type(headers: &mut HeaderMap) {
    insert(
        headers,
        header::CONTENT_TYPE,
        "application/json; charset=utf-8",
    );
}

pub(super) fn insert<K>(headers: &mut HeaderMap, name: K, value: &str)
where
    K: TryInto<HeaderName>,
{
    // Every value here is ours or a Host header that already parsed; skip rather than fail.
    if let (Ok(name), Ok(value)) = (name.try_into(), HeaderValue::from_str(value)) {
        headers.insert(name, value);
    }
}

/// Lowercase hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_is_githubs() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8084"));
        let uri: Uri = "/repos/DSpace/DSpace/pulls?state=open&per_page=10&page=2"
            .parse()
            .unwrap();
        let base = "http://127.0.0.1:8084/repos/DSpace/DSpace/pulls?state=open&per_page=10";
        assert_eq!(
            link_header(&h, &uri, 2, 3).unwrap(),
            format!(
                r#"<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", <{base}&page=3>; rel="last", <{base}&page=1>; rel="first""#
            )
        );
        let first: Uri = "/repos/DSpace/DSpace/pulls?state=open&per_page=10"
            .parse()
            .unwrap();
        assert_eq!(
            link_header(&h, &first, 1, 3).unwrap(),
            format!(r#"<{base}&page=2>; rel="next", <{base}&page=3>; rel="last""#)
        );
        assert_eq!(link_header(&h, &first, 1, 1), None);
    }

    #[test]
    fn forms_and_query_values_round_trip() {
        let encoded = url_encode("a b&c=d/é");
        assert_eq!(encoded, "a%20b%26c%3Dd%2F%C3%A9");
        let fields = form(&format!("state={encoded}&login=octo+reviewer")).unwrap();
        assert_eq!(fields["state"], "a b&c=d/é");
        assert_eq!(fields["login"], "octo reviewer");
    }
}
