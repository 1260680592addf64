"""The controller against the Azure emulator (DESIGN.md §2, §3, §4).

Each test starts its own emulator (tests/azure_emulator) and runs
bin/foundry-controller (FC_BIN) for its own namespace with Azure validation
on (ARM endpoint, CA and credentials from the emulator), then checks what
reaches llm-config and the FoundryModel/FoundryAccount status.

    make && FC_BIN=$PWD/bin/foundry-controller /usr/bin/python3 -m pytest -q tests/e2e/test_azure.py

Waits are bounded polls; nothing asserts on how fast the controller is. The
429 test bounds the number of ARM requests made while ARM answers 429 with
Retry-After (a behavioural bound: how often the controller asks, not how fast
it is). Every controller must exit 0 on SIGTERM and must never log the client
secret, the federated assertion or an access token the emulator issued.
"""

import concurrent.futures
import datetime
import glob
import json
import math
import os
import sys
import time
import uuid

import pytest
import yaml

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(E2E_DIR))
sys.path.insert(0, E2E_DIR)
sys.path.insert(0, os.path.join(REPO, "tests", "azure_emulator"))
from controller_proc import BIN, Controller, Watch, api, controllers, wait_for  # noqa: E402
from client import (CLIENT_SECRET, FEDERATED_ASSERTION, FEDERATED_CLIENT_ID,  # noqa: E402
                    Emulator)

GV = "foundry.aucert.io/v1alpha1"
SUB = "00000000-0000-0000-0000-000000000000"
RG = "aucert-foundation-rg"
CM = "llm-config"
SUGGEST = "eastus2,southcentralus"
EXAMPLES = os.path.join(REPO, "manifests", "examples")
WAIT = 45           # seconds: bound of one convergence wait
ARM_RX = r"^/subscriptions/"
TOKEN_RX = r"/oauth2/v2\.0/token$"


# ---- the controller ------------------------------------------------------------

class AzureController(Controller):
    """controller_proc.Controller (stop(), stderr(), records()...) with Azure
    validation on: the emulator's flags (ARM endpoint, CA, IMDS) and credential
    env instead of --azure-validation=off."""

    def __init__(self, cluster, namespace, directory, emu, args=(), credential="secret",
                 token_file=None, env=None, index=1):
        super().__init__(cluster, namespace, directory, (), index=index)
        self.args = ["run", "--kubeconfig", cluster.kubeconfig, "--namespace", namespace,
                     "--metrics-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:0",
                     "--log-format=json", *emu.controller_args(), *args]
        self.extra_env = emu.controller_env(credential, token_file=token_file)
        self.extra_env.update(env or {})

    def start(self):
        try:
            from controller_proc import controller_binary   # a private copy, when available
            exe = controller_binary()
        except ImportError:
            exe = BIN
        if not os.access(exe, os.X_OK):
            raise AssertionError("no executable at %s (run `make` or set FC_BIN)" % exe)
        self.args = [exe] + self.args
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FOUNDRY_", "AZURE_")) and k != "KUBECONFIG"}
        env.update(self.extra_env)
        from controller_proc import spawn     # registers logs and secrets for the session-end scan
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.proc = spawn(self.args, env, out, err, logs=(self.stderr_path, self.stdout_path),
                              secrets=[v for k, v in self.extra_env.items() if "SECRET" in k])
        return self


@pytest.fixture
def azure(tmp_path):
    from conftest import register_emulator
    with Emulator(tmp_path / "azure") as emu:
        try:
            yield emu
        finally:
            register_emulator(emu)      # its client secret, assertions and issued tokens


@pytest.fixture
def controller(cluster, namespace, tmp_path, azure, request):
    """controller(*args, credential=, token_file=, env=) starts a controller
    against the emulator. At the end every controller still running gets
    SIGTERM and must exit 0, and no controller may have logged a secret."""
    def make(index, *args, **kw):
        return AzureController(cluster, namespace, tmp_path, azure, args=args, index=index, **kw)
    yield from controllers(request, make, tail=20000, label=" (tail)",
                           problems_of=lambda c: leaked_secrets(c, azure))


def leaked_secrets(ctl, emu, extra=()):
    """Secret material found in the controller's logs (stdout and stderr)."""
    text = ctl.stderr()
    try:
        with open(ctl.stdout_path, errors="replace") as f:
            text += f.read()
    except OSError:
        pass
    secrets = [CLIENT_SECRET, FEDERATED_ASSERTION, *extra]
    # The emulator shows only the last 6 characters of each token it issued:
    # enough to find a token in a log, not to use it.
    try:
        secrets += [t["token_suffix"] for t in emu.tokens()]
    except Exception:  # noqa: BLE001 - emulator already stopped
        pass
    return ["%s: logs contain secret material %r..." % (ctl.stderr_path, s[:3])
            for s in secrets if s and s in text]


def stop_ok(ctl):
    assert ctl.stop() == 0, "SIGTERM must give exit code 0\n" + ctl.stderr()[-5000:]


# ---- objects ---------------------------------------------------------------------

def account(name, primary=False, region=None, endpoint=None, account_name=None):
    spec = {"subscriptionId": SUB, "resourceGroup": RG, "primary": primary}
    if account_name:
        spec["accountName"] = account_name
    if region:
        spec["region"] = region
    if endpoint:
        spec["endpoint"] = endpoint
    return {"apiVersion": GV, "kind": "FoundryAccount", "metadata": {"name": name}, "spec": spec}


