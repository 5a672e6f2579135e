//! Signed-out sessions. A session cookie is self-contained (signed, with its expiry), so signing
//! out must be remembered server-side: one SSM parameter per revoked session under
//! `/dspace-preview/<stack>/revoked-sessions/`, holding the time the session would have expired.
//! Each app instance reads the list at most every [`REFRESH`] and knows its own sign-outs at once;
//! entries are deleted once their session would have expired anyway.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::error::{OrAws, WebError};
use crate::state::AppState;

/// How stale another instance's view of sign-outs may be.
pub const REFRESH: Duration = Duration::from_secs(30);

/// The revoked session ids this instance knows, and when it last read them.
#[derive(Default)]
pub struct Revocations {
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    read_at: Option<Instant>,
    /// Session id → when the session would have expired (unix seconds).
    ids: HashMap<String, i64>,
}

/// Where the revocations of a deployment live.
fn path(state: &AppState) -> String {
    format!(
        "{}/revoked-sessions/",
        state.ctx.base.names().parameter_root()
    )
}

impl Revocations {
    /// True when the session `id` was signed out (here at once, elsewhere within [`REFRESH`]).
    pub async fn is_revoked(&self, state: &AppState, id: &str) -> Result<bool, WebError> {
        let mut known = self.known.lock().await;
        if known.read_at.is_none_or(|t| t.elapsed() >= REFRESH) {
            known.ids = read(state).await?;
            known.read_at = Some(Instant::now());
        }
        Ok(known.ids.contains_key(id))
    }

    /// Revokes session `id` (which would expire at `expires`) and removes revocations whose
    /// sessions have expired meanwhile.
    pub async fn revoke(
        &self,
        state: &AppState,
        id: &str,
        expires: DateTime<Utc>,
    ) -> Result<(), WebError> {
        state
            .ctx
            .clients
            .ssm
            .put_parameter()
            .name(format!("{}{id}", path(state)))
            .value(expires.timestamp().to_string())
            .r#type(ParameterType::String)
            .overwrite(true)
            .description(
                "dspace-preview: a signed-out session (deleted once it would have expired)",
            )
            .send()
            .await
            .or_aws("ssm:PutParameter (sign-out)")?;
        let mut known = self.known.lock().await;
        known.ids = read(state).await?;
        known.ids.insert(id.to_string(), expires.timestamp());
        known.read_at = Some(Instant::now());
        let now = Utc::now().timestamp();
        let expired: Vec<String> = known
            .ids
            .iter()
            .filter(|(_, until)| **until < now)
            .map(|(id, _)| format!("{}{id}", path(state)))
            .collect();
        known.ids.retain(|_, until| *until >= now);
        drop(known);
        // Cleanup is housekeeping: the sign-out itself already holds.
        if let Err(e) =
            preview_tasks::parameters::delete_all(&state.ctx.clients.ssm, &expired).await
        {
            tracing::warn!(error = %e, "expired session revocations not deleted; the next sign-out retries");
        }
        Ok(())
    }
}

/// Every revocation stored; a value that is not a time keeps its session revoked for good.
async fn read(state: &AppState) -> Result<HashMap<String, i64>, WebError> {
    let mut pages = state
        .ctx
        .clients
        .ssm
        .get_parameters_by_path()
        .path(path(state))
        .into_paginator()
        .send();
    let mut ids = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.or_aws("ssm:GetParametersByPath (sign-outs)")?;
        for p in page.parameters() {
            let name = p.name().unwrap_or_default();
            let id = name.rsplit('/').next().unwrap_or_default().to_string();
            let until = p.value().and_then(|v| v.parse().ok()).unwrap_or(i64::MAX);
            ids.insert(id, until);
        }
    }
    Ok(ids)
}
