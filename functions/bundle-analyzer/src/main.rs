//! Bundle analyzer: `Object Created` under `bundles/` (or a manual `analyze` payload) → streamed
//! analysis with EC2/EKS context → `report.json` + `report.html` beside the bundle → incident →
//! findings event. Logic: `handlers::analyzer`.

use eks_remedy_aws::bootstrap::{answer, pipeline_config, Clients};
use eks_remedy_pipeline::handlers::analyzer::BundleAnalyzer;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let clients = Clients::load().await;
    let cfg = pipeline_config()?;
    let analyzer = BundleAnalyzer::new(
        clients.objects(),
        clients.ec2(),
        clients.eks(),
        clients.store()?,
        clients.publisher()?,
        Default::default(),
    )?
    .with_size_limits(cfg.max_bundle_bytes, cfg.max_inflation_ratio);
    let analyzer = &analyzer;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            let result = analyzer.handle(event.payload).await.map(|r| {
                r.map(|a| {
                    serde_json::json!({
                        "report_key": a.report_key,
                        "findings": a.report.findings.len(),
                    })
                })
            });
            answer("bundle", result)
        },
    ))
    .await
}
