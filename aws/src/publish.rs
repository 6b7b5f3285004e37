//! EventBridge: the findings event on the pipeline's bus.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use eks_remedy_pipeline::ports::FindingsPublisher;
use eks_remedy_pipeline::PortError;

use crate::classify;

/// Source of the events this pipeline publishes.
pub const SOURCE: &str = "eks-remedy";

/// The adapter.
pub struct Publisher {
    client: Client,
    bus: String,
}

impl Publisher {
    /// Wraps a client and the bus name.
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Publisher {
            client,
            bus: bus.into(),
        }
    }
}

impl FindingsPublisher for Publisher {
    async fn publish(
        &self,
        detail_type: &str,
        detail: &serde_json::Value,
    ) -> Result<(), PortError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(detail_type)
            .detail(detail.to_string())
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| classify("events", e))?;
        if out.failed_entry_count() > 0 {
            let why = out
                .entries()
                .iter()
                .filter_map(|e| e.error_message())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(PortError::Transient {
                service: "events",
                message: format!("PutEvents failed: {why}"),
            });
        }
        Ok(())
    }
}
