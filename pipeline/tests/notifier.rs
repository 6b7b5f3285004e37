//! The notifier against in-memory ports and recording chat targets: the bus events arrive as the
//! notifier's queue delivers them (SQS records whose bodies are EventBridge events).

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use eks_remedy_chat::target::{MessageRef, Target, TargetKind};
use eks_remedy_chat::{BoxFuture, DeliveryError};
use eks_remedy_core::notify::noise::{Mute, RateLimit, Summary};
use eks_remedy_core::notify::{Change, IncidentView, Status};
use eks_remedy_pipeline::events::{parse, Inbound};
use eks_remedy_pipeline::fakes::{FakePresigner, FakeViewStore};
use eks_remedy_pipeline::function::{serve, FunctionId, Invocation, Spec};
use eks_remedy_pipeline::handlers::notifier::{Notifier, Settings};
use eks_remedy_pipeline::metrics::{validate, Captured, Metric};
use eks_remedy_pipeline::ports::Channels;
use eks_remedy_pipeline::PortError;
use serde_json::{json, Value};

const INCIDENT: &str = "prod-cluster.us-east-1.111122223333:throttling:20261019T0500";

fn fixture() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/events/eks-remedy-findings.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The analyzer's findings event of `node`, analysed `minute` minutes after the fixture's time.
fn findings(node: &str, minute: i64) -> String {
    let mut e = fixture();
    e["detail"]["instance_id"] = json!(node);
    let at =
        DateTime::parse_from_rfc3339("2026-10-19T05:28:02Z").unwrap() + TimeDelta::minutes(minute);
    e["time"] = json!(at.to_rfc3339());
    e.to_string()
}

/// Another bus event of the incident: a collection that failed on `node`.
fn collection_failed(node: &str) -> String {
    json!({"version": "0", "id": "c1", "source": "eks-remedy", "detail-type": "eks-remedy collection failed",
        "account": "111122223333", "region": "us-east-1", "time": "2026-10-19T05:40:00Z", "resources": [],
        "detail": {"incident_id": INCIDENT, "instance_id": node, "reason": "TimedOut"}})
    .to_string()
}

fn sqs(bodies: &[String]) -> Value {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"messageId": format!("m-{i}"), "receiptHandle": "r", "body": b, "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1"}))
        .collect();
    json!({ "Records": records })
}

fn inv() -> Invocation {
    Invocation::from_arn(
        "test",
        "arn:aws:lambda:us-east-1:111122223333:function:eks-remedy-notifier",
    )
    .of(FunctionId::Notifier.spec(), "EksRemedy")
}

/// One delivery as a target received it.
#[derive(Debug, Clone)]
struct Received {
    fingerprint: String,
    status: Status,
    nodes: usize,
    changes: Vec<Change>,
    update: bool,
    report_url: Option<String>,
}

/// A chat target that records what it gets, and fails while told to.
struct Recorder {
    name: &'static str,
    kind: TargetKind,
    got: Mutex<Vec<Received>>,
    down: AtomicBool,
    attempts: AtomicU64,
}

impl Recorder {
    fn new(name: &'static str, kind: TargetKind) -> Arc<Recorder> {
        Arc::new(Recorder {
            name,
            kind,
            got: Mutex::new(Vec::new()),
            down: AtomicBool::new(false),
            attempts: AtomicU64::new(0),
        })
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// The handler's targets are boxed; the test keeps the recorder.
struct Shared(Arc<Recorder>);

impl Target for Shared {
    fn name(&self) -> &str {
        self.0.name
    }
    fn kind(&self) -> TargetKind {
        self.0.kind
    }
    fn payload(&self, view: &IncidentView, _: Option<&MessageRef>) -> Value {
        json!({"fingerprint": view.fingerprint()})
    }
    fn deliver<'a>(
        &'a self,
        view: &'a IncidentView,
        changes: &'a [Change],
        message: &'a mut Option<MessageRef>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            self.0.attempts.fetch_add(1, Ordering::Relaxed);
            if self.0.down.load(Ordering::Relaxed) {
                return Err(DeliveryError::Retryable {
                    target: self.0.name.into(),
                    attempts: 4,
                    reason: "HTTP 503".into(),
                });
            }
            let update = message.is_some();
            if self.0.kind == TargetKind::Slack && message.is_none() {
                *message = Some(MessageRef {
                    channel: "C1".into(),
                    ts: "1.0".into(),
                });
            }
            self.0.got.lock().unwrap().push(Received {
                fingerprint: view.fingerprint(),
                status: view.status,
                nodes: view.nodes.len(),
                changes: changes.to_vec(),
                update,
                report_url: view.report_url.clone(),
            });
            Ok(())
        })
    }
}

