//! A small fault-injecting HTTP proxy in front of moto: the steps talk to AWS through it, and a
//! test makes it answer every call with 503 (AWS down), go down at the first call of one
//! operation, or forward one operation and then never answer (a Lambda that hangs after its
//! write landed). The test's own assertions talk to moto directly.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What the proxy does with the next calls.
#[derive(Debug, Default, Clone)]
struct Faults {
    /// Every call gets 503.
    dead: bool,
    /// The first call of this operation kills the endpoint (it gets 503 too).
    die_on: Option<String>,
    /// Calls of this operation are forwarded, then never answered.
    hang_on: Option<String>,
    /// Calls refused so far.
    refused: u64,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    client: Client<HttpConnector, Body>,
    faults: Arc<Mutex<Faults>>,
}

/// The proxy; dropping it stops it.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, for the steps' SDK clients.
    pub endpoint: String,
    faults: Arc<Mutex<Faults>>,
    server: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy forwarding to `upstream` (moto), healthy to begin with.
    pub async fn start(upstream: &str) -> FaultProxy {
        let faults = Arc::new(Mutex::new(Faults::default()));
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            faults: faults.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultProxy {
            endpoint,
            faults,
            server,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// AWS is down (true) or back (false).
    pub fn set_dead(&self, dead: bool) {
        let mut f = self.lock();
        f.dead = dead;
        if !dead {
            f.die_on = None;
        }
    }

    /// True while AWS is down.
    pub fn is_dead(&self) -> bool {
        self.lock().dead
    }

    /// AWS goes down at the first call of `operation` (e.g. `SendCommand`).
    pub fn die_on(&self, operation: &str) {
        self.lock().die_on = Some(operation.to_string());
    }

    /// Calls of `operation` reach moto but their answers never come back.
    pub fn hang_on(&self, operation: &str) {
        self.lock().hang_on = Some(operation.to_string());
    }

    /// Calls refused with 503 so far.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The operation a call names: `X-Amz-Target` for the JSON protocols (SSM, Step Functions),
/// `Action=` in the form body for EC2's query protocol.
fn operation(headers: &HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    String::from_utf8_lossy(body)
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or_default()
        .to_string()
}

async fn forward(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = operation(&headers, &body);
    let hang = {
        let mut f = s.faults.lock().unwrap_or_else(|e| e.into_inner());
        if f.die_on.as_deref() == Some(op.as_str()) {
            f.dead = true;
        }
        if f.dead {
            f.refused += 1;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable (fault injected)",
            )
                .into_response();
        }
        f.hang_on.as_deref() == Some(op.as_str())
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut req = Request::builder()
        .method(method)
        .uri(format!("{}{path}", s.upstream));
    for (k, v) in &headers {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    let Ok(req) = req.body(Body::from(body)) else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    match s.client.request(req).await {
        Ok(resp) if hang => {
            drop(resp);
            std::future::pending::<Response>().await
        }
        Ok(resp) => resp.map(Body::new).into_response(),
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}
