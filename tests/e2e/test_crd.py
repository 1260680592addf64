"""The CRDs (crd/) and the examples (manifests/examples/) against kube-apiserver 1.20.

Invalid manifests (tests/e2e/invalid/*.yaml) start with
  # reason: why the API server must reject it
  # field: the field path its error must name (spec.keys, spec.model.name, ...)
and are sent with --validate=false, so that the API server's OpenAPI
validation is what is tested (kubectl 1.32 would otherwise validate on the
client, because a 1.20 server has no server-side field validation).
"""

import glob
import json
import os
import re

import pytest
import yaml

from conftest import CRD_DIR, REPO

E2E = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(REPO, "manifests", "examples")
INVALID = sorted(glob.glob(os.path.join(E2E, "invalid", "*.yaml")))
VALID = sorted(glob.glob(os.path.join(E2E, "valid", "*.yaml")))
FOUNDRY_KINDS = {"FoundryAccount": "foundryaccount", "FoundryModel": "foundrymodel"}


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def header(path, key):
    with open(path) as f:
        for line in f:
            m = re.match(r"#\s*%s:\s*(.+?)\s*$" % key, line)
            if m:
                return m.group(1)
    return None


def crds():
    out = {}
    for p in sorted(glob.glob(os.path.join(CRD_DIR, "*.yaml"))):
        for d in load_docs(p):
            out[d["spec"]["names"]["kind"]] = d
    return out


def example_objects():
    objs = []
    for p in sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml"))):
        if os.path.basename(p) == "kustomization.yaml":
            continue
        objs += load_docs(p)
    return objs


@pytest.fixture(scope="module")
def scratch_ns(cluster):
    """One namespace shared by the dry-run and valid-manifest tests of this module."""
    name = "e2e-crd-scratch"
    cluster.kubectl("create", "namespace", name, check=False)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


# --- static checks on the CRD files (no cluster) ------------------------------

def walk(schema, path):
    yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from walk(sub, path + "." + name)
    if "items" in schema:
        yield from walk(schema["items"], path + "[]")


