//! Retry and Catch: parsing of retriers/catchers, AWS's error-name matching rules and the
//! back-off computation.

use crate::asl::fields::Obj;
use crate::paths::RefPath;
use serde_json::Value;

/// `States.ALL`: matches every error except `States.Runtime`.
pub const ALL: &str = "States.ALL";
/// `States.TaskFailed`: matches every task error except timeouts.
pub const TASK_FAILED: &str = "States.TaskFailed";
/// A task or execution ran out of time (also used for heartbeat expiry, as AWS reports it).
pub const TIMEOUT: &str = "States.Timeout";
/// Matches heartbeat expiry only (in Retry/Catch).
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// Data or definition problems at run time; never retried nor caught.
pub const RUNTIME: &str = "States.Runtime";

/// An error raised inside a state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StateError {
    /// The error name (`Error`).
    pub error: String,
    /// The cause text (`Cause`), if any.
    pub cause: Option<String>,
    /// Set when a `States.Timeout` came from a missed heartbeat.
    #[serde(default)]
    pub heartbeat: bool,
}

impl StateError {
    /// An error with a cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        StateError {
            error: error.into(),
            cause: Some(cause.into()),
            heartbeat: false,
        }
    }

    /// A `States.Runtime` error with AWS's "An error occurred while executing the state" prefix.
    pub fn runtime(state: &str, entered_event: u64, why: &str) -> Self {
        StateError::new(
            RUNTIME,
            format!(
                "An error occurred while executing the state '{state}' (entered at the event id #{entered_event}). {why}"
            ),
        )
    }

    /// A `States.Timeout` without cause (what AWS records).
    pub fn timeout(heartbeat: bool) -> Self {
        StateError {
            error: TIMEOUT.into(),
            cause: None,
            heartbeat,
        }
    }

    /// The error output Catch passes on: `{"Error": ..., "Cause": ...}`.
    pub fn to_output(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("Error".into(), Value::String(self.error.clone()));
        if let Some(c) = &self.cause {
            m.insert("Cause".into(), Value::String(c.clone()));
        }
        Value::Object(m)
    }

    /// Whether one `ErrorEquals` entry matches this error.
    pub fn matches(&self, name: &str) -> bool {
        if self.error == RUNTIME {
            return false;
        }
        match name {
            ALL => true,
            TASK_FAILED => self.error != TIMEOUT,
            HEARTBEAT_TIMEOUT => self.error == TIMEOUT && self.heartbeat,
            other => other == self.error,
        }
    }

    /// Whether any entry of an `ErrorEquals` list matches.
    pub fn matches_any(&self, names: &[String]) -> bool {
        names.iter().any(|n| self.matches(n))
    }
}

/// Jitter applied to retry delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Jitter {
    /// Exact delays.
    None,
    /// A random delay between 0 and the computed one.
    Full,
}

/// One `Retry` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    /// Errors this retrier handles.
    pub error_equals: Vec<String>,
    /// First delay in seconds.
    pub interval_seconds: u64,
    /// Maximum retries (0 = never).
    pub max_attempts: u64,
    /// Delay multiplier.
    pub backoff_rate: f64,
    /// Cap on a single delay.
    pub max_delay_seconds: Option<u64>,
    /// Jitter strategy.
    pub jitter: Jitter,
}

impl Retrier {
    /// The delay before retry number `attempt` (0-based), before jitter, in milliseconds.
    pub fn delay_millis(&self, attempt: u32) -> u64 {
        let secs = self.interval_seconds as f64 * self.backoff_rate.powi(attempt as i32);
        let secs = match self.max_delay_seconds {
            Some(max) => secs.min(max as f64),
            None => secs,
        };
        (secs * 1000.0).round().min(u64::MAX as f64) as u64
    }

    /// The delay with jitter applied, in milliseconds.
    pub fn jittered_delay_millis(&self, attempt: u32) -> u64 {
        let d = self.delay_millis(attempt);
        match self.jitter {
            Jitter::None => d,
            Jitter::Full => rand::random_range(0..=d),
        }
    }
}

/// One `Catch` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Catcher {
    /// Errors this catcher handles.
    pub error_equals: Vec<String>,
    /// The state to go to.
    pub next: String,
    /// Where the error output goes (`None` = discard, i.e. `ResultPath: null`).
    pub result_path: Option<RefPath>,
}

fn error_equals(obj: &mut Obj<'_>) -> Result<Vec<String>, String> {
    let list = obj
        .take("ErrorEquals")
        .ok_or_else(|| obj.err("ErrorEquals", "is required"))?;
    let items = list
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| obj.err("ErrorEquals", "must be a non-empty array of strings"))?;
    let names = items
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| obj.err("ErrorEquals", "must contain strings"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if names.iter().any(|n| n == ALL) && names.len() > 1 {
        return Err(obj.err(
            "ErrorEquals",
            "States.ALL must appear alone in its ErrorEquals list",
        ));
    }
    Ok(names)
}

