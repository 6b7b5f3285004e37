//! `node-name-mismatch`: the node registers under a name other than its EC2 private DNS name.
//!
//! The EKS node authenticator maps the node's IAM role to `system:node:{{EC2PrivateDNSName}}`; a kubelet
//! using another name (a hostname set in user data, a custom `--hostname-override`) is refused, and its
//! serving CSRs are not approved.
//!
//! The name shows in user data (`hostnamectl set-hostname`), in kubelet flags, and in the kubelet's own
//! lines: the node it attempts to register, registered, or failed to register (structured `node="..."`
//! and the older `register node <name>` forms) or looks up (`node "x" not found`), the API server's
//! `node A cannot modify node B` when the kubelet's identity and node name differ, and `... with
//! overridden hostname of <name>`.
//! The journal's host column is not a node name (a short or custom host name there is normal).

use std::sync::OnceLock;

use regex::Regex;

use crate::report::{Action, FixTarget, Severity};
use crate::rule::{fix, EvalCtx, FindingBuilder, Rule, RuleMeta, Verdict};
use crate::signature::{Signature, KUBELET, USER_DATA};

static META: RuleMeta = RuleMeta {
    id: "node-name-mismatch",
    severity: Severity::High,
    title: "Node name differs from the EC2 private DNS name",
    why: "EKS authorises a node only under its EC2 private DNS name. A hostname hard-coded in user data \
          or a custom --hostname-override makes registration fail (Unauthorized) and leaves serving \
          certificates unapproved, so the node never becomes Ready.",
    docs: &[
        "https://docs.aws.amazon.com/eks/latest/userguide/troubleshooting.html",
        "https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html",
    ],
};

