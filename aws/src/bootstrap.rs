//! What every function's `main` does before serving: read settings, build clients once.

use aws_config::SdkConfig;
use eks_remedy_pipeline::{CollectionMethod, Config, HandlerError};

/// A required environment variable.
pub fn env(name: &str) -> Result<String, HandlerError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| HandlerError::Config(format!("environment variable {name} is not set")))
}

/// The pipeline settings from the environment.
pub fn pipeline_config() -> Result<Config, HandlerError> {
    Config::from_env(|k| std::env::var(k).ok())
}

/// SDK clients built from one shared configuration.
pub struct Clients {
    /// The loaded configuration.
    pub sdk: SdkConfig,
}

impl Clients {
    /// Loads the configuration (see [`crate::load_config`]).
    pub async fn load() -> Clients {
        Clients {
            sdk: crate::load_config().await,
        }
    }
    /// EC2 adapter.
    pub fn ec2(&self) -> crate::ec2::Ec2 {
        crate::ec2::Ec2::new(aws_sdk_ec2::Client::new(&self.sdk))
    }
    /// EKS adapter.
    pub fn eks(&self) -> crate::eks::Eks {
        crate::eks::Eks::new(aws_sdk_eks::Client::new(&self.sdk))
    }
    /// DynamoDB store on `TABLE_NAME`.
    pub fn store(&self) -> Result<crate::store::Store, HandlerError> {
        Ok(crate::store::Store::new(
            aws_sdk_dynamodb::Client::new(&self.sdk),
            env("TABLE_NAME")?,
        ))
    }
    /// Collection queue at `COLLECTION_QUEUE_URL`.
    pub fn queue(&self) -> Result<crate::queue::Queue, HandlerError> {
        Ok(crate::queue::Queue::new(
            aws_sdk_sqs::Client::new(&self.sdk),
            env("COLLECTION_QUEUE_URL")?,
        ))
    }
    /// SSM runner: Run Command with the document named by `COLLECTION_DOCUMENT` (required for
    /// that method), or the automation with the role in `AUTOMATION_ROLE_ARN` (optional: the
    /// template sets it empty unless CollectionMethod=automation).
    pub fn ssm(&self, cfg: &Config) -> Result<crate::ssm::Ssm, HandlerError> {
        let client = aws_sdk_ssm::Client::new(&self.sdk);
        Ok(match cfg.method {
            CollectionMethod::RunCommand => crate::ssm::Ssm::run_command(
                client,
                crate::objects::client(&self.sdk),
                env("COLLECTION_DOCUMENT")?,
            ),
            CollectionMethod::Automation => {
                crate::ssm::Ssm::automation(client, env("AUTOMATION_ROLE_ARN").ok())
            }
        })
    }
    /// Auto Scaling lifecycle adapter.
    pub fn lifecycle(&self) -> crate::lifecycle::AutoScaling {
        crate::lifecycle::AutoScaling::new(aws_sdk_autoscaling::Client::new(&self.sdk))
    }
    /// S3 adapter.
    pub fn objects(&self) -> crate::objects::Objects {
        crate::objects::Objects::new(crate::objects::client(&self.sdk))
    }
    /// Findings publisher on `FINDINGS_BUS`.
    pub fn publisher(&self) -> Result<crate::publish::Publisher, HandlerError> {
        Ok(crate::publish::Publisher::new(
            aws_sdk_eventbridge::Client::new(&self.sdk),
            env("FINDINGS_BUS")?,
        ))
    }
}

/// Turns a handler result for a directly invoked function into the Lambda answer: acknowledged
/// outcomes succeed (with a summary), retryable and dead-letter ones fail so Lambda retries them and
/// then sends them to the function's dead-letter queue.
pub fn answer<T: serde::Serialize>(
    what: &str,
    r: Result<T, HandlerError>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    match r {
        Ok(v) => Ok(serde_json::json!({ "ok": true, "result": serde_json::to_value(v)? })),
        Err(e) => {
            if crate::settle_direct(what, &e) {
                Err(Box::new(e))
            } else {
                Ok(serde_json::json!({ "ok": false, "acknowledged": e.to_string() }))
            }
        }
    }
}
