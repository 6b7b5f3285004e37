//! In-memory ports, for tests and the storm benchmark. They behave like the real services where the
//! handlers depend on it (conditional writes, idempotent event markers, budgets) and count calls.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::model::{ClusterContext, CollectionRequest, FoldResult, FoldWrite, Instance, Volume};
use eks_remedy_core::notify::noise::Limiter;

use crate::ports::{
    ClusterDirectory, CollectionQueue, CommandRunner, Ec2Directory, FindingsPublisher, GroupInfo,
    IncidentStore, Lifecycle, NodeLock, NodegroupFacts, NotifyState, ObjectStore, Presigner, Quiet,
    Saved, Versioned, ViewStore, Watch,
};
use crate::PortError;

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// EC2 with a fixed set of instances and volumes.
#[derive(Default)]
pub struct FakeEc2 {
    /// Instances.
    pub instances: Vec<Instance>,
    /// Volumes.
    pub volumes: Vec<Volume>,
    /// Calls made.
    pub calls: AtomicU64,
}

impl Ec2Directory for FakeEc2 {
    async fn instance_by_ip(&self, ip: &str) -> Result<Option<Instance>, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(self
            .instances
            .iter()
            .find(|i| i.private_ip.as_deref() == Some(ip))
            .cloned())
    }
    async fn instances(&self, ids: &[String]) -> Result<Vec<Instance>, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(self
            .instances
            .iter()
            .filter(|i| ids.contains(&i.instance_id))
            .cloned()
            .collect())
    }
    async fn volume(&self, id: &str) -> Result<Option<Volume>, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(self.volumes.iter().find(|v| v.volume_id == id).cloned())
    }
    async fn vcpus(&self, instance_type: &str) -> Result<Option<u32>, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        // The sizes EC2 documents for the families the tests use.
        let size = instance_type.rsplit('.').next().unwrap_or_default();
        Ok(match size {
            "large" => Some(2),
            "xlarge" => Some(4),
            "2xlarge" => Some(8),
            "4xlarge" => Some(16),
            _ => None,
        })
    }
    async fn type_limits(&self, instance_type: &str) -> Result<Option<(u32, u32)>, PortError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(eks_remedy_core::eni::limits(instance_type))
    }
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// EKS with fixed clusters.
#[derive(Default)]
pub struct FakeEks {
    /// OIDC provider ARN → cluster.
    pub oidc: HashMap<String, String>,
    /// Cluster → info.
    pub clusters: HashMap<String, ClusterContext>,
    /// (cluster, node group) → what `DescribeNodegroup` says.
    pub nodegroups: HashMap<(String, String), NodegroupFacts>,
}

impl ClusterDirectory for FakeEks {
    async fn cluster_for_oidc(&self, provider_arn: &str) -> Result<Option<String>, PortError> {
        Ok(self.oidc.get(provider_arn).cloned())
    }
    async fn nodegroup(&self, cluster: &str, nodegroup: &str) -> Result<NodegroupFacts, PortError> {
        self.nodegroups
            .get(&(cluster.to_string(), nodegroup.to_string()))
            .cloned()
            .ok_or_else(|| PortError::NotFound {
                service: "eks",
                message: format!("{cluster}/{nodegroup}"),
            })
    }
    async fn describe(&self, cluster: &str) -> Result<ClusterContext, PortError> {
        self.clusters
            .get(cluster)
            .cloned()
            .ok_or_else(|| PortError::NotFound {
                service: "eks",
                message: cluster.to_string(),
            })
    }
}

#[derive(Default, Debug, Clone)]
struct IncidentItem {
    apis: BTreeMap<String, u64>,
    callers: BTreeMap<String, u64>,
    nodes: BTreeSet<String>,
    claimed: BTreeSet<String>,
    events: u64,
    notes: Vec<String>,
    findings: BTreeMap<String, Vec<String>>,
}

/// (events, API counts, claimed nodes, notes) of an incident.
pub type IncidentSummary = (u64, BTreeMap<String, u64>, BTreeSet<String>, Vec<String>);

/// DynamoDB-like incident store.
#[derive(Default)]
pub struct FakeStore {
    incidents: Mutex<BTreeMap<String, IncidentItem>>,
    events: Mutex<BTreeSet<String>>,
    locks: Mutex<BTreeMap<String, (String, Option<String>)>>,
    commands: Mutex<BTreeMap<String, CollectionRequest>>,
    opened: Mutex<BTreeSet<String>>,
    /// Write calls made (one per fold, lock, record, note).
    pub writes: AtomicU64,
}

