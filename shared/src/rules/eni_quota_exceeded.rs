//! `eni-quota-exceeded`: ipamd could not create a network interface because the account reached its
//! `Network interfaces per Region` quota (EC2 error `NetworkInterfaceLimitExceeded`).
//!
//! One refused CreateNetworkInterface shows up to four times in `ipamd.log`: awsutils' error line
//! (`Failed to CreateNetworkInterface <err>`, `… for subnet <id>` since v1.19), a debug echo
//! (`checkAPIErrorAndBroadcastEvent resulted in <err>`, v1.19.4+), ipamd's pool error (`Failed to
//! increase pool size due to not able to allocate ENI AllocENI: failed to create ENI: …`) and a warning
//! (`Failed to allocate N IP addresses on an ENI: …`). Only the first and third are counted, so a
//! refusal is one event, whatever the version and log level. `AttachmentLimitExceeded` (the instance
//! type's ENI slots) is another limit with another fix and is not this rule.

use crate::report::{Action, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, CNI};

/// The Service Quotas service and quota code of `Network interfaces per Region`.
const QUOTA: (&str, &str) = ("vpc", "L-DF5E4CA3");

/// The EC2 error code, as the planner maps it to its quota.
const ERROR_CODE: &str = "NetworkInterfaceLimitExceeded";

static META: RuleMeta = RuleMeta {
    id: "eni-quota-exceeded",
    severity: Severity::High,
    title: "Account out of network interfaces (ENI quota)",
    why: "ipamd grows a node's pod IP pool by creating and attaching ENIs. When the account has as many \
          network interfaces as its Network interfaces per Region quota allows, EC2 refuses every \
          CreateNetworkInterface with NetworkInterfaceLimitExceeded: no node in the Region can add an ENI, \
          and pods beyond the IPs already attached wait in ContainerCreating.",
    docs: &[
        "https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-enis",
        "https://docs.aws.amazon.com/eks/latest/userguide/cni-increase-ip-addresses.html",
        "https://github.com/aws/amazon-vpc-cni-k8s/blob/master/docs/eni-and-ip-target.md",
    ],
};

static SIGS: &[Signature] = &[
    // awsutils, once per refused call (one per subnet tried under subnet discovery).
    Signature::new("create-call", ERROR_CODE, CNI)
        .confirm("Failed to CreateNetworkInterface")
        .tally(r"for subnet (subnet-[0-9a-f]+)"),
    // ipamd, once per failed attempt to grow the pool.
    Signature::new("alloc-eni", ERROR_CODE, CNI).confirm("not able to allocate ENI"),
];

/// See the module docs.
pub struct EniQuotaExceeded;

impl Rule for EniQuotaExceeded {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let calls = ctx.occ("create-call");
        let allocs = ctx.occ("alloc-eni");
        if calls.is_empty() && allocs.is_empty() {
            return Verdict::Clear;
        }
        // Both lines stand for the same refusals: count the larger, cite both.
        let (primary, secondary) = if calls.count >= allocs.count {
            (calls, allocs)
        } else {
            (allocs, calls)
        };
        let subnets: Vec<&str> = calls.tally.keys().map(String::as_str).collect();
        let mut summary = format!(
            "EC2 refused {} CreateNetworkInterface call(s) with NetworkInterfaceLimitExceeded",
            calls.count
        );
        if !subnets.is_empty() {
            summary.push_str(&format!(" in subnet(s) {}", subnets.join(", ")));
        }
        summary.push_str(&format!(
            "; ipamd could not grow its IP pool {} time(s). The account's Network interfaces per Region \
             quota is used up.",
            allocs.count
        ));
        let mut b = FindingBuilder::new(&META, summary)
            .occurrences(primary, ctx.clock)
            .detail("refused_calls", calls.count)
            .detail("failed_pool_increases", allocs.count)
            .detail("service_code", QUOTA.0)
            .detail("quota_code", QUOTA.1);
        for e in secondary.evidence(ctx.clock) {
            b = b.evidence(e);
        }
        if !subnets.is_empty() {
            b = b.detail(
                "subnets",
                serde_json::to_value(&calls.tally).unwrap_or_default(),
            );
        }
        b.fix(fix(
            FixTarget::AwsAccount,
            "Request an increase of the Service Quotas quota \"Network interfaces per Region\" (service vpc, \
             code L-DF5E4CA3) in this Region; `eks-remedy plan` prepares the request.",
            Some(
                "aws service-quotas request-service-quota-increase --service-code vpc --quota-code L-DF5E4CA3 --desired-value <value>",
            ),
        ))
        .fix(fix(
            FixTarget::VpcCniAddon,
            "Hold fewer ENIs per node: prefix delegation puts 16 addresses in each ENI slot, so nodes need \
             fewer ENIs; the default WARM_ENI_TARGET=1 keeps a whole spare ENI on every node, which \
             WARM_IP_TARGET / MINIMUM_IP_TARGET sized to the node's pods avoid (at the cost of more EC2 calls).",
            Some(r#"{"env":{"ENABLE_PREFIX_DELEGATION":"true","WARM_PREFIX_TARGET":"1"}}"#),
        ))
        .fix(fix(
            FixTarget::Ec2,
            "Delete orphaned ENIs: interfaces left `available` by terminated nodes (VPC CNI tag \
             node.k8s.amazonaws.com/instance_id, description aws-K8S-…) still count against the quota.",
            Some(
                "aws ec2 describe-network-interfaces --filters Name=status,Values=available Name=tag-key,Values=node.k8s.amazonaws.com/instance_id --query 'NetworkInterfaces[].NetworkInterfaceId'",
            ),
        ))
        .action(Action::ServiceQuotaReview {
            apis: Vec::new(),
            errors: vec![ERROR_CODE.to_string()],
        })
        .fire()
    }
}
