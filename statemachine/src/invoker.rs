//! The injected task dispatcher: the engine calls Lambda functions through a [`TaskInvoker`].

use futures::future::BoxFuture;
use serde_json::{json, Value};

/// A function failure as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// The function's `errorType`; becomes the ASL error name.
    pub error: String,
    /// The function's `errorMessage`.
    pub cause: String,
}

impl TaskFailure {
    /// A failure with the given error type and message.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        TaskFailure {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// The `Cause` AWS records for a Lambda error: the function's error payload as JSON text.
    ///
    /// The project's functions run on `lambda_runtime`, which reports errors as
    /// `{"errorType":..,"errorMessage":..}` (its `Diagnostic`, camelCase, in that field order);
    /// Lambda returns that body unchanged and Step Functions puts it in `Cause`.
    pub fn aws_cause(&self) -> String {
        // Built by hand: serde_json's map would sort the keys, but the order is lambda_runtime's.
        format!(
            "{{\"errorType\":{},\"errorMessage\":{}}}",
            Value::String(self.error.clone()),
            Value::String(self.cause.clone())
        )
    }
}

/// Calls a Lambda function; implemented by whoever embeds the engine.
pub trait TaskInvoker: Send + Sync + 'static {
    /// `function` is the FunctionName (an ARN or a name) after ${} substitution.
    fn invoke(
        &self,
        function: &str,
        payload: Value,
    ) -> BoxFuture<'static, Result<Value, TaskFailure>>;
}

/// The `lambda:invoke` integration's output wrapper around a function's result, with the fields
/// AWS returns (`ExecutedVersion`, `Payload`, `SdkHttpMetadata`, `SdkResponseMetadata`,
/// `StatusCode`).
pub fn lambda_invoke_output(payload: Value, request_id: &str, date: &str) -> Value {
    let length = payload.to_string().len().to_string();
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-Remapped-Content-Length": ["0"],
                "Connection": ["keep-alive"],
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Date": [date],
                "Content-Type": ["application/json"]
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/json",
                "Date": date,
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-Remapped-Content-Length": "0",
                "x-amzn-RequestId": request_id
            },
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200
    })
}

/// The `lambda:invoke` output for `InvocationType: Event`: Lambda accepted the call (202) and
/// there is no result to return.
pub fn lambda_event_output(request_id: &str, date: &str) -> Value {
    let mut out = lambda_invoke_output(Value::String(String::new()), request_id, date);
    out["StatusCode"] = json!(202);
    out["SdkHttpMetadata"]["HttpStatusCode"] = json!(202);
    if let Some(o) = out.as_object_mut() {
        // Lambda names no executed version for a queued call.
        o.remove("ExecutedVersion");
    }
    out
}

/// Starts `call` on its own and returns at once, as Lambda does for `InvocationType: Event`: the
/// function's failure is logged, never seen by the execution.
pub fn fire_and_forget(
    call: BoxFuture<'static, Result<Value, TaskFailure>>,
    function: &str,
) -> BoxFuture<'static, Result<Value, TaskFailure>> {
    let function = function.to_string();
    tokio::spawn(async move {
        if let Err(f) = call.await {
            tracing::warn!(%function, error = %f.error, cause = %f.cause, "asynchronous invoke failed");
        }
    });
    Box::pin(std::future::ready(Ok(Value::Null)))
}
