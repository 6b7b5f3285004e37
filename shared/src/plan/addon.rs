//! The VPC CNI add-on change: every finding's CNI settings folded into one `UpdateAddon` per
//! cluster, merged into the add-on's current `configurationValues` without dropping the user's keys.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::{
    recommendation, shell_quote, ActionKind, Change, Context, Decision, GuardCheck, Mode,
    PlannedAction,
};
use crate::facts::ClusterContext;
use crate::report::{Finding, Fix, FixTarget};

/// `CLUSTER_ENDPOINT` exists from this VPC CNI version on.
const CLUSTER_ENDPOINT_SINCE: (u32, u32, u32) = (1, 12, 1);

/// The CNI settings the findings ask for, before they meet the cluster's facts.
#[derive(Debug, Default)]
pub(crate) struct CniChange {
    /// Variable → value; `None` removes it.
    env: BTreeMap<String, Option<String>>,
    version: Option<String>,
    findings: BTreeSet<String>,
    reduce_calls: Option<ReduceCalls>,
}

#[derive(Debug)]
struct ReduceCalls {
    rule: String,
    warm_ip_seen: bool,
    fixes: Vec<Fix>,
}

impl CniChange {
    pub(crate) fn set_env(&mut self, rule: &str, set: &BTreeMap<String, String>) {
        for (k, v) in set {
            self.env.insert(k.clone(), Some(v.clone()));
        }
        self.findings.insert(rule.to_string());
    }

    pub(crate) fn set_version(&mut self, rule: &str, version: &str) {
        self.version = Some(version.to_string());
        self.findings.insert(rule.to_string());
    }

    /// EC2 throttling by ipamd: fewer calls. Small `WARM_IP_TARGET` / `MINIMUM_IP_TARGET` values
    /// make ipamd call EC2 every few pods; `WARM_ENI_TARGET` allocates a whole ENI's addresses at once.
    pub(crate) fn reduce_ec2_calls(&mut self, rule: &str, f: &Finding) {
        self.reduce_calls = Some(ReduceCalls {
            rule: rule.to_string(),
            warm_ip_seen: f.details.contains_key("warm_ip_target"),
            fixes: f
                .fix
                .iter()
                .filter(|x| x.target == FixTarget::VpcCniAddon)
                .cloned()
                .collect(),
        });
    }

