//! Slack interactivity: the Approve and Reject buttons of the incident message land on this
//! function's URL. It answers within Slack's 3 seconds by doing only the checks and a queue write:
//! the signature (HMAC over `v0:timestamp:body` in constant time, 5-minute window), replays, the
//! approver list; then the verified decision goes on the remediation queue, where the remediation
//! function re-checks its guards and acts, and the notifier updates the message with who decided
//! and what happened.
//!
//! | answer | when |
//! |---|---|
//! | 200 | verified and queued |
//! | 400 | not a button click of ours |
//! | 401 | missing or stale timestamp, bad signature |
//! | 403 | the Slack user is not on the approver list |
//! | 405 | not `POST` |
//! | 409 | the exact request was handled before (a replay) |
//! | 503 | the secret, the replay store or the queue failed: click again |

use std::future::Future;
use std::sync::Arc;

use eks_remedy_chat::http::{Clock, SystemClock};
use eks_remedy_chat::interactivity::{
    Choice, InteractivityError, SeenRequests, SlackRequest, Verifier, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};
use eks_remedy_chat::secret::Secret;
use serde_json::json;

use super::remediator::HttpAnswer;
use crate::events::{ApprovalRequest, HttpRequest, Inbound, Verdict};
use crate::function::{Handler, Invocation};
use crate::{HandlerError, PortError};

/// Where verified decisions go: the remediation function's queue.
pub trait ApprovalQueue: Send + Sync {
    /// Sends one approval request.
    fn send(&self, request: &ApprovalRequest)
        -> impl Future<Output = Result<(), PortError>> + Send;
}

/// The Slack app's signing secret (an SSM SecureString in the function).
pub trait SigningSecret: Send + Sync {
    /// Reads it.
    fn signing_secret(&self) -> impl Future<Output = Result<Secret, PortError>> + Send;
}

/// The interactivity function.
pub struct SlackInteractivity<Q, K> {
    queue: Q,
    secret: K,
    seen: Arc<dyn SeenRequests>,
    approvers: Vec<String>,
    clock: Arc<dyn Clock>,
    verifier: tokio::sync::OnceCell<Verifier>,
}

impl<Q: ApprovalQueue, K: SigningSecret> SlackInteractivity<Q, K> {
    /// The handler. `approvers` is the remediation approver list: its `slack:U…` entries are the
    /// Slack users who may click.
    pub fn new(queue: Q, secret: K, seen: Arc<dyn SeenRequests>, approvers: &[String]) -> Self {
        SlackInteractivity {
            queue,
            secret,
            seen,
            approvers: approvers
                .iter()
                .filter_map(|a| a.strip_prefix("slack:"))
                .map(str::to_string)
                .collect(),
            clock: Arc::new(SystemClock),
            verifier: tokio::sync::OnceCell::new(),
        }
    }

    /// Uses `clock` for the timestamp window.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The queue (tests read what was sent).
    pub fn queue(&self) -> &Q {
        &self.queue
    }

    async fn verifier(&self) -> Result<&Verifier, PortError> {
        self.verifier
            .get_or_try_init(|| async {
                let secret = self.secret.signing_secret().await?;
                Ok(Verifier::new(
                    secret,
                    self.approvers.clone(),
                    self.clock.clone(),
                    self.seen.clone(),
                ))
            })
            .await
    }

    async fn click(&self, r: &HttpRequest) -> HttpAnswer {
        if r.method != "POST" {
            return answer(405, "only POST from Slack is served here");
        }
        let verifier = match self.verifier().await {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "signing secret not readable");
                return answer(503, "the signing secret is not readable; try again");
            }
        };
        let req = SlackRequest {
            timestamp: r.headers.get(TIMESTAMP_HEADER).map(String::as_str),
            signature: r.headers.get(SIGNATURE_HEADER).map(String::as_str),
            body: &r.body,
        };
        let decision = match verifier.verify(req).await {
            Ok(d) => d,
            Err(e) => {
                let status = match e {
                    InteractivityError::MissingHeader(_)
                    | InteractivityError::StaleTimestamp
                    | InteractivityError::BadSignature => 401,
                    InteractivityError::Replay => 409,
                    InteractivityError::MalformedPayload(_) => 400,
                    InteractivityError::NotApprover(_) => 403,
                    InteractivityError::SeenStore(_) => 503,
                };
                tracing::warn!(status, error = %e, "Slack callback refused");
                return answer(status, &e.to_string());
            }
        };
        let Ok(action) = decision.action.parse::<usize>() else {
            return answer(400, "the button names no action index");
        };
        let request = ApprovalRequest {
            plan_id: decision.plan_id.clone(),
            action: Some(action),
            verdict: match decision.choice {
                Choice::Approve => Verdict::Approve,
                Choice::Reject => Verdict::Reject,
            },
            by: Some(format!("slack:{}", decision.user_id)),
        };
        if let Err(e) = self.queue.send(&request).await {
            tracing::error!(error = %e, plan = %request.plan_id, "approval not queued");
            return answer(503, "the decision could not be queued; click again");
        }
        tracing::info!(plan = %request.plan_id, action, by = ?request.by, verdict = ?request.verdict, "decision queued");
        // Slack shows nothing for an empty 200; the message itself changes once the
        // remediation function has acted.
        HttpAnswer {
            status_code: 200,
            headers: Default::default(),
            body: String::new(),
        }
    }
}

fn answer(status: u16, message: &str) -> HttpAnswer {
    HttpAnswer {
        status_code: status,
        headers: [("content-type".to_string(), "application/json".to_string())].into(),
        body: json!({ "error": message }).to_string(),
    }
}

impl<Q: ApprovalQueue, K: SigningSecret> Handler for SlackInteractivity<Q, K> {
    type Answer = HttpAnswer;

    async fn handle(&self, event: Inbound, _inv: &Invocation) -> Result<HttpAnswer, HandlerError> {
        match event {
            Inbound::Http(r) => Ok(self.click(&r).await),
            _ => Err(HandlerError::Event(crate::events::EventError::Invalid {
                what: "event",
                reason: "the interactivity function serves its URL only".into(),
            })),
        }
    }
}
