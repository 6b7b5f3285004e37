//! EBS alarm watcher: a CloudWatch alarm to ALARM on an `AWS/EBS` volume metric or an `AWS/EC2`
//! EBS-balance metric → volume → attached instance → cluster → collection, with the volume's type,
//! size, IOPS and throughput on the incident.

use super::{cluster_of, fold_one, unexpected, OneEvent, Opened};
use crate::events::{EbsAlarm, Inbound};
use crate::function::{Handler, Invocation};
use crate::model::{ClusterKey, CollectionRequest, IncidentKey, IncidentKind};
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
}

/// The handler.
pub struct EbsAlarmWatcher<E, S, Q> {
    ec2: E,
    store: S,
    queue: Q,
    cfg: Config,
    opened: Opened,
}

impl<E: Ec2Directory, S: IncidentStore, Q: CollectionQueue> EbsAlarmWatcher<E, S, Q> {
    /// Builds the handler.
    pub fn new(ec2: E, store: S, queue: Q, cfg: Config) -> Self {
        EbsAlarmWatcher {
            ec2,
            store,
            queue,
            cfg,
            opened: Opened::default(),
        }
    }

    async fn alarm(&self, a: &EbsAlarm, inv: &Invocation) -> Result<AlarmOutcome, HandlerError> {
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
        let Some(cluster) = cluster_of(&self.ec2, &instance_id).await? else {
            tracing::info!(alarm = %a.alarm, instance = %instance_id, "instance is not an EKS node; acknowledged");
            return Ok(AlarmOutcome::NotEks);
        };
        let cluster = ClusterKey {
            account: a.account.clone(),
            region: a.region.clone(),
            cluster,
        };
        let key = IncidentKey::new(
            cluster,
            IncidentKind::EbsAlarm,
            a.time,
            self.cfg.window_minutes,
        );
        let id = key.id();
        if let Some(v) = &volume {
            tracing::info!(incident = %id, volume = %v.volume_id, volume_type = ?v.volume_type, size_gib = ?v.size_gib, iops = ?v.iops, throughput = ?v.throughput, "EBS alarm on an EKS node");
        }
        let folded = fold_one(
            &self.store,
            &self.opened,
            inv,
            OneEvent {
                key: &key,
                event_id: &a.event_id,
                node: Some(&instance_id),
                time: a.time,
                counter: Some(&a.metric),
                max_claims: self.cfg.max_collections,
                ttl_days: self.cfg.ttl_days,
            },
        )
        .await?;
        // A replay goes on too: the note is idempotent and a re-granted node's request is absorbed
        // by the collector's node lock, so a first delivery that failed halfway is completed.
        let claimed = !folded.granted.is_empty();
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
        let req =
            CollectionRequest::for_incident(&key, &instance_id, format!("EBS alarm {}", a.alarm));
        self.queue.enqueue(&req, 0).await?;
        Ok(AlarmOutcome::Collecting {
            incident_id: id,
            instance_id,
        })
    }
}

impl<E: Ec2Directory, S: IncidentStore, Q: CollectionQueue> Handler for EbsAlarmWatcher<E, S, Q> {
    type Answer = AlarmOutcome;

    async fn handle(&self, event: Inbound, inv: &Invocation) -> Result<AlarmOutcome, HandlerError> {
        match event {
            Inbound::EbsAlarm(a) => self.alarm(&a, inv).await,
            other => Err(unexpected(&other)),
        }
    }
}
