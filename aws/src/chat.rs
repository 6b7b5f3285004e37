//! The notifier's chat targets: which are configured (environment), their secrets (SSM
//! SecureString parameters, read with decryption on first use and kept for the container's life)
//! and the SNS publisher of the Amazon Q Developer target.
//!
//! | target | environment | the parameter holds |
//! |---|---|---|
//! | `slack` (bot) | `SLACK_BOT_TOKEN_PARAM`, `SLACK_CHANNEL` | the bot token `xoxb-…` |
//! | `slack-webhook` | `SLACK_WEBHOOK_PARAM` | the incoming webhook URL |
//! | `teams` | `TEAMS_WEBHOOK_PARAM` | the Workflows webhook URL |
//! | `webhook` | `WEBHOOK_PARAM` | `{"url": …, "signing_secret": …}` |
//! | `q` | `Q_TOPIC_ARN` | (no secret: IAM) |
//!
//! An empty or unset variable leaves its target off. `SLACK_API_URL` replaces Slack's API base
//! (tests point it at a local server). Secret values never reach a log line or an error: SSM
//! errors name the parameter, delivery errors the target.

use std::sync::Arc;

use bytes::Bytes;
use eks_remedy_chat::http::{HttpClient, HttpRequest, RetryPolicy, Verdict};
use eks_remedy_chat::secret::{Endpoint, Secret};
use eks_remedy_chat::target::{
    Publisher, Target, TargetConfig, TargetKind, TargetSecret, SLACK_API,
};
use eks_remedy_chat::DeliveryError;
use eks_remedy_core::notify::noise::Summary;
use eks_remedy_core::notify::{q, slack, teams};
use eks_remedy_pipeline::ports::Channels;
use eks_remedy_pipeline::{HandlerError, PortError};
use tokio::sync::OnceCell;

use crate::classify;

/// One configured target, before its secret is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Configured {
    /// Name and kind (and the Slack channel and API base).
    pub config: TargetConfig,
    /// The SSM parameter holding its secret (none for the SNS target).
    pub parameter: Option<String>,
}

/// Which targets the environment configures, in a fixed order.
pub fn configured(get: impl Fn(&str) -> Option<String>) -> Result<Vec<Configured>, HandlerError> {
    let get = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let target = |kind: TargetKind, parameter: Option<String>| Configured {
        config: TargetConfig {
            name: kind.as_str().to_string(),
            kind,
            channel: None,
            secret: parameter.clone(),
            api_base: None,
        },
        parameter,
    };
    let mut out = Vec::new();
    if let Some(p) = get("SLACK_BOT_TOKEN_PARAM") {
        let channel = get("SLACK_CHANNEL").ok_or_else(|| {
            HandlerError::Config(
                "environment variable SLACK_CHANNEL is not set (the Slack bot needs a channel)"
                    .into(),
            )
        })?;
        let mut t = target(TargetKind::Slack, Some(p));
        t.config.channel = Some(channel);
        t.config.api_base = get("SLACK_API_URL");
        out.push(t);
    }
    for (var, kind) in [
        ("SLACK_WEBHOOK_PARAM", TargetKind::SlackWebhook),
        ("TEAMS_WEBHOOK_PARAM", TargetKind::Teams),
        ("WEBHOOK_PARAM", TargetKind::Webhook),
    ] {
        if let Some(p) = get(var) {
            out.push(target(kind, Some(p)));
        }
    }
    if let Some(topic) = get("Q_TOPIC_ARN") {
        let mut t = target(TargetKind::Q, None);
        t.config.secret = Some(topic);
        out.push(t);
    }
    Ok(out)
}

/// The adapter: targets built once, on first use.
pub struct ChatTargets {
    ssm: aws_sdk_ssm::Client,
    sns: aws_sdk_sns::Client,
    configured: Vec<Configured>,
    ready: OnceCell<Ready>,
}

/// The targets, and what their summaries need (the same secrets and client).
struct Ready {
    targets: Vec<Box<dyn Target>>,
    client: HttpClient,
    resolved: Vec<Resolved>,
}

