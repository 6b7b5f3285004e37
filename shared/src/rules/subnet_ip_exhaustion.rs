//! `subnet-ip-exhaustion`: the node's subnet ran out of addresses.
//!
//! EC2 says so in three ways: `InsufficientFreeAddressesInSubnet`, `InsufficientCidrBlocks` (no
//! contiguous /28 for a prefix), and `InvalidParameterValue` with its own words "There aren't
//! sufficient free Ipv4 addresses or prefixes", which is what ipamd gets under prefix delegation when
//! the subnet has no free /28 left (and on CreateNetworkInterface when it has no address left).

use crate::report::{Action, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, CNI};

static META: RuleMeta = RuleMeta {
    id: "subnet-ip-exhaustion",
    severity: Severity::Critical,
    title: "Subnet out of IP addresses",
    why: "ipamd takes pod IPs (or /28 prefixes) from the node's subnet (or the ENIConfig subnet with custom \
          networking). When the subnet has no free addresses, or no contiguous /28 for prefix delegation, \
          no new pod on any node in that subnet gets an IP.",
    docs: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/cni-increase-ip-addresses.html",
        "https://docs.aws.amazon.com/eks/latest/userguide/cni-custom-network.html",
    ],
};

static SIGS: &[Signature] = &[
    Signature::new("free-addresses", "InsufficientFreeAddressesInSubnet", CNI),
    Signature::new("cidr-blocks", "InsufficientCidrBlocks", CNI),
    Signature::new("cidr-wait", "InsufficientCidr error", CNI),
    // The message, not the code: InvalidParameterValue also covers malformed requests.
    Signature::new(
        "no-free-prefix",
        "There aren't sufficient free Ipv4 addresses or prefixes",
        CNI,
    )
    .confirm("InvalidParameterValue"),
];

/// See the module docs.
pub struct SubnetIpExhaustion;

impl Rule for SubnetIpExhaustion {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let free = ctx.occ("free-addresses");
        let cidr = ctx.occ("cidr-blocks");
        let wait = ctx.occ("cidr-wait");
        let no_free = ctx.occ("no-free-prefix");
        if free.is_empty() && cidr.is_empty() && wait.is_empty() && no_free.is_empty() {
            return Verdict::Clear;
        }
        let mut summary = format!(
            "EC2 refused addresses: {} InsufficientFreeAddressesInSubnet, {} InsufficientCidrBlocks (prefix delegation)",
            free.count,
            cidr.count + wait.count
        );
        if !no_free.is_empty() {
            let pd = if ctx.facts.cni_flag("ENABLE_PREFIX_DELEGATION") {
                " with prefix delegation on"
            } else {
                ""
            };
            summary.push_str(&format!(
                ", {} InvalidParameterValue \"There aren't sufficient free Ipv4 addresses or prefixes\"{pd}",
                no_free.count
            ));
        }
        summary.push('.');
        FindingBuilder::new(&META, summary)
        .occurrences(free, ctx.clock)
        .occurrences(cidr, ctx.clock)
        .occurrences(wait, ctx.clock)
        .occurrences(no_free, ctx.clock)
        .fix(fix(
            FixTarget::Ec2,
            "Add address space: larger or additional subnets, or a secondary VPC CIDR (100.64.0.0/10) with custom \
             networking. With prefix delegation, reserve /28 blocks with a subnet CIDR reservation.",
            Some("aws ec2 create-subnet-cidr-reservation --subnet-id <subnet> --cidr <cidr> --reservation-type prefix"),
        ))
        .fix(fix(
            FixTarget::VpcCniAddon,
            "Release idle addresses: lower WARM_ENI_TARGET or use WARM_IP_TARGET / MINIMUM_IP_TARGET sized to the node's pods.",
            None,
        ))
        .action(Action::SubnetCapacity {})
        .fire()
    }
}
