//! The notifier's adapters against moto: the DynamoDB view store (round trip, conditional
//! conflicts, the resolve check's sparse index), report links pre-signed by S3, the Amazon Q target through SNS (topic → SQS subscription, the message read back
//! and checked against the Q format) and chat secrets read from SSM SecureString parameters.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::sync::Arc;

use common::*;
use eks_remedy_aws::chat::{configured, ChatTargets};
use eks_remedy_aws::sns::Sns;
use eks_remedy_aws::views::Views;
use eks_remedy_chat::target::{QTarget, Target};
use eks_remedy_chat::testing::RecordingServer;
use eks_remedy_core::notify::event::{FindingEntry, FindingsDetail};
use eks_remedy_core::notify::noise::{Limiter, RateLimit, Summary};
use eks_remedy_core::notify::{IncidentView, NotifyEvent};
use eks_remedy_core::report::Severity;
use eks_remedy_pipeline::ports::{Channels, NotifyState, Presigner, Saved, ViewStore};
use serde_json::Value;

fn expires() -> i64 {
    chrono::Utc::now().timestamp() + 86_400
}

/// A view of `incident` with one high finding on one node of cluster `prod`.
fn view(incident: &str) -> IncidentView {
    let mut v = IncidentView::new(incident);
    v.apply(&NotifyEvent::Findings(FindingsDetail {
        incident_id: incident.into(),
        cluster: Some("prod".into()),
        instance_id: "i-0abc".into(),
        bucket: None,
        report_json: None,
        report_html: None,
        root_cause: None,
        findings_total: 1,
        findings_omitted: 0,
        findings: vec![FindingEntry {
            rule: "ec2-api-throttling".into(),
            severity: Severity::High,
            title: "EC2 API throttling".into(),
            summary: "RequestLimitExceeded 40 times".into(),
            count: 40,
            root_cause: true,
            evidence: None,
            fix: None,
        }],
        account: Some("111122223333".into()),
        region: Some("us-east-1".into()),
        at: None,
    }));
    v
}

#[tokio::test]
async fn view_store_round_trips_and_refuses_stale_writes() {
    let sdk = sdk().await;
    let table = table(&sdk).await;
    let views = Views::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    let id = unique("prod:throttling");
    assert!(views.load_view(&id).await.unwrap().is_none());
    let state = NotifyState {
        view: view(&id),
        ..NotifyState::default()
    };
    assert_eq!(
        views.save_view(&id, &state, None, expires()).await.unwrap(),
        Saved::Written
    );
    // A second writer that also read nothing loses.
    assert_eq!(
        views.save_view(&id, &state, None, expires()).await.unwrap(),
        Saved::Conflict
    );
    let read = views.load_view(&id).await.unwrap().expect("stored");
    assert_eq!((read.version, &read.value), (1, &state));
    let mut next = read.value.clone();
    next.view.notes.push("collection failed on i-0def".into());
    assert_eq!(
        views
            .save_view(&id, &next, Some(1), expires())
            .await
            .unwrap(),
        Saved::Written
    );
    assert_eq!(
        views
            .save_view(&id, &state, Some(1), expires())
            .await
            .unwrap(),
        Saved::Conflict,
        "a write based on version 1 cannot overwrite version 2"
    );
    let read = views.load_view(&id).await.unwrap().unwrap();
    assert_eq!((read.version, read.value), (2, next));

    // An expired item reads as absent and may be replaced.
    let old = unique("expired");
    views
        .save_view(&old, &state, None, chrono::Utc::now().timestamp() - 10)
        .await
        .unwrap();
    assert!(views.load_view(&old).await.unwrap().is_none());
    assert_eq!(
        views
            .save_view(&old, &state, None, expires())
            .await
            .unwrap(),
        Saved::Written
    );

    // Limiters live beside the views, under the same rules.
    let channel = unique("slack");
    let mut l = Limiter::new(RateLimit::default());
    assert!(l.admit(
        chrono::Utc::now(),
        &eks_remedy_core::notify::noise::Outgoing {
            incident_id: &id,
            cluster: "prod",
            messages: 1,
            first: true,
        }
    ));
    assert_eq!(
        views
            .save_limiter(&channel, &l, None, expires())
            .await
            .unwrap(),
        Saved::Written
    );
    let back = views.load_limiter(&channel).await.unwrap().unwrap();
    assert_eq!((back.version, back.value), (1, l.clone()));
    assert_eq!(
        views
            .save_limiter(&channel, &l, None, expires())
            .await
            .unwrap(),
        Saved::Conflict
    );
}