impl FakeStore {
    /// Incident ids.
    pub fn incident_ids(&self) -> Vec<String> {
        guard(&self.incidents).keys().cloned().collect()
    }
    /// (events, API counts, claimed nodes, notes) of an incident.
    pub fn summary(&self, id: &str) -> Option<IncidentSummary> {
        guard(&self.incidents)
            .get(id)
            .map(|i| (i.events, i.apis.clone(), i.claimed.clone(), i.notes.clone()))
    }
}

impl IncidentStore for FakeStore {
    async fn fold(&self, w: &FoldWrite) -> Result<FoldResult, PortError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut events = guard(&self.events);
        let seen: BTreeSet<String> = w
            .delta
            .event_ids
            .iter()
            .filter(|e| events.contains(*e))
            .cloned()
            .collect();
        if !seen.is_empty() {
            return Ok(FoldResult::Replayed { seen });
        }
        let mut incidents = guard(&self.incidents);
        let item = incidents.entry(w.incident_id.clone()).or_default();
        if !w.claim.is_empty() && item.claimed.len() + w.claim.len() > w.max_claims as usize {
            return Ok(FoldResult::BudgetSpent);
        }
        events.extend(w.delta.event_ids.iter().cloned());
        for (k, v) in &w.delta.apis {
            *item.apis.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &w.delta.callers {
            *item.callers.entry(k.clone()).or_default() += v;
        }
        item.nodes.extend(w.delta.nodes.iter().cloned());
        item.claimed.extend(w.claim.iter().cloned());
        item.events += w.delta.events();
        Ok(FoldResult::Written {
            claimed: item.claimed.clone(),
        })
    }
    async fn lock_node(
        &self,
        instance_id: &str,
        window: &str,
        incident_id: &str,
        _expires: i64,
    ) -> Result<NodeLock, PortError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut locks = guard(&self.locks);
        let key = format!("{instance_id}#{window}");
        Ok(match locks.get(&key) {
            None => {
                locks.insert(key, (incident_id.to_string(), None));
                NodeLock::Acquired
            }
            Some((owner, cmd)) if owner == incident_id => NodeLock::Ours {
                command_id: cmd.clone(),
            },
            Some(_) => NodeLock::Taken,
        })
    }
    async fn record_command(
        &self,
        command_id: &str,
        req: &CollectionRequest,
        _expires: i64,
    ) -> Result<(), PortError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let key = format!(
            "{}#{}",
            req.instance_id,
            crate::model::window_tag(req.window)
        );
        if let Some(l) = guard(&self.locks).get_mut(&key) {
            l.1 = Some(command_id.to_string());
        }
        guard(&self.commands).insert(command_id.to_string(), req.clone());
        Ok(())
    }
    async fn command(&self, command_id: &str) -> Result<Option<CollectionRequest>, PortError> {
        Ok(guard(&self.commands).get(command_id).cloned())
    }
    async fn note(&self, incident_id: &str, note: &str) -> Result<(), PortError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        let mut incidents = guard(&self.incidents);
        let notes = &mut incidents.entry(incident_id.to_string()).or_default().notes;
        if !notes.iter().any(|n| n == note) {
            notes.push(note.to_string());
        }
        Ok(())
    }
    async fn record_findings(
        &self,
        incident_id: &str,
        instance_id: &str,
        rules: &[String],
        _report_key: &str,
    ) -> Result<(), PortError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        guard(&self.incidents)
            .entry(incident_id.to_string())
            .or_default()
            .findings
            .insert(instance_id.to_string(), rules.to_vec());
        Ok(())
    }
    async fn mark_opened(&self, incident_id: &str, _expires: i64) -> Result<bool, PortError> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(guard(&self.opened).insert(incident_id.to_string()))
    }
    async fn incident(&self, incident_id: &str) -> Result<Option<serde_json::Value>, PortError> {
        Ok(guard(&self.incidents).get(incident_id).map(|i| {
            serde_json::json!({"events": i.events, "apis": i.apis, "callers": i.callers, "claimed": i.claimed, "notes": i.notes, "findings": i.findings})
        }))
    }
}

/// Records what was enqueued.
#[derive(Default)]
pub struct FakeQueue {
    /// (request, delay seconds).
    pub sent: Mutex<Vec<(CollectionRequest, u32)>>,
    /// This many sends fail (as SQS unavailable) before they succeed again.
    pub failures: AtomicU64,
}

