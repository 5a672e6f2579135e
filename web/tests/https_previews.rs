//! HTTPS previews (issue 15) through the web app: with the domain dials set for the steps, a
//! preview launched from the form gets an A record in the (emulated) hosted zone, and its card on
//! the home page and its own page link `https://<name>/` and `https://<name>/server`, never the
//! instance's `http://ec2-…` name, and so do the PRs' sticky comments and deployments; Stop
//! deletes the record.
//!
//! Without the dials nothing changes: `flow.rs`'s `launch_extend_by_button_and_link_then_stop`
//! (the home page links `http://…`) and the steps' own tests keep covering plain HTTP.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

mod common;

use axum::http::StatusCode;
use common::World;
use common::{publishing, world_with};
use preview_tasks::domain::tags;

/// The zone's A records as (name without the trailing dot, value).
async fn a_records(w: &World) -> Vec<(String, String)> {
    let domain = w.state.ctx.base.public_domain().unwrap().expect("a domain");
    let records = preview_tasks::dns::a_records(&w.aws.route53, &domain)
        .await
        .unwrap();
    records
        .iter()
        .map(|r| {
            let value = r.resource_records().first().map(|v| v.value().to_string());
            (
                r.name().trim_end_matches('.').to_string(),
                value.unwrap_or_default(),
            )
        })
        .collect()
}

/// The home page's card of preview `id`.
fn card<'a>(home: &'a str, id: &str) -> &'a str {
    let start = home
        .find(&format!(r#"data-preview="{id}""#))
        .unwrap_or_else(|| panic!("no card for {id}: {home}"));
    let card = &home[start..];
    &card[..card.find("</article>").unwrap_or(card.len())]
}

/// Both links, https on the preview's name, and no EC2 or plain-HTTP link.
fn shows_https(html: &str, name: &str, what: &str) {
    for link in [
        format!(r#"href="https://{name}/""#),
        format!(r#"href="https://{name}/server""#),
    ] {
        assert!(html.contains(&link), "{what} lacks {link}: {html}");
    }
    assert!(
        !html.contains("http://ec2-"),
        "{what} shows an EC2 URL: {html}"
    );
    assert!(
        !html.contains(r#"href="http://"#),
        "{what} links plain HTTP: {html}"
    );
}

#[tokio::test]
async fn a_preview_with_a_domain_shows_https_links_and_its_record_goes_at_stop() {
    // Only the suffix is given, as to `cargo xtask run`: the seeding makes the zone for it.
    let suffix = format!("h{}.previews.test", std::process::id());
    let w = publishing(world_with(|c| c.domain_name = Some(suffix.clone())).await);
    let zone = w
        .state
        .ctx
        .base
        .hosted_zone_id
        .clone()
        .expect("a zone seeded");
    let zones = w
        .aws
        .route53
        .get_hosted_zone()
        .id(&zone)
        .send()
        .await
        .unwrap();
    assert_eq!(zones.hosted_zone().unwrap().name(), format!("{suffix}."));
    assert!(a_records(&w).await.is_empty());

    let alice = w.visitor("alice").await;
    let launched = alice
        .submit(
            "/previews",
            &[
                ("backend_pr", "9876"),
                ("ui_pr", "4321"),
                ("paired", "1"),
                ("ttl_minutes", "60"),
            ],
        )
        .await;
    assert_eq!(launched.status, StatusCode::SEE_OTHER, "{}", launched.body);
    let id = launched.location["/previews/".len()..]
        .split('?')
        .next()
        .unwrap()
        .to_string();
    w.submitted(&id, 1).await;

    // The record: one, named b<PR>-u<PR>-<4 hex>.<suffix>, pointing at the instance.
    let records = a_records(&w).await;
    assert_eq!(records.len(), 1, "{records:?}");
    let (name, ip) = &records[0];
    let label = name
        .strip_suffix(&format!(".{suffix}"))
        .unwrap_or_else(|| panic!("{name} is not under {suffix}"));
    let hex = label
        .strip_prefix("b9876-u4321-")
        .unwrap_or_else(|| panic!("{label} is not named after the PRs"));
    assert!(
        hex.len() == 4 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "{label}"
    );
    let instances = preview_tasks::instances::find(
        &w.aws.ec2,
        &w.state.ctx.base.stack,
        &preview_tasks::instances::ALIVE_STATES,
        &[(tags::PREVIEW_ID, &id)],
    )
    .await
    .unwrap();
    let instance = instances.first().expect("the preview's instance");
    assert_eq!(instance.public_ip_address(), Some(ip.as_str()));
    assert_eq!(
        preview_tasks::instances::tag(instance, tags::PUBLIC_NAME),
        Some(name.as_str())
    );

    let home = alice.get("/").await;
    shows_https(card(&home.body, &id), name, "the home card");
    let page = alice.get(&format!("/previews/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    shows_https(&page.body, name, "the preview page");

    // The PR's sticky comment and its deployment carry the same https URL.
    let url = format!("https://{name}/");
    for (repo, pr) in [("DSpace/DSpace", 9876), ("DSpace/dspace-angular", 4321)] {
        let comments = w.comment_saying(repo, pr, &url).await;
        let body = comments[0]["body"].as_str().unwrap_or_default();
        assert!(!body.contains("http://ec2-"), "{body}");
        let states = w.deployment_states(repo, &id);
        assert!(
            states.contains(&("success".to_string(), Some(url.clone()))),
            "{repo}: {states:?}"
        );
    }

    let stopped = alice.submit(&format!("/previews/{id}/stop"), &[]).await;
    assert!(
        stopped.location.ends_with("notice=stopped"),
        "{}",
        stopped.location
    );
    w.ended(&id).await;
    assert!(
        a_records(&w).await.is_empty(),
        "the record goes with the preview"
    );
}
