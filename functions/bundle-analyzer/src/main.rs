//! Bundle analyzer: `Object Created` under `bundles/` (or a manual `analyze` payload) → streamed
//! analysis with EC2/EKS context → `report.json` + `report.html` beside the bundle → incident →
//! findings event. Logic: `handlers::analyzer`.

use eks_remedy_pipeline::function::FunctionId;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    eks_remedy_aws::bootstrap::run(FunctionId::BundleAnalyzer).await
}