impl CollectionQueue for FakeQueue {
    async fn enqueue(
        &self,
        request: &CollectionRequest,
        delay_seconds: u32,
    ) -> Result<(), PortError> {
        let failing = self
            .failures
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return Err(PortError::Transient {
                service: "sqs",
                message: "ServiceUnavailable".into(),
            });
        }
        guard(&self.sent).push((request.clone(), delay_seconds));
        Ok(())
    }
}

impl FakeQueue {
    /// Requests sent so far.
    pub fn requests(&self) -> Vec<(CollectionRequest, u32)> {
        guard(&self.sent).clone()
    }
}

/// SSM: records commands; `fail_with` makes every call fail.
#[derive(Default)]
pub struct FakeRunner {
    /// (instance, bucket, key).
    pub commands: Mutex<Vec<(String, String, String)>>,
    /// Fail every call with this.
    pub fail_with: Option<PortError>,
}

impl CommandRunner for FakeRunner {
    async fn collect(
        &self,
        instance_id: &str,
        bucket: &str,
        key: &str,
    ) -> Result<String, PortError> {
        if let Some(e) = &self.fail_with {
            return Err(e.clone());
        }
        let mut c = guard(&self.commands);
        c.push((instance_id.to_string(), bucket.to_string(), key.to_string()));
        Ok(format!("cmd-{}", c.len()))
    }
}

/// Auto Scaling: records completed actions.
#[derive(Default)]
pub struct FakeLifecycle {
    /// (asg, hook, token, instance).
    pub completed: Mutex<Vec<(String, String, String, String)>>,
    /// Group → what its tags say.
    pub groups: HashMap<String, GroupInfo>,
}

impl Lifecycle for FakeLifecycle {
    async fn group(&self, asg: &str) -> Result<Option<GroupInfo>, PortError> {
        Ok(self.groups.get(asg).cloned())
    }
    async fn proceed(
        &self,
        asg: &str,
        hook: &str,
        token: &str,
        instance_id: &str,
    ) -> Result<(), PortError> {
        guard(&self.completed).push((asg.into(), hook.into(), token.into(), instance_id.into()));
        Ok(())
    }
}

/// S3 in memory.
#[derive(Default)]
pub struct FakeObjects {
    /// (bucket, key) → body.
    pub objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    /// Fail every `relocate` with this.
    pub relocate_fails_with: Option<PortError>,
}

impl ObjectStore for FakeObjects {
    async fn open(&self, bucket: &str, key: &str) -> Result<Box<dyn Read + Send>, PortError> {
        let body = guard(&self.objects)
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
            .ok_or_else(|| PortError::NotFound {
                service: "s3",
                message: format!("s3://{bucket}/{key}"),
            })?;
        Ok(Box::new(std::io::Cursor::new(body)))
    }
    async fn size(&self, bucket: &str, key: &str) -> Result<u64, PortError> {
        guard(&self.objects)
            .get(&(bucket.to_string(), key.to_string()))
            .map(|body| body.len() as u64)
            .ok_or_else(|| PortError::NotFound {
                service: "s3",
                message: format!("s3://{bucket}/{key}"),
            })
    }
    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), PortError> {
        guard(&self.objects).insert((bucket.to_string(), key.to_string()), body);
        Ok(())
    }
    async fn list(&self, bucket: &str, prefix: &str, max: usize) -> Result<Vec<String>, PortError> {
        Ok(guard(&self.objects)
            .keys()
            .filter(|(b, k)| b == bucket && k.starts_with(prefix))
            .map(|(_, k)| k.clone())
            .take(max)
            .collect())
    }
    async fn relocate(&self, bucket: &str, from: &str, to: &str) -> Result<(), PortError> {
        if let Some(e) = &self.relocate_fails_with {
            return Err(e.clone());
        }
        let mut objects = guard(&self.objects);
        let body = objects
            .remove(&(bucket.to_string(), from.to_string()))
            .ok_or_else(|| PortError::NotFound {
                service: "s3",
                message: format!("s3://{bucket}/{from}"),
            })?;
        objects.insert((bucket.to_string(), to.to_string()), body);
        Ok(())
    }
}

/// Records published events.
#[derive(Default)]
pub struct FakePublisher {
    /// (detail type, detail).
    pub events: Mutex<Vec<(String, serde_json::Value)>>,
}

impl FindingsPublisher for FakePublisher {
    async fn publish(
        &self,
        detail_type: &str,
        detail: &serde_json::Value,
    ) -> Result<(), PortError> {
        guard(&self.events).push((detail_type.to_string(), detail.clone()));
        Ok(())
    }
}