    /// One add-on action (or, for a self-managed CNI, one recommendation) per cluster.
    pub(crate) fn plan(
        mut self,
        ctx: &Context,
        cluster_endpoint_asked: bool,
    ) -> Vec<PlannedAction> {
        let facts = &ctx.cluster_info;
        let mut out = Vec::new();
        let mut guards = Vec::new();
        let current = parse_config(facts.vpc_cni_configuration.as_deref());
        if let Some(r) = self.reduce_calls.take() {
            let configured = current
                .as_ref()
                .ok()
                .map(|c| has_env(c, "WARM_IP_TARGET") || has_env(c, "MINIMUM_IP_TARGET"))
                .unwrap_or(false);
            if configured || r.warm_ip_seen {
                self.env.insert("WARM_IP_TARGET".into(), None);
                self.env.insert("MINIMUM_IP_TARGET".into(), None);
                self.env.insert("WARM_ENI_TARGET".into(), Some("1".into()));
                self.findings.insert(r.rule);
            } else {
                // Already on WARM_ENI_TARGET: the remaining lever, prefix delegation, needs Nitro
                // instances and free /28s in the subnets, which only people can vouch for.
                out.push(recommendation(
                    &r.rule,
                    "Fewer EC2 calls from ipamd: enable prefix delegation (Nitro instances, subnets with free /28 blocks)",
                    json!({"cluster": ctx.cluster, "addon": "vpc-cni"}),
                    r.fixes,
                ));
            }
        }
        if cluster_endpoint_asked || self.env.contains_key("CLUSTER_ENDPOINT") {
            match cluster_endpoint(facts) {
                Endpoint::Use(url) => {
                    self.env.insert("CLUSTER_ENDPOINT".into(), Some(url));
                }
                Endpoint::Unknown(why) => guards.push(GuardCheck::fail("prerequisite", why)),
                Endpoint::Refused(why) => {
                    self.env.remove("CLUSTER_ENDPOINT");
                    out.push(recommendation(
                        "ipamd-apiserver-unreachable",
                        &format!("CLUSTER_ENDPOINT not set automatically: {why}"),
                        json!({"cluster": ctx.cluster, "addon": "vpc-cni"}),
                        Vec::new(),
                    ));
                }
            }
        }
        if self.env.is_empty() && self.version.is_none() {
            return out;
        }
        let findings: Vec<String> = self.findings.into_iter().collect();
        let first = findings.first().cloned().unwrap_or_default();
        let cluster = ctx
            .cluster
            .clone()
            .unwrap_or_else(|| "(the node's cluster)".into());
        if facts.self_managed_cni {
            out.push(recommendation(
                &first,
                "Self-managed VPC CNI: set its environment on the aws-node DaemonSet",
                json!({"cluster": cluster, "daemonset": "kube-system/aws-node"}),
                vec![Fix {
                    target: FixTarget::VpcCniAddon,
                    instruction: "The CNI is not a managed add-on, so the pipeline does not change it; apply this with kubectl.".into(),
                    snippet: Some(kubectl_set_env(&self.env)),
                }],
            ));
            return out;
        }
        let (before, after) = match &current {
            Ok(cur) => {
                let merged = merge_env(cur, &self.env);
                (Value::Object(cur.clone()), Value::Object(merged))
            }
            Err(why) => {
                guards.push(GuardCheck::fail("prerequisite", why.clone()));
                (Value::Null, json!({"env": env_patch(&self.env)}))
            }
        };
        let to_version = self
            .version
            .clone()
            .or_else(|| facts.vpc_cni_addon_version.clone());
        let mut change_after = json!({
            "configurationValues": after,
            "resolveConflicts": "PRESERVE",
        });
        if let Some(v) = &to_version {
            change_after["addonVersion"] = json!(v);
        }
        let summary = match (&self.version, self.env.is_empty()) {
            (Some(v), true) => {
                format!("Update the vpc-cni add-on to {v}, keeping its configuration")
            }
            (Some(v), false) => format!(
                "Update the vpc-cni add-on to {v} and set {}",
                describe_env(&self.env)
            ),
            (None, _) => format!("Set {} on the vpc-cni add-on", describe_env(&self.env)),
        };
        out.push(PlannedAction {
            id: format!("vpc-cni-addon:{cluster}/vpc-cni"),
            kind: ActionKind::VpcCniAddon,
            mode: Mode::DryRun,
            decision: Decision::RecordOnly,
            finding: first,
            findings,
            target: json!({
                "api": "eks:UpdateAddon",
                "cluster": cluster,
                "addon": "vpc-cni",
            }),
            change: Change {
                before: json!({
                    "addonVersion": facts.vpc_cni_addon_version,
                    "configurationValues": before,
                }),
                after: change_after,
            },
            guards,
            summary,
            steps: Vec::new(),
        });
        out
    }
}

enum Endpoint {
    Use(String),
    Unknown(String),
    Refused(String),
}

/// `CLUSTER_ENDPOINT` only where it helps and is safe: VPC CNI ≥ v1.12.1, and private endpoint
/// access on (nodes would otherwise leave the VPC to reach the API server).
fn cluster_endpoint(f: &ClusterContext) -> Endpoint {
    if let Some(v) = f.vpc_cni_addon_version.as_deref() {
        match semver(v) {
            Some(have) if have < CLUSTER_ENDPOINT_SINCE => {
                return Endpoint::Refused(format!(
                    "VPC CNI {v} predates CLUSTER_ENDPOINT (v1.12.1); update the add-on first"
                ))
            }
            _ => {}
        }
    }
    if f.private_access == Some(false) {
        return Endpoint::Refused(
            "the cluster has no private endpoint access; fix what delays kube-proxy instead".into(),
        );
    }
    match (&f.endpoint, f.private_access) {
        (Some(url), Some(true)) => Endpoint::Use(url.clone()),
        (None, _) => Endpoint::Unknown(
            "cluster endpoint not known here (the pipeline reads it with DescribeCluster)".into(),
        ),
        (Some(_), None) => Endpoint::Unknown(
            "private endpoint access not known (the pipeline reads it with DescribeCluster)".into(),
        ),
        (Some(_), Some(false)) => Endpoint::Refused("no private endpoint access".into()),
    }
}

/// `v1.18.3-eksbuild.1` → (1, 18, 3).
pub fn semver(v: &str) -> Option<(u32, u32, u32)> {
    let core = v.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

/// The current `configurationValues` as a JSON object (empty when unset).
pub fn parse_config(raw: Option<&str>) -> Result<Map<String, Value>, String> {
    let raw = raw.map(str::trim).unwrap_or("");
    if raw.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("the add-on's configurationValues is not a JSON object".into()),
        Err(_) => Err(
            "the add-on's configurationValues is not JSON (YAML?): it is not rewritten automatically".into(),
        ),
    }
}

