//! Collector: the collection queue (SQS batches), SSM status-change events and manual `collect`
//! payloads → the EKS Logs Collector on each node, once per node and window. Logic: `handlers::collector`.

use eks_remedy_aws::bootstrap::{answer, pipeline_config, Clients};
use eks_remedy_pipeline::handlers::collector::Collector;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let clients = Clients::load().await;
    let cfg = pipeline_config()?;
    let collector = Collector::new(clients.ssm(&cfg)?, clients.store()?, clients.objects(), cfg)?;
    let collector = &collector;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            // One function, two shapes: an SQS batch from the queue, or an EventBridge / manual event.
            if event.payload.get("Records").is_some() {
                let batch = serde_json::from_value(event.payload)?;
                return Ok(serde_json::to_value(collector.handle_queue(batch).await)?);
            }
            answer(
                "collector event",
                collector.handle_event(event.payload).await,
            )
        },
    ))
    .await
}
