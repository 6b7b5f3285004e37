"""What remediation needs from AWS and moto 5.2 lacks, installed by tests/moto_server.py.

State lives on moto's own per-account/region backends, so POST /moto-api/reset clears it; the clock
and the request counter are process-wide and have their own endpoints.

Service Quotas (awsJson1_1, `ServiceQuotasV20190624.<Op>`):
- A catalogue of the quotas eks-remedy asks for, by service: `ec2` vCPU buckets (On-Demand and Spot,
  Standard and the G/VT, P, X, F, Inf, Trn, DL families), `vpc` (moto's own list), `eks` node-group
  quotas, `ebs` gp3 storage. As on AWS, `ListServiceQuotas` and `GetServiceQuota` only know quotas
  with an *applied* value (the ec2 vCPU buckets and whatever a test applies); the rest answer
  `NoSuchResourceException` there and are read with `GetAWSDefaultServiceQuota` /
  `ListAWSDefaultServiceQuotas`. Both list operations page (`MaxResults`, `NextToken`).
- `RequestServiceQuotaIncrease`: unknown quota → NoSuchResourceException; not adjustable or a desired
  value not above the current one → IllegalArgumentException; an open (PENDING / CASE_OPENED) request
  for the same quota → ResourceAlreadyExistsException ("Only one open service quota increase request
  is allowed per quota."). A request goes PENDING → CASE_OPENED (after 10 min) → APPROVED (after
  1 h) on the clock below; with `SupportCaseAllowed: false` it ends NOT_APPROVED instead of opening a
  case. An approved request becomes the quota's applied value.
- `GetRequestedServiceQuotaChange`, `ListRequestedServiceQuotaChangeHistoryByQuota` (Status filter,
  paging) and `ListRequestedServiceQuotaChangeHistory`.

EKS (restJson1):
- `DescribeAddonConfiguration`: the vpc-cni schema of that version as EKS returns it, a JSON
  *string* (draft-06, `$ref` to `#/definitions/VpcCni`, `additionalProperties: false`, every env
  value typed `string`; `CLUSTER_ENDPOINT` only from v1.12.1).
- `UpdateAddon`: `configurationValues` must be JSON valid against that schema (else
  InvalidParameterException with the validator's reason, nothing applied); `resolveConflicts` one of
  OVERWRITE | NONE | PRESERVE; an update in progress → ResourceInUseException; the same
  `clientRequestToken` returns the same update without applying anything again. The add-on is
  UPDATING until the update succeeds (60 s on the clock).
- `DescribeUpdate` (`addonName` query) and `ListUpdates` for add-on updates.

EC2 (query): `ModifyVolume` keeps moto's behaviour and adds the cooldown AWS enforces: a second
modification within 6 h of the last → `VolumeModificationRateExceeded`; one still `modifying` /
`optimizing` → `IncorrectModificationState`. A modification is `modifying` for 60 s, `optimizing`
until 5 min, then `completed`, on the clock below (stock moto completes at once).

Test endpoints (all JSON; `?region=` defaults to us-east-1). Counts and clocks are kept per Region so
tests running at once in different Regions stay apart:
- `GET /moto-api/eks-remedy/requests?region=R` → `{"<service>:<Operation>": count}` of every AWS
  request moto answered in R since the last `POST /moto-api/eks-remedy/requests/reset?region=R`.
- `GET /moto-api/eks-remedy/clock?region=R` → `{"now": epoch, "offset": seconds}`;
  `POST /moto-api/eks-remedy/clock?region=R {"advance": seconds}` moves R's clock forward (never
  back).
- `POST /moto-api/eks-remedy/quotas {"account", "region", "ServiceCode", "QuotaCode", "Value"?,
  "Adjustable"?}` applies a value (as a past increase would) or changes adjustability.
- `POST /moto-api/eks-remedy/quota-requests {"account", "region", "RequestId", "Status"}` pins a
  request's status (DENIED, CASE_CLOSED, INVALID_REQUEST, ... as a support engineer would).
"""

import copy
import datetime
import json
import threading
import time
import uuid

import jsonschema
from moto.core.responses import BaseResponse
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import elastic_block_store as ebs_models
from moto.eks import responses as eks_responses
from moto.eks.models import eks_backends
from moto.servicequotas import responses as sq_responses
from moto.servicequotas.models import servicequotas_backends
from moto.servicequotas.resources.default_quotas.vpc import VPC_DEFAULT_QUOTAS

