//! Slack interactivity callbacks: each way a request can be refused, and the decision a genuine
//! click carries.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use eks_remedy_chat::http::Clock;
use eks_remedy_chat::interactivity::{
    sign, Choice, InMemorySeen, InteractivityError, SeenRequests, SlackRequest, Verifier,
};
use eks_remedy_chat::secret::Secret;
use eks_remedy_chat::target::MessageRef;
use eks_remedy_chat::BoxFuture;
use http::{HeaderMap, HeaderValue};
use serde_json::json;

const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
const NOW: u64 = 1_793_000_000;

struct At(u64);

impl Clock for At {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.0)
    }
}

fn verifier_at(now: u64, seen: Arc<dyn SeenRequests>) -> Verifier {
    Verifier::new(
        Secret::new(String::from_utf8_lossy(SECRET)),
        ["U0APPROVER".to_string()],
        Arc::new(At(now)),
        seen,
    )
}

fn verifier() -> Verifier {
    verifier_at(NOW, Arc::new(InMemorySeen::default()))
}

/// A form body as Slack sends it, for a click by `user` on `action_id` with `value`.
fn body(user: &str, action_id: &str, value: &str) -> Vec<u8> {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": "alice"},
        "response_url": "https://hooks.slack.com/actions/T0/1/abc",
        "container": {"type": "message", "channel_id": "C0123", "message_ts": "1793000000.000100"},
        "actions": [{"type": "button", "action_id": action_id, "value": value, "block_id": "approve/a"}],
    });
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
        .into_bytes()
}

fn approve_body() -> Vec<u8> {
    body(
        "U0APPROVER",
        "approve:vpc-cni-addon",
        r#"{"plan_id":"plan-0123456789abcdef","action":"vpc-cni-addon"}"#,
    )
}

fn run(
    v: &Verifier,
    ts: Option<&str>,
    sig: Option<&str>,
    body: &[u8],
) -> Result<eks_remedy_chat::interactivity::Decision, InteractivityError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(v.verify(SlackRequest {
            timestamp: ts,
            signature: sig,
            body,
        }))
}

#[test]
fn a_genuine_click_by_an_approver_is_a_decision() {
    let b = approve_body();
    let sig = sign(SECRET, NOW, &b);
    let d = run(&verifier(), Some(&NOW.to_string()), Some(&sig), &b).expect("valid");
    assert_eq!(d.plan_id, "plan-0123456789abcdef");
    assert_eq!(d.action, "vpc-cni-addon");
    assert_eq!(d.choice, Choice::Approve);
    assert_eq!(d.user_id, "U0APPROVER");
    assert_eq!(d.user_name.as_deref(), Some("alice"));
    assert_eq!(
        d.response_url.as_deref(),
        Some("https://hooks.slack.com/actions/T0/1/abc")
    );
    assert_eq!(
        d.message,
        Some(MessageRef {
            channel: "C0123".into(),
            ts: "1793000000.000100".into()
        })
    );
}

#[test]
fn the_short_button_form_reads_too_and_reject_is_a_decision() {
    let b = body(
        "U0APPROVER",
        "reject",
        "plan-0123:recommendation:ebs-attach-limit",
    );
    let sig = sign(SECRET, NOW, &b);
    let d = run(&verifier(), Some(&NOW.to_string()), Some(&sig), &b).expect("valid");
    assert_eq!(d.choice, Choice::Reject);
    assert_eq!(d.plan_id, "plan-0123");
    assert_eq!(d.action, "recommendation:ebs-attach-limit");
}

#[test]
fn headers_are_read_case_insensitively_from_a_header_map() {
    let b = approve_body();
    let mut h = HeaderMap::new();
    h.insert(
        "X-Slack-Request-Timestamp",
        HeaderValue::from_str(&NOW.to_string()).expect("header"),
    );
    h.insert(
        "X-Slack-Signature",
        HeaderValue::from_str(&sign(SECRET, NOW, &b)).expect("header"),
    );
    let r = SlackRequest::from_headers(&h, &b);
    assert!(run(&verifier(), r.timestamp, r.signature, &b).is_ok());
}

