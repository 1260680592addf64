#!/usr/bin/env python3
"""Regenerates the seed files (seed-*) of tests/fuzz/corpus/<target>/ from the
project's real payloads: /work/shared/azure (or $FC_AZURE_PAYLOADS),
tests/fixtures, crd/, manifests/, tests/e2e/{valid,invalid}. Run from the top
of the repository: python3 tests/fuzz/seeds.py. Files not named seed-* (inputs
found by the fuzzer and kept as regressions) are left alone."""
import glob
import json
import os
import sys

import yaml

ROOT = os.getcwd()
AZ = os.environ.get("FC_AZURE_PAYLOADS", "/work/shared/azure")
OUT = os.path.join(ROOT, "tests/fuzz/corpus")
ARM = "https://arm.test"


def rd(path):
    with open(path, "rb") as f:
        return f.read()


def az(rel):
    for base in (AZ, os.path.join(ROOT, "tests/fixtures/azure/unit")):
        p = os.path.join(base, rel)
        if os.path.exists(p):
            return rd(p)
        p = os.path.join(base, os.path.basename(rel))
        if os.path.exists(p):
            return rd(p)
    sys.exit("missing payload " + rel)


def js(o):
    return json.dumps(o, separators=(",", ":")).encode()


seeds = {}


def seed(target, name, data):
    seeds.setdefault(target, {})["seed-" + name] = data


# ---- objects as the API server returns them --------------------------------
def yaml_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]


def server_side(obj, gen=1, rv="1001"):
    o = json.loads(json.dumps(obj, default=str))
    md = o.setdefault("metadata", {})
    md.setdefault("namespace", "aucert")
    md.update({"uid": "7c1e0a8e-3b0c-4f55-9d1e-2f3a4b5c6d7e", "resourceVersion": rv,
               "generation": gen, "creationTimestamp": "2026-11-20T10:00:00Z"})
    return o


def model_status(gen, ok=True):
    t = "2026-11-24T07:00:00Z"
    conds = [
        {"type": "Ready", "status": "True" if ok else "False", "observedGeneration": gen,
         "lastTransitionTime": t, "reason": "Published" if ok else "ModelNotInRegion",
         "message": "published" if ok else "gpt-5.4-pro is not offered in eastus2"},
        {"type": "RegionAvailable", "status": "True" if ok else "False", "observedGeneration": gen,
         "lastTransitionTime": t, "reason": "ModelAvailable" if ok else "ModelNotInRegion",
         "message": "offered"},
        {"type": "DeploymentReady", "status": "Unknown", "observedGeneration": gen,
         "lastTransitionTime": t, "reason": "ValidationSkipped", "message": ""},
        {"type": "Deprecated", "status": "True", "observedGeneration": gen,
         "lastTransitionTime": t, "reason": "ModelDeprecating",
         "message": "retires on 2026-12-31"},
    ]
    return {"observedGeneration": gen, "deployment": "gpt-5.4", "endpoint":
            "https://aucert-ai.openai.azure.com/", "publishedKeys": ["GENERATION"],
            "availableRegions": ["eastus2", "westus"], "retirementDate": "2026-12-31T00:00:00Z",
            "conditions": conds}


objects = []
for p in sorted(glob.glob("manifests/examples/*.yaml") + glob.glob("tests/e2e/valid/*.yaml") +
                glob.glob("tests/e2e/invalid/*.yaml")):
    for d in yaml_docs(p):
        objects.append((os.path.basename(p)[:-5], d))
for name, d in objects:
    o = server_side(d, gen=2)
    if d.get("kind") == "FoundryModel" and not name.startswith("fm-"):
        o["status"] = model_status(2)
    if d.get("kind") == "FoundryAccount" and not name.startswith("fa-"):
        o["status"] = {"observedGeneration": 2, "region": "westus", "endpoint":
                       "https://aucert-ai.openai.azure.com/", "kind": "AIServices",
                       "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 2,
                                       "lastTransitionTime": "2026-11-24T07:00:00Z",
                                       "reason": "AccountReady", "message": "ok"}]}
    seed("kube_object", name + ".json", js(o))
