//! Remediation adapters: [`eks_remedy_pipeline::remedy::ports`] implemented with the SDK.
//!
//! | module | service | port |
//! |---|---|---|
//! | [`quotas`] | Service Quotas | `QuotaApi` |
//! | [`addons`] | EKS | `AddonApi` |
//! | [`volumes`] | EC2 (EBS) | `VolumeApi` |
//! | [`ledger`] | DynamoDB | `ActionLedger`, `AuditLog` |
//!
//! Errors: an error code a port turns into an answer (`NoSuchResourceException` → `None`,
//! `ResourceAlreadyExistsException` → `Requested::AlreadyOpen`, `ResourceNotFoundException` for an
//! add-on → self-managed) is read here; everything else goes through [`crate::classify`], so
//! throttling and 5xx are retryable and other 4xx are refusals that keep the service's message.

pub mod addons;
pub mod ledger;
pub mod quotas;
pub mod volumes;

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};

/// The service's error code, when the service answered with one.
pub(crate) fn code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    match err {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

/// An SDK timestamp as chrono's.
pub(crate) fn time(t: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// AWS Support for accounts without a Business or Enterprise plan (`SUPPORT_PLAN` off, the
/// default): the executor never opens a case then (the case is prepared text in the plan), so
/// this is only reached if that invariant breaks, and it refuses rather than call the API.
pub struct NoSupportPlan;

impl eks_remedy_pipeline::remedy::ports::SupportApi for NoSupportPlan {
    async fn create_case(
        &self,
        case: &eks_remedy_pipeline::remedy::ports::SupportCase,
    ) -> Result<String, eks_remedy_pipeline::PortError> {
        Err(eks_remedy_pipeline::PortError::Refused {
            service: "support",
            message: format!(
                "not opening `{}`: the account has no support plan configured (SUPPORT_PLAN)",
                case.subject
            ),
        })
    }
}
