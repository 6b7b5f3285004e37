//! What a bundle member is, judged from its path inside the EKS Logs Collector tree.
//!
//! The collector's layout is fixed (see `docs/` and the collector script), so a path tells us both how
//! to read a member (log lines to scan, or a small structured file to parse whole) and which rules care.

use serde::Serialize;

/// The kind of a bundle member. Rules name the kinds they read; members no rule reads are not scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// `kubelet/kubelet.log`: the kubelet journal.
    KubeletLog,
    /// `var_log/messages` or `var_log/syslog`: everything syslog saw, kubelet and kernel included.
    Messages,
    /// `containerd/containerd-log.txt`.
    ContainerdLog,
    /// `docker/docker.log`.
    DockerLog,
    /// `var_log/aws-routed-eni/ipamd*.log[.gz]`.
    IpamdLog,
    /// `var_log/aws-routed-eni/plugin*.log[.gz]`: the CNI plugin binary's log.
    CniPluginLog,
    /// Other logs under `var_log/aws-routed-eni/`.
    CniOtherLog,
    /// `var_log/cloud-init-output.log`: user-data script output, `set -x` traces.
    CloudInitOutput,
    /// `var_log/user-data.log`.
    UserDataLog,
    /// `var_log/cloud-init.log`.
    CloudInitLog,
    /// `kernel/dmesg.current`: `[  147.358790] ...`, offsets from boot.
    Dmesg,
    /// `kernel/dmesg.human.current`: `[Tue Nov 20 22:30:22 2018] ...`.
    DmesgHuman,
    /// `kernel/dmesg.boot` (AL2).
    DmesgBoot,
    /// `var_log/containers/*.log` and `var_log/pods/**`: CRI-format container logs.
    ContainerLog,
    /// `nodeadm/*.log` (AL2023).
    NodeadmLog,
    /// `system/io_throttling.txt`.
    IoThrottling,
    /// `networking/iptables-save.txt`.
    IptablesSave,
    /// `kubelet/kubelet_service.txt`: `systemctl cat kubelet` with drop-ins.
    KubeletService,
    /// `system/ps.txt`: full command lines.
    Ps,
    /// `kubelet/kubelet-config.json` (AL2), `kubelet/config.json` and `kubelet/config.json.d/*` (AL2023).
    KubeletConfig,
    /// `ipamd/ipamd-env-settings.json`.
    IpamdEnv,
    /// `cni/cni-configuration-variables-containerd.json`: JSON objects back to back.
    CniEnvDump,
    /// `ipamd/metrics.json`: Prometheus text despite the name.
    CniMetrics,
    /// `system/services.txt`: `systemctl list-units`.
    Services,
    /// `system/instance-id.txt`.
    InstanceId,
    /// `system/region.txt`.
    Region,
    /// `system/availability-zone.txt`.
    AvailabilityZone,
    /// `containerd/containerd-images.txt`.
    ContainerdImages,
    /// Anything else.
    Other,
}

