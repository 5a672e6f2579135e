//! A stand-in for the preview instance in the local service. Nothing boots here (moto's EC2 runs
//! no code), so once an instance runs, this writes what its boot script would: the `boot` and
//! `compose` log streams. Every line says it is simulated, so the local web page shows logs the
//! way a real preview does. (The admin password is the launch step's, as on AWS.)

use preview_tasks::domain::preview_id::PreviewId;
use preview_tasks::domain::tags;
use preview_tasks::instances;
use preview_tasks::logs::append;
use preview_tasks::Ctx;

use crate::error::Result;

/// Marks an instance the stand-in has already "booted".
pub const BOOTED_TAG: &str = "dspace-preview:local-stand-in";

/// What the boot script would log for a preview built from these tags.
pub fn boot_lines(backend: &str, ui: &str, base: &str, sample: &str, admin: &str) -> Vec<String> {
    let side = |repo: &str, source: &str| match source {
        "" => format!("{repo}: the published image of {base}"),
        s => format!("{repo} {s}"),
    };
    [
        format!(
            "fetching {} and {}",
            side("DSpace/DSpace", backend),
            side("DSpace/dspace-angular", ui)
        ),
        format!("merging into {base}"),
        "building the images".into(),
        "starting docker compose".into(),
        format!("creating the administrator {admin}"),
        format!("loading sample content: {sample}"),
        "healthy".into(),
    ]
    .into_iter()
    .map(|l| format!("[local stand-in, nothing boots here] phase {l}"))
    .collect()
}

/// A few lines of the compose output a healthy preview shows.
const COMPOSE_LINES: [&str; 4] = [
    "dspacedb      | database system is ready to accept connections",
    "dspacesolr    | Started Solr server on port 8983",
    "dspace        | Started Application in 58.1 seconds",
    "dspace-angular| Listening on http://0.0.0.0:4000",
];

/// "Boots" every running instance of the stack not seen before; returns their preview ids.
pub async fn boot_new_instances(ctx: &Ctx) -> Result<Vec<PreviewId>> {
    let found = instances::find(&ctx.clients.ec2, &ctx.base.stack, &["running"], &[]).await?;
    let mut booted = Vec::new();
    for instance in &found {
        if instances::tag(instance, BOOTED_TAG).is_some() {
            continue;
        }
        let Some(id) =
            instances::tag(instance, tags::PREVIEW_ID).and_then(|t| PreviewId::parse(t).ok())
        else {
            continue;
        };
        let tag = |k: &str| instances::tag(instance, k).unwrap_or_default();
        let boot = boot_lines(
            tag(tags::BACKEND),
            tag(tags::UI),
            tag(tags::BASE_BRANCH),
            tag(tags::SAMPLE_CONTENT),
            &ctx.base.admin_email,
        );
        let compose: Vec<String> = COMPOSE_LINES.iter().map(|l| l.to_string()).collect();
        let names = ctx.base.names();
        let logs = &ctx.clients.logs;
        append(logs, &names, &names.boot_log_stream(&id), &boot).await?;
        let compose_stream = format!("{}compose", names.log_stream_prefix(&id));
        append(logs, &names, &compose_stream, &compose).await?;
        if let Some(instance_id) = instance.instance_id() {
            instances::set_tags(
                &ctx.clients.ec2,
                &[instance_id.to_string()],
                &[(BOOTED_TAG, "true".into())],
            )
            .await?;
        }
        booted.push(id);
    }
    Ok(booted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_name_what_is_built_and_say_they_are_simulated() {
        let lines = boot_lines("#9876", "", "main", "entities", "admin@x");
        assert!(lines.iter().all(|l| l.contains("local stand-in")));
        assert!(lines[0].contains("DSpace/DSpace #9876"));
        assert!(lines[0].contains("DSpace/dspace-angular: the published image of main"));
        assert!(lines.iter().any(|l| l.ends_with("phase healthy")));
    }
}