#[tokio::test]
async fn q_target_publishes_the_q_format_through_sns() {
    let sdk = sdk().await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name(unique("chat"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let (url, arn) = queue(&sdk, "q-chat").await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let target = QTarget::new("q", Arc::new(Sns::new(sns.clone(), &topic)));
    let id = unique("prod:throttling");
    let v = view(&id);
    let mut message = None;
    target.deliver(&v, &[], &mut message).await.unwrap();
    let body = aws_sdk_sqs::Client::new(&sdk)
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap()
        .messages()
        .first()
        .and_then(|m| m.body().map(str::to_string))
        .expect("the topic delivered the message");
    let q: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(q["version"], "1.0", "{q}");
    assert_eq!(q["source"], "custom", "{q}");
    assert_eq!(q["metadata"]["threadId"], id.as_str(), "{q}");
    assert_eq!(
        q["content"]["title"], "eks-remedy: 1 finding on 1 node in prod",
        "{q}"
    );
    assert_eq!(q["content"]["keywords"][0], "high", "{q}");
    assert_eq!(q["content"]["textType"], "client-markdown", "{q}");
    assert!(q["content"]["description"].as_str().is_some(), "{q}");

    // A topic that does not exist is a permanent failure, named by the target.
    let gone = QTarget::new(
        "q",
        Arc::new(Sns::new(
            sns,
            "arn:aws:sns:us-east-1:123456789012:no-such-topic",
        )),
    );
    let e = gone.deliver(&v, &[], &mut None).await.unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    assert_eq!(e.target(), "q");
}

#[tokio::test]
async fn chat_secrets_come_from_ssm_secure_strings() {
    let sdk = sdk().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let server = RecordingServer::start();
    let hook = server.url("/workflows/abc?sig=s3cr3t");
    let name = format!("/{}/teams", unique("eks-remedy"));
    ssm.put_parameter()
        .name(&name)
        .value(&hook)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let config = configured(|k| (k == "TEAMS_WEBHOOK_PARAM").then(|| name.clone())).unwrap();
    let chat = ChatTargets::new(ssm.clone(), aws_sdk_sns::Client::new(&sdk), config);
    let targets = chat.targets().await.unwrap();
    assert_eq!(targets.len(), 1);
    assert!(
        !format!("{:?}", targets[0].name()).contains("s3cr3t"),
        "the name is not the secret"
    );
    let v = view(&unique("prod:throttling"));
    targets[0].deliver(&v, &[], &mut None).await.unwrap();
    let got = server.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].url, "/workflows/abc?sig=s3cr3t");
    assert_eq!(got[0].json()["type"], "message");

    // The rate limit's summary goes to the same webhook, as a card of its own.
    let summary = Summary {
        incidents: 12,
        clusters: ["prod".to_string(), "dev".to_string()].into(),
    };
    assert!(chat.summary("teams", &summary).await.unwrap());
    assert!(
        !chat.summary("slack", &summary).await.unwrap(),
        "not configured"
    );
    let got = server.requests();
    assert_eq!(got.len(), 2);
    assert!(
        String::from_utf8_lossy(&got[1].body).contains("12 more incidents on 2 clusters"),
        "{:?}",
        got[1].json()
    );

    // A parameter that does not exist: an error naming it, never a value.
    let missing = ChatTargets::new(
        ssm,
        aws_sdk_sns::Client::new(&sdk),
        configured(|k| (k == "WEBHOOK_PARAM").then(|| "/eks-remedy/none".to_string())).unwrap(),
    );
    let e = missing.targets().await.err().expect("no such parameter");
    assert!(e.to_string().contains("ssm"), "{e}");
}

fn minutes(m: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-10-19T05:00:00.5Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
        + chrono::TimeDelta::minutes(m)
}

/// A state of `incident` whose latest event is at `at`: open, or resolved and delivered, or
/// resolved while a target still owes the change.
fn state_at(
    incident: &str,
    at: chrono::DateTime<chrono::Utc>,
    resolved: bool,
    owed: bool,
) -> NotifyState {
    let mut v = view(incident);
    v.last_event_at = Some(at);
    if resolved {
        v.apply(&NotifyEvent::Resolved(
            eks_remedy_core::notify::event::ResolvedDetail {
                incident_id: incident.into(),
                at: Some(at),
            },
        ));
    }
    let mut s = NotifyState {
        view: v,
        ..NotifyState::default()
    };
    if owed {
        s.outbox.targets.entry("teams".into()).or_default().pending =
            vec![eks_remedy_core::notify::Change::Resolved];
    }
    s
}

