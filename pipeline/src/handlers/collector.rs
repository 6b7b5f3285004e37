//! Collector: the one place that starts log collection. Consumes the collection queue (small reserved
//! concurrency in the template, so SSM is never stormed), takes the node's lock for the window (never
//! two collections of one node per window), runs the EKS Logs Collector through SSM and records the
//! command. SSM status-change events close the loop: a failed or timed-out collection becomes a note
//! on the incident, not silence.
//!
//! With the `AWSSupport-CollectEKSInstanceLogs` automation the runbook, not this pipeline, names the
//! object: it uploads the collector's `eks_<instance-id>_<time>.tar.gz` to the bucket root (as the
//! public SSM recipe does; the runbook's key layout is not documented, so this is an assumption the
//! tests pin). When the execution succeeds, the collector moves that bundle under the incident's
//! prefix, which is what starts the analyzer; a success without a bundle is reported, not ignored.

use chrono::Utc;

use super::{expiry, unexpected};
use crate::events::{AutomationStatus, CommandStatus, Inbound, Manual};
use crate::function::{Handler, Invocation};
use crate::metrics::Metric;
use crate::model::notes::COLLECTION_FAILED;
use crate::model::{
    bundle_time, is_cluster_name, is_instance_id, window_tag, BundleKey, ClusterKey,
    CollectionRequest,
};
use crate::ports::{CommandRunner, IncidentStore, NodeLock, ObjectStore};
use crate::telemetry::{record, EventField};
use crate::{Config, HandlerError, PortError};

/// What happened to one request.
/// Serialized as `{"outcome": "<snake_case variant>", ...fields}` in function answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CollectOutcome {
    /// Command sent.
    Started {
        /// SSM command (or automation execution) id.
        command_id: String,
    },
    /// The node was collected in this window already.
    AlreadyCollected,
    /// A status event was recorded on its incident.
    StatusRecorded,
    /// An automation's bundle was moved under its incident's prefix (to this key).
    BundleAdopted {
        /// The bundle's new key.
        key: String,
    },
    /// Nothing to do.
    Ignored,
}

/// Where the automation leaves a node's bundles: the bucket root, named by the collector script.
pub fn automation_bundle_prefix(instance_id: &str) -> String {
    format!("eks_{instance_id}_")
}

/// At most this many candidate keys are listed per node (leftovers are few: adopted ones move away).
const MAX_CANDIDATES: usize = 100;

/// The handler.
pub struct Collector<R, S, O> {
    runner: R,
    store: S,
    objects: O,
    cfg: Config,
}

impl<R: CommandRunner, S: IncidentStore, O: ObjectStore> Collector<R, S, O> {
    /// Builds the handler; the bundle bucket must be configured.
    pub fn new(runner: R, store: S, objects: O, cfg: Config) -> Result<Self, HandlerError> {
        if cfg.bucket.is_empty() {
            return Err(HandlerError::Config(
                "BUCKET is not set: the collector needs the bundle bucket".into(),
            ));
        }
        Ok(Collector {
            runner,
            store,
            objects,
            cfg,
        })
    }

