//! Typed request bodies of the operations the API serves, read the way AWS's awsJson 1.0 front end
//! reads them (shapes and constraints from the botocore model `stepfunctions/2016-11-23`):
//!
//! 1. a body that is not JSON, or not a JSON object, is a `SerializationException`;
//! 2. a member of the wrong JSON type is a `SerializationException`, with the deserializer's
//!    wording (`NUMBER_VALUE can not be converted to a String`, `Start of structure or map found
//!    where not expected.`, ...); unknown members are ignored and `null` is the same as absent;
//! 3. then every constraint of the model is checked at once, and the violations are reported
//!    together as one `ValidationException` (`1 validation error detected: Value null at 'name'
//!    failed to satisfy constraint: Member must not be null`).
//!
//! Only after that does the operation run (and answer `InvalidArn`, `InvalidName`, ...).

use crate::error::Error;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

const LIST_HERE: &str = "Start of list found where not expected";
const MAP_HERE: &str = "Start of structure or map found where not expected.";

/// The JSON kinds AWS's deserializer converts scalar members to.
#[derive(Clone, Copy)]
enum Scalar {
    String,
    Integer,
    Boolean,
}

impl Scalar {
    fn target(self) -> &'static str {
        match self {
            Scalar::String => "a String",
            Scalar::Integer => "an Integer",
            Scalar::Boolean => "a Boolean",
        }
    }
}

enum Got {
    Str(String),
    Int(i64),
    Bool(bool),
}

fn not_convertible<E: de::Error>(found: &str, to: Scalar) -> E {
    E::custom(format!("{found} can not be converted to {}", to.target()))
}

struct Expect(Scalar);

impl<'de> Visitor<'de> for Expect {
    type Value = Got;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0.target())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Got, E> {
        match self.0 {
            Scalar::String => Ok(Got::Str(v.to_owned())),
            other => Err(not_convertible("STRING_VALUE", other)),
        }
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Got, E> {
        match self.0 {
            Scalar::String => Ok(Got::Str(v)),
            other => Err(not_convertible("STRING_VALUE", other)),
        }
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Got, E> {
        match self.0 {
            Scalar::Boolean => Ok(Got::Bool(v)),
            other => Err(not_convertible(
                if v { "TRUE_VALUE" } else { "FALSE_VALUE" },
                other,
            )),
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Got, E> {
        match self.0 {
            // A Java Integer: anything wider does not convert.
            Scalar::Integer if i32::try_from(v).is_ok() => Ok(Got::Int(v)),
            other => Err(not_convertible("NUMBER_VALUE", other)),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Got, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => Err(not_convertible("NUMBER_VALUE", self.0)),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Got, E> {
        match self.0 {
            // AWS's deserializer truncates a fractional number given for an integer member.
            Scalar::Integer if v.is_finite() && v.trunc().abs() <= f64::from(i32::MAX) => {
                Ok(Got::Int(v.trunc() as i64))
            }
            other => Err(not_convertible("NUMBER_VALUE", other)),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Got, A::Error> {
        Err(de::Error::custom(LIST_HERE))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Got, A::Error> {
        Err(de::Error::custom(MAP_HERE))
    }
}

/// A scalar member: a newtype that accepts only its JSON type, with AWS's wording otherwise.
macro_rules! scalar_member {
    ($(#[$doc:meta])* $name:ident($ty:ty), $scalar:ident, $got:ident, $what:literal, $($derive:ident),+) => {
        $(#[$doc])*
        #[derive($($derive),+)]
        pub(crate) struct $name(pub(crate) $ty);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                match d.deserialize_any(Expect(Scalar::$scalar))? {
                    Got::$got(v) => Ok($name(v)),
                    _ => Err(de::Error::custom(concat!("expected ", $what))),
                }
            }
        }
    };
}

scalar_member!(
    /// A string member.
    Text(String), String, Str, "a string", Debug, Clone, PartialEq
);
scalar_member!(
    /// An integer member.
    Int(i64), Integer, Int, "an integer", Debug, Clone, Copy, PartialEq
);
scalar_member!(
    /// A boolean member.
    Flag(bool), Boolean, Bool, "a boolean", Debug, Clone, Copy, PartialEq
);

/// A structure member: only a JSON object is one (the derived deserializer alone would also take
/// an array, by position).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Obj<T>(pub(crate) T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            v @ Value::Object(_) => T::deserialize(v)
                .map(Obj)
                .map_err(|e| de::Error::custom(e.to_string())),
            Value::Array(_) => Err(de::Error::custom(LIST_HERE)),
            _ => Err(de::Error::custom("Expected null")),
        }
    }
}

/// A list member (`null` elements are skipped, as AWS's deserializer does).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct List<T>(pub(crate) Vec<T>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Array(items) => items
                .into_iter()
                .filter(|v| !v.is_null())
                .map(|v| T::deserialize(v).map_err(|e| de::Error::custom(e.to_string())))
                .collect::<Result<Vec<T>, D::Error>>()
                .map(List),
            Value::Object(_) => Err(de::Error::custom(MAP_HERE)),
            _ => Err(de::Error::custom("Expected list or null")),
        }
    }
}

/// Reads a request body as `T`: an empty body is `{}`, anything but a JSON object is refused.
pub(crate) fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| Error::Serialization(format!("Could not parse the request body: {e}")))?
    };
    match value {
        Value::Object(_) => T::deserialize(value).map_err(|e| Error::Serialization(e.to_string())),
        Value::Array(_) => Err(Error::Serialization(LIST_HERE.into())),
        _ => Err(Error::Serialization(
            "The request body must be a JSON object".into(),
        )),
    }
}

