//! EBS performance for nodes whose components stalled on block IO: gp2 → gp3, or more gp3 IOPS and
//! throughput, within configured ceilings and EBS's one modification per volume per 6 hours. The
//! launch template stays the durable fix (a replaced node gets a new volume), so a recommendation
//! with its snippet always comes along.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    recommendation, ActionKind, Change, Context, Decision, GuardCheck, Mode, PlannedAction,
    Settings,
};
use crate::report::{Fix, FixTarget};

/// EBS allows one modification per volume in this many hours.
pub const MODIFICATION_COOLDOWN_HOURS: f64 = 6.0;

/// How volumes are raised.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EbsPolicy {
    /// IOPS ceiling for an automatic change.
    pub max_iops: u32,
    /// Throughput ceiling (MiB/s).
    pub max_throughput: u32,
    /// IOPS of a gp2 volume converted to gp3 (at least gp2's own 3 IOPS/GiB).
    pub gp3_iops: u32,
    /// Throughput of a converted volume (MiB/s).
    pub gp3_throughput: u32,
}

impl Default for EbsPolicy {
    fn default() -> Self {
        // gp3 baseline is 3,000 IOPS / 125 MiB/s; boot stalls are mostly image extraction, which
        // wants throughput, so conversions get 250 MiB/s. Ceilings: a quarter of gp3's maximum.
        EbsPolicy {
            max_iops: 4000,
            max_throughput: 500,
            gp3_iops: 3000,
            gp3_throughput: 250,
        }
    }
}

/// A node's root volume as `DescribeVolumes` / `DescribeVolumesModifications` show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeFacts {
    /// Volume id.
    pub volume_id: String,
    /// The node it is attached to.
    pub instance_id: Option<String>,
    /// The node's group.
    pub node_group: Option<String>,
    /// `gp2`, `gp3`, `io1`, ...
    pub volume_type: Option<String>,
    /// Size in GiB.
    pub size_gib: Option<u32>,
    /// Provisioned IOPS.
    pub iops: Option<u32>,
    /// Provisioned throughput, MiB/s.
    pub throughput: Option<u32>,
    /// State of the latest modification (`modifying`, `optimizing`, `completed`, `failed`).
    pub modification_state: Option<String>,
    /// Hours since the latest modification started.
    pub modified_hours_ago: Option<f64>,
}

/// One action per known volume (or one for "the node's root volume" when none is known), plus
/// the launch-template recommendation.
pub(crate) fn plan_volumes(
    rules: &[String],
    ctx: &Context,
    settings: &Settings,
) -> (Vec<PlannedAction>, Vec<String>) {
    let p = settings.ebs;
    let first = rules.first().cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut notes = Vec::new();
    if ctx.volumes.is_empty() {
        let node = ctx
            .nodes
            .first()
            .cloned()
            .unwrap_or_else(|| "(the node)".into());
        out.push(action(
            &first,
            rules,
            format!("ebs-volume:{node}/root"),
            json!({"api": "ec2:ModifyVolume", "instance_id": node, "volume": "root volume (resolved at run time)"}),
            Value::Null,
            json!({"VolumeType": "gp3", "Iops": p.gp3_iops, "Throughput": p.gp3_throughput}),
            vec![GuardCheck::fail(
                "prerequisite",
                "volume not known here (the pipeline reads it with DescribeVolumes)",
            )],
            "Raise the node's root volume to gp3 with more IOPS and throughput".into(),
        ));
    }
    for v in &ctx.volumes {
        match target(v, &p) {
            Target::Raise(after) => {
                let guards = vec![cooldown(v)];
                out.push(action(
                    &first,
                    rules,
                    format!("ebs-volume:{}", v.volume_id),
                    json!({
                        "api": "ec2:ModifyVolume",
                        "volume_id": v.volume_id,
                        "instance_id": v.instance_id,
                        "node_group": v.node_group,
                    }),
                    json!({"VolumeType": v.volume_type, "Iops": v.iops, "Throughput": v.throughput, "Size": v.size_gib}),
                    after,
                    guards,
                    format!("Raise EBS volume {} performance", v.volume_id),
                ));
            }
            Target::AtCeiling => notes.push(format!(
                "EBS volume {} is already at the configured ceiling ({} IOPS, {} MiB/s): a larger instance size or the launch template is the fix",
                v.volume_id, p.max_iops, p.max_throughput
            )),
            Target::NotGp(t) => notes.push(format!(
                "EBS volume {} is {t}: only gp2/gp3 volumes are changed automatically",
                v.volume_id
            )),
        }
    }
    out.push(recommendation(
        &first,
        "Make the launch template's root volume gp3 with more IOPS and throughput (replaced nodes get new volumes)",
        json!({"launch_template": "the node group's launch template / EC2NodeClass"}),
        vec![
            Fix {
                target: FixTarget::Ec2,
                instruction: "Launch template block device mapping of the root volume.".into(),
                snippet: Some(format!(
                    "BlockDeviceMappings:\n  - DeviceName: /dev/xvda\n    Ebs:\n      VolumeType: gp3\n      Iops: {}\n      Throughput: {}",
                    p.gp3_iops, p.gp3_throughput
                )),
            },
            Fix {
                target: FixTarget::Karpenter,
                instruction: "EC2NodeClass block device mapping.".into(),
                snippet: Some(format!(
                    "spec:\n  blockDeviceMappings:\n    - deviceName: /dev/xvda\n      ebs:\n        volumeType: gp3\n        iops: {}\n        throughput: {}",
                    p.gp3_iops, p.gp3_throughput
                )),
            },
        ],
    ));
    (out, notes)
}

