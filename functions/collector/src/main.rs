//! Collector: the collection queue (SQS batches), SSM status-change events and manual `collect`
//! payloads → the EKS Logs Collector on each node, once per node and window. Logic: `handlers::collector`.

use eks_remedy_pipeline::function::FunctionId;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    eks_remedy_aws::bootstrap::run(FunctionId::Collector).await
}