def model(name, acct, keys, model_name="gpt-5.4", version="2026-03-05", sku="GlobalStandard",
          deployment=None, fmt="OpenAI", validation=None):
    m = {"name": model_name, "version": version}
    if fmt:
        m["format"] = fmt
    spec = {"accountRef": {"name": acct}, "model": m, "sku": {"name": sku}, "keys": list(keys)}
    if deployment:
        spec["deployment"] = deployment
    if validation:
        spec["validation"] = validation
    return {"apiVersion": GV, "kind": "FoundryModel", "metadata": {"name": name}, "spec": spec}


def plural(kind):
    return {"FoundryAccount": "foundryaccounts", "FoundryModel": "foundrymodels"}[kind]


def create(cluster, ns, *docs):
    for d in docs:
        d = json.loads(json.dumps(d))
        d["metadata"]["namespace"] = ns
        st, body = api(cluster, "POST", "/apis/%s/namespaces/%s/%s" % (GV, ns, plural(d["kind"])), d)
        assert st == 201, (st, body)


def get(cluster, ns, kind, name):
    st, body = api(cluster, "GET", "/apis/%s/namespaces/%s/%s/%s" % (GV, ns, plural(kind), name))
    if st == 404:
        return None
    assert st == 200, (st, body)
    return body


def patch_spec(cluster, ns, kind, name, patch):
    """Merge patch; returns the new metadata.generation."""
    st, body = api(cluster, "PATCH", "/apis/%s/namespaces/%s/%s/%s" % (GV, ns, plural(kind), name),
                   patch, content_type="application/merge-patch+json")
    assert st == 200, (st, body)
    return body["metadata"]["generation"]


def configmap(cluster, ns, name=CM):
    st, body = api(cluster, "GET", "/api/v1/namespaces/%s/configmaps/%s" % (ns, name))
    if st == 404:
        return None
    assert st == 200, (st, body)
    return body


def cm_data(cluster, ns):
    cm = configmap(cluster, ns)
    return (cm or {}).get("data") or {}


def watch_cm(cluster, ns, seconds=300):
    """A watch of llm-config from now (works before the ConfigMap exists)."""
    st, lst = api(cluster, "GET", "/api/v1/namespaces/%s/configmaps" % ns)
    assert st == 200, lst
    return Watch(cluster, "/api/v1/namespaces/%s/configmaps" % ns, CM,
                 lst["metadata"]["resourceVersion"], seconds=seconds)


def cm_versions(w):
    """[(resourceVersion, data)] of every ADDED/MODIFIED llm-config seen."""
    return [(o["metadata"]["resourceVersion"], o.get("data") or {})
            for t, o in w.snapshot() if t in ("ADDED", "MODIFIED")]


def cond(obj, ctype="Ready"):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def dkey(key):
    return "FOUNDRY_DEPLOYMENT_" + key


def ekey(key):
    return "FOUNDRY_ENDPOINT_" + key


def wait_model(cluster, ns, name, pred, what, timeout=WAIT, ctl=None):
    """Waits until pred(obj) for the FoundryModel, with its status observed for
    the current generation; returns the object."""
    last = [None]

    def check():
        if ctl is not None:
            ctl.assert_running()
        o = get(cluster, ns, "FoundryModel", name)
        last[0] = (o or {}).get("status")
        if not o or (o.get("status") or {}).get("observedGeneration") != o["metadata"]["generation"]:
            return None
        return o if pred(o) else None
    try:
        return wait_for("%s: %s" % (name[:40], what), check, timeout)
    except AssertionError as e:
        raise AssertionError("%s\nlast status: %s" % (
            e, json.dumps(last[0], indent=1, ensure_ascii=False))) from None


def ready_is(status, reason=None):
    def pred(o):
        c = cond(o)
        return c and c["status"] == status and (reason is None or c["reason"] == reason) and \
            c.get("observedGeneration") == o["metadata"]["generation"]
    return pred


def wait_cm(cluster, ns, pred, what, timeout=WAIT, ctl=None):
    def check():
        if ctl is not None:
            ctl.assert_running()
        d = cm_data(cluster, ns)
        return d if pred(d) else None
    return wait_for(what, check, timeout)


def example_docs(ns, strip_endpoint=True):
    """manifests/examples (accounts and models) in namespace ns."""
    docs = []
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml"))):
        with open(path) as f:
            for d in yaml.safe_load_all(f):
                if not d or d.get("kind") not in ("FoundryAccount", "FoundryModel"):
                    continue
                d["metadata"]["namespace"] = ns
                if strip_endpoint and d["kind"] == "FoundryAccount":
                    d["spec"].pop("endpoint", None)
                docs.append(d)
    assert {d["metadata"]["name"] for d in docs} >= {"aucert-ai", "aucert-ai-east", "generation",
                                                     "reasoning-pro", "analysis"}, docs
    return docs


EAST_EP = "https://aucert-ai-east-from-arm.openai.azure.com/"
WEST_EP = "https://aucert-ai.openai.azure.com/"   # derived by the emulator (AIServices)


