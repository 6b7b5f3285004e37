//! Scale-up watcher: `EC2 Instance Launch Successful` and launch lifecycle actions from EKS node
//! groups. Samples `sample_per_group` new nodes per group and window (a 50-node scale-up is not 50
//! collections) and schedules their collection after the settle delay, when boot faults have shown.
//! A lifecycle action is always completed with CONTINUE, first, so the pipeline never holds a launch.
//! (Manual collection goes to the collector, which takes `collect` payloads.)

use super::{cluster_of, fold_one, unexpected, OneEvent, Opened};
use crate::events::{Inbound, Launch};
use crate::function::{Handler, Invocation};
use crate::model::{ClusterKey, CollectionRequest, IncidentKey, IncidentKind};
use crate::ports::{CollectionQueue, Ec2Directory, IncidentStore, Lifecycle};
use crate::{Config, HandlerError};

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
    opened: Opened,
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
            opened: Opened::default(),
        }
    }

    async fn launch(&self, l: &Launch, inv: &Invocation) -> Result<LaunchOutcome, HandlerError> {
        if let Some((hook, token)) = &l.lifecycle {
            self.lifecycle
                .proceed(&l.asg, hook, token, &l.instance_id)
                .await?;
        }
        let Some(cluster) = cluster_of(&self.ec2, &l.instance_id).await? else {
            tracing::info!(instance = %l.instance_id, asg = %l.asg, "launched instance is not an EKS node; acknowledged");
            return Ok(LaunchOutcome::NotEks);
        };
        let cluster = ClusterKey {
            account: l.account.clone(),
            region: l.region.clone(),
            cluster,
        };
        // One incident per group and window: the sample budget is per group.
        let key = IncidentKey::new(
            cluster,
            IncidentKind::ScaleUp,
            l.time,
            self.cfg.window_minutes,
        )
        .scoped(&l.asg);
        let id = key.id();
        let folded = fold_one(
            &self.store,
            &self.opened,
            inv,
            OneEvent {
                key: &key,
                event_id: &l.event_id,
                node: &l.instance_id,
                time: l.time,
                counter: None,
                max_claims: self.cfg.sample_per_group,
                ttl_days: self.cfg.ttl_days,
            },
        )
        .await?;
        if folded.granted.is_empty() {
            return Ok(LaunchOutcome::NotSampled);
        }
        let req = CollectionRequest {
            incident_id: id.clone(),
            cluster: key.cluster,
            instance_id: l.instance_id.clone(),
            reason: format!("scale-up of {}", l.asg),
            window: key.window,
        };
        let delay = u32::try_from(self.cfg.settle_delay.as_secs())
            .unwrap_or(900)
            .min(900);
        self.queue.enqueue(&req, delay).await?;
        Ok(LaunchOutcome::Scheduled { incident_id: id })
    }
}

impl<E: Ec2Directory, S: IncidentStore, Q: CollectionQueue, L: Lifecycle> Handler
    for ScaleUpWatcher<E, S, Q, L>
{
    type Answer = LaunchOutcome;

    async fn handle(
        &self,
        event: Inbound,
        inv: &Invocation,
    ) -> Result<LaunchOutcome, HandlerError> {
        match event {
            Inbound::Launch(l) => self.launch(&l, inv).await,
            other => Err(unexpected(&other)),
        }
    }
}
