//! Our workflow on this engine: `preview.asl.json`, the step handlers as its Lambda functions, and
//! the local service that the run command and the end-to-end tests start.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use preview_tasks::registry;
use preview_tasks::Ctx;
use serde_json::Value;

use preview_statemachine::{
    Clock, Engine, EngineOptions, Error, TaskFailure, TaskInvoker, ACCOUNT, REGION,
};

/// The workflow definition, exactly as the CDK app deploys it.
pub const DEFINITION: &str = include_str!("../../statemachine/preview.asl.json");
/// The state machine's name (the CDK app prefixes the stack name in AWS).
pub const STATE_MACHINE_NAME: &str = "dspace-preview";

/// Substitutions naming local Lambda ARNs the way the CDK app names the real ones.
pub fn substitutions(stack: &str) -> HashMap<String, String> {
    registry::PLACEHOLDERS
        .iter()
        .chain(registry::OTHER_CRATE_FUNCTIONS.iter())
        .map(|(key, step)| {
            (
                key.to_string(),
                format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{stack}-{step}"),
            )
        })
        .collect()
}

/// Runs our step handlers in-process in place of Lambda; a step's error becomes the ASL error
/// named by its `errorType`, as Lambda reports it.
pub struct StepsInvoker {
    ctx: Arc<Ctx>,
    overrides: HashMap<&'static str, Arc<Ctx>>,
    others: HashMap<&'static str, Handler>,
}

/// A function of another crate (see [`registry::OTHER_CRATE_FUNCTIONS`]) run in-process.
pub type Handler =
    Arc<dyn Fn(Value) -> BoxFuture<'static, Result<Value, TaskFailure>> + Send + Sync>;

impl StepsInvoker {
    /// Every step with the same context.
    pub fn new(ctx: Ctx) -> StepsInvoker {
        StepsInvoker {
            ctx: Arc::new(ctx),
            overrides: HashMap::new(),
            others: HashMap::new(),
        }
    }

    /// Runs `handler` for the function named `name` (one of
    /// [`registry::OTHER_CRATE_FUNCTIONS`]); without one, calling it fails as Lambda does for a
    /// function that does not exist.
    pub fn with_function(mut self, name: &'static str, handler: Handler) -> StepsInvoker {
        self.others.insert(name, handler);
        self
    }

    /// The handler of another crate's function that `function` (a name or ARN) names.
    fn other(&self, function: &str) -> Option<&Handler> {
        let name = function.rsplit(':').next().unwrap_or(function);
        self.others
            .iter()
            .find(|(n, _)| name == **n || name.ends_with(&format!("-{n}")))
            .map(|(_, h)| h)
    }

    /// Runs one step with another context (tests give the health step an SSM that can say "not yet").
    pub fn with_context_for(mut self, step: &'static str, ctx: Ctx) -> StepsInvoker {
        self.overrides.insert(step, Arc::new(ctx));
        self
    }
}

/// The PR-status function of a local run: the web app that would publish runs in another
/// process, so the event is logged and dropped instead of failing as a missing function would
/// (tests wire the real publisher in-process with [`StepsInvoker::with_function`]).
pub fn pr_status_not_published() -> Handler {
    Arc::new(|payload: Value| {
        let execution = payload["detail"]["executionArn"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        tracing::info!(%execution, "PR status not published: local runs publish PR statuses only in tests");
        async { Ok(Value::Null) }.boxed()
    })
}

impl TaskInvoker for StepsInvoker {
    fn invoke(
        &self,
        function: &str,
        payload: Value,
    ) -> BoxFuture<'static, Result<Value, TaskFailure>> {
        if let Some(handler) = self.other(function) {
            return handler(payload);
        }
        let step = registry::step_name(function);
        let ctx = step
            .and_then(|s| self.overrides.get(s))
            .unwrap_or(&self.ctx)
            .clone();
        let function = function.to_string();
        async move {
            registry::invoke(&ctx, &function, payload)
                .await
                .map_err(|e| TaskFailure::new(e.error_type(), e.to_string()))
        }
        .boxed()
    }
}

/// Opens the engine over `dir` with our steps and registers the workflow; returns it with the
/// state machine's ARN.
pub async fn open(
    dir: &Path,
    clock: Arc<dyn Clock>,
    invoker: StepsInvoker,
    stack: &str,
) -> Result<(Engine, String), Error> {
    open_with(dir, clock, invoker, stack, EngineOptions::default()).await
}

/// [`open`] with explicit engine options (e.g. a shorter retention of closed executions).
pub async fn open_with(
    dir: &Path,
    clock: Arc<dyn Clock>,
    invoker: StepsInvoker,
    stack: &str,
    options: EngineOptions,
) -> Result<(Engine, String), Error> {
    let ctx = invoker.ctx.clone();
    let engine =
        Engine::open_with(dir, clock, Arc::new(invoker), substitutions(stack), options).await?;
    route_status_changes(&engine, ctx);
    let arn = engine.create_state_machine(STATE_MACHINE_NAME, DEFINITION)?;
    Ok((engine, arn))
}

/// Delivers every execution status-change event to the reaper, as the CDK app's EventBridge
/// rule does in AWS: an execution that closed without Terminate has its preview ended at once.
fn route_status_changes(engine: &Engine, ctx: Arc<Ctx>) {
    engine.on_status_change(move |event| {
        let ctx = Arc::clone(&ctx);
        // Off the engine's task: the handler calls AWS and must not hold up the execution's close.
        tokio::spawn(async move {
            match preview_tasks::steps::reaper::handle(&ctx, &event).await {
                Ok(report) if !report.reaped.is_empty() => {
                    tracing::info!(reaped = ?report.reaped, "status change handled")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "status-change handler failed; the reaper's sweep retries"),
            }
        });
    });
}

/// An SFN client for an engine served at `endpoint` (the reaper and the web app use it).
pub async fn sfn_client(endpoint: &str) -> aws_sdk_sfn::Client {
    let sdk = crate::sdk_config(endpoint).await;
    aws_sdk_sfn::Client::new(&sdk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_in_the_definition_is_substituted() {
        let subs = substitutions("x");
        let mut rest = DEFINITION;
        while let Some(start) = rest.find("${") {
            let end = rest[start..].find('}').expect("closing brace") + start;
            let key = &rest[start + 2..end];
            assert!(subs.contains_key(key), "unsubstituted placeholder {key}");
            rest = &rest[end..];
        }
        for (_, step) in registry::PLACEHOLDERS {
            assert_eq!(registry::step_name(&format!("x-{step}")), Some(step));
        }
    }

    #[test]
    fn the_state_names_the_history_readers_use_are_the_definition_s_states() {
        let definition: Value = serde_json::from_str(DEFINITION).expect("the ASL is JSON");
        let states: std::collections::BTreeSet<&str> = definition["States"]
            .as_object()
            .expect("States")
            .keys()
            .map(String::as_str)
            .collect();
        let named: std::collections::BTreeSet<&str> =
            preview_tasks::domain::states::ALL.into_iter().collect();
        assert_eq!(states, named, "every state named once, and no other");
    }
}