def publish_examples(cluster, ns, azure, controller):
    """The two-account example, accounts without spec.endpoint: the endpoints
    come from ARM. aucert-ai-east's OpenAI endpoint is made distinct in the
    world so that it can only come from ARM. Returns (controller, data)."""
    azure.set_account("aucert-ai-east", endpoints={
        "OpenAI Language Model Instance API": EAST_EP,
        "AI Foundry API": "https://aucert-ai-east.services.ai.azure.com/"})
    for d in example_docs(ns):
        create(cluster, ns, d)
    ctl = controller("--suggest-regions", SUGGEST)
    want = {"FOUNDRY_ENDPOINT": WEST_EP,
            dkey("GENERATION"): "gpt-5.4", dkey("REPORTING"): "gpt-5.4",
            dkey("ANALYSIS"): "Kimi-K2.6",
            dkey("REASONING_PRO"): "gpt-5.4-pro", ekey("REASONING_PRO"): EAST_EP}
    data = wait_cm(cluster, ns, lambda d: all(d.get(k) == v for k, v in want.items()),
                   "the two-account example published", ctl=ctl)
    return ctl, data


def simple_setup(cluster, ns, controller, *args, extra_models=(), **kw):
    """Primary account aucert-ai (no spec.endpoint) + model `generation`
    (gpt-5.4, keys GENERATION and REPORTING), published."""
    create(cluster, ns, account("aucert-ai", primary=True, region="westus"),
           model("generation", "aucert-ai", ["GENERATION", "REPORTING"], deployment="gpt-5.4"),
           *extra_models)
    ctl = controller(*args, **kw)
    wait_cm(cluster, ns, lambda d: d.get(dkey("GENERATION")) == "gpt-5.4" and
            d.get(dkey("REPORTING")) == "gpt-5.4" and d.get("FOUNDRY_ENDPOINT") == WEST_EP,
            "generation published", ctl=ctl)
    wait_model(cluster, ns, "generation", ready_is("True", "Published"), "Ready=True", ctl=ctl)
    return ctl


# ---- 1. the two-account example ---------------------------------------------------

def test_two_account_example_endpoints_from_arm(cluster, namespace, azure, controller):
    ctl, data = publish_examples(cluster, namespace, azure, controller)
    ns = namespace
    # nothing else of ours: the primary's models carry no FOUNDRY_ENDPOINT_<KEY>
    ours = {k for k in data if k.startswith("FOUNDRY_")}
    assert ours == {"FOUNDRY_ENDPOINT", dkey("GENERATION"), dkey("REPORTING"), dkey("ANALYSIS"),
                    dkey("REASONING_PRO"), ekey("REASONING_PRO")}, data

    west = wait_for("aucert-ai status", lambda: (lambda a: a if (a.get("status") or {}).get(
        "endpoint") else None)(get(cluster, ns, "FoundryAccount", "aucert-ai")))
    east = wait_for("aucert-ai-east status", lambda: (lambda a: a if (a.get("status") or {}).get(
        "endpoint") else None)(get(cluster, ns, "FoundryAccount", "aucert-ai-east")))
    assert "endpoint" not in west["spec"] and "endpoint" not in east["spec"]
    for acct, region, ep in ((west, "westus", WEST_EP), (east, "eastus2", EAST_EP)):
        st = acct["status"]
        assert st["region"] == region, st
        assert st["endpoint"] == ep, st        # endpoints["OpenAI Language Model Instance API"]
        assert st["kind"] == "AIServices", st
        assert st["observedGeneration"] == acct["metadata"]["generation"], st
        assert cond(acct)["status"] == "True", st

    for name, keys, ep in (("generation", ["GENERATION", "REPORTING"], WEST_EP),
                           ("analysis", ["ANALYSIS"], WEST_EP),
                           ("reasoning-pro", ["REASONING_PRO"], EAST_EP)):
        o = wait_model(cluster, ns, name, ready_is("True", "Published"), "Ready=True")
        st = o["status"]
        assert sorted(st["publishedKeys"]) == sorted(keys), st
        assert st["endpoint"] == ep, st
        for t in ("RegionAvailable", "DeploymentReady", "Published"):
            assert cond(o, t)["status"] == "True", (t, st)
        assert cond(o, "Deprecated")["status"] == "False", st
    # the accounts were asked of ARM, not taken from the spec
    assert azure.count(r"/accounts/aucert-ai$", "GET", 200) >= 1
    assert azure.count(r"/accounts/aucert-ai-east$", "GET", 200) >= 1
    stop_ok(ctl)


# ---- 2. not in region: last known good ----------------------------------------------

def test_model_not_in_region_keeps_old_keys(cluster, namespace, azure, controller):
    ns = namespace
    ctl, before = publish_examples(cluster, ns, azure, controller)
    gen = patch_spec(cluster, ns, "FoundryModel", "generation",
                     {"spec": {"model": {"name": "gpt-5.4-pro"}, "deployment": "gpt-5.4-pro"}})
    o = wait_model(cluster, ns, "generation", ready_is("False", "ModelNotInRegion"),
                   "Ready=False ModelNotInRegion", ctl=ctl)
    st = o["status"]
    ready = cond(o)
    assert "eastus2" in ready["message"], ready
    assert st["availableRegions"] == ["eastus2", "southcentralus"], st
    assert cond(o, "RegionAvailable")["status"] == "False", st
    assert cond(o, "RegionAvailable")["reason"] == "ModelNotInRegion", st
    assert cond(o, "Published")["status"] == "False", st
    assert sorted(st.get("publishedKeys") or []) == ["GENERATION", "REPORTING"], st
    assert st["observedGeneration"] == gen
    # last known good: both keys keep their values
    data = cm_data(cluster, ns)
    for k in ("GENERATION", "REPORTING"):
        assert data[dkey(k)] == before[dkey(k)] == "gpt-5.4", data
        assert ekey(k) not in data, data
    # still so after the controller had time for any retry
    time.sleep(2)
    assert {k: v for k, v in cm_data(cluster, ns).items() if k.startswith("FOUNDRY_")} == \
        {k: v for k, v in before.items() if k.startswith("FOUNDRY_")}
    stop_ok(ctl)