/// The notifier's store: versioned documents, conditional writes like DynamoDB's.
#[derive(Default)]
pub struct FakeViewStore {
    views: Mutex<BTreeMap<String, (u64, NotifyState)>>,
    limiters: Mutex<BTreeMap<String, (u64, Limiter)>>,
    /// Writes of views that went through.
    pub writes: AtomicU64,
    /// Conflicts to answer before the next view writes go through (a concurrent writer).
    pub conflicts: AtomicU64,
    /// Queries of quiet views (the resolve check's index).
    pub queries: AtomicU64,
}

impl FakeViewStore {
    /// An incident's state as stored.
    pub fn view(&self, incident_id: &str) -> Option<NotifyState> {
        guard(&self.views).get(incident_id).map(|(_, s)| s.clone())
    }

    /// Replaces an incident's state as another writer would (its version moves on).
    pub fn overwrite(&self, incident_id: &str, state: NotifyState) {
        let mut views = guard(&self.views);
        let version = views.get(incident_id).map_or(0, |(v, _)| *v) + 1;
        views.insert(incident_id.to_string(), (version, state));
    }
}

fn conditional<T: Clone>(
    items: &Mutex<BTreeMap<String, (u64, T)>>,
    key: &str,
    value: &T,
    version: Option<u64>,
) -> Saved {
    let mut items = guard(items);
    let stored = items.get(key).map(|(v, _)| *v);
    if stored != version {
        return Saved::Conflict;
    }
    items.insert(key.to_string(), (version.unwrap_or(0) + 1, value.clone()));
    Saved::Written
}

impl ViewStore for FakeViewStore {
    async fn load_view(
        &self,
        incident_id: &str,
    ) -> Result<Option<Versioned<NotifyState>>, PortError> {
        Ok(guard(&self.views)
            .get(incident_id)
            .map(|(version, value)| Versioned {
                value: value.clone(),
                version: *version,
            }))
    }
    async fn save_view(
        &self,
        incident_id: &str,
        state: &NotifyState,
        version: Option<u64>,
        _expires_epoch: i64,
    ) -> Result<Saved, PortError> {
        let pending = self.conflicts.load(Ordering::Relaxed);
        if pending > 0 {
            self.conflicts.store(pending - 1, Ordering::Relaxed);
            return Ok(Saved::Conflict);
        }
        let saved = conditional(&self.views, incident_id, state, version);
        if saved == Saved::Written {
            self.writes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(saved)
    }
    async fn quiet_views(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        max: usize,
    ) -> Result<Vec<Quiet>, PortError> {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let mut quiet: Vec<(Watch, Quiet)> = guard(&self.views)
            .iter()
            .filter_map(|(id, (_, s))| {
                let (watch, last) = s.watch().filter(|(_, t)| *t < before)?;
                Some((
                    watch,
                    Quiet {
                        incident_id: id.clone(),
                        last_event_at: last,
                    },
                ))
            })
            .collect();
        quiet.sort_by(|(wa, a), (wb, b)| {
            (wa, a.last_event_at, &a.incident_id).cmp(&(wb, b.last_event_at, &b.incident_id))
        });
        Ok(quiet.into_iter().take(max).map(|(_, q)| q).collect())
    }
    async fn load_limiter(&self, channel: &str) -> Result<Option<Versioned<Limiter>>, PortError> {
        Ok(guard(&self.limiters)
            .get(channel)
            .map(|(version, value)| Versioned {
                value: value.clone(),
                version: *version,
            }))
    }
    async fn save_limiter(
        &self,
        channel: &str,
        limiter: &Limiter,
        version: Option<u64>,
        _expires_epoch: i64,
    ) -> Result<Saved, PortError> {
        Ok(conditional(&self.limiters, channel, limiter, version))
    }
}

/// Pre-signs like S3 would, without a signature: `https://<bucket>.s3.test/<key>?X-Amz-Expires=<s>`.
#[derive(Default)]
pub struct FakePresigner {
    /// Links signed.
    pub signed: AtomicU64,
    /// Fails every signature while set (credentials unavailable).
    pub broken: std::sync::atomic::AtomicBool,
}

impl Presigner for FakePresigner {
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires: std::time::Duration,
    ) -> Result<String, PortError> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(PortError::Transient {
                service: "s3",
                message: "no credentials to sign with".into(),
            });
        }
        self.signed.fetch_add(1, Ordering::Relaxed);
        Ok(format!(
            "https://{bucket}.s3.test/{key}?X-Amz-Expires={}",
            expires.as_secs()
        ))
    }
}
