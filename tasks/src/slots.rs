//! Slot reservations in SSM Parameter Store: the race-free part of the capacity check.

use aws_sdk_ssm::types::ParameterType;

use crate::domain::names::Names;
use crate::domain::preview_id::PreviewId;
use crate::domain::slots::Reservation;
use crate::error::{Result, StepError};

/// Every held slot: (parameter name, reservation).
pub async fn held(ssm: &aws_sdk_ssm::Client, names: &Names) -> Result<Vec<(String, Reservation)>> {
    let mut pages = ssm
        .get_parameters_by_path()
        .path(names.slots_path())
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| StepError::from_sdk("ssm:GetParametersByPath (slots)", e))?;
        for p in page.parameters() {
            let name = p.name().unwrap_or_default().to_string();
            // A slot whose value is not ours (hand-edited) still counts as taken.
            let reservation =
                serde_json::from_str(p.value().unwrap_or_default()).unwrap_or_else(|_| {
                    Reservation {
                        preview_id: "unknown".to_string(),
                        execution: String::new(),
                        reserved_at: chrono::DateTime::default(),
                    }
                });
            out.push((name, reservation));
        }
    }
    Ok(out)
}

/// Tries to take the slot parameter `name`: `Ok(false)` when another preview holds it.
pub async fn try_take(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    reservation: &Reservation,
) -> Result<bool> {
    let value =
        serde_json::to_string(reservation).map_err(|e| StepError::InvalidRequest(e.to_string()))?;
    // Without Overwrite, PutParameter is an atomic create-if-absent: exactly one caller wins.
    match ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .overwrite(false)
        .description("dspace-preview slot reservation")
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_already_exists()) =>
        {
            Ok(false)
        }
        Err(e) => Err(StepError::from_sdk("ssm:PutParameter (slot)", e)),
    }
}

/// Releases every slot held by a preview; returns the names released.
pub async fn release(
    ssm: &aws_sdk_ssm::Client,
    names: &Names,
    id: &PreviewId,
) -> Result<Vec<String>> {
    let mine: Vec<String> = held(ssm, names)
        .await?
        .into_iter()
        .filter(|(_, r)| r.preview_id == id.as_str())
        .map(|(n, _)| n)
        .collect();
    crate::parameters::delete_all(ssm, &mine).await?;
    Ok(mine)
}
