//! A signed-in visitor of a world's app: its session cookie and CSRF token, every answer as text.

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use tower::ServiceExt;

use super::{World, ACCESS_CODE};

/// What the app answered.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// `Location`, or empty.
    pub location: String,
    /// Each `Set-Cookie` as `name=value`.
    pub cookies: Vec<String>,
    /// The body.
    pub body: String,
}

impl Answer {
    /// The value of the hidden field `name` (a form's CSRF token).
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!(r#"name="{name}" value=""#);
        let (_, after) = self
            .body
            .split_once(&marker)
            .unwrap_or_else(|| panic!("no hidden {name} in {}", self.body));
        after.split('"').next().unwrap_or_default().to_string()
    }

    /// The cookie `name` the app set, as `name=value`.
    pub fn cookie(&self, name: &str) -> String {
        let prefix = format!("{name}=");
        self.cookies
            .iter()
            .find(|c| c.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {name} cookie in {:?}", self.cookies))
            .clone()
    }
}

/// Someone signed in with the access code.
pub struct Visitor {
    app: Router,
    session: String,
    csrf: String,
}

impl World {
    /// Signs `user` in with the access code.
    pub async fn visitor(&self, user: &str) -> Visitor {
        let signin = send(&self.app, Request::get("/signin"), "", None).await;
        let csrf = signin.hidden("csrf");
        let fields = [
            ("csrf", csrf.as_str()),
            ("next", "/"),
            ("name", user),
            ("code", ACCESS_CODE),
        ];
        let pre = signin.cookie("dsp_signin");
        let signed = send(&self.app, Request::post("/signin"), &pre, Some(&fields)).await;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
        let mut visitor = Visitor {
            app: self.app.clone(),
            session: signed.cookie("dsp_session"),
            csrf: String::new(),
        };
        visitor.csrf = visitor.get("/").await.hidden("csrf");
        visitor
    }
}

impl Visitor {
    /// Opens `path`.
    pub async fn get(&self, path: &str) -> Answer {
        send(&self.app, Request::get(path), &self.session, None).await
    }

    /// Submits a form with `fields` and the visitor's CSRF token to `path`.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let fields: Vec<(&str, &str)> = std::iter::once(("csrf", self.csrf.as_str()))
            .chain(fields.iter().copied())
            .collect();
        send(&self.app, Request::post(path), &self.session, Some(&fields)).await
    }
}

async fn send(
    app: &Router,
    request: axum::http::request::Builder,
    cookie: &str,
    form: Option<&[(&str, &str)]>,
) -> Answer {
    let request = request.header(COOKIE, cookie);
    let request = match form {
        Some(fields) => request
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form_body(fields))),
        None => request.body(Body::empty()),
    };
    answer(app.clone().oneshot(request.unwrap()).await.unwrap()).await
}

/// The app's response as text.
pub async fn answer(response: Response<Body>) -> Answer {
    let header = |v: &axum::http::HeaderValue| v.to_str().unwrap_or_default().to_string();
    let status = response.status();
    let location = response.headers().get(LOCATION).map(header);
    let cookies = response.headers().get_all(SET_COOKIE).iter().map(|v| {
        let set = header(v);
        set.split(';').next().unwrap_or_default().to_string()
    });
    let cookies = cookies.collect();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22)
        .await
        .unwrap();
    Answer {
        status,
        location: location.unwrap_or_default(),
        cookies,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// `application/x-www-form-urlencoded`.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = fields
        .iter()
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect();
    pairs.join("&")
}

/// `s` percent-encoded: every byte but the unreserved ones escaped.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
