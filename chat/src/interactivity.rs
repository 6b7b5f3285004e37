//! Slack interactivity: a button click on the bot's message, verified and turned into a decision.
//!
//! Checks, in order (each failure has its own [`InteractivityError`]):
//! 1. both headers present (`X-Slack-Request-Timestamp`, `X-Slack-Signature`);
//! 2. the timestamp within five minutes of the (injected) clock;
//! 3. `X-Slack-Signature` = `v0=` + hex HMAC-SHA256(signing secret, `v0:{timestamp}:{raw body}`),
//!    compared in constant time. A body changed in transit and a wrong signing secret look the
//!    same here: both are [`InteractivityError::BadSignature`];
//! 4. not seen before ([`SeenRequests`], keyed by the signature, so only genuine requests are
//!    stored and an attacker cannot fill the store);
//! 5. the `payload=` form field parses as a `block_actions` click on an approve or reject button;
//! 6. the clicking user is on the approver list.
//!
//! Buttons as [`eks_remedy_core::notify::slack`] renders them: `action_id` `approve:<action id>` or
//! `reject:<action id>`, `value` `{"plan_id": …, "action": …}`. The shorter form `action_id`
//! `approve` / `reject` with `value` `<plan_id>:<action id>` is accepted too (plan ids never
//! contain `:`; action ids may, e.g. `recommendation:<rule>`).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::Clock;
use crate::secret::Secret;
use crate::signing::{hmac_sha256_verify, within};
use crate::target::MessageRef;
use crate::BoxFuture;

/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Slack's window for the timestamp.
pub const WINDOW: Duration = Duration::from_secs(300);

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Choice {
    /// Run the action.
    Approve,
    /// Do not.
    Reject,
}

/// A verified click from an approver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The plan.
    pub plan_id: String,
    /// The action's id within the plan.
    pub action: String,
    /// Approve or reject.
    pub choice: Choice,
    /// Slack user id of who clicked (`U…` / `W…`).
    pub user_id: String,
    /// Their user name, when Slack sent it (display only).
    pub user_name: Option<String>,
    /// Where to answer the click (valid 30 minutes, 5 uses); kept only when it is an `https` URL
    /// on Slack's own hooks host, so a payload can never point the function elsewhere.
    pub response_url: Option<String>,
    /// The message clicked, to update it with the result.
    pub message: Option<MessageRef>,
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InteractivityError {
    /// A required header is absent.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The timestamp is not Unix seconds, or is more than five minutes from now.
    #[error("the request timestamp is missing, malformed or older than five minutes")]
    StaleTimestamp,
    /// The signature is malformed or does not match the body (wrong secret, or the body changed).
    #[error("the signature does not match")]
    BadSignature,
    /// This exact request was already handled.
    #[error("the request was already handled (replay)")]
    Replay,
    /// The payload is not a button click this app rendered.
    #[error("malformed payload: {0}")]
    MalformedPayload(String),
    /// The user may not approve.
    #[error("Slack user {0} is not on the approver list")]
    NotApprover(String),
    /// The replay store failed; the request is refused rather than risk a replay.
    #[error("the replay store failed: {0}")]
    SeenStore(String),
}

/// Remembers handled requests (in-memory for tests; DynamoDB with a TTL in the function).
pub trait SeenRequests: Send + Sync {
    /// Records `key` until `expires_at`; `Ok(false)` when it was already recorded (a replay).
    /// Must be atomic (a DynamoDB conditional put), so two copies racing cannot both pass.
    fn first_time<'a>(
        &'a self,
        key: &'a str,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<bool, String>>;
}

/// [`SeenRequests`] in memory, for tests and short-lived processes: it never forgets (expiry is
/// the durable store's business).
#[derive(Debug, Default)]
pub struct InMemorySeen {
    keys: Mutex<HashMap<String, SystemTime>>,
}

impl SeenRequests for InMemorySeen {
    fn first_time<'a>(
        &'a self,
        key: &'a str,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let mut keys = self
                .keys
                .lock()
                .map_err(|_| "the store's lock is poisoned".to_string())?;
            Ok(keys.insert(key.to_string(), expires_at).is_none())
        })
    }
}

