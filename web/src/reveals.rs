//! Who was shown a preview's admin password, and when: one SSM parameter per reveal,
//! `<parameter root>/password-views/<preview-id>/<millis>-<user key>`, whose value is the name
//! as pages show it (`@login` or the name given). The execution history is the audit log, but
//! only the workflow writes it; there is no database, and SSM is where the web already keeps its
//! records (launch limits, webhook deliveries). Each is created without Overwrite, so a record
//! is never replaced. They live outside the preview's own path, which the workflow deletes when
//! the preview ends, so the audit page keeps showing them afterwards.

use aws_sdk_ssm::types::ParameterType;
use chrono::{DateTime, TimeZone, Utc};
use preview_tasks::domain::preview_id::PreviewId;

use crate::audit::Entry;
use crate::error::{OrAws, WebError};
use crate::limits::user_key;
use crate::state::AppState;

/// Where the reveals of preview `id` live under the deployment's parameter `root`.
pub fn path(root: &str, id: &PreviewId) -> String {
    format!("{root}/password-views/{id}/")
}

/// The record of `who` seeing the password of `id` at `at`.
pub fn record_name(root: &str, id: &PreviewId, at: DateTime<Utc>, who: &str) -> String {
    format!(
        "{}{}-{}",
        path(root, id),
        at.timestamp_millis(),
        user_key(who)
    )
}

/// The audit lines of the stored records (name, value), oldest first; names that are not
/// records are skipped.
pub fn entries(stored: &[(String, String)]) -> Vec<Entry> {
    let mut found: Vec<Entry> = stored
        .iter()
        .filter_map(|(name, who)| {
            let last = name.rsplit('/').next()?;
            let (millis, _) = last.split_once('-')?;
            let at = Utc.timestamp_millis_opt(millis.parse().ok()?).single()?;
            Some(Entry {
                at,
                what: format!("{} showed the admin password", who.trim()),
            })
        })
        .collect();
    found.sort_by_key(|e| e.at);
    found
}

/// Records that `who` (as pages show them) is being shown the admin password of `id`; the
/// password is shown only once this succeeded.
pub async fn record(state: &AppState, id: &PreviewId, who: &str) -> Result<(), WebError> {
    let root = state.ctx.base.names().parameter_root();
    let created = state
        .ctx
        .clients
        .ssm
        .put_parameter()
        .name(record_name(&root, id, Utc::now(), who))
        .value(who)
        .r#type(ParameterType::String)
        .overwrite(false)
        .description("dspace-preview: someone was shown a preview's admin password")
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        // The same person twice in one millisecond: already recorded.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_already_exists()) =>
        {
            Ok(())
        }
        Err(e) => Err(WebError::from_sdk("ssm:PutParameter (password view)", e)),
    }
}

/// The reveals of `id` as audit lines, oldest first.
pub async fn list(state: &AppState, id: &PreviewId) -> Result<Vec<Entry>, WebError> {
    let root = state.ctx.base.names().parameter_root();
    let mut stored = Vec::new();
    let mut pages = state
        .ctx
        .clients
        .ssm
        .get_parameters_by_path()
        .path(path(&root, id))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.or_aws("ssm:GetParametersByPath (password views)")?;
        stored.extend(page.parameters().iter().map(|p| {
            let (name, value) = (p.name().unwrap_or_default(), p.value().unwrap_or_default());
            (name.to_string(), value.to_string())
        }));
    }
    Ok(entries(&stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_name_the_preview_and_read_back_in_order() {
        let id = PreviewId::parse("dsp-b9876-abcd").unwrap();
        let at = Utc
            .timestamp_millis_opt(1_700_000_000_123)
            .single()
            .unwrap();
        let name = record_name("/dspace-preview/s", &id, at, "@Octo");
        assert!(
            name.starts_with(
                "/dspace-preview/s/password-views/dsp-b9876-abcd/1700000000123-_octo-"
            ),
            "{name}"
        );
        let later = record_name(
            "/dspace-preview/s",
            &id,
            at + chrono::Duration::seconds(5),
            "a",
        );
        let stored = [
            (later, "alice".to_string()),
            (name, "@Octo".to_string()),
            ("/x/junk".to_string(), "x".to_string()),
        ];
        let lines = entries(&stored);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].what, "@Octo showed the admin password");
        assert_eq!(lines[0].at, at);
        assert_eq!(lines[1].what, "alice showed the admin password");
    }
}
