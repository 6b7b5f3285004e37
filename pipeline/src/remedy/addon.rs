//! The VPC CNI managed add-on at run time: the planned environment change is merged into the
//! add-on's live `configurationValues` (the user's other keys stay), validated against the schema
//! `DescribeAddonConfiguration` gives for the target version, then written with `UpdateAddon`
//! (`resolveConflicts: PRESERVE`, a `clientRequestToken` derived from the idempotency key).

use std::collections::BTreeMap;

use eks_remedy_core::plan::addon::{merge_env, parse_config};
use eks_remedy_core::plan::PlannedAction;
use serde_json::{json, Value};

use super::ports::{AddonApi, AddonUpdateRequest};
use super::{Step, StepError};

/// Why a configuration does not fit its schema (every violation, with its JSON path).
pub fn validate(schema: &str, config: &Value) -> Result<(), String> {
    let schema: Value = serde_json::from_str(schema)
        .map_err(|e| format!("the add-on's configuration schema is not JSON: {e}"))?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| {
        format!("the add-on's configuration schema is not a valid JSON Schema: {e}")
    })?;
    let errors: Vec<String> = validator
        .iter_errors(config)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// The env changes the planner made: set (`Some`) or removed (`None`), from its before and after.
pub fn env_patch(before: &Value, after: &Value) -> BTreeMap<String, Option<String>> {
    let env = |v: &Value| {
        v.get("env")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let (b, a) = (env(before), env(after));
    let mut patch = BTreeMap::new();
    for (k, v) in &a {
        if b.get(k) != Some(v) {
            patch.insert(k.clone(), v.as_str().map(str::to_string));
        }
    }
    for k in b.keys() {
        if !a.contains_key(k) {
            patch.insert(k.clone(), None);
        }
    }
    patch
}

/// A token EKS accepts (at most 64 characters) that is the same for every replay of one action.
pub fn client_request_token(key: &str) -> String {
    // FNV-1a: stable across builds and platforms, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("eks-remedy-{h:016x}")
}

pub(crate) async fn step<A: AddonApi>(
    api: &A,
    action: &PlannedAction,
    key: &str,
    write: bool,
) -> Result<Step, StepError> {
    let cluster = action.target["cluster"].as_str().unwrap_or_default();
    let name = action.target["addon"].as_str().unwrap_or("vpc-cni");
    let Some(live) = api.addon(cluster, name).await.map_err(StepError::read)? else {
        return Ok(Step::Recommend {
            before: Value::Null,
            detail: format!(
                "{name} is not a managed add-on of {cluster} (self-managed): set the environment on the aws-node DaemonSet with kubectl"
            ),
        });
    };
    let current = match parse_config(live.configuration_values.as_deref()) {
        Ok(c) => c,
        Err(why) => return Ok(Step::refuse("prerequisite", why)),
    };
    let patch = env_patch(
        &action.change.before["configurationValues"],
        &action.change.after["configurationValues"],
    );
    let merged = merge_env(&current, &patch);
    let version = action.change.after["addonVersion"]
        .as_str()
        .unwrap_or(&live.version)
        .to_string();
    let before = json!({"addonVersion": live.version, "configurationValues": Value::Object(current.clone()), "status": live.status});
    let after = json!({"addonVersion": version, "configurationValues": Value::Object(merged.clone()), "resolveConflicts": "PRESERVE"});
    if merged == current && version == live.version {
        return Ok(Step::Unchanged {
            before,
            request_ids: Vec::new(),
            detail: "the add-on already has this configuration and version".into(),
        });
    }
    let schema = api
        .configuration_schema(name, &version)
        .await
        .map_err(StepError::read)?;
    if let Err(why) = validate(&schema, &Value::Object(merged.clone())) {
        return Ok(Step::refuse(
            "schema",
            format!("the merged configuration does not fit the {name} {version} schema: {why}"),
        ));
    }
    let detail = describe(&patch, &version, &live.version);
    if !write {
        return Ok(Step::Change {
            before,
            after,
            request_ids: Vec::new(),
            detail,
        });
    }
    let request = AddonUpdateRequest {
        cluster: cluster.to_string(),
        addon: name.to_string(),
        version,
        configuration_values: Value::Object(merged).to_string(),
        resolve_conflicts: "PRESERVE".into(),
        client_request_token: client_request_token(key),
    };
    let update = api.update(&request).await.map_err(StepError::write)?;
    // One look at the update; the follower tracks it to the end.
    let status = match api.update_status(cluster, name, &update.id).await {
        Ok(Some(u)) => u.status,
        _ => update.status.clone(),
    };
    let mut after = after;
    after["update"] = json!({"id": update.id, "status": status});
    Ok(Step::Change {
        before,
        after,
        request_ids: vec![update.id],
        detail,
    })
}

fn describe(patch: &BTreeMap<String, Option<String>>, version: &str, from: &str) -> String {
    let mut parts: Vec<String> = patch
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => format!("unset {k}"),
        })
        .collect();
    if version != from {
        parts.push(format!("version {from} → {version}"));
    }
    parts.join(", ")
}
