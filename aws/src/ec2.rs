//! EC2: instances by IP or id (with cluster and group from tags), volumes, instance-type limits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use aws_sdk_ec2::types::{Filter, Instance as Ec2Instance, InstanceType};
use aws_sdk_ec2::Client;
use eks_remedy_pipeline::model::{Instance, Volume};
use eks_remedy_pipeline::ports::Ec2Directory;
use eks_remedy_pipeline::PortError;

use crate::classify;

/// The adapter. `DescribeInstanceTypes` answers are cached for the container's life.
pub struct Ec2 {
    client: Client,
    types: Mutex<HashMap<String, TypeInfo>>,
    calls: AtomicU64,
}

/// What the pipeline reads of an instance type (`None` fields: EC2 did not say).
#[derive(Debug, Clone, Copy, Default)]
struct TypeInfo {
    /// (ENIs, IPv4 addresses per ENI).
    limits: Option<(u32, u32)>,
    /// Default vCPUs.
    vcpus: Option<u32>,
}

impl Ec2 {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Ec2 {
            client,
            types: Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
        }
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// One `DescribeInstanceTypes` per type for the container's life.
    async fn type_info(&self, instance_type: &str) -> Result<TypeInfo, PortError> {
        if let Some(hit) = self
            .types
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(instance_type)
        {
            return Ok(*hit);
        }
        self.count();
        let out = self
            .client
            .describe_instance_types()
            .instance_types(InstanceType::from(instance_type))
            .send()
            .await
            .map_err(|e| classify("ec2", e))?;
        let t = out.instance_types().first();
        let info = TypeInfo {
            limits: t.and_then(|t| t.network_info()).and_then(|n| {
                Some((
                    u32::try_from(n.maximum_network_interfaces()?).ok()?,
                    u32::try_from(n.ipv4_addresses_per_interface()?).ok()?,
                ))
            }),
            vcpus: t
                .and_then(|t| t.v_cpu_info())
                .and_then(|v| v.default_v_cpus())
                .and_then(|v| u32::try_from(v).ok()),
        };
        self.types
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(instance_type.to_string(), info);
        Ok(info)
    }

    async fn describe(
        &self,
        filter: Option<Filter>,
        ids: &[String],
    ) -> Result<Vec<Instance>, PortError> {
        self.count();
        let out = self
            .client
            .describe_instances()
            .set_filters(filter.map(|f| vec![f]))
            .set_instance_ids((!ids.is_empty()).then(|| ids.to_vec()))
            .send()
            .await;
        match out {
            Ok(o) => Ok(o
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .map(to_instance)
                .collect()),
            Err(e) => match classify("ec2", e) {
                PortError::NotFound { .. } => Ok(vec![]),
                other => Err(other),
            },
        }
    }
}

/// The cluster an instance belongs to, from the tags EKS, eksctl and Karpenter set.
fn to_instance(i: &Ec2Instance) -> Instance {
    let tag = |k: &str| {
        i.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    let cluster = tag("eks:cluster-name")
        .or_else(|| tag("aws:eks:cluster-name"))
        .or_else(|| {
            i.tags().iter().find_map(|t| {
                t.key()?
                    .strip_prefix("kubernetes.io/cluster/")
                    .map(str::to_string)
            })
        });
    Instance {
        instance_id: i.instance_id().unwrap_or_default().to_string(),
        instance_type: i.instance_type().map(|t| t.as_str().to_string()),
        private_ip: i.private_ip_address().map(str::to_string),
        cluster,
        asg: tag("aws:autoscaling:groupName"),
        state: i
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string()),
    }
}

impl Ec2Directory for Ec2 {
    fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    async fn instance_by_ip(&self, ip: &str) -> Result<Option<Instance>, PortError> {
        let f = Filter::builder()
            .name("private-ip-address")
            .values(ip)
            .build();
        Ok(self.describe(Some(f), &[]).await?.into_iter().next())
    }

    async fn instances(&self, ids: &[String]) -> Result<Vec<Instance>, PortError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        self.describe(None, ids).await
    }

    async fn volume(&self, id: &str) -> Result<Option<Volume>, PortError> {
        self.count();
        let out = match self.client.describe_volumes().volume_ids(id).send().await {
            Ok(o) => o,
            Err(e) => {
                return match classify("ec2", e) {
                    PortError::NotFound { .. } => Ok(None),
                    other => Err(other),
                }
            }
        };
        Ok(out.volumes().first().map(|v| Volume {
            volume_id: v.volume_id().unwrap_or(id).to_string(),
            volume_type: v.volume_type().map(|t| t.as_str().to_string()),
            size_gib: v.size(),
            iops: v.iops(),
            throughput: v.throughput(),
            instance_id: v
                .attachments()
                .first()
                .and_then(|a| a.instance_id())
                .map(str::to_string),
        }))
    }

    async fn type_limits(&self, instance_type: &str) -> Result<Option<(u32, u32)>, PortError> {
        Ok(self.type_info(instance_type).await?.limits)
    }

    async fn vcpus(&self, instance_type: &str) -> Result<Option<u32>, PortError> {
        Ok(self.type_info(instance_type).await?.vcpus)
    }
}
