//! Render benchmark (issue #11 target: one incident for all five targets in at most 1 ms).
//! `cargo bench -p eks-remedy-tests --bench notify` folds the committed sample incident (8 findings
//! on 3 nodes, a plan waiting for approval) and renders it for the Slack bot, the Slack webhook,
//! Teams, Q and the generic webhook, many times; it prints the median time per target and for all
//! five, and as a baseline in the same process the time `serde_json` takes to serialize the view.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark fails loudly

use std::hint::black_box;
use std::time::Instant;

use eks_remedy_core::notify::slack::SlackOptions;
use eks_remedy_core::notify::{
    event::PlanDetail, q, slack, teams, webhook, IncidentView, NotifyEvent,
};
use eks_remedy_core::plan::{self, Settings};
use eks_remedy_core::report::Report;
use eks_remedy_tests::fixtures_dir;
use serde_json::Value;

/// One target's renderer, as the notifier calls it.
type Render = Box<dyn Fn(&IncidentView) -> Value>;

const ROUNDS: usize = 15;
const PER_ROUND: usize = 200;

fn sample() -> IncidentView {
    let dir = fixtures_dir().join("notify");
    let envelopes: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(dir.join("sample-incident.events.json")).unwrap(),
    )
    .unwrap();
    let report: Report =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sample-report.json")).unwrap())
            .unwrap();
    let mut events: Vec<NotifyEvent> = envelopes
        .iter()
        .map(|e| NotifyEvent::from_eventbridge(e).unwrap())
        .collect();
    let mut s = Settings::default();
    s.set_mode("ebs-volume=approve").unwrap();
    s.guards.allow.accounts = vec!["*".into()];
    let id = events[0].incident_id().to_string();
    events.push(NotifyEvent::Plan(PlanDetail {
        incident_id: id.clone(),
        plan: plan::plan_report(&report, &s),
        at: None,
    }));
    let mut v = IncidentView::new(&id);
    for e in &events {
        v.apply(e);
    }
    v.report_url = Some("https://bucket.s3.amazonaws.com/report.html?X-Amz-Signature=0".into());
    v
}

/// Median over rounds of the mean time of one call, in microseconds.
fn median_us(mut f: impl FnMut()) -> f64 {
    for _ in 0..PER_ROUND {
        f();
    }
    let mut rounds: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..PER_ROUND {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / PER_ROUND as f64
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    rounds[ROUNDS / 2]
}

fn main() {
    let v = sample();
    println!(
        "incident: {} findings on {} nodes, {} plan actions",
        v.findings.len(),
        v.nodes.len(),
        v.plan.as_ref().map_or(0, |p| p.actions.len())
    );
    let serde = median_us(|| {
        black_box(serde_json::to_string(black_box(&v)).unwrap());
    });
    // Each renderer as the notifier uses it: the payload, serialized to the body it sends.
    let targets: [(&str, Render); 5] = [
        (
            "slack",
            Box::new(|v| slack::render(v, SlackOptions { buttons: true })),
        ),
        (
            "slack-webhook",
            Box::new(|v| slack::render(v, SlackOptions { buttons: false })),
        ),
        ("teams", Box::new(teams::render)),
        ("q", Box::new(q::render)),
        ("webhook", Box::new(webhook::render)),
    ];
    let mut total = 0.0;
    for (name, render) in &targets {
        let bytes = render(&v).to_string().len();
        let us = median_us(|| {
            black_box(render(black_box(&v)).to_string());
        });
        total += us;
        println!(
            "{name:<14} {us:>8.1} µs  {bytes:>6} bytes  {:>5.1}× serde_json of the view",
            us / serde
        );
    }
    let all = median_us(|| {
        for (_, render) in &targets {
            black_box(render(black_box(&v)).to_string());
        }
    });
    println!("serde_json::to_string(view) {serde:.1} µs (baseline)");
    println!(
        "all five targets: {all:.1} µs per incident (sum of medians {total:.1} µs), {:.1}× the baseline; target ≤ 1000 µs",
        all / serde
    );
}