# --- clock and request counter -------------------------------------------------------------------

_LOCK = threading.Lock()
# Per Region, so tests that run at once in different Regions neither see each other's requests nor
# move each other's clocks.
_OFFSETS = {}
REQUESTS = {}


def now(region):
    """Wall time plus the offset a test moved this Region's clock by."""
    return time.time() + _OFFSETS.get(region, 0.0)


def _counting(original):
    def call_action(self):
        try:
            key = f"{self.service_name}:{self._get_action()}"
        except Exception:  # an unroutable request still reaches moto's own error path
            key = f"{self.service_name}:?"
        with _LOCK:
            counts = REQUESTS.setdefault(self.region, {})
            counts[key] = counts.get(key, 0) + 1
        return original(self)

    return call_action


# --- Service Quotas ------------------------------------------------------------------------------

SERVICE_NAMES = {
    "ec2": "Amazon Elastic Compute Cloud (Amazon EC2)",
    "eks": "Amazon Elastic Kubernetes Service (Amazon EKS)",
    "ebs": "Amazon Elastic Block Store (Amazon EBS)",
    "vpc": "Amazon Virtual Private Cloud (Amazon VPC)",
}

STANDARD = "Standard (A, C, D, H, I, M, R, T, Z)"

# (service, code, name, default value, unit, adjustable, applied by default, usage metric resource)
CATALOGUE = [
    ("ec2", "L-1216C47A", f"Running On-Demand {STANDARD} instances", 5.0, "None", True, True, "Standard/OnDemand"),
    ("ec2", "L-DB2E81BA", "Running On-Demand G and VT instances", 0.0, "None", True, True, "G/OnDemand"),
    ("ec2", "L-417A185B", "Running On-Demand P instances", 0.0, "None", True, True, "P/OnDemand"),
    ("ec2", "L-7295265B", "Running On-Demand X instances", 0.0, "None", True, True, "X/OnDemand"),
    ("ec2", "L-74FC7D96", "Running On-Demand F instances", 0.0, "None", True, True, "F/OnDemand"),
    ("ec2", "L-1945791B", "Running On-Demand Inf instances", 0.0, "None", True, True, "Inf/OnDemand"),
    ("ec2", "L-2C3B7624", "Running On-Demand Trn instances", 0.0, "None", True, True, "Trn/OnDemand"),
    ("ec2", "L-6E869C2A", "Running On-Demand DL instances", 0.0, "None", True, True, "DL/OnDemand"),
    ("ec2", "L-34B43A08", f"All {STANDARD} Spot Instance Requests", 5.0, "None", True, True, "Standard/Spot"),
    ("ec2", "L-3819A6DF", "All G and VT Spot Instance Requests", 0.0, "None", True, True, "G/Spot"),
    ("ec2", "L-7212CCBC", "All P Spot Instance Requests", 0.0, "None", True, True, "P/Spot"),
    ("ec2", "L-E3A00192", "All X Spot Instance Requests", 0.0, "None", True, True, "X/Spot"),
    ("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", 5.0, "None", True, False, None),
    ("eks", "L-BD136A63", "Nodes per managed node group", 450.0, "None", True, False, None),
    ("eks", "L-6D54EA21", "Managed node groups per cluster", 30.0, "None", True, False, None),
    ("eks", "L-1194D53C", "Clusters", 100.0, "None", True, False, None),
    ("ebs", "L-7A658B76", "Storage for General Purpose SSD (gp3) volumes, in TiB", 50.0, "None", True, False, None),
    ("ebs", "L-D18FCD1D", "Storage for General Purpose SSD (gp2) volumes, in TiB", 50.0, "None", True, False, None),
]

OPEN = ("PENDING", "CASE_OPENED")
CASE_AFTER_S = 600
APPROVED_AFTER_S = 3600