type Handler = Notifier<FakeViewStore, Vec<Box<dyn Target>>>;

/// A notifier with a Slack bot and a Teams target at a fixed clock.
fn notifier(settings: Settings) -> (Handler, Arc<Recorder>, Arc<Recorder>) {
    let slack = Recorder::new("slack", TargetKind::Slack);
    let teams = Recorder::new("teams", TargetKind::Teams);
    let targets: Vec<Box<dyn Target>> = vec![
        Box::new(Shared(Arc::clone(&slack))),
        Box::new(Shared(Arc::clone(&teams))),
    ];
    let now = DateTime::parse_from_rfc3339("2026-10-19T06:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let h = Notifier::new(FakeViewStore::default(), targets, settings)
        .with_clock(Arc::new(move || now));
    (h, slack, teams)
}

fn spec() -> &'static Spec {
    FunctionId::Notifier.spec()
}

/// A batch through the entry point: the ids of the messages it failed.
async fn batch(h: &Handler, bodies: &[String]) -> Vec<String> {
    let answer = serve(spec(), h, sqs(bodies), &inv()).await.unwrap();
    answer["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn bus_events_are_the_notifiers_and_only_its() {
    let e = parse(&findings("i-1", 0)).unwrap();
    assert!(matches!(&e, Inbound::Notify(n) if n.incident_id() == INCIDENT));
    assert_eq!(Spec::for_kind(e.kind()).map(|s| s.name), Some("notifier"));
    // Another source with the same detail type is not the pipeline's own event.
    let mut other = fixture();
    other["source"] = json!("someone-else");
    assert!(matches!(
        parse(&other.to_string()).unwrap(),
        Inbound::Foreign(..)
    ));
    // Ours, but not the shape of its detail type: to the dead-letter queue, named.
    let mut bad = fixture();
    bad["detail"] = json!({"incident_id": INCIDENT});
    let err = parse(&bad.to_string()).unwrap_err();
    assert!(err.to_string().contains("eks-remedy findings"), "{err}");
}

#[tokio::test]
async fn first_event_posts_once_and_replays_change_nothing() {
    let (h, slack, teams) = notifier(Settings::default());
    let event = findings("i-1", 0);
    assert!(batch(&h, std::slice::from_ref(&event)).await.is_empty());
    let state = h.store().view(INCIDENT).expect("saved");
    assert_eq!(state.view.findings.len(), 3);
    assert_eq!(slack.got().len(), 1);
    assert_eq!(slack.got()[0].changes, vec![Change::Opened]);
    assert_eq!(teams.got().len(), 1);
    // The same event again, alone and twice in one batch: nothing new is sent, the state is equal.
    for bodies in [vec![event.clone()], vec![event.clone(), event.clone()]] {
        assert!(batch(&h, &bodies).await.is_empty());
        assert_eq!(
            h.store().view(INCIDENT).unwrap(),
            state,
            "a replay changed the state"
        );
    }
    assert_eq!(
        h.store().writes.load(Ordering::Relaxed),
        1,
        "a replay writes nothing"
    );
    assert_eq!((slack.got().len(), teams.got().len()), (1, 1));
}

#[tokio::test]
async fn a_new_node_updates_slack_and_a_state_change_reaches_everyone() {
    let (h, slack, teams) = notifier(Settings::default());
    assert!(batch(&h, &[findings("i-1", 0)]).await.is_empty());
    assert!(batch(&h, &[findings("i-2", 1)]).await.is_empty());
    let got = slack.got();
    assert_eq!(got.len(), 2);
    assert!(got[1].update, "the bot edits its message");
    assert_eq!(got[1].nodes, 2);
    assert_eq!(teams.got().len(), 1, "Teams waits for a state change");
    assert!(batch(&h, &[collection_failed("i-3")]).await.is_empty());
    let t = teams.got();
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].nodes, 3, "the new post shows the whole current state");
    assert_eq!(t[1].status, Status::Open);
    assert!(t[1]
        .changes
        .contains(&Change::NewNode { node: "i-2".into() }));
    assert!(slack.got()[2]
        .changes
        .contains(&Change::CollectionFailed { node: "i-3".into() }));
}

