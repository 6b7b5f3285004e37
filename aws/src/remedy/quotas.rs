//! Service Quotas: quotas (applied and default), open requests, increase requests.
//!
//! Documented errors and how they map: `NoSuchResourceException` → `None` (no applied value, or no
//! such quota); `ResourceAlreadyExistsException` → [`Requested::AlreadyOpen`];
//! `TooManyRequestsException` → throttled (retry); `ServiceException` (5xx) → transient (retry);
//! `AccessDeniedException`, `DependencyAccessDeniedException`, `IllegalArgumentException` (e.g. a
//! value not above the current one, or a quota that is not adjustable), `InvalidPaginationTokenException`,
//! `InvalidResourceStateException`, `QuotaExceededException` (too many open requests in the
//! account), `NoAvailableOrganizationException`, `OrganizationNotInAllFeaturesModeException`,
//! `TemplatesNotAvailableInRegionException`, `AWSServiceAccessNotEnabledException` → refused.

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_servicequotas::types::{
    RequestStatus as SdkStatus, RequestedServiceQuotaChange, ServiceQuota,
};
use aws_sdk_servicequotas::Client;
use eks_remedy_pipeline::remedy::ports::{
    QuotaApi, QuotaInfo, QuotaRequest, RequestStatus, Requested,
};
use eks_remedy_pipeline::PortError;

use super::code;
use crate::classify;

/// An answer of Service Quotas, with `NoSuchResourceException` (no applied value, unknown request)
/// read as "none" and every other error classified.
fn absent_is_none<T, E>(
    answer: Result<Option<T>, SdkError<E, HttpResponse>>,
) -> Result<Option<T>, PortError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match answer {
        Ok(v) => Ok(v),
        Err(e) if code(&e) == Some("NoSuchResourceException") => Ok(None),
        Err(e) => Err(classify(SERVICE, e)),
    }
}

const SERVICE: &str = "service-quotas";

/// The adapter.
pub struct Quotas {
    client: Client,
}

impl Quotas {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Quotas { client }
    }

    async fn history(
        &self,
        service_code: &str,
        quota_code: &str,
        status: SdkStatus,
    ) -> Result<Vec<QuotaRequest>, PortError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_requested_service_quota_change_history_by_quota()
            .service_code(service_code)
            .quota_code(quota_code)
            .status(status)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(SERVICE, e))?;
            out.extend(page.requested_quotas().iter().filter_map(request));
        }
        Ok(out)
    }
}

fn info(q: &ServiceQuota) -> Option<QuotaInfo> {
    Some(QuotaInfo {
        service_code: q.service_code()?.to_string(),
        quota_code: q.quota_code()?.to_string(),
        name: q.quota_name().unwrap_or_default().to_string(),
        value: q.value()?,
        adjustable: q.adjustable(),
    })
}

fn request(r: &RequestedServiceQuotaChange) -> Option<QuotaRequest> {
    Some(QuotaRequest {
        id: r.id()?.to_string(),
        case_id: r.case_id().map(str::to_string),
        service_code: r.service_code().unwrap_or_default().to_string(),
        quota_code: r.quota_code().unwrap_or_default().to_string(),
        desired_value: r.desired_value().unwrap_or_default(),
        status: RequestStatus::parse(r.status().map(|s| s.as_str()).unwrap_or_default()),
    })
}

impl QuotaApi for Quotas {
    async fn applied_quotas(&self, service_code: &str) -> Result<Vec<QuotaInfo>, PortError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_service_quotas()
            .service_code(service_code)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(SERVICE, e))?;
            out.extend(page.quotas().iter().filter_map(info));
        }
        Ok(out)
    }

    async fn default_quotas(&self, service_code: &str) -> Result<Vec<QuotaInfo>, PortError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_aws_default_service_quotas()
            .service_code(service_code)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(SERVICE, e))?;
            out.extend(page.quotas().iter().filter_map(info));
        }
        Ok(out)
    }

    async fn applied(
        &self,
        service_code: &str,
        quota_code: &str,
    ) -> Result<Option<QuotaInfo>, PortError> {
        absent_is_none(
            self.client
                .get_service_quota()
                .service_code(service_code)
                .quota_code(quota_code)
                .send()
                .await
                .map(|out| out.quota().and_then(info)),
        )
    }

    async fn default_quota(
        &self,
        service_code: &str,
        quota_code: &str,
    ) -> Result<Option<QuotaInfo>, PortError> {
        absent_is_none(
            self.client
                .get_aws_default_service_quota()
                .service_code(service_code)
                .quota_code(quota_code)
                .send()
                .await
                .map(|out| out.quota().and_then(info)),
        )
    }

    async fn open_requests(
        &self,
        service_code: &str,
        quota_code: &str,
    ) -> Result<Vec<QuotaRequest>, PortError> {
        let mut out = self
            .history(service_code, quota_code, SdkStatus::Pending)
            .await?;
        out.extend(
            self.history(service_code, quota_code, SdkStatus::CaseOpened)
                .await?,
        );
        Ok(out)
    }

    async fn request(&self, request_id: &str) -> Result<Option<QuotaRequest>, PortError> {
        absent_is_none(
            self.client
                .get_requested_service_quota_change()
                .request_id(request_id)
                .send()
                .await
                .map(|out| out.requested_quota().and_then(request)),
        )
    }

    async fn request_increase(
        &self,
        service_code: &str,
        quota_code: &str,
        desired_value: f64,
    ) -> Result<Requested, PortError> {
        match self
            .client
            .request_service_quota_increase()
            .service_code(service_code)
            .quota_code(quota_code)
            .desired_value(desired_value)
            .send()
            .await
        {
            Ok(out) => out
                .requested_quota()
                .and_then(request)
                .map(Requested::Created)
                .ok_or_else(|| PortError::Transient {
                    service: SERVICE,
                    message: "RequestServiceQuotaIncrease answered without a request id".into(),
                }),
            Err(e) if code(&e) == Some("ResourceAlreadyExistsException") => {
                Ok(Requested::AlreadyOpen)
            }
            Err(e) => Err(classify(SERVICE, e)),
        }
    }
}
