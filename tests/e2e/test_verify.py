"""`foundry-controller verify` and `render` (DESIGN.md §5): the real binary
against the Azure emulator (tests/azure_emulator), with the manifests of
manifests/examples and tests/fixtures/manifests (see its README.md).

    FC_BIN=$PWD/bin/foundry-controller /usr/bin/python3 -m pytest -q tests/e2e/test_verify.py

Most tests need no cluster; the ones that hand the output to kubectl use the
`cluster` fixture (a local kube-apiserver with the CRDs).
"""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("FC_BIN") or os.path.join(REPO, "bin", "foundry-controller")
EXAMPLES = os.path.join(REPO, "manifests", "examples")
FIXTURES = os.path.join(REPO, "tests", "fixtures", "manifests")
SUGGEST = ["--suggest-regions", "eastus2,southcentralus"]
COLUMNS = ["NAMESPACE", "NAME", "MODEL", "VERSION", "SKU", "ACCOUNT", "REGION", "VERDICT",
           "REASON", "HINT"]
JSON_KEYS = ["namespace", "name", "model", "version", "sku", "account", "region", "verdict",
             "reason", "hint", "availableRegions"]

sys.path.insert(0, os.path.join(REPO, "tests", "azure_emulator"))
from client import Emulator  # noqa: E402


def fixture(name):
    return os.path.join(FIXTURES, name)


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FOUNDRY_", "AZURE_")) and k != "KUBECONFIG"}
    env.update(extra or {})
    return env


def fc(*args, env=None, stdin=None):
    if not os.access(BIN, os.X_OK):
        pytest.fail("no executable at %s (run `make` or set FC_BIN)" % BIN)
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120,
                          env=clean_env(env), input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


@pytest.fixture(scope="module")
def azure(tmp_path_factory):
    with Emulator(tmp_path_factory.mktemp("azure")) as emu:
        yield emu


@pytest.fixture
def emu(azure):
    """The module's emulator, reset (world, faults, request log) for each test."""
    azure.reset()
    return azure


def verify(emu, *args, credential="secret", env=None):
    e = emu.controller_env(credential) if credential else {}
    e.update(env or {})
    return fc("verify", *args, *emu.controller_args(), env=e)


def table(stdout):
    """The rows of a verify table as dicts (HINT may be absent: empty)."""
    lines = stdout.splitlines()
    assert lines, "no table"
    header = lines[0]
    assert header.split() == COLUMNS, header
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    rows = []
    for line in lines[1:]:
        cells = [line[s:(starts[i + 1] if i + 1 < len(starts) else None)].strip()
                 for i, s in enumerate(starts)]
        rows.append(dict(zip(COLUMNS, cells)))
    return {r["NAME"]: r for r in rows}


def json_rows(stdout):
    rows = [json.loads(line) for line in stdout.splitlines()]
    for r in rows:
        assert list(r) == JSON_KEYS, r
        assert isinstance(r["availableRegions"], list)
    return {r["name"]: r for r in rows}


# ---- verify -----------------------------------------------------------------

def test_examples_available(emu):
    p = verify(emu, "-f", EXAMPLES)
    assert p.returncode == 0, (p.stdout, p.stderr)
    rows = table(p.stdout)
    assert set(rows) == {"generation", "reasoning-pro", "analysis"}
    for r in rows.values():
        assert r["VERDICT"] == "available" and r["REASON"] == "Published", r
        assert r["NAMESPACE"] == "aucert"
    assert rows["reasoning-pro"]["REGION"] == "eastus2"
    assert rows["generation"]["REGION"] == "westus"
    assert rows["analysis"]["MODEL"] == "Kimi-K2.6"
    # the same, as JSON lines
    p = verify(emu, "-f", EXAMPLES, "-o", "json")
    assert p.returncode == 0, p.stderr
    rows = json_rows(p.stdout)
    assert rows["generation"] == {
        "namespace": "aucert", "name": "generation", "model": "gpt-5.4", "version": "2026-03-05",
        "sku": "GlobalStandard", "account": "aucert-ai", "region": "westus",
        "verdict": "available", "reason": "Published", "hint": None, "availableRegions": []}


