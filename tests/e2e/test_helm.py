"""The Helm chart (helm/foundry-controller) and the plain manifests (manifests/).

Offline: helm lint, helm template with the default values and with the values
files in tests/helm/ (values-*.yaml must render, invalid-*.yaml must fail with
the text of their "# error:" header), the chart's crds/ and manifests/crd/
byte-identical to crd/, and manifests/ in sync with the chart's defaults.

Against the real kube-apiserver 1.20 (`cluster` fixture): helm install,
upgrade and uninstall, with the controller's ServiceAccount impersonated to
check that the RBAC grants what the controller does (server-side apply of a
missing ConfigMap, finalizer merge patch, status patch, Event, Lease) and
nothing more; and `kubectl apply -k manifests/`. There is no kubelet, so pods
never run: nothing waits for a rollout.
"""

import glob
import json
import os
import re
import subprocess
import tempfile
import uuid

import pytest
import yaml

import rbac_run
from conftest import CRD_DIR, REPO

CHART = os.path.join(REPO, "helm", "foundry-controller")
MANIFESTS = os.path.join(REPO, "manifests")
VALUES_DIR = os.path.join(REPO, "tests", "helm")
VALUES_FILES = sorted(glob.glob(os.path.join(VALUES_DIR, "values-*.yaml")))
INVALID_FILES = sorted(glob.glob(os.path.join(VALUES_DIR, "invalid-*.yaml")))
KUBECTL = os.environ.get("FC_KUBECTL", "kubectl")
HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")