/// Collects constraint violations in member order and reports them as AWS does.
#[derive(Default)]
pub(crate) struct Violations(Vec<String>);

/// How a value is quoted in a violation: AWS leaves out the value of a sensitive member.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Shown {
    Plain,
    Sensitive,
}

impl Violations {
    fn push(&mut self, value: Option<&str>, shown: Shown, at: &str, constraint: &str) {
        let value = match (value, shown) {
            (None, _) => "Value null".to_string(),
            (Some(_), Shown::Sensitive) => "Value".to_string(),
            (Some(v), Shown::Plain) => format!("Value '{v}'"),
        };
        self.0.push(format!(
            "{value} at '{at}' failed to satisfy constraint: {constraint}"
        ));
    }

    /// A required member must be present (and not `null`).
    pub(crate) fn required<T>(&mut self, at: &str, v: &Option<T>) {
        if v.is_none() {
            self.push(None, Shown::Plain, at, "Member must not be null");
        }
    }

    /// A string's length, counted as AWS counts it (UTF-16 code units).
    pub(crate) fn length(
        &mut self,
        at: &str,
        v: &Option<Text>,
        min: usize,
        max: usize,
        shown: Shown,
    ) {
        let Some(Text(s)) = v else { return };
        let n = s.encode_utf16().count();
        if n < min {
            self.push(
                Some(s),
                shown,
                at,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.push(
                Some(s),
                shown,
                at,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// An integer's range.
    pub(crate) fn range(&mut self, at: &str, v: &Option<Int>, min: i64, max: i64) {
        let Some(Int(n)) = v else { return };
        let text = n.to_string();
        if *n < min {
            self.push(
                Some(&text),
                Shown::Plain,
                at,
                &format!("Member must have value greater than or equal to {min}"),
            );
        } else if *n > max {
            self.push(
                Some(&text),
                Shown::Plain,
                at,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
    }

    /// A string enum (the set listed in AWS's order).
    pub(crate) fn one_of(&mut self, at: &str, v: &Option<Text>, set: &[&str]) {
        let Some(Text(s)) = v else { return };
        if !set.contains(&s.as_str()) {
            self.push(
                Some(s),
                Shown::Plain,
                at,
                &format!("Member must satisfy enum value set: [{}]", set.join(", ")),
            );
        }
    }

    /// A string that must be ASCII (`\p{ASCII}*`).
    pub(crate) fn ascii(&mut self, at: &str, v: &Option<Text>) {
        let Some(Text(s)) = v else { return };
        if !s.is_ascii() {
            self.push(
                Some(s),
                Shown::Plain,
                at,
                "Member must satisfy regular expression pattern: \\p{ASCII}*",
            );
        }
    }

    /// `Ok` if nothing was violated, else the `ValidationException`.
    pub(crate) fn finish(self) -> Result<(), Error> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(Error::Validation(format!(
                "1 validation error detected: {}",
                self.0[0]
            ))),
            n => Err(Error::Validation(format!(
                "{n} validation errors detected: {}",
                self.0.join("; ")
            ))),
        }
    }
}

/// `Arn` members: 1 to 256 characters.
const ARN: (usize, usize) = (1, 256);
/// `SensitiveData` (execution input, task output): at most 256 KiB.
const DATA_MAX: usize = 262_144;
/// `PageSize`.
const PAGE: (i64, i64) = (0, 1000);
/// `TaskToken`.
const TOKEN: (usize, usize) = (1, 2048);
/// `SensitiveError` and `SensitiveCause`.
const ERROR_MAX: usize = 256;
const CAUSE_MAX: usize = 32_768;
/// `IncludedData`.
const INCLUDED_DATA: [&str; 2] = ["ALL_DATA", "METADATA_ONLY"];

/// Unwraps a member that [`Violations::required`] has checked.
fn present(v: Option<Text>) -> String {
    v.map(|t| t.0).unwrap_or_default()
}

fn text(v: Option<Text>) -> Option<String> {
    v.map(|t| t.0)
}

/// `LoggingConfiguration` (accepted and ignored: this engine writes no execution logs).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoggingConfiguration {
    level: Option<Text>,
    // Read only to check its type.
    #[allow(dead_code)]
    include_execution_data: Option<Flag>,
    destinations: Option<List<LogDestination>>,
}

/// `LogDestination`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogDestination {
    cloud_watch_logs_log_group: Option<Obj<LogGroup>>,
}

/// `CloudWatchLogsLogGroup`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LogGroup {
    log_group_arn: Option<Text>,
}

/// `Tag` (accepted and ignored).
#[derive(Debug, Deserialize)]
pub(crate) struct Tag {
    key: Option<Text>,
    value: Option<Text>,
}

/// `TracingConfiguration` (accepted and ignored: no X-Ray here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TracingConfiguration {
    // Read only to check its type.
    #[allow(dead_code)]
    enabled: Option<Flag>,
}