def test_examples_with_deployments(emu):
    p = verify(emu, "--check-deployments", EXAMPLES)  # a positional path
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert emu.count(r"/deployments/") == 3


def test_good_fixture_and_directory_walk(emu):
    p = verify(emu, "-f", fixture("good"), *SUGGEST)
    assert p.returncode == 0, (p.stdout, p.stderr)
    rows = table(p.stdout)
    # kustomization.yaml, .hidden.yaml and notes.txt (malformed) were skipped
    assert set(rows) == {"generation", "reasoning-pro", "legacy", "analysis"}
    assert all(r["VERDICT"] == "available" for r in rows.values())
    # deprecating: available, with the retirement date in HINT
    assert re.search(r"retires on \d{4}-\d\d-\d\dT00:00:00Z", rows["legacy"]["HINT"]), rows["legacy"]
    assert rows["generation"]["HINT"] == ""


def test_model_not_in_region(emu):
    p = verify(emu, "-f", fixture("unavailable"), *SUGGEST)
    assert p.returncode == 1, (p.stdout, p.stderr)
    rows = table(p.stdout)
    pro = rows["pro-on-west"]
    assert (pro["MODEL"], pro["REGION"], pro["VERDICT"], pro["REASON"]) == \
        ("gpt-5.4-pro", "westus", "unavailable", "ModelNotInRegion")
    assert "eastus2" in pro["HINT"], pro
    assert rows["wrong-sku"]["REASON"] == "SkuNotInRegion"
    assert "GlobalStandard" in rows["wrong-sku"]["HINT"]
    assert rows["retired"]["REASON"] == "ModelRetired"
    assert rows["generation"]["VERDICT"] == "available"
    # JSON: availableRegions lists the suggestions
    p = verify(emu, "-f", fixture("unavailable"), *SUGGEST, "-o", "json")
    assert p.returncode == 1
    rows = json_rows(p.stdout)
    assert rows["pro-on-west"]["availableRegions"] == ["eastus2", "southcentralus"]
    assert rows["pro-on-west"]["hint"] == "offered in eastus2, southcentralus"
    assert rows["wrong-sku"]["availableRegions"] == []


def test_flags_after_paths_and_repeated_f(emu):
    p = verify(emu, os.path.join(fixture("unavailable"), "accounts.yaml"),
               "-f", os.path.join(fixture("unavailable"), "models.yaml"), "-o=json", *SUGGEST)
    assert p.returncode == 1, p.stderr
    assert len(json_rows(p.stdout)) == 4


def test_malformed_yaml(emu):
    p = verify(emu, "-f", fixture("malformed"))
    assert p.returncode == 2
    assert p.stdout == ""
    broken = os.path.join(fixture("malformed"), "broken.yaml")
    assert p.stderr.startswith(broken + ":8:"), p.stderr
    assert emu.count(r"/subscriptions/") == 0


def test_unreadable_path(emu):
    p = verify(emu, "-f", "/nonexistent/manifests.yaml")
    assert p.returncode == 2
    assert p.stdout == ""
    assert "/nonexistent/manifests.yaml: No such file or directory" in p.stderr


def test_invalid_spec_row(emu):
    p = verify(emu, "-f", fixture("invalid"))
    assert p.returncode == 2, (p.stdout, p.stderr)
    rows = table(p.stdout)
    assert rows["bad-keys"]["VERDICT"] == "unknown"
    assert rows["bad-keys"]["REASON"] == "InvalidSpec"
    assert '"generation" is not a key' in rows["bad-keys"]["HINT"]
    # the other row is still checked
    assert rows["generation"]["VERDICT"] == "available"


def test_missing_account(emu):
    p = verify(emu, "-f", fixture("missing-account"), "-o", "json")
    assert p.returncode == 2
    r = json_rows(p.stdout)["orphan"]
    assert (r["verdict"], r["reason"], r["hint"]) == \
        ("unknown", "AccountNotFound", "FoundryAccount nowhere is not in the given manifests")


