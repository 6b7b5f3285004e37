//! Scale-up watcher: Auto Scaling launches (and lifecycle actions) from EKS node groups → a sample of
//! new nodes collected after the settle delay. Logic: `handlers::scaleup`.

use eks_remedy_pipeline::function::FunctionId;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    eks_remedy_aws::bootstrap::run(FunctionId::ScaleUpWatcher).await
}