/// `EncryptionConfiguration` (accepted and ignored: nothing is encrypted here).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EncryptionConfiguration {
    kms_key_id: Option<Text>,
    kms_data_key_reuse_period_seconds: Option<Int>,
    #[serde(rename = "type")]
    kind: Option<Text>,
}

/// CreateStateMachine.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateStateMachine {
    name: Option<Text>,
    definition: Option<Text>,
    role_arn: Option<Text>,
    #[serde(rename = "type")]
    kind: Option<Text>,
    logging_configuration: Option<Obj<LoggingConfiguration>>,
    tags: Option<List<Tag>>,
    // Read only to check its type: there is no tracing here.
    #[allow(dead_code)]
    tracing_configuration: Option<Obj<TracingConfiguration>>,
    // Read only to check its type: state machines have no versions here.
    #[allow(dead_code)]
    publish: Option<Flag>,
    version_description: Option<Text>,
    encryption_configuration: Option<Obj<EncryptionConfiguration>>,
}

/// A validated CreateStateMachine.
pub(crate) struct CreateStateMachineArgs {
    pub(crate) name: String,
    pub(crate) definition: String,
    pub(crate) role_arn: String,
    pub(crate) kind: Option<String>,
}

impl CreateStateMachine {
    pub(crate) fn validate(self) -> Result<CreateStateMachineArgs, Error> {
        let mut v = Violations::default();
        v.required("name", &self.name);
        v.length("name", &self.name, 1, 80, Shown::Plain);
        v.required("definition", &self.definition);
        v.length(
            "definition",
            &self.definition,
            1,
            1_048_576,
            Shown::Sensitive,
        );
        v.required("roleArn", &self.role_arn);
        v.length("roleArn", &self.role_arn, ARN.0, ARN.1, Shown::Plain);
        v.one_of("type", &self.kind, &["STANDARD", "EXPRESS"]);
        if let Some(Obj(l)) = &self.logging_configuration {
            v.one_of(
                "loggingConfiguration.level",
                &l.level,
                &["ALL", "ERROR", "FATAL", "OFF"],
            );
            for (i, d) in l.destinations.iter().flat_map(|d| d.0.iter()).enumerate() {
                if let Some(Obj(g)) = &d.cloud_watch_logs_log_group {
                    v.length(
                        &format!(
                            "loggingConfiguration.destinations.{}.member.cloudWatchLogsLogGroup.logGroupArn",
                            i + 1
                        ),
                        &g.log_group_arn,
                        ARN.0,
                        ARN.1,
                        Shown::Plain,
                    );
                }
            }
        }
        for (i, t) in self.tags.iter().flat_map(|t| t.0.iter()).enumerate() {
            let at = |m: &str| format!("tags.{}.member.{m}", i + 1);
            v.required(&at("key"), &t.key);
            v.length(&at("key"), &t.key, 1, 128, Shown::Plain);
            v.required(&at("value"), &t.value);
            v.length(&at("value"), &t.value, 0, 256, Shown::Plain);
        }
        v.length(
            "versionDescription",
            &self.version_description,
            0,
            256,
            Shown::Sensitive,
        );
        if let Some(Obj(e)) = &self.encryption_configuration {
            v.length(
                "encryptionConfiguration.kmsKeyId",
                &e.kms_key_id,
                1,
                2048,
                Shown::Plain,
            );
            v.range(
                "encryptionConfiguration.kmsDataKeyReusePeriodSeconds",
                &e.kms_data_key_reuse_period_seconds,
                60,
                900,
            );
            v.required("encryptionConfiguration.type", &e.kind);
            v.one_of(
                "encryptionConfiguration.type",
                &e.kind,
                &["AWS_OWNED_KEY", "CUSTOMER_MANAGED_KMS_KEY"],
            );
        }
        v.finish()?;
        Ok(CreateStateMachineArgs {
            name: present(self.name),
            definition: present(self.definition),
            role_arn: present(self.role_arn),
            kind: text(self.kind),
        })
    }
}

