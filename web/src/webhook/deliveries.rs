//! Each webhook delivery is acted on once. GitHub sends a delivery again when asked to (or when
//! our answer was lost), with the same `X-GitHub-Delivery` id; a record per id in SSM, created
//! without Overwrite (an atomic create-if-absent, as the launch limits use), lets exactly one
//! request act on it, across processes and Lambda instances alike. GitHub redelivers on request
//! for [`KEEP_DAYS`] days; records older than that are deleted when a new one is made (only
//! acted-on commands are recorded, so there are few).

use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, Duration, Utc};

use crate::error::{OrAws, WebError};
use crate::state::AppState;

/// The header GitHub puts the delivery id in.
pub const HEADER: &str = "x-github-delivery";

/// How long a delivery is remembered: GitHub offers redelivery for three days.
pub const KEEP_DAYS: i64 = 3;

/// Where a deployment's delivery records live.
fn path(root: &str) -> String {
    format!("{root}/webhook-deliveries/")
}

/// The SSM name recording `delivery` under the deployment's `root`, if the id is one GitHub
/// could have sent (a GUID: letters, digits and `-`); anything else cannot name a parameter.
pub fn record_name(root: &str, delivery: &str) -> Option<String> {
    let valid = !delivery.is_empty()
        && delivery.len() <= 100
        && delivery
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then(|| format!("{}{delivery}", path(root)))
}

/// The records of `stored` (name, value) made more than [`KEEP_DAYS`] ago; an unreadable time
/// counts as now, so a record is never lost to a typo.
pub fn expired(stored: &[(String, String)], now: DateTime<Utc>) -> Vec<String> {
    let keep = now - Duration::days(KEEP_DAYS);
    stored
        .iter()
        .filter(|(_, at)| DateTime::parse_from_rfc3339(at.trim()).is_ok_and(|t| t < keep))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Records `delivery` as handled; false when it already was (a replay: do nothing).
pub async fn first_time(state: &AppState, delivery: &str) -> Result<bool, WebError> {
    let root = state.ctx.base.names().parameter_root();
    let name = record_name(&root, delivery)
        .ok_or_else(|| WebError::BadRequest(format!("'{delivery}' is not a delivery id")))?;
    let created = state
        .ctx
        .clients
        .ssm
        .put_parameter()
        .name(name)
        .value(Utc::now().to_rfc3339())
        .r#type(ParameterType::String)
        .overwrite(false)
        .description("dspace-preview: a GitHub webhook delivery already acted on")
        .send()
        .await;
    match created {
        Ok(_) => {
            if let Err(e) = prune(state, &root).await {
                tracing::warn!(error = %e, "old delivery records not deleted; the next delivery retries");
            }
            Ok(true)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_already_exists()) =>
        {
            Ok(false)
        }
        Err(e) => Err(WebError::from_sdk("ssm:PutParameter (webhook delivery)", e)),
    }
}

/// Deletes the records older than [`KEEP_DAYS`].
async fn prune(state: &AppState, root: &str) -> Result<(), WebError> {
    let ssm = &state.ctx.clients.ssm;
    let mut stored = Vec::new();
    let mut pages = ssm
        .get_parameters_by_path()
        .path(path(root))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.or_aws("ssm:GetParametersByPath (webhook deliveries)")?;
        stored.extend(page.parameters().iter().map(|p| {
            let (name, value) = (p.name().unwrap_or_default(), p.value().unwrap_or_default());
            (name.to_string(), value.to_string())
        }));
    }
    preview_tasks::parameters::delete_all(ssm, &expired(&stored, Utc::now())).await?;
    Ok(())
}

/// Forgets `delivery` after acting on it failed, so GitHub's redelivery can try again; a
/// failure here is logged (the redelivery is then ignored, as a replay would be).
pub async fn forget(state: &AppState, delivery: &str) {
    let root = state.ctx.base.names().parameter_root();
    let Some(name) = record_name(&root, delivery) else {
        return;
    };
    if let Err(e) = preview_tasks::parameters::delete_all(&state.ctx.clients.ssm, &[name]).await {
        tracing::warn!(error = %e, delivery, "delivery record not deleted; a redelivery is ignored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_guid_like_ids_name_a_record() {
        assert_eq!(
            record_name("/p/s", "72d3162e-cc78-11e3-81ab-4c9367dc0958").as_deref(),
            Some("/p/s/webhook-deliveries/72d3162e-cc78-11e3-81ab-4c9367dc0958")
        );
        assert_eq!(record_name("/p/s", ""), None);
        assert_eq!(record_name("/p/s", "../x"), None);
        assert_eq!(record_name("/p/s", &"a".repeat(101)), None);
    }

    #[test]
    fn records_older_than_three_days_expire() {
        let now = DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let record = |name: &str, at: &str| (name.to_string(), at.to_string());
        let stored = [
            record("/a", "2026-11-30T09:59:00Z"),
            record("/b", "2026-11-30T10:01:00Z"),
            record("/c", "not a time"),
        ];
        assert_eq!(expired(&stored, now), ["/a"]);
    }
}
