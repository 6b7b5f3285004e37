//! SSM: runs the EKS Logs Collector on a node and uploads the bundle, by Run Command
//! (`AWS-RunShellScript`) or the `AWSSupport-CollectEKSInstanceLogs` automation.

use aws_sdk_ssm::Client;
use eks_remedy_pipeline::ports::CommandRunner;
use eks_remedy_pipeline::{CollectionMethod, PortError};

use crate::{classify, safe_token};

/// The collector on EKS AMIs.
pub const COLLECTOR: &str = "/etc/eks/log-collector-script/eks-log-collector.sh";
/// Run Command timeout: the collector takes minutes on a busy node.
pub const TIMEOUT_SECONDS: i32 = 1800;

/// The shell commands for one collection. `bucket` and `prefix` must have passed [`safe_token`].
pub fn script(bucket: &str, prefix: &str) -> Vec<String> {
    vec![
        "set -euo pipefail".into(),
        // The script ships on EKS AMIs; a node without it cannot be collected, say so plainly.
        format!("test -x {COLLECTOR} || {{ echo 'eks-remedy: {COLLECTOR} not found on this node' >&2; exit 3; }}"),
        format!("bash {COLLECTOR} > /var/log/eks-remedy-collector.out 2>&1"),
        "bundle=$(ls -t /var/log/eks_i-*.tar.gz | head -n 1)".into(),
        format!("aws s3 cp \"$bundle\" \"s3://{bucket}/{prefix}$(basename \"$bundle\")\""),
        "rm -f \"$bundle\"".into(),
    ]
}

/// The adapter.
pub struct Ssm {
    client: Client,
    method: CollectionMethod,
    automation_role: Option<String>,
}

impl Ssm {
    /// Wraps a client; `automation_role` is the role the automation assumes.
    pub fn new(client: Client, method: CollectionMethod, automation_role: Option<String>) -> Self {
        Ssm {
            client,
            method,
            automation_role,
        }
    }
}

impl CommandRunner for Ssm {
    async fn collect(
        &self,
        instance_id: &str,
        bucket: &str,
        prefix: &str,
    ) -> Result<String, PortError> {
        safe_token("instance id", instance_id)?;
        safe_token("bucket", bucket)?;
        safe_token("key prefix", prefix)?;
        match self.method {
            CollectionMethod::RunCommand => {
                let out = self
                    .client
                    .send_command()
                    .document_name("AWS-RunShellScript")
                    .instance_ids(instance_id)
                    .parameters("commands", script(bucket, prefix))
                    .parameters("executionTimeout", vec![TIMEOUT_SECONDS.to_string()])
                    .timeout_seconds(600)
                    .comment("eks-remedy log collection")
                    .send()
                    .await
                    .map_err(|e| classify("ssm", e))?;
                out.command()
                    .and_then(|c| c.command_id())
                    .map(str::to_string)
                    .ok_or_else(|| PortError::Transient {
                        service: "ssm",
                        message: "SendCommand returned no command id".into(),
                    })
            }
            CollectionMethod::Automation => {
                let mut req = self
                    .client
                    .start_automation_execution()
                    .document_name("AWSSupport-CollectEKSInstanceLogs")
                    .parameters("EKSInstanceId", vec![instance_id.to_string()])
                    .parameters("LogDestination", vec![bucket.to_string()]);
                if let Some(role) = &self.automation_role {
                    req = req.parameters("AutomationAssumeRole", vec![role.clone()]);
                }
                let out = req.send().await.map_err(|e| classify("ssm", e))?;
                out.automation_execution_id()
                    .map(str::to_string)
                    .ok_or_else(|| PortError::Transient {
                        service: "ssm",
                        message: "no automation execution id".into(),
                    })
            }
        }
    }
}
