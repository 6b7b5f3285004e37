//! EBS alarm watcher: a CloudWatch alarm to ALARM on an `AWS/EBS` volume metric or an `AWS/EC2`
//! EBS-balance metric → volume → attached instance → cluster → collection, with the volume's type,
//! size, IOPS and throughput on the incident.

use std::collections::BTreeSet;

use crate::events::{EbsAlarm, Inbound};
use crate::model::{
    incident_id, window_start, ClusterKey, CollectionRequest, FoldDelta, FoldResult, FoldWrite,
    IncidentKind,
};
use crate::ports::{CollectionQueue, Ec2Directory, IncidentStore};
use crate::{Config, HandlerError};

/// What happened to one alarm.
/// Serialized as `{"outcome": "<snake_case variant>", ...fields}` in function answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AlarmOutcome {
    /// Collection requested.
    Collecting {
        /// Incident.
        incident_id: String,
        /// Node.
        instance_id: String,
    },
    /// Folded into the incident; the collection budget was spent or the node already claimed.
    Folded,
    /// The volume is not attached to an EKS node, or is unknown: acknowledged.
    NotEks,
    /// Not an alarm this watcher acts on (other metric, other state).
    Ignored,
}

/// The handler.
pub struct EbsAlarmWatcher<E, S, Q> {
    ec2: E,
    store: S,
    queue: Q,
    cfg: Config,
}

impl<E: Ec2Directory, S: IncidentStore, Q: CollectionQueue> EbsAlarmWatcher<E, S, Q> {
    /// Builds the handler.
    pub fn new(ec2: E, store: S, queue: Q, cfg: Config) -> Self {
        EbsAlarmWatcher {
            ec2,
            store,
            queue,
            cfg,
        }
    }

    /// Handles one alarm state change.
    pub async fn handle(&self, event: serde_json::Value) -> Result<AlarmOutcome, HandlerError> {
        match crate::events::parse_value(event)? {
            Inbound::EbsAlarm(a) => self.alarm(&a).await,
            _ => Ok(AlarmOutcome::Ignored),
        }
    }

    async fn alarm(&self, a: &EbsAlarm) -> Result<AlarmOutcome, HandlerError> {
        let volume = match &a.volume_id {
            Some(v) => self.ec2.volume(v).await?,
            None => None,
        };
        let Some(instance_id) = volume
            .as_ref()
            .and_then(|v| v.instance_id.clone())
            .or_else(|| a.instance_id.clone())
        else {
            tracing::info!(alarm = %a.alarm, volume = ?a.volume_id, "volume not attached to an instance; acknowledged");
            return Ok(AlarmOutcome::NotEks);
        };
        let Some(cluster) = self
            .ec2
            .instances(std::slice::from_ref(&instance_id))
            .await?
            .into_iter()
            .next()
            .and_then(|i| i.cluster)
        else {
            tracing::info!(alarm = %a.alarm, instance = %instance_id, "instance is not an EKS node; acknowledged");
            return Ok(AlarmOutcome::NotEks);
        };
        let key = ClusterKey {
            account: a.account.clone(),
            region: a.region.clone(),
            cluster,
        };
        let window = window_start(a.time, self.cfg.window_minutes);
        let id = incident_id(&key.cluster, IncidentKind::EbsAlarm, window);
        let mut delta = FoldDelta::default();
        delta.event_ids.push(a.event_id.clone());
        *delta.apis.entry(a.metric.clone()).or_default() += 1;
        delta.nodes.insert(instance_id.clone());
        delta.first = Some(a.time);
        delta.last = Some(a.time);
        if let Some(v) = &volume {
            tracing::info!(incident = %id, volume = %v.volume_id, volume_type = ?v.volume_type, size_gib = ?v.size_gib, iops = ?v.iops, throughput = ?v.throughput, "EBS alarm on an EKS node");
        }
        let mut write = FoldWrite {
            incident_id: id.clone(),
            cluster: key.clone(),
            kind: IncidentKind::EbsAlarm,
            window,
            delta,
            claim: BTreeSet::from([instance_id.clone()]),
            max_claims: self.cfg.max_collections,
            expires_at: super::expires_at(window, self.cfg.ttl_days),
        };
        let claimed = match self.store.fold(&write).await? {
            FoldResult::Written { .. } => true,
            FoldResult::Replayed { .. } => return Ok(AlarmOutcome::Folded),
            FoldResult::BudgetSpent => {
                write.claim.clear();
                self.store.fold(&write).await?;
                false
            }
        };
        if let Some(v) = &volume {
            let note = format!(
                "{} on {}: {} {} GiB, {} IOPS, {} MiB/s",
                a.metric,
                v.volume_id,
                v.volume_type.as_deref().unwrap_or("?"),
                v.size_gib.map_or("?".into(), |n| n.to_string()),
                v.iops.map_or("?".into(), |n| n.to_string()),
                v.throughput.map_or("?".into(), |n| n.to_string()),
            );
            self.store.note(&id, &note).await?;
        }
        if !claimed {
            return Ok(AlarmOutcome::Folded);
        }
        let req = CollectionRequest {
            incident_id: id.clone(),
            cluster: key,
            instance_id: instance_id.clone(),
            reason: format!("EBS alarm {}", a.alarm),
            window,
        };
        self.queue.enqueue(&req, 0).await?;
        Ok(AlarmOutcome::Collecting {
            incident_id: id,
            instance_id,
        })
    }
}
