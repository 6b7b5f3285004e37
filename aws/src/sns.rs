//! SNS: the Amazon Q Developer target's publisher (`eks_remedy_chat::target::Publisher`).

use aws_sdk_sns::Client;
use eks_remedy_chat::target::{PublishError, Publisher};
use eks_remedy_chat::BoxFuture;

use crate::classify;

/// Publishes to one topic.
pub struct Sns {
    client: Client,
    topic_arn: String,
}

impl Sns {
    /// Wraps a client and the topic's ARN.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Sns {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

impl Publisher for Sns {
    fn publish<'a>(&'a self, message: &'a str) -> BoxFuture<'a, Result<(), PublishError>> {
        Box::pin(async move {
            self.client
                .publish()
                .topic_arn(&self.topic_arn)
                .message(message)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    let e = classify("sns", e);
                    if e.is_retryable() {
                        PublishError::Retryable(e.to_string())
                    } else {
                        PublishError::Permanent(e.to_string())
                    }
                })
        })
    }
}