/// DescribeStateMachine.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeStateMachine {
    state_machine_arn: Option<Text>,
    included_data: Option<Text>,
}

impl DescribeStateMachine {
    pub(crate) fn validate(self) -> Result<String, Error> {
        let mut v = Violations::default();
        v.required("stateMachineArn", &self.state_machine_arn);
        v.length(
            "stateMachineArn",
            &self.state_machine_arn,
            ARN.0,
            ARN.1,
            Shown::Plain,
        );
        v.one_of("includedData", &self.included_data, &INCLUDED_DATA);
        v.finish()?;
        Ok(present(self.state_machine_arn))
    }
}

/// ListStateMachines.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListStateMachines {
    max_results: Option<Int>,
    next_token: Option<Text>,
}

impl ListStateMachines {
    /// Page size and token.
    pub(crate) fn validate(self) -> Result<(Option<usize>, Option<String>), Error> {
        let mut v = Violations::default();
        v.range("maxResults", &self.max_results, PAGE.0, PAGE.1);
        v.length("nextToken", &self.next_token, 1, 1024, Shown::Plain);
        v.finish()?;
        Ok((page_size(self.max_results), text(self.next_token)))
    }
}

fn page_size(v: Option<Int>) -> Option<usize> {
    v.and_then(|Int(n)| usize::try_from(n).ok())
}

/// StartExecution.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StartExecution {
    state_machine_arn: Option<Text>,
    name: Option<Text>,
    input: Option<Text>,
    trace_header: Option<Text>,
}

/// A validated StartExecution.
pub(crate) struct StartExecutionArgs {
    pub(crate) state_machine_arn: String,
    pub(crate) name: Option<String>,
    pub(crate) input: Option<String>,
}

