"""moto server with the operations eks-remedy needs that moto 5.2 lacks.

Started by the Rust integration tests (see aws/tests/common/mod.rs) as
    .venv/bin/python tests/moto_server.py -H 127.0.0.1 -p <port>

Added, with state kept on moto's own per-account/region backends (so /moto-api/reset clears it):
- EKS CreateAddon, DescribeAddon (ResourceNotFoundException when absent, as for a self-managed CNI),
  DescribeAddonVersions (a realistic vpc-cni catalogue: one default version per Kubernetes version).
- Auto Scaling CompleteLifecycleAction (validates group, hook token format and result; records calls,
  readable at GET /moto-api/eks-remedy/lifecycle-actions for assertions).
- SSM StartAutomationExecution / GetAutomationExecution for the AWSSupport-CollectEKSInstanceLogs
  runbook only: parameters are validated as the runbook declares them (EKSInstanceId required;
  LogDestination, AutomationAssumeRole optional; nothing else). Like moto's SendCommand nothing runs:
  an execution ends at once, Success when the instance and the destination bucket exist, else Failed
  with the reason in FailureMessage.
- EventBridge pattern matching into arrays of objects, as EventBridge does it (moto 5.2 only matches
  scalars and arrays of scalars): CloudWatch alarm events carry `configuration.metrics` as an array
  of objects, and the EBS alarm rule matches `metrics.metricStat.metric.name` inside it.
- S3 pre-signed requests (query-string SigV4, no Authorization header) are verified as S3 does:
  the signature over method, path, query and signed headers, with the tests' fixed credentials
  (secret `test`, see tests/src/moto.rs), and the expiry. Stock moto accepts any pre-signed URL, so a
  URL signed for one key would also write another; here that is refused with 403
  SignatureDoesNotMatch, as on AWS.
- Remediation (Service Quotas requests and history, quotas beyond `vpc`, EKS add-on configuration
  schemas and updates, the EBS 6-hour modification cooldown, a controllable clock and a count of the
  requests moto answered): tests/moto_remedy.py, which documents its endpoints.
Everything else is stock moto. Requests still go through real HTTP and the real SDK serializers.

`--exit-with-parent` (what the tests pass): the server exits when its standard input closes or its
parent process is gone. Tests keep the server in a static that is never dropped, so without this a
finished, panicked or killed test process would leave the server running.
"""

import datetime
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import uuid
from urllib.parse import parse_qsl, quote

from moto import server
from moto.autoscaling import responses as asg_responses
from moto.autoscaling.models import autoscaling_backends
from moto.eks import responses as eks_responses
from moto.eks import urls as eks_urls
from moto.eks.models import eks_backends
from moto.events.models import EventPattern
from moto.ec2.models import ec2_backends
from moto.s3.models import s3_backends
from moto.s3.responses import S3Response
from moto.ssm import responses as ssm_responses

import moto_remedy  # beside this file: the remediation operations

# vpc-cni versions per Kubernetes version; the first of each list is the default (as DescribeAddonVersions marks it).
VPC_CNI = {
    "1.29": ["v1.19.0-eksbuild.1", "v1.18.6-eksbuild.1", "v1.18.3-eksbuild.1"],
    "1.30": ["v1.19.0-eksbuild.1", "v1.18.6-eksbuild.1", "v1.18.3-eksbuild.1"],
    "1.31": ["v1.19.2-eksbuild.1", "v1.19.0-eksbuild.1"],
}

LIFECYCLE_CALLS = []


def _addons(backend):
    if not hasattr(backend, "eks_remedy_addons"):
        backend.eks_remedy_addons = {}
    return backend.eks_remedy_addons


def _eks_error(status, code, message):
    return status, {"status": status, "x-amzn-ErrorType": code, "content-type": "application/json"}, json.dumps({"message": message})


def _backend(resp):
    return eks_backends[resp.current_account][resp.region]


def create_addon(self):
    cluster = self._get_param("name") or self.path.split("/")[2]
    body = json.loads(self.body or "{}")
    backend = _backend(self)
    if cluster not in backend.clusters:
        return _eks_error(404, "ResourceNotFoundException", f"No cluster found for name: {cluster}.")
    addon = {
        "addonName": body["addonName"],
        "clusterName": cluster,
        "status": "ACTIVE",
        "addonVersion": body.get("addonVersion", "v1.18.3-eksbuild.1"),
        "configurationValues": body.get("configurationValues", ""),
        "health": {"issues": []},
        "addonArn": f"arn:aws:eks:{self.region}:{self.current_account}:addon/{cluster}/{body['addonName']}/0",
        "createdAt": 1760850000,
        "modifiedAt": 1760850000,
        "tags": {},
    }
    _addons(backend)[(cluster, body["addonName"])] = addon
    return 200, {"content-type": "application/json"}, json.dumps({"addon": addon})