impl SourceKind {
    /// Classifies a member by its path relative to the bundle root (no leading `./` or folder).
    pub fn classify(path: &str) -> SourceKind {
        let (dir, name) = match path.rsplit_once('/') {
            Some((d, n)) => (d, n),
            None => ("", path),
        };
        match (dir, name) {
            ("kubelet", "kubelet.log") => SourceKind::KubeletLog,
            ("kubelet", "kubelet_service.txt") => SourceKind::KubeletService,
            ("kubelet", "kubelet-config.json" | "config.json") => SourceKind::KubeletConfig,
            ("kubelet/config.json.d", _) => SourceKind::KubeletConfig,
            ("var_log", n) if n == "messages" || n == "syslog" || is_rotation_of(n, "messages") => {
                SourceKind::Messages
            }
            ("var_log", "cloud-init-output.log") => SourceKind::CloudInitOutput,
            ("var_log", "cloud-init.log") => SourceKind::CloudInitLog,
            ("var_log", "user-data.log") => SourceKind::UserDataLog,
            ("var_log/aws-routed-eni", n) if n.starts_with("ipamd") => SourceKind::IpamdLog,
            ("var_log/aws-routed-eni", n) if n.starts_with("plugin") => SourceKind::CniPluginLog,
            ("var_log/aws-routed-eni", _) => SourceKind::CniOtherLog,
            ("var_log/containers", _) => SourceKind::ContainerLog,
            (d, _) if d.starts_with("var_log/pods/") => SourceKind::ContainerLog,
            ("containerd", "containerd-log.txt") => SourceKind::ContainerdLog,
            ("containerd", "containerd-images.txt") => SourceKind::ContainerdImages,
            ("docker", "docker.log") => SourceKind::DockerLog,
            ("kernel", "dmesg.current") => SourceKind::Dmesg,
            ("kernel", "dmesg.human.current") => SourceKind::DmesgHuman,
            ("kernel", "dmesg.boot") => SourceKind::DmesgBoot,
            ("nodeadm", _) => SourceKind::NodeadmLog,
            ("system", "io_throttling.txt") => SourceKind::IoThrottling,
            ("system", "ps.txt") => SourceKind::Ps,
            ("system", "services.txt") => SourceKind::Services,
            ("system", "instance-id.txt") => SourceKind::InstanceId,
            ("system", "region.txt") => SourceKind::Region,
            ("system", "availability-zone.txt") => SourceKind::AvailabilityZone,
            ("networking", "iptables-save.txt") => SourceKind::IptablesSave,
            ("ipamd", "ipamd-env-settings.json") => SourceKind::IpamdEnv,
            ("ipamd", "metrics.json") => SourceKind::CniMetrics,
            ("cni", "cni-configuration-variables-containerd.json") => SourceKind::CniEnvDump,
            _ => SourceKind::Other,
        }
    }

    /// Small files parsed whole (configs, tables) rather than scanned line by line.
    pub fn is_structured(self) -> bool {
        matches!(
            self,
            SourceKind::IoThrottling
                | SourceKind::IptablesSave
                | SourceKind::KubeletService
                | SourceKind::Ps
                | SourceKind::KubeletConfig
                | SourceKind::IpamdEnv
                | SourceKind::CniEnvDump
                | SourceKind::CniMetrics
                | SourceKind::Services
                | SourceKind::InstanceId
                | SourceKind::Region
                | SourceKind::AvailabilityZone
                | SourceKind::ContainerdImages
        )
    }

    /// Views of the kernel ring buffer. The same kernel message shows in several of them, so counts
    /// from these are merged by taking the largest view rather than summing.
    pub fn kernel_view(self) -> Option<usize> {
        match self {
            SourceKind::Dmesg => Some(0),
            SourceKind::DmesgHuman => Some(1),
            SourceKind::Messages => Some(2),
            SourceKind::DmesgBoot => Some(3),
            _ => None,
        }
    }
}

/// `messages-20261019` or `messages.1` (logrotate).
fn is_rotation_of(name: &str, base: &str) -> bool {
    name.strip_prefix(base)
        .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_collector_paths() {
        let cases = [
            ("kubelet/kubelet.log", SourceKind::KubeletLog),
            ("var_log/messages", SourceKind::Messages),
            ("var_log/messages-20261019", SourceKind::Messages),
            (
                "var_log/aws-routed-eni/ipamd-2026-10-19T05-12-40.512.log.gz",
                SourceKind::IpamdLog,
            ),
            (
                "var_log/aws-routed-eni/plugin.log",
                SourceKind::CniPluginLog,
            ),
            (
                "var_log/aws-routed-eni/egress-v4-plugin.log",
                SourceKind::CniOtherLog,
            ),
            (
                "kubelet/config.json.d/40-nodeadm.conf",
                SourceKind::KubeletConfig,
            ),
            (
                "var_log/pods/kube-system_aws-node-x_1/aws-node/0.log",
                SourceKind::ContainerLog,
            ),
            ("kernel/dmesg.current", SourceKind::Dmesg),
            ("networking/iptables-save.txt", SourceKind::IptablesSave),
            ("networking/iptables.txt", SourceKind::Other),
            ("README", SourceKind::Other),
        ];
        for (path, kind) in cases {
            assert_eq!(SourceKind::classify(path), kind, "{path}");
        }
    }
}
