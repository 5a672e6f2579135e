//! Injectable time source: every timestamp and timer in the engine comes from a [`Clock`], so
//! tests can run a two-hour TTL in milliseconds with [`ManualClock`].

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// A source of "now" and of timers that fire at an absolute instant.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
    /// A future that completes once `now() >= deadline`.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()>;
}

/// The real clock: wall-clock time and tokio timers.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()> {
        async move {
            // Re-check after each sleep: the wall clock can move differently from tokio's
            // monotonic timer (suspend, NTP), and the deadline is a wall-clock instant.
            loop {
                let left = deadline - Utc::now();
                match left.to_std() {
                    Ok(d) if !d.is_zero() => tokio::time::sleep(d).await,
                    _ => return,
                }
            }
        }
        .boxed()
    }
}

struct Waiter {
    deadline: DateTime<Utc>,
    wake: oneshot::Sender<()>,
}

struct ManualInner {
    now: DateTime<Utc>,
    waiters: Vec<Waiter>,
}

/// A virtual clock for tests: time only moves when [`ManualClock::advance`] is called, and every
/// timer that becomes due fires then.
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualInner>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            inner: Arc::new(Mutex::new(ManualInner {
                now: start,
                waiters: Vec::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ManualInner> {
        // A panic while holding this lock cannot leave the data inconsistent (plain values),
        // so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves time forward by `by` and fires every timer that is now due.
    pub fn advance(&self, by: Duration) {
        let mut inner = self.lock();
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        inner.now += by;
        let now = inner.now;
        let (due, pending): (Vec<Waiter>, Vec<Waiter>) =
            inner.waiters.drain(..).partition(|w| w.deadline <= now);
        inner.waiters = pending;
        drop(inner);
        for w in due {
            let _ = w.wake.send(());
        }
    }

    /// Number of timers not yet fired (dropped sleepers included until the next advance).
    pub fn pending_timers(&self) -> usize {
        let mut inner = self.lock();
        inner.waiters.retain(|w| !w.wake.is_closed());
        inner.waiters.len()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.lock().now
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let mut inner = self.lock();
        if deadline <= inner.now {
            return futures::future::ready(()).boxed();
        }
        let (tx, rx) = oneshot::channel();
        inner.waiters.push(Waiter { deadline, wake: tx });
        async move {
            // A dropped sender only happens if the clock itself is dropped; then never fire.
            if rx.await.is_err() {
                futures::future::pending::<()>().await;
            }
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_fires_due_timers_only() {
        let start = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .expect("valid");
        let clock = ManualClock::new(start);
        let t1 = clock.sleep_until(start + chrono::Duration::seconds(10));
        let t2 = clock.sleep_until(start + chrono::Duration::hours(2));
        let h1 = tokio::spawn(t1);
        let h2 = tokio::spawn(t2);
        clock.advance(Duration::from_secs(10));
        h1.await.expect("fires");
        assert!(!h2.is_finished());
        clock.advance(Duration::from_secs(7200));
        h2.await.expect("fires");
        assert_eq!(clock.now(), start + chrono::Duration::seconds(7210));
    }
}
