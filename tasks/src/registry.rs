//! Dispatch by function name: how the local engine runs the same steps the Lambdas run. Each step
//! is declared once below; its name, its dispatch arm, its ASL placeholder and its entry in the
//! CDK's catalog (`cdk/lib/catalog.json`) all come from that line.

use crate::aws::Ctx;
use crate::error::{Result, StepError};
use crate::step::{run_json, Step};
use crate::steps::{
    await_expiry::AwaitExpiry, capacity::CheckCapacity, extend::Extend, health::CheckHealth,
    launch::Launch, reaper::Reaper, record_url::RecordUrl, resume_wait::ResumeWait,
    terminate::Terminate,
};

/// Declares the steps: state machine tasks with the `${…}` placeholder their ARN fills in
/// `statemachine/preview.asl.json`, then the functions the state machine does not call.
macro_rules! steps {
    (
        tasks { $($task:ident => $placeholder:literal,)* }
        others { $($other:ident,)* }
    ) => {
        /// One Lambda function of the workflow; a `match` on it is checked for every step.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum StepKind {
            $(
                #[doc = concat!("The `", stringify!($task), "` step.")]
                $task,
            )*
            $(
                #[doc = concat!("The `", stringify!($other), "` step.")]
                $other,
            )*
        }

        const STEP_COUNT: usize = [$(stringify!($task),)* $(stringify!($other),)*].len();
        const TASK_COUNT: usize = [$(stringify!($task),)*].len();

        impl StepKind {
            /// Every step, in workflow order (the reaper last).
            pub const ALL: [StepKind; STEP_COUNT] = [$(StepKind::$task,)* $(StepKind::$other,)*];

            /// The function's short name (`check-capacity`): the binary, and the Lambda name's suffix.
            pub const fn name(self) -> &'static str {
                match self {
                    $(StepKind::$task => <$task as Step>::NAME,)*
                    $(StepKind::$other => <$other as Step>::NAME,)*
                }
            }

            /// The ASL placeholder this function's ARN fills; none when the state machine never calls it.
            pub const fn placeholder(self) -> Option<&'static str> {
                match self {
                    $(StepKind::$task => Some($placeholder),)*
                    $(StepKind::$other => None,)*
                }
            }

            /// Runs this step on a JSON payload.
            pub async fn run(self, ctx: &Ctx, payload: serde_json::Value) -> Result<serde_json::Value> {
                match self {
                    $(StepKind::$task => run_json::<$task>(ctx, payload).await,)*
                    $(StepKind::$other => run_json::<$other>(ctx, payload).await,)*
                }
            }
        }

        /// Every step's function name, in workflow order.
        pub const FUNCTIONS: [&str; STEP_COUNT] = [$(<$task as Step>::NAME,)* $(<$other as Step>::NAME,)*];

        /// The `${…FunctionArn}` placeholders of the definition and the step each one runs.
        pub const PLACEHOLDERS: [(&str, &str); TASK_COUNT] = [$(($placeholder, <$task as Step>::NAME),)*];
    };
}

steps! {
    tasks {
        CheckCapacity => "CheckCapacityFunctionArn",
        Launch => "LaunchFunctionArn",
        CheckHealth => "CheckHealthFunctionArn",
        RecordUrl => "RecordUrlFunctionArn",
        AwaitExpiry => "AwaitExpiryFunctionArn",
        Extend => "ExtendFunctionArn",
        ResumeWait => "ResumeWaitFunctionArn",
        Terminate => "TerminateFunctionArn",
    }
    // EventBridge runs it, on a schedule and when an execution or an instance ends.
    others {
        Reaper,
    }
}

/// Functions the state machine calls that are not steps of this crate: the ASL placeholder and
/// the function's short name. `pr-status` is built from the web crate (it renders the PR's
/// comment and deployment from the execution, with the web app's GitHub client and link keys).
pub const OTHER_CRATE_FUNCTIONS: [(&str, &str); 1] = [("PrStatusFunctionArn", "pr-status")];

