//! Lambda: the `resume-wait` step.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    preview_tasks::lambda::run::<preview_tasks::steps::resume_wait::ResumeWait>().await
}
