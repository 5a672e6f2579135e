//! The ASL model the engine runs, and its loader: `${Name}` substitution, parsing, and the
//! validation that refuses (naming state and field) everything the engine does not implement.

pub mod fields;

use crate::choice::{self, Rule};
use crate::paths::{Path, RefPath, Template};
use crate::retry::{self, Catcher, Retrier};
use chrono::{DateTime, FixedOffset};
use fields::Obj;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// InputPath / OutputPath.
#[derive(Debug, Clone, PartialEq)]
pub enum IoPath {
    /// Absent: `$`.
    Whole,
    /// `null`: the state sees `{}`.
    Null,
    /// A path.
    Path(Path),
}

/// Where a state goes next.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// `Next`.
    Next(String),
    /// `End: true`.
    End,
}

/// Fixed or input-driven seconds (`TimeoutSeconds` / `TimeoutSecondsPath`, heartbeat alike).
#[derive(Debug, Clone, PartialEq)]
pub enum Seconds {
    /// A literal.
    Fixed(u64),
    /// A reference path into the effective input.
    Path(Path),
}

/// The ASL state kinds the engine runs (`Type`; Map and Parallel are refused at load).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateType {
    /// `Task`.
    Task,
    /// `Pass`.
    Pass,
    /// `Choice`.
    Choice,
    /// `Wait`.
    Wait,
    /// `Succeed`.
    Succeed,
    /// `Fail`.
    Fail,
}

impl StateType {
    /// The ASL spelling (also the history event-name prefix).
    pub fn as_str(self) -> &'static str {
        match self {
            StateType::Task => "Task",
            StateType::Pass => "Pass",
            StateType::Choice => "Choice",
            StateType::Wait => "Wait",
            StateType::Succeed => "Succeed",
            StateType::Fail => "Fail",
        }
    }

    /// Parses the ASL spelling of a supported kind.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "Task" => StateType::Task,
            "Pass" => StateType::Pass,
            "Choice" => StateType::Choice,
            "Wait" => StateType::Wait,
            "Succeed" => StateType::Succeed,
            "Fail" => StateType::Fail,
            _ => return None,
        })
    }
}

/// `resourceType` of every Task resource the engine dispatches (all are Lambda).
pub const LAMBDA: &str = "lambda";