def _defaults(account, region):
    out = []
    for service, code, name, value, unit, adjustable, _, metric in CATALOGUE:
        q = {
            "ServiceCode": service,
            "ServiceName": SERVICE_NAMES[service],
            "QuotaArn": f"arn:aws:servicequotas:{region}::{service}/{code}",
            "QuotaCode": code,
            "QuotaName": name,
            "Value": value,
            "Unit": unit,
            "Adjustable": adjustable,
            "GlobalQuota": False,
            "QuotaAppliedAtLevel": "ACCOUNT",
        }
        if metric:
            cls, kind = metric.split("/")
            q["UsageMetric"] = {
                "MetricNamespace": "AWS/Usage",
                "MetricName": "ResourceCount",
                "MetricDimensions": {"Class": f"{cls}/{kind}", "Resource": "vCPU", "Service": "EC2", "Type": "Resource"},
                "MetricStatisticRecommendation": "Maximum",
            }
        out.append(q)
    for q in VPC_DEFAULT_QUOTAS:
        q = dict(q, QuotaArn=f"arn:aws:servicequotas:{region}::vpc/{q['QuotaCode']}", QuotaAppliedAtLevel="ACCOUNT")
        out.append(q)
    return out


def _sq_state(resp):
    backend = servicequotas_backends[resp.current_account][resp.region]
    return _sq_state_of(backend, resp.current_account, resp.region)


def _sq_state_of(backend, account, region):
    if not hasattr(backend, "eks_remedy"):
        defaults = {(q["ServiceCode"], q["QuotaCode"]): q for q in _defaults(account, region)}
        applied = {}
        for service, code, *_rest in CATALOGUE:
            if _rest[4]:
                applied[(service, code)] = copy.deepcopy(defaults[(service, code)])
        # moto's vpc quotas were readable with GetServiceQuota before this extension: keep that.
        for q in VPC_DEFAULT_QUOTAS:
            applied[("vpc", q["QuotaCode"])] = copy.deepcopy(defaults[("vpc", q["QuotaCode"])])
        backend.eks_remedy = {"defaults": defaults, "applied": applied, "requests": {}, "account": account, "region": region}
    return backend.eks_remedy


def _sq_error(code, message):
    return 400, {"status": 400, "content-type": "application/x-amz-json-1.1"}, json.dumps({"__type": code, "message": message})


def _sq_ok(body):
    return 200, {"content-type": "application/x-amz-json-1.1"}, json.dumps(body)


def _params(resp):
    return json.loads(resp.body or "{}")


def _page(items, params, key):
    try:
        start = int(params.get("NextToken") or 0)
    except ValueError:
        return None
    size = int(params.get("MaxResults") or 100)
    if not 1 <= size <= 100:
        return None
    body = {key: items[start:start + size]}
    if start + size < len(items):
        body["NextToken"] = str(start + size)
    return body


def _quota(state, service, code):
    """The quota as GetServiceQuota shows it (applied), else None."""
    q = state["applied"].get((service, code))
    return copy.deepcopy(q) if q else None


def _status(request, state):
    """Advances a request along its timeline (PENDING → CASE_OPENED → APPROVED) by the clock."""
    if request.get("_pinned") or request["Status"] not in OPEN:
        return request
    age = now(state["region"]) - request["Created"]
    if not request["_case_allowed"]:
        status = "PENDING" if age < CASE_AFTER_S else "NOT_APPROVED"
    elif age < CASE_AFTER_S:
        status = "PENDING"
    elif age < APPROVED_AFTER_S:
        status = "CASE_OPENED"
        request.setdefault("CaseId", str(10_000_000_000 + int(request["Created"]) % 1_000_000_000))
    else:
        status = "APPROVED"
    if status != request["Status"]:
        request["Status"] = status
        request["LastUpdated"] = request["Created"] + (CASE_AFTER_S if status in ("CASE_OPENED", "NOT_APPROVED") else APPROVED_AFTER_S)
    if status == "APPROVED":
        _apply(state, request)
    return request


def _apply(state, request):
    key = (request["ServiceCode"], request["QuotaCode"])
    q = state["applied"].get(key) or copy.deepcopy(state["defaults"][key])
    q["Value"] = request["DesiredValue"]
    state["applied"][key] = q


def _public(request):
    return {k: v for k, v in request.items() if not k.startswith("_")}


def _requests(state, service=None, code=None, status=None):
    out = []
    for r in state["requests"].values():
        _status(r, state)
        if service and r["ServiceCode"] != service:
            continue
        if code and r["QuotaCode"] != code:
            continue
        if status and r["Status"] != status:
            continue
        out.append(_public(r))
    return sorted(out, key=lambda r: r["Created"], reverse=True)