# The controller's RBAC, as the chart and manifests/ must grant it (docs/operations.md).
WATCH_RULES = [
    {"apiGroups": ["foundry.aucert.io"], "resources": ["foundryaccounts"],
     "verbs": ["list", "watch"]},
    {"apiGroups": ["foundry.aucert.io"], "resources": ["foundrymodels"],
     "verbs": ["list", "watch", "patch"]},
    {"apiGroups": ["foundry.aucert.io"], "resources": ["foundryaccounts/status", "foundrymodels/status"],
     "verbs": ["patch"]},
    {"apiGroups": [""], "resources": ["configmaps"],
     "verbs": ["list", "watch", "create", "patch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
]


def leader_rules(lease):
    return [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [lease],
         "verbs": ["get", "update"]},
    ]


# --------------------------------------------------------------------------
# helpers

def _helm_bin():
    if os.environ.get("FC_HELM"):
        return os.environ["FC_HELM"]
    cache = os.environ.get("FC_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "foundry-controller")
    h = os.path.join(cache, "bin", "helm")
    if os.access(h, os.X_OK):
        return h
    p = subprocess.run([os.path.join(REPO, "tests", "cluster", "tools")], capture_output=True,
                       text=True, timeout=1800)
    assert p.returncode == 0, "tests/cluster/tools failed:\n" + p.stderr
    return os.path.join(p.stdout.strip().splitlines()[-1], "helm")


@pytest.fixture(scope="module")
def helm_env(tmp_path_factory):
    """Environment for helm: its own config/cache/data dirs (nothing in ~)."""
    home = tmp_path_factory.mktemp("helm-home")
    e = dict(os.environ)
    for var in ("HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"):
        e[var] = str(home / var.lower())
    e.pop("KUBECONFIG", None)
    return e


@pytest.fixture(scope="module")
def helm(helm_env):
    binary = _helm_bin()

    def run(*args, kubeconfig=None, check=True, input=None):
        cmd = [binary, *[str(a) for a in args]]
        if kubeconfig:
            cmd += ["--kubeconfig", kubeconfig]
        p = subprocess.run(cmd, capture_output=True, text=True, env=helm_env, input=input,
                           timeout=300)
        if check and p.returncode != 0:
            raise AssertionError("%s\nexit %d\nstdout:\n%s\nstderr:\n%s" % (
                " ".join(cmd), p.returncode, p.stdout, p.stderr))
        return p
    return run


def docs(text):
    return [d for d in yaml.safe_load_all(text) if d]


def template(helm, *args, release="foundry-controller", namespace="foundry-system"):
    """helm template → {(kind, name): object}."""
    out = helm("template", release, CHART, "--namespace", namespace, *args).stdout
    objs = {}
    for d in docs(out):
        key = (d["kind"], d["metadata"]["name"])
        assert key not in objs, "rendered twice: %s" % (key,)
        objs[key] = d
    return objs


def of_kind(objs, kind):
    return [o for (k, _), o in objs.items() if k == kind]


def one(objs, kind):
    found = of_kind(objs, kind)
    assert len(found) == 1, "%d %s objects" % (len(found), kind)
    return found[0]


def container(objs):
    dep = one(objs, "Deployment")
    cs = dep["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1
    return cs[0]


def env_of(c):
    return {e["name"]: e for e in c.get("env", [])}


def header(path, key):
    with open(path) as f:
        for line in f:
            m = re.match(r"#\s*%s:\s*(.+?)\s*$" % key, line)
            if m:
                return m.group(1)
    return None


def read_bytes(p):
    with open(p, "rb") as f:
        return f.read()


def as_sa(ns, sa):
    return ["--as", "system:serviceaccount:%s:%s" % (ns, sa)]


def can_i(cluster, ns, sa, verb, resource, namespace=None, name=None):
    """kubectl auth can-i as the ServiceAccount; resource may be "plural.group/subresource"."""
    resource, _, sub = resource.partition("/")
    args = ["auth", "can-i", verb, resource + ("/" + name if name else "")]
    if sub:
        args.append("--subresource=" + sub)
    args += ["--all-namespaces"] if namespace is None else ["-n", namespace]
    p = cluster.kubectl(*args, *as_sa(ns, sa), check=False)
    assert p.stdout.strip() in ("yes", "no"), p.stdout + p.stderr
    return p.stdout.strip() == "yes"


def short_id():
    return uuid.uuid4().hex[:6]


@pytest.fixture
def make_namespace(cluster):
    """Factory of extra namespaces, deleted (not waited for) after the test."""
    made = []

    def make(prefix="e2e-helm"):
        name = "%s-%s" % (prefix, short_id())
        cluster.kubectl("create", "namespace", name)
        made.append(name)
        return name
    yield make
    for n in made:
        cluster.kubectl("delete", "namespace", n, "--wait=false", check=False)


# --------------------------------------------------------------------------
# offline

def test_lint(helm):
    helm("lint", "--strict", CHART)
    for f in VALUES_FILES:
        helm("lint", "--strict", CHART, "-f", f)


def test_chart_crds_identical_to_crd_dir():
    src = sorted(os.path.basename(p) for p in glob.glob(os.path.join(CRD_DIR, "*.yaml")))
    assert src, "no CRDs in crd/"
    for copy_dir in (os.path.join(CHART, "crds"), os.path.join(MANIFESTS, "crd")):
        got = sorted(os.path.basename(p) for p in glob.glob(os.path.join(copy_dir, "*.yaml")))
        assert got == src, "%s holds %s, crd/ holds %s (copy crd/*.yaml)" % (copy_dir, got, src)
        for name in src:
            assert read_bytes(os.path.join(copy_dir, name)) == read_bytes(os.path.join(CRD_DIR, name)), (
                "%s/%s differs from crd/%s: cp crd/*.yaml %s/" % (copy_dir, name, name, copy_dir))


def test_defaults(helm):
    objs = template(helm)
    assert sorted(objs) == sorted([
        ("ClusterRole", "foundry-controller"), ("ClusterRoleBinding", "foundry-controller"),
        ("Deployment", "foundry-controller"), ("PodDisruptionBudget", "foundry-controller"),
        ("Role", "foundry-controller-leader-election"),
        ("RoleBinding", "foundry-controller-leader-election"),
        ("Service", "foundry-controller-metrics"), ("ServiceAccount", "foundry-controller")])
    for o in objs.values():
        labels = o["metadata"]["labels"]
        for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                  "app.kubernetes.io/managed-by", "helm.sh/chart"):
            assert k in labels, (o["kind"], k)
        if o["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            assert o["metadata"]["namespace"] == "foundry-system"

    dep = one(objs, "Deployment")
    assert dep["spec"]["replicas"] == 2
    pod = dep["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "foundry-controller"
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert "azure.workload.identity/use" not in dep["spec"]["template"]["metadata"]["labels"]
    c = container(objs)
    assert c["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                    "privileged": False, "capabilities": {"drop": ["ALL"]}}
    assert c["image"] == "ghcr.io/aucert/foundry-controller:0.1.0"
    assert c["args"] == [
        "run", "--leader-elect", "--leader-election-namespace=$(POD_NAMESPACE)",
        "--leader-election-id=foundry-controller-leader",
        "--metrics-bind-address=:8080", "--health-probe-bind-address=:8081",
        "--configmap-name=llm-config", "--azure-validation=enforce", "--azure-cloud=AzurePublicCloud",
        "--catalog-ttl=1h", "--deployment-ttl=5m", "--retirement-warning=2160h",
        "--log-format=json", "--log-level=info"]
    env = env_of(c)
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert not any(n.startswith("AZURE_") for n in env), env
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"metrics": 8080, "probes": 8081}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}
    assert c["resources"] == {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}}

    assert one(objs, "ClusterRole")["rules"] == WATCH_RULES
    assert one(objs, "Role")["rules"] == leader_rules("foundry-controller-leader")
    crb = one(objs, "ClusterRoleBinding")
    assert crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                              "name": "foundry-controller"}
    assert crb["subjects"] == [{"kind": "ServiceAccount", "name": "foundry-controller",
                                "namespace": "foundry-system"}]
    sa = one(objs, "ServiceAccount")
    assert "annotations" not in sa["metadata"]

    svc = one(objs, "Service")
    assert svc["spec"]["ports"] == [{"name": "metrics", "port": 8080, "targetPort": "metrics",
                                     "protocol": "TCP"}]
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]
    pdb = one(objs, "PodDisruptionBudget")
    # Offline, helm knows policy/v1 (Kubernetes >= 1.21); on 1.20 see test_helm_lifecycle.
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {"minAvailable": 1, "selector": dep["spec"]["selector"]}
    assert not of_kind(objs, "ServiceMonitor")