/// The Task resources the engine can dispatch.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    /// `arn:aws:states:::lambda:invoke`.
    LambdaInvoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken`.
    LambdaInvokeWaitForToken,
    /// A Lambda function ARN used directly as the resource.
    LambdaArn(String),
}

impl Resource {
    /// `resourceType` in history events.
    pub fn resource_type(&self) -> &'static str {
        LAMBDA
    }

    /// `resource` in history events.
    pub fn resource_name(&self) -> &str {
        match self {
            Resource::LambdaInvoke => "invoke",
            Resource::LambdaInvokeWaitForToken => "invoke.waitForTaskToken",
            Resource::LambdaArn(arn) => arn,
        }
    }
}

/// How a Wait state waits.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitFor {
    /// `Seconds`.
    Seconds(u64),
    /// `Timestamp`.
    Timestamp(DateTime<FixedOffset>),
    /// `SecondsPath`.
    SecondsPath(Path),
    /// `TimestampPath`.
    TimestampPath(Path),
}

/// `Error`/`ErrorPath` or `Cause`/`CausePath` of a Fail state.
#[derive(Debug, Clone, PartialEq)]
pub enum FailField {
    /// Absent.
    None,
    /// A literal.
    Literal(String),
    /// A path into the state input.
    Path(Path),
}

/// A Task state's specific fields.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSpec {
    /// What to call.
    pub resource: Resource,
    /// `TimeoutSeconds` / `TimeoutSecondsPath`.
    pub timeout: Option<Seconds>,
    /// `HeartbeatSeconds` / `HeartbeatSecondsPath`.
    pub heartbeat: Option<Seconds>,
    /// `Retry`.
    pub retry: Vec<Retrier>,
    /// `Catch`.
    pub catch: Vec<Catcher>,
    /// `ResultSelector`.
    pub result_selector: Option<Template>,
    /// `Parameters.InvocationType` of `lambda:invoke`: whether the state waits for the function.
    pub invocation: Invocation,
}

/// `InvocationType` of the `lambda:invoke` integration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Invocation {
    /// `RequestResponse` (the default): the state waits for the function's result.
    #[default]
    RequestResponse,
    /// `Event`: Lambda queues the call and answers 202 at once; the state never sees the result.
    Event,
}

/// What kind of state, with its specific fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Pass.
    Pass {
        /// `Result`.
        result: Option<Value>,
    },
    /// Task.
    Task(Box<TaskSpec>),
    /// Choice.
    Choice {
        /// Rules with their `Next`.
        choices: Vec<(Rule, String)>,
        /// `Default`.
        default: Option<String>,
    },
    /// Wait.
    Wait(WaitFor),
    /// Succeed.
    Succeed,
    /// Fail.
    Fail {
        /// Error name.
        error: FailField,
        /// Cause.
        cause: FailField,
    },
}

/// One state of the machine.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// The state's name.
    pub name: String,
    /// Type-specific fields.
    pub kind: Kind,
    /// `InputPath`.
    pub input_path: IoPath,
    /// `OutputPath`.
    pub output_path: IoPath,
    /// `Parameters`.
    pub parameters: Option<Template>,
    /// `ResultPath` (`None` = `null`, discard the result).
    pub result_path: Option<RefPath>,
    /// `Next` / `End` (for Pass, Task, Wait).
    pub transition: Option<Transition>,
}

impl State {
    /// The state's kind (`Task`, `Pass`, ...).
    pub fn state_type(&self) -> StateType {
        match self.kind {
            Kind::Pass { .. } => StateType::Pass,
            Kind::Task(_) => StateType::Task,
            Kind::Choice { .. } => StateType::Choice,
            Kind::Wait(_) => StateType::Wait,
            Kind::Succeed => StateType::Succeed,
            Kind::Fail { .. } => StateType::Fail,
        }
    }
}

/// A loaded, validated state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct StateMachine {
    /// `StartAt`.
    pub start_at: String,
    /// States by name.
    pub states: BTreeMap<String, State>,
    /// Top-level `TimeoutSeconds`.
    pub timeout_seconds: Option<u64>,
}

/// The `${Name}` placeholders a definition uses, in order of first use (what its substitutions
/// must name).
pub fn placeholders(definition: &str) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    let mut rest = definition;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        if !names.contains(&&after[..end]) {
            names.push(&after[..end]);
        }
        rest = &after[end + 1..];
    }
    names
}

/// Replaces `${Name}` placeholders (like CDK's definitionSubstitutions) and refuses leftovers.
pub fn substitute(definition: &str, subs: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err("unterminated '${' placeholder in the definition".into());
        };
        let name = &after[..end];
        match subs.get(name) {
            // The value lands inside a JSON string: escape it so the definition stays JSON.
            Some(v) => {
                let quoted = Value::String(v.clone()).to_string();
                out.push_str(&quoted[1..quoted.len() - 1]);
            }
            None => {
                return Err(format!(
                    "the definition uses '${{{name}}}' but no substitution named '{name}' was given"
                ))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn io_path(obj: &mut Obj<'_>, key: &str) -> Result<IoPath, String> {
    match obj.take(key) {
        None => Ok(IoPath::Whole),
        Some(Value::Null) => Ok(IoPath::Null),
        Some(Value::String(s)) => Path::parse(s)
            .map(IoPath::Path)
            .map_err(|e| obj.err(key, &e)),
        Some(_) => Err(obj.err(key, "must be a JSONPath string or null")),
    }
}

/// Reads `ResultPath` (default `$`; `null` discards); must be a reference path.
pub fn result_path(obj: &mut Obj<'_>) -> Result<Option<RefPath>, String> {
    match obj.take("ResultPath") {
        None => Ok(RefPath::parse("$")),
        Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => RefPath::parse(s).map(Some).ok_or_else(|| {
            obj.err(
                "ResultPath",
                "must be a reference path (names and indexes only)",
            )
        }),
        Some(_) => Err(obj.err("ResultPath", "must be a JSONPath string or null")),
    }
}

fn seconds(obj: &mut Obj<'_>, fixed: &str, path: &str) -> Result<Option<Seconds>, String> {
    let f = obj.take(fixed);
    let p = obj.optional_path(path)?;
    match (f, p) {
        (Some(_), Some(_)) => Err(obj.err(fixed, &format!("cannot be used together with {path}"))),
        (Some(v), None) => match v.as_u64() {
            Some(n) if (1..=99_999_999).contains(&n) => Ok(Some(Seconds::Fixed(n))),
            _ => Err(obj.err(fixed, "must be a positive integer (at most 99999999)")),
        },
        (None, Some(p)) => {
            if p.reference().is_none() {
                return Err(obj.err(path, "must be a reference path into the input"));
            }
            Ok(Some(Seconds::Path(p)))
        }
        (None, None) => Ok(None),
    }
}

fn transition(obj: &mut Obj<'_>) -> Result<Transition, String> {
    let next = obj.optional_str("Next")?;
    let end = match obj.take("End") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(obj.err("End", "must be a boolean")),
    };
    match (next, end) {
        (Some(_), true) => Err(obj.err("End", "cannot be used together with Next")),
        (Some(n), false) => Ok(Transition::Next(n.to_string())),
        (None, true) => Ok(Transition::End),
        (None, false) => Err(obj.err("Next", "is required (or End: true)")),
    }
}

fn lambda_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    (parts.len() == 7 || parts.len() == 8)
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "lambda"
        && parts[5] == "function"
        && !parts[6].is_empty()
}

fn task(obj: &mut Obj<'_>, parameters: &Option<Template>) -> Result<Kind, String> {
    let resource_s = obj.required_str("Resource")?;
    let resource = match resource_s {
        "arn:aws:states:::lambda:invoke" => Resource::LambdaInvoke,
        "arn:aws:states:::lambda:invoke.waitForTaskToken" => Resource::LambdaInvokeWaitForToken,
        s if lambda_arn(s) => Resource::LambdaArn(s.to_string()),
        other => {
            return Err(obj.err(
                "Resource",
                &format!(
                    "'{other}' is not supported by the local engine (only lambda:invoke, \
                     lambda:invoke.waitForTaskToken and Lambda function ARNs)"
                ),
            ))
        }
    };
    let mut invocation = Invocation::RequestResponse;
    if matches!(
        resource,
        Resource::LambdaInvoke | Resource::LambdaInvokeWaitForToken
    ) {
        let p = parameters
            .as_ref()
            .ok_or_else(|| obj.err("Parameters", "is required for lambda:invoke (FunctionName)"))?;
        if !matches!(p, Template::Object(_)) {
            return Err(obj.err("Parameters", "must be an object"));
        }
        for k in p.keys() {
            if !matches!(k, "FunctionName" | "Payload" | "InvocationType") {
                return Err(obj.err(
                    &format!("Parameters.{k}"),
                    "is not supported by the local engine (only FunctionName, Payload and \
                     InvocationType)",
                ));
            }
        }
        invocation = match p.field("InvocationType") {
            None => Invocation::RequestResponse,
            Some(Template::Literal(Value::String(t))) if t == "RequestResponse" => {
                Invocation::RequestResponse
            }
            Some(Template::Literal(Value::String(t)))
                if t == "Event" && resource == Resource::LambdaInvoke =>
            {
                Invocation::Event
            }
            Some(_) => {
                return Err(obj.err(
                    "Parameters.InvocationType",
                    "must be the literal 'RequestResponse' or (for lambda:invoke) 'Event'; \
                     the local engine does not run 'DryRun' or a path",
                ))
            }
        };
        match p.field("FunctionName") {
            Some(Template::Literal(Value::String(_)))
            | Some(Template::Path { .. })
            | Some(Template::Intrinsic { .. }) => {}
            Some(_) => return Err(obj.err("Parameters.FunctionName", "must be a string")),
            None => return Err(obj.err("Parameters.FunctionName", "is required")),
        }
        if resource == Resource::LambdaInvokeWaitForToken && !p.mentions_task_token() {
            return Err(obj.err(
                "Parameters",
                "must pass the task token ($$.Task.Token) for .waitForTaskToken",
            ));
        }
    }
    let timeout = seconds(obj, "TimeoutSeconds", "TimeoutSecondsPath")?;
    let heartbeat = seconds(obj, "HeartbeatSeconds", "HeartbeatSecondsPath")?;
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat) {
        if h >= t {
            return Err(obj.err("HeartbeatSeconds", "must be smaller than TimeoutSeconds"));
        }
    }
    let result_selector = match obj.take("ResultSelector") {
        None => None,
        Some(v @ Value::Object(_)) => {
            Some(Template::compile(v).map_err(|e| obj.err("ResultSelector", &e))?)
        }
        Some(_) => return Err(obj.err("ResultSelector", "must be an object")),
    };
    let retry = retry::parse_retry(obj)?;
    let catch = retry::parse_catch(obj)?;
    Ok(Kind::Task(Box::new(TaskSpec {
        resource,
        timeout,
        heartbeat,
        retry,
        catch,
        result_selector,
        invocation,
    })))
}

fn fail_field(obj: &mut Obj<'_>, lit: &str, path: &str) -> Result<FailField, String> {
    let l = obj.optional_str(lit)?;
    let p = obj.optional_path(path)?;
    match (l, p) {
        (Some(_), Some(_)) => Err(obj.err(lit, &format!("cannot be used together with {path}"))),
        (Some(s), None) => Ok(FailField::Literal(s.to_string())),
        (None, Some(p)) => Ok(FailField::Path(p)),
        (None, None) => Ok(FailField::None),
    }
}

fn state(name: &str, value: &Value) -> Result<State, String> {
    let at = format!("State '{name}'");
    let map = value
        .as_object()
        .ok_or_else(|| format!("{at}: must be an object"))?;
    let mut obj = Obj::new(map, at);
    if name.is_empty() || name.chars().count() > 80 {
        return Err(obj.err("", "state names must have 1 to 80 characters"));
    }
    let ty = obj.required_str("Type")?;
    obj.optional_str("Comment")?;
    if let Some(ql) = obj.optional_str("QueryLanguage")? {
        if ql != "JSONPath" {
            return Err(obj.err(
                "QueryLanguage",
                "only JSONPath is supported by the local engine",
            ));
        }
    }
    let Some(ty) = StateType::parse(ty) else {
        return Err(match ty {
            "Map" | "Parallel" => obj.err(
                "Type",
                &format!("'{ty}' states are not supported by the local engine"),
            ),
            other => obj.err("Type", &format!("unknown state type '{other}'")),
        });
    };
    let mut input_path = IoPath::Whole;
    let mut output_path = IoPath::Whole;
    let mut parameters = None;
    let mut result_path = RefPath::parse("$");
    let mut trans = None;
    use StateType as T;
    let takes_parameters = matches!(ty, T::Pass | T::Task);
    if matches!(ty, T::Pass | T::Task | T::Choice | T::Wait | T::Succeed) {
        input_path = io_path(&mut obj, "InputPath")?;
        output_path = io_path(&mut obj, "OutputPath")?;
    }
    if takes_parameters {
        parameters = match obj.take("Parameters") {
            None => None,
            Some(v) => Some(Template::compile(v).map_err(|e| obj.err("Parameters", &e))?),
        };
        result_path = result_path_of(&mut obj)?;
    }
    if matches!(ty, T::Pass | T::Task | T::Wait) {
        trans = Some(transition(&mut obj)?);
    }
    let kind = match ty {
        T::Pass => Kind::Pass {
            result: obj.take("Result").cloned(),
        },
        T::Task => task(&mut obj, &parameters)?,
        T::Choice => {
            let list = obj
                .take("Choices")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .ok_or_else(|| obj.err("Choices", "is required and must be a non-empty array"))?;
            let mut choices = Vec::new();
            for (i, item) in list.iter().enumerate() {
                let m = item
                    .as_object()
                    .ok_or_else(|| obj.err("Choices", "entries must be objects"))?;
                let mut sub = obj.child(m, &format!("Choices[{i}]"));
                let next = sub
                    .has("Next")
                    .then(|| m.get("Next").and_then(Value::as_str).map(str::to_string))
                    .flatten();
                let rule = choice::parse_rule(&mut sub, true)?;
                sub.finish()?;
                let next = next.ok_or_else(|| sub.err("Next", "is required"))?;
                choices.push((rule, next));
            }
            let default = obj.optional_str("Default")?.map(str::to_string);
            Kind::Choice { choices, default }
        }
        T::Wait => {
            let seconds = obj.optional_u64("Seconds")?;
            let ts = obj.optional_str("Timestamp")?;
            let sp = obj.optional_path("SecondsPath")?;
            let tp = obj.optional_path("TimestampPath")?;
            let n = [seconds.is_some(), ts.is_some(), sp.is_some(), tp.is_some()]
                .iter()
                .filter(|b| **b)
                .count();
            if n != 1 {
                return Err(obj.err(
                    "",
                    "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath",
                ));
            }
            if let Some(s) = seconds {
                if s > 99_999_999 {
                    return Err(obj.err("Seconds", "must be at most 99999999"));
                }
                Kind::Wait(WaitFor::Seconds(s))
            } else if let Some(t) = ts {
                let t = choice::parse_timestamp(t).ok_or_else(|| {
                    obj.err(
                        "Timestamp",
                        "must be an RFC 3339 timestamp like 2016-03-14T01:59:00Z",
                    )
                })?;
                Kind::Wait(WaitFor::Timestamp(t))
            } else if let Some(p) = sp {
                Kind::Wait(WaitFor::SecondsPath(p))
            } else if let Some(p) = tp {
                Kind::Wait(WaitFor::TimestampPath(p))
            } else {
                return Err(obj.err("", "a Wait state needs a duration"));
            }
        }
        T::Succeed => Kind::Succeed,
        T::Fail => Kind::Fail {
            error: fail_field(&mut obj, "Error", "ErrorPath")?,
            cause: fail_field(&mut obj, "Cause", "CausePath")?,
        },
    };
    obj.finish()?;
    Ok(State {
        name: name.to_string(),
        kind,
        input_path,
        output_path,
        parameters,
        result_path,
        transition: trans,
    })
}

fn result_path_of(obj: &mut Obj<'_>) -> Result<Option<RefPath>, String> {
    result_path(obj)
}

fn targets(state: &State) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    if let Some(Transition::Next(n)) = &state.transition {
        out.push(("Next".to_string(), n.as_str()));
    }
    match &state.kind {
        Kind::Choice { choices, default } => {
            for (i, (_, n)) in choices.iter().enumerate() {
                out.push((format!("Choices[{i}].Next"), n.as_str()));
            }
            if let Some(d) = default {
                out.push(("Default".to_string(), d.as_str()));
            }
        }
        Kind::Task(t) => {
            for (i, c) in t.catch.iter().enumerate() {
                out.push((format!("Catch[{i}].Next"), c.next.as_str()));
            }
        }
        _ => {}
    }
    out
}

/// Loads a definition: substitutes `${Name}`s, parses, validates; `Err` names state and field.
pub fn load(definition: &str, subs: &HashMap<String, String>) -> Result<StateMachine, String> {
    let text = substitute(definition, subs)?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the definition is not valid JSON: {e}"))?;
    let map = value
        .as_object()
        .ok_or_else(|| "the definition must be a JSON object".to_string())?;
    let mut top = Obj::new(map, "The state machine");
    top.optional_str("Comment")?;
    top.optional_str("Version")?;
    if let Some(ql) = top.optional_str("QueryLanguage")? {
        if ql != "JSONPath" {
            return Err(top.err(
                "QueryLanguage",
                "only JSONPath is supported by the local engine",
            ));
        }
    }
    let timeout_seconds = top.optional_u64("TimeoutSeconds")?;
    if timeout_seconds == Some(0) {
        return Err(top.err("TimeoutSeconds", "must be positive"));
    }
    let start_at = top.required_str("StartAt")?.to_string();
    let states_v = top
        .take("States")
        .and_then(Value::as_object)
        .ok_or_else(|| top.err("States", "is required and must be an object"))?;
    top.finish()?;
    let mut states = BTreeMap::new();
    for (name, v) in states_v {
        states.insert(name.clone(), state(name, v)?);
    }
    if !states.contains_key(&start_at) {
        return Err(format!("StartAt '{start_at}' does not name a state"));
    }
    for s in states.values() {
        for (field, target) in targets(s) {
            if !states.contains_key(target) {
                return Err(format!(
                    "State '{}', field '{field}': no state named '{target}'",
                    s.name
                ));
            }
        }
    }
    // AWS refuses states that no transition reaches; so do we.
    let mut seen = HashSet::new();
    let mut todo = vec![start_at.as_str()];
    while let Some(n) = todo.pop() {
        if seen.insert(n) {
            if let Some(s) = states.get(n) {
                todo.extend(targets(s).into_iter().map(|(_, t)| t));
            }
        }
    }
    if let Some(unreached) = states.keys().find(|k| !seen.contains(k.as_str())) {
        return Err(format!("State '{unreached}' is not reachable from StartAt"));
    }
    Ok(StateMachine {
        start_at,
        states,
        timeout_seconds,
    })
}
