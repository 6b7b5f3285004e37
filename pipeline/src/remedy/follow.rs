//! Following what the executor started until it ends: quota requests (to APPROVED, DENIED,
//! CASE_CLOSED, NOT_APPROVED or INVALID_REQUEST), add-on updates (to Successful, Failed or
//! Cancelled) and volume modifications (to completed or failed). The scheduled function keeps the
//! open ones and calls [`follow`] for each; a status change is recorded and published by the caller.

use serde::{Deserialize, Serialize};

use eks_remedy_core::plan::ActionKind;

use super::audit::{AuditRecord, Outcome};
use super::ports::{AddonApi, QuotaApi, VolumeApi};
use crate::PortError;

/// Something started on AWS that ends later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Tracked {
    /// A Service Quotas increase request.
    QuotaRequest {
        /// Request id.
        request_id: String,
    },
    /// An EKS add-on update.
    AddonUpdate {
        /// Cluster.
        cluster: String,
        /// Add-on.
        addon: String,
        /// Update id.
        update_id: String,
    },
    /// An EBS volume modification.
    VolumeModification {
        /// Volume id.
        volume_id: String,
    },
}

impl Tracked {
    /// What an audit record started, if it started something that ends later (an executed
    /// change, or an adopted open quota request).
    pub fn from_record(r: &AuditRecord) -> Option<Tracked> {
        if !matches!(r.outcome, Outcome::Executed | Outcome::NoChange) {
            return None;
        }
        let id = r.request_ids.first()?.clone();
        match r.kind {
            ActionKind::ServiceQuota => Some(Tracked::QuotaRequest { request_id: id }),
            ActionKind::VpcCniAddon if r.outcome == Outcome::Executed => {
                Some(Tracked::AddonUpdate {
                    cluster: r.what["cluster"].as_str()?.to_string(),
                    addon: r.what["addon"].as_str().unwrap_or("vpc-cni").to_string(),
                    update_id: id,
                })
            }
            ActionKind::EbsVolume if r.outcome == Outcome::Executed => {
                Some(Tracked::VolumeModification { volume_id: id })
            }
            _ => None,
        }
    }
}

/// Where a tracked item stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The status as the API names it (`CASE_OPENED`, `Successful`, `optimizing`, ...), or
    /// `gone` when the API no longer knows it.
    pub status: String,
    /// It will not change any more: stop following.
    pub done: bool,
    /// It differs from the status last seen: record and publish it.
    pub changed: bool,
}

/// Reads where `item` stands, comparing with `last_seen`.
pub async fn follow<Q: QuotaApi, A: AddonApi, V: VolumeApi>(
    quotas: &Q,
    addons: &A,
    volumes: &V,
    item: &Tracked,
    last_seen: Option<&str>,
) -> Result<Progress, PortError> {
    let (status, done) = match item {
        Tracked::QuotaRequest { request_id } => match quotas.request(request_id).await? {
            Some(r) => (r.status.as_str().to_string(), !r.status.is_open()),
            None => ("gone".to_string(), true),
        },
        Tracked::AddonUpdate {
            cluster,
            addon,
            update_id,
        } => match addons.update_status(cluster, addon, update_id).await? {
            Some(u) => {
                let done = matches!(u.status.as_str(), "Successful" | "Failed" | "Cancelled");
                (u.status, done)
            }
            None => ("gone".to_string(), true),
        },
        Tracked::VolumeModification { volume_id } => {
            // The newest modification is the one started last.
            let mods = volumes.modifications(volume_id).await?;
            match mods.iter().max_by_key(|m| m.started) {
                Some(m) => (
                    m.state.clone(),
                    matches!(m.state.as_str(), "completed" | "failed"),
                ),
                None => ("gone".to_string(), true),
            }
        }
    };
    Ok(Progress {
        changed: last_seen != Some(status.as_str()),
        status,
        done,
    })
}
