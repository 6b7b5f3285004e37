//! Scale-up watcher: `EC2 Instance Launch Successful` and launch lifecycle actions from EKS node
//! groups. Samples `sample_per_group` new nodes per group and window (a 50-node scale-up is not 50
//! collections) and schedules their collection after the settle delay, when boot faults have shown.
//! A lifecycle action is always completed with CONTINUE, first, so the pipeline never holds a launch.

use std::collections::BTreeSet;

use crate::events::{Inbound, Launch, Manual};
use crate::model::{
    incident_id, window_start, ClusterKey, CollectionRequest, FoldDelta, FoldResult, FoldWrite,
    IncidentKind,
};
use crate::ports::{CollectionQueue, Ec2Directory, IncidentStore, Lifecycle};
use crate::{Config, HandlerError, PortError};

/// What happened to one launch.
/// Serialized as `{"outcome": "<snake_case variant>", ...fields}` in function answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LaunchOutcome {
    /// Collection scheduled.
    Scheduled {
        /// Incident.
        incident_id: String,
    },
    /// Not sampled: the group's sample for this window is full, or this launch was seen before.
    NotSampled,
    /// Not an EKS node (no cluster tag): acknowledged.
    NotEks,
}

/// The handler.
pub struct ScaleUpWatcher<E, S, Q, L> {
    ec2: E,
    store: S,
    queue: Q,
    lifecycle: L,
    cfg: Config,
}

impl<E: Ec2Directory, S: IncidentStore, Q: CollectionQueue, L: Lifecycle>
    ScaleUpWatcher<E, S, Q, L>
{
    /// Builds the handler.
    pub fn new(ec2: E, store: S, queue: Q, lifecycle: L, cfg: Config) -> Self {
        ScaleUpWatcher {
            ec2,
            store,
            queue,
            lifecycle,
            cfg,
        }
    }

    /// Handles one event (launch, lifecycle action, or a manual `collect` payload).
    pub async fn handle(
        &self,
        event: serde_json::Value,
    ) -> Result<Vec<LaunchOutcome>, HandlerError> {
        match crate::events::parse_value(event)? {
            Inbound::Launch(l) => Ok(vec![self.launch(&l).await?]),
            Inbound::Manual(Manual::Collect {
                cluster,
                instance_ids,
                region,
                reason,
            }) => {
                let region = region.unwrap_or_default();
                let mut out = Vec::new();
                for id in instance_ids {
                    out.push(
                        self.manual(&cluster, &region, &id, reason.as_deref())
                            .await?,
                    );
                }
                Ok(out)
            }
            Inbound::Foreign(source, kind) => {
                tracing::info!(%source, %kind, "not a launch event; acknowledged");
                Ok(vec![])
            }
            other => Err(HandlerError::Config(format!(
                "scale-up watcher cannot handle {other:?}"
            ))),
        }
    }

    async fn launch(&self, l: &Launch) -> Result<LaunchOutcome, HandlerError> {
        if let Some((hook, token)) = &l.lifecycle {
            self.lifecycle
                .proceed(&l.asg, hook, token, &l.instance_id)
                .await?;
        }
        let instance = self
            .ec2
            .instances(std::slice::from_ref(&l.instance_id))
            .await?
            .into_iter()
            .next();
        let Some(cluster) = instance.and_then(|i| i.cluster) else {
            tracing::info!(instance = %l.instance_id, asg = %l.asg, "launched instance is not an EKS node; acknowledged");
            return Ok(LaunchOutcome::NotEks);
        };
        let key = ClusterKey {
            account: l.account.clone(),
            region: l.region.clone(),
            cluster,
        };
        let window = window_start(l.time, self.cfg.window_minutes);
        // One incident per group and window: the sample budget is per group.
        let id = format!(
            "{}:{}",
            incident_id(&key.cluster, IncidentKind::ScaleUp, window),
            crate::model::id_part(&l.asg)
        );
        let mut delta = FoldDelta::default();
        delta.event_ids.push(l.event_id.clone());
        delta.nodes.insert(l.instance_id.clone());
        delta.first = Some(l.time);
        delta.last = Some(l.time);
        let mut write = FoldWrite {
            incident_id: id.clone(),
            cluster: key.clone(),
            kind: IncidentKind::ScaleUp,
            window,
            delta,
            claim: BTreeSet::from([l.instance_id.clone()]),
            max_claims: self.cfg.sample_per_group,
            expires_at: super::expires_at(window, self.cfg.ttl_days),
        };
        match self.store.fold(&write).await? {
            FoldResult::Written { .. } => {}
            FoldResult::Replayed { .. } => return Ok(LaunchOutcome::NotSampled),
            FoldResult::BudgetSpent => {
                // Count the launch on the incident, without a collection.
                write.claim.clear();
                return match self.store.fold(&write).await? {
                    FoldResult::Written { .. } | FoldResult::Replayed { .. } => {
                        Ok(LaunchOutcome::NotSampled)
                    }
                    FoldResult::BudgetSpent => Err(PortError::Transient {
                        service: "dynamodb",
                        message: "unexpected budget answer".into(),
                    }
                    .into()),
                };
            }
        }
        let req = CollectionRequest {
            incident_id: id.clone(),
            cluster: key,
            instance_id: l.instance_id.clone(),
            reason: format!("scale-up of {}", l.asg),
            window,
        };
        let delay = u32::try_from(self.cfg.settle_delay.as_secs())
            .unwrap_or(900)
            .min(900);
        self.queue.enqueue(&req, delay).await?;
        Ok(LaunchOutcome::Scheduled { incident_id: id })
    }

    async fn manual(
        &self,
        cluster: &str,
        region: &str,
        instance_id: &str,
        reason: Option<&str>,
    ) -> Result<LaunchOutcome, HandlerError> {
        let req = CollectionRequest::manual(
            cluster,
            region,
            instance_id,
            reason,
            self.cfg.window_minutes,
        );
        self.queue.enqueue(&req, 0).await?;
        Ok(LaunchOutcome::Scheduled {
            incident_id: req.incident_id,
        })
    }
}