def list_service_quotas(self):
    p = _params(self)
    state = _sq_state(self)
    service = p.get("ServiceCode")
    if service not in SERVICE_NAMES:
        return _sq_error("NoSuchResourceException", f"The request failed because the specified service {service} does not exist.")
    for r in state["requests"].values():
        _status(r, state)
    items = [copy.deepcopy(q) for (s, c), q in sorted(state["applied"].items()) if s == service and (not p.get("QuotaCode") or c == p["QuotaCode"])]
    body = _page(items, p, "Quotas")
    return _sq_ok(body) if body is not None else _sq_error("IllegalArgumentException", "Invalid NextToken or MaxResults")


def list_aws_default_service_quotas(self):
    p = _params(self)
    state = _sq_state(self)
    service = p.get("ServiceCode")
    if service not in SERVICE_NAMES:
        return _sq_error("NoSuchResourceException", f"The request failed because the specified service {service} does not exist.")
    items = [copy.deepcopy(q) for (s, _), q in sorted(state["defaults"].items()) if s == service]
    body = _page(items, p, "Quotas")
    return _sq_ok(body) if body is not None else _sq_error("IllegalArgumentException", "Invalid NextToken or MaxResults")


def get_service_quota(self):
    p = _params(self)
    state = _sq_state(self)
    for r in state["requests"].values():
        _status(r, state)
    q = _quota(state, p.get("ServiceCode"), p.get("QuotaCode"))
    if q is None:
        return _sq_error("NoSuchResourceException", "The request failed because the specified resource does not exist.")
    return _sq_ok({"Quota": q})


def get_aws_default_service_quota(self):
    p = _params(self)
    q = _sq_state(self)["defaults"].get((p.get("ServiceCode"), p.get("QuotaCode")))
    if q is None:
        return _sq_error("NoSuchResourceException", "The request failed because the specified resource does not exist.")
    return _sq_ok({"Quota": copy.deepcopy(q)})


def request_service_quota_increase(self):
    p = _params(self)
    state = _sq_state(self)
    key = (p.get("ServiceCode"), p.get("QuotaCode"))
    default = state["defaults"].get(key)
    if default is None:
        return _sq_error("NoSuchResourceException", "The request failed because the specified resource does not exist.")
    desired = p.get("DesiredValue")
    if not isinstance(desired, (int, float)) or desired < 0:
        return _sq_error("IllegalArgumentException", "DesiredValue must be a non-negative number.")
    current = (state["applied"].get(key) or default)
    if not current["Adjustable"]:
        return _sq_error("IllegalArgumentException", f"The quota {key[1]} is not adjustable.")
    if desired <= current["Value"]:
        return _sq_error("IllegalArgumentException", f"The desired value {desired} must be greater than the current quota value {current['Value']}.")
    if _requests(state, key[0], key[1], "PENDING") or _requests(state, key[0], key[1], "CASE_OPENED"):
        return _sq_error("ResourceAlreadyExistsException", "Only one open service quota increase request is allowed per quota.")
    created = now(self.region)
    request = {
        "Id": uuid.uuid4().hex,
        "ServiceCode": key[0],
        "ServiceName": default["ServiceName"],
        "QuotaCode": key[1],
        "QuotaName": default["QuotaName"],
        "DesiredValue": float(desired),
        "Status": "PENDING",
        "Created": created,
        "LastUpdated": created,
        "Requester": json.dumps({"accountId": state["account"], "callerArn": f"arn:aws:iam::{state['account']}:role/eks-remedy"}),
        "QuotaArn": default["QuotaArn"],
        "GlobalQuota": False,
        "Unit": default["Unit"],
        "QuotaRequestedAtLevel": "ACCOUNT",
        "_case_allowed": p.get("SupportCaseAllowed", True) is not False,
    }
    state["requests"][request["Id"]] = request
    return _sq_ok({"RequestedQuota": _public(request)})


def get_requested_service_quota_change(self):
    p = _params(self)
    state = _sq_state(self)
    r = state["requests"].get(p.get("RequestId"))
    if r is None:
        return _sq_error("NoSuchResourceException", "The request failed because the specified resource does not exist.")
    return _sq_ok({"RequestedQuota": _public(_status(r, state))})


def list_requested_service_quota_change_history_by_quota(self):
    p = _params(self)
    state = _sq_state(self)
    if (p.get("ServiceCode"), p.get("QuotaCode")) not in state["defaults"]:
        return _sq_error("NoSuchResourceException", "The request failed because the specified resource does not exist.")
    items = _requests(state, p["ServiceCode"], p["QuotaCode"], p.get("Status"))
    body = _page(items, p, "RequestedQuotas")
    return _sq_ok(body) if body is not None else _sq_error("IllegalArgumentException", "Invalid NextToken or MaxResults")