#[tokio::test]
async fn a_failed_target_fails_the_batch_keeps_the_view_and_catches_up_later() {
    let (h, slack, teams) = notifier(Settings::default());
    teams.down.store(true, Ordering::Relaxed);
    let captured = Captured::default();
    let inv = inv();
    let answer = serve(
        spec(),
        &h,
        sqs(&[findings("i-1", 0), findings("i-2", 1)]),
        &inv,
    )
    .await
    .unwrap();
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "m-0"}, {"itemIdentifier": "m-1"}]),
        "the incident's messages are retried"
    );
    inv.flush(&captured);
    let lines = captured.lines();
    for l in &lines {
        validate(l).unwrap();
    }
    let text = lines.join("\n");
    assert!(text.contains(Metric::NotificationsFailed.name()), "{text}");
    assert!(text.contains(Metric::NotificationsSent.name()), "{text}");
    // Slack got it; the view is saved with both nodes; Teams' changes wait.
    assert_eq!(slack.got().len(), 1);
    let state = h.store().view(INCIDENT).expect("saved despite the failure");
    assert_eq!(state.view.nodes.len(), 2);
    let teams_state = &state.outbox.targets["teams"];
    assert_eq!(teams_state.failures, 1);
    assert!(teams_state
        .last_error
        .as_deref()
        .unwrap()
        .contains("HTTP 503"));
    assert!(!teams_state.last_error.as_deref().unwrap().contains("http"));
    // Still down on SQS's retry; then a later event (the collection failure) finds it back up.
    assert_eq!(batch(&h, &[findings("i-2", 1)]).await, vec!["m-0"]);
    teams.down.store(false, Ordering::Relaxed);
    assert!(batch(&h, &[collection_failed("i-3")]).await.is_empty());
    let t = teams.got();
    assert_eq!(t.len(), 1, "one post, of the state as it is now");
    assert_eq!(t[0].nodes, 3);
    assert_eq!(t[0].changes[0], Change::Opened);
    let now = h.store().view(INCIDENT).unwrap();
    assert_eq!(t[0].fingerprint, now.view.fingerprint());
    assert_eq!(
        slack.got().len(),
        2,
        "Slack was not sent the retried event again"
    );
    assert_eq!(
        h.store().view(INCIDENT).unwrap().outbox.targets["teams"].failures,
        0
    );
}

#[tokio::test]
async fn a_thousand_finding_events_stay_within_the_rate() {
    let limit = RateLimit {
        messages: 5,
        per_seconds: 60,
    };
    let (h, slack, teams) = notifier(Settings {
        rate: limit,
        ..Settings::default()
    });
    // 1,000 events of one incident, each from another node (each a real change), ten a batch.
    let bodies: Vec<String> = (0..1000)
        .map(|i| findings(&format!("i-{i:04}"), 0))
        .collect();
    for chunk in bodies.chunks(10) {
        assert!(batch(&h, chunk).await.is_empty());
    }
    let sent = slack.got().len() + teams.got().len();
    assert!(
        slack.got().len() <= limit.messages as usize,
        "{} Slack messages",
        slack.got().len()
    );
    assert_eq!(teams.got().len(), 1, "Teams: the open only");
    assert!(sent <= 2 * limit.messages as usize);
    let state = h.store().view(INCIDENT).unwrap();
    // The view keeps the nodes that say most (the collection budget is 50 at most) and
    // remembers the ids of the others, up to its bounds.
    assert_eq!(state.view.nodes.len(), 64);
    assert_eq!(state.view.nodes_omitted.len(), 256);
    assert!(
        state.view.headline().contains("at least 256 more"),
        "{}",
        state.view.headline()
    );
    assert_eq!(
        h.store().writes.load(Ordering::Relaxed),
        32,
        "one write per incident and batch while the view changes (64 nodes kept, then 256 ids \
         remembered), none after"
    );
    // The same 1,000 again: not one message more.
    for chunk in bodies.chunks(10) {
        assert!(batch(&h, chunk).await.is_empty());
    }
    assert_eq!(slack.got().len() + teams.got().len(), sent);
    assert_eq!(h.store().view(INCIDENT).unwrap().view, state.view);
}

