//! The Slack interactivity function through `serve`, fed function URL requests as Lambda delivers
//! them (form bodies plain and base64-encoded) carrying Slack's `block_actions` payload, signed
//! with the app's secret the way Slack signs them.

#![allow(clippy::expect_used, clippy::unwrap_used)] // tests fail by panicking

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use eks_remedy_chat::http::Clock;
use eks_remedy_chat::interactivity::{sign, InMemorySeen};
use eks_remedy_chat::secret::Secret;
use eks_remedy_pipeline::events::{ApprovalRequest, Verdict};
use eks_remedy_pipeline::function::{serve, FunctionId, Invocation};
use eks_remedy_pipeline::handlers::interactivity::{
    ApprovalQueue, SigningSecret, SlackInteractivity,
};
use eks_remedy_pipeline::PortError;
use serde_json::{json, Value};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW: u64 = 1_792_390_520;

#[derive(Default)]
struct Queue {
    sent: Mutex<Vec<ApprovalRequest>>,
    down: bool,
}

impl ApprovalQueue for Queue {
    async fn send(&self, r: &ApprovalRequest) -> Result<(), PortError> {
        if self.down {
            return Err(PortError::Transient {
                service: "sqs",
                message: "503".into(),
            });
        }
        self.sent.lock().unwrap().push(r.clone());
        Ok(())
    }
}

struct Fixed;

impl SigningSecret for Fixed {
    async fn signing_secret(&self) -> Result<Secret, PortError> {
        Ok(Secret::new(SECRET))
    }
}

struct At(u64);

impl Clock for At {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0)
    }
}

fn function(queue: Queue) -> SlackInteractivity<Queue, Fixed> {
    SlackInteractivity::new(
        queue,
        Fixed,
        Arc::new(InMemorySeen::default()),
        &[
            "arn:aws:iam::111122223333:role/OnCall".into(),
            "slack:U0APPROVER".into(),
        ],
    )
    .with_clock(Arc::new(At(NOW)))
}

fn payload() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/slack/block-actions-approve.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// The function URL request Slack's POST becomes: form body, Slack's headers, no IAM caller.
fn request(payload: &Value, ts: u64, secret: &str, base64: bool) -> Value {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let signature = sign(secret.as_bytes(), ts, body.as_bytes());
    let mut req: Value = serde_json::from_str(include_str!(
        "../../tests/fixtures/events/function-url-approve.json"
    ))
    .unwrap();
    req["requestContext"]["authorizer"] = Value::Null;
    req["headers"] = json!({
        "content-type": "application/x-www-form-urlencoded",
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "x-slack-request-timestamp": ts.to_string(),
        "x-slack-signature": signature,
        "host": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws",
    });
    req["isBase64Encoded"] = json!(base64);
    req["body"] = json!(if base64 {
        base64::engine::general_purpose::STANDARD.encode(body.as_bytes())
    } else {
        body
    });
    req
}

async fn call(f: &SlackInteractivity<Queue, Fixed>, req: Value) -> (u64, Value) {
    let inv = Invocation::from_arn(
        "r",
        "arn:aws:lambda:us-east-1:111122223333:function:eks-remedy-SlackInteractivity",
    );
    let out = serve(FunctionId::SlackInteractivity.spec(), f, req, &inv)
        .await
        .unwrap();
    let body = out["body"].as_str().unwrap_or_default();
    (
        out["statusCode"].as_u64().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_signed_click_from_an_approver_is_queued_once() {
    let f = function(Queue::default());
    for base64 in [true, false] {
        let mut p = payload();
        // A different click each round (Slack signs each request anew).
        p["actions"][0]["action_ts"] = json!(format!("1792390512.{base64}"));
        let (status, body) = call(&f, request(&p, NOW - 10, SECRET, base64)).await;
        assert_eq!(status, 200, "{body}");
    }
    let sent = f.queue().sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0],
        ApprovalRequest {
            plan_id: "plan-0123456789abcdef".into(),
            action: Some(0),
            verdict: Verdict::Approve,
            by: Some("slack:U0APPROVER".into()),
        }
    );
    // The same request again (a replay) is refused and queues nothing.
    let (status, _) = call(&f, request(&payload(), NOW - 10, SECRET, true)).await;
    assert_eq!(status, 200);
    let (status, body) = call(&f, request(&payload(), NOW - 10, SECRET, true)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(f.queue().sent.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn unverified_or_unlisted_clicks_are_refused_and_nothing_is_queued() {
    let f = function(Queue::default());
    let p = payload();
    let cases = [
        (
            "wrong secret",
            request(&p, NOW, "not-the-secret", true),
            401,
        ),
        (
            "older than five minutes",
            request(&p, NOW - 301, SECRET, true),
            401,
        ),
        ("from the future", request(&p, NOW + 301, SECRET, true), 401),
        (
            "no signature",
            {
                let mut r = request(&p, NOW, SECRET, true);
                r["headers"]
                    .as_object_mut()
                    .unwrap()
                    .remove("x-slack-signature");
                r
            },
            401,
        ),
        (
            "body changed after signing",
            {
                let mut r = request(&p, NOW, SECRET, false);
                let b = r["body"]
                    .as_str()
                    .unwrap()
                    .replace("approve%3A0", "approve%3A1");
                r["body"] = json!(b);
                r
            },
            401,
        ),
        (
            "a user not on the list",
            {
                let mut q = p.clone();
                q["user"]["id"] = json!("U0STRANGER");
                request(&q, NOW, SECRET, true)
            },
            403,
        ),
        (
            "an IAM approver's ARN is not a Slack user",
            {
                let mut q = p.clone();
                q["user"]["id"] = json!("arn:aws:iam::111122223333:role/OnCall");
                request(&q, NOW, SECRET, true)
            },
            403,
        ),
        (
            "not a button",
            {
                let mut q = p.clone();
                q["type"] = json!("view_submission");
                request(&q, NOW, SECRET, true)
            },
            400,
        ),
        (
            "a button of another app",
            {
                let mut q = p.clone();
                q["actions"][0]["action_id"] = json!("open_ticket");
                request(&q, NOW, SECRET, true)
            },
            400,
        ),
        (
            "a GET",
            {
                let mut r = request(&p, NOW, SECRET, true);
                r["requestContext"]["http"]["method"] = json!("GET");
                r
            },
            405,
        ),
    ];
    for (what, req, want) in cases {
        let (status, body) = call(&f, req).await;
        assert_eq!(status, want, "{what}: {body}");
    }
    assert!(f.queue().sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_queue_failure_asks_for_another_click() {
    let f = function(Queue {
        down: true,
        ..Queue::default()
    });
    let (status, body) = call(&f, request(&payload(), NOW, SECRET, true)).await;
    assert_eq!(status, 503, "{body}");
}
