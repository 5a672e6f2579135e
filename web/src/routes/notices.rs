//! The notices a preview's page and a link's answer show after an action: a fixed vocabulary,
//! so nothing from a URL is echoed.

use preview_tasks::steps::extend::ExtendOutput;
use preview_tasks::Config;

use crate::audit::{self, Event};

/// The notices a redirect may ask for (a fixed set, so nothing from the URL is echoed); some
/// read the preview's history (`events`) or the dials in force.
pub(super) fn notice_text(code: &str, events: &[Event], config: &Config) -> Option<String> {
    let fixed = match code {
        "launched" => "Launched: it has a slot. The preview takes a while to build; this page shows its progress.",
        "starting" => "Starting: the capacity check has not answered yet, so it may still be refused. Check the home page in a minute: it lists the preview once it has a slot.",
        "extended" => return audit::extends(events).last().map(extend_notice),
        "extend-sent" => "Extend requested. The new shutdown time shows once the workflow has recorded it.",
        "stopped" => "Stop requested: the preview is being shut down.",
        "stop-requested" => return Some(stop_requested(config)),
        "ended" => "This preview has already ended; there is nothing to extend or stop.",
        "busy" => "The preview is not waiting for an extend right now (still building, or handling the previous request); try again in a moment.",
        "no-password" => "The admin password is not created yet: the launch step makes it as the instance starts.",
        _ => return None,
    };
    Some(fixed.to_string())
}

/// What an extend granted and the shutdown time now, as the audit log words it.
pub(super) fn extend_sentence(out: &ExtendOutput) -> String {
    format!(
        "{}. It now stops at {} UTC.",
        audit::extend_text(out, None),
        out.expires_at.format("%H:%M")
    )
}

/// [`extend_sentence`] as a notice of its own (capitalised).
fn extend_notice(out: &ExtendOutput) -> String {
    let text = extend_sentence(out);
    let mut chars = text.chars();
    let first = chars
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    format!("{first}{}", chars.as_str())
}

/// A stop recorded while no callback waits.
pub(super) fn stop_requested(config: &Config) -> String {
    format!(
        "Stop requested: it takes effect within one health check (about {} seconds).",
        config.health_poll_interval_seconds
    )
}