/// One callback as received: the two headers and the raw body.
#[derive(Debug, Clone, Copy)]
pub struct SlackRequest<'a> {
    /// `X-Slack-Request-Timestamp`.
    pub timestamp: Option<&'a str>,
    /// `X-Slack-Signature`.
    pub signature: Option<&'a str>,
    /// The raw body, exactly as received (decoded from base64 if the function URL encoded it).
    pub body: &'a [u8],
}

impl<'a> SlackRequest<'a> {
    /// From a header map (header names are case-insensitive there).
    pub fn from_headers(headers: &'a HeaderMap, body: &'a [u8]) -> SlackRequest<'a> {
        SlackRequest {
            timestamp: headers.get(TIMESTAMP_HEADER).and_then(|v| v.to_str().ok()),
            signature: headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()),
            body,
        }
    }
}

/// Verifies callbacks for one Slack app.
#[derive(Clone)]
pub struct Verifier {
    signing_secret: Secret,
    approvers: BTreeSet<String>,
    clock: Arc<dyn Clock>,
    seen: Arc<dyn SeenRequests>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("signing_secret", &self.signing_secret)
            .field("approvers", &self.approvers)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier with the app's signing secret and the Slack user ids allowed to decide.
    pub fn new(
        signing_secret: Secret,
        approvers: impl IntoIterator<Item = String>,
        clock: Arc<dyn Clock>,
        seen: Arc<dyn SeenRequests>,
    ) -> Verifier {
        Verifier {
            signing_secret,
            approvers: approvers.into_iter().collect(),
            clock,
            seen,
        }
    }

    /// Verifies `req` and returns the decision it carries.
    pub async fn verify(&self, req: SlackRequest<'_>) -> Result<Decision, InteractivityError> {
        let ts = req.timestamp.ok_or(InteractivityError::MissingHeader(
            "X-Slack-Request-Timestamp",
        ))?;
        let sig = req
            .signature
            .ok_or(InteractivityError::MissingHeader("X-Slack-Signature"))?;
        let ts_n: u64 = ts
            .trim()
            .parse()
            .map_err(|_| InteractivityError::StaleTimestamp)?;
        let now = self.clock.now();
        if !within(ts_n, now, WINDOW) {
            return Err(InteractivityError::StaleTimestamp);
        }
        let tag = sig
            .trim()
            .strip_prefix("v0=")
            .and_then(|h| hex::decode(h).ok())
            .ok_or(InteractivityError::BadSignature)?;
        if !hmac_sha256_verify(
            self.signing_secret.expose().as_bytes(),
            &[b"v0:", ts.as_bytes(), b":", req.body],
            &tag,
        ) {
            return Err(InteractivityError::BadSignature);
        }
        // Kept a little longer than the window: after that the timestamp check refuses it.
        let expires = now + WINDOW + WINDOW;
        // Keyed by the signature's bytes, not its text: hex decodes either case, so the text of
        // one request has many spellings that would each pass as new.
        match self.seen.first_time(&hex::encode(&tag), expires).await {
            Ok(true) => {}
            Ok(false) => return Err(InteractivityError::Replay),
            Err(e) => return Err(InteractivityError::SeenStore(e)),
        }
        let decision = parse_payload(req.body)?;
        if !self.approvers.contains(&decision.user_id) {
            return Err(InteractivityError::NotApprover(decision.user_id));
        }
        Ok(decision)
    }
}

/// The signature Slack would send for `body` at `timestamp` (tests, local tools).
pub fn sign(signing_secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    format!(
        "v0={}",
        hex::encode(crate::signing::hmac_sha256(
            signing_secret,
            &[b"v0:", ts.as_bytes(), b":", body]
        ))
    )
}