models = [server_side(d) for _, d in objects if d.get("kind") == "FoundryModel"][:4]
models[0]["metadata"]["deletionTimestamp"] = "2026-11-24T08:00:00Z"
models[0]["metadata"]["finalizers"] = ["foundry.aucert.io/finalizer"]
models[1]["status"] = model_status(1, ok=False)
seed("kube_object", "FoundryModelList.json",
     js({"apiVersion": "foundry.aucert.io/v1alpha1", "kind": "FoundryModelList",
         "metadata": {"resourceVersion": "2002", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ"},
         "items": models}))
configmap = {
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {
        "name": "llm-config", "namespace": "aucert", "resourceVersion": "3003",
        "labels": {"app.kubernetes.io/managed-by": "foundry-controller"},
        "annotations": {"foundry.aucert.io/config-hash": "3f2a" * 16},
        "managedFields": [
            {"manager": "foundry-controller", "operation": "Apply", "apiVersion": "v1",
             "time": "2026-11-24T07:00:00Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {"f:FOUNDRY_ENDPOINT": {},
                                     "f:FOUNDRY_DEPLOYMENT_GENERATION": {},
                                     "f:FOUNDRY_DEPLOYMENT_GONE": {}},
                          "f:metadata": {"f:annotations": {"f:foundry.aucert.io/config-hash": {}},
                                         "f:labels": {"f:app.kubernetes.io/managed-by": {}}}}},
            {"manager": "kubectl-create", "operation": "Update", "apiVersion": "v1",
             "time": "2026-11-20T07:00:00Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {".": {}, "f:OTHER_SETTING": {},
                                     "f:FOUNDRY_DEPLOYMENT_ANALYSIS": {}}}}]},
    "data": {"FOUNDRY_ENDPOINT": "https://aucert-ai.openai.azure.com/",
             "FOUNDRY_DEPLOYMENT_GENERATION": "gpt-5.4", "OTHER_SETTING": "x",
             "FOUNDRY_DEPLOYMENT_ANALYSIS": "kimi"}}
seed("kube_object", "configmap-managed.json", js(configmap))
seed("kube_object", "configmap-list.json",
     js({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {"resourceVersion": "9"},
         "items": [configmap, {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "empty", "namespace": "aucert"}}]}))
status_410 = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": "too old resource version: 1001 (2002)", "reason": "Expired", "code": 410}
seed("kube_object", "status-410.json", js(status_410))

# ---- watch streams: byte 0 chunking mode, byte 1 event bound, then the stream
def ev(t, o):
    return js({"type": t, "object": o}) + b"\n"


fm = server_side(objects[0][1])
for n, d in objects:
    if d.get("kind") == "FoundryModel":
        fm = server_side(d, gen=3, rv="1500")
        fm["status"] = model_status(3)
        break
bookmark = {"kind": "FoundryModel", "apiVersion": "foundry.aucert.io/v1alpha1",
            "metadata": {"resourceVersion": "2101", "annotations":
                         {"k8s.io/initial-events-end": "true"}}}
stream = (ev("ADDED", fm) + ev("MODIFIED", dict(fm, metadata=dict(fm["metadata"], resourceVersion="1501")))
          + ev("BOOKMARK", bookmark) + ev("DELETED", fm))
seed("watch", "added-modified-bookmark-deleted", b"\x00\x00" + stream)
seed("watch", "chunked-7", b"\x07\x00" + stream)
seed("watch", "chunked-1-small-bound", b"\x01\x02" + ev("BOOKMARK", bookmark) + ev("ADDED", {"metadata": {"name": "a"}}))
seed("watch", "error-410", b"\x05\x00" + ev("ADDED", fm) + ev("ERROR", status_410))
seed("watch", "error-500-no-code", b"\x03\x00" + ev("ERROR", {"kind": "Status", "message": "internal error"}))
seed("watch", "crlf-blank-trailing", b"\xff\x00\r\n\n" + ev("ADDED", configmap).replace(b"\n", b"\r\n") + b"  \n" + js({"type": "MODIFIED", "object": configmap}))
seed("watch", "truncated", b"\x0b\x00" + ev("ADDED", fm)[:-40])
seed("watch", "not-an-event", b"\x02\x00" + b'{"type":"ADDED"}\n[1,2]\n')
seed("watch", "too-big", b"\x09\x01" + ev("ADDED", fm))
seed("watch", "stop", b"\x04\x00" + ev("STOP", {"a": 1}) + ev("ADDED", {"b": 2}))