#[test]
fn missing_headers_are_refused() {
    let b = approve_body();
    let sig = sign(SECRET, NOW, &b);
    assert_eq!(
        run(&verifier(), None, Some(&sig), &b),
        Err(InteractivityError::MissingHeader(
            "X-Slack-Request-Timestamp"
        ))
    );
    assert_eq!(
        run(&verifier(), Some(&NOW.to_string()), None, &b),
        Err(InteractivityError::MissingHeader("X-Slack-Signature"))
    );
}

#[test]
fn a_wrong_signing_secret_is_a_bad_signature() {
    let b = approve_body();
    let sig = sign(b"not-the-secret", NOW, &b);
    assert_eq!(
        run(&verifier(), Some(&NOW.to_string()), Some(&sig), &b),
        Err(InteractivityError::BadSignature)
    );
    assert_eq!(
        run(&verifier(), Some(&NOW.to_string()), Some("v1=abcd"), &b),
        Err(InteractivityError::BadSignature)
    );
    assert_eq!(
        run(&verifier(), Some(&NOW.to_string()), Some("v0=not-hex"), &b),
        Err(InteractivityError::BadSignature)
    );
}

#[test]
fn a_tampered_body_is_a_bad_signature() {
    let b = approve_body();
    let sig = sign(SECRET, NOW, &b);
    // Another user id, same length: the signature no longer matches.
    let tampered = String::from_utf8(b.clone())
        .expect("utf-8")
        .replace("U0APPROVER", "U0ATTACKER")
        .into_bytes();
    assert_eq!(
        run(&verifier(), Some(&NOW.to_string()), Some(&sig), &tampered),
        Err(InteractivityError::BadSignature)
    );
}

#[test]
fn timestamps_beyond_five_minutes_are_stale_either_way() {
    let b = approve_body();
    for ts in [NOW - 301, NOW + 301] {
        let sig = sign(SECRET, ts, &b);
        assert_eq!(
            run(&verifier(), Some(&ts.to_string()), Some(&sig), &b),
            Err(InteractivityError::StaleTimestamp),
            "{ts}"
        );
    }
    let edge = NOW - 300;
    let sig = sign(SECRET, edge, &b);
    assert!(run(&verifier(), Some(&edge.to_string()), Some(&sig), &b).is_ok());
    assert_eq!(
        run(&verifier(), Some("yesterday"), Some(&sig), &b),
        Err(InteractivityError::StaleTimestamp)
    );
}

#[test]
fn a_replayed_request_is_refused() {
    let seen: Arc<dyn SeenRequests> = Arc::new(InMemorySeen::default());
    let b = approve_body();
    let sig = sign(SECRET, NOW, &b);
    let ts = NOW.to_string();
    assert!(run(&verifier_at(NOW, seen.clone()), Some(&ts), Some(&sig), &b).is_ok());
    // Same request a minute later (still within the window), e.g. to another instance.
    assert_eq!(
        run(
            &verifier_at(NOW + 60, seen.clone()),
            Some(&ts),
            Some(&sig),
            &b
        ),
        Err(InteractivityError::Replay)
    );
    // The same signature in upper-case hex is the same request.
    let upper = format!("v0={}", sig.trim_start_matches("v0=").to_uppercase());
    assert_eq!(
        run(&verifier_at(NOW + 61, seen), Some(&ts), Some(&upper), &b),
        Err(InteractivityError::Replay)
    );
}

#[test]
fn an_invalid_request_is_not_remembered_so_it_cannot_block_the_real_one() {
    let seen: Arc<dyn SeenRequests> = Arc::new(InMemorySeen::default());
    let b = approve_body();
    let sig = sign(SECRET, NOW, &b);
    let ts = NOW.to_string();
    let tampered = [b.as_slice(), b"&x=1"].concat();
    assert_eq!(
        run(
            &verifier_at(NOW, seen.clone()),
            Some(&ts),
            Some(&sig),
            &tampered
        ),
        Err(InteractivityError::BadSignature)
    );
    assert!(run(&verifier_at(NOW, seen), Some(&ts), Some(&sig), &b).is_ok());
}

struct BrokenStore;