def list_requested_service_quota_change_history(self):
    p = _params(self)
    state = _sq_state(self)
    items = _requests(state, p.get("ServiceCode"), None, p.get("Status"))
    body = _page(items, p, "RequestedQuotas")
    return _sq_ok(body) if body is not None else _sq_error("IllegalArgumentException", "Invalid NextToken or MaxResults")


# --- EKS add-on configuration and updates --------------------------------------------------------

ENV_KEYS = [
    "ADDITIONAL_ENI_TAGS", "ANNOTATE_POD_IP", "AWS_EC2_ENDPOINT", "AWS_EXTERNALSNAT", "AWS_MANAGE_ENIS_NON_SCHEDULABLE",
    "AWS_VPC_CNI_NODE_PORT_SUPPORT", "AWS_VPC_ENI_MTU", "AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER",
    "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "AWS_VPC_K8S_CNI_EXTERNALSNAT",
    "AWS_VPC_K8S_CNI_LOGLEVEL", "AWS_VPC_K8S_CNI_LOG_FILE", "AWS_VPC_K8S_CNI_RANDOMIZESNAT", "AWS_VPC_K8S_CNI_VETHPREFIX",
    "AWS_VPC_K8S_PLUGIN_LOG_FILE", "AWS_VPC_K8S_PLUGIN_LOG_LEVEL", "DISABLE_INTROSPECTION", "DISABLE_METRICS",
    "DISABLE_NETWORK_RESOURCE_PROVISIONING", "ENABLE_IPv4", "ENABLE_IPv6", "ENABLE_POD_ENI", "ENABLE_PREFIX_DELEGATION",
    "ENI_CONFIG_ANNOTATION_DEF", "ENI_CONFIG_LABEL_DEF", "INTROSPECTION_BIND_ADDRESS", "IP_COOLDOWN_PERIOD",
    "MAX_ENI", "MINIMUM_IP_TARGET", "POD_SECURITY_GROUP_ENFORCING_MODE", "WARM_ENI_TARGET", "WARM_IP_TARGET",
    "WARM_PREFIX_TARGET",
]
# Versions older than the catalogue in moto_server.VPC_CNI that still have a schema (an old cluster).
OLD_VPC_CNI = ["v1.11.4-eksbuild.3", "v1.12.6-eksbuild.2"]


def _semver(v):
    core = v.lstrip("v").split("-")[0]
    return tuple(int(x) for x in core.split("."))


def vpc_cni_schema(version):
    """The configuration schema of a vpc-cni version, shaped like DescribeAddonConfiguration's."""
    env = list(ENV_KEYS)
    if _semver(version) >= (1, 12, 1):
        env.append("CLUSTER_ENDPOINT")
    if _semver(version) >= (1, 19, 0):
        env.append("NETWORK_POLICY_ENFORCING_MODE")
    string = {"type": "string"}
    return {
        "$ref": "#/definitions/VpcCni",
        "$schema": "http://json-schema.org/draft-06/schema#",
        "definitions": {
            "Env": {"additionalProperties": False, "properties": {k: string for k in sorted(env)}, "title": "Env", "type": "object"},
            "Init": {"additionalProperties": False, "properties": {"env": {"$ref": "#/definitions/InitEnv"}}, "title": "Init", "type": "object"},
            "InitEnv": {"additionalProperties": False, "properties": {"DISABLE_TCP_EARLY_DEMUX": string, "ENABLE_V6_EGRESS": string}, "title": "InitEnv", "type": "object"},
            "NodeAgent": {
                "additionalProperties": False,
                "properties": {"enableCloudWatchLogs": string, "enablePolicyEventLogs": string, "healthProbeBindAddr": string, "metricsBindAddr": string},
                "title": "NodeAgent", "type": "object",
            },
            "Resources": {
                "additionalProperties": False,
                "properties": {"limits": {"$ref": "#/definitions/Limits"}, "requests": {"$ref": "#/definitions/Limits"}},
                "title": "Resources", "type": "object",
            },
            "Limits": {"additionalProperties": False, "properties": {"cpu": string, "memory": string}, "title": "Limits", "type": "object"},
            "VpcCni": {
                "additionalProperties": False,
                "properties": {
                    "affinity": {"type": "object"},
                    "enableNetworkPolicy": {"format": "boolean", "type": "string"},
                    "env": {"$ref": "#/definitions/Env"},
                    "init": {"$ref": "#/definitions/Init"},
                    "livenessProbeTimeoutSeconds": {"type": "integer"},
                    "nodeAgent": {"$ref": "#/definitions/NodeAgent"},
                    "readinessProbeTimeoutSeconds": {"type": "integer"},
                    "resources": {"$ref": "#/definitions/Resources"},
                    "tolerations": {"items": {"type": "object"}, "type": "array"},
                },
                "title": "VpcCni", "type": "object",
            },
        },
        "description": "vpc-cni",
    }


