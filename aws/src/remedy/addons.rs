//! EKS managed add-ons: state, configuration schema, updates.
//!
//! Documented errors and how they map: `ResourceNotFoundException` → `None` for `DescribeAddon`
//! (a self-managed CNI) and `DescribeUpdate`, not found elsewhere; `InvalidParameterException`
//! (e.g. `configurationValues` the schema rejects), `InvalidRequestException`, `ClientException`,
//! `ResourceInUseException` (an update already running), `AccessDeniedException` → refused;
//! `ServerException` (5xx) → transient; throttling → throttled.

use aws_sdk_eks::types::ResolveConflicts;
use aws_sdk_eks::Client;
use eks_remedy_pipeline::remedy::ports::{AddonApi, AddonState, AddonUpdate, AddonUpdateRequest};
use eks_remedy_pipeline::PortError;

use super::code;
use crate::classify;

/// The adapter.
pub struct Addons {
    client: Client,
}

impl Addons {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Addons { client }
    }
}

fn update(u: &aws_sdk_eks::types::Update) -> AddonUpdate {
    AddonUpdate {
        id: u.id().unwrap_or_default().to_string(),
        status: u
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        errors: u
            .errors()
            .iter()
            .filter_map(|e| e.error_message().map(str::to_string))
            .collect(),
    }
}

impl AddonApi for Addons {
    async fn addon(&self, cluster: &str, addon: &str) -> Result<Option<AddonState>, PortError> {
        match self
            .client
            .describe_addon()
            .cluster_name(cluster)
            .addon_name(addon)
            .send()
            .await
        {
            Ok(out) => Ok(out.addon().map(|a| AddonState {
                version: a.addon_version().unwrap_or_default().to_string(),
                configuration_values: a.configuration_values().map(str::to_string),
                status: a
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            })),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(classify("eks", e)),
        }
    }

    async fn configuration_schema(&self, addon: &str, version: &str) -> Result<String, PortError> {
        let out = self
            .client
            .describe_addon_configuration()
            .addon_name(addon)
            .addon_version(version)
            .send()
            .await
            .map_err(|e| classify("eks", e))?;
        out.configuration_schema()
            .map(str::to_string)
            .ok_or_else(|| PortError::Refused {
                service: "eks",
                message: format!("{addon} {version} publishes no configuration schema"),
            })
    }

    async fn update_status(
        &self,
        cluster: &str,
        addon: &str,
        update_id: &str,
    ) -> Result<Option<AddonUpdate>, PortError> {
        match self
            .client
            .describe_update()
            .name(cluster)
            .addon_name(addon)
            .update_id(update_id)
            .send()
            .await
        {
            Ok(out) => Ok(out.update().map(update)),
            Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(classify("eks", e)),
        }
    }

    async fn update(&self, r: &AddonUpdateRequest) -> Result<AddonUpdate, PortError> {
        let out = self
            .client
            .update_addon()
            .cluster_name(&r.cluster)
            .addon_name(&r.addon)
            .addon_version(&r.version)
            .configuration_values(&r.configuration_values)
            .resolve_conflicts(ResolveConflicts::from(r.resolve_conflicts.as_str()))
            .client_request_token(&r.client_request_token)
            .send()
            .await
            .map_err(|e| classify("eks", e))?;
        out.update()
            .map(update)
            .ok_or_else(|| PortError::Transient {
                service: "eks",
                message: "UpdateAddon answered without an update".into(),
            })
    }
}
