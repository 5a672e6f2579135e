//! Lambda: the `await-expiry` step.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    preview_tasks::lambda::run::<preview_tasks::steps::await_expiry::AwaitExpiry>().await
}