# Set by install(): moto_server's version catalogue and add-on store (one of each).
_BASE = {"vpc_cni": {}, "addons": None}


def _known_version(version):
    return version in OLD_VPC_CNI or any(version in vs for vs in _BASE["vpc_cni"].values())


def _eks_error(status, code, message):
    return status, {"status": status, "x-amzn-ErrorType": code, "content-type": "application/json"}, json.dumps({"message": message})


def _eks_ok(body):
    return 200, {"content-type": "application/json"}, json.dumps(body)


def describe_addon_configuration(self):
    name = self.querystring.get("addonName", [""])[0]
    version = self.querystring.get("addonVersion", [""])[0]
    if name != "vpc-cni":
        return _eks_error(404, "ResourceNotFoundException", f"Addon {name} not found")
    if not _known_version(version):
        return _eks_error(400, "InvalidParameterException", f"Addon version specified ({version}) is not supported")
    return _eks_ok({
        "addonName": name,
        "addonVersion": version,
        "configurationSchema": json.dumps(vpc_cni_schema(version)),
        "podIdentityConfiguration": [{"serviceAccount": "aws-node", "recommendedManagedPolicies": ["arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"]}],
    })


def _updates(backend):
    if not hasattr(backend, "eks_remedy_updates"):
        backend.eks_remedy_updates = {}
    return backend.eks_remedy_updates


UPDATE_SECONDS = 60


def _settle(update, addon):
    """Moves an update (and its add-on) along by the clock."""
    if update["status"] == "InProgress" and now(update["_region"]) - update["createdAt"] >= UPDATE_SECONDS:
        update["status"] = "Successful"
        if addon is not None and addon.get("status") == "UPDATING":
            addon["status"] = "ACTIVE"
            addon["modifiedAt"] = update["createdAt"] + UPDATE_SECONDS
    return update


def _addon_of(resp, cluster, name):
    return _BASE["addons"](eks_backends[resp.current_account][resp.region]).get((cluster, name))


def update_addon(self):
    parts = self.path.split("?")[0].strip("/").split("/")
    cluster, name = parts[1], parts[3]
    backend = eks_backends[self.current_account][self.region]
    if cluster not in backend.clusters:
        return _eks_error(404, "ResourceNotFoundException", f"No cluster found for name: {cluster}.")
    addon = _addon_of(self, cluster, name)
    if addon is None:
        return _eks_error(404, "ResourceNotFoundException", f"No addon: {name} found in cluster: {cluster}")
    body = json.loads(self.body or "{}")
    updates = _updates(backend)
    token = body.get("clientRequestToken")
    for u in updates.values():
        if token and u["_token"] == (cluster, name, token):
            return _eks_ok({"update": _public(_settle(u, addon))})
    for u in updates.values():
        if u["_addon"] == (cluster, name) and _settle(u, addon)["status"] == "InProgress":
            return _eks_error(409, "ResourceInUseException", f"Addon {name} is currently being updated")
    resolve = body.get("resolveConflicts")
    if resolve is not None and resolve not in ("OVERWRITE", "NONE", "PRESERVE"):
        return _eks_error(400, "InvalidParameterException", f"Invalid resolveConflicts value: {resolve}")
    version = body.get("addonVersion") or addon["addonVersion"]
    if not _known_version(version):
        return _eks_error(400, "InvalidParameterException", f"Addon version specified ({version}) is not supported")
    config = body.get("configurationValues")
    if config is not None and config.strip():
        try:
            parsed = json.loads(config)
        except ValueError:
            return _eks_error(400, "InvalidParameterException", "ConfigurationValue provided in request is not supported: Invalid JSON or YAML")
        error = next(iter(jsonschema.Draft6Validator(vpc_cni_schema(version)).iter_errors(parsed)), None)
        if error is not None:
            where = "$" + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in error.absolute_path)
            return _eks_error(400, "InvalidParameterException", f"ConfigurationValue provided in request is not supported: Json schema validation failed with error: [{where}: {error.message}]")
    params = [{"type": "AddonVersion", "value": version}]
    if resolve:
        params.append({"type": "ResolveConflicts", "value": resolve})
    if config is not None:
        params.append({"type": "ConfigurationValues", "value": config})
    update = {
        "id": str(uuid.uuid4()),
        "status": "InProgress",
        "type": "AddonUpdate",
        "params": params,
        "createdAt": now(self.region),
        "errors": [],
        "_region": self.region,
        "_token": (cluster, name, token) if token else None,
        "_addon": (cluster, name),
    }
    updates[update["id"]] = update
    addon["addonVersion"] = version
    if config is not None:
        addon["configurationValues"] = config
    addon["status"] = "UPDATING"
    return _eks_ok({"update": _public(update)})