# ---- 3. an available switch: both keys in one write ----------------------------------

def test_switch_publishes_both_keys_in_one_write(cluster, namespace, azure, controller):
    ns = namespace
    ctl, before = publish_examples(cluster, ns, azure, controller)
    # a GlobalStandard gpt-5.4-mini deployment that has succeeded (the fixture's is Creating)
    azure.set_deployment("aucert-ai", "gpt-5.4-mini", {
        "model": {"format": "OpenAI", "name": "gpt-5.4-mini", "version": "2026-03-05"},
        "sku": {"name": "GlobalStandard", "capacity": 10}, "provisioningState": "Succeeded"})
    rv = configmap(cluster, ns)["metadata"]["resourceVersion"]
    w = Watch(cluster, "/api/v1/namespaces/%s/configmaps" % ns, CM, rv, seconds=120)
    patch_spec(cluster, ns, "FoundryModel", "generation",
               {"spec": {"model": {"name": "gpt-5.4-mini"}, "deployment": "gpt-5.4-mini"}})
    wait_model(cluster, ns, "generation", ready_is("True", "Published"), "Ready=True", ctl=ctl)
    wait_cm(cluster, ns, lambda d: d.get(dkey("GENERATION")) == "gpt-5.4-mini", "switch", ctl=ctl)
    time.sleep(1)       # let the watch deliver everything up to here
    versions = cm_versions(w)
    assert versions, w.error
    for rv_, data in versions:
        assert data.get(dkey("GENERATION")) == data.get(dkey("REPORTING")), \
            "resourceVersion %s has GENERATION and REPORTING apart: %r" % (rv_, data)
    switched = [rv_ for rv_, d in versions if d.get(dkey("GENERATION")) == "gpt-5.4-mini"]
    assert switched, versions
    first = dict(versions)[switched[0]]
    assert first[dkey("REPORTING")] == "gpt-5.4-mini"
    # the other keys are untouched
    for k in ("FOUNDRY_ENDPOINT", dkey("ANALYSIS"), dkey("REASONING_PRO"), ekey("REASONING_PRO")):
        assert all(d.get(k) == before[k] for _, d in versions), k
    stop_ok(ctl)


# ---- 4. deployment missing / not succeeded: Enforce blocks, Warn publishes and reports --

def test_deployment_problems_enforce_blocks_warn_publishes(cluster, namespace, azure, controller):
    ns = namespace
    cases = [
        # name, keys, model, sku, deployment, validation, reason
        ("enf-missing", "MISSING", "gpt-5.4", "GlobalStandard", "gpt-5.4-nope", "Enforce",
         "DeploymentNotFound"),
        ("enf-creating", "CREATING", "gpt-5.4-mini", "DataZoneStandard", "gpt-5.4-mini", "Enforce",
         "DeploymentNotSucceeded"),
        ("warn-missing", "WARN_MISSING", "gpt-5.4", "GlobalStandard", "gpt-5.4-nope", "Warn",
         "DeploymentNotFound"),
        ("warn-creating", "WARN_CREATING", "gpt-5.4-mini", "DataZoneStandard", "gpt-5.4-mini", "Warn",
         "DeploymentNotSucceeded"),
    ]
    create(cluster, ns, account("aucert-ai", primary=True),
           *[model(n, "aucert-ai", [k], model_name=mn, sku=sku, deployment=dep, validation=v)
             for n, k, mn, sku, dep, v, _ in cases])
    w = watch_cm(cluster, ns)
    ctl = controller("--suggest-regions", SUGGEST)
    for n, k, mn, sku, dep, v, reason in cases:
        if v == "Enforce":
            o = wait_model(cluster, ns, n, ready_is("False", reason), "Ready=False " + reason, ctl=ctl)
            assert cond(o, "Published")["status"] == "False", o["status"]
            assert not o["status"].get("publishedKeys"), o["status"]
        else:
            # Warn publishes and reports: Ready True (Published) with the problem in
            # its message, DeploymentReady False with the reason
            o = wait_model(cluster, ns, n, ready_is("True", "Published"), "Ready=True (Warn)", ctl=ctl)
            assert reason in cond(o)["message"], cond(o)
            assert cond(o, "Published")["status"] == "True", o["status"]
            assert o["status"]["publishedKeys"] == [k], o["status"]
        dr = cond(o, "DeploymentReady")
        assert dr["status"] == "False" and dr["reason"] == reason, dr
        assert dep in dr["message"], dr
        assert cond(o, "RegionAvailable")["status"] == "True", o["status"]
    data = wait_cm(cluster, ns, lambda d: dkey("WARN_MISSING") in d and dkey("WARN_CREATING") in d,
                   "Warn models published", ctl=ctl)
    assert data[dkey("WARN_MISSING")] == "gpt-5.4-nope"
    assert data[dkey("WARN_CREATING")] == "gpt-5.4-mini"
    time.sleep(1)
    for _, d in cm_versions(w) + [(None, cm_data(cluster, ns))]:
        assert dkey("MISSING") not in d and dkey("CREATING") not in d, d
    stop_ok(ctl)


