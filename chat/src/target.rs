//! Targets: where messages go, behind one small trait.
//!
//! | kind | sends | updates in place |
//! |---|---|---|
//! | [`SlackBot`] | `chat.postMessage`, then `chat.update` of that `ts`; a thread reply per state change | yes |
//! | [`Hook::slack_webhook`] | the same blocks to an incoming webhook | no: open and state changes |
//! | [`Hook::teams`] | the Adaptive Card envelope to a Workflows webhook | no: open and state changes |
//! | [`QTarget`] | SNS in the Amazon Q Developer format, through a [`Publisher`] | threads by incident |
//! | [`Webhook`] | the incident view, HMAC-signed ([`crate::signing`]) | every real change |
//!
//! Payloads come from the pure renderers of [`eks_remedy_core::notify`]; [`Target::payload`] is
//! exactly the body [`Target::deliver`] sends, so a dry run shows the real thing.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use eks_remedy_core::notify::{self, slack::SlackOptions, Change, IncidentView};
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::DeliveryError;
use crate::http::{retry_after, HttpClient, HttpRequest, HttpResponse, Verdict};
use crate::secret::{Endpoint, EndpointError, Secret};
use crate::signing;
use crate::BoxFuture;

/// The kinds of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// Slack bot (Web API).
    Slack,
    /// Slack incoming webhook.
    SlackWebhook,
    /// Microsoft Teams Workflows webhook.
    Teams,
    /// SNS in the Amazon Q Developer custom-notification format.
    Q,
    /// Generic signed JSON webhook.
    Webhook,
}

impl TargetKind {
    /// Every kind.
    pub const ALL: [TargetKind; 5] = [
        TargetKind::Slack,
        TargetKind::SlackWebhook,
        TargetKind::Teams,
        TargetKind::Q,
        TargetKind::Webhook,
    ];

    /// The name used in configuration and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Slack => "slack",
            TargetKind::SlackWebhook => "slack-webhook",
            TargetKind::Teams => "teams",
            TargetKind::Q => "q",
            TargetKind::Webhook => "webhook",
        }
    }

    /// Whether the target gets a message on every real change (it edits its message in place, or
    /// its receiver is a machine that wants every state) rather than on open and state changes
    /// only (each message is a new post).
    pub fn every_change(self) -> bool {
        matches!(self, TargetKind::Slack | TargetKind::Webhook)
    }
}

/// The first message a target of `kind` gets for `view`: exactly what [`Target::payload`] and
/// [`Target::deliver`] send (the Slack bot with approval buttons, posting to `channel`), without
/// needing a secret, for dry runs and previews.
pub fn first_payload(kind: TargetKind, view: &IncidentView, channel: Option<&str>) -> Value {
    match kind {
        TargetKind::Slack => {
            let mut body = notify::slack::render(view, SlackOptions { buttons: true });
            if let (Value::Object(o), Some(c)) = (&mut body, channel) {
                o.insert("channel".into(), c.into());
            }
            body
        }
        TargetKind::SlackWebhook => notify::slack::render(view, SlackOptions { buttons: false }),
        TargetKind::Teams => notify::teams::render(view),
        TargetKind::Q => notify::q::render(view),
        TargetKind::Webhook => notify::webhook::render(view),
    }
}

/// Whether a change moves the incident's state (worth a new post or a thread reply), rather than
/// adding detail (a finding or node more, a severity up) that an in-place update shows.
pub fn is_state_change(c: &Change) -> bool {
    matches!(
        c,
        Change::Opened
            | Change::Plan { .. }
            | Change::CollectionFailed { .. }
            | Change::Quota { .. }
            | Change::Resolved
            | Change::Reopened
    )
}

/// Where the Slack bot's message is: what `chat.update` and thread replies need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    /// Channel id, as `chat.postMessage` answered it.
    pub channel: String,
    /// The message's `ts`.
    pub ts: String,
}

/// One place messages go.
pub trait Target: Send + Sync {
    /// The configured name (what errors and logs show).
    fn name(&self) -> &str;
    /// The kind.
    fn kind(&self) -> TargetKind;
    /// The body [`Target::deliver`] sends for `view` (the first request when there are several).
    fn payload(&self, view: &IncidentView, message: Option<&MessageRef>) -> Value;
    /// Sends `view`, announcing `changes` (those since the last delivery that reached this
    /// target). `message` is the Slack bot's message: read to update it, written as soon as a new
    /// one is posted, so a failure after the post never posts twice.
    fn deliver<'a>(
        &'a self,
        view: &'a IncidentView,
        changes: &'a [Change],
        message: &'a mut Option<MessageRef>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>>;
}

