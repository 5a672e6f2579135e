//! Billed state transitions of one preview: ready, one extend, the TTL. Prints the count.
#![allow(clippy::unwrap_used, reason = "test code: an unwrap is an assertion")]

use chrono::Duration;
use preview_e2e::{states_entered, Harness};

#[tokio::main]
async fn main() {
    let h = Harness::new(3, &[], |_| {}).await;
    let (arn, id) = h.start(1);
    h.parked(&arn, 1).await;
    h.callback(
        &id,
        serde_json::json!({"action": "extend", "minutes": 60, "by": "bench"}),
    )
    .await;
    h.parked(&arn, 2).await;
    h.run_to_end(&arn, Duration::minutes(10)).await;
    let entered = states_entered(&h.history(&arn));
    let health_loops = entered.iter().filter(|s| *s == "CheckHealth").count();
    // CheckHealth polls for up to 10 minutes per invocation: a 25-minute build takes 3 rounds.
    let with_build = entered.len() + 2 * (3usize.saturating_sub(health_loops));
    println!("state transitions, 2-hour preview with one extend:");
    println!(
        "  measured on the local engine  {} ({})",
        entered.len(),
        entered.join(" → ")
    );
    println!("  with a 25-minute build        {with_build} (target ≤ 30)");
}
