//! The Slack interactivity function's adapters: the signing secret from Parameter Store, the
//! replay store in the pipeline's table, and the remediation queue.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use eks_remedy_chat::interactivity::SeenRequests;
use eks_remedy_chat::secret::Secret;
use eks_remedy_chat::BoxFuture;
use eks_remedy_pipeline::events::ApprovalRequest;
use eks_remedy_pipeline::handlers::interactivity::{ApprovalQueue, SigningSecret};
use eks_remedy_pipeline::PortError;

use crate::classify;
use crate::store::{n, put_if_absent, s};

/// A SecureString parameter holding the Slack app's signing secret.
pub struct SecretParameter {
    client: aws_sdk_ssm::Client,
    name: String,
}

impl SecretParameter {
    /// The parameter `name`.
    pub fn new(client: aws_sdk_ssm::Client, name: impl Into<String>) -> Self {
        SecretParameter {
            client,
            name: name.into(),
        }
    }
}

impl SigningSecret for SecretParameter {
    async fn signing_secret(&self) -> Result<Secret, PortError> {
        crate::chat::secure_string(&self.client, &self.name).await
    }
}

/// Handled Slack requests, one item each (`pk` `slack#seen#<signature>`), gone with the TTL.
pub struct SeenInTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl SeenInTable {
    /// Over `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        SeenInTable {
            client,
            table: table.into(),
        }
    }
}

fn epoch(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl SeenRequests for SeenInTable {
    fn first_time<'a>(
        &'a self,
        key: &'a str,
        expires_at: SystemTime,
    ) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let item: HashMap<String, AttributeValue> = HashMap::from([
                ("pk".to_string(), s(format!("slack#seen#{key}"))),
                ("expires_at".to_string(), n(epoch(expires_at))),
            ]);
            put_if_absent(&self.client, &self.table, item, epoch(SystemTime::now()))
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The remediation queue.
pub struct RemedyQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl RemedyQueue {
    /// The queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        RemedyQueue {
            client,
            url: url.into(),
        }
    }
}

impl ApprovalQueue for RemedyQueue {
    async fn send(&self, request: &ApprovalRequest) -> Result<(), PortError> {
        let body = serde_json::json!({ "approve": request }).to_string();
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| classify("sqs", e))?;
        Ok(())
    }
}
