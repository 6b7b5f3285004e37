//! Scale-up watcher: Auto Scaling launches (and lifecycle actions) from EKS node groups → a sample of
//! new nodes collected after the settle delay. Logic: `handlers::scaleup`.

use eks_remedy_aws::bootstrap::{answer, pipeline_config, Clients};
use eks_remedy_pipeline::handlers::scaleup::ScaleUpWatcher;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let clients = Clients::load().await;
    let watcher = ScaleUpWatcher::new(
        clients.ec2(),
        clients.store()?,
        clients.queue()?,
        clients.lifecycle(),
        pipeline_config()?,
    );
    let watcher = &watcher;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            answer("launch", watcher.handle(event.payload).await)
        },
    ))
    .await
}