#[tokio::test]
async fn quiet_views_come_from_the_sparse_index_open_first_and_leave_it_when_resolved() {
    let sdk = sdk().await;
    let table = table(&sdk).await;
    let views = Views::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    let save = |id: &'static str, s: NotifyState, expires: i64| {
        let views = &views;
        async move {
            assert_eq!(
                views.save_view(id, &s, None, expires).await.unwrap(),
                Saved::Written
            );
        }
    };
    save(
        "b-open",
        state_at("b-open", minutes(20), false, false),
        expires(),
    )
    .await;
    save(
        "a-open",
        state_at("a-open", minutes(10), false, false),
        expires(),
    )
    .await;
    save(
        "c-owed",
        state_at("c-owed", minutes(0), true, true),
        expires(),
    )
    .await;
    save(
        "d-resolved",
        state_at("d-resolved", minutes(0), true, false),
        expires(),
    )
    .await;
    save(
        "e-recent",
        state_at("e-recent", minutes(90), false, false),
        expires(),
    )
    .await;
    let gone = chrono::Utc::now().timestamp() - 10;
    save(
        "f-expired",
        state_at("f-expired", minutes(5), false, false),
        gone,
    )
    .await;

    let ids = |q: Vec<eks_remedy_pipeline::ports::Quiet>| {
        q.into_iter().map(|q| q.incident_id).collect::<Vec<_>>()
    };
    let quiet = views.quiet_views(minutes(60), 10).await.unwrap();
    assert_eq!(
        quiet[0].last_event_at,
        minutes(10),
        "the time comes back exact"
    );
    assert_eq!(ids(quiet), ["a-open", "b-open", "c-owed"]);
    assert_eq!(
        ids(views.quiet_views(minutes(60), 1).await.unwrap()),
        ["a-open"]
    );
    assert_eq!(
        ids(views.quiet_views(minutes(15), 10).await.unwrap()),
        ["a-open", "c-owed"]
    );
    // Resolved and delivered: the write that says so takes it out of the index.
    let read = views.load_view("a-open").await.unwrap().unwrap();
    let done = state_at("a-open", minutes(10), true, false);
    assert_eq!(
        views
            .save_view("a-open", &done, Some(read.version), expires())
            .await
            .unwrap(),
        Saved::Written
    );
    assert_eq!(
        ids(views.quiet_views(minutes(60), 10).await.unwrap()),
        ["b-open", "c-owed"]
    );
    // Limiters never enter it.
    let l = Limiter::new(RateLimit::default());
    views
        .save_limiter("slack", &l, None, expires())
        .await
        .unwrap();
    assert_eq!(views.quiet_views(minutes(60), 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn quiet_views_page_through_the_index_up_to_the_bound() {
    let sdk = sdk().await;
    let table = table(&sdk).await;
    let views = Views::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
    // More than one query page (100 items).
    for i in 0..130 {
        let id = format!("inc-{i:03}");
        let s = state_at(&id, minutes(i), false, false);
        views.save_view(&id, &s, None, expires()).await.unwrap();
    }
    let quiet = views.quiet_views(minutes(1_000), 120).await.unwrap();
    assert_eq!(quiet.len(), 120);
    assert_eq!(quiet[0].incident_id, "inc-000");
    assert_eq!(quiet[119].incident_id, "inc-119");
    assert_eq!(
        views.quiet_views(minutes(1_000), 500).await.unwrap().len(),
        130
    );
}

#[tokio::test]
async fn a_report_link_is_a_presigned_get_that_fetches_the_report() {
    let sdk = sdk().await;
    let s3 = eks_remedy_aws::objects::client(&sdk);
    let bucket = unique("reports");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = "bundles/prod/i-0abc/prod:throttling:20261019T0500/report.html";
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(b"<html>report</html>".to_vec().into())
        .send()
        .await
        .unwrap();
    let objects = eks_remedy_aws::objects::Objects::new(s3);
    let url = objects
        .presign_get(&bucket, key, std::time::Duration::from_secs(24 * 3600))
        .await
        .unwrap();
    assert!(url.contains("X-Amz-Expires=86400"), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let (status, body) = http("GET", &url, b"");
    assert_eq!((status, body.as_str()), (200, "<html>report</html>"));
    // SigV4 allows a week at most.
    assert!(objects
        .presign_get(&bucket, key, std::time::Duration::from_secs(8 * 24 * 3600))
        .await
        .is_err());
}