impl StepKind {
    /// The step a function name or ARN points at (`arn:…:function:dspace-preview-launch` → launch).
    pub fn of_function(function: &str) -> Option<StepKind> {
        let name = function.rsplit(':').next().unwrap_or(function);
        // Longest first, so `check-health` never matches a shorter suffix by accident.
        let mut candidates = StepKind::ALL;
        candidates.sort_by_key(|k| std::cmp::Reverse(k.name().len()));
        candidates
            .into_iter()
            .find(|k| name == k.name() || name.ends_with(&format!("-{}", k.name())))
    }
}

/// The step name in a function name or ARN (`arn:…:function:dspace-preview-launch` → `launch`).
pub fn step_name(function: &str) -> Option<&'static str> {
    StepKind::of_function(function).map(StepKind::name)
}

/// Runs the step a function name points at.
pub async fn invoke(
    ctx: &Ctx,
    function: &str,
    payload: serde_json::Value,
) -> Result<serde_json::Value> {
    let kind = StepKind::of_function(function).ok_or_else(|| {
        StepError::Config(format!(
            "no step is called '{function}'; known: {}",
            FUNCTIONS.join(", ")
        ))
    })?;
    kind.run(ctx, payload).await
}

/// The steps as the CDK app reads them: each binary and the ASL placeholder it fills, if any.
pub fn catalog_json() -> serde_json::Value {
    StepKind::ALL
        .iter()
        .map(|k| serde_json::json!({ "bin": k.name(), "placeholder": k.placeholder() }))
        .collect()
}

/// What `cdk/lib/catalog.json` holds: the dials and the steps, so the stack never restates them.
pub fn cdk_catalog() -> serde_json::Value {
    serde_json::json!({
        "generatedBy": "tasks/src/config.rs and tasks/src/registry.rs: PREVIEW_BLESS=1 cargo test --workspace --lib the_cdk_catalog_is_current",
        "dials": crate::config::catalog_json(),
        "steps": catalog_json(),
        "otherCrateFunctions": OTHER_CRATE_FUNCTIONS
            .iter()
            .map(|(placeholder, name)| serde_json::json!({
                "name": name,
                "placeholder": placeholder,
                "crate": "web",
                "binary": format!("dspace-preview-{name}"),
            }))
            .collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_steps_by_name_or_arn() {
        assert_eq!(
            step_name("arn:aws:lambda:us-east-1:1:function:dspace-preview-check-health"),
            Some("check-health")
        );
        assert_eq!(step_name("launch"), Some("launch"));
        assert_eq!(
            step_name("dspace-preview-prod-terminate"),
            Some("terminate")
        );
        assert_eq!(step_name("relaunch"), None);
    }

    #[test]
    fn every_step_has_a_binary_and_every_binary_a_step() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin");
        let mut bins: Vec<String> = std::fs::read_dir(&dir)
            .expect("tasks/src/bin")
            .filter_map(|e| {
                let name = e.expect("a directory entry").file_name();
                name.to_str()?.strip_suffix(".rs").map(String::from)
            })
            .collect();
        bins.sort();
        let mut names: Vec<&str> = FUNCTIONS.to_vec();
        names.sort();
        assert_eq!(bins, names);
    }

    #[test]
    fn the_cdk_catalog_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cdk/lib/catalog.json");
        let fresh = serde_json::to_string_pretty(&cdk_catalog()).expect("JSON") + "\n";
        if std::env::var("PREVIEW_BLESS").as_deref() == Ok("1") {
            std::fs::write(&path, &fresh).expect("write cdk/lib/catalog.json");
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == fresh,
            "cdk/lib/catalog.json is not what tasks/src/config.rs and registry.rs declare; \
             regenerate it with PREVIEW_BLESS=1 cargo test --workspace --lib the_cdk_catalog_is_current"
        );
    }
}