#[tokio::test]
async fn a_conflicting_write_reloads_and_sends_nothing_twice() {
    let (h, slack, _) = notifier(Settings::default());
    assert!(batch(&h, &[findings("i-1", 0)]).await.is_empty());
    // Another invocation wrote meanwhile: this one's write conflicts once and is applied again.
    h.store().conflicts.store(1, Ordering::Relaxed);
    assert!(batch(&h, &[findings("i-2", 1)]).await.is_empty());
    assert_eq!(slack.got().len(), 2, "the update was sent once");
    let state = h.store().view(INCIDENT).unwrap();
    assert_eq!(state.view.nodes.len(), 2);
    assert_eq!(
        state.outbox.targets["slack"].fingerprint.as_deref(),
        Some(state.view.fingerprint().as_str())
    );
    // A writer that replaced the state with another node: its node survives this one's events.
    let mut other = state.clone();
    other
        .view
        .apply(&eks_remedy_core::notify::NotifyEvent::from_sqs_body(&findings("i-9", 2)).unwrap());
    h.store().overwrite(INCIDENT, other);
    assert!(batch(&h, &[findings("i-3", 3)]).await.is_empty());
    assert_eq!(h.store().view(INCIDENT).unwrap().view.nodes.len(), 4);
}

#[tokio::test]
async fn muted_incidents_are_kept_but_not_sent() {
    let (h, slack, teams) = notifier(Settings {
        mutes: vec![Mute {
            cluster: Some("prod-*".into()),
            ..Mute::default()
        }],
        ..Settings::default()
    });
    let answer = serve(
        spec(),
        &h,
        serde_json::from_str(&findings("i-1", 0)).unwrap(),
        &inv(),
    )
    .await
    .unwrap();
    assert_eq!(answer["result"]["muted"], true, "{answer}");
    assert!(slack.got().is_empty() && teams.got().is_empty());
    assert_eq!(h.store().view(INCIDENT).unwrap().view.nodes.len(), 1);
}

#[tokio::test]
async fn a_resolve_before_any_message_announces_nothing() {
    let (h, slack, _) = notifier(Settings::default());
    let resolved = json!({"version": "0", "id": "r1", "source": "eks-remedy", "detail-type": "eks-remedy incident resolved",
        "account": "111122223333", "region": "us-east-1", "time": "2026-10-19T07:00:00Z", "resources": [],
        "detail": {"incident_id": INCIDENT}});
    assert!(batch(&h, &[findings("i-1", 0), resolved.to_string()])
        .await
        .is_empty());
    assert!(slack.got().is_empty(), "{:?}", slack.got());
    assert_eq!(
        h.store().view(INCIDENT).unwrap().view.status,
        Status::Resolved
    );
}

/// Targets whose summaries are recorded.
struct Summing {
    targets: Vec<Box<dyn Target>>,
    summaries: Mutex<Vec<(String, Summary)>>,
}

impl Channels for Summing {
    async fn targets(&self) -> Result<&[Box<dyn Target>], PortError> {
        Ok(&self.targets)
    }
    async fn summary(&self, target: &str, summary: &Summary) -> Result<bool, DeliveryError> {
        self.summaries
            .lock()
            .unwrap()
            .push((target.to_string(), summary.clone()));
        Ok(true)
    }
}