impl StartExecution {
    pub(crate) fn validate(self) -> Result<StartExecutionArgs, Error> {
        let mut v = Violations::default();
        v.required("stateMachineArn", &self.state_machine_arn);
        v.length(
            "stateMachineArn",
            &self.state_machine_arn,
            ARN.0,
            ARN.1,
            Shown::Plain,
        );
        v.length("name", &self.name, 1, 80, Shown::Plain);
        v.length("input", &self.input, 0, DATA_MAX, Shown::Sensitive);
        v.length("traceHeader", &self.trace_header, 0, 256, Shown::Plain);
        v.ascii("traceHeader", &self.trace_header);
        v.finish()?;
        Ok(StartExecutionArgs {
            state_machine_arn: present(self.state_machine_arn),
            name: text(self.name),
            input: text(self.input),
        })
    }
}

/// DescribeExecution.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeExecution {
    execution_arn: Option<Text>,
    included_data: Option<Text>,
}

impl DescribeExecution {
    /// The execution ARN and whether input and output are included (`includedData`).
    pub(crate) fn validate(self) -> Result<(String, bool), Error> {
        let mut v = Violations::default();
        v.required("executionArn", &self.execution_arn);
        v.length(
            "executionArn",
            &self.execution_arn,
            ARN.0,
            ARN.1,
            Shown::Plain,
        );
        v.one_of("includedData", &self.included_data, &INCLUDED_DATA);
        v.finish()?;
        let data = self
            .included_data
            .is_none_or(|Text(d)| d.as_str() != "METADATA_ONLY");
        Ok((present(self.execution_arn), data))
    }
}

/// ListExecutions.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListExecutions {
    state_machine_arn: Option<Text>,
    status_filter: Option<Text>,
    max_results: Option<Int>,
    next_token: Option<Text>,
    map_run_arn: Option<Text>,
    redrive_filter: Option<Text>,
}

/// A validated ListExecutions.
pub(crate) struct ListExecutionsArgs {
    /// The state machine; `None` when the request names a Map Run instead.
    pub(crate) state_machine_arn: Option<String>,
    /// The Map Run, if named.
    pub(crate) map_run_arn: Option<String>,
    pub(crate) status_filter: Option<String>,
    pub(crate) max_results: Option<usize>,
    pub(crate) next_token: Option<String>,
    pub(crate) redrive_filter: Option<String>,
}

/// AWS's order of `ExecutionStatus` in its enum-violation message.
pub(crate) const STATUS_SET: [&str; 6] = [
    "SUCCEEDED",
    "TIMED_OUT",
    "PENDING_REDRIVE",
    "ABORTED",
    "FAILED",
    "RUNNING",
];

impl ListExecutions {
    pub(crate) fn validate(self) -> Result<ListExecutionsArgs, Error> {
        let mut v = Violations::default();
        v.length(
            "stateMachineArn",
            &self.state_machine_arn,
            ARN.0,
            ARN.1,
            Shown::Plain,
        );
        v.one_of("statusFilter", &self.status_filter, &STATUS_SET);
        v.range("maxResults", &self.max_results, PAGE.0, PAGE.1);
        v.length("nextToken", &self.next_token, 1, 3096, Shown::Plain);
        v.length("mapRunArn", &self.map_run_arn, 1, 2000, Shown::Plain);
        v.one_of(
            "redriveFilter",
            &self.redrive_filter,
            &["REDRIVEN", "NOT_REDRIVEN"],
        );
        v.finish()?;
        // Neither is required by the model, but one of them must be given (and not both).
        match (&self.state_machine_arn, &self.map_run_arn) {
            (None, None) => {
                return Err(Error::Validation(
                    "Must provide a StateMachine ARN or MapRun ARN".into(),
                ))
            }
            (Some(_), Some(_)) => {
                return Err(Error::Validation(
                    "Only one of StateMachine ARN or MapRun ARN can be provided".into(),
                ))
            }
            _ => {}
        }
        Ok(ListExecutionsArgs {
            state_machine_arn: text(self.state_machine_arn),
            map_run_arn: text(self.map_run_arn),
            status_filter: text(self.status_filter),
            max_results: page_size(self.max_results),
            next_token: text(self.next_token),
            redrive_filter: text(self.redrive_filter),
        })
    }
}

/// GetExecutionHistory.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GetExecutionHistory {
    execution_arn: Option<Text>,
    max_results: Option<Int>,
    reverse_order: Option<Flag>,
    next_token: Option<Text>,
    include_execution_data: Option<Flag>,
}

