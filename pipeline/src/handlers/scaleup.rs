//! Scale-up watcher: `EC2 Instance Launch Successful` and launch lifecycle actions from EKS node
//! groups. Samples `sample_per_group` new nodes per group and window (a 50-node scale-up is not 50
//! collections) and schedules their collection after the settle delay, when boot faults have shown.
//! A lifecycle action is always completed with CONTINUE, first, so the pipeline never holds a launch.
//! (Manual collection goes to the collector, which takes `collect` payloads.)
//!
//! `EC2 Instance Launch Unsuccessful` from the same groups folds into the same incident: the EC2
//! error (`VcpuLimitExceeded`, `InsufficientInstanceCapacity`, ...) is counted and noted with the
//! managed node group's health issues (`DescribeNodegroup`), and a launch-failure event goes on the
//! bus for remediation (a quota request where a quota is the cause, a recommendation otherwise).
//! A sampled launch into a managed node group whose `desiredSize` has reached `maxSize` is published
//! the same way, as `NodegroupAtMaxSize`: at its maximum a group fails no launch.

use super::{cluster_of, fold_one, unexpected, OneEvent, Opened};
use crate::events::{Inbound, Launch, LaunchError, LaunchFailure, LaunchFailureNotice};
use crate::function::{Handler, Invocation};
use crate::model::notes::{AT_MAX_SIZE, LAUNCH_FAILED};
use crate::model::{ClusterKey, CollectionRequest, IncidentKey, IncidentKind};
use crate::ports::{
    ClusterDirectory, CollectionQueue, Ec2Directory, FindingsPublisher, IncidentStore, Lifecycle,
    NodegroupFacts,
};
use crate::{Config, HandlerError};
use eks_remedy_core::plan::quota::NODEGROUP_AT_MAX_SIZE;

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
    /// Launched into the group's warm pool: its lifecycle action completed, nothing sampled.
    WarmPool,
    /// A refused launch, folded into the group's incident (and published, unless a replay).
    LaunchFailed {
        /// Incident.
        incident_id: String,
        /// EC2's error.
        error: LaunchError,
        /// Whether a Service Quotas request can help.
        quota: bool,
    },
}

pub use crate::events::LAUNCH_FAILURE_DETAIL_TYPE;

/// The handler.
pub struct ScaleUpWatcher<E, C, S, Q, L, P> {
    ec2: E,
    eks: C,
    store: S,
    queue: Q,
    lifecycle: L,
    publisher: P,
    cfg: Config,
    opened: Opened,
}