// ---------------------------------------------------------------------------------------------
// Slack bot

/// The Slack Web API's public base.
pub const SLACK_API: &str = "https://slack.com/api/";

/// Slack `error` codes worth a retry (the rest are permanent: `invalid_auth`, `not_in_channel`,
/// `channel_not_found`, `msg_too_long`, `msg_blocks_too_long`, `invalid_blocks`, …).
const SLACK_RETRYABLE: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// Slack `error` codes of `chat.update` after which a new message is posted instead.
const SLACK_REPOST: &[&str] = &[
    "message_not_found",
    "cant_update_message",
    "edit_window_closed",
];

/// A Slack error code as received, cut to a safe shape: it goes into error text and logs.
fn slack_code(v: &Value) -> String {
    let code = v.get("error").and_then(Value::as_str).unwrap_or("unknown");
    if !code.is_empty()
        && code.len() <= 64
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        code.to_string()
    } else {
        "unknown".into()
    }
}

/// Judges a Slack Web API answer: `Done(Ok(body))`, `Done(Err(code))` for the codes after which
/// the caller posts anew, retry or fail.
fn judge_slack(
    resp: &HttpResponse,
    repost_codes: &[&str],
    now: SystemTime,
) -> Verdict<Result<Value, String>> {
    let Ok(v) = serde_json::from_slice::<Value>(&resp.body) else {
        return Verdict::Retry {
            reason: "Slack answered something other than JSON".into(),
            after: None,
        };
    };
    if v.get("ok").and_then(Value::as_bool) == Some(true) {
        return Verdict::Done(Ok(v));
    }
    let code = slack_code(&v);
    if repost_codes.contains(&code.as_str()) {
        Verdict::Done(Err(code))
    } else if SLACK_RETRYABLE.contains(&code.as_str()) {
        Verdict::Retry {
            after: resp
                .headers
                .get(RETRY_AFTER)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| retry_after(h, now)),
            reason: format!("Slack error `{code}`"),
        }
    } else {
        Verdict::Fail(format!("Slack error `{code}`"))
    }
}

/// The Slack bot: posts once, then edits that message; state changes also get a thread reply.
/// Needs the `chat:write` scope (and the bot invited to the channel).
#[derive(Debug, Clone)]
pub struct SlackBot {
    name: String,
    token: Secret,
    channel: String,
    api: Endpoint,
    buttons: bool,
    client: HttpClient,
}

impl SlackBot {
    /// A bot posting to `channel` (id or name) with the bot token `token` (`xoxb-…`).
    pub fn new(
        name: &str,
        token: Secret,
        channel: &str,
        client: HttpClient,
    ) -> Result<SlackBot, EndpointError> {
        Ok(SlackBot {
            name: name.into(),
            token,
            channel: channel.into(),
            api: Endpoint::parse(name, &Secret::new(SLACK_API))?,
            buttons: true,
            client,
        })
    }

    /// Another API base (a test server on 127.0.0.1, a proxy).
    pub fn with_api_base(mut self, base: &str) -> Result<SlackBot, EndpointError> {
        self.api = Endpoint::parse(&self.name, &Secret::new(base))?;
        Ok(self)
    }

    /// Whether approvals are buttons (the app has interactivity) or the `eks-remedy approve`
    /// command. On by default.
    pub fn with_buttons(mut self, buttons: bool) -> SlackBot {
        self.buttons = buttons;
        self
    }

    fn message(&self, view: &IncidentView) -> Value {
        notify::slack::render(
            view,
            SlackOptions {
                buttons: self.buttons,
            },
        )
    }

