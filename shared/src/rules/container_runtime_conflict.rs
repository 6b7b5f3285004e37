//! `container-runtime-conflict`: user data manages Docker on a containerd-only node.
//!
//! From Kubernetes 1.24 the EKS AMIs run containerd only. User data that restarts or configures
//! `docker.service` fails, and a Docker daemon running beside containerd competes for disk, IO and
//! iptables.

use crate::facts::minor_version;
use crate::report::{Action, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, USER_DATA};
use crate::source::SourceKind;

static META: RuleMeta = RuleMeta {
    id: "container-runtime-conflict",
    severity: Severity::Medium,
    title: "User data manages Docker where containerd is the runtime",
    why: "Kubernetes 1.24+ nodes use containerd. User data written for Docker fails part-way (leaving the \
          rest of the script unrun) or starts a second runtime that competes for disk, IO and iptables.",
    docs: &["https://docs.aws.amazon.com/eks/latest/userguide/dockershim-deprecation.html"],
};

static SIGS: &[Signature] = &[
    Signature::new(
        "docker-unit-missing",
        "docker.service",
        &[
            SourceKind::CloudInitOutput,
            SourceKind::UserDataLog,
            SourceKind::CloudInitLog,
            SourceKind::Messages,
        ],
    )
    .confirm(r"Unit docker\.service (?:not found|could not be found)"),
    Signature::new("systemctl-docker", "systemctl", USER_DATA).confirm(
        r"systemctl\s+(?:re)?(?:start|restart|enable|stop|reload)\s+(?:--now\s+)?docker\b",
    ),
];

/// See the module docs.
pub struct ContainerRuntimeConflict;

impl Rule for ContainerRuntimeConflict {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let missing = ctx.occ("docker-unit-missing");
        let systemctl = ctx.occ("systemctl-docker");
        let containerd_only = ctx
            .facts
            .kubelet_version
            .as_deref()
            .and_then(minor_version)
            .map(|v| v >= (1, 24));
        let running_both = ctx
            .facts
            .services
            .as_ref()
            .filter(|s| s.containerd_running)
            .and_then(|s| s.docker_running.clone())
            .filter(|_| containerd_only == Some(true));
        let user_data_docker = !systemctl.is_empty() && containerd_only == Some(true);
        if missing.is_empty() && running_both.is_none() && !user_data_docker {
            return Verdict::Clear;
        }
        let summary = if !missing.is_empty() {
            format!("User data tried to manage docker.service, which does not exist on this node ({} times).", missing.count)
        } else if running_both.is_some() {
            "docker.service runs beside containerd on a Kubernetes 1.24+ node.".to_string()
        } else {
            format!(
                "User data runs systemctl on docker on a Kubernetes 1.24+ node ({} times).",
                systemctl.count
            )
        };
        let mut b = FindingBuilder::new(&META, summary)
            .occurrences(missing, ctx.clock)
            .occurrences(systemctl, ctx.clock);
        if let Some(e) = running_both {
            b = b.evidence(e).count(1);
        }
        b.fix(fix(
            FixTarget::UserData,
            "Remove Docker steps from the user data. Configure the runtime through containerd instead \
             (AL2023: NodeConfig spec.containerd.config; AL2: /etc/containerd/config.toml before bootstrap.sh).",
            None,
        ))
        .action(Action::UserDataReview { remove: vec!["systemctl ... docker".to_string()] })
        .fire()
    }
}
