//! Sign-in throttling: a sliding window of attempts per client address and over all addresses.
//!
//! Why in memory: there is no database, and a throttle must answer before any AWS call (a
//! flood must not become an AWS bill). On Lambda each instance keeps its own windows; the web
//! function's reserved concurrency is capped, so the real rate is at most that many times the
//! limits below, still far too slow to guess a code.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window attempts are counted in.
pub const WINDOW: Duration = Duration::from_secs(600);
/// Sign-in attempts one address may make per window (a successful one gives its place back).
pub const PER_ADDRESS: usize = 10;
/// Sign-in attempts all addresses together may make per window.
pub const GLOBAL: usize = 300;
/// Addresses tracked at most; past that, stale ones are dropped first and then everyone waits
/// for the global window (memory stays bounded under a spray of addresses).
const MAX_ADDRESSES: usize = 10_000;

/// The attempts of the current windows.
#[derive(Default)]
pub struct SigninThrottle {
    windows: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    all: VecDeque<Instant>,
    by_address: HashMap<String, VecDeque<Instant>>,
}

/// A granted attempt; [`SigninThrottle::succeeded`] gives its place back.
#[derive(Debug)]
pub struct Attempt {
    address: String,
    at: Instant,
}

/// Why an attempt was refused, and when to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// True when this address made too many attempts (false: everyone did).
    pub this_address: bool,
    /// How long until an attempt can succeed.
    pub retry_after: Duration,
}

fn prune(window: &mut VecDeque<Instant>, now: Instant) {
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= WINDOW)
    {
        window.pop_front();
    }
}

fn wait(window: &VecDeque<Instant>, limit: usize, now: Instant) -> Option<Duration> {
    if window.len() < limit {
        return None;
    }
    let oldest = window.get(window.len() - limit)?;
    Some(WINDOW.saturating_sub(now.duration_since(*oldest)))
}

impl SigninThrottle {
    /// Takes a place for one attempt from `address` now, or says how long to wait. Checking and
    /// counting happen under one lock, so simultaneous attempts cannot all slip through.
    pub fn attempt(&self, address: &str, now: Instant) -> Result<Attempt, Refused> {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        prune(&mut w.all, now);
        if w.by_address.len() >= MAX_ADDRESSES {
            w.by_address.retain(|_, times| {
                prune(times, now);
                !times.is_empty()
            });
        }
        let crowded = w.by_address.len() >= MAX_ADDRESSES && !w.by_address.contains_key(address);
        let mine = w.by_address.entry(address.to_string()).or_default();
        prune(mine, now);
        if let Some(retry_after) = wait(mine, PER_ADDRESS, now) {
            return Err(Refused {
                this_address: true,
                retry_after,
            });
        }
        let global = wait(&w.all, GLOBAL, now).or(crowded.then_some(WINDOW));
        if let Some(retry_after) = global {
            return Err(Refused {
                this_address: false,
                retry_after,
            });
        }
        if let Some(mine) = w.by_address.get_mut(address) {
            mine.push_back(now);
        }
        w.all.push_back(now);
        Ok(Attempt {
            address: address.to_string(),
            at: now,
        })
    }

    /// A right code: the attempt does not count (only failures use up the windows).
    pub fn succeeded(&self, attempt: Attempt) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let remove = |q: &mut VecDeque<Instant>| {
            if let Some(i) = q.iter().position(|t| *t == attempt.at) {
                q.remove(i);
            }
        };
        remove(&mut w.all);
        if let Some(mine) = w.by_address.get_mut(&attempt.address) {
            remove(mine);
        }
    }
}

/// The client's address: the source IP a Function URL reports, else the TCP peer (local runs),
/// else `unknown` (all such requests then share one window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        // Not X-Forwarded-For: a client can write that header itself.
        let from_lambda = parts
            .extensions
            .get::<lambda_http::request::RequestContext>()
            .and_then(|c| match c {
                lambda_http::request::RequestContext::ApiGatewayV2(c) => c.http.source_ip.clone(),
                _ => None,
            });
        let from_socket = || {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
        };
        Ok(ClientAddress(
            from_lambda
                .or_else(from_socket)
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_attempts_then_waits_for_the_window() {
        let t = SigninThrottle::default();
        let start = Instant::now();
        for _ in 0..PER_ADDRESS {
            t.attempt("a", start).unwrap();
        }
        let refused = t.attempt("a", start + Duration::from_secs(60)).unwrap_err();
        assert!(refused.this_address);
        assert_eq!(refused.retry_after, WINDOW - Duration::from_secs(60));
        t.attempt("b", start)
            .expect("another address is not affected");
        t.attempt("a", start + WINDOW).expect("the window moved on");
    }

    #[test]
    fn successes_do_not_count_and_the_global_limit_holds() {
        let t = SigninThrottle::default();
        let now = Instant::now();
        for _ in 0..3 * PER_ADDRESS {
            let a = t.attempt("a", now).unwrap();
            t.succeeded(a);
        }
        for i in 0..GLOBAL - 1 {
            t.attempt(&format!("10.0.0.{i}"), now).unwrap();
        }
        t.attempt("x", now).unwrap();
        let refused = t.attempt("y", now).unwrap_err();
        assert!(!refused.this_address);
    }
}