    async fn call(
        &self,
        method: &str,
        body: &Value,
        repost_codes: &[&str],
    ) -> Result<Result<Value, String>, DeliveryError> {
        let endpoint = self
            .api
            .join(&self.name, method)
            .map_err(|e| DeliveryError::permanent(&self.name, e.to_string()))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", self.token.expose()))
            .map_err(|_| DeliveryError::permanent(&self.name, "the token is not a valid header"))?;
        let mut bearer = bearer;
        bearer.set_sensitive(true);
        let req = HttpRequest {
            endpoint,
            headers: vec![(AUTHORIZATION, bearer)],
            content_type: "application/json; charset=utf-8",
            body: Bytes::from(body.to_string()),
        };
        let now = self.client.now();
        self.client
            .post(&self.name, &req, |r| judge_slack(r, repost_codes, now))
            .await
    }

    async fn run(
        &self,
        view: &IncidentView,
        changes: &[Change],
        message: &mut Option<MessageRef>,
    ) -> Result<(), DeliveryError> {
        if let Some(m) = message.clone() {
            match self
                .call("chat.update", &self.payload(view, Some(&m)), SLACK_REPOST)
                .await?
            {
                Ok(_) => {}
                Err(code) => {
                    // Deleted or too old to edit: the incident gets a fresh message.
                    tracing::info!(target_name = %self.name, %code, "message cannot be updated, posting a new one");
                    *message = None;
                }
            }
        }
        if message.is_none() {
            let answer = self
                .call("chat.postMessage", &self.payload(view, None), &[])
                .await?
                .map_err(|code| {
                    DeliveryError::permanent(&self.name, format!("Slack error `{code}`"))
                })?;
            let ts = answer.get("ts").and_then(Value::as_str);
            let channel = answer
                .get("channel")
                .and_then(Value::as_str)
                .unwrap_or(&self.channel);
            let Some(ts) = ts else {
                return Err(DeliveryError::permanent(
                    &self.name,
                    "Slack answered ok without a message ts",
                ));
            };
            *message = Some(MessageRef {
                channel: channel.into(),
                ts: ts.into(),
            });
        }
        if let (Some(text), Some(m)) = (thread_reply(changes), message.as_ref()) {
            let reply = json!({
                "channel": m.channel,
                "thread_ts": m.ts,
                "text": text,
                "unfurl_links": false,
                "unfurl_media": false,
            });
            self.call("chat.postMessage", &reply, &[])
                .await?
                .map_err(|code| {
                    DeliveryError::permanent(&self.name, format!("Slack error `{code}`"))
                })?;
        }
        Ok(())
    }
}

/// Lines of one thread reply at most; the message itself shows the whole state.
const REPLY_LINES: usize = 20;

/// The thread reply announcing `changes` (mrkdwn), or `None` when none is a state change.
fn thread_reply(changes: &[Change]) -> Option<String> {
    let lines: Vec<String> = changes
        .iter()
        .filter(|c| is_state_change(c) && !matches!(c, Change::Opened))
        .map(change_line)
        .collect();
    if lines.is_empty() {
        return None;
    }
    let mut text = lines
        .iter()
        .take(REPLY_LINES)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > REPLY_LINES {
        text.push_str(&format!(
            "\n… and {} more: see the message above",
            lines.len() - REPLY_LINES
        ));
    }
    Some(text)
}

/// One line of a thread reply: core's wording of the change (it can carry node ids and states from
/// the outside), made plain, cut, escaped for mrkdwn and kept from opening a code span.
fn change_line(c: &Change) -> String {
    let plain = notify::plain(&c.describe()).replace('`', "ˋ");
    format!("• {}", notify::slack::escape(&notify::cut(&plain, 200)))
}

impl Target for SlackBot {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> TargetKind {
        TargetKind::Slack
    }

    fn payload(&self, view: &IncidentView, message: Option<&MessageRef>) -> Value {
        let mut body = self.message(view);
        if let Value::Object(o) = &mut body {
            match message {
                Some(m) => {
                    o.insert("channel".into(), m.channel.clone().into());
                    o.insert("ts".into(), m.ts.clone().into());
                    // `chat.update` takes no unfurl flags; the post's settings stay.
                    o.remove("unfurl_links");
                    o.remove("unfurl_media");
                }
                None => {
                    o.insert("channel".into(), self.channel.clone().into());
                }
            }
        }
        body
    }

    fn deliver<'a>(
        &'a self,
        view: &'a IncidentView,
        changes: &'a [Change],
        message: &'a mut Option<MessageRef>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.run(view, changes, message))
    }
}