#[tokio::test]
async fn incidents_held_by_the_rate_are_summed_up_once() {
    let teams = Recorder::new("teams", TargetKind::Teams);
    let clock = Arc::new(Mutex::new(
        DateTime::parse_from_rfc3339("2026-10-19T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    ));
    let c = Arc::clone(&clock);
    let h = Notifier::new(
        FakeViewStore::default(),
        Summing {
            targets: vec![Box::new(Shared(Arc::clone(&teams)))],
            summaries: Mutex::new(Vec::new()),
        },
        Settings {
            rate: RateLimit {
                messages: 1,
                per_seconds: 60,
            },
            ..Settings::default()
        },
    )
    .with_clock(Arc::new(move || *c.lock().unwrap()));
    let incident = |n: usize, cluster: &str| {
        let mut e = fixture();
        e["detail"]["incident_id"] = json!(format!("{cluster}:throttling:{n}"));
        e["detail"]["cluster"] = json!(cluster);
        e.to_string()
    };
    let spec = FunctionId::Notifier.spec();
    for (n, cluster) in [(1, "prod"), (2, "prod"), (3, "dev")] {
        let answer = serve(spec, &h, sqs(&[incident(n, cluster)]), &inv())
            .await
            .unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]));
    }
    assert_eq!(teams.got().len(), 1, "one message a minute");
    // A minute later the next incident finds the summary due: it goes first, and takes the token.
    *clock.lock().unwrap() += TimeDelta::seconds(61);
    let answer = serve(
        spec,
        &h,
        serde_json::from_str(&incident(4, "prod")).unwrap(),
        &inv(),
    )
    .await
    .unwrap();
    assert_eq!(answer["result"]["summaries"], json!(["teams"]), "{answer}");
    assert_eq!(answer["result"]["held"], json!(["teams"]), "{answer}");
    let summaries = h_summaries(&h);
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].1.incidents, 2);
    assert_eq!(summaries[0].1.clusters.len(), 2);
}

fn h_summaries(h: &Notifier<FakeViewStore, Summing>) -> Vec<(String, Summary)> {
    h.channels().summaries.lock().unwrap().clone()
}

/// The time a test's clock shows; the test moves it.
type Now = Arc<Mutex<DateTime<Utc>>>;

/// [`notifier`] with a clock the test moves.
fn notifier_at(start: &str) -> (Handler, Arc<Recorder>, Arc<Recorder>, Now) {
    let (h, slack, teams) = notifier(Settings::default());
    let now: Now = Arc::new(Mutex::new(
        DateTime::parse_from_rfc3339(start)
            .unwrap()
            .with_timezone(&Utc),
    ));
    let c = Arc::clone(&now);
    (
        h.with_clock(Arc::new(move || *c.lock().unwrap())),
        slack,
        teams,
        now,
    )
}

fn set(now: &Mutex<DateTime<Utc>>, at: &str) {
    *now.lock().unwrap() = DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&Utc);
}

#[tokio::test]
async fn a_quiet_incident_resolves_once_and_a_later_event_reopens_it() {
    // The findings are dated 05:28:02; the quiet period is 60 minutes.
    let (h, slack, teams, now) = notifier_at("2026-10-19T06:00:00Z");
    assert!(batch(&h, &[findings("i-1", 0)]).await.is_empty());
    let checked = h.resolve_check(&inv()).await.unwrap();
    assert!(
        checked.incidents.is_empty(),
        "not quiet for long enough yet"
    );
    assert_eq!(h.store().view(INCIDENT).unwrap().view.status, Status::Open);

    set(&now, "2026-10-19T06:30:00Z");
    let checked = h.resolve_check(&inv()).await.unwrap();
    assert_eq!(checked.incidents.len(), 1);
    assert!(!checked.more);
    assert_eq!(checked.incidents[0].incident_id, INCIDENT);
    let state = h.store().view(INCIDENT).unwrap();
    assert_eq!(state.view.status, Status::Resolved);
    assert_eq!(
        state.watch(),
        None,
        "resolved and delivered: out of the index"
    );
    let s = slack.got();
    assert_eq!(s.len(), 2);
    assert!(s[1].update, "the bot edits its message to resolved");
    assert_eq!(
        (s[1].status, &s[1].changes[..]),
        (Status::Resolved, &[Change::Resolved][..])
    );
    let t = teams.got();
    assert_eq!(t.len(), 2, "a resolve is a state change: Teams posts it");
    assert_eq!(t[1].status, Status::Resolved);

    // The next check finds nothing: the resolved incident left the index.
    set(&now, "2026-10-19T06:35:00Z");
    let writes = h.store().writes.load(Ordering::Relaxed);
    assert!(h.resolve_check(&inv()).await.unwrap().incidents.is_empty());
    assert_eq!(h.store().writes.load(Ordering::Relaxed), writes);
    assert_eq!((slack.got().len(), teams.got().len()), (2, 2));

    // A replayed old event does not reopen it; a new one does, and says so.
    assert!(batch(&h, &[findings("i-1", 0)]).await.is_empty());
    assert_eq!(
        h.store().view(INCIDENT).unwrap().view.status,
        Status::Resolved
    );
    assert!(batch(&h, &[findings("i-2", 65)]).await.is_empty());
    let state = h.store().view(INCIDENT).unwrap();
    assert_eq!(state.view.status, Status::Open);
    assert!(state.watch().is_some(), "open again: back in the index");
    let s = slack.got();
    assert_eq!(s.last().unwrap().status, Status::Open);
    assert!(
        s.last().unwrap().changes.contains(&Change::Reopened),
        "{:?}",
        s.last()
    );
    assert_eq!(teams.got().last().unwrap().status, Status::Open);
}

