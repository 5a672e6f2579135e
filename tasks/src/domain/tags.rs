//! The EC2 tag names that mark an instance as a preview and carry its state.

/// Every instance of ours carries this with the deployment (stack) name.
pub const STACK: &str = "dspace-preview:stack";
/// The preview id.
pub const PREVIEW_ID: &str = "dspace-preview:id";
/// The Step Functions execution ARN that owns the instance.
pub const EXECUTION: &str = "dspace-preview:execution";
/// The backend PR number or branch.
pub const BACKEND: &str = "dspace-preview:backend";
/// The UI PR number or branch.
pub const UI: &str = "dspace-preview:ui";
/// The base branch.
pub const BASE_BRANCH: &str = "dspace-preview:base-branch";
/// Who asked.
pub const REQUESTER: &str = "dspace-preview:requester";
/// RFC 3339 time of launch.
pub const LAUNCHED_AT: &str = "dspace-preview:launched-at";
/// RFC 3339 time the preview stops.
pub const EXPIRES_AT: &str = "dspace-preview:expires-at";
/// The lifecycle phase the web page shows.
pub const PHASE: &str = "dspace-preview:phase";
/// The public UI URL, once healthy.
pub const UI_URL: &str = "dspace-preview:ui-url";
/// The public REST URL, once healthy.
pub const REST_URL: &str = "dspace-preview:rest-url";
/// The preview's DNS name under the deployment's domain (`b1-u2-ab12.previews.example.org`),
/// set at launch when the domain dials are; terminate and the reaper delete its record by it.
pub const PUBLIC_NAME: &str = "dspace-preview:public-name";
/// The sample content loaded (entities, aip, none).
pub const SAMPLE_CONTENT: &str = "dspace-preview:sample-content";
/// The backend environment overrides, `KEY=value` joined by `; ` (cut at the tag limit).
pub const ENV: &str = "dspace-preview:env";
/// The boot phase the instance last reported (`fetching`, `building-backend`, …).
pub const BOOT_PHASE: &str = "dspace-preview:boot-phase";
/// When that boot phase started (RFC 3339).
pub const BOOT_PHASE_SINCE: &str = "dspace-preview:boot-phase-since";
/// How the preview ended (expired, stopped by …, failed: …).
pub const ENDED: &str = "dspace-preview:ended";
/// The console name.
pub const NAME: &str = "Name";

/// The tag filter key for `DescribeInstances`.
pub fn filter(tag: &str) -> String {
    format!("tag:{tag}")
}

/// A tag value fit for EC2 (at most 256 characters).
pub fn value(s: &str) -> String {
    s.chars().take(256).collect()
}
