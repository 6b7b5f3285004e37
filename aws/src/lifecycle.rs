//! Auto Scaling: completing launch lifecycle actions.

use aws_sdk_autoscaling::Client;
use eks_remedy_pipeline::ports::Lifecycle;
use eks_remedy_pipeline::PortError;

use crate::classify;

/// The adapter.
pub struct AutoScaling {
    client: Client,
}

impl AutoScaling {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        AutoScaling { client }
    }
}

impl Lifecycle for AutoScaling {
    async fn proceed(
        &self,
        asg: &str,
        hook: &str,
        token: &str,
        instance_id: &str,
    ) -> Result<(), PortError> {
        self.client
            .complete_lifecycle_action()
            .auto_scaling_group_name(asg)
            .lifecycle_hook_name(hook)
            .lifecycle_action_token(token)
            .instance_id(instance_id)
            .lifecycle_action_result("CONTINUE")
            .send()
            .await
            .map_err(|e| classify("autoscaling", e))?;
        Ok(())
    }
}
