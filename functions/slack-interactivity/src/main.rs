//! Slack interactivity: Approve / Reject clicks on the incident message (its function URL) →
//! verified, then queued for the remediator. Logic: `handlers::interactivity`.

use eks_remedy_pipeline::function::FunctionId;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    eks_remedy_aws::bootstrap::run(FunctionId::SlackInteractivity).await
}