#[tokio::test]
async fn a_resolve_a_target_missed_is_delivered_by_the_next_check() {
    let (h, slack, teams, now) = notifier_at("2026-10-19T07:00:00Z");
    assert!(batch(&h, &[findings("i-1", 0)]).await.is_empty());
    teams.down.store(true, Ordering::Relaxed);
    let checked = h.resolve_check(&inv()).await.unwrap();
    assert_eq!(checked.incidents.len(), 1);
    assert_eq!(checked.incidents[0].failed.len(), 1, "{checked:?}");
    let state = h.store().view(INCIDENT).unwrap();
    assert_eq!(
        state.view.status,
        Status::Resolved,
        "saved resolved all the same"
    );
    assert!(
        state.watch().is_some(),
        "Teams is owed the resolve: kept in the index"
    );
    assert_eq!(slack.got().last().unwrap().status, Status::Resolved);

    teams.down.store(false, Ordering::Relaxed);
    set(&now, "2026-10-19T07:05:00Z");
    let checked = h.resolve_check(&inv()).await.unwrap();
    assert_eq!(checked.incidents.len(), 1);
    assert_eq!(checked.incidents[0].sent, vec!["teams".to_string()]);
    let t = teams.got();
    assert_eq!(t.last().unwrap().status, Status::Resolved);
    assert!(t.last().unwrap().changes.contains(&Change::Resolved));
    assert_eq!(slack.got().len(), 2, "Slack already had it");
    assert_eq!(h.store().view(INCIDENT).unwrap().watch(), None);
    assert!(h.resolve_check(&inv()).await.unwrap().incidents.is_empty());
}

#[tokio::test]
async fn a_check_takes_a_bounded_number_of_incidents_and_leaves_the_rest_for_the_next() {
    let (h, _, _, _) = notifier_at("2026-10-19T08:00:00Z");
    let bodies: Vec<String> = (0..30)
        .map(|i| {
            let mut e: Value = serde_json::from_str(&findings("i-1", 0)).unwrap();
            e["detail"]["incident_id"] = json!(format!("prod:throttling:{i:02}"));
            e.to_string()
        })
        .collect();
    assert!(batch(&h, &bodies).await.is_empty());
    let first = h.resolve_check(&inv()).await.unwrap();
    assert_eq!((first.incidents.len(), first.more), (25, true));
    // The open ones first: the five never checked, then retries of those whose resolve the
    // rate limit held.
    let second = h.resolve_check(&inv()).await.unwrap();
    assert_eq!(second.incidents.len(), 25);
    let firsts: Vec<&str> = second.incidents[..5]
        .iter()
        .map(|n| n.incident_id.as_str())
        .collect();
    let never_checked: Vec<String> = (25..30)
        .map(|i| format!("prod:throttling:{i:02}"))
        .collect();
    assert_eq!(firsts, never_checked);
    for i in 0..30 {
        let id = format!("prod:throttling:{i:02}");
        assert_eq!(
            h.store().view(&id).unwrap().view.status,
            Status::Resolved,
            "{id}"
        );
    }
    assert_eq!(
        h.store().queries.load(Ordering::Relaxed),
        2,
        "one index query per check"
    );
}

