//! ENI and IPv4 limits of common instance types, for the max-pods ceiling.
//!
//! EC2 `DescribeInstanceTypes` is authoritative (the pipeline uses it); this table lets the CLI decide
//! offline. A type not listed is reported as unknown, never guessed.

/// (instance type, ENIs, IPv4 addresses per ENI).
const TABLE: &[(&str, u32, u32)] = &[
    ("t3.small", 3, 4),
    ("t3.medium", 3, 6),
    ("t3.large", 3, 12),
    ("t3.xlarge", 4, 15),
    ("t3.2xlarge", 4, 15),
    ("t3a.medium", 3, 6),
    ("t3a.large", 3, 12),
    ("m5.large", 3, 10),
    ("m5.xlarge", 4, 15),
    ("m5.2xlarge", 4, 15),
    ("m5.4xlarge", 8, 30),
    ("m5.8xlarge", 8, 30),
    ("m5.12xlarge", 8, 30),
    ("m5.24xlarge", 15, 50),
    ("m5a.large", 3, 10),
    ("m5a.xlarge", 4, 15),
    ("m5a.4xlarge", 8, 30),
    ("c5n.xlarge", 4, 15),
    ("m6i.large", 3, 10),
    ("m6i.xlarge", 4, 15),
    ("m6i.2xlarge", 4, 15),
    ("m6i.4xlarge", 8, 30),
    ("m7i.large", 3, 10),
    ("m7i.xlarge", 4, 15),
    ("m7i.2xlarge", 4, 15),
    ("m6g.large", 3, 10),
    ("m6g.xlarge", 4, 15),
    ("m7g.large", 3, 10),
    ("m7g.xlarge", 4, 15),
    ("m7g.2xlarge", 4, 15),
    ("c5.large", 3, 10),
    ("c5.xlarge", 4, 15),
    ("c5.2xlarge", 4, 15),
    ("c5.4xlarge", 8, 30),
    ("c5.9xlarge", 8, 30),
    ("p4d.24xlarge", 15, 50),
    ("c6i.large", 3, 10),
    ("c6i.xlarge", 4, 15),
    ("c6i.2xlarge", 4, 15),
    ("c6g.large", 3, 10),
    ("c6g.xlarge", 4, 15),
    ("c7g.xlarge", 4, 15),
    ("c7i.xlarge", 4, 15),
    ("r5.large", 3, 10),
    ("r5.xlarge", 4, 15),
    ("r5.2xlarge", 4, 15),
    ("r5.4xlarge", 8, 30),
    ("r6i.large", 3, 10),
    ("r6i.xlarge", 4, 15),
    ("r6g.xlarge", 4, 15),
    ("r7g.xlarge", 4, 15),
    ("i3.xlarge", 4, 15),
    ("g5.xlarge", 4, 15),
];

/// ENIs and IPv4 addresses per ENI of a listed type.
pub fn limits(instance_type: &str) -> Option<(u32, u32)> {
    TABLE
        .iter()
        .find(|(t, _, _)| *t == instance_type)
        .map(|&(_, e, i)| (e, i))
}

/// The most pods the node's IPs allow (aws-facts §2): secondary-IP mode `ENIs * (IPs - 1) + 2`; custom
/// networking leaves the primary ENI out; prefix delegation gives 16 addresses per slot.
pub fn max_pods(
    enis: u32,
    ips_per_eni: u32,
    custom_networking: bool,
    prefix_delegation: bool,
) -> u32 {
    let usable_enis = if custom_networking {
        enis.saturating_sub(1)
    } else {
        enis
    };
    let per_eni = ips_per_eni.saturating_sub(1) * if prefix_delegation { 16 } else { 1 };
    usable_enis * per_eni + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m5_large_matches_the_documented_example() {
        let (e, i) = limits("m5.large").unwrap();
        assert_eq!(max_pods(e, i, false, false), 29);
        assert_eq!(max_pods(e, i, true, false), 20);
        assert_eq!(max_pods(e, i, false, true), 434);
        assert_eq!(limits("x9.nano"), None);
    }
}