/// One target's configuration with its secret read.
struct Resolved {
    config: TargetConfig,
    secret: TargetSecret,
    publisher: Option<Arc<dyn Publisher>>,
}

impl ChatTargets {
    /// The targets of `configured`, reading secrets with `ssm` and publishing with `sns`.
    pub fn new(
        ssm: aws_sdk_ssm::Client,
        sns: aws_sdk_sns::Client,
        configured: Vec<Configured>,
    ) -> Self {
        ChatTargets {
            ssm,
            sns,
            configured,
            ready: OnceCell::new(),
        }
    }

    /// The decrypted value of a SecureString parameter.
    async fn secret(&self, parameter: &str) -> Result<Secret, PortError> {
        secure_string(&self.ssm, parameter).await
    }

    async fn build(&self) -> Result<Ready, PortError> {
        let refused = |message: String| PortError::Refused {
            service: "chat",
            message,
        };
        let client = HttpClient::new(RetryPolicy::default()).map_err(|e| refused(e.to_string()))?;
        let mut targets = Vec::with_capacity(self.configured.len());
        let mut resolved = Vec::with_capacity(self.configured.len());
        for c in &self.configured {
            let (secret, publisher) = match (&c.parameter, c.config.kind) {
                (_, TargetKind::Q) => {
                    let topic = c.config.secret.clone().unwrap_or_default();
                    let p: Arc<dyn Publisher> =
                        Arc::new(crate::sns::Sns::new(self.sns.clone(), topic));
                    (TargetSecret::default(), Some(p))
                }
                (Some(p), kind) => (TargetSecret::parse(kind, &self.secret(p).await?), None),
                (None, _) => (TargetSecret::default(), None),
            };
            let target = c
                .config
                .build(&secret, &client, publisher.clone())
                .map_err(|e| refused(e.to_string()))?;
            targets.push(target);
            resolved.push(Resolved {
                config: c.config.clone(),
                secret,
                publisher,
            });
        }
        tracing::info!(
            targets = %self.configured.iter().map(|c| c.config.name.as_str()).collect::<Vec<_>>().join(","),
            "chat targets ready"
        );
        Ok(Ready {
            targets,
            client,
            resolved,
        })
    }

    async fn ready(&self) -> Result<&Ready, PortError> {
        self.ready.get_or_try_init(|| self.build()).await
    }
}

/// POSTs `body` as JSON to `endpoint` for the target `name`; `slack` judges Slack Web API
/// answers (`{"ok": true}`), otherwise any 2xx is delivered.
async fn post(
    client: &HttpClient,
    name: &str,
    endpoint: Endpoint,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    body: &serde_json::Value,
    slack: bool,
) -> Result<(), DeliveryError> {
    let req = HttpRequest {
        endpoint,
        headers,
        content_type: "application/json; charset=utf-8",
        body: Bytes::from(body.to_string()),
    };
    client
        .post(name, &req, |r| {
            let ok = !slack
                || serde_json::from_slice::<serde_json::Value>(&r.body)
                    .ok()
                    .and_then(|v| v.get("ok").and_then(serde_json::Value::as_bool))
                    == Some(true);
            if ok {
                Verdict::Done(())
            } else {
                Verdict::Fail("Slack refused the summary".into())
            }
        })
        .await
}

impl Channels for ChatTargets {
    async fn targets(&self) -> Result<&[Box<dyn Target>], PortError> {
        self.ready().await.map(|r| r.targets.as_slice())
    }