def test_values_workload_identity(helm):
    objs = template(helm, "-f", os.path.join(VALUES_DIR, "values-workload-identity.yaml"))
    sa = one(objs, "ServiceAccount")
    assert sa["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": "11111111-2222-3333-4444-555555555555",
        "azure.workload.identity/tenant-id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}
    tmpl = one(objs, "Deployment")["spec"]["template"]
    assert tmpl["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert tmpl["metadata"]["labels"]["team"] == "platform"
    assert tmpl["metadata"]["annotations"] == {"example.com/owner": "platform"}
    assert tmpl["spec"]["priorityClassName"] == "system-cluster-critical"
    c = container(objs)
    # The AKS webhook injects AZURE_CLIENT_ID/TENANT_ID/FEDERATED_TOKEN_FILE/AUTHORITY_HOST.
    assert not any(n.startswith("AZURE_") for n in env_of(c)), env_of(c)
    assert "--azure-validation=warn" in c["args"]
    assert "--suggest-regions=eastus2,swedencentral,westus3" in c["args"]
    assert "--catalog-ttl=30m" in c["args"] and "--retirement-warning=720h" in c["args"]
    assert one(objs, "ClusterRole")["rules"] == WATCH_RULES


def test_values_single_namespace(helm):
    objs = template(helm, "-f", os.path.join(VALUES_DIR, "values-single-namespace.yaml"),
                    release="fc", namespace="ctl")
    assert not of_kind(objs, "ClusterRole") and not of_kind(objs, "ClusterRoleBinding")
    watch = objs[("Role", "fc-foundry-controller")]
    assert watch["metadata"]["namespace"] == "team-a"
    assert watch["rules"] == WATCH_RULES
    rb = objs[("RoleBinding", "fc-foundry-controller")]
    assert rb["metadata"]["namespace"] == "team-a"
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                             "name": "fc-foundry-controller"}
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "fc-foundry-controller",
                               "namespace": "ctl"}]
    lease = objs[("Role", "fc-foundry-controller-leader-election")]
    assert lease["metadata"]["namespace"] == "ctl"
    assert lease["rules"] == leader_rules("team-a-foundry")
    c = container(objs)
    args = c["args"]
    for a in ("--namespace=team-a", "--configmap-name=models", "--leader-election-id=team-a-foundry",
              "--log-format=text", "--log-level=debug", "--kube-timeout=20s"):
        assert a in args, (a, args)
    assert env_of(c)["FOUNDRY_RESYNC_PERIOD"] == {"name": "FOUNDRY_RESYNC_PERIOD", "value": "2h"}
    assert one(objs, "Deployment")["spec"]["replicas"] == 1
    assert not of_kind(objs, "PodDisruptionBudget")    # one replica: a PDB would block drains


