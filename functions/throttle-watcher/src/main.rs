//! Throttling watcher: CloudTrail `RequestLimitExceeded` (EventBridge → SQS) → one incident per
//! cluster and window → at most `MAX_COLLECTIONS` node collections. Logic: `handlers::throttle`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use eks_remedy_aws::bootstrap::{pipeline_config, Clients};
use eks_remedy_pipeline::handlers::throttle::ThrottleWatcher;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let clients = Clients::load().await;
    let watcher = ThrottleWatcher::new(
        clients.ec2(),
        clients.eks(),
        clients.store()?,
        clients.queue()?,
        pipeline_config()?,
    );
    let watcher = &watcher;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let (response, summary) = watcher.handle(event.payload).await;
        tracing::info!(
            ?summary,
            failed = response.batch_item_failures.len(),
            "batch done"
        );
        Ok::<SqsBatchResponse, Error>(response)
    }))
    .await
}