# ---- 5. retired and deprecating models ---------------------------------------------

def test_retired_never_published_deprecating_published_with_warning(cluster, namespace, azure,
                                                                     controller):
    ns = namespace
    create(cluster, ns, account("aucert-ai", primary=True),
           model("legacy", "aucert-ai", ["LEGACY"], model_name="gpt-35-turbo", version="0125",
                 sku="Standard", deployment="gpt-35-turbo"),
           model("oldgen", "aucert-ai", ["OLDGEN"], model_name="gpt-4.1", version="2025-04-14",
                 deployment="gpt-4.1"))
    w = watch_cm(cluster, ns)
    ctl = controller("--suggest-regions", SUGGEST)

    o = wait_model(cluster, ns, "legacy", ready_is("False", "ModelRetired"), "Ready=False ModelRetired",
                   ctl=ctl)
    assert cond(o, "RegionAvailable")["reason"] == "ModelRetired", o["status"]
    assert cond(o, "Published")["status"] == "False", o["status"]
    assert not o["status"].get("publishedKeys"), o["status"]

    o = wait_model(cluster, ns, "oldgen", ready_is("True", "Published"), "Ready=True", ctl=ctl)
    dep = cond(o, "Deprecated")
    assert dep["status"] == "True", o["status"]
    rd = o["status"].get("retirementDate")
    assert rd, o["status"]
    when = datetime.datetime.strptime(rd, "%Y-%m-%dT%H:%M:%SZ")
    days = (when - datetime.datetime.utcnow()).total_seconds() / 86400
    assert 25 < days < 35, rd        # the fixture's {{now+30d}}
    data = wait_cm(cluster, ns, lambda d: dkey("OLDGEN") in d, "OLDGEN published", ctl=ctl)
    assert data[dkey("OLDGEN")] == "gpt-4.1"

    def deprecated_event():
        st, evs = api(cluster, "GET", "/api/v1/namespaces/%s/events" % ns)
        assert st == 200, evs
        return [e for e in evs["items"] if e["involvedObject"].get("name") == "oldgen" and
                e["involvedObject"].get("kind") == "FoundryModel" and e["type"] == "Warning" and
                e["reason"] == "Deprecated"]
    ev = wait_for("a Warning event Deprecated on oldgen", deprecated_event)
    assert "gpt-4.1" in ev[0]["message"] or rd[:10] in ev[0]["message"], ev[0]

    time.sleep(1)
    for _, d in cm_versions(w) + [(None, cm_data(cluster, ns))]:
        assert dkey("LEGACY") not in d, d
    stop_ok(ctl)


# ---- 6. a 429 storm, then recovery --------------------------------------------------

def test_429_storm_not_hammered_then_recovers(cluster, namespace, azure, controller):
    ns = namespace
    retry_after = 3
    ctl = simple_setup(cluster, ns, controller)
    w = watch_cm(cluster, ns)
    azure.reset_requests()
    t0 = time.monotonic()
    azure.fault("429", path_regex=ARM_RX, count=-1, retry_after=retry_after)
    # Kimi-K2.6: a deployment the controller has never fetched, so ARM must be asked
    create(cluster, ns, model("analysis", "aucert-ai", ["ANALYSIS"], model_name="Kimi-K2.6", version="1",
                              fmt="MoonshotAI"))
    o = wait_model(cluster, ns, "analysis",
                   lambda o: cond(o) and cond(o)["reason"] == "AzureThrottled" and
                   cond(o)["status"] in ("False", "Unknown"), "Ready AzureThrottled", ctl=ctl)
    assert cond(o, "Published")["status"] == "False", o["status"]
    assert not o["status"].get("publishedKeys"), o["status"]
    # stay in the storm for a while
    window_min = 15
    while time.monotonic() - t0 < window_min:
        ctl.assert_running()
        assert dkey("ANALYSIS") not in cm_data(cluster, ns)
        time.sleep(1)
    arm = azure.requests(ARM_RX)
    window = time.monotonic() - t0
    azure.clear_faults()
    throttled = [r for r in arm if r["status"] == 429]
    assert throttled, arm
    assert all(r["status"] == 429 for r in arm), arm
    # Retry-After honoured: about one ask per Retry-After (per subscription), plus slack
    bound = math.ceil(window / retry_after) + 4
    assert len(arm) <= bound, "%d ARM requests in %.0fs of 429 with Retry-After %d (bound %d): %s" % (
        len(arm), window, retry_after, bound, [(r["time"], r["path"]) for r in arm])
    # the already published model is not disturbed
    g = get(cluster, ns, "FoundryModel", "generation")
    assert cond(g)["status"] == "True", g["status"]

    wait_cm(cluster, ns, lambda d: d.get(dkey("ANALYSIS")) == "Kimi-K2.6", "ANALYSIS published after "
            "the storm", timeout=60, ctl=ctl)
    wait_model(cluster, ns, "analysis", ready_is("True", "Published"), "Ready=True", ctl=ctl)
    time.sleep(1)
    versions = cm_versions(w) + [(None, cm_data(cluster, ns))]
    for _, d in versions:
        assert d.get(dkey("GENERATION")) == "gpt-5.4" and d.get(dkey("REPORTING")) == "gpt-5.4", d
        assert d.get("FOUNDRY_ENDPOINT") == WEST_EP, d
    stop_ok(ctl)