// ---------------------------------------------------------------------------------------------
// Webhooks

/// A webhook that can only post (it cannot edit an earlier message): a Slack incoming webhook
/// (the bot's blocks without buttons, answers `ok`) or a Microsoft Teams Workflows webhook ("When a
/// Teams webhook request is received": the Adaptive Card in a `message` envelope, answers 202).
#[derive(Debug, Clone)]
pub struct Hook {
    name: String,
    kind: TargetKind,
    url: Endpoint,
    client: HttpClient,
}

impl Hook {
    /// A Slack incoming webhook at `url` (`https://hooks.slack.com/services/…`, itself a secret).
    pub fn slack_webhook(
        name: &str,
        url: &Secret,
        client: HttpClient,
    ) -> Result<Hook, EndpointError> {
        Hook::new(name, TargetKind::SlackWebhook, url, client)
    }

    /// A Teams Workflows webhook at `url` (itself a secret: it carries the flow's signature).
    pub fn teams(name: &str, url: &Secret, client: HttpClient) -> Result<Hook, EndpointError> {
        Hook::new(name, TargetKind::Teams, url, client)
    }

    fn new(
        name: &str,
        kind: TargetKind,
        url: &Secret,
        client: HttpClient,
    ) -> Result<Hook, EndpointError> {
        Ok(Hook {
            name: name.into(),
            kind,
            url: Endpoint::parse(name, url)?,
            client,
        })
    }
}

impl Target for Hook {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> TargetKind {
        self.kind
    }

    fn payload(&self, view: &IncidentView, _: Option<&MessageRef>) -> Value {
        first_payload(self.kind, view, None)
    }

    fn deliver<'a>(
        &'a self,
        view: &'a IncidentView,
        _: &'a [Change],
        _: &'a mut Option<MessageRef>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        let req = HttpRequest {
            endpoint: self.url.clone(),
            headers: Vec::new(),
            content_type: "application/json",
            body: Bytes::from(self.payload(view, None).to_string()),
        };
        Box::pin(async move {
            self.client
                .post(&self.name, &req, |_| Verdict::Done(()))
                .await
        })
    }
}

/// The generic JSON webhook: the incident view, signed per [`crate::signing`].
#[derive(Debug, Clone)]
pub struct Webhook {
    name: String,
    url: Endpoint,
    signing_secret: Secret,
    client: HttpClient,
}

impl Webhook {
    /// A webhook at `url`, signed with `signing_secret`.
    pub fn new(
        name: &str,
        url: &Secret,
        signing_secret: Secret,
        client: HttpClient,
    ) -> Result<Webhook, EndpointError> {
        Ok(Webhook {
            name: name.into(),
            url: Endpoint::parse(name, url)?,
            signing_secret,
            client,
        })
    }

    async fn run(&self, view: &IncidentView) -> Result<(), DeliveryError> {
        let body = Bytes::from(self.payload(view, None).to_string());
        // Signed once: retries resend the same bytes and the same timestamp, well within the
        // receiver's five-minute window.
        let ts = self
            .client
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let sig = signing::sign(self.signing_secret.expose().as_bytes(), ts, &body);
        let headers = vec![
            (
                HeaderName::from_static(signing::TIMESTAMP_HEADER),
                HeaderValue::from(ts),
            ),
            (
                HeaderName::from_static(signing::SIGNATURE_HEADER),
                HeaderValue::from_str(&sig)
                    .map_err(|_| DeliveryError::permanent(&self.name, "bad signature header"))?,
            ),
        ];
        let req = HttpRequest {
            endpoint: self.url.clone(),
            headers,
            content_type: "application/json",
            body,
        };
        self.client
            .post(&self.name, &req, |_| Verdict::Done(()))
            .await
    }
}

impl Target for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> TargetKind {
        TargetKind::Webhook
    }

    fn payload(&self, view: &IncidentView, _: Option<&MessageRef>) -> Value {
        first_payload(TargetKind::Webhook, view, None)
    }

    fn deliver<'a>(
        &'a self,
        view: &'a IncidentView,
        _: &'a [Change],
        _: &'a mut Option<MessageRef>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(self.run(view))
    }
}

// ---------------------------------------------------------------------------------------------
// SNS for Amazon Q Developer

