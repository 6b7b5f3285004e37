//! Throttling watcher: CloudTrail `RequestLimitExceeded` (EventBridge → SQS) → one incident per
//! cluster and window → at most `MAX_COLLECTIONS` node collections. Logic: `handlers::throttle`.

use eks_remedy_pipeline::function::FunctionId;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    eks_remedy_aws::bootstrap::run(FunctionId::ThrottleWatcher).await
}
