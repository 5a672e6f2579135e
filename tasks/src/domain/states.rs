//! The state names of `statemachine/preview.asl.json`, for everything that reads the execution
//! history (the audit log, the pages). The engine crate tests that each is a state of the ASL.

/// Validates the request and reserves a slot.
pub const CHECK_CAPACITY: &str = "CheckCapacity";
/// Launches the instance.
pub const LAUNCH: &str = "Launch";
/// Polls the instance's health check.
pub const CHECK_HEALTH: &str = "CheckHealth";
/// Loops back to CheckHealth until healthy.
pub const IS_HEALTHY: &str = "IsHealthy";
/// Records the URLs and the first expiry.
pub const RECORD_URL: &str = "RecordUrl";
/// Tells the PR-status function the preview is ready (queued, never blocks).
pub const ANNOUNCE_READY: &str = "AnnounceReady";
/// Waits for the TTL or a callback.
pub const AWAIT_EXPIRY: &str = "AwaitExpiry";
/// Routes a callback.
pub const ON_CALLBACK: &str = "OnCallback";
/// Moves the expiry.
pub const EXTEND: &str = "Extend";
/// Back to the wait after a failed extend or wait.
pub const RESUME_WAIT: &str = "ResumeWait";
/// Terminates at the end of a healthy preview.
pub const TERMINATE: &str = "Terminate";
/// Terminates a preview stopped while it built.
pub const STOP_WHILE_BUILDING: &str = "StopWhileBuilding";
/// Terminates after a failure.
pub const CLEAN_UP_AFTER_FAILURE: &str = "CleanUpAfterFailure";
/// Gives back a slot after a failed capacity check.
pub const RELEASE_SLOT: &str = "ReleaseSlot";
/// The success end.
pub const ENDED: &str = "Ended";
/// The failure end.
pub const FAILED: &str = "Failed";
/// The end when even the clean-up failed.
pub const CLEAN_UP_FAILED: &str = "CleanUpFailed";

/// Every state, in the order of the definition.
pub const ALL: [&str; 17] = [
    CHECK_CAPACITY,
    LAUNCH,
    CHECK_HEALTH,
    IS_HEALTHY,
    STOP_WHILE_BUILDING,
    RECORD_URL,
    ANNOUNCE_READY,
    AWAIT_EXPIRY,
    ON_CALLBACK,
    EXTEND,
    RESUME_WAIT,
    TERMINATE,
    ENDED,
    CLEAN_UP_AFTER_FAILURE,
    RELEASE_SLOT,
    FAILED,
    CLEAN_UP_FAILED,
];