    /// The store, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The command runner, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn runner(&self) -> &R {
        &self.runner
    }

    /// The object store, for tests.
    #[cfg(any(test, feature = "test-support"))]
    pub fn objects(&self) -> &O {
        &self.objects
    }

    async fn command_finished(
        &self,
        status: &CommandStatus,
    ) -> Result<CollectOutcome, HandlerError> {
        let Some(req) = self.store.command(&status.command_id).await? else {
            tracing::info!(command = %status.command_id, "status of a command this pipeline did not send; acknowledged");
            return Ok(CollectOutcome::Ignored);
        };
        if !status.is_final() {
            return Ok(CollectOutcome::Ignored);
        }
        let note = if status.status == "Success" {
            format!(
                "collection on {} finished (command {})",
                status.instance_id, status.command_id
            )
        } else {
            format!(
                "{COLLECTION_FAILED} log collection on {} ended {} (command {}); no bundle will arrive from it",
                status.instance_id, status.status, status.command_id
            )
        };
        self.store.note(&req.incident_id, &note).await?;
        Ok(CollectOutcome::StatusRecorded)
    }

    /// An automation execution changed status: failures are noted, a success hands its bundle on.
    async fn automation_finished(
        &self,
        status: &AutomationStatus,
    ) -> Result<CollectOutcome, HandlerError> {
        let Some(req) = self.store.command(&status.execution_id).await? else {
            tracing::info!(execution = %status.execution_id, "status of an automation this pipeline did not start; acknowledged");
            return Ok(CollectOutcome::Ignored);
        };
        if !status.is_final() {
            return Ok(CollectOutcome::Ignored);
        }
        if !status.succeeded() {
            self.store
                .note(
                    &req.incident_id,
                    &format!(
                        "{COLLECTION_FAILED} log collection on {} ended {} (automation {}); no bundle will arrive from it",
                        req.instance_id, status.status, status.execution_id
                    ),
                )
                .await?;
            return Ok(CollectOutcome::StatusRecorded);
        }
        let target = BundleKey::for_collection(&req, Utc::now()).prefix();
        // Already there: a replayed success, or a retry after the move's delete failed.
        let already = newest_bundle(
            self.objects
                .list(&self.cfg.bucket, &target, MAX_CANDIDATES)
                .await?,
        );
        let key = match already {
            Some(key) => Some(key),
            None => self.move_automation_bundle(&req, &target).await?,
        };
        let Some(key) = key else {
            self.store
                .note(
                    &req.incident_id,
                    &format!(
                        "{COLLECTION_FAILED} automation {} on {} succeeded but left no {}*.tar.gz newer than {} in s3://{}/",
                        status.execution_id,
                        req.instance_id,
                        automation_bundle_prefix(&req.instance_id),
                        req.window.format("%Y-%m-%d %H:%M UTC"),
                        self.cfg.bucket
                    ),
                )
                .await?;
            return Ok(CollectOutcome::StatusRecorded);
        };
        // Notes are idempotent, so a retry that failed after the move still records it once.
        self.store
            .note(
                &req.incident_id,
                &format!(
                    "collection on {} finished (automation {}); bundle at {key}",
                    req.instance_id, status.execution_id
                ),
            )
            .await?;
        Ok(CollectOutcome::BundleAdopted { key })
    }

    /// Moves the node's newest bundle of this window from the bucket root (where the runbook put
    /// it) under `target`; `None` when there is none.
    async fn move_automation_bundle(
        &self,
        req: &CollectionRequest,
        target: &str,
    ) -> Result<Option<String>, HandlerError> {
        let bucket = &self.cfg.bucket;
        let source = automation_bundle_prefix(&req.instance_id);
        let candidates = self.objects.list(bucket, &source, MAX_CANDIDATES).await?;
        // A leftover from an earlier collection of this node must not pass for this incident's.
        let fresh = candidates
            .into_iter()
            .filter(|k| bundle_time(k).is_none_or(|t| t >= req.window))
            .collect();
        let Some(found) = newest_bundle(fresh) else {
            return Ok(None);
        };
        let name = found.rsplit('/').next().unwrap_or(&found);
        let key = format!("{target}{name}");
        if let Err(e) = self.objects.relocate(bucket, &found, &key).await {
            // e.g. a bundle over S3's 5 GB single-copy limit.
            let what = format!("could not move s3://{bucket}/{found} to {key}");
            return Err(self.noted(&req.incident_id, &what, e).await);
        }
        tracing::info!(instance = %req.instance_id, incident = %req.incident_id, %key, "automation bundle adopted");
        Ok(Some(key))
    }

    /// A port error as the handler's, noted on the incident first when retrying cannot help: the
    /// incident must say why no bundle will come.
    async fn noted(&self, incident_id: &str, what: &str, e: PortError) -> HandlerError {
        if !e.is_retryable() {
            let note = format!("{COLLECTION_FAILED} {what}: {e}");
            if let Err(store) = self.store.note(incident_id, &note).await {
                return store.into();
            }
        }
        e.into()
    }

    /// Starts one collection, unless the node was collected in this window.
    pub async fn collect(&self, req: &CollectionRequest) -> Result<CollectOutcome, HandlerError> {
        let window = window_tag(req.window);
        let expires = expiry(req.window, self.cfg.ttl_days);
        match self
            .store
            .lock_node(&req.instance_id, &window, &req.incident_id, expires)
            .await?
        {
            NodeLock::Taken
            | NodeLock::Ours {
                command_id: Some(_),
            } => {
                tracing::info!(instance = %req.instance_id, incident = %req.incident_id, "node already collected in this window");
                return Ok(CollectOutcome::AlreadyCollected);
            }
            NodeLock::Acquired | NodeLock::Ours { command_id: None } => {}
        }
        let command_id = match self
            .runner
            .collect(
                &req.instance_id,
                &self.cfg.bucket,
                &BundleKey::for_collection(req, Utc::now()).key(),
            )
            .await
        {
            Ok(id) => id,
            Err(e) => {
                // e.g. the instance is not managed by SSM.
                let what = format!("could not start collection on {}", req.instance_id);
                return Err(self.noted(&req.incident_id, &what, e).await);
            }
        };
        self.store.record_command(&command_id, req, expires).await?;
        tracing::info!(instance = %req.instance_id, incident = %req.incident_id, command = %command_id, "collection started");
        Ok(CollectOutcome::Started { command_id })
    }
}

