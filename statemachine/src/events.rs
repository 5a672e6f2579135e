//! EventBridge's "Step Functions Execution Status Change" events, emitted when an execution
//! starts (RUNNING) and when it closes, so the handlers AWS invokes through an EventBridge rule
//! run here on the same events.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::sync::Arc;

use crate::engine::ExecutionStatus;
use crate::history::HistoryEvent;
use crate::store::ExecutionRecord;
use crate::{ACCOUNT, REGION};

/// The `detail-type` AWS gives these events.
pub const DETAIL_TYPE: &str = "Step Functions Execution Status Change";
/// The `source` AWS gives these events.
pub const SOURCE: &str = "aws.states";

/// Something that receives every status-change event (the local stand-in for a rule's target).
pub type Listener = Arc<dyn Fn(Value) + Send + Sync>;

/// The event for an execution that started (`closing` is `None`) or closed with `closing` (its
/// last history event), shaped as EventBridge delivers it (`detail` as in the Step Functions user
/// guide; dates in epoch ms; a running execution has no stop date or output).
pub fn status_change(
    rec: &ExecutionRecord,
    status: ExecutionStatus,
    closing: Option<&HistoryEvent>,
    now: DateTime<Utc>,
) -> Value {
    let field = |k: &str| {
        closing
            .and_then(|c| c.details.get(k).cloned())
            .unwrap_or(Value::Null)
    };
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": ACCOUNT,
        "time": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": REGION,
        "resources": [rec.arn],
        "detail": {
            "executionArn": rec.arn,
            "stateMachineArn": rec.state_machine_arn,
            "name": rec.name,
            "status": status.as_str(),
            "startDate": rec.start.timestamp_millis(),
            "stopDate": closing.map(|c| c.timestamp.timestamp_millis()),
            "input": rec.input,
            "output": field("output"),
            "error": field("error"),
            "cause": field("cause"),
        }
    })
}