def describe_update(self):
    parts = self.path.split("?")[0].strip("/").split("/")
    cluster, update_id = parts[1], parts[3]
    backend = eks_backends[self.current_account][self.region]
    name = self.querystring.get("addonName", [None])[0]
    u = _updates(backend).get(update_id)
    if cluster not in backend.clusters or u is None or (name and u["_addon"] != (cluster, name)):
        return _eks_error(404, "ResourceNotFoundException", f"No update found for ID: {update_id}")
    return _eks_ok({"update": _public(_settle(u, _addon_of(self, *u["_addon"])))})


def list_updates(self):
    cluster = self.path.split("?")[0].strip("/").split("/")[1]
    backend = eks_backends[self.current_account][self.region]
    name = self.querystring.get("addonName", [None])[0]
    if cluster not in backend.clusters:
        return _eks_error(404, "ResourceNotFoundException", f"No cluster found for name: {cluster}.")
    ids = [u["id"] for u in _updates(backend).values() if u["_addon"][0] == cluster and (not name or u["_addon"][1] == name)]
    return _eks_ok({"updateIds": ids})


def _describe_addon_settled(original):
    def describe_addon(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        backend = eks_backends[self.current_account][self.region]
        for u in _updates(backend).values():
            if u["_addon"] == (parts[1], parts[3]):
                _settle(u, _addon_of(self, parts[1], parts[3]))
        return original(self)

    return describe_addon


# --- EC2 volume modification cooldown ------------------------------------------------------------

COOLDOWN_S = 6 * 3600
MODIFYING_S = 60
OPTIMIZING_S = 300


class _RateExceeded(EC2ClientError):
    # moto finds an error's service model by the module its class lives in.
    __module__ = "moto.ec2.exceptions"

    def __init__(self):
        super().__init__(
            "VolumeModificationRateExceeded",
            "You've reached the maximum modification rate per volume limit. Wait at least 6 hours between modifications per EBS volume.",
        )


class _InState(EC2ClientError):
    __module__ = "moto.ec2.exceptions"

    def __init__(self, volume_id, state):
        super().__init__("IncorrectModificationState", f"Volume {volume_id} cannot be modified in modification state {state.upper()}")


def _region_of(modification):
    return modification.volume.ec2_backend.region_name


def _modification_state(self):
    age = now(_region_of(self)) - self._eks_remedy_started
    return "modifying" if age < MODIFYING_S else "optimizing" if age < OPTIMIZING_S else "completed"


def _progress(self):
    age = now(_region_of(self)) - self._eks_remedy_started
    return min(100, int(age * 100 / OPTIMIZING_S))


def _guarded_modify(original):
    def modify(self, *args, **kwargs):
        for m in self.modifications:
            state = m.modification_state
            if state in ("modifying", "optimizing"):
                raise _InState(self.id, state)
            if now(self.ec2_backend.region_name) - m._eks_remedy_started < COOLDOWN_S:
                raise _RateExceeded()
        original(self, *args, **kwargs)
        self.modifications[-1]._eks_remedy_started = now(self.ec2_backend.region_name)

    return modify


def _clocked_init(original):
    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._eks_remedy_started = now(_region_of(self))
        # DescribeVolumesModifications reports StartTime on the same clock as the cooldown.
        self.start_time = datetime.datetime.fromtimestamp(self._eks_remedy_started, datetime.timezone.utc).replace(tzinfo=None)
        self.end_time = None

    return init


# --- install and routes --------------------------------------------------------------------------


def install(eks_url_paths, eks_dispatch, vpc_cni, addons):
    """Patches moto; `vpc_cni` is the version catalogue and `addons(backend)` the add-on store."""
    _BASE.update(vpc_cni=vpc_cni, addons=addons)
    BaseResponse.call_action = _counting(BaseResponse.call_action)
    for fn in (
        list_service_quotas,
        list_aws_default_service_quotas,
        get_service_quota,
        get_aws_default_service_quota,
        request_service_quota_increase,
        get_requested_service_quota_change,
        list_requested_service_quota_change_history_by_quota,
        list_requested_service_quota_change_history,
    ):
        setattr(sq_responses.ServiceQuotasResponse, fn.__name__, fn)
    E = eks_responses.EKSResponse
    E.describe_addon_configuration = describe_addon_configuration
    E.update_addon = update_addon
    E.describe_update = describe_update
    E.list_updates = list_updates
    E.describe_addon = _describe_addon_settled(E.describe_addon)
    eks_url_paths.update({
        "{0}/addons/configuration-schemas$": eks_dispatch,
        "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$": eks_dispatch,
        "{0}/clusters/(?P<name>[^/]+)/updates$": eks_dispatch,
        "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$": eks_dispatch,
    })
    ebs_models.VolumeModification.__init__ = _clocked_init(ebs_models.VolumeModification.__init__)
    ebs_models.VolumeModification.modification_state = property(_modification_state)
    ebs_models.VolumeModification.progress = property(_progress)
    ebs_models.Volume.modify = _guarded_modify(ebs_models.Volume.modify)


def routes(app):
    from flask import request

    def reply(body, status=200):
        return json.dumps(body), status, {"content-type": "application/json"}

    @app.route("/moto-api/eks-remedy/requests", methods=["GET"])
    def eks_remedy_requests():
        region = request.args.get("region", "us-east-1")
        with _LOCK:
            return reply(dict(REQUESTS.get(region, {})))

    @app.route("/moto-api/eks-remedy/requests/reset", methods=["POST"])
    def eks_remedy_requests_reset():
        region = request.args.get("region", "us-east-1")
        with _LOCK:
            REQUESTS.pop(region, None)
        return reply({})

    @app.route("/moto-api/eks-remedy/clock", methods=["GET", "POST"])
    def eks_remedy_clock():
        region = request.args.get("region", "us-east-1")
        if request.method == "POST":
            advance = (request.get_json(force=True, silent=True) or {}).get("advance", 0)
            if not isinstance(advance, (int, float)) or advance < 0:
                return reply({"message": "advance must be a non-negative number of seconds"}, 400)
            with _LOCK:
                _OFFSETS[region] = _OFFSETS.get(region, 0.0) + advance
        return reply({"now": now(region), "offset": _OFFSETS.get(region, 0.0)})

    @app.route("/moto-api/eks-remedy/quotas", methods=["POST"])
    def eks_remedy_quotas():
        b = request.get_json(force=True, silent=True) or {}
        backend = servicequotas_backends[b.get("account", "123456789012")][b.get("region", "us-east-1")]
        state = _sq_state_of(backend, b.get("account", "123456789012"), b.get("region", "us-east-1"))
        key = (b.get("ServiceCode"), b.get("QuotaCode"))
        if key not in state["defaults"]:
            return reply({"message": f"unknown quota {key}"}, 404)
        q = state["applied"].get(key) or copy.deepcopy(state["defaults"][key])
        if "Value" in b:
            q["Value"] = float(b["Value"])
            state["applied"][key] = q
        if "Adjustable" in b:
            q["Adjustable"] = bool(b["Adjustable"])
            state["defaults"][key]["Adjustable"] = bool(b["Adjustable"])
        return reply(q)

    @app.route("/moto-api/eks-remedy/quota-requests", methods=["POST"])
    def eks_remedy_quota_requests():
        b = request.get_json(force=True, silent=True) or {}
        backend = servicequotas_backends[b.get("account", "123456789012")][b.get("region", "us-east-1")]
        state = _sq_state_of(backend, b.get("account", "123456789012"), b.get("region", "us-east-1"))
        r = state["requests"].get(b.get("RequestId"))
        if r is None:
            return reply({"message": "no such request"}, 404)
        r["Status"] = b["Status"]
        r["LastUpdated"] = now(b.get("region", "us-east-1"))
        r["_pinned"] = True
        if r["Status"] == "APPROVED":
            _apply(state, r)
        return reply(_public(r))
