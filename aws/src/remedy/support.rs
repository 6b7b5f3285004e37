//! AWS Support: `CreateCase` for the EC2 API rate-limit case, only used when the account has a
//! Business or Enterprise support plan (`SUPPORT_PLAN=true`; without one the API refuses every
//! call with `SubscriptionRequiredException`). The Support API has one endpoint, in us-east-1.
//!
//! Documented errors and how they map: `SubscriptionRequiredException` and
//! `CaseCreationLimitExceeded` → refused with the reason; `AttachmentSetIdNotFound`,
//! `AttachmentSetExpired` cannot happen (no attachments); throttling and 5xx through
//! [`crate::classify`].

use aws_sdk_support::Client;
use eks_remedy_pipeline::remedy::ports::{SupportApi, SupportCase};
use eks_remedy_pipeline::PortError;

use crate::classify;

/// The adapter.
pub struct Support {
    client: Client,
}

impl Support {
    /// A client for the Support API from the shared configuration, in us-east-1 whatever the
    /// function's own Region.
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        let config = aws_sdk_support::config::Builder::from(sdk)
            .region(aws_config::Region::new("us-east-1"))
            .build();
        Support {
            client: Client::from_conf(config),
        }
    }
}

impl SupportApi for Support {
    async fn create_case(&self, case: &SupportCase) -> Result<String, PortError> {
        let out = self
            .client
            .create_case()
            .subject(&case.subject)
            .communication_body(&case.body)
            .service_code(&case.service_code)
            .category_code(&case.category_code)
            .severity_code("normal")
            .issue_type("technical")
            .language("en")
            .send()
            .await;
        match out {
            Ok(o) => o.case_id.ok_or_else(|| PortError::Refused {
                service: "support",
                message: "CreateCase answered without a case id".into(),
            }),
            Err(e) => {
                let refusal = match super::code(&e) {
                    Some("SubscriptionRequiredException") => Some(
                        "the account has no Business or Enterprise support plan: set SupportPlan=false and file the prepared case by hand",
                    ),
                    Some("CaseCreationLimitExceeded") => {
                        Some("the account's case creation limit is reached")
                    }
                    _ => None,
                };
                Err(match refusal {
                    Some(message) => PortError::Refused {
                        service: "support",
                        message: message.into(),
                    },
                    None => classify("support", e),
                })
            }
        }
    }
}