/// A validated GetExecutionHistory.
pub(crate) struct GetExecutionHistoryArgs {
    pub(crate) execution_arn: String,
    pub(crate) max_results: Option<usize>,
    pub(crate) reverse_order: bool,
    pub(crate) next_token: Option<String>,
    pub(crate) include_execution_data: bool,
}

impl GetExecutionHistory {
    pub(crate) fn validate(self) -> Result<GetExecutionHistoryArgs, Error> {
        let mut v = Violations::default();
        v.required("executionArn", &self.execution_arn);
        v.length(
            "executionArn",
            &self.execution_arn,
            ARN.0,
            ARN.1,
            Shown::Plain,
        );
        v.range("maxResults", &self.max_results, PAGE.0, PAGE.1);
        v.length("nextToken", &self.next_token, 1, 1024, Shown::Plain);
        v.finish()?;
        Ok(GetExecutionHistoryArgs {
            execution_arn: present(self.execution_arn),
            max_results: page_size(self.max_results),
            reverse_order: self.reverse_order.is_some_and(|Flag(b)| b),
            next_token: text(self.next_token),
            include_execution_data: self.include_execution_data.is_none_or(|Flag(b)| b),
        })
    }
}

/// StopExecution.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StopExecution {
    execution_arn: Option<Text>,
    error: Option<Text>,
    cause: Option<Text>,
}

/// A validated StopExecution or SendTaskFailure: the ARN or token, error and cause.
pub(crate) struct Failure {
    pub(crate) target: String,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
}

fn error_and_cause(v: &mut Violations, error: &Option<Text>, cause: &Option<Text>) {
    v.length("error", error, 0, ERROR_MAX, Shown::Sensitive);
    v.length("cause", cause, 0, CAUSE_MAX, Shown::Sensitive);
}

impl StopExecution {
    pub(crate) fn validate(self) -> Result<Failure, Error> {
        let mut v = Violations::default();
        v.required("executionArn", &self.execution_arn);
        v.length(
            "executionArn",
            &self.execution_arn,
            ARN.0,
            ARN.1,
            Shown::Plain,
        );
        error_and_cause(&mut v, &self.error, &self.cause);
        v.finish()?;
        Ok(Failure {
            target: present(self.execution_arn),
            error: text(self.error),
            cause: text(self.cause),
        })
    }
}

/// SendTaskSuccess.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendTaskSuccess {
    task_token: Option<Text>,
    output: Option<Text>,
}

impl SendTaskSuccess {
    /// The token and the output.
    pub(crate) fn validate(self) -> Result<(String, String), Error> {
        let mut v = Violations::default();
        v.required("taskToken", &self.task_token);
        v.length(
            "taskToken",
            &self.task_token,
            TOKEN.0,
            TOKEN.1,
            Shown::Sensitive,
        );
        v.required("output", &self.output);
        v.length("output", &self.output, 0, DATA_MAX, Shown::Sensitive);
        v.finish()?;
        Ok((present(self.task_token), present(self.output)))
    }
}

/// SendTaskFailure.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendTaskFailure {
    task_token: Option<Text>,
    error: Option<Text>,
    cause: Option<Text>,
}

impl SendTaskFailure {
    pub(crate) fn validate(self) -> Result<Failure, Error> {
        let mut v = Violations::default();
        v.required("taskToken", &self.task_token);
        v.length(
            "taskToken",
            &self.task_token,
            TOKEN.0,
            TOKEN.1,
            Shown::Sensitive,
        );
        error_and_cause(&mut v, &self.error, &self.cause);
        v.finish()?;
        Ok(Failure {
            target: present(self.task_token),
            error: text(self.error),
            cause: text(self.cause),
        })
    }
}

/// SendTaskHeartbeat.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SendTaskHeartbeat {
    task_token: Option<Text>,
}

