//! EBS at run time: gp2 → gp3 or more gp3 IOPS and throughput within the configured ceilings, never
//! within 6 hours of the volume's last modification nor while one is still running.

use chrono::{DateTime, TimeDelta, Utc};
use eks_remedy_core::plan::ebs::{EbsPolicy, MODIFICATION_COOLDOWN_HOURS};
use eks_remedy_core::plan::PlannedAction;
use serde_json::{json, Value};

use super::ports::{VolumeApi, VolumeModification, VolumeState, VolumeTarget};
use super::{Step, StepError};

/// Why a volume may not be modified now (a modification running, or one within the cooldown).
pub fn cooldown(mods: &[VolumeModification], now: DateTime<Utc>) -> Option<String> {
    let window = TimeDelta::minutes((MODIFICATION_COOLDOWN_HOURS * 60.0) as i64);
    for m in mods {
        if matches!(m.state.as_str(), "modifying" | "optimizing") {
            return Some(format!(
                "a modification of {} is still {}",
                m.volume_id, m.state
            ));
        }
        if let Some(at) = m.started {
            if now - at < window {
                let hours = (now - at).num_minutes() as f64 / 60.0;
                return Some(format!(
                    "{} was modified {hours:.1} h ago; EBS allows one modification per {MODIFICATION_COOLDOWN_HOURS} h",
                    m.volume_id
                ));
            }
        }
    }
    None
}

/// The planned target, held to the policy's ceilings and never below what the volume has.
pub fn target(after: &Value, live: &VolumeState, policy: &EbsPolicy) -> VolumeTarget {
    let num = |k: &str| after[k].as_u64().and_then(|v| u32::try_from(v).ok());
    let cap = |want: Option<u32>, max: u32, have: Option<u32>| {
        want.map(|w| w.min(max.max(have.unwrap_or(0))).max(have.unwrap_or(0)))
    };
    VolumeTarget {
        volume_type: after["VolumeType"].as_str().unwrap_or("gp3").to_string(),
        iops: cap(num("Iops"), policy.max_iops, live.iops),
        throughput: cap(num("Throughput"), policy.max_throughput, live.throughput),
    }
}

pub(crate) async fn step<V: VolumeApi>(
    api: &V,
    action: &PlannedAction,
    policy: &EbsPolicy,
    now: DateTime<Utc>,
    write: bool,
) -> Result<Step, StepError> {
    let Some(id) = action.target["volume_id"].as_str() else {
        return Ok(Step::refuse(
            "prerequisite",
            "the plan names no volume (the pipeline resolves the node's root volume first)",
        ));
    };
    let Some(live) = api.volume(id).await.map_err(StepError::read)? else {
        return Ok(Step::refuse(
            "prerequisite",
            format!("volume {id} not found"),
        ));
    };
    let before = json!({"VolumeType": live.volume_type, "Iops": live.iops, "Throughput": live.throughput, "Size": live.size_gib});
    if !matches!(live.volume_type.as_str(), "gp2" | "gp3") {
        return Ok(Step::refuse(
            "prerequisite",
            format!(
                "{id} is {}: only gp2/gp3 volumes are changed automatically",
                live.volume_type
            ),
        ));
    }
    let mods = api.modifications(id).await.map_err(StepError::read)?;
    if let Some(why) = cooldown(&mods, now) {
        return Ok(Step::refuse("cooldown", why));
    }
    let t = target(&action.change.after, &live, policy);
    if t.volume_type == live.volume_type && t.iops == live.iops && t.throughput == live.throughput {
        return Ok(Step::Unchanged {
            before,
            request_ids: Vec::new(),
            detail: format!("{id} already has this type and performance"),
        });
    }
    let after = json!({"VolumeType": t.volume_type, "Iops": t.iops, "Throughput": t.throughput});
    let detail = format!(
        "{id}: {} → {}, IOPS {:?} → {:?}, throughput {:?} → {:?} MiB/s",
        live.volume_type, t.volume_type, live.iops, t.iops, live.throughput, t.throughput
    );
    if !write {
        return Ok(Step::Change {
            before,
            after,
            request_ids: Vec::new(),
            detail,
        });
    }
    let m = api.modify(id, &t).await.map_err(StepError::write)?;
    let mut after = after;
    after["ModificationState"] = json!(m.state);
    Ok(Step::Change {
        before,
        after,
        request_ids: vec![id.to_string()],
        detail,
    })
}
