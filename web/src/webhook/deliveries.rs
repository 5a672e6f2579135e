//! Each webhook delivery is acted on once. GitHub sends a delivery again when asked to (or when
//! our answer was lost), with the same `X-GitHub-Delivery` id; a record per id in SSM, created
//! without Overwrite (an atomic create-if-absent, as the launch limits use), lets exactly one
//! request act on it, across processes and Lambda instances alike.

use aws_sdk_ssm::types::ParameterType;
use chrono::Utc;

use crate::error::{OrAws, WebError};
use crate::state::AppState;

/// The header GitHub puts the delivery id in.
pub const HEADER: &str = "x-github-delivery";

/// The SSM name recording `delivery` under the deployment's `root`, if the id is one GitHub
/// could have sent (a GUID: letters, digits and `-`); anything else cannot name a parameter.
pub fn record_name(root: &str, delivery: &str) -> Option<String> {
    let valid = !delivery.is_empty()
        && delivery.len() <= 100
        && delivery
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    valid.then(|| format!("{root}/webhook-deliveries/{delivery}"))
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
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_already_exists()) =>
        {
            Ok(false)
        }
        Err(e) => Err(WebError::from_sdk("ssm:PutParameter (webhook delivery)", e)),
    }
}

/// Forgets `delivery` after acting on it failed, so GitHub's redelivery can try again; a
/// failure here is logged (the redelivery is then ignored, as a replay would be).
pub async fn forget(state: &AppState, delivery: &str) {
    let root = state.ctx.base.names().parameter_root();
    let Some(name) = record_name(&root, delivery) else {
        return;
    };
    let deleted = state
        .ctx
        .clients
        .ssm
        .delete_parameter()
        .name(name)
        .send()
        .await
        .or_aws("ssm:DeleteParameter (webhook delivery)");
    if let Err(e) = deleted {
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
}
