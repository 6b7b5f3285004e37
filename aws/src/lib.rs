//! # eks-remedy AWS adapters
//!
//! The pipeline's ports ([`eks_remedy_pipeline::ports`]) implemented with the AWS SDK for Rust. Every
//! SDK error is classified once, in [`classify`], into the pipeline's [`PortError`] kinds, keeping
//! the service's code and message. Clients use adaptive retry (see [`load_config`]) so the pipeline
//! does not add to the throttling it reacts to.
//!
//! | module | service | port |
//! |---|---|---|
//! | [`ec2`] | EC2 | `Ec2Directory` (cached instance-type limits, call counter) |
//! | [`eks`] | EKS | `ClusterDirectory` |
//! | [`store`] | DynamoDB | `IncidentStore` (one transaction per fold; TTL honoured on read) |
//! | [`queue`] | SQS | `CollectionQueue` |
//! | [`ssm`] | SSM | `CommandRunner` |
//! | [`lifecycle`] | Auto Scaling | `Lifecycle` |
//! | [`objects`] | S3 | `ObjectStore` (streaming GetObject) |
//! | [`publish`] | EventBridge | `FindingsPublisher` |
//! | [`views`] | DynamoDB | `ViewStore` (the notifier's views and rate limiters, conditional writes) |
//! | [`chat`] | SSM Parameter Store | `Channels` (chat targets, secrets from SecureString parameters) |
//! | [`sns`] | SNS | the Amazon Q Developer target's `Publisher` |
//! | [`interactivity`] | SSM, DynamoDB, SQS | the Slack interactivity function's `SigningSecret`, `SeenRequests`, `ApprovalQueue` |
//! | [`remedy`] | Service Quotas, EKS, EC2, DynamoDB | the remediator's APIs, ledger, audit log and state |

pub mod bootstrap;
pub mod chat;
pub mod ec2;
pub mod eks;
pub mod interactivity;
pub mod lifecycle;
pub mod objects;
pub mod publish;
pub mod queue;
pub mod remedy;
pub mod sns;
pub mod ssm;
pub mod store;
pub mod views;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use eks_remedy_pipeline::PortError;

/// Loads the shared SDK configuration: region and credentials from the environment, adaptive retry
/// (client-side rate limiting on throttling) with 5 attempts unless `AWS_MAX_ATTEMPTS` is set
/// (tests set 1, so a failure shows at once), and `AWS_ENDPOINT_URL` honoured by the SDK itself.
pub async fn load_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
        loader = loader.retry_config(RetryConfig::adaptive().with_max_attempts(5));
    }
    loader.load().await
}

/// Error codes that mean "slow down".
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "LimitExceededException",
];

/// Error codes that mean "no such thing".
const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "NotFound",
    "NoSuchKey",
    "NoSuchBucket",
    "InvalidInstanceID.NotFound",
    "InvalidInstanceId",
    "InvalidVolume.NotFound",
    "InvocationDoesNotExist",
    "InvalidNetworkInterfaceID.NotFound",
];

/// Classifies an SDK error (any service) into a [`PortError`].
pub fn classify<E>(service: &'static str, err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = aws_sdk_ec2::error::DisplayErrorContext(&err).to_string();
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            PortError::Transient { service, message }
        }
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or_default();
            let status = se.raw().status().as_u16();
            if THROTTLING.contains(&code) || status == 429 {
                PortError::Throttled { service, message }
            } else if NOT_FOUND.contains(&code) {
                PortError::NotFound { service, message }
            } else if status >= 500 {
                PortError::Transient { service, message }
            } else {
                PortError::Refused { service, message }
            }
        }
        _ => PortError::Refused { service, message },
    }
}

/// Rejects values that would be unsafe in a shell command or an S3 key (cluster names come from
/// instance tags, which anyone allowed to tag an instance can set).
pub fn safe_token(what: &str, v: &str) -> Result<(), PortError> {
    let ok = !v.is_empty()
        && v.len() <= 256
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':'))
        && !v.contains("..");
    if ok {
        Ok(())
    } else {
        Err(PortError::Refused {
            service: "eks-remedy",
            message: format!("{what} {v:?} has characters not allowed in a key or command"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::safe_token;

    #[test]
    fn tokens() {
        assert!(safe_token("cluster", "prod-cluster").is_ok());
        assert!(safe_token(
            "prefix",
            "bundles/prod/i-0abc/prod_throttling_20261019T0500/"
        )
        .is_ok());
        for bad in ["a b", "x;rm -rf /", "$(id)", "a`b`", "../etc", "", "q'uote"] {
            assert!(safe_token("v", bad).is_err(), "{bad}");
        }
    }
}