impl SeenRequests for BrokenStore {
    fn first_time<'a>(&'a self, _: &'a str, _: SystemTime) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async { Err("ProvisionedThroughputExceeded".to_string()) })
    }
}

#[test]
fn a_failing_replay_store_refuses_rather_than_risk_a_replay() {
    let b = approve_body();
    let sig = sign(SECRET, NOW, &b);
    assert!(matches!(
        run(
            &verifier_at(NOW, Arc::new(BrokenStore)),
            Some(&NOW.to_string()),
            Some(&sig),
            &b
        ),
        Err(InteractivityError::SeenStore(_))
    ));
}

#[test]
fn users_off_the_approver_list_are_refused() {
    let b = body(
        "U0SOMEONE",
        "approve:vpc-cni-addon",
        r#"{"plan_id":"plan-1","action":"vpc-cni-addon"}"#,
    );
    let sig = sign(SECRET, NOW, &b);
    assert_eq!(
        run(&verifier(), Some(&NOW.to_string()), Some(&sig), &b),
        Err(InteractivityError::NotApprover("U0SOMEONE".into()))
    );
}

#[test]
fn malformed_payloads_are_refused_even_when_signed() {
    let cases: Vec<Vec<u8>> = vec![
        b"token=x&team_id=T0".to_vec(),
        b"payload=%7Bnot-json".to_vec(),
        form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "payload",
                r#"{"type":"view_submission","user":{"id":"U0APPROVER"}}"#,
            )
            .finish()
            .into_bytes(),
        body("U0APPROVER", "delete_everything", "plan-1:a"),
        body("U0APPROVER", "approve", "no-separator"),
        // The action_id and the value disagree on the action.
        body(
            "U0APPROVER",
            "approve:vpc-cni-addon",
            r#"{"plan_id":"plan-1","action":"ebs-volume"}"#,
        ),
    ];
    for (i, b) in cases.iter().enumerate() {
        let sig = sign(SECRET, NOW, b);
        assert!(
            matches!(
                run(&verifier(), Some(&NOW.to_string()), Some(&sig), b),
                Err(InteractivityError::MalformedPayload(_))
            ),
            "case {i}"
        );
    }
}

#[test]
fn the_verifier_debug_hides_the_signing_secret() {
    let d = format!("{:?}", verifier());
    assert!(
        !d.contains(&String::from_utf8_lossy(SECRET).to_string()),
        "{d}"
    );
}

/// The renderer's buttons, clicked: what Slack sends back for a button of the bot's message
/// verifies into the decision for that plan and action (guards the value format shared with
/// `eks_remedy_core::notify::slack`).
#[test]
fn the_rendered_approve_and_reject_buttons_round_trip_into_decisions() {
    use eks_remedy_core::notify::{slack, ActionView, IncidentView, PlanView};
    use eks_remedy_core::plan::Decision as Planned;

    let mut view = IncidentView::new("inc-1");
    view.plan = Some(PlanView {
        plan_id: "plan-0123456789abcdef".into(),
        actions: vec![ActionView {
            index: 0,
            id: "ebs-volume:i-0abc/root".into(),
            kind: "ebs-volume".into(),
            mode: "approve".into(),
            decision: Planned::AwaitApproval,
            summary: "grow the root volume".into(),
            status: Default::default(),
            by: None,
            detail: None,
        }],
    });
    let msg = slack::render(&view, slack::SlackOptions { buttons: true });
    let buttons: Vec<serde_json::Value> = msg["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(buttons.len(), 2, "{msg}");
    let mut choices = Vec::new();
    for b in &buttons {
        let body = body(
            "U0APPROVER",
            b["action_id"].as_str().expect("action_id"),
            b["value"].as_str().expect("value"),
        );
        let sig = sign(SECRET, NOW, &body);
        let d = run(&verifier(), Some(&NOW.to_string()), Some(&sig), &body).expect("valid");
        assert_eq!(d.plan_id, "plan-0123456789abcdef");
        // The renderer names an action by its index in the plan (`--action N` on the CLI).
        assert_eq!(d.action, "0");
        choices.push(d.choice);
    }
    assert_eq!(choices, vec![Choice::Approve, Choice::Reject]);
}