# ---- 7. token expiry mid-run ----------------------------------------------------------

def test_token_expiry_refreshes_once(cluster, namespace, azure, controller):
    ns = namespace
    ctl = simple_setup(cluster, ns, controller)
    before = azure.count(TOKEN_RX, "POST", 200)
    assert before >= 1
    azure.reset_requests()
    assert azure.expire_tokens() >= 1
    patch_spec(cluster, ns, "FoundryModel", "generation",
               {"spec": {"model": {"format": "MoonshotAI", "name": "Kimi-K2.6", "version": "1"},
                         "deployment": "Kimi-K2.6"}})
    wait_cm(cluster, ns, lambda d: d.get(dkey("GENERATION")) == "Kimi-K2.6" and
            d.get(dkey("REPORTING")) == "Kimi-K2.6", "Kimi-K2.6 published", ctl=ctl)
    wait_model(cluster, ns, "generation", ready_is("True", "Published"), "Ready=True", ctl=ctl)
    unauthorized = azure.requests(ARM_RX, status=401)
    fresh = azure.requests(TOKEN_RX, "POST")
    assert len(unauthorized) == 1, unauthorized       # one 401, then the new token works
    assert len(fresh) == 1 and fresh[0]["status"] == 200, fresh   # refreshed once
    assert before + len(fresh) >= 2
    assert fresh[0]["seq"] > unauthorized[0]["seq"]
    stop_ok(ctl)


# ---- 8. 1,000 models on one region: one catalog request --------------------------------

def test_thousand_models_one_catalog_request(cluster, namespace, azure, controller):
    ns = namespace
    n = 1000
    create(cluster, ns, account("aucert-ai", primary=True))
    ctl = controller("--catalog-ttl", "1h")
    wait_for("account Ready", lambda: cond(get(cluster, ns, "FoundryAccount", "aucert-ai")) and
             cond(get(cluster, ns, "FoundryAccount", "aucert-ai"))["status"] == "True")

    w = watch_cm(cluster, ns, seconds=900)

    def post(i):
        d = model("m-%04d" % i, "aucert-ai", ["K_%04d" % i], deployment="gpt-5.4")
        d["metadata"]["namespace"] = ns
        for attempt in range(5):
            st, body = api(cluster, "POST", "/apis/%s/namespaces/%s/foundrymodels" % (GV, ns), d)
            if st == 201:
                return
            if st == 409 and attempt:     # an earlier attempt got through
                return
            time.sleep(0.5)
        raise AssertionError((st, body))

    with concurrent.futures.ThreadPoolExecutor(32) as ex:
        list(ex.map(post, range(n)))

    progress = []

    def all_published():
        ctl.assert_running()
        d = cm_data(cluster, ns)
        got = sum(1 for k in d if k.startswith("FOUNDRY_DEPLOYMENT_K_"))
        progress.append("%d of %d keys" % (got, n))
        return got == n
    try:
        wait_for("all %d models published" % n, all_published, timeout=600, interval=2)
    except AssertionError as e:
        raise AssertionError("%s: %s" % (e, progress[-1:])) from None

    def all_ready():
        st, lst = api(cluster, "GET", "/apis/%s/namespaces/%s/foundrymodels" % (GV, ns), timeout=120)
        assert st == 200
        bad = [o["metadata"]["name"] for o in lst["items"]
               if not (cond(o) and cond(o)["status"] == "True" and
                       o["status"].get("observedGeneration") == o["metadata"]["generation"])]
        progress.append("%d of %d not Ready: %s" % (len(bad), len(lst["items"]), bad[:5]))
        return not bad and len(lst["items"]) == n
    try:
        wait_for("all %d models Ready" % n, all_ready, timeout=300, interval=2)
    except AssertionError as e:
        raise AssertionError("%s: %s" % (e, progress[-1:])) from None
    data = cm_data(cluster, ns)
    wrong = {i: data.get(dkey("K_%04d" % i)) for i in range(n) if data.get(dkey("K_%04d" % i)) != "gpt-5.4"}
    hist = [(rv_, sum(1 for k in d_ if k.startswith("FOUNDRY_DEPLOYMENT_K_"))) for rv_, d_ in cm_versions(w)]
    assert not wrong, (hist, len(wrong), sorted(wrong.items())[:10],
                       sorted(k for k in data if k.startswith("FOUNDRY_DEPLOYMENT_K_"))[:20])
    assert azure.catalog_listings("westus") == 1
    assert sum(azure.catalog_listings(r) for r in ("eastus2", "southcentralus", "swedencentral",
                                                   "westeurope")) == 0
    # one deployment shared by 1,000 models is asked for once per --deployment-ttl
    assert azure.count(r"/deployments/gpt-5\.4$") == 1, azure.count(r"/deployments/gpt-5\.4$")
    stop_ok(ctl)


