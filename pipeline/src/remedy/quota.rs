//! Service Quotas at run time: the code is found with `ListServiceQuotas` (the planner's table is a
//! hint), the value read with `GetServiceQuota` falling back to the default, an open request is
//! adopted and never repeated, and a quota that is not adjustable becomes a support-case
//! recommendation.

use std::collections::BTreeMap;

use eks_remedy_core::plan::quota::{desired_value, quota_hints, QuotaFacts};
use eks_remedy_core::plan::{Context, PlannedAction, Settings};
use eks_remedy_core::report::Finding;
use serde_json::{json, Value};

use super::ports::{QuotaApi, QuotaInfo, Requested};
use super::{Step, StepError};
use crate::PortError;

/// Finds a quota by name (exact) or by the hinted code, among applied quotas first, then the
/// defaults; the value is the applied one where there is one.
pub async fn find_quota<Q: QuotaApi>(
    api: &Q,
    service_code: &str,
    code_hint: Option<&str>,
    name: &str,
) -> Result<Option<QuotaInfo>, PortError> {
    let pick = |list: Vec<QuotaInfo>| {
        // The name is what the error and the planner mean; a code from a table may be stale.
        let by_name = list.iter().find(|q| q.name == name).cloned();
        by_name.or_else(|| code_hint.and_then(|c| list.iter().find(|q| q.quota_code == c).cloned()))
    };
    let found = match pick(api.applied_quotas(service_code).await?) {
        Some(q) => Some(q),
        None => pick(api.default_quotas(service_code).await?),
    };
    let Some(found) = found else {
        return Ok(None);
    };
    // The list may be older than the quota's applied value: read it directly.
    let value = match api.applied(service_code, &found.quota_code).await? {
        Some(q) => Some(q),
        None => api.default_quota(service_code, &found.quota_code).await?,
    };
    Ok(Some(value.unwrap_or(found)))
}

/// Fills `ctx.quotas` with what Service Quotas says of every quota the launch failures and the
/// findings name
/// (value, adjustable, open request), so the planner sizes requests from live values. Reads only.
pub async fn resolve<Q: QuotaApi>(
    api: &Q,
    ctx: &mut Context,
    findings: &[Finding],
) -> Result<Vec<String>, PortError> {
    let mut notes = Vec::new();
    // The quotas failed launches and the findings' EC2 errors (e.g. ipamd's
    // NetworkInterfaceLimitExceeded) name, each once.
    let hints = quota_hints(&ctx.launch_failures, findings);
    let mut found = BTreeMap::new();
    for h in hints {
        let Some(q) = find_quota(api, h.service_code, h.quota_code, &h.name).await? else {
            notes.push(format!(
                "quota `{}` ({}) not found in Service Quotas",
                h.name, h.service_code
            ));
            continue;
        };
        let open = api
            .open_requests(&q.service_code, &q.quota_code)
            .await?
            .into_iter()
            .next()
            .map(|r| (r.id, r.status.as_str().to_string(), r.desired_value));
        found.insert(
            q.quota_code.clone(),
            QuotaFacts {
                service_code: q.service_code,
                quota_code: q.quota_code,
                // The planner matches facts to its hint by name when the code differs.
                name: h.name.clone(),
                value: Some(q.value),
                adjustable: Some(q.adjustable),
                open_request: open,
            },
        );
    }
    ctx.quotas.extend(found);
    Ok(notes)
}

/// Prepares (and with `write`, makes) the increase a planned quota action asks for.
pub(crate) async fn step<Q: QuotaApi>(
    api: &Q,
    action: &PlannedAction,
    settings: &Settings,
    ceilings: &BTreeMap<String, f64>,
    write: bool,
) -> Result<Step, StepError> {
    let t = &action.target;
    let service = t["service_code"].as_str().unwrap_or_default();
    let name = t["quota_name"].as_str().unwrap_or_default();
    let hint = t["quota_code"].as_str();
    let Some(q) = find_quota(api, service, hint, name)
        .await
        .map_err(StepError::read)?
    else {
        return Ok(Step::refuse(
            "prerequisite",
            format!("quota `{name}` ({service}) not found in Service Quotas"),
        ));
    };
    let before = json!({"quota_code": q.quota_code, "value": q.value, "adjustable": q.adjustable});
    if !q.adjustable {
        return Ok(Step::Recommend {
            before,
            detail: format!(
                "`{}` ({}) is not adjustable: a support case is needed to raise it",
                q.name, q.quota_code
            ),
        });
    }
    let open = api
        .open_requests(service, &q.quota_code)
        .await
        .map_err(StepError::read)?;
    if let Some(r) = open.first() {
        return Ok(adopt(
            before,
            r.id.clone(),
            r.status.as_str(),
            r.desired_value,
        ));
    }
    let plan_before = action.change.before["value"].as_f64();
    let plan_desired = action.change.after["DesiredValue"].as_f64();
    let desired = match (plan_before, plan_desired) {
        (Some(b), Some(d)) if b == q.value => d,
        // The plan was sized on another value (offline, or the quota moved since): keep what the
        // scale-up needed on top and size again from the live value.
        (Some(b), Some(d)) => desired_value(q.value, (d - b).max(0.0), &settings.quota),
        _ => desired_value(q.value, 0.0, &settings.quota),
    };
    let (desired, capped) = match ceilings.get(&q.quota_code) {
        Some(&c) if desired > c => (c, Some(c)),
        _ => (desired, None),
    };
    if desired <= q.value {
        return Ok(Step::refuse(
            "ceiling",
            format!(
                "the configured ceiling {} does not exceed the current value {}",
                capped.unwrap_or(desired),
                q.value
            ),
        ));
    }
    let after =
        json!({"ServiceCode": q.service_code, "QuotaCode": q.quota_code, "DesiredValue": desired});
    let detail = format!(
        "raise `{}` from {} to {desired}{}",
        q.name,
        q.value,
        capped.map_or(String::new(), |c| format!(" (capped at the ceiling {c})"))
    );
    if !write {
        return Ok(Step::Change {
            before,
            after,
            request_ids: Vec::new(),
            detail,
        });
    }
    match api
        .request_increase(&q.service_code, &q.quota_code, desired)
        .await
        .map_err(StepError::write)?
    {
        Requested::Created(r) => Ok(Step::Change {
            before,
            after: json!({"ServiceCode": q.service_code, "QuotaCode": q.quota_code, "DesiredValue": desired, "Status": r.status.as_str()}),
            request_ids: vec![r.id],
            detail,
        }),
        Requested::AlreadyOpen => {
            // Opened by someone else since the check: adopt theirs.
            let open = api
                .open_requests(service, &q.quota_code)
                .await
                .map_err(StepError::read)?;
            Ok(match open.first() {
                Some(r) => adopt(before, r.id.clone(), r.status.as_str(), r.desired_value),
                None => Step::Unchanged {
                    before,
                    request_ids: Vec::new(),
                    detail: "Service Quotas reports a request already open for this quota".into(),
                },
            })
        }
    }
}

fn adopt(before: Value, id: String, status: &str, desired: f64) -> Step {
    Step::Unchanged {
        before,
        detail: format!(
            "request {id} for {desired} is already {status}: adopted and followed, not repeated"
        ),
        request_ids: vec![id],
    }
}