def test_values_client_secret(helm):
    objs = template(helm, "-f", os.path.join(VALUES_DIR, "values-client-secret.yaml"))
    c = container(objs)
    env = env_of(c)
    assert env["AZURE_TENANT_ID"]["value"] == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    assert env["AZURE_CLIENT_ID"]["value"] == "11111111-2222-3333-4444-555555555555"
    assert env["AZURE_CLIENT_SECRET"]["valueFrom"] == {
        "secretKeyRef": {"name": "foundry-azure", "key": "client-secret"}}
    assert c["image"] == ("registry.example.com/foundry-controller@sha256:"
                          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
    for a in ("--azure-cloud=AzureUSGovernment", "--azure-arm-endpoint=https://management.usgovcloudapi.net",
              "--azure-ca-file=/etc/foundry-controller/ca/bundle.pem", "--deployment-ttl=90s"):
        assert a in c["args"], (a, c["args"])
    assert c["volumeMounts"] == [{"name": "azure-ca", "mountPath": "/etc/foundry-controller/ca",
                                  "readOnly": True}]
    pod = one(objs, "Deployment")["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "azure-ca", "configMap": {
        "name": "corp-ca", "items": [{"key": "bundle.pem", "path": "bundle.pem"}]}}]
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    assert "azure.workload.identity/use" not in one(objs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert "annotations" not in one(objs, "ServiceAccount")["metadata"]
    sm = one(objs, "ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert sm["metadata"]["labels"]["release"] == "prometheus"
    assert sm["spec"]["endpoints"][0]["port"] == "metrics"
    assert sm["spec"]["selector"]["matchLabels"] == one(objs, "Service")["spec"]["selector"]


@pytest.mark.parametrize("path", INVALID_FILES, ids=[os.path.basename(p) for p in INVALID_FILES])
def test_invalid_values_fail(helm, path):
    expected = header(path, "error")
    assert expected, "%s has no '# error:' header" % path
    p = helm("template", "x", CHART, "-f", path, check=False)
    assert p.returncode != 0, "%s rendered:\n%s" % (path, p.stdout[:2000])
    assert expected in p.stderr, p.stderr


def test_schema_is_strict():
    with open(os.path.join(CHART, "values.schema.json")) as f:
        schema = json.load(f)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["additionalProperties"] is False
    with open(os.path.join(CHART, "values.yaml")) as f:
        values = yaml.safe_load(f)
    assert sorted(values) == sorted(k for k in schema["properties"] if k != "global")
    az = schema["properties"]["azure"]["properties"]
    assert az["validation"]["enum"] == ["enforce", "warn", "off"]
    assert az["cloud"]["enum"] == ["AzurePublicCloud", "AzureChinaCloud", "AzureUSGovernment"]
    assert schema["properties"]["logFormat"]["enum"] == ["json", "text"]
    assert schema["properties"]["logLevel"]["enum"] == ["debug", "info", "warn", "error"]


def _normalise(o):
    o = json.loads(json.dumps(o))
    labels = o["metadata"].get("labels", {})
    for k in HELM_LABELS:
        labels.pop(k, None)
    return o


def test_manifests_in_sync_with_chart(helm):
    """manifests/ = helm template with the defaults, minus Helm's own labels, plus the Namespace."""
    chart = {k: _normalise(o) for k, o in template(helm, "--include-crds").items()}
    out = subprocess.run([KUBECTL, "kustomize", MANIFESTS], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    plain = {}
    for d in docs(out.stdout):
        plain[(d["kind"], d["metadata"]["name"])] = _normalise(d)
    ns = plain.pop(("Namespace", "foundry-system"))
    assert ns["apiVersion"] == "v1"
    assert sorted(plain) == sorted(chart)
    # The important parts first, for readable failures.
    assert one(plain, "ClusterRole")["rules"] == one(chart, "ClusterRole")["rules"] == WATCH_RULES
    assert one(plain, "Role")["rules"] == one(chart, "Role")["rules"]
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        assert one(plain, kind)["subjects"] == one(chart, kind)["subjects"]
        assert one(plain, kind)["roleRef"] == one(chart, kind)["roleRef"]
    assert container(plain)["args"] == container(chart)["args"]
    assert container(plain)["env"] == container(chart)["env"]
    assert container(plain) == container(chart)
    assert one(plain, "Deployment")["spec"] == one(chart, "Deployment")["spec"]
    for key in chart:
        assert plain[key] == chart[key], key


# --------------------------------------------------------------------------
# against the API server

def _server_has(cluster, group_version):
    return group_version in cluster.kubectl("api-versions").stdout.split()


_fa_fm = rbac_run.fa_fm


def _patch_as(cluster, rel_ns, sa, path, body, ctype="application/merge-patch+json"):
    """A raw PATCH as the ServiceAccount (impersonated), like the controller's: no GET
    first (kubectl patch would read the object, which the controller never does)."""
    import ssl
    import urllib.error
    import urllib.request
    req = urllib.request.Request(cluster.server + path, data=body.encode(), method="PATCH", headers={
        "Authorization": "Bearer " + cluster.token, "Content-Type": ctype,
        "Impersonate-User": "system:serviceaccount:%s:%s" % (rel_ns, sa)})
    ctx = ssl.create_default_context(cafile=cluster.ca_file)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        raise AssertionError("PATCH %s as %s: %s %s" % (path, sa, e.code, e.read()[:300])) from None


def _check_controller_powers(cluster, rel_ns, sa, lease, apps_ns, cluster_wide):
    """Does, as the controller's ServiceAccount, what the controller does; and checks the rest is denied."""
    who = as_sa(rel_ns, sa)
    # The objects it works on, created by the admin.
    cluster.kubectl("apply", "-f", "-", input=_fa_fm(apps_ns))

    # Lists and watches everything it caches; never a GET (test_rbac_minimal.py).
    for res in ("foundryaccounts.foundry.aucert.io", "foundrymodels.foundry.aucert.io", "configmaps"):
        for verb in ("list", "watch"):
            assert can_i(cluster, rel_ns, sa, verb, res, apps_ns), (verb, res)
            assert can_i(cluster, rel_ns, sa, verb, res) == cluster_wide, (verb, res, "all namespaces")
        assert not can_i(cluster, rel_ns, sa, "get", res, apps_ns), ("get", res)
    cluster.kubectl("get", "fa,fm,cm", "-n", apps_ns, *who)

    # llm-config: server-side apply creates it (needs create + patch), then updates it.
    cm = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: llm-config, namespace: %s}\n"
          "data: {FOUNDRY_DEPLOYMENT_GENERATION: %s}\n")
    for value in ("gpt-4o", "gpt-4.1"):
        cluster.kubectl("apply", "--server-side", "--field-manager=foundry-controller", "-f", "-",
                        *who, input=cm % (apps_ns, value))
    data = cluster.get_json("cm", "llm-config", "-n", apps_ns)["data"]
    assert data == {"FOUNDRY_DEPLOYMENT_GENERATION": "gpt-4.1"}

    # Finalizer on the FoundryModel (merge patch of the main resource).
    _patch_as(cluster, rel_ns, sa, "/apis/foundry.aucert.io/v1alpha1/namespaces/%s/foundrymodels/gen" % apps_ns,
              '{"metadata":{"finalizers":["foundry.aucert.io/finalizer"]}}')
    # Status of both kinds (merge patch of /status).
    status = '{"status":{"observedGeneration":1,"conditions":[{"type":"Ready","status":"True",' \
             '"reason":"Published","message":"ok","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
    for plural, name in (("foundrymodels", "gen"), ("foundryaccounts", "acct")):
        _patch_as(cluster, rel_ns, sa, "/apis/foundry.aucert.io/v1alpha1/namespaces/%s/%s/%s/status"
                  % (apps_ns, plural, name), status)
    assert cluster.get_json("fm", "gen", "-n", apps_ns)["status"]["conditions"][0]["reason"] == "Published"

    # An Event on the FoundryModel.
    uid = cluster.get_json("fm", "gen", "-n", apps_ns)["metadata"]["uid"]
    event = {"apiVersion": "v1", "kind": "Event",
             "metadata": {"generateName": "gen.", "namespace": apps_ns},
             "involvedObject": {"apiVersion": "foundry.aucert.io/v1alpha1", "kind": "FoundryModel",
                                "namespace": apps_ns, "name": "gen", "uid": uid},
             "type": "Normal", "reason": "Published", "message": "test",
             "source": {"component": "foundry-controller"},
             "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
             "count": 1}
    cluster.kubectl("create", "-f", "-", *who, input=json.dumps(event))

    # The leader Lease, in the release namespace only, under its own name only.
    lease_obj = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": lease, "namespace": rel_ns},
                 "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15}}
    cluster.kubectl("create", "-f", "-", *who, input=json.dumps(lease_obj))
    got = cluster.get_json("lease", lease, "-n", rel_ns, *who)
    got["spec"]["holderIdentity"] = "pod-b"
    cluster.kubectl("replace", "-f", "-", *who, input=json.dumps(got))
    assert cluster.get_json("lease", lease, "-n", rel_ns)["spec"]["holderIdentity"] == "pod-b"
    assert not can_i(cluster, rel_ns, sa, "get", "leases.coordination.k8s.io", rel_ns, "someone-else")
    assert not can_i(cluster, rel_ns, sa, "create", "leases.coordination.k8s.io", apps_ns)
    assert not can_i(cluster, rel_ns, sa, "delete", "leases.coordination.k8s.io", rel_ns, lease)
    assert not can_i(cluster, rel_ns, sa, "list", "leases.coordination.k8s.io", rel_ns)

    # Not granted: the controller never uses them (test_rbac_minimal.py).
    assert not can_i(cluster, rel_ns, sa, "update", "foundrymodels.foundry.aucert.io/status", apps_ns)
    assert not can_i(cluster, rel_ns, sa, "update", "foundryaccounts.foundry.aucert.io/status", apps_ns)
    assert not can_i(cluster, rel_ns, sa, "patch", "events", apps_ns)

    # Denied: everything else it could do harm with.
    denied = [
        ("delete", "configmaps"), ("update", "configmaps"), ("deletecollection", "configmaps"),
        ("create", "foundrymodels.foundry.aucert.io"), ("update", "foundrymodels.foundry.aucert.io"),
        ("delete", "foundrymodels.foundry.aucert.io"),
        ("patch", "foundryaccounts.foundry.aucert.io"), ("update", "foundryaccounts.foundry.aucert.io"),
        ("delete", "foundryaccounts.foundry.aucert.io"),
        ("get", "secrets"), ("list", "secrets"), ("list", "pods"), ("create", "pods"),
        ("delete", "events"), ("list", "events"),
        ("create", "customresourcedefinitions.apiextensions.k8s.io"),
        ("create", "clusterroles.rbac.authorization.k8s.io"), ("create", "roles.rbac.authorization.k8s.io"),
    ]
    for verb, res in denied:
        assert not can_i(cluster, rel_ns, sa, verb, res, apps_ns), (verb, res)
    p = cluster.kubectl("delete", "cm", "llm-config", "-n", apps_ns, *who, check=False)
    assert p.returncode != 0 and "forbidden" in p.stderr, p.stderr

    # Drop the finalizer again (no controller runs here to do it).
    cluster.kubectl("patch", "fm", "gen", "-n", apps_ns, "--type=merge",
                    "-p", '{"metadata":{"finalizers":null}}')


def test_helm_lifecycle(cluster, helm, namespace, make_namespace):
    """install → RBAC works for the controller → upgrade to one namespace → uninstall (CRDs kept)."""
    kc = cluster.kubeconfig
    rel = "fc-" + short_id()
    full = rel + "-foundry-controller"
    lease = full + "-leader"
    apps = make_namespace("e2e-helm-apps")

    p = helm("install", rel, CHART, "-n", namespace, "--set", "azure.validation=off", kubeconfig=kc)
    assert "kubectl get fa,fm -A" in p.stdout, p.stdout          # NOTES.txt
    try:
        manifest = docs(helm("get", "manifest", rel, "-n", namespace, kubeconfig=kc).stdout)
        pdb = next(d for d in manifest if d["kind"] == "PodDisruptionBudget")
        want_pdb = "policy/v1" if _server_has(cluster, "policy/v1") else "policy/v1beta1"
        assert pdb["apiVersion"] == want_pdb
        cluster.kubectl("get", "poddisruptionbudgets.%s.policy" % want_pdb.split("/")[1], full,
                        "-n", namespace)
        for kind in ("deployment", "serviceaccount", "service", "role", "rolebinding"):
            cluster.kubectl("get", kind, full if kind not in ("service", "role", "rolebinding") else
                            {"service": full + "-metrics", "role": full + "-leader-election",
                             "rolebinding": full + "-leader-election"}[kind], "-n", namespace)
        cr = cluster.get_json("clusterrole", full)
        assert cr["rules"] == WATCH_RULES
        dep = cluster.get_json("deployment", full, "-n", namespace)
        args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
        assert "--azure-validation=off" in args and "--leader-election-id=" + lease in args
        assert dep["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 65532

        _check_controller_powers(cluster, namespace, full, lease, apps, cluster_wide=True)

        # Upgrade: one namespace, more replicas, debug logs.
        watched = make_namespace("e2e-helm-watched")
        helm("upgrade", rel, CHART, "-n", namespace, "--reuse-values",
             "--set", "watchNamespace=" + watched, "--set", "logLevel=debug",
             "--set", "replicaCount=3", kubeconfig=kc)
        dep = cluster.get_json("deployment", full, "-n", namespace)
        assert dep["spec"]["replicas"] == 3
        args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
        assert "--namespace=" + watched in args and "--log-level=debug" in args
        assert "--azure-validation=off" in args                    # --reuse-values kept it
        assert cluster.kubectl("get", "clusterrole", full, check=False).returncode != 0
        assert cluster.kubectl("get", "clusterrolebinding", full, check=False).returncode != 0
        assert cluster.get_json("role", full, "-n", watched)["rules"] == WATCH_RULES
        assert can_i(cluster, namespace, full, "list", "configmaps", watched)
        assert can_i(cluster, namespace, full, "patch", "foundrymodels.foundry.aucert.io", watched)
        assert not can_i(cluster, namespace, full, "list", "configmaps", apps)
        assert not can_i(cluster, namespace, full, "list", "configmaps")
        assert not can_i(cluster, namespace, full, "patch", "foundrymodels.foundry.aucert.io", apps)
        assert can_i(cluster, namespace, full, "update", "leases.coordination.k8s.io", namespace, lease)
        hist = helm("history", rel, "-n", namespace, "-o", "json", kubeconfig=kc).stdout
        assert [h["revision"] for h in json.loads(hist)] == [1, 2]
    finally:
        p = helm("uninstall", rel, "-n", namespace, kubeconfig=kc, check=False)
    assert p.returncode == 0, p.stderr
    for kind, name, ns in (("deployment", full, namespace), ("serviceaccount", full, namespace),
                           ("service", full + "-metrics", namespace), ("role", full, watched),
                           ("role", full + "-leader-election", namespace),
                           ("poddisruptionbudgets.%s.policy" % want_pdb.split("/")[1], full, namespace)):
        g = cluster.kubectl("get", kind, name, "-n", ns, check=False)
        assert g.returncode != 0 and "NotFound" in g.stderr, (kind, name, g.stdout, g.stderr)
    assert can_i(cluster, namespace, full, "list", "configmaps", watched) is False
    # Helm never deletes what crds/ installed.
    cluster.kubectl("get", "crd", "foundryaccounts.foundry.aucert.io", "foundrymodels.foundry.aucert.io")
    # llm-config is the controller's, not the release's: it stays.
    cluster.kubectl("get", "cm", "llm-config", "-n", apps)


def test_helm_install_single_namespace_values(cluster, helm, namespace, make_namespace):
    """The single-namespace values file installs as is (its namespace swapped for a fresh one)."""
    kc = cluster.kubeconfig
    rel = "fc-" + short_id()
    full = rel + "-foundry-controller"
    watched = make_namespace("e2e-helm-team")
    helm("install", rel, CHART, "-n", namespace, "-f",
         os.path.join(VALUES_DIR, "values-single-namespace.yaml"),
         "--set", "watchNamespace=" + watched, kubeconfig=kc)
    try:
        assert cluster.get_json("role", full, "-n", watched)["rules"] == WATCH_RULES
        assert cluster.get_json("role", full + "-leader-election", "-n", namespace)["rules"] == \
            leader_rules("team-a-foundry")
        assert cluster.kubectl("get", "clusterrole", full, check=False).returncode != 0
        _check_controller_powers(cluster, namespace, full, "team-a-foundry", watched, cluster_wide=False)
    finally:
        helm("uninstall", rel, "-n", namespace, kubeconfig=kc)


@pytest.mark.parametrize("name", ["invalid-validation-sometimes.yaml",
                                  "invalid-workload-identity-without-client-id.yaml"])
def test_helm_install_rejects_invalid_values(cluster, helm, namespace, name):
    kc = cluster.kubeconfig
    rel = "fc-" + short_id()
    path = os.path.join(VALUES_DIR, name)
    for extra in (["--dry-run=server"], []):
        p = helm("install", rel, CHART, "-n", namespace, "-f", path, *extra, kubeconfig=kc, check=False)
        assert p.returncode != 0 and header(path, "error") in p.stderr, p.stdout + p.stderr
    assert helm("status", rel, "-n", namespace, kubeconfig=kc, check=False).returncode != 0
    assert cluster.kubectl("get", "deployment", rel + "-foundry-controller", "-n", namespace,
                           check=False).returncode != 0


def test_kubectl_apply_k_manifests(cluster):
    """kubectl apply -k manifests/ installs (for real: a server dry run cannot create the namespace
    its objects need). The PDB is policy/v1 (Kubernetes >= 1.21): on an older server it is checked
    as policy/v1beta1 with a server dry run instead, as docs/operations.md says."""
    built = subprocess.run([KUBECTL, "kustomize", MANIFESTS], capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    objs = docs(built.stdout)
    assert {o["metadata"].get("namespace") for o in objs if o["kind"] not in (
        "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding")} == {"foundry-system"}
    has_v1 = _server_has(cluster, "policy/v1")
    if has_v1:
        cluster.kubectl("apply", "-k", MANIFESTS)
    else:
        pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
        rest = [o for o in objs if o["kind"] != "PodDisruptionBudget"]
        assert len(pdbs) == 1 and pdbs[0]["apiVersion"] == "policy/v1"
        p = cluster.kubectl("apply", "-k", MANIFESTS, check=False)
        assert p.returncode != 0 and "policy/v1" in p.stderr        # as documented
        cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(rest))
        cluster.kubectl("apply", "--dry-run=server", "-f", "-",
                        input=yaml.safe_dump(dict(pdbs[0], apiVersion="policy/v1beta1")))
    try:
        ns = "foundry-system"
        cluster.kubectl("get", "deployment/foundry-controller", "serviceaccount/foundry-controller",
                        "service/foundry-controller-metrics", "role/foundry-controller-leader-election",
                        "rolebinding/foundry-controller-leader-election", "-n", ns)
        assert cluster.get_json("clusterrole", "foundry-controller")["rules"] == WATCH_RULES
        sa = "foundry-controller"
        assert can_i(cluster, ns, sa, "list", "foundrymodels.foundry.aucert.io")
        assert can_i(cluster, ns, sa, "create", "configmaps", "default")
        assert can_i(cluster, ns, sa, "update", "leases.coordination.k8s.io", ns, "foundry-controller-leader")
        assert not can_i(cluster, ns, sa, "get", "secrets", ns)
        # Applying again changes nothing.
        again = cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(
            [o for o in objs if has_v1 or o["kind"] != "PodDisruptionBudget"])).stdout
        assert all(line.endswith("unchanged") for line in again.strip().splitlines()), again
    finally:
        # Everything but the CRDs (shared with the other tests) and the
        # namespace (no namespace controller here: it would stay Terminating).
        keep = ("CustomResourceDefinition", "Namespace")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            yaml.safe_dump_all([o for o in objs if o["kind"] not in keep], f)
        cluster.kubectl("delete", "--ignore-not-found", "--wait=false", "-f", f.name, check=False)
        os.unlink(f.name)


# --------------------------------------------------------------------------
# the real controller under the chart's ServiceAccount

def test_controller_runs_with_chart_rbac(cluster, helm, namespace, make_namespace, tmp_path):
    """bin/foundry-controller, run with the chart's ServiceAccount token and the Deployment's own
    args, publishes, writes status, events, finalizers and its Lease without a single Forbidden.
    (test_rbac_minimal.py: what fails without each of its rules.)

    Single-namespace mode, so that it never touches other tests' objects."""
    if not os.access(rbac_run.BIN, os.X_OK):
        pytest.skip("no controller binary at %s (run `make` or set FC_BIN)" % rbac_run.BIN)
    apps = make_namespace("e2e-helm-run")
    with rbac_run.chart_controller(cluster, helm, namespace, apps, tmp_path) as run:
        # llm-config published; model Ready with the finalizer; account status; an Event; the
        # Lease held; deleting the model removes its key, then its finalizer (patch).
        run.full_scenario()
        assert run.stop() == 0, run.log()
    log_text = run.log()
    assert not rbac_run.FORBIDDEN_RE.search(log_text), log_text
