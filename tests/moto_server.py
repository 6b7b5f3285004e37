"""moto server with the operations eks-remedy needs that moto 5.2 lacks.

Started by the Rust integration tests (see aws/tests/common/mod.rs) as
    .venv/bin/python tests/moto_server.py -H 127.0.0.1 -p <port>

Added, with state kept on moto's own per-account/region backends (so /moto-api/reset clears it):
- EKS CreateAddon, DescribeAddon (ResourceNotFoundException when absent, as for a self-managed CNI),
  DescribeAddonVersions (a realistic vpc-cni catalogue: one default version per Kubernetes version).
- Auto Scaling CompleteLifecycleAction (validates group, hook token format and result; records calls,
  readable at GET /moto-api/eks-remedy/lifecycle-actions for assertions).
Everything else is stock moto. Requests still go through real HTTP and the real SDK serializers.
"""

import json
import sys

from moto import server
from moto.autoscaling import responses as asg_responses
from moto.autoscaling.models import autoscaling_backends
from moto.eks import responses as eks_responses
from moto.eks import urls as eks_urls
from moto.eks.models import eks_backends

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


def _lifecycle_route(app):
    @app.route("/moto-api/eks-remedy/lifecycle-actions", methods=["GET"])
    def lifecycle_actions():
        return json.dumps(LIFECYCLE_CALLS), 200, {"content-type": "application/json"}


if __name__ == "__main__":
    _install()
    original = server.create_backend_app

    def create_backend_app(service):
        app = original(service)
        if service == "moto_api":
            _lifecycle_route(app)
        return app

    server.create_backend_app = create_backend_app
    server.main(sys.argv[1:])