impl<
        E: Ec2Directory,
        C: ClusterDirectory,
        S: IncidentStore,
        Q: CollectionQueue,
        L: Lifecycle,
        P: FindingsPublisher,
    > ScaleUpWatcher<E, C, S, Q, L, P>
{
    /// Builds the handler.
    pub fn new(
        ec2: E,
        eks: C,
        store: S,
        queue: Q,
        lifecycle: L,
        publisher: P,
        cfg: Config,
    ) -> Self {
        ScaleUpWatcher {
            ec2,
            eks,
            store,
            queue,
            lifecycle,
            publisher,
            cfg,
            opened: Opened::default(),
        }
    }

    /// The store, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The collection queue, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// The publisher, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn publisher(&self) -> &P {
        &self.publisher
    }

    /// The lifecycle port, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn lifecycle(&self) -> &L {
        &self.lifecycle
    }

    /// The node group directory, for tests that change what it says.
    #[cfg(any(test, feature = "test-support"))]
    pub fn eks_mut(&mut self) -> &mut C {
        &mut self.eks
    }

    async fn launch_failed(
        &self,
        f: &LaunchFailure,
        inv: &Invocation,
    ) -> Result<LaunchOutcome, HandlerError> {
        let group = self.lifecycle.group(&f.asg).await?.unwrap_or_default();
        let Some(cluster) = group.cluster.filter(|c| super::valid_cluster(c)) else {
            tracing::info!(asg = %f.asg, error = f.error.as_str(), "launch failure in a group that is not an EKS node group; acknowledged");
            return Ok(LaunchOutcome::NotEks);
        };
        let key = IncidentKey::new(
            ClusterKey {
                account: f.account.clone(),
                region: f.region.clone(),
                cluster: cluster.clone(),
            },
            IncidentKind::ScaleUp,
            f.time,
            self.cfg.window_minutes,
        )
        .scoped(&f.asg);
        let id = key.id();
        let counter = format!("launch-failed:{}", f.error.as_str());
        let folded = fold_one(
            &self.store,
            &self.opened,
            inv,
            OneEvent {
                key: &key,
                event_id: &f.event_id,
                node: None,
                time: f.time,
                counter: Some(&counter),
                max_claims: self.cfg.sample_per_group,
                ttl_days: self.cfg.ttl_days,
            },
        )
        .await?;
        let outcome = LaunchOutcome::LaunchFailed {
            incident_id: id.clone(),
            error: f.error,
            quota: f.error.is_quota(),
        };
        if folded.events == 0 {
            tracing::info!(incident = %id, "launch failure seen before; its note and event are sent again in case the first delivery failed after the fold");
        }
        // Health issues say what EKS saw of the same failure; their absence is no reason to stop.
        let facts = match &group.nodegroup {
            Some(ng) => self.eks.nodegroup(&cluster, ng).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, nodegroup = %ng, "DescribeNodegroup failed; no health issues or instance types");
                NodegroupFacts::default()
            }),
            None => NodegroupFacts::default(),
        };
        let health = &facts.health;
        // The quota request is sized from what the group launches: its first instance type.
        let instance_type = facts.instance_types.first();
        let vcpus = self.vcpus(instance_type.map(String::as_str)).await;
        let message: String = f.message.chars().take(300).collect();
        let mut note = format!(
            "{LAUNCH_FAILED} {} in {}{}: {message}",
            f.error.as_str(),
            f.asg,
            f.zone
                .as_deref()
                .map(|z| format!(" ({z})"))
                .unwrap_or_default()
        );
        for issue in health.iter().take(5) {
            note.push_str(&format!(
                " | node group health: {}",
                issue.chars().take(200).collect::<String>()
            ));
        }
        self.store.note(&id, &note).await?;
        let notice = LaunchFailureNotice {
            event_id: f.event_id.clone(),
            incident_id: id,
            account: f.account.clone(),
            region: f.region.clone(),
            cluster,
            asg: f.asg.clone(),
            nodegroup: group.nodegroup,
            error: f.error.as_str().to_string(),
            quota: f.error.is_quota(),
            message,
            health_issues: health.iter().take(5).cloned().collect(),
            instance_type: instance_type.cloned(),
            vcpus,
            spot: facts.spot,
            max_size: None,
            zone: f.zone.clone(),
            subnet: f.subnet.clone(),
        };
        self.notify(&notice).await?;
        Ok(outcome)
    }

    /// The vCPUs of the type a group launches, which size a quota request; unknown is no reason to
    /// stop.
    async fn vcpus(&self, instance_type: Option<&str>) -> Option<u32> {
        let t = instance_type?;
        self.ec2.vcpus(t).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, instance_type = %t, "DescribeInstanceTypes failed; vCPUs unknown");
            None
        })
    }

    /// At least once: a retry publishes again under the same event id, for consumers to drop.
    async fn notify(&self, notice: &LaunchFailureNotice) -> Result<(), HandlerError> {
        let detail = serde_json::to_value(notice)
            .map_err(|e| HandlerError::Internal(format!("launch failure notice: {e}")))?;
        self.publisher
            .publish(LAUNCH_FAILURE_DETAIL_TYPE, &detail)
            .await?;
        Ok(())
    }

    /// A managed node group at its `maxSize` fails no launch: Auto Scaling never asks for more, so
    /// no failure event says the scale-up was cut short. A sampled launch is when to look, as
    /// autoscalers set `desiredSize` before the launches it causes; the notice's id is the
    /// incident's, so however many sampled launches see it, the remediator counts it once.
    async fn check_max_size(
        &self,
        l: &Launch,
        cluster: &ClusterKey,
        incident_id: &str,
    ) -> Result<(), HandlerError> {
        // The check is advice on top of the collection: a failed read skips it, it never fails
        // the launch.
        let group = match self.lifecycle.group(&l.asg).await {
            Ok(g) => g.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, asg = %l.asg, "reading the group's tags failed; maxSize not checked");
                return Ok(());
            }
        };
        let Some(ng) = group.nodegroup else {
            return Ok(());
        };
        let facts = match self.eks.nodegroup(&cluster.cluster, &ng).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, nodegroup = %ng, "DescribeNodegroup failed; maxSize not checked");
                return Ok(());
            }
        };
        let (Some(desired), Some(max)) = (facts.desired_size, facts.max_size) else {
            return Ok(());
        };
        // A group with minSize = maxSize is sized by hand, not scaled: its launches replace nodes,
        // and "at the maximum" is its normal state.
        if desired < max || facts.min_size.is_some_and(|min| min >= max) {
            return Ok(());
        }
        let message =
            format!("node group {ng} is at its maxSize: desiredSize {desired} of maxSize {max}");
        self.store
            .note(incident_id, &format!("{AT_MAX_SIZE} {message}"))
            .await?;
        let instance_type = facts.instance_types.first().cloned();
        let vcpus = self.vcpus(instance_type.as_deref()).await;
        self.notify(&LaunchFailureNotice {
            event_id: format!("{incident_id}/{NODEGROUP_AT_MAX_SIZE}"),
            incident_id: incident_id.to_string(),
            account: cluster.account.clone(),
            region: cluster.region.clone(),
            cluster: cluster.cluster.clone(),
            asg: l.asg.clone(),
            nodegroup: Some(ng),
            error: NODEGROUP_AT_MAX_SIZE.to_string(),
            quota: true,
            message,
            health_issues: facts.health.iter().take(5).cloned().collect(),
            instance_type,
            vcpus,
            spot: facts.spot,
            max_size: Some(max),
            zone: None,
            subnet: None,
        })
        .await
    }

    async fn launch(&self, l: &Launch, inv: &Invocation) -> Result<LaunchOutcome, HandlerError> {
        if let Some((hook, token)) = &l.lifecycle {
            self.lifecycle
                .proceed(&l.asg, hook, token, &l.instance_id)
                .await?;
        }
        // A warm pool instance is stopped until a scale-out moves it into the group (that move is
        // its own launch event, `Origin: WarmPool`): sampling it now would spend the group's
        // sample on a collection that cannot run.
        if l.into_warm_pool {
            tracing::info!(instance = %l.instance_id, asg = %l.asg, "launched into the warm pool; sampled when it joins the group");
            return Ok(LaunchOutcome::WarmPool);
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
                node: Some(&l.instance_id),
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
        let req =
            CollectionRequest::for_incident(&key, &l.instance_id, format!("scale-up of {}", l.asg));
        let delay = u32::try_from(self.cfg.settle_delay.as_secs())
            .unwrap_or(900)
            .min(900);
        self.queue.enqueue(&req, delay).await?;
        self.check_max_size(l, &key.cluster, &id).await?;
        Ok(LaunchOutcome::Scheduled { incident_id: id })
    }
}

impl<
        E: Ec2Directory,
        C: ClusterDirectory,
        S: IncidentStore,
        Q: CollectionQueue,
        L: Lifecycle,
        P: FindingsPublisher,
    > Handler for ScaleUpWatcher<E, C, S, Q, L, P>
{
    type Answer = LaunchOutcome;

    async fn handle(
        &self,
        event: Inbound,
        inv: &Invocation,
    ) -> Result<LaunchOutcome, HandlerError> {
        match event {
            Inbound::Launch(l) => self.launch(&l, inv).await,
            Inbound::LaunchFailed(f) => self.launch_failed(&f, inv).await,
            other => Err(unexpected(&other)),
        }
    }
}