# ---- kubeconfig ------------------------------------------------------------
for p in sorted(glob.glob("tests/fixtures/kubeconfig/*.yaml")):
    seed("kubeconfig", os.path.basename(p), rd(p))

# ---- ARM catalog pages (NUL-separated) --------------------------------------
excerpt = az("real-wire/models_list_westeurope_EXCERPT.json")
seed("azure_catalog", "westeurope-excerpt.json", excerpt)
for p in sorted(glob.glob("tests/fixtures/azure/catalog/*.json"))[:2]:
    seed("azure_catalog", "catalog-" + os.path.basename(p), rd(p))
for p in sorted(glob.glob(os.path.join(AZ, "spec-examples/*/ListLocationModels.json"))):
    body = json.loads(rd(p))
    resp = body.get("responses", {}).get("200", {}).get("body", body)
    seed("azure_catalog", "spec-" + p.split("/")[-2] + ".json", js(resp))
ex = json.loads(excerpt)
page1 = {"value": ex["value"][:3], "nextLink": ARM + "/subscriptions/s/providers/Microsoft.CognitiveServices/locations/westeurope/models?api-version=2024-10-01&$skiptoken=abc"}
page2 = {"value": ex["value"][3:]}
seed("azure_catalog", "two-pages", js(page1) + b"\x00" + js(page2))
seed("azure_catalog", "dates", b"2025-11-11T00:00:00.123+05:30\x00" + js({"value": [{"kind": "AIServices", "model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20", "lifecycleStatus": "Deprecating", "deprecation": {"inference": "2026-07-01"}, "skus": [{"name": "GlobalStandard", "deprecationDate": "2026-06-15T00:00:00-0800"}, {"name": "Standard", "deprecationDate": "2025-01-01T23:59:60Z"}]}}]}))
seed("azure_catalog", "not-a-catalog", b'{"error":{"code":"InvalidApiVersionParameter","message":"bad"}}')

# ---- ARM client: scenario segment, then answers (selector byte + body) -------
# selectors as ASCII digits ('0' & 7 == 0): a 0 byte would be a separator
S200, S401, S403, S404, S429, S500, S201, SERR = (0x30 + i for i in range(8))
def seg(sel, body):
    return bytes([sel]) + body


account = az("real-wire/account_get_200_japaneast_OpenAI.json")
acct = json.loads(account)
# the catalog must answer for the account's region: a page in westeurope terms is fine
deployment = json.loads(az("real-wire/deployment_put_201_and_get_200.json"))
dep_body = deployment.get("get_200", deployment.get("body", deployment))
if not isinstance(dep_body, dict) or "properties" not in dep_body:
    dep_body = {"name": "gpt-35-turbo", "properties": {"provisioningState": "Succeeded",
                "model": {"format": "OpenAI", "name": "gpt-35-turbo", "version": "0125"}}}
token = az("auth/entra_v2_token_200_client_credentials_3599.json")
imds = az("auth/imds_token_200_REDACTED.json")
err = {os.path.basename(p): rd(p) for p in glob.glob(os.path.join(AZ, "errors/*.json"))}
small_cat = js({"value": ex["value"]})
answers = [seg(S200, account), seg(S200, small_cat), seg(S200, js(dep_body))]
seed("azure_client", "happy-no-auth", b"\x02gpt-35-turbo|0125|Standard|OpenAI\x00" + b"\x00".join(answers))
seed("azure_client", "happy-secret", b"\x03gpt-35-turbo|0125|Standard|OpenAI\x00" + b"\x00".join([seg(S200, token)] + answers))
seed("azure_client", "imds-suggest", b"\x25whisper|001|Standard|OpenAI\x00" + b"\x00".join([seg(S200, imds), seg(S200, account), seg(S200, js(page1)), seg(S200, js(page2)), seg(S404, err.get("arm_404_ResourceNotFound_account.json", b"{}"))]))
seed("azure_client", "errors", b"\x13\x00" + b"\x00".join(
    [seg(S403, err.get("arm_403_AuthorizationFailed.json", b"")),
     seg(S429 | 8, b"17\n" + err.get("arm_429_SubscriptionRequestsThrottled.json", b"")),
     seg(S404, err.get("arm_404_ResourceGroupNotFound.json", b"")),
     seg(S401, err.get("arm_401_ExpiredAuthenticationToken.json", b"")),
     seg(S500, b"upstream connect error"), seg(SERR, b""),
     seg(S429, err.get("arm_429_SubscriptionRequestsThrottled.json", b"")),
     seg(S404, err.get("cogsvc_404_deployment_NotFound_INFERRED.json", b""))]))
