//! EKS: which cluster an IRSA OIDC provider belongs to; cluster version, endpoint and VPC CNI add-on.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_eks::Client;
use eks_remedy_pipeline::model::ClusterContext;
use eks_remedy_pipeline::ports::{ClusterDirectory, NodegroupFacts};
use eks_remedy_pipeline::PortError;

use crate::classify;

/// The adapter; the OIDC issuer → cluster map is built once per container.
pub struct Eks {
    client: Client,
    issuers: Mutex<Option<HashMap<String, String>>>,
}

impl Eks {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Eks {
            client,
            issuers: Mutex::new(None),
        }
    }

    async fn issuers(&self) -> Result<HashMap<String, String>, PortError> {
        if let Some(m) = self
            .issuers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(m.clone());
        }
        let mut map = HashMap::new();
        let mut pages = self.client.list_clusters().into_paginator().send();
        while let Some(page) = pages.next().await {
            for name in page.map_err(|e| classify("eks", e))?.clusters() {
                let c = self
                    .client
                    .describe_cluster()
                    .name(name)
                    .send()
                    .await
                    .map_err(|e| classify("eks", e))?;
                if let Some(issuer) = c
                    .cluster()
                    .and_then(|c| c.identity())
                    .and_then(|i| i.oidc())
                    .and_then(|o| o.issuer())
                {
                    map.insert(
                        issuer.trim_start_matches("https://").to_string(),
                        name.clone(),
                    );
                }
            }
        }
        *self.issuers.lock().unwrap_or_else(|p| p.into_inner()) = Some(map.clone());
        Ok(map)
    }
}

impl ClusterDirectory for Eks {
    async fn cluster_for_oidc(&self, provider_arn: &str) -> Result<Option<String>, PortError> {
        // arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<ID>
        let Some((_, issuer)) = provider_arn.split_once(":oidc-provider/") else {
            return Ok(None);
        };
        Ok(self.issuers().await?.get(issuer).cloned())
    }

    async fn nodegroup(&self, cluster: &str, nodegroup: &str) -> Result<NodegroupFacts, PortError> {
        let out = self
            .client
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(nodegroup)
            .send()
            .await
            .map_err(|e| classify("eks", e))?;
        let Some(ng) = out.nodegroup() else {
            return Ok(NodegroupFacts::default());
        };
        Ok(NodegroupFacts {
            health: ng
                .health()
                .map(|h| {
                    h.issues()
                        .iter()
                        .map(|i| {
                            format!(
                                "{}: {}",
                                i.code().map_or("unknown", |c| c.as_str()),
                                i.message().unwrap_or_default()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            instance_types: ng.instance_types().to_vec(),
            spot: ng.capacity_type().is_some_and(|c| c.as_str() == "SPOT"),
            // Negative sizes are not EKS's; a value that cannot be one is no value.
            min_size: ng
                .scaling_config()
                .and_then(|c| c.min_size())
                .and_then(|n| u32::try_from(n).ok()),
            desired_size: ng
                .scaling_config()
                .and_then(|c| c.desired_size())
                .and_then(|n| u32::try_from(n).ok()),
            max_size: ng
                .scaling_config()
                .and_then(|c| c.max_size())
                .and_then(|n| u32::try_from(n).ok()),
        })
    }

    async fn describe(&self, cluster: &str) -> Result<ClusterContext, PortError> {
        let out = self
            .client
            .describe_cluster()
            .name(cluster)
            .send()
            .await
            .map_err(|e| classify("eks", e))?;
        let c = out.cluster();
        let mut info = ClusterContext {
            version: c.and_then(|c| c.version()).map(str::to_string),
            endpoint: c.and_then(|c| c.endpoint()).map(str::to_string),
            private_access: c
                .and_then(|c| c.resources_vpc_config())
                .map(|v| v.endpoint_private_access()),
            ..ClusterContext::default()
        };
        match self
            .client
            .describe_addon()
            .cluster_name(cluster)
            .addon_name("vpc-cni")
            .send()
            .await
        {
            Ok(a) => {
                info.vpc_cni_addon_version = a
                    .addon()
                    .and_then(|a| a.addon_version())
                    .map(str::to_string);
                info.vpc_cni_configuration = a
                    .addon()
                    .and_then(|a| a.configuration_values())
                    .map(str::to_string);
            }
            Err(e) => match classify("eks", e) {
                PortError::NotFound { .. } => info.self_managed_cni = true,
                other => tracing::warn!(error = %other, "DescribeAddon failed; add-on unknown"),
            },
        }
        if let (Some(k8s), false) = (info.version.clone(), info.self_managed_cni) {
            match self
                .client
                .describe_addon_versions()
                .addon_name("vpc-cni")
                .kubernetes_version(k8s.clone())
                .send()
                .await
            {
                Ok(v) => {
                    info.vpc_cni_default_version = v
                        .addons()
                        .iter()
                        .flat_map(|a| a.addon_versions())
                        .find(|av| {
                            av.compatibilities().iter().any(|c| {
                                c.default_version() && c.cluster_version() == Some(k8s.as_str())
                            })
                        })
                        .and_then(|av| av.addon_version())
                        .map(str::to_string)
                }
                Err(e) => {
                    tracing::warn!(error = %classify("eks", e), "DescribeAddonVersions failed; default version unknown")
                }
            }
        }
        Ok(info)
    }
}
