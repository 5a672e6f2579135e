//! The per-person launch rate limit. Each person's recent launch times live in one SSM parameter
//! (there is no database), so the limit holds across Lambda containers.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::error::WebError;
use crate::state::AppState;

/// The window the limit counts launches in.
pub const WINDOW_MINUTES: i64 = 60;

/// A parameter-name-safe key for a person: readable, and unique through a short hash.
pub fn user_key(user: &str) -> String {
    let readable: String = user
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let hash = Sha256::digest(user.as_bytes());
    let short: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{readable}-{short}")
}

/// The launch times a stored value holds (unreadable entries are dropped).
pub fn parse(stored: &str) -> Vec<DateTime<Utc>> {
    stored
        .split(',')
        .filter_map(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
        .map(|t| t.with_timezone(&Utc))
        .collect()
}

/// With `recent` launches and a limit of `limit` per window: the times to store after one more
/// launch now, or the time the next launch is allowed.
pub fn admit(
    recent: &[DateTime<Utc>],
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<DateTime<Utc>>, DateTime<Utc>> {
    let window = Duration::minutes(WINDOW_MINUTES);
    let mut inside: Vec<DateTime<Utc>> = recent
        .iter()
        .copied()
        .filter(|t| *t > now - window && *t <= now)
        .collect();
    inside.sort();
    if limit == 0 {
        return Err(now + window);
    }
    if inside.len() >= limit as usize {
        let oldest_that_counts = inside[inside.len() - limit as usize];
        return Err(oldest_that_counts + window);
    }
    inside.push(now);
    Ok(inside)
}

/// Records a launch by `user`, or refuses it with the time the next one is allowed.
///
/// Two launches by the same person at the same instant may both pass: this limits people, not
/// capacity (the workflow's slots do that, race-free).
pub async fn record_launch(state: &AppState, user: &str, limit: u32) -> Result<(), WebError> {
    let name = state.config.names().user_launches(&user_key(user));
    let stored = preview_tasks::parameters::value(&state.clients.ssm, &name)
        .await?
        .unwrap_or_default();
    let now = Utc::now();
    let times = admit(&parse(&stored), now, limit).map_err(|next| {
        WebError::BadRequest(format!(
            "you have launched {limit} previews in the last hour, the most one person may; \
             you can launch again at {} UTC (or stop one of yours and ask a maintainer)",
            next.format("%H:%M")
        ))
    })?;
    let value: Vec<String> = times.iter().map(DateTime::to_rfc3339).collect();
    state
        .clients
        .ssm
        .put_parameter()
        .name(&name)
        .value(value.join(","))
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| {
            WebError::aws(
                "ssm:PutParameter (launch rate limit)",
                aws_sdk_ssm::error::DisplayErrorContext(e),
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minute)
    }

    #[test]
    fn keys_are_safe_and_distinct() {
        assert!(user_key("Alice@Example.org").starts_with("alice_example.org-"));
        assert_ne!(user_key("a+b"), user_key("a_b"));
        assert!(user_key(&"x".repeat(200)).len() < 60);
    }

    #[test]
    fn the_limit_counts_the_last_hour_only() {
        let recent = [at(0), at(10), at(20)];
        assert_eq!(admit(&recent, at(30), 3), Err(at(60)));
        assert_eq!(admit(&recent, at(61), 3), Ok(vec![at(10), at(20), at(61)]));
        assert_eq!(admit(&[], at(0), 1), Ok(vec![at(0)]));
        assert_eq!(admit(&[], at(0), 0), Err(at(60)));
    }

    #[test]
    fn stored_values_round_trip_and_garbage_is_ignored() {
        let stored = format!("{},nonsense,{}", at(0).to_rfc3339(), at(5).to_rfc3339());
        assert_eq!(parse(&stored), vec![at(0), at(5)]);
        assert!(parse("").is_empty());
    }
}
