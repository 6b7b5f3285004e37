//! Remediator: findings and launch failures (through its SQS queue) → one plan per incident, run
//! on the ladder within its guards; approvals on its IAM-authenticated URL; the follow-up
//! schedule. Logic: `handlers::remediator`.

use eks_remedy_pipeline::function::FunctionId;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    eks_remedy_aws::bootstrap::run(FunctionId::Remediator).await
}
