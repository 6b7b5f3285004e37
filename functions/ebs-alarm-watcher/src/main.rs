//! EBS alarm watcher: CloudWatch alarms on EBS volume / EC2 EBS-balance metrics → attached node →
//! collection, with the volume's performance on the incident. Logic: `handlers::ebs`.

use eks_remedy_aws::bootstrap::{answer, pipeline_config, Clients};
use eks_remedy_pipeline::handlers::ebs::EbsAlarmWatcher;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let clients = Clients::load().await;
    let watcher = EbsAlarmWatcher::new(
        clients.ec2(),
        clients.store()?,
        clients.queue()?,
        pipeline_config()?,
    );
    let watcher = &watcher;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            answer("ebs alarm", watcher.handle(event.payload).await)
        },
    ))
    .await
}