def describe_addon(self):
    parts = self.path.split("?")[0].strip("/").split("/")
    cluster, name = parts[1], parts[3]
    backend = _backend(self)
    if cluster not in backend.clusters:
        return _eks_error(404, "ResourceNotFoundException", f"No cluster found for name: {cluster}.")
    addon = _addons(backend).get((cluster, name))
    if addon is None:
        return _eks_error(404, "ResourceNotFoundException", f"No addon: {name} found in cluster: {cluster}")
    return 200, {"content-type": "application/json"}, json.dumps({"addon": addon})


def describe_addon_versions(self):
    k8s = self.querystring.get("kubernetesVersion", [None])[0]
    name = self.querystring.get("addonName", ["vpc-cni"])[0]
    versions = []
    if name == "vpc-cni":
        for kv, vs in VPC_CNI.items():
            if k8s and kv != k8s:
                continue
            for i, v in enumerate(vs):
                versions.append({
                    "addonVersion": v,
                    "architecture": ["amd64", "arm64"],
                    "compatibilities": [{"clusterVersion": kv, "platformVersions": ["*"], "defaultVersion": i == 0}],
                    "requiresConfiguration": False,
                })
    addons = [{"addonName": name, "type": "networking", "addonVersions": versions, "owner": "aws"}] if versions else []
    return 200, {"content-type": "application/json"}, json.dumps({"addons": addons})


def complete_lifecycle_action(self):
    group = self._get_param("AutoScalingGroupName")
    hook = self._get_param("LifecycleHookName")
    result = self._get_param("LifecycleActionResult")
    backend = autoscaling_backends[self.current_account][self.region]
    if group not in backend.autoscaling_groups:
        return 400, {"status": 400}, _asg_error("ValidationError", f"No Auto Scaling group found with name: {group}")
    if result not in ("CONTINUE", "ABANDON"):
        return 400, {"status": 400}, _asg_error("ValidationError", f"Invalid LifecycleActionResult: {result}")
    LIFECYCLE_CALLS.append({
        "group": group,
        "hook": hook,
        "token": self._get_param("LifecycleActionToken"),
        "instance": self._get_param("InstanceId"),
        "result": result,
    })
    return 200, {}, (
        '<CompleteLifecycleActionResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">'
        "<CompleteLifecycleActionResult/><ResponseMetadata><RequestId>7c6e177f-f082-11e1-ac58-3714bEXAMPLE</RequestId>"
        "</ResponseMetadata></CompleteLifecycleActionResponse>"
    )


def _asg_error(code, message):
    return (
        '<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>x</RequestId></ErrorResponse>"
    )


RUNBOOK = "AWSSupport-CollectEKSInstanceLogs"
RUNBOOK_PARAMETERS = {"EKSInstanceId", "LogDestination", "AutomationAssumeRole"}


def _ssm_error(code, message):
    return 400, {"status": 400, "content-type": "application/x-amz-json-1.1"}, json.dumps({"__type": code, "message": message})


def _executions(backend):
    if not hasattr(backend, "eks_remedy_automations"):
        backend.eks_remedy_automations = {}
    return backend.eks_remedy_automations


def _instance_exists(account, region, instance_id):
    try:
        ec2_backends[account][region].get_instance(instance_id)
        return True
    except Exception:  # moto raises InvalidInstanceIdError for unknown ids
        return False


def start_automation_execution(self):
    document = self._get_param("DocumentName")
    params = self._get_param("Parameters", {}) or {}
    if document != RUNBOOK:
        return _ssm_error("AutomationDefinitionNotFoundException", f"Automation definition {document} not found")
    unknown = sorted(set(params) - RUNBOOK_PARAMETERS)
    if unknown:
        return _ssm_error("InvalidAutomationExecutionParametersException", f"Parameters {unknown} are not defined in the document")
    instance = (params.get("EKSInstanceId") or [""])[0]
    if not instance:
        return _ssm_error("InvalidAutomationExecutionParametersException", "Parameter EKSInstanceId is required")
    bucket = (params.get("LogDestination") or [""])[0]
    failure = None
    if not _instance_exists(self.current_account, self.region, instance):
        failure = f"Step fails when it is verifying the instance. Instance {instance} was not found."
    elif bucket and bucket not in s3_backends[self.current_account]["aws"].buckets:
        failure = f"Step fails when it is validating the destination. Bucket {bucket} does not exist."
    now = time.time()
    execution_id = str(uuid.uuid4())
    _executions(self.ssm_backend)[execution_id] = {
        "AutomationExecutionId": execution_id,
        "DocumentName": document,
        "DocumentVersion": "1",
        "ExecutionStartTime": now,
        "ExecutionEndTime": now,
        "AutomationExecutionStatus": "Failed" if failure else "Success",
        "Parameters": params,
        "Outputs": {},
        "Mode": "Auto",
        **({"FailureMessage": failure} if failure else {}),
    }
    return 200, {"content-type": "application/x-amz-json-1.1"}, json.dumps({"AutomationExecutionId": execution_id})


