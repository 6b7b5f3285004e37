//! SQS: the collection queue.

use aws_sdk_sqs::Client;
use eks_remedy_pipeline::model::CollectionRequest;
use eks_remedy_pipeline::ports::CollectionQueue;
use eks_remedy_pipeline::PortError;

use crate::classify;

/// The adapter.
pub struct Queue {
    client: Client,
    url: String,
}

impl Queue {
    /// Wraps a client and the queue URL.
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Queue {
            client,
            url: url.into(),
        }
    }
}

impl CollectionQueue for Queue {
    async fn enqueue(
        &self,
        request: &CollectionRequest,
        delay_seconds: u32,
    ) -> Result<(), PortError> {
        let body = serde_json::to_string(request).map_err(|e| PortError::Refused {
            service: "sqs",
            message: e.to_string(),
        })?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(i32::try_from(delay_seconds.min(900)).unwrap_or(900))
            .send()
            .await
            .map_err(|e| classify("sqs", e))?;
        Ok(())
    }
}