# ---- 9. workload identity with a rotating token file -------------------------------------

def _write_atomic(path, text):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def test_workload_identity_rotating_token_file(cluster, namespace, azure, controller, tmp_path):
    ns = namespace
    first, second = "wi-assertion-%s" % uuid.uuid4().hex, "wi-assertion-%s" % uuid.uuid4().hex

    def accept(*assertions):
        azure.set_world({"credentials": {"clients": {FEDERATED_CLIENT_ID: {
            "federated": {"assertions": list(assertions), "accept_any_assertion": False}}}}})
    accept(first)
    token_file = tmp_path / "azure-identity-token"
    _write_atomic(token_file, first)
    ctl = simple_setup(cluster, ns, controller, credential="workload", token_file=token_file)
    seen = azure.assertions()
    assert seen and all(a["assertion"] == first and a["accepted"] for a in seen), seen
    assert all(a["client_id"] == FEDERATED_CLIENT_ID for a in seen), seen

    # the kubelet rotates the projected token; the old one is no longer accepted
    accept(second)
    _write_atomic(token_file, second)
    azure.expire_tokens()
    n_before = len(seen)
    patch_spec(cluster, ns, "FoundryModel", "generation",
               {"spec": {"model": {"format": "MoonshotAI", "name": "Kimi-K2.6", "version": "1"},
                         "deployment": "Kimi-K2.6"}})
    wait_cm(cluster, ns, lambda d: d.get(dkey("GENERATION")) == "Kimi-K2.6", "published after the "
            "rotation", ctl=ctl)
    wait_model(cluster, ns, "generation", ready_is("True", "Published"), "Ready=True", ctl=ctl)
    later = azure.assertions()[n_before:]
    assert later, "no token request after expire_tokens()"
    assert all(a["assertion"] == second for a in later), later
    assert later[-1]["accepted"], later
    stop_ok(ctl)
    # neither assertion appears in the logs
    assert not leaked_secrets(ctl, azure, extra=(first, second))


# ---- 10. 500s on deployment GETs ----------------------------------------------------------

def test_deployment_5xx_verdict_stands_then_recovers(cluster, namespace, azure, controller):
    ns = namespace
    ctl = simple_setup(cluster, ns, controller, "--deployment-ttl", "1s")
    w = watch_cm(cluster, ns)
    g0 = get(cluster, ns, "FoundryModel", "generation")
    gen = g0["metadata"]["generation"]
    azure.reset_requests()
    azure.fault("500", path_regex=r"/deployments/", count=-1)

    # a change that is not a new generation makes the controller look again
    def touch(i):
        st, body = api(cluster, "PATCH", "/apis/%s/namespaces/%s/foundrymodels/generation" % (GV, ns),
                       {"metadata": {"annotations": {"e2e/touch": str(i)}}},
                       content_type="application/merge-patch+json")
        assert st == 200, body
        assert body["metadata"]["generation"] == gen
    time.sleep(1.5)     # past --deployment-ttl
    touch(1)
    wait_for("a deployment GET answered 500",
             lambda: azure.count(r"/deployments/", "GET", 500) >= 1)
    time.sleep(2)
    touch(2)
    # the verdict obtained for this generation stands; the failure shows on the
    # condition it affects
    o = wait_model(cluster, ns, "generation",
                   lambda o: "500" in (cond(o, "DeploymentReady") or {}).get("message", ""),
                   "DeploymentReady mentions the failed check", ctl=ctl)
    assert o["metadata"]["generation"] == gen
    assert cond(o)["status"] == "True" and cond(o)["reason"] == "Published", o["status"]
    assert cond(o, "DeploymentReady")["status"] == "True", o["status"]
    assert cond(o, "Published")["status"] == "True", o["status"]
    assert cm_data(cluster, ns).get(dkey("GENERATION")) == "gpt-5.4"

    # a new generation during the outage has no verdict: not published, Ready not
    # True, the old keys stay
    gen2 = patch_spec(cluster, ns, "FoundryModel", "generation",
                      {"spec": {"model": {"format": "MoonshotAI", "name": "Kimi-K2.6", "version": "1"},
                                "deployment": "Kimi-K2.6"}})
    o = wait_model(cluster, ns, "generation",
                   lambda o: cond(o)["status"] != "True" and cond(o)["reason"] == "AzureUnreachable",
                   "Ready AzureUnreachable for generation %d" % gen2, ctl=ctl)
    assert cond(o, "DeploymentReady")["status"] == "Unknown", o["status"]
    assert "500" in cond(o, "DeploymentReady")["message"], o["status"]
    assert cond(o, "RegionAvailable")["status"] == "True", o["status"]
    assert sorted(o["status"].get("publishedKeys") or []) == ["GENERATION", "REPORTING"], o["status"]
    time.sleep(2)
    d = cm_data(cluster, ns)
    assert d.get(dkey("GENERATION")) == "gpt-5.4" and d.get(dkey("REPORTING")) == "gpt-5.4", d
    # per-item backoff: asked again, but not in a tight loop
    n500 = azure.count(r"/deployments/", "GET", 500)
    assert n500 >= 2

    azure.clear_faults()
    wait_cm(cluster, ns, lambda d: d.get(dkey("GENERATION")) == "Kimi-K2.6" and
            d.get(dkey("REPORTING")) == "Kimi-K2.6", "recovery: Kimi-K2.6 published",
            timeout=90, ctl=ctl)
    o = wait_model(cluster, ns, "generation", ready_is("True", "Published"), "Ready=True", ctl=ctl)
    assert cond(o, "DeploymentReady")["status"] == "True", o["status"]
    assert "500" not in cond(o, "DeploymentReady")["message"], o["status"]
    time.sleep(1)
    for _, d in cm_versions(w):
        assert d.get(dkey("GENERATION")) == d.get(dkey("REPORTING")) in ("gpt-5.4", "Kimi-K2.6"), d
    stop_ok(ctl)