impl SendTaskHeartbeat {
    /// The token.
    pub(crate) fn validate(self) -> Result<String, Error> {
        let mut v = Violations::default();
        v.required("taskToken", &self.task_token);
        v.length(
            "taskToken",
            &self.task_token,
            TOKEN.0,
            TOKEN.1,
            Shown::Sensitive,
        );
        v.finish()?;
        Ok(present(self.task_token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serialization(body: &str) -> String {
        match parse::<StartExecution>(body.as_bytes()) {
            Err(Error::Serialization(m)) => m,
            other => panic!("{body}: expected a SerializationException, got {other:?}"),
        }
    }

    #[test]
    fn wrong_types_get_the_deserializers_words() {
        let arn = r#""stateMachineArn":"arn:aws:states:us-east-1:000000000000:stateMachine:x""#;
        for (member, message) in [
            ("{}", MAP_HERE),
            ("[]", LIST_HERE),
            ("1", "NUMBER_VALUE can not be converted to a String"),
            ("1.5", "NUMBER_VALUE can not be converted to a String"),
            ("true", "TRUE_VALUE can not be converted to a String"),
            ("false", "FALSE_VALUE can not be converted to a String"),
        ] {
            assert_eq!(
                serialization(&format!(r#"{{{arn},"input":{member}}}"#)),
                message
            );
        }
        assert_eq!(serialization("[1]"), LIST_HERE);
        assert!(matches!(
            parse::<StartExecution>(b"\"x\""),
            Err(Error::Serialization(_))
        ));
        assert!(matches!(
            parse::<StartExecution>(b"{"),
            Err(Error::Serialization(_))
        ));
        let m = match parse::<GetExecutionHistory>(br#"{"maxResults":"5"}"#) {
            Err(Error::Serialization(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(m, "STRING_VALUE can not be converted to an Integer");
        let m = match parse::<GetExecutionHistory>(br#"{"reverseOrder":1}"#) {
            Err(Error::Serialization(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(m, "NUMBER_VALUE can not be converted to a Boolean");
        let m = match parse::<CreateStateMachine>(br#"{"tracingConfiguration":true}"#) {
            Err(Error::Serialization(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(m, "Expected null");
        let m = match parse::<CreateStateMachine>(br#"{"tags":{"key":"a"}}"#) {
            Err(Error::Serialization(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(m, MAP_HERE);
        let m = match parse::<CreateStateMachine>(br#"{"tags":[{"key":1}]}"#) {
            Err(Error::Serialization(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(m, "NUMBER_VALUE can not be converted to a String");
    }

    #[test]
    fn nulls_are_absent_unknown_members_ignored_and_fractions_truncated() {
        let r: GetExecutionHistory = parse(
            br#"{"executionArn":"a","maxResults":2.9,"nextToken":null,"somethingNew":{"x":[1]}}"#,
        )
        .expect("parses");
        let args = r.validate().expect("valid");
        assert_eq!(args.max_results, Some(2));
        assert_eq!(args.next_token, None);
        assert!(args.include_execution_data);
        let r: StartExecution = parse(b"").expect("an empty body is {}");
        assert!(r.validate().is_err());
    }

    #[test]
    fn violations_are_reported_together_in_member_order() {
        let r: CreateStateMachine =
            parse(format!(r#"{{"name":"{}","type":"BIG"}}"#, "n".repeat(81)).as_bytes())
                .expect("parses");
        let Err(Error::Validation(m)) = r.validate() else {
            panic!("expected a ValidationException")
        };
        assert_eq!(
            m,
            format!(
                "4 validation errors detected: Value '{}' at 'name' failed to satisfy constraint: \
                 Member must have length less than or equal to 80; Value null at 'definition' \
                 failed to satisfy constraint: Member must not be null; Value null at 'roleArn' \
                 failed to satisfy constraint: Member must not be null; Value 'BIG' at 'type' \
                 failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]",
                "n".repeat(81)
            )
        );
        let r: SendTaskFailure =
            parse(format!(r#"{{"taskToken":"t","error":"{}"}}"#, "e".repeat(257)).as_bytes())
                .expect("parses");
        let Err(Error::Validation(m)) = r.validate() else {
            panic!("expected a ValidationException")
        };
        // A sensitive member's value is not echoed.
        assert_eq!(
            m,
            "1 validation error detected: Value at 'error' failed to satisfy constraint: \
             Member must have length less than or equal to 256"
        );
    }
}