#[tokio::test]
async fn messages_link_the_report_presigned_and_never_store_the_link() {
    let slack = Recorder::new("slack", TargetKind::Slack);
    let targets: Vec<Box<dyn Target>> = vec![Box::new(Shared(Arc::clone(&slack)))];
    let settings = Settings {
        report_link_hours: 48,
        ..Settings::default()
    };
    let h = Notifier::new(FakeViewStore::default(), targets, settings)
        .with_presigner(FakePresigner::default());
    assert!(serve(spec(), &h, sqs(&[findings("i-1", 0)]), &inv())
        .await
        .is_ok());
    let got = slack.got();
    let url = got[0].report_url.as_deref().expect("a report link");
    assert_eq!(
        url,
        "https://eks-remedy-bundles-111122223333.s3.test/bundles/prod-cluster/i-0abc12345def67890/\
         prod-cluster.us-east-1.111122223333:throttling:20261019T0500/report.html?X-Amz-Expires=172800"
    );
    let stored = h.store().view(INCIDENT).unwrap();
    assert_eq!(
        stored.view.report_url, None,
        "a signed link is never stored"
    );
    assert!(stored.view.console_url.as_deref().unwrap().starts_with(
        "https://us-east-1.console.aws.amazon.com/eks/home?region=us-east-1#/clusters/prod-cluster"
    ));
    // The link is no part of the fingerprint: what Slack got is what is recorded as delivered.
    assert_eq!(got[0].fingerprint, stored.view.fingerprint());
    assert_eq!(
        stored.outbox.targets["slack"].fingerprint.as_deref(),
        Some(got[0].fingerprint.as_str())
    );

    // Signing fails (no credentials): the message goes without the link.
    h.presigner().unwrap().broken.store(true, Ordering::Relaxed);
    assert!(serve(spec(), &h, sqs(&[findings("i-2", 1)]), &inv())
        .await
        .is_ok());
    let got = slack.got();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].report_url, None);
}

#[tokio::test]
async fn the_schedule_runs_the_resolve_check_through_the_entry_point() {
    let (h, slack, _, _) = notifier_at("2026-10-19T07:00:00Z");
    assert!(batch(&h, &[findings("i-1", 0)]).await.is_empty());
    // The rule's constant input, as EventBridge invokes the function with it.
    let answer = serve(spec(), &h, json!({"schedule": "resolve-check"}), &inv())
        .await
        .unwrap();
    let result = &answer["result"];
    assert_eq!(result["incidents"][0]["incident_id"], INCIDENT, "{answer}");
    assert_eq!(result["more"], false);
    assert_eq!(
        h.store().view(INCIDENT).unwrap().view.status,
        Status::Resolved
    );
    assert_eq!(slack.got().last().unwrap().changes, vec![Change::Resolved]);
    // The next run: nothing left to resolve, nothing sent.
    let answer = serve(spec(), &h, json!({"schedule": "resolve-check"}), &inv())
        .await
        .unwrap();
    assert_eq!(answer["result"]["incidents"], json!([]), "{answer}");
    assert_eq!(slack.got().len(), 2);
    // The other schedule is not the notifier's.
    assert!(
        Spec::for_kind(parse(r#"{"schedule": "follow"}"#).unwrap().kind())
            .is_some_and(|s| s.name != "notifier")
    );
}

#[tokio::test]
async fn a_hostile_incident_with_targets_down_stays_within_the_item_limit() {
    let (h, slack, teams) = notifier(Settings::default());
    slack.down.store(true, Ordering::Relaxed);
    teams.down.store(true, Ordering::Relaxed);
    let long = "\u{202e}<!channel> `x` ".repeat(700);
    let bodies: Vec<String> = (0..500)
        .map(|i| {
            let mut e: Value = serde_json::from_str(&findings(&format!("i-{i:017x}"), i)).unwrap();
            for f in e["detail"]["findings"].as_array_mut().unwrap() {
                f["title"] = json!(long);
                f["summary"] = json!(long);
            }
            e["detail"]["root_cause"]["summary"] = json!(long);
            e.to_string()
        })
        .collect();
    for chunk in bodies.chunks(10) {
        // Both targets fail: the state is saved all the same (the batch fails while it changes).
        batch(&h, chunk).await;
    }
    let state = h.store().view(INCIDENT).unwrap();
    let stored = serde_json::to_string(&state).unwrap().len();
    eprintln!("stored state: {stored} bytes");
    // What the DynamoDB adapter writes at most (eks_remedy_aws::views::MAX_STATE_BYTES).
    assert!(stored <= 380 * 1024, "{stored} bytes");
    let pending = state.outbox.targets["slack"].pending.len();
    eprintln!("slack: {pending} changes pending");
    assert!(pending > 1, "the changes wait for the target");
    assert_eq!(state.view.nodes.len(), 64);
    assert!(state.view.findings[0].root_cause);
}
