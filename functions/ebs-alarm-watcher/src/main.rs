//! EBS alarm watcher: CloudWatch alarms on EBS volume / EC2 EBS-balance metrics → attached node →
//! collection, with the volume's performance on the incident. Logic: `handlers::ebs`.

use eks_remedy_pipeline::function::FunctionId;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    eks_remedy_aws::bootstrap::run(FunctionId::EbsAlarmWatcher).await
}
