//! SSM: runs the EKS Logs Collector on a node, by Run Command with the stack's own collection
//! document (`CollectionDocument` in the template: the collector script, with the upload URL as
//! its only free input), or with the `AWSSupport-CollectEKSInstanceLogs` automation.
//!
//! With Run Command the node gets no S3 permission: this adapter pre-signs a PUT URL for exactly
//! the one key its bundle must land at and passes it to the document. The URL is a credential for
//! that key until it expires, so it is never logged (nor put in the command's comment).

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_ssm::Client;
use eks_remedy_pipeline::ports::CommandRunner;
use eks_remedy_pipeline::PortError;

use crate::{classify, safe_token};

/// How long the collection may run on the node (the document's `ExecutionTimeout`): the collector
/// takes minutes on a busy node.
pub const TIMEOUT_SECONDS: u64 = 1800;
/// How long SSM may wait for the node to pick the command up (`TimeoutSeconds` of SendCommand).
pub const DELIVERY_SECONDS: u64 = 600;
/// How long the upload URL is valid: the command's whole possible life and no longer. (The
/// template's bucket policy refuses pre-signed requests signed more than an hour before.)
pub const UPLOAD_URL_SECONDS: u64 = DELIVERY_SECONDS + TIMEOUT_SECONDS;

/// The automation runbook.
pub const RUNBOOK: &str = "AWSSupport-CollectEKSInstanceLogs";

enum Method {
    RunCommand {
        s3: aws_sdk_s3::Client,
        document: String,
    },
    Automation {
        role: Option<String>,
    },
}

/// The adapter.
pub struct Ssm {
    client: Client,
    method: Method,
}

impl Ssm {
    /// Run Command with `document` (the stack's collection document); `s3` signs the upload URLs
    /// (its credentials are the ones the node's upload acts with).
    pub fn run_command(
        client: Client,
        s3: aws_sdk_s3::Client,
        document: impl Into<String>,
    ) -> Self {
        Ssm {
            client,
            method: Method::RunCommand {
                s3,
                document: document.into(),
            },
        }
    }

    /// The automation runbook; `role` is the role it assumes (else it runs as the caller).
    pub fn automation(client: Client, role: Option<String>) -> Self {
        Ssm {
            client,
            method: Method::Automation { role },
        }
    }
}

/// A PUT URL for exactly `bucket`/`key`, valid for [`UPLOAD_URL_SECONDS`].
pub async fn upload_url(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<String, PortError> {
    let expiry =
        PresigningConfig::expires_in(Duration::from_secs(UPLOAD_URL_SECONDS)).map_err(|e| {
            PortError::Refused {
                service: "s3",
                message: format!("pre-signing: {e}"),
            }
        })?;
    let signed = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .presigned(expiry)
        .await
        .map_err(|e| classify("s3", e))?;
    Ok(signed.uri().to_string())
}

impl CommandRunner for Ssm {
    async fn collect(
        &self,
        instance_id: &str,
        bucket: &str,
        key: &str,
    ) -> Result<String, PortError> {
        safe_token("instance id", instance_id)?;
        safe_token("bucket", bucket)?;
        safe_token("key", key)?;
        match &self.method {
            Method::RunCommand { s3, document } => {
                let url = upload_url(s3, bucket, key).await?;
                let out = self
                    .client
                    .send_command()
                    .document_name(document)
                    .instance_ids(instance_id)
                    .parameters("UploadUrl", vec![url])
                    .parameters("ExecutionTimeout", vec![TIMEOUT_SECONDS.to_string()])
                    .timeout_seconds(DELIVERY_SECONDS as i32)
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
            Method::Automation { role } => {
                let mut req = self
                    .client
                    .start_automation_execution()
                    .document_name(RUNBOOK)
                    .parameters("EKSInstanceId", vec![instance_id.to_string()])
                    .parameters("LogDestination", vec![bucket.to_string()]);
                if let Some(role) = role {
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