@pytest.mark.parametrize("kind", ["FoundryAccount", "FoundryModel"])
def test_schema_documents_every_field_and_has_no_defaults(kind):
    crd = crds()[kind]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["spec"]["group"] == "foundry.aucert.io"
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["categories"] == ["foundry"]
    (version,) = crd["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    for path, s in walk(version["schema"]["openAPIV3Schema"], kind):
        if path == kind + ".metadata":
            continue   # the API server forbids anything but type here
        assert s.get("description"), "%s has no description" % path
        assert "default" not in s, "%s has a schema default" % path


def test_required_fields_match_design():
    fa = crds()["FoundryAccount"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    fm = crds()["FoundryModel"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert sorted(fa["required"]) == ["resourceGroup", "subscriptionId"]
    assert sorted(fm["required"]) == ["accountRef", "keys", "model", "sku"]
    assert sorted(fm["properties"]["model"]["required"]) == ["name", "version"]
    assert fm["properties"]["sku"]["required"] == ["name"]
    assert fm["properties"]["accountRef"]["required"] == ["name"]


def test_invalid_manifests_are_annotated():
    assert len(INVALID) >= 30
    for p in INVALID:
        assert header(p, "reason"), p + ": no '# reason:'"
        assert header(p, "field"), p + ": no '# field:'"
        assert len(load_docs(p)) == 1, p + ": one object per file"


# --- against the API server ---------------------------------------------------

def test_examples_apply_and_read_back_unchanged(cluster):
    cluster.kubectl("apply", "-k", EXAMPLES)
    objs = [o for o in example_objects() if o["kind"] in FOUNDRY_KINDS]
    kinds = sorted(o["kind"] for o in objs)
    assert kinds == ["FoundryAccount"] * 2 + ["FoundryModel"] * 3
    for o in objs:
        md = o["metadata"]
        got = cluster.get_json(FOUNDRY_KINDS[o["kind"]], md["name"], "-n", md["namespace"])
        # exactly as written: no schema defaults, nothing pruned
        assert got["spec"] == o["spec"], "%s/%s" % (o["kind"], md["name"])
        assert "status" not in got or not got["status"]
    # applying again changes nothing
    p = cluster.kubectl("apply", "-k", EXAMPLES)
    assert all(line.endswith("unchanged") for line in p.stdout.strip().splitlines()), p.stdout


def test_example_setup_is_the_two_account_team():
    objs = {(o["kind"], o["metadata"]["name"]): o for o in example_objects()}
    assert ("Namespace", "aucert") in objs
    west, east = objs[("FoundryAccount", "aucert-ai")], objs[("FoundryAccount", "aucert-ai-east")]
    assert (west["spec"]["region"], west["spec"].get("primary")) == ("westus", True)
    assert (east["spec"]["region"], east["spec"].get("primary", False)) == ("eastus2", False)
    for a in (west, east):
        assert a["spec"]["endpoint"].startswith("https://")
    keys = {name: o["spec"]["keys"] for (kind, name), o in objs.items() if kind == "FoundryModel"}
    assert keys == {"generation": ["GENERATION", "REPORTING"],
                    "reasoning-pro": ["REASONING_PRO"], "analysis": ["ANALYSIS"]}
    assert objs[("FoundryModel", "reasoning-pro")]["spec"]["accountRef"]["name"] == "aucert-ai-east"
    for o in objs.values():
        if o["kind"] != "Namespace":
            assert o["metadata"]["namespace"] == "aucert"
    with open(os.path.join(EXAMPLES, "kustomization.yaml")) as f:
        listed = yaml.safe_load(f)["resources"]
    on_disk = sorted(os.path.basename(p) for p in glob.glob(os.path.join(EXAMPLES, "*.yaml"))
                     if not p.endswith("kustomization.yaml"))
    assert sorted(listed) == on_disk


def test_explain_shows_descriptions(cluster):
    out = cluster.kubectl("explain", "foundrymodel.spec.keys").stdout
    assert "1 to 16 distinct keys" in out
    out = cluster.kubectl("explain", "fa.spec.subscriptionId").stdout
    assert "GUID" in out


def columns(out):
    return out.splitlines()[0].split()


def test_printer_columns(cluster):
    cluster.kubectl("apply", "-k", EXAMPLES)
    fm = cluster.kubectl("get", "fm", "-n", "aucert").stdout
    assert columns(fm) == ["NAME", "MODEL", "VERSION", "SKU", "ACCOUNT", "READY", "REASON", "AGE"]
    row = next(l.split() for l in fm.splitlines() if l.startswith("reasoning-pro "))
    assert row[1:5] == ["gpt-5.4-pro", "2026-03-05", "GlobalStandard", "aucert-ai-east"]
    fa = cluster.kubectl("get", "fa", "-n", "aucert").stdout
    assert columns(fa) == ["NAME", "RESOURCEGROUP", "REGION", "PRIMARY", "READY", "REASON", "AGE"]
    both = cluster.kubectl("get", "foundry", "-n", "aucert", "-o", "name").stdout.split()
    assert "foundryaccount.foundry.aucert.io/aucert-ai" in both
    assert "foundrymodel.foundry.aucert.io/generation" in both


def test_status_subresource_and_conditions(cluster, namespace):
    with open(os.path.join(E2E, "valid", "fm-minimal.yaml")) as f:
        cluster.kubectl("apply", "-n", namespace, "-f", "-", input=f.read())
    status = {"status": {
        "observedGeneration": 1, "endpoint": "https://aucert-ai.openai.azure.com/",
        "deployment": "gpt-5.4", "publishedKeys": [], "availableRegions": ["eastus2"],
        "retirementDate": "2027-03-31T00:00:00Z",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ModelNotInRegion",
                        "message": "not offered in westus", "observedGeneration": 1,
                        "lastTransitionTime": "2026-01-01T00:00:00Z"},
                       # message is required but may be empty (a Go >= 1.19 build of
                       # 1.20 rejects "" unless tests/cluster/tools patches it)
                       {"type": "Published", "status": "True", "reason": "Published",
                        "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
    cluster.kubectl("patch", "fm", "fm-minimal", "-n", namespace, "--subresource=status",
                    "--type=merge", "-p", json.dumps(status))
    row = cluster.kubectl("get", "fm", "fm-minimal", "-n", namespace, "--no-headers").stdout.split()
    assert row[5:7] == ["False", "ModelNotInRegion"]
    got = cluster.get_json("fm", "fm-minimal", "-n", namespace)
    assert [c["reason"] for c in got["status"]["conditions"]] == ["ModelNotInRegion", "Published"]
    assert got["status"]["conditions"][1]["message"] == ""
    assert got["metadata"]["generation"] == 1      # status writes do not bump generation

    bad = {"status": {"conditions": [{"type": "Ready", "status": "Maybe", "reason": "X",
                                      "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}
    p = cluster.kubectl("patch", "fm", "fm-minimal", "-n", namespace, "--subresource=status",
                        "--type=merge", "-p", json.dumps(bad), check=False)
    assert p.returncode != 0
    # 1.20 names list items without their index here
    assert re.search(r"status\.conditions(\[0\])?\.status: Unsupported value", p.stderr), p.stderr


@pytest.mark.parametrize("path", INVALID, ids=[os.path.basename(p)[:-5] for p in INVALID])
def test_invalid_rejected(cluster, scratch_ns, path):
    field = header(path, "field")
    p = cluster.kubectl("apply", "--dry-run=server", "--validate=false", "-n", scratch_ns,
                        "-f", path, check=False)
    assert p.returncode != 0, "accepted, but must fail: %s" % header(path, "reason")
    assert "is invalid" in p.stderr, p.stderr
    # the error names the field: "spec.keys: ...", "spec.keys[2]: Duplicate value"
    assert re.search(r"(^|[\s])%s(\[\d+\])?: " % re.escape(field), p.stderr), \
        "error does not name %s:\n%s" % (field, p.stderr)


@pytest.mark.parametrize("path", VALID, ids=[os.path.basename(p)[:-5] for p in VALID])
def test_valid_accepted_unchanged(cluster, scratch_ns, path):
    (doc,) = load_docs(path)
    cluster.kubectl("apply", "-n", scratch_ns, "-f", path)
    got = cluster.get_json(FOUNDRY_KINDS[doc["kind"]], doc["metadata"]["name"], "-n", scratch_ns)
    assert got["spec"] == doc["spec"]