/// Why a publish failed; the SDK adapter maps its errors onto these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// Throttling, a 5xx, a timeout: try again later.
    #[error("{0}")]
    Retryable(String),
    /// Authorization, a missing topic, a message too large.
    #[error("{0}")]
    Permanent(String),
}

/// Publishes one message to an SNS topic (implemented with the SDK in the `aws` crate). The
/// message is the JSON of [`notify::q::render`]; Amazon Q Developer drops anything not in its
/// format.
pub trait Publisher: Send + Sync {
    /// Publishes `message`.
    fn publish<'a>(&'a self, message: &'a str) -> BoxFuture<'a, Result<(), PublishError>>;
}

/// SNS in the Amazon Q Developer custom-notification format (`threadId` = incident id).
#[derive(Clone)]
pub struct QTarget {
    name: String,
    publisher: Arc<dyn Publisher>,
}

impl std::fmt::Debug for QTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QTarget").field("name", &self.name).finish()
    }
}

impl QTarget {
    /// Publishes through `publisher`.
    pub fn new(name: &str, publisher: Arc<dyn Publisher>) -> QTarget {
        QTarget {
            name: name.into(),
            publisher,
        }
    }
}

impl Target for QTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> TargetKind {
        TargetKind::Q
    }

    fn payload(&self, view: &IncidentView, _: Option<&MessageRef>) -> Value {
        first_payload(TargetKind::Q, view, None)
    }

    fn deliver<'a>(
        &'a self,
        view: &'a IncidentView,
        _: &'a [Change],
        _: &'a mut Option<MessageRef>,
    ) -> BoxFuture<'a, Result<(), DeliveryError>> {
        Box::pin(async move {
            let message = self.payload(view, None).to_string();
            self.publisher.publish(&message).await.map_err(|e| match e {
                PublishError::Retryable(reason) => DeliveryError::Retryable {
                    target: self.name.clone(),
                    attempts: 1,
                    reason,
                },
                PublishError::Permanent(reason) => DeliveryError::permanent(&self.name, reason),
            })
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration

/// A target as configured (no secret in it: `secret` names where the secret is kept, and the
/// caller resolves it: the function from Secrets Manager or SSM, the CLI from the environment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct TargetConfig {
    /// What errors and logs call it (e.g. `slack-ops`).
    pub name: String,
    /// The kind.
    pub kind: TargetKind,
    /// Slack bot: the channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Where the secret is (Secrets Manager ARN or name, SSM parameter); resolved by the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Slack bot: another API base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
}

/// What a target's secret holds once resolved: a bare value (the Slack token or the webhook URL)
/// or a JSON object `{"url": …, "token": …, "signing_secret": …}` (the generic webhook needs both
/// a URL and a signing secret).
#[derive(Debug, Clone, Default)]
pub struct TargetSecret {
    /// The Slack bot token.
    pub token: Option<Secret>,
    /// The webhook URL.
    pub url: Option<Secret>,
    /// The generic webhook's signing secret.
    pub signing_secret: Option<Secret>,
}

impl TargetSecret {
    /// Reads a secret string as stored for a target of `kind`.
    pub fn parse(kind: TargetKind, raw: &Secret) -> TargetSecret {
        #[derive(Deserialize)]
        struct Fields {
            token: Option<String>,
            url: Option<String>,
            signing_secret: Option<String>,
        }
        if let Ok(f) = serde_json::from_str::<Fields>(raw.expose()) {
            return TargetSecret {
                token: f.token.map(Secret::new),
                url: f.url.map(Secret::new),
                signing_secret: f.signing_secret.map(Secret::new),
            };
        }
        match kind {
            TargetKind::Slack => TargetSecret {
                token: Some(raw.clone()),
                ..TargetSecret::default()
            },
            _ => TargetSecret {
                url: Some(raw.clone()),
                ..TargetSecret::default()
            },
        }
    }
}

/// A configuration that cannot make a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required part is missing (named, never shown).
    #[error("{target}: {what} is missing")]
    Missing {
        /// The target's name.
        target: String,
        /// What: `the channel`, `the token`, …
        what: &'static str,
    },
    /// The URL was refused.
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
}

