//! The preview's DSpace admin password: made by the launch step, kept as a SecureString, handed
//! to the instance in its user data. The instance itself may write no parameter: its role is
//! shared by every preview, so a write right there would let one preview overwrite another's.

use aws_sdk_ssm::types::ParameterType;
use rand::Rng;

use crate::domain::names::Names;
use crate::domain::preview_id::PreviewId;
use crate::error::{Result, StepError};
use crate::parameters;

/// 24 characters from [A-Za-z0-9]: ~143 bits, above DSpace's 8-character minimum, and safe in
/// any shell or YAML quoting without escapes.
pub const LENGTH: usize = 24;

/// A new random password.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..LENGTH)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// The preview's password: the stored one when a retried launch already made it, else a new one,
/// stored without overwrite so two racing attempts end with the same value.
pub async fn ensure(ssm: &aws_sdk_ssm::Client, names: &Names, id: &PreviewId) -> Result<String> {
    let name = names.admin_password(id);
    if let Some(existing) = parameters::value(ssm, &name).await? {
        return Ok(existing);
    }
    let password = generate();
    let put = ssm
        .put_parameter()
        .name(&name)
        .value(&password)
        .r#type(ParameterType::SecureString)
        .overwrite(false)
        .description(format!("DSpace admin password of preview {id}"))
        .send()
        .await;
    match put {
        Ok(_) => Ok(password),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_already_exists()) =>
        {
            parameters::value(ssm, &name).await?.ok_or_else(|| {
                StepError::Aws(format!(
                    "{name} exists but could not be read; retry the launch"
                ))
            })
        }
        Err(e) => Err(StepError::from_sdk(&format!("ssm:PutParameter {name}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_alphanumeric_and_differ() {
        let a = generate();
        assert_eq!(a.len(), LENGTH);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, generate());
    }
}