seed("azure_client", "errors-no-auth", b"\x16\x00" + b"\x00".join(
    [seg(S403, err.get("arm_403_AuthorizationFailed.json", b"")),
     seg(S404, err.get("arm_404_ResourceGroupNotFound.json", b"")),
     seg(S429 | 8, b"17\n" + err.get("arm_429_SubscriptionRequestsThrottled.json", b"")),
     seg(S500, b"upstream connect error"), seg(SERR, b""),
     seg(S404, err.get("cogsvc_404_deployment_NotFound_INFERRED.json", b""))]))
seed("azure_client", "retry-after-date", b"\x08\x00" + seg(S429 | 8, b"Wed, 21 Oct 2026 07:28:00 GMT\n{}"))
seed("azure_client", "not-ready", b"\x12gpt-35-turbo|0125|Standard\x00" + b"\x00".join(
    [seg(S200, js(dict(acct, properties=dict(acct.get("properties", {}), provisioningState="Creating")))),
     seg(S200, b"{not json"), seg(S200, js({"properties": {"provisioningState": "Failed"}}))]))

# ---- API server answers (kube_client): GET, LIST pages, watch, apply, delete ----
def kseg(sel, o):
    return bytes([sel]) + (o if isinstance(o, bytes) else js(o))


S410 = S201  # selector 6 is 410 for kube_client
lst1 = {"apiVersion": "foundry.aucert.io/v1alpha1", "kind": "FoundryModelList",
        "metadata": {"resourceVersion": "2002", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MjAwMn0",
                     "remainingItemCount": 1}, "items": models[:2]}
lst2 = {"apiVersion": "foundry.aucert.io/v1alpha1", "kind": "FoundryModelList",
        "metadata": {"resourceVersion": "2002"}, "items": models[2:]}
status = lambda code, reason, msg, **kw: dict({"kind": "Status", "apiVersion": "v1", "metadata": {},
                                              "status": "Failure", "message": msg, "reason": reason,
                                              "code": code}, **kw)
seed("kube_client", "happy", b"\x00".join([
    kseg(S200, configmap), kseg(S200, lst1), kseg(S200, lst2),
    kseg(S200, {"kind": "ConfigMapList", "metadata": {}, "items": None}),
    kseg(S200 | 0x30, stream), kseg(S201, configmap), kseg(S200, status(200, "", "", status="Success"))]))
seed("kube_client", "errors", b"\x00".join([
    kseg(S404, status(404, "NotFound", 'configmaps "llm-config" not found')),
    kseg(S429 | 8, b"3\n" + js(status(429, "TooManyRequests", "storage is (re)initializing", details={"retryAfterSeconds": 1}))),
    kseg(S410, status(410, "Expired", "The provided continue parameter is too old to display a consistent list result.")),
    kseg(S200, ev("ADDED", fm) + ev("ERROR", status_410)),
    kseg(S403, status(403, "Forbidden", 'configmaps "llm-config" is forbidden: User "system:serviceaccount:x:y" cannot patch resource\n\x1b[31m')),
    kseg(S500, b"<html>502 Bad Gateway</html>"), kseg(SERR, b"")]))
seed("kube_client", "conflict-and-junk", b"\x00".join([
    kseg(S200, b"not json"), kseg(S200, {"kind": "List", "items": 5}),
    kseg(S200, b'{"type":"ADDED","object":{"a":1}}\n{"type":'), kseg(S401 | 8, b"Fri, 31 Dec 1999 23:59:59 GMT\n" + js(status(409, "Conflict", "the object has been modified")))]))

# ---- Entra / IMDS token answers --------------------------------------------
for i, name in enumerate(["entra_v2_token_200_client_credentials.json", "entra_v2_token_200_client_credentials_3599.json",
                          "imds_token_200_REDACTED.json", "entra_v2_token_400_AADSTS70021_workload_identity.json"]):
    body = az("auth/" + name)
    status = S200 if "_200_" in name else S401  # a 400-class answer
    seed("azure_auth", name, bytes([i % 3]) + seg(status, body))