def get_automation_execution(self):
    execution_id = self._get_param("AutomationExecutionId")
    execution = _executions(self.ssm_backend).get(execution_id)
    if execution is None:
        return _ssm_error("AutomationExecutionNotFoundException", f"Automation execution {execution_id} not found")
    return 200, {"content-type": "application/x-amz-json-1.1"}, json.dumps({"AutomationExecution": execution})


def _merge(result, key, value):
    if key not in result:
        result[key] = value
        return
    have = result[key] if isinstance(result[key], list) else [result[key]]
    result[key] = have + (value if isinstance(value, list) else [value])


def _flatten_event(node, prefix="", result=None):
    """Dotted paths to leaf values; leaves reached through arrays of objects collect into lists."""
    if result is None:
        result = {}
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict) and v:
                _flatten_event(v, key, result)
            elif isinstance(v, list) and any(isinstance(x, dict) for x in v):
                for x in v:
                    if isinstance(x, dict):
                        for kk, vv in _flatten_event(x, key).items():
                            _merge(result, kk, vv)
                    else:
                        _merge(result, key, x)
            else:
                _merge(result, key, v)
    return result


# Secret keys by access key id for verifying pre-signed S3 requests: the tests' credentials.
PRESIGN_SECRETS = {"test": "test"}


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _presigned_refusal(request):
    """(code, message) when a pre-signed S3 request's signature or expiry is wrong, else None."""
    if "Authorization" in request.headers:
        return None
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    path, _, query = raw.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    params = dict(pairs)
    if "X-Amz-Signature" not in params:
        return None
    try:
        akid, day, region, service, _ = params["X-Amz-Credential"].split("/")
        signed_at = datetime.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        expires = int(params["X-Amz-Expires"])
        signed_headers = params["X-Amz-SignedHeaders"].split(";")
    except (KeyError, ValueError):
        return "AuthorizationQueryParametersError", "malformed pre-signed request"
    if datetime.datetime.now(datetime.timezone.utc) > signed_at + datetime.timedelta(seconds=expires):
        return "AccessDenied", "Request has expired"
    secret = PRESIGN_SECRETS.get(akid)
    if secret is None:
        return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
    enc = lambda v: quote(v, safe="-_.~")  # noqa: E731 - SigV4 URI encoding
    canonical_query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(pairs) if k != "X-Amz-Signature")
    canonical_headers = "".join(f"{h}:{request.headers.get(h, '').strip()}\n" for h in signed_headers)
    canonical = "\n".join([request.method, path, canonical_query, canonical_headers, ";".join(signed_headers), "UNSIGNED-PAYLOAD"])
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = _hmac(key, part)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, params["X-Amz-Signature"]):
        return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
    return None


def _checked_key_response(original):
    def key_response(self, request, full_url):
        refused = _presigned_refusal(request)
        if refused:
            code, message = refused
            body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
            return 403, {"content-type": "application/xml"}, body
        return original(self, request, full_url)

    return key_response


def _install():
    eks_responses.EKSResponse.create_addon = create_addon
    eks_responses.EKSResponse.describe_addon = describe_addon
    eks_responses.EKSResponse.describe_addon_versions = describe_addon_versions
    dispatch = eks_urls.response.dispatch
    eks_urls.url_paths.update({
        "{0}/clusters/(?P<name>[^/]+)/addons$": dispatch,
        "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$": dispatch,
        "{0}/addons/supported-versions$": dispatch,
    })
    asg_responses.AutoScalingResponse.complete_lifecycle_action = complete_lifecycle_action
    ssm_responses.SimpleSystemManagerResponse.start_automation_execution = start_automation_execution
    ssm_responses.SimpleSystemManagerResponse.get_automation_execution = get_automation_execution
    EventPattern._flatten_dict = staticmethod(_flatten_event)
    S3Response._key_response = _checked_key_response(S3Response._key_response)
    moto_remedy.install(eks_urls.url_paths, dispatch, VPC_CNI, _addons)


def _lifecycle_route(app):
    @app.route("/moto-api/eks-remedy/lifecycle-actions", methods=["GET"])
    def lifecycle_actions():
        return json.dumps(LIFECYCLE_CALLS), 200, {"content-type": "application/json"}


def _exit_with_parent():
    """Ends this process when the parent that started it is gone.

    Two signals, because either alone has a gap: stdin (a pipe whose write end only the parent
    holds) reaches EOF the moment the parent dies, however it dies; the parent-pid poll also covers a
    parent that started us without a pipe.
    """
    parent = os.getppid()

    def on_stdin_eof():
        while sys.stdin.buffer.read(65536):
            pass
        os._exit(0)

    def on_reparent():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=on_stdin_eof, daemon=True).start()
    threading.Thread(target=on_reparent, daemon=True).start()


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--exit-with-parent" in args:
        args.remove("--exit-with-parent")
        _exit_with_parent()
    _install()
    original = server.create_backend_app

    def create_backend_app(service):
        app = original(service)
        if service == "moto_api":
            _lifecycle_route(app)
            moto_remedy.routes(app)
        return app

    server.create_backend_app = create_backend_app
    server.main(args)
