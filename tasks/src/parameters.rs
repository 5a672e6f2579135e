//! SSM Parameter Store helpers shared by the steps.

use crate::error::{Result, StepError};

/// A parameter's value (SecureStrings decrypted); `None` when there is no such parameter.
pub async fn value(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<Option<String>> {
    match ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(StepError::from_sdk(&format!("ssm:GetParameter {name}"), e)),
    }
}

/// Names of every parameter under a path (recursively).
pub async fn names_under(ssm: &aws_sdk_ssm::Client, path: &str) -> Result<Vec<String>> {
    let mut pages = ssm
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .into_paginator()
        .send();
    let mut names = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| StepError::from_sdk("ssm:GetParametersByPath", e))?;
        names.extend(
            page.parameters()
                .iter()
                .filter_map(|p| p.name().map(str::to_string)),
        );
    }
    Ok(names)
}

/// Deletes parameters by name, ten at a time (the API's limit); missing ones are fine.
pub async fn delete_all(ssm: &aws_sdk_ssm::Client, parameter_names: &[String]) -> Result<()> {
    for chunk in parameter_names.chunks(10) {
        ssm.delete_parameters()
            .set_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| StepError::from_sdk("ssm:DeleteParameters", e))?;
    }
    Ok(())
}
