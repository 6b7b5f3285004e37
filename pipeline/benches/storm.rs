//! Storm benchmark (issue targets): 10,000 CloudTrail throttling events for one cluster, delivered in
//! SQS batches of 10, through the throttling watcher with in-memory ports.
//! Reports incidents, collections, store writes per batch, and the fold's throughput as events/s and
//! as a ratio to the baseline measured in the same process: parsing the same SQS batches only.
//! Run: `cargo bench -p eks-remedy-pipeline --bench storm`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly

use std::sync::atomic::Ordering;
use std::time::Instant;

use eks_remedy_pipeline::events::Input;
use eks_remedy_pipeline::fakes::{FakeEc2, FakeEks, FakeQueue, FakeStore};
use eks_remedy_pipeline::function::{serve, FunctionId, Invocation};
use eks_remedy_pipeline::handlers::throttle::ThrottleWatcher;
use eks_remedy_pipeline::model::Instance;
use eks_remedy_pipeline::Config;

const EVENTS: usize = 10_000;
const BATCH: usize = 10;
const ROUNDS: usize = 5;

fn batches() -> Vec<serde_json::Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/events/cloudtrail-throttle-vpc-cni.json"
    );
    let template: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    (0..EVENTS / BATCH)
        .map(|b| {
            let records: Vec<serde_json::Value> = (0..BATCH)
                .map(|i| {
                    let n = b * BATCH + i;
                    let mut e = template.clone();
                    e["detail"]["eventID"] = serde_json::json!(format!("evt-{n:08}"));
                    e["detail"]["sourceIPAddress"] =
                        serde_json::json!(format!("10.0.{}.{}", n % 40 / 250, n % 40));
                    serde_json::json!({"messageId": format!("m-{n}"), "eventSource": "aws:sqs", "body": e.to_string()})
                })
                .collect();
            serde_json::json!({ "Records": records })
        })
        .collect()
}

fn ec2() -> FakeEc2 {
    let instances = (0..40)
        .map(|i| Instance {
            instance_id: format!("i-0{i:016x}"),
            instance_type: Some("m5.large".into()),
            private_ip: Some(format!("10.0.0.{i}")),
            cluster: Some("prod-cluster".into()),
            asg: None,
            state: Some("running".into()),
        })
        .collect();
    FakeEc2 {
        instances,
        ..FakeEc2::default()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let input = batches();
    let mut fold_secs = Vec::new();
    let mut parse_secs = Vec::new();
    let mut last = None;
    for _ in 0..ROUNDS {
        // Baseline: parse every event of every batch, nothing else.
        let t = Instant::now();
        let mut parsed = 0;
        for b in &input {
            if let Ok(Input::Batch(messages)) = Input::parse(b.clone()) {
                parsed += messages.iter().filter(|m| m.event.is_ok()).count();
            }
        }
        parse_secs.push(t.elapsed().as_secs_f64());
        assert_eq!(parsed, EVENTS);

        let w = ThrottleWatcher::new(
            ec2(),
            FakeEks::default(),
            FakeStore::default(),
            FakeQueue::default(),
            Config::default(),
        );
        let t = Instant::now();
        let mut collections = 0;
        let mut ec2_calls = 0;
        // Through the functions' entry point, as Lambda delivers the batches.
        let (spec, inv) = (FunctionId::ThrottleWatcher.spec(), Invocation::default());
        for b in input.clone() {
            let answer = serve(spec, &w, b, &inv).await.expect("batch answer");
            assert_eq!(answer["batchItemFailures"], serde_json::json!([]));
        }
        collections += w.queue().requests().len() as u64;
        ec2_calls += w.ec2().calls.load(Ordering::Relaxed);
        fold_secs.push(t.elapsed().as_secs_f64());
        last = Some((
            w.store().incident_ids().len(),
            collections,
            w.store().writes.load(Ordering::Relaxed),
            ec2_calls,
        ));
    }
    let (incidents, collections, writes, ec2_calls) = last.expect("ran");
    let fold = median(fold_secs);
    let parse = median(parse_secs);
    println!(
        "storm: {EVENTS} events in {} batches of {BATCH}, median of {ROUNDS} rounds",
        EVENTS / BATCH
    );
    println!("incidents: {incidents} (target 1)");
    println!(
        "collections requested: {collections} (target <= {})",
        Config::default().max_collections
    );
    println!("EC2 calls for the whole storm: {ec2_calls} (one per distinct node, then cached)");
    println!(
        "store writes per batch: {:.3} (target <= 1)",
        writes as f64 / (EVENTS / BATCH) as f64
    );
    println!("fold: {:.0} events/s (target >= 50,000); parse-only baseline {:.0} events/s; fold/parse time ratio {:.2}", EVENTS as f64 / fold, EVENTS as f64 / parse, fold / parse);
}