fn check_all_last(obj: &Obj<'_>, field: &str, lists: &[Vec<String>]) -> Result<(), String> {
    for (i, l) in lists.iter().enumerate() {
        if l.iter().any(|n| n == ALL) && i + 1 != lists.len() {
            return Err(obj.err(
                &format!("{field}[{i}].ErrorEquals"),
                "States.ALL must be in the last entry",
            ));
        }
    }
    Ok(())
}

/// Parses a state's `Retry` list.
pub fn parse_retry(obj: &mut Obj<'_>) -> Result<Vec<Retrier>, String> {
    let Some(list) = obj.take("Retry") else {
        return Ok(Vec::new());
    };
    let items = list
        .as_array()
        .ok_or_else(|| obj.err("Retry", "must be an array"))?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let map = item
            .as_object()
            .ok_or_else(|| obj.err("Retry", "entries must be objects"))?;
        let mut r = obj.child(map, &format!("Retry[{i}]"));
        let error_equals = error_equals(&mut r)?;
        let interval_seconds = r.optional_u64("IntervalSeconds")?.unwrap_or(1);
        if !(1..=99_999_999).contains(&interval_seconds) {
            return Err(r.err("IntervalSeconds", "must be between 1 and 99999999"));
        }
        let max_attempts = r.optional_u64("MaxAttempts")?.unwrap_or(3);
        if max_attempts > 99_999_999 {
            return Err(r.err("MaxAttempts", "must be at most 99999999"));
        }
        let backoff_rate = r.optional_f64("BackoffRate")?.unwrap_or(2.0);
        if backoff_rate < 1.0 {
            return Err(r.err("BackoffRate", "must be at least 1.0"));
        }
        let max_delay_seconds = r.optional_u64("MaxDelaySeconds")?;
        if let Some(m) = max_delay_seconds {
            if !(1..31_622_401).contains(&m) {
                return Err(r.err("MaxDelaySeconds", "must be between 1 and 31622400"));
            }
        }
        let jitter = match r.optional_str("JitterStrategy")? {
            None | Some("NONE") => Jitter::None,
            Some("FULL") => Jitter::Full,
            Some(_) => return Err(r.err("JitterStrategy", "must be FULL or NONE")),
        };
        r.optional_str("Comment")?;
        r.finish()?;
        out.push(Retrier {
            error_equals,
            interval_seconds,
            max_attempts,
            backoff_rate,
            max_delay_seconds,
            jitter,
        });
    }
    let lists: Vec<Vec<String>> = out.iter().map(|r| r.error_equals.clone()).collect();
    check_all_last(obj, "Retry", &lists)?;
    Ok(out)
}

/// Parses a state's `Catch` list.
pub fn parse_catch(obj: &mut Obj<'_>) -> Result<Vec<Catcher>, String> {
    let Some(list) = obj.take("Catch") else {
        return Ok(Vec::new());
    };
    let items = list
        .as_array()
        .ok_or_else(|| obj.err("Catch", "must be an array"))?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let map = item
            .as_object()
            .ok_or_else(|| obj.err("Catch", "entries must be objects"))?;
        let mut c = obj.child(map, &format!("Catch[{i}]"));
        let error_equals = error_equals(&mut c)?;
        let next = c.required_str("Next")?.to_string();
        let result_path = crate::asl::result_path(&mut c)?;
        c.optional_str("Comment")?;
        c.finish()?;
        out.push(Catcher {
            error_equals,
            next,
            result_path,
        });
    }
    let lists: Vec<Vec<String>> = out.iter().map(|c| c.error_equals.clone()).collect();
    check_all_last(obj, "Catch", &lists)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_rules() {
        let runtime = StateError::new(RUNTIME, "x");
        assert!(!runtime.matches(ALL));
        assert!(!runtime.matches(RUNTIME));
        let timeout = StateError::timeout(false);
        assert!(timeout.matches(ALL));
        assert!(!timeout.matches(TASK_FAILED));
        assert!(!timeout.matches(HEARTBEAT_TIMEOUT));
        assert!(StateError::timeout(true).matches(HEARTBEAT_TIMEOUT));
        let custom = StateError::new("Boom", "x");
        assert!(custom.matches(TASK_FAILED));
        assert!(custom.matches("Boom"));
        assert!(!custom.matches("Other"));
    }

    #[test]
    fn backoff() {
        let r = Retrier {
            error_equals: vec![ALL.into()],
            interval_seconds: 2,
            max_attempts: 5,
            backoff_rate: 3.0,
            max_delay_seconds: Some(10),
            jitter: Jitter::None,
        };
        assert_eq!(r.delay_millis(0), 2000);
        assert_eq!(r.delay_millis(1), 6000);
        assert_eq!(r.delay_millis(2), 10_000);
        let full = Retrier {
            jitter: Jitter::Full,
            ..r
        };
        assert!(full.jittered_delay_millis(1) <= 6000);
    }
}
