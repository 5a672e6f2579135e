//! Launch limits: at most N launches per person per hour (`launches-per-user-per-hour`) and at
//! most M launches per hour in all (`launches-per-hour`), both race-free with state in SSM
//! (there is no database), so they hold across Lambda instances and simultaneous requests.
//!
//! A limit of N is N places, `<path><k>-<g>` for k in 1..=N. A place is taken while its newest
//! generation `g` is younger than the window; a launch takes a free place by creating generation
//! `g + 1` with PutParameter without Overwrite, an atomic create-if-absent (the trick the
//! capacity slots use): of two simultaneous launches seeing the same free place, one wins and
//! the other tries the next place. A refused launch gives its place back by deleting the
//! generation it created. Old generations are deleted only once they are two windows old, so a
//! stale listing can never recreate a generation that is still counted.

use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::error::{OrAws, WebError};
use crate::state::AppState;

/// The window both limits count launches in.
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

/// Where a person's launch places live.
pub fn user_path(state: &AppState, user: &str) -> String {
    format!("{}/", state.ctx.base.names().user_launches(&user_key(user)))
}

/// Where the deployment's launch places live.
pub fn global_path(state: &AppState) -> String {
    format!("{}/launches/", state.ctx.base.names().parameter_root())
}

/// One place's generation as stored: `(k, g)` from the name, and its launch time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The full parameter name.
    pub name: String,
    /// The place number.
    pub place: u32,
    /// The generation.
    pub generation: u64,
    /// When that launch was (unreadable values count as now: taken, never lost).
    pub at: DateTime<Utc>,
}

/// Reads a parameter's name and value as a place generation, if the name is one.
pub fn stored(name: &str, value: &str, now: DateTime<Utc>) -> Option<Stored> {
    let last = name.rsplit('/').next()?;
    let (place, generation) = last.split_once('-')?;
    Some(Stored {
        name: name.to_string(),
        place: place.parse().ok()?,
        generation: generation.parse().ok()?,
        at: DateTime::parse_from_rfc3339(value.trim())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now),
    })
}

/// What to do with a limit's places now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Names to try creating, in order (one per free place).
    pub tries: Vec<String>,
    /// When a place frees, if none is free now.
    pub next_free: DateTime<Utc>,
    /// Old generations nobody counts any more.
    pub stale: Vec<String>,
}

/// The plan for `limit` places under `path`, given what is stored; `start` rotates the order
/// places are tried in, so simultaneous launches spread over them.
pub fn plan(path: &str, stored: &[Stored], limit: u32, now: DateTime<Utc>, start: u32) -> Plan {
    let window = Duration::minutes(WINDOW_MINUTES);
    let newest = |k: u32| {
        stored
            .iter()
            .filter(|s| s.place == k)
            .max_by_key(|s| s.generation)
    };
    let mut tries = Vec::new();
    let mut next_free = now + window;
    for i in 0..limit {
        let k = (start.wrapping_add(i) % limit) + 1;
        match newest(k) {
            Some(s) if s.at > now - window => next_free = next_free.min(s.at + window),
            Some(s) => tries.push(format!("{path}{k}-{}", s.generation + 1)),
            None => tries.push(format!("{path}{k}-1")),
        }
    }
    let stale = stored
        .iter()
        .filter(|s| s.at <= now - window - window)
        .filter(|s| s.place > limit || newest(s.place).is_some_and(|n| n.generation > s.generation))
        .map(|s| s.name.clone())
        .collect();
    Plan {
        tries,
        next_free,
        stale,
    }
}

/// A place taken by a launch; [`release`] gives it back if the launch is refused after all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim(String);

/// What asking a limit for a place gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A place was taken for this launch.
    Taken(Claim),
    /// Every place is taken; the first one frees at this time.
    Full {
        /// When a place frees.
        frees_at: DateTime<Utc>,
    },
}