fn has_env(config: &Map<String, Value>, key: &str) -> bool {
    config.get("env").and_then(|e| e.get(key)).is_some()
}

/// Applies the env patch (RFC 7396 semantics on `env`: a value sets, `None` removes) and keeps
/// every other key of the user's configuration.
pub fn merge_env(
    current: &Map<String, Value>,
    patch: &BTreeMap<String, Option<String>>,
) -> Map<String, Value> {
    let mut out = current.clone();
    let mut env = match out.remove("env") {
        Some(Value::Object(e)) => e,
        _ => Map::new(),
    };
    for (k, v) in patch {
        match v {
            Some(v) => {
                env.insert(k.clone(), Value::String(v.clone()));
            }
            None => {
                env.remove(k);
            }
        }
    }
    if !env.is_empty() {
        out.insert("env".into(), Value::Object(env));
    }
    out
}

fn env_patch(patch: &BTreeMap<String, Option<String>>) -> Value {
    Value::Object(
        patch
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().map_or(Value::Null, Value::String)))
            .collect(),
    )
}

fn describe_env(patch: &BTreeMap<String, Option<String>>) -> String {
    patch
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => format!("unset {k}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The same change for a self-managed CNI (`K=V` sets, `K-` removes).
fn kubectl_set_env(patch: &BTreeMap<String, Option<String>>) -> String {
    let args: Vec<String> = patch
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={}", shell_quote(v)),
            None => format!("{k}-"),
        })
        .collect();
    format!(
        "kubectl set env daemonset aws-node -n kube-system {}",
        args.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[test]
    fn the_merge_keeps_unrelated_keys() {
        let cur = parse_config(Some(
            r#"{"env":{"AWS_VPC_K8S_CNI_LOGLEVEL":"DEBUG","WARM_IP_TARGET":"2"},"init":{"env":{"DISABLE_TCP_EARLY_DEMUX":"true"}},"nodeAgent":{"enablePolicyEventLogs":"true"}}"#,
        ))
        .unwrap();
        let merged = merge_env(
            &cur,
            &patch(&[("WARM_IP_TARGET", None), ("WARM_ENI_TARGET", Some("1"))]),
        );
        assert_eq!(
            Value::Object(merged),
            json!({"env":{"AWS_VPC_K8S_CNI_LOGLEVEL":"DEBUG","WARM_ENI_TARGET":"1"},
                   "init":{"env":{"DISABLE_TCP_EARLY_DEMUX":"true"}},
                   "nodeAgent":{"enablePolicyEventLogs":"true"}})
        );
    }

    #[test]
    fn configuration_that_is_not_a_json_object_is_refused_not_overwritten() {
        assert!(parse_config(Some("env:\n  WARM_ENI_TARGET: \"2\"\n")).is_err());
        assert!(parse_config(Some("[1]")).is_err());
        assert_eq!(parse_config(Some("  ")).unwrap(), Map::new());
    }

    #[test]
    fn versions() {
        assert_eq!(semver("v1.18.3-eksbuild.1"), Some((1, 18, 3)));
        assert_eq!(semver("1.12"), Some((1, 12, 0)));
        assert_eq!(semver("latest"), None);
    }

    #[test]
    fn kubectl_for_self_managed_quotes_values() {
        assert_eq!(
            kubectl_set_env(&patch(&[("WARM_IP_TARGET", None), ("CLUSTER_ENDPOINT", Some("https://x.eks.amazonaws.com")), ("X", Some("a b"))])),
            "kubectl set env daemonset aws-node -n kube-system CLUSTER_ENDPOINT=https://x.eks.amazonaws.com WARM_IP_TARGET- X='a b'"
        );
    }

    #[test]
    fn cluster_endpoint_needs_a_recent_cni_and_private_access() {
        let mut f = ClusterContext {
            endpoint: Some("https://ABC.gr7.us-east-1.eks.amazonaws.com".into()),
            private_access: Some(true),
            vpc_cni_addon_version: Some("v1.18.3-eksbuild.1".into()),
            ..Default::default()
        };
        assert!(matches!(cluster_endpoint(&f), Endpoint::Use(_)));
        f.vpc_cni_addon_version = Some("v1.11.4".into());
        assert!(matches!(cluster_endpoint(&f), Endpoint::Refused(_)));
        f.vpc_cni_addon_version = None;
        f.private_access = Some(false);
        assert!(matches!(cluster_endpoint(&f), Endpoint::Refused(_)));
        f.private_access = None;
        assert!(matches!(cluster_endpoint(&f), Endpoint::Unknown(_)));
    }
}