enum Target {
    Raise(Value),
    AtCeiling,
    NotGp(String),
}

fn target(v: &VolumeFacts, p: &EbsPolicy) -> Target {
    match v.volume_type.as_deref() {
        Some("gp2") | None => {
            // gp2's own baseline is 3 IOPS/GiB: never convert to less than that.
            let gp2_baseline = v.size_gib.unwrap_or(0).saturating_mul(3);
            let iops = p.gp3_iops.max(gp2_baseline).min(p.max_iops.max(p.gp3_iops));
            Target::Raise(
                json!({"VolumeType": "gp3", "Iops": iops, "Throughput": p.gp3_throughput.min(p.max_throughput)}),
            )
        }
        Some("gp3") => {
            let iops = v.iops.unwrap_or(3000);
            let tp = v.throughput.unwrap_or(125);
            let new_iops = iops.saturating_mul(2).clamp(3000, p.max_iops).max(iops);
            let new_tp = tp.saturating_mul(2).clamp(125, p.max_throughput).max(tp);
            if new_iops == iops && new_tp == tp {
                Target::AtCeiling
            } else {
                Target::Raise(json!({"VolumeType": "gp3", "Iops": new_iops, "Throughput": new_tp}))
            }
        }
        Some(other) => Target::NotGp(other.to_string()),
    }
}

fn cooldown(v: &VolumeFacts) -> GuardCheck {
    if matches!(
        v.modification_state.as_deref(),
        Some("modifying" | "optimizing")
    ) {
        return GuardCheck::fail(
            "cooldown",
            format!(
                "a modification of {} is still {}",
                v.volume_id,
                v.modification_state.as_deref().unwrap_or("")
            ),
        );
    }
    match v.modified_hours_ago {
        Some(h) if h < MODIFICATION_COOLDOWN_HOURS => GuardCheck::fail(
            "cooldown",
            format!(
                "{} was modified {h:.1} h ago; EBS allows one modification per {MODIFICATION_COOLDOWN_HOURS} h",
                v.volume_id
            ),
        ),
        _ => GuardCheck::pass("cooldown", "no modification in the last 6 h"),
    }
}

#[allow(clippy::too_many_arguments)] // one call site per shape; a struct would only rename them
fn action(
    first: &str,
    rules: &[String],
    id: String,
    target: Value,
    before: Value,
    after: Value,
    guards: Vec<GuardCheck>,
    summary: String,
) -> PlannedAction {
    PlannedAction {
        id,
        kind: ActionKind::EbsVolume,
        mode: Mode::DryRun,
        decision: Decision::RecordOnly,
        finding: first.to_string(),
        findings: rules.to_vec(),
        target,
        change: Change { before, after },
        guards,
        summary,
        steps: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(t: &str, size: u32, iops: Option<u32>, tp: Option<u32>) -> VolumeFacts {
        VolumeFacts {
            volume_id: "vol-1".into(),
            volume_type: Some(t.into()),
            size_gib: Some(size),
            iops,
            throughput: tp,
            ..Default::default()
        }
    }

    fn after(v: &VolumeFacts) -> Value {
        match target(v, &EbsPolicy::default()) {
            Target::Raise(a) => a,
            Target::AtCeiling => json!("ceiling"),
            Target::NotGp(t) => json!(t),
        }
    }

    #[test]
    fn gp2_becomes_gp3_never_below_its_own_baseline() {
        assert_eq!(
            after(&vol("gp2", 20, Some(100), None)),
            json!({"VolumeType":"gp3","Iops":3000,"Throughput":250})
        );
        assert_eq!(after(&vol("gp2", 1300, Some(3900), None))["Iops"], 3900);
    }

    #[test]
    fn gp3_doubles_within_the_ceilings_and_stops_there() {
        assert_eq!(
            after(&vol("gp3", 20, Some(3000), Some(125))),
            json!({"VolumeType":"gp3","Iops":4000,"Throughput":250})
        );
        assert_eq!(
            after(&vol("gp3", 20, Some(4000), Some(500))),
            json!("ceiling")
        );
        assert_eq!(
            after(&vol("gp3", 20, Some(9000), Some(125)))["Iops"],
            9000,
            "never lowered"
        );
        assert_eq!(after(&vol("io2", 20, Some(9000), None)), json!("io2"));
    }

    #[test]
    fn a_modification_within_six_hours_blocks_the_action() {
        let mut v = vol("gp3", 20, Some(3000), Some(125));
        v.modified_hours_ago = Some(2.5);
        assert!(!cooldown(&v).ok);
        v.modified_hours_ago = Some(6.5);
        assert!(cooldown(&v).ok);
        v.modification_state = Some("optimizing".into());
        assert!(!cooldown(&v).ok);
    }
}