/// The newest collector bundle among `keys` (all under one prefix), by name: the collector names
/// bundles `eks_<instance>_<YYYY-MM-DD_HHMM>-UTC_<version>.tar.gz`, so key order is time order.
fn newest_bundle(keys: Vec<String>) -> Option<String> {
    keys.into_iter().filter(|k| k.ends_with(".tar.gz")).max()
}

fn invalid_manual(reason: String) -> HandlerError {
    HandlerError::Event(crate::events::EventError::Invalid {
        what: "manual collect payload",
        reason,
    })
}

/// Puts the request's incident, cluster and node on the event's log span.
fn record_request(req: &CollectionRequest) {
    let span = tracing::Span::current();
    record(&span, EventField::IncidentId, &req.incident_id);
    record(&span, EventField::Cluster, &req.cluster.cluster);
    record(&span, EventField::InstanceId, &req.instance_id);
}

impl<R: CommandRunner, S: IncidentStore, O: ObjectStore> Handler for Collector<R, S, O> {
    type Answer = Vec<CollectOutcome>;

    async fn handle(
        &self,
        event: Inbound,
        inv: &Invocation,
    ) -> Result<Vec<CollectOutcome>, HandlerError> {
        let outcomes = match event {
            Inbound::Collection(req) => {
                record_request(&req);
                vec![self.collect(&req).await?]
            }
            Inbound::Command(status) => {
                let out = self.command_finished(&status).await?;
                if out == CollectOutcome::StatusRecorded {
                    let ok = status.status == "Success";
                    inv.count(
                        if ok {
                            Metric::CollectionsSucceeded
                        } else {
                            Metric::CollectionsFailed
                        },
                        1,
                    );
                }
                vec![out]
            }
            Inbound::Automation(status) => {
                let out = self.automation_finished(&status).await?;
                match out {
                    CollectOutcome::BundleAdopted { .. } => {
                        inv.count(Metric::CollectionsSucceeded, 1)
                    }
                    CollectOutcome::StatusRecorded => inv.count(Metric::CollectionsFailed, 1),
                    _ => {}
                }
                vec![out]
            }
            Inbound::Manual(Manual::Collect {
                cluster,
                instance_ids,
                region,
                account,
                reason,
            }) => {
                if !is_cluster_name(&cluster) {
                    return Err(invalid_manual(format!(
                        "{cluster:?} is not an EKS cluster name"
                    )));
                }
                if let Some(bad) = instance_ids.iter().find(|i| !is_instance_id(i)) {
                    return Err(invalid_manual(format!("{bad:?} is not an instance id")));
                }
                let cluster = ClusterKey {
                    account: account.unwrap_or_else(|| inv.account.clone()),
                    region: region.unwrap_or_else(|| inv.region.clone()),
                    cluster,
                };
                let mut out = Vec::new();
                for instance_id in instance_ids {
                    let req = CollectionRequest::manual(
                        cluster.clone(),
                        &instance_id,
                        reason.as_deref(),
                        self.cfg.window_minutes,
                    );
                    record_request(&req);
                    out.push(self.collect(&req).await?);
                }
                out
            }
            other => return Err(unexpected(&other)),
        };
        let started = outcomes
            .iter()
            .filter(|o| matches!(o, CollectOutcome::Started { .. }))
            .count();
        inv.count(Metric::CollectionsStarted, started as u64);
        Ok(outcomes)
    }
}