def test_key_conflict(emu):
    p = verify(emu, "-f", fixture("conflict"))
    assert p.returncode == 1, p.stdout
    rows = table(p.stdout)
    assert rows["alpha"]["VERDICT"] == "available"
    assert (rows["beta"]["VERDICT"], rows["beta"]["REASON"]) == ("unavailable", "KeyConflict")
    assert "alpha" in rows["beta"]["HINT"]


def test_deployment_not_succeeded(emu, tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("""
apiVersion: foundry.aucert.io/v1alpha1
kind: FoundryAccount
metadata: {name: aucert-ai, namespace: gate}
spec: {subscriptionId: 00000000-0000-0000-0000-000000000000, resourceGroup: aucert-foundation-rg}
---
# the emulator's deployment of gpt-5.4-mini is still Creating
apiVersion: foundry.aucert.io/v1alpha1
kind: FoundryModel
metadata: {name: mini, namespace: gate}
spec:
  accountRef: {name: aucert-ai}
  model: {format: OpenAI, name: gpt-5.4-mini, version: "2026-03-05"}
  sku: {name: DataZoneStandard}
  keys: [MINI]
---
apiVersion: foundry.aucert.io/v1alpha1
kind: FoundryModel
metadata: {name: nodeploy, namespace: gate}
spec:
  accountRef: {name: aucert-ai}
  model: {format: OpenAI, name: gpt-5.4, version: "2026-03-05"}
  sku: {name: GlobalStandard}
  deployment: not-there
  keys: [NODEPLOY]
""")
    p = verify(emu, "-f", str(m))
    assert p.returncode == 0, p.stdout  # a pre-deploy gate: deployments not asked
    assert emu.count(r"/deployments/") == 0
    p = verify(emu, "-f", str(m), "--check-deployments")
    assert p.returncode == 1, p.stdout
    rows = table(p.stdout)
    assert rows["mini"]["REASON"] == "DeploymentNotSucceeded"
    assert "Creating" in rows["mini"]["HINT"]
    assert rows["nodeploy"]["REASON"] == "DeploymentNotFound"


def test_azure_failure_is_unknown(emu):
    emu.fault("500", path_regex=r"/accounts/aucert-ai-east$", count=1000)
    p = verify(emu, "-f", EXAMPLES, "-o", "json")
    assert p.returncode == 2, p.stdout
    rows = json_rows(p.stdout)
    assert rows["reasoning-pro"]["verdict"] == "unknown"
    assert rows["reasoning-pro"]["reason"] == "AzureUnreachable"
    assert rows["generation"]["verdict"] == "available"


def test_credentials_unusable(emu):
    p = verify(emu, "-f", EXAMPLES, env={"AZURE_CLIENT_SECRET": "wrong"})
    assert p.returncode == 2
    assert p.stdout == ""
    assert "cannot get an Azure token with the client secret credential" in p.stderr, p.stderr
    assert "wrong" not in p.stderr  # never the secret
    assert emu.count(r"/subscriptions/") == 0


def test_validation_off_needs_no_azure(emu):
    p = verify(emu, "-f", EXAMPLES, "--azure-validation=off", "-o", "json", credential=None)
    assert p.returncode == 0, p.stderr
    rows = json_rows(p.stdout)
    assert {r["verdict"] for r in rows.values()} == {"skipped"}
    assert {r["reason"] for r in rows.values()} == {"ValidationSkipped"}
    assert emu.count() == 0
    # schema problems are still found without Azure
    p = verify(emu, "-f", fixture("invalid"), "--azure-validation=off", credential=None)
    assert p.returncode == 2
    assert table(p.stdout)["bad-keys"]["REASON"] == "InvalidSpec"


def test_stdin(emu):
    with open(os.path.join(EXAMPLES, "account-aucert-ai.yaml")) as a, \
            open(os.path.join(EXAMPLES, "model-generation.yaml")) as m:
        text = a.read() + "\n---\n" + m.read()
    e = emu.controller_env()
    p = fc("verify", "-f", "-", *emu.controller_args(), env=e, stdin=text)
    assert p.returncode == 0, p.stderr
    assert list(table(p.stdout)) == ["generation"]


# ---- render -------------------------------------------------------------------

EXAMPLES_DATA = {
    "FOUNDRY_ENDPOINT": "https://aucert-ai.openai.azure.com/",
    "FOUNDRY_DEPLOYMENT_GENERATION": "gpt-5.4",
    "FOUNDRY_DEPLOYMENT_REPORTING": "gpt-5.4",
    "FOUNDRY_DEPLOYMENT_ANALYSIS": "Kimi-K2.6",
    "FOUNDRY_DEPLOYMENT_REASONING_PRO": "gpt-5.4-pro",
    "FOUNDRY_ENDPOINT_REASONING_PRO": "https://aucert-ai-east.openai.azure.com/",
}


def test_render_examples():
    p = fc("render", "-f", EXAMPLES)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    docs = [d for d in yaml.safe_load_all(p.stdout) if d]
    assert len(docs) == 1
    cm = docs[0]
    assert cm["apiVersion"] == "v1" and cm["kind"] == "ConfigMap"
    assert cm["metadata"]["name"] == "llm-config"
    assert cm["metadata"]["namespace"] == "aucert"
    assert cm["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "foundry-controller"}
    assert re.fullmatch(r"[0-9a-f]{64}", cm["metadata"]["annotations"]["foundry.aucert.io/config-hash"])
    assert cm["data"] == EXAMPLES_DATA
    assert list(cm["data"]) == sorted(cm["data"])  # sorted
    # deterministic, and --configmap-name is honoured
    assert fc("render", "-f", EXAMPLES).stdout == p.stdout
    q = fc("render", "-f", EXAMPLES, "--configmap-name", "app-config")
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(q.stdout) if d] == ["app-config"]


def test_render_applies(cluster):
    p = fc("render", "-f", EXAMPLES)
    assert p.returncode == 0, p.stderr
    k = cluster.kubectl("apply", "--dry-run=client", "-o", "json", "-f", "-", input=p.stdout)
    cm = json.loads(k.stdout)
    assert cm["kind"] == "ConfigMap"
    assert cm["data"] == EXAMPLES_DATA


def test_fixtures_match_the_crd(cluster, namespace):
    """InvalidSpec in verify is what the API server refuses."""
    def apply(path):
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
        for d in docs:
            d["metadata"]["namespace"] = namespace
        return cluster.kubectl("apply", "--dry-run=server", "-f", "-",
                               input=yaml.safe_dump_all(docs), check=False)
    ok = apply(os.path.join(fixture("good"), "accounts.yaml"))
    assert ok.returncode == 0, ok.stderr
    for f in ("generation.yaml", "more.yml"):
        ok = apply(os.path.join(fixture("good"), "models", f))
        assert ok.returncode == 0, ok.stderr
    bad = apply(os.path.join(fixture("invalid"), "models.yaml"))
    assert bad.returncode != 0
    assert "spec.keys" in bad.stderr


def test_render_no_endpoint():
    p = fc("render", "-f", fixture("no-endpoint"))
    assert p.returncode == 0, p.stderr
    assert ("render: FoundryAccount aucert-ai has no spec.endpoint; its models are left out "
            "(render does not ask Azure)") in p.stderr
    cm = next(d for d in yaml.safe_load_all(p.stdout) if d)
    assert cm["data"] == {
        "FOUNDRY_DEPLOYMENT_REASONING_PRO": "gpt-5.4-pro",
        "FOUNDRY_ENDPOINT_REASONING_PRO": "https://aucert-ai-east.openai.azure.com/",
    }


def test_render_conflict_warns():
    p = fc("render", "-f", fixture("conflict"))
    assert p.returncode == 0
    assert "FoundryModel gate/beta gets no keys" in p.stderr and "KeyConflict" in p.stderr
    cm = next(d for d in yaml.safe_load_all(p.stdout) if d)
    assert cm["data"]["FOUNDRY_DEPLOYMENT_GENERATION"] == "gpt-5.4"
    assert "FOUNDRY_DEPLOYMENT_ANALYSIS" not in cm["data"]


@pytest.mark.parametrize("name", ["malformed", "invalid"])
def test_render_bad_input(name):
    p = fc("render", "-f", fixture(name))
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr
