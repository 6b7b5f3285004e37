//! Notifier: the pipeline's bus events (through its SQS queue) → one message per incident in each
//! configured chat target, kept current. Logic: `handlers::notifier`.

use eks_remedy_pipeline::function::FunctionId;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    eks_remedy_aws::bootstrap::run(FunctionId::Notifier).await
}