/// Parses the form-encoded body's `payload` field into a decision.
pub fn parse_payload(body: &[u8]) -> Result<Decision, InteractivityError> {
    let bad = |s: &str| InteractivityError::MalformedPayload(s.to_string());
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| bad("no payload field"))?;
    let v: Value = serde_json::from_str(&payload).map_err(|_| bad("payload is not JSON"))?;
    if v.get("type").and_then(Value::as_str) != Some("block_actions") {
        return Err(bad("not a block_actions payload"));
    }
    let user_id = v
        .pointer("/user/id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("no user id"))?
        .to_string();
    let user_name = v
        .pointer("/user/username")
        .or_else(|| v.pointer("/user/name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let action = v.pointer("/actions/0").ok_or_else(|| bad("no action"))?;
    let action_id = action
        .get("action_id")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no action_id"))?;
    let choice = match action_id
        .split_once(':')
        .map_or(action_id, |(verb, _)| verb)
    {
        "approve" => Choice::Approve,
        "reject" => Choice::Reject,
        _ => return Err(bad("not an approve or reject button")),
    };
    let value = action
        .get("value")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("no button value"))?;
    let (plan_id, action_ref) =
        button_value(value).ok_or_else(|| bad("unreadable button value"))?;
    // The action id is in the action_id too when rendered as `approve:<id>`: both must agree.
    if let Some((_, id)) = action_id.split_once(':') {
        if id != action_ref {
            return Err(bad("action_id and value name different actions"));
        }
    }
    let channel = v
        .pointer("/container/channel_id")
        .or_else(|| v.pointer("/channel/id"))
        .and_then(Value::as_str);
    let ts = v
        .pointer("/container/message_ts")
        .or_else(|| v.pointer("/message/ts"))
        .and_then(Value::as_str);
    Ok(Decision {
        plan_id,
        action: action_ref,
        choice,
        user_id,
        user_name,
        response_url: v
            .get("response_url")
            .and_then(Value::as_str)
            .filter(|u| slack_hook_url(u))
            .map(str::to_string),
        message: match (channel, ts) {
            (Some(c), Some(t)) => Some(MessageRef {
                channel: c.into(),
                ts: t.into(),
            }),
            _ => None,
        },
    })
}

/// Whether `u` is an `https` URL on Slack's hooks host (commercial or GovSlack).
fn slack_hook_url(u: &str) -> bool {
    ["https://hooks.slack.com/", "https://hooks.slack-gov.com/"]
        .iter()
        .any(|p| u.starts_with(p))
}

/// `{"plan_id": …, "action": …}` or `<plan_id>:<action id>`.
fn button_value(value: &str) -> Option<(String, String)> {
    let (plan, action) = if value.trim_start().starts_with('{') {
        let v: Value = serde_json::from_str(value).ok()?;
        (
            v.get("plan_id")?.as_str()?.to_string(),
            v.get("action")?.as_str()?.to_string(),
        )
    } else {
        let (p, a) = value.split_once(':')?;
        (p.to_string(), a.to_string())
    };
    (!plan.is_empty() && !action.is_empty()).then_some((plan, action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_slack_hook_urls_are_kept_as_response_urls() {
        assert!(slack_hook_url("https://hooks.slack.com/actions/T0/1/abc"));
        assert!(slack_hook_url(
            "https://hooks.slack-gov.com/actions/T0/1/abc"
        ));
        assert!(!slack_hook_url("http://hooks.slack.com/actions/T0/1/abc"));
        assert!(!slack_hook_url("https://hooks.slack.com.evil.example/x"));
        assert!(!slack_hook_url("https://169.254.169.254/latest/meta-data/"));
    }

    #[test]
    fn both_button_value_forms_read_the_same() {
        let a = button_value(r#"{"plan_id":"plan-1a2b","action":"recommendation:ebs"}"#);
        let b = button_value("plan-1a2b:recommendation:ebs");
        assert_eq!(a, Some(("plan-1a2b".into(), "recommendation:ebs".into())));
        assert_eq!(a, b);
        assert_eq!(button_value("no-colon"), None);
        assert_eq!(button_value(":x"), None);
        assert_eq!(button_value(r#"{"plan_id":"p"}"#), None);
    }
}