# ---- 11. 403 on the catalog -------------------------------------------------------------

def test_catalog_403_azure_forbidden_names_action(cluster, namespace, azure, controller):
    ns = namespace
    azure.fault("403", path_regex=r"/locations/westus/models", count=-1)
    create(cluster, ns, account("aucert-ai", primary=True),
           model("generation", "aucert-ai", ["GENERATION"], deployment="gpt-5.4"))
    ctl = controller()
    o = wait_model(cluster, ns, "generation",
                   lambda o: cond(o)["reason"] == "AzureForbidden" and cond(o)["status"] != "True",
                   "Ready AzureForbidden", ctl=ctl)
    msg = cond(o)["message"]
    assert "Microsoft.CognitiveServices/locations/models/read" in msg, msg
    assert cond(o, "RegionAvailable")["reason"] == "AzureForbidden", o["status"]
    assert not o["status"].get("publishedKeys"), o["status"]
    assert dkey("GENERATION") not in cm_data(cluster, ns)
    stop_ok(ctl)


# ---- 12. Entra error: wrong client secret -------------------------------------------------

def test_wrong_client_secret_actionable_and_not_logged(cluster, namespace, azure, controller):
    ns = namespace
    wrong = "wrong-secret-%s" % uuid.uuid4().hex
    create(cluster, ns, account("aucert-ai", primary=True), account("aucert-ai-east"),
           model("generation", "aucert-ai", ["GENERATION", "REPORTING"], deployment="gpt-5.4"),
           model("reasoning-pro", "aucert-ai-east", ["REASONING_PRO"], model_name="gpt-5.4-pro",
                 deployment="gpt-5.4-pro"))
    ctl = controller(env={"AZURE_CLIENT_SECRET": wrong})
    for name in ("generation", "reasoning-pro"):
        o = wait_model(cluster, ns, name, lambda o: cond(o) and cond(o)["status"] != "True" and
                       "AADSTS" in cond(o)["message"], "Ready message with AADSTS", ctl=ctl)
        msg = cond(o)["message"]
        assert "AADSTS7000215" in msg, msg
        assert "AZURE_CLIENT_SECRET" in msg, msg
        assert wrong not in msg and CLIENT_SECRET not in msg, msg
        assert not o["status"].get("publishedKeys"), o["status"]
    # model status is written before account status in one reconcile: wait for it
    acct = wait_for("account Ready message with AADSTS", lambda: (
        lambda a: a if cond(a) and "AADSTS" in cond(a)["message"] else None)(
        get(cluster, ns, "FoundryAccount", "aucert-ai")))
    assert cond(acct)["status"] != "True" and "AADSTS7000215" in cond(acct)["message"], acct["status"]
    assert not {k for k in cm_data(cluster, ns) if k.startswith("FOUNDRY_DEPLOYMENT_")}
    assert azure.count(TOKEN_RX, "POST", 401) >= 1
    assert azure.count(ARM_RX) == 0
    stop_ok(ctl)
    logs = ctl.stderr()
    assert wrong not in logs and CLIENT_SECRET not in logs
    assert "AADSTS7000215" in logs       # the failure itself is logged
    assert not leaked_secrets(ctl, azure, extra=(wrong,))


# ---- 13. SIGTERM during a long reconcile ----------------------------------------------------

def test_sigterm_during_large_reconcile_exits_promptly(cluster, namespace, azure, controller):
    ns = namespace
    n = 1000
    create(cluster, ns, account("aucert-ai", primary=True))

    def post(i):
        # a deployment of its own each (missing: one ARM GET per model), so the
        # first pass is long whatever the deployment cache does
        d = model("m-%04d" % i, "aucert-ai", ["K_%04d" % i], deployment="missing-%04d" % i)
        d["metadata"]["namespace"] = ns
        st, body = api(cluster, "POST", "/apis/%s/namespaces/%s/foundrymodels" % (GV, ns), d)
        assert st == 201, (st, body)
    with concurrent.futures.ThreadPoolExecutor(32) as ex:
        list(ex.map(post, range(n)))
    ctl = controller()      # its first pass covers all the models
    # the pass is under way: it has started asking ARM about the models
    wait_for("the first pass under way", lambda: azure.count(r"/deployments/", "GET") >= 20,
             timeout=120, interval=0.2)
    code = ctl.stop(timeout=15)
    if code is None:
        ctl.returncode = "killed after 15s"    # the fixture does not report it again
    assert code == 0, "no exit within 15 s of SIGTERM (%d deployment GETs so far)" % (
        azure.count(r"/deployments/", "GET"))
