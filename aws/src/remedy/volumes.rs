//! EBS volumes: state, modifications, `ModifyVolume`.
//!
//! Documented errors and how they map: `InvalidVolume.NotFound` → `None` for `DescribeVolumes`,
//! not found elsewhere; `VolumeModificationRateExceeded` (within 6 h of the last change),
//! `IncorrectModificationState` (one still running), `InvalidParameterValue`,
//! `UnauthorizedOperation` → refused; `RequestLimitExceeded` → throttled; 5xx → transient.

use aws_sdk_ec2::types::VolumeType;
use aws_sdk_ec2::Client;
use eks_remedy_pipeline::remedy::ports::{
    VolumeApi, VolumeModification, VolumeState, VolumeTarget,
};
use eks_remedy_pipeline::PortError;

use super::{code, time};
use crate::classify;

/// The adapter.
pub struct Volumes {
    client: Client,
}

impl Volumes {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Volumes { client }
    }
}

fn non_negative(v: Option<i32>) -> Option<u32> {
    v.and_then(|v| u32::try_from(v).ok())
}

fn modification(m: &aws_sdk_ec2::types::VolumeModification) -> VolumeModification {
    VolumeModification {
        volume_id: m.volume_id().unwrap_or_default().to_string(),
        state: m
            .modification_state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        started: m.start_time().and_then(time),
    }
}

fn state(v: &aws_sdk_ec2::types::Volume) -> VolumeState {
    VolumeState {
        volume_id: v.volume_id().unwrap_or_default().to_string(),
        volume_type: v
            .volume_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        size_gib: non_negative(v.size()).unwrap_or(0),
        iops: non_negative(v.iops()),
        throughput: non_negative(v.throughput()),
    }
}

/// Volumes read per instance: a node has a root and perhaps a data volume, never many.
const MAX_ATTACHED: i32 = 20;

impl VolumeApi for Volumes {
    async fn volume(&self, volume_id: &str) -> Result<Option<VolumeState>, PortError> {
        match self
            .client
            .describe_volumes()
            .volume_ids(volume_id)
            .send()
            .await
        {
            Ok(out) => Ok(out.volumes().first().map(state)),
            Err(e) if code(&e) == Some("InvalidVolume.NotFound") => Ok(None),
            Err(e) => Err(classify("ec2", e)),
        }
    }

    async fn attached(&self, instance_id: &str) -> Result<Vec<VolumeState>, PortError> {
        let out = self
            .client
            .describe_volumes()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("attachment.instance-id")
                    .values(instance_id)
                    .build(),
            )
            .max_results(MAX_ATTACHED)
            .send()
            .await
            .map_err(|e| classify("ec2", e))?;
        Ok(out.volumes().iter().map(state).collect())
    }

    async fn modifications(&self, volume_id: &str) -> Result<Vec<VolumeModification>, PortError> {
        match self
            .client
            .describe_volumes_modifications()
            .volume_ids(volume_id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .volumes_modifications()
                .iter()
                .map(modification)
                .collect()),
            // A volume never modified may answer "not found" for its modifications.
            Err(e) if code(&e) == Some("InvalidVolumeModification.NotFound") => Ok(Vec::new()),
            Err(e) => Err(classify("ec2", e)),
        }
    }

    async fn modify(
        &self,
        volume_id: &str,
        t: &VolumeTarget,
    ) -> Result<VolumeModification, PortError> {
        let as_i32 = |v: Option<u32>| v.and_then(|v| i32::try_from(v).ok());
        let out = self
            .client
            .modify_volume()
            .volume_id(volume_id)
            .volume_type(VolumeType::from(t.volume_type.as_str()))
            .set_iops(as_i32(t.iops))
            .set_throughput(as_i32(t.throughput))
            .send()
            .await
            .map_err(|e| classify("ec2", e))?;
        out.volume_modification()
            .map(modification)
            .ok_or_else(|| PortError::Transient {
                service: "ec2",
                message: "ModifyVolume answered without a modification".into(),
            })
    }
}
