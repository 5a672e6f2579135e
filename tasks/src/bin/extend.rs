//! Lambda: the `extend` step.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    preview_tasks::lambda::run::<preview_tasks::steps::extend::Extend>().await
}