/// Takes one of `limit` places under `path` for a launch now, or says when one frees.
pub async fn claim(state: &AppState, path: &str, limit: u32) -> Result<Place, WebError> {
    let ssm = &state.ctx.clients.ssm;
    let now = Utc::now();
    let mut found = Vec::new();
    let mut pages = ssm
        .get_parameters_by_path()
        .path(path)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.or_aws("ssm:GetParametersByPath (launch limit)")?;
        found.extend(page.parameters().iter().filter_map(|p| {
            stored(
                p.name().unwrap_or_default(),
                p.value().unwrap_or_default(),
                now,
            )
        }));
    }
    let plan = plan(path, &found, limit, now, rand::random());
    if !plan.stale.is_empty() {
        if let Err(e) = preview_tasks::parameters::delete_all(ssm, &plan.stale).await {
            tracing::warn!(error = %e, "old launch records not deleted; a later launch retries");
        }
    }
    for name in plan.tries {
        let created = ssm
            .put_parameter()
            .name(&name)
            .value(now.to_rfc3339())
            .r#type(ParameterType::String)
            .overwrite(false)
            .description("dspace-preview: one launch, counted by the launch limits")
            .send()
            .await;
        match created {
            Ok(_) => return Ok(Place::Taken(Claim(name))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_already_exists()) =>
            {
                continue
            }
            Err(e) => return Err(WebError::from_sdk("ssm:PutParameter (launch limit)", e)),
        }
    }
    Ok(Place::Full {
        frees_at: plan.next_free,
    })
}

/// Gives places back (a launch refused after its places were taken); a failure is logged, the
/// place then frees with the window.
pub async fn release(state: &AppState, claims: &[Claim]) {
    let names: Vec<String> = claims.iter().map(|c| c.0.clone()).collect();
    if let Err(e) = preview_tasks::parameters::delete_all(&state.ctx.clients.ssm, &names).await {
        tracing::warn!(error = %e, "launch places not given back; they free within the hour");
    }
}

/// Takes a place of the person's limit and one of the global limit for a launch by `user`, or
/// says which limit refuses and when to try again (taking nothing).
pub async fn admit(
    state: &AppState,
    user: &str,
    per_user: u32,
    global: u32,
) -> Result<Vec<Claim>, WebError> {
    let mine = match claim(state, &user_path(state, user), per_user).await? {
        Place::Taken(mine) => mine,
        Place::Full { frees_at } => {
            return Err(WebError::BadRequest(format!(
                "you have launched {per_user} previews in the last hour, the most one person may; \
                 you can launch again at {} UTC (or stop one of yours and ask a maintainer)",
                frees_at.format("%H:%M")
            )))
        }
    };
    match claim(state, &global_path(state), global).await {
        Ok(Place::Taken(all)) => Ok(vec![mine, all]),
        Ok(Place::Full { frees_at: next }) => {
            release(state, std::slice::from_ref(&mine)).await;
            Err(WebError::BadRequest(format!(
                "the service has launched {global} previews in the last hour, its limit \
                 (the launches-per-hour dial); nothing was launched. Try again at {} UTC",
                next.format("%H:%M")
            )))
        }
        Err(e) => {
            release(state, std::slice::from_ref(&mine)).await;
            Err(e)
        }
    }
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

    fn s(place: u32, generation: u64, minute: i64) -> Stored {
        stored(
            &format!("/p/{place}-{generation}"),
            &at(minute).to_rfc3339(),
            at(0),
        )
        .unwrap()
    }

    #[test]
    fn keys_are_safe_and_distinct() {
        assert!(user_key("Alice@Example.org").starts_with("alice_example.org-"));
        assert_ne!(user_key("a+b"), user_key("a_b"));
        assert!(user_key(&"x".repeat(200)).len() < 60);
    }

    #[test]
    fn free_places_get_their_next_generation() {
        let p = plan("/p/", &[], 2, at(0), 0);
        assert_eq!(p.tries, ["/p/1-1", "/p/2-1"]);
        let p = plan("/p/", &[s(1, 3, 0), s(2, 1, -70)], 2, at(30), 1);
        assert_eq!(p.tries, ["/p/2-2"]);
        assert_eq!(p.next_free, at(60));
    }

    #[test]
    fn a_full_limit_says_when_a_place_frees() {
        let p = plan("/p/", &[s(1, 1, 10), s(2, 1, 20)], 2, at(30), 0);
        assert!(p.tries.is_empty());
        assert_eq!(p.next_free, at(70));
        assert!(plan("/p/", &[], 0, at(0), 0).tries.is_empty());
    }

    #[test]
    fn only_generations_two_windows_old_and_superseded_are_stale() {
        let old = [s(1, 1, -200), s(1, 2, -130), s(1, 3, -10), s(3, 1, -200)];
        let p = plan("/p/", &old, 2, at(0), 0);
        assert_eq!(p.stale, ["/p/1-1", "/p/1-2", "/p/3-1"]);
        assert_eq!(p.tries, ["/p/2-1"]);
    }

    #[test]
    fn unreadable_values_count_as_taken() {
        let s = stored("/p/1-1", "garbage", at(5)).unwrap();
        assert_eq!(s.at, at(5));
        assert!(stored("/p/other", "x", at(0)).is_none());
    }
}
