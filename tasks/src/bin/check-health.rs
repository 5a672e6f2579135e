//! Lambda: the `check-health` step.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    preview_tasks::lambda::run::<preview_tasks::steps::health::CheckHealth>().await
}