static SIGS: &[Signature] = &[
    Signature::new("set-hostname", "set-hostname", USER_DATA)
        .confirm(r"hostnamectl\s+set-hostname\s")
        .tally(r#"set-hostname\s+['"]?([^\s'"]+)"#),
    Signature::new("register-unauthorized", "Unable to register node", KUBELET)
        .confirm(r"(?i)unauthorized|forbidden")
        .tally(r#"node="([^"]+)""#),
    Signature::new("node-not-found", "\" not found", KUBELET)
        .confirm(r#"node "[^"]+" not found"#)
        .tally(r#"node "([^"]+)" not found"#),
    // `"Attempting to register node" node="x"`, `"Successfully registered node" node="x"`,
    // `"Unable to register node with API server" err=... node="x"` (structured logging, 1.20+).
    Signature::new("register-kv", "egister", KUBELET)
        .confirm(r#"[Rr]egister(?:ed)? node\b.*\bnode="[^"]+""#)
        .tally(r#"\bnode="([^"]+)""#),
    // `Attempting to register node x`, `Unable to register node "x" with API server: ...` (older).
    Signature::new("register-text", "egister", KUBELET)
        .confirm(r#"[Rr]egister(?:ed)? node "?[A-Za-z0-9]"#)
        .reject(r#"\bnode=""#)
        .tally(r#"[Rr]egister(?:ed)? node "?([A-Za-z0-9][A-Za-z0-9.\-]*)"#),
    // NodeRestriction: the kubelet's credentials name one node, it writes another.
    Signature::new("identity", "cannot modify node", KUBELET)
        .tally(r#"node "?([A-Za-z0-9][A-Za-z0-9.\-]*)"? cannot modify node"#),
    Signature::new("identity-target", "cannot modify node", KUBELET)
        .tally(r#"cannot modify node "?([A-Za-z0-9][A-Za-z0-9.\-]*)"#),
    Signature::new("overridden", "with overridden hostname of", KUBELET)
        .tally(r#"with overridden hostname of "?([A-Za-z0-9][A-Za-z0-9.\-]*)"#),
];

/// Signatures whose tallied value is the name the kubelet runs under (its own node lookups too).
const NAME_SIGNATURES: &[&str] = &[
    "node-not-found",
    "register-kv",
    "register-text",
    "identity",
    "identity-target",
    "overridden",
];

/// `ip-10-0-1-23`, `ip-10-0-1-23.ec2.internal`, `ip-10-0-1-23.us-west-2.compute.internal`, `i-0abc...`.
pub fn is_ec2_name(name: &str) -> bool {
    static R: OnceLock<Option<Regex>> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"^(?:ip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}(?:\.ec2\.internal|\.[a-z0-9-]+\.compute\.internal)?|i-[0-9a-f]{8,17})$").ok()
    })
    .as_ref()
    .is_some_and(|r| r.is_match(name))
}

/// See the module docs.
pub struct NodeNameMismatch;

impl Rule for NodeNameMismatch {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn signatures(&self) -> &'static [Signature] {
        SIGS
    }

    fn evaluate(&self, ctx: &EvalCtx<'_>) -> Verdict {
        let facts = ctx.facts;
        let mut names: Vec<String> = Vec::new();
        let mut evidence = Vec::new();
        for (name, e) in &facts.hostname_overrides {
            if !is_ec2_name(name) {
                names.push(name.clone());
                evidence.push(e.clone());
            }
        }
        let set_hostname = ctx.occ("set-hostname");
        for name in set_hostname.tally.keys() {
            if !is_ec2_name(name) && !names.contains(name) {
                names.push(name.clone());
            }
        }
        let mut kubelet_lines = Vec::new();
        for sig in NAME_SIGNATURES {
            let occ = ctx.occ(sig);
            let mut named = false;
            for name in occ.tally.keys() {
                if !is_ec2_name(name) && name != "other" {
                    named = true;
                    if !names.contains(name) {
                        names.push(name.clone());
                    }
                }
            }
            if named {
                kubelet_lines.push(occ);
            }
        }
        if names.is_empty() {
            return Verdict::Clear;
        }
        let unauthorized = ctx.occ("register-unauthorized");
        let not_found = ctx.occ("node-not-found");
        let mut b = FindingBuilder::new(
            &META,
            format!(
                "The node runs as {} (not an EC2 private DNS name); {} registration attempts were refused.",
                names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", "),
                unauthorized.count
            ),
        )
        .occurrences(set_hostname, ctx.clock)
        .occurrences(unauthorized, ctx.clock)
        .detail("names", names.clone())
        .detail("registration_refused", unauthorized.count)
        .detail("node_not_found", not_found.count);
        if unauthorized.count > 0 {
            b = b.severity(Severity::Critical);
        }
        // Registration lines already shown as refused attempts are not repeated.
        if unauthorized.is_empty() {
            for occ in kubelet_lines {
                b = b.occurrences(occ, ctx.clock);
            }
        }
        for e in evidence {
            b = b.evidence(e);
        }
        let mut remove = vec![];
        if !set_hostname.is_empty() {
            remove.push("hostnamectl set-hostname".to_string());
        }
        remove.extend(
            facts
                .hostname_overrides
                .iter()
                .filter(|(n, _)| !is_ec2_name(n))
                .map(|(n, _)| format!("--hostname-override={n}")),
        );
        if remove.is_empty() {
            remove.push("custom hostname".to_string());
        }
        b.fix(fix(
            FixTarget::UserData,
            "Remove the hostname change from the launch template user data; let the node keep its EC2 private \
             DNS name.",
            Some("# delete lines such as:\nhostnamectl set-hostname <custom-name>"),
        ))
        .fix(fix(
            FixTarget::Al2Bootstrap,
            "Do not pass --hostname-override in --kubelet-extra-args; bootstrap.sh sets it to the private DNS name.",
            None,
        ))
        .fix(fix(
            FixTarget::Al2023Nodeconfig,
            "Do not set --hostname-override in spec.kubelet.flags; nodeadm sets it from instance metadata.",
            None,
        ))
        .action(Action::UserDataReview { remove })
        .fire()
    }
}

#[cfg(test)]
mod tests {
    use super::is_ec2_name;

    #[test]
    fn ec2_names() {
        for ok in [
            "ip-10-0-1-23.ec2.internal",
            "ip-10-0-1-23.us-east-2.compute.internal",
            "ip-172-27-16-222",
            "i-0abc12345def67890",
        ] {
            assert!(is_ec2_name(ok), "{ok}");
        }
        for bad in ["worker-1", "ip-10-0-1-23.corp.example.com", "localhost"] {
            assert!(!is_ec2_name(bad), "{bad}");
        }
    }
}