seed("azure_auth", "expires-strings", b"\x01" + seg(S200, b'{"access_token":"eyJ0eXAi.x.y","expires_on":"1767229200","expires_in":"oops"}') + b"\x00" + seg(S500, b'{"error":"server_error"}'))
seed("azure_auth", "throttled-then-ok", b"\x00" + seg(S429 | 8, b"5\n{}") + b"\x00" + seg(S200, token) + b"\x00" + seg(SERR, b""))
seed("azure_auth", "echo-secret", b"\x00" + seg(S401, b'{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: fz-Secr3t~v/+=&% fz-Secr3t~v%2F%2B%3D%26%25\\r\\nTrace ID: 1"}'))
seed("azure_auth", "no-token", b"\x02" + seg(S200, b'{"token_type":"Bearer"}') + b"\x00" + seg(S403, b'{"error":{"code":"identity_not_found","message":"Identity not found"}}'))

# ---- manifests -----------------------------------------------------------------
for p in sorted(glob.glob("manifests/examples/*.yaml") + glob.glob("manifests/*.yaml") + glob.glob("crd/*.yaml") +
                glob.glob("tests/e2e/valid/*.yaml") + glob.glob("tests/e2e/invalid/*.yaml") +
                glob.glob("tests/fixtures/manifests/**/*.y*ml", recursive=True) +
                glob.glob("tests/fixtures/manifests/**/*.json", recursive=True)):
    seed("manifest", p.replace("/", "_"), rd(p))
seed("manifest", "yaml11-features.yaml", b"""\
base: &base
  apiVersion: foundry.aucert.io/v1alpha1
  kind: FoundryModel
---
<<: *base
metadata: {name: m1, namespace: aucert, labels: {on: yes, 0x1F: 017, 1_000: 0b101}}
spec:
  accountRef: {name: acc}
  model: {format: OpenAI, name: gpt-4o, version: !!str 2024-11-20}
  sku: {name: GlobalStandard}
  keys: [GEN, "B", 'C']
  note: |
    multi
    line
  folded: >-
    a
    b
  nulls: [~, null, Null, ""]
  floats: [1.5, -2e3, .5, 1_0.0]
---
---
apiVersion: v1
kind: List
items:
- {apiVersion: foundry.aucert.io/v1alpha1, kind: FoundryAccount, metadata: {name: acc, namespace: aucert},
   spec: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: rg, primary: true,
          endpoint: "https://acc.openai.azure.com/"}}
""")
seed("manifest", "json-list.json", js({"apiVersion": "v1", "kind": "List", "items": [server_side(d) for _, d in objects[:6]]}))

# ---- command lines ---------------------------------------------------------------
lines = [
    b"run\n--kubeconfig=/tmp/kc\n--namespace\naucert\n--catalog-ttl=1h30m\n--deployment-ttl\n90s\n--leader-elect\n--metrics-bind-address=[::1]:9090\n--health-probe-bind-address=:0",
    b"verify\n-f\nmanifests/examples\n-omjson\n--check-deployments=true\n--azure-validation=warn\n--suggest-regions=WestUS,eastus2,westus\n--retirement-warning=2160h",
    b"render\n-fmanifests/examples\nextra.yaml\n--configmap-name=llm-config\n--\n--not-a-flag",
    b"@FOUNDRY_CATALOG_TTL=1.5h\n@FOUNDRY_LOG_LEVEL=debug\n@AZURE_AUTHORITY_HOST=https://login.microsoftonline.us\n@KUBECONFIG=/x\nrun\n--azure-cloud=AzureUSGovernment\n--resync-period=0s",
    b"run\n--azure-arm-endpoint=http://127.0.0.1:8443/\n--azure-imds-endpoint=http://169.254.169.254/\n--kube-timeout=250ms\n--log-format=json",
    b"help\nverify", b"--version", b"run\n--catalog-ttl=2562047h47m16.854775807s", b"run\n--catalog-ttl=-5m",
    b"1h2m3.5s4ms5us6ns7\xc2\xb5s\x00300ms\x000\x00.5m\x001e3s",
]
for i, l in enumerate(lines):
    seed("config", "cmdline-%02d" % i, l)

total = 0
for target, files in seeds.items():
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    for old in glob.glob(os.path.join(d, "seed-*")):
        os.remove(old)
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        total += len(data)
    print("%-14s %3d seeds" % (target, len(files)))
print("total %d bytes" % total)