impl TargetConfig {
    /// Builds the target from its resolved `secret`; SNS targets take `publisher`.
    pub fn build(
        &self,
        secret: &TargetSecret,
        client: &HttpClient,
        publisher: Option<Arc<dyn Publisher>>,
    ) -> Result<Box<dyn Target>, ConfigError> {
        let missing = |what| ConfigError::Missing {
            target: self.name.clone(),
            what,
        };
        let url = || {
            secret
                .url
                .as_ref()
                .ok_or_else(|| missing("the webhook URL"))
        };
        Ok(match self.kind {
            TargetKind::Slack => {
                let token = secret
                    .token
                    .clone()
                    .ok_or_else(|| missing("the bot token"))?;
                let channel = self
                    .channel
                    .as_deref()
                    .ok_or_else(|| missing("the channel"))?;
                let mut bot = SlackBot::new(&self.name, token, channel, client.clone())?;
                if let Some(base) = &self.api_base {
                    bot = bot.with_api_base(base)?;
                }
                Box::new(bot)
            }
            TargetKind::SlackWebhook => {
                Box::new(Hook::slack_webhook(&self.name, url()?, client.clone())?)
            }
            TargetKind::Teams => Box::new(Hook::teams(&self.name, url()?, client.clone())?),
            TargetKind::Webhook => Box::new(Webhook::new(
                &self.name,
                url()?,
                secret
                    .signing_secret
                    .clone()
                    .ok_or_else(|| missing("the signing secret"))?,
                client.clone(),
            )?),
            TargetKind::Q => Box::new(QTarget::new(
                &self.name,
                publisher.ok_or_else(|| missing("the SNS publisher"))?,
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_error_codes_are_cut_to_a_safe_shape() {
        assert_eq!(
            slack_code(&json!({"error": "invalid_auth"})),
            "invalid_auth"
        );
        assert_eq!(
            slack_code(&json!({"error": "xoxb-1234 <!channel>"})),
            "unknown"
        );
        assert_eq!(slack_code(&json!({})), "unknown");
    }

    #[test]
    fn a_secret_is_a_bare_value_or_json_fields() {
        let s = TargetSecret::parse(TargetKind::Slack, &Secret::new("xoxb-1"));
        assert_eq!(s.token.as_ref().map(Secret::expose), Some("xoxb-1"));
        let s = TargetSecret::parse(
            TargetKind::Webhook,
            &Secret::new(r#"{"url":"https://x.example/h","signing_secret":"k"}"#),
        );
        assert_eq!(
            s.url.as_ref().map(Secret::expose),
            Some("https://x.example/h")
        );
        assert_eq!(s.signing_secret.as_ref().map(Secret::expose), Some("k"));
        let s = TargetSecret::parse(TargetKind::Teams, &Secret::new("https://t.example/w"));
        assert_eq!(
            s.url.as_ref().map(Secret::expose),
            Some("https://t.example/w")
        );
        assert!(format!("{s:?}").contains("redacted") && !format!("{s:?}").contains("t.example"));
    }

    #[test]
    fn thread_replies_are_inert_and_bounded() {
        assert_eq!(
            thread_reply(&[Change::Opened, Change::NewNode { node: "i-1".into() }]),
            None
        );
        let hostile = thread_reply(&[
            Change::CollectionFailed {
                node: "i-1` <!channel>\n*x*".into(),
            },
            Change::Plan {
                what: "<http://evil.example|approved> by <@U123>".into(),
            },
        ])
        .expect("two state changes");
        assert_eq!(
            hostile,
            "• collection failed on i-1ˋ &lt;!channel&gt; *x*\n\
             • plan: &lt;http://evil.example|approved&gt; by &lt;@U123&gt;"
        );
        let many: Vec<Change> = (0..30)
            .map(|i| Change::Quota {
                what: format!("q{i}: APPROVED"),
            })
            .collect();
        let r = thread_reply(&many).expect("reply");
        assert_eq!(r.lines().count(), REPLY_LINES + 1);
        assert!(r.ends_with("… and 10 more: see the message above"));
    }

    #[test]
    fn state_changes_are_the_ones_that_move_the_incident() {
        assert!(is_state_change(&Change::Resolved));
        assert!(is_state_change(&Change::Plan { what: "x".into() }));
        assert!(!is_state_change(&Change::NewFinding { rule: "r".into() }));
        assert!(!is_state_change(&Change::SeverityUp { rule: "r".into() }));
    }
}