    /// Slack (bot and webhook), Teams and Amazon Q get the summary; the generic webhook's
    /// receiver is a machine that reads every incident, so it gets none.
    async fn summary(&self, target: &str, summary: &Summary) -> Result<bool, DeliveryError> {
        let ready = self.ready().await.map_err(|e| DeliveryError::Retryable {
            target: target.to_string(),
            attempts: 1,
            reason: e.to_string(),
        })?;
        let Some(r) = ready.resolved.iter().find(|r| r.config.name == target) else {
            return Ok(false);
        };
        let name = r.config.name.as_str();
        let bad = |what: &str| DeliveryError::permanent(name, what);
        let url = || {
            r.secret
                .url
                .as_ref()
                .ok_or_else(|| bad("the webhook URL is missing"))
                .and_then(|u| Endpoint::parse(name, u).map_err(|e| bad(&e.to_string())))
        };
        match r.config.kind {
            TargetKind::Slack => {
                let token = r.secret.token.as_ref().ok_or_else(|| bad("no token"))?;
                let base = Secret::new(r.config.api_base.as_deref().unwrap_or(SLACK_API));
                let endpoint = Endpoint::parse(name, &base)
                    .and_then(|b| b.join(name, "chat.postMessage"))
                    .map_err(|e| bad(&e.to_string()))?;
                let mut bearer = http::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| bad("the token is not a valid header"))?;
                bearer.set_sensitive(true);
                let mut body = slack::render_summary(summary);
                if let (Some(o), Some(c)) = (body.as_object_mut(), &r.config.channel) {
                    o.insert("channel".into(), c.clone().into());
                }
                let auth = vec![(http::header::AUTHORIZATION, bearer)];
                post(&ready.client, name, endpoint, auth, &body, true).await?;
            }
            TargetKind::SlackWebhook => {
                let body = slack::render_summary(summary);
                post(&ready.client, name, url()?, Vec::new(), &body, false).await?;
            }
            TargetKind::Teams => {
                let body = teams::render_summary(summary);
                post(&ready.client, name, url()?, Vec::new(), &body, false).await?;
            }
            TargetKind::Q => {
                let Some(p) = &r.publisher else {
                    return Ok(false);
                };
                p.publish(&q::render_summary(summary).to_string())
                    .await
                    .map_err(|e| bad(&e.to_string()))?;
            }
            TargetKind::Webhook => return Ok(false),
        }
        Ok(true)
    }
}

/// The decrypted value of the SecureString parameter `name` (never logged); an empty one is
/// refused like an absent one.
pub(crate) async fn secure_string(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
) -> Result<Secret, PortError> {
    let out = ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| classify("ssm", e))?;
    out.parameter
        .and_then(|p| p.value)
        .filter(|v| !v.is_empty())
        .map(Secret::new)
        .ok_or_else(|| PortError::Refused {
            service: "ssm",
            message: format!("parameter {name} has no value"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn targets_are_on_only_when_named() {
        assert!(configured(env(&[("TEAMS_WEBHOOK_PARAM", " ")]))
            .unwrap()
            .is_empty());
        let all = configured(env(&[
            ("SLACK_BOT_TOKEN_PARAM", "/eks-remedy/slack"),
            ("SLACK_CHANNEL", "C0123"),
            ("SLACK_API_URL", "http://127.0.0.1:1/api/"),
            ("SLACK_WEBHOOK_PARAM", "/eks-remedy/hook"),
            ("TEAMS_WEBHOOK_PARAM", "/eks-remedy/teams"),
            ("WEBHOOK_PARAM", "/eks-remedy/webhook"),
            ("Q_TOPIC_ARN", "arn:aws:sns:us-east-1:111122223333:chat"),
        ]))
        .unwrap();
        let names: Vec<&str> = all.iter().map(|c| c.config.name.as_str()).collect();
        assert_eq!(names, ["slack", "slack-webhook", "teams", "webhook", "q"]);
        assert_eq!(all[0].config.channel.as_deref(), Some("C0123"));
        assert_eq!(
            all[0].config.api_base.as_deref(),
            Some("http://127.0.0.1:1/api/")
        );
        assert_eq!(all[4].parameter, None);
        let e = configured(env(&[("SLACK_BOT_TOKEN_PARAM", "/p")])).unwrap_err();
        assert!(e.to_string().contains("SLACK_CHANNEL"), "{e}");
    }
}
