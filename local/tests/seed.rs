//! Seeding a local run with a domain: `PREVIEW_DOMAIN_NAME` alone is enough, the seeding makes a
//! public hosted zone for it in moto (once: a second seeding reuses it) and gives the steps its id.
#![allow(clippy::unwrap_used, reason = "tests")]

use preview_local::seed::{config_from_lookup, local_ctx};
use preview_local::Moto;
use preview_tasks::Config;

/// The config the local service reads from an environment holding `vars`.
fn from_env(vars: &[(&str, &str)]) -> Result<Config, String> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    config_from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .map_err(|e| e.to_string())
}

#[test]
fn the_domain_alone_is_a_local_config_and_the_steps_rules_hold_otherwise() {
    let alone = from_env(&[("PREVIEW_DOMAIN_NAME", "Previews.Localhost")]).unwrap();
    assert_eq!(alone.domain_name.as_deref(), Some("Previews.Localhost"));
    assert_eq!(alone.hosted_zone_id, None);
    let both = from_env(&[
        ("PREVIEW_DOMAIN_NAME", "previews.localhost"),
        ("PREVIEW_HOSTED_ZONE_ID", "/hostedzone/Z1"),
    ])
    .unwrap();
    assert_eq!(both.public_domain().unwrap().unwrap().hosted_zone_id, "Z1");
    let zone_alone = from_env(&[("PREVIEW_HOSTED_ZONE_ID", "Z1")]).unwrap_err();
    assert!(zone_alone.contains("PREVIEW_DOMAIN_NAME"), "{zone_alone}");
    let neither = from_env(&[("PREVIEW_DOMAIN_NAME", " ")]).unwrap();
    assert_eq!(neither.domain_name, None);
}

#[tokio::test]
async fn seeding_makes_the_zone_once_and_refuses_a_bad_suffix() {
    let endpoint = Moto::shared_endpoint().unwrap();
    let suffix = format!("s{}.previews.localhost", std::process::id());
    let config = || Config {
        domain_name: Some(suffix.to_ascii_uppercase()),
        ..Config::default()
    };
    let first = local_ctx(&endpoint, "seed-a", config()).await.unwrap();
    let domain = first.base.public_domain().unwrap().expect("a domain");
    assert_eq!(domain.suffix, suffix);
    let zone = first
        .clients
        .route53
        .get_hosted_zone()
        .id(&domain.hosted_zone_id)
        .send()
        .await
        .unwrap();
    let zone = zone.hosted_zone().unwrap();
    assert_eq!(zone.name(), format!("{suffix}."));
    assert!(!zone.config().unwrap().private_zone(), "a public zone");

    let again = local_ctx(&endpoint, "seed-b", config()).await.unwrap();
    assert_eq!(again.base.hosted_zone_id, first.base.hosted_zone_id);
    let named = first
        .clients
        .route53
        .list_hosted_zones_by_name()
        .dns_name(&suffix)
        .send()
        .await
        .unwrap();
    let same: Vec<_> = named
        .hosted_zones()
        .iter()
        .filter(|z| z.name() == format!("{suffix}."))
        .collect();
    assert_eq!(same.len(), 1, "{same:?}");

    let bad = Config {
        domain_name: Some("under_score.localhost".into()),
        ..Config::default()
    };
    let err = local_ctx(&endpoint, "seed-c", bad).await.unwrap_err();
    assert!(err.to_string().contains("PREVIEW_DOMAIN_NAME"), "{err}");
}
