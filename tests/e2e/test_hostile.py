"""Hostile but schema-valid objects (issue 6, "Bad input").

Everything here passes the CRDs' OpenAPI validation; the controller must
take it without crashing, publish what is valid, and report what cannot be
published instead of looping:

- 16 keys of 63 characters on 253-character FoundryModels and
  FoundryAccounts (the schema's maxima): published, with events naming
  the objects, and a 16-key switch is one write;
- unicode in every field that ends in a message, an event or the
  ConfigMap (model names, versions, SKUs, endpoints) and in what Azure
  answers (catalog, deployment state): carried exactly, and a message cut
  inside a UTF-8 sequence does not make status differ forever;
- a ConfigMap near the API server's 1 MiB limit (a big key of another
  field manager, or many models with long keys and endpoints): the
  change that would pass it is held back with Ready=False
  ConfigMapTooLarge, an event and a message naming the size, the
  ConfigMap keeps its last good data, and nothing is written again and
  again; when the server itself refuses the write (422), the attempts
  back off.

    make && FC_BIN=$PWD/bin/foundry-controller /usr/bin/python3 -m pytest -q tests/e2e/test_hostile.py

Each test prints the figures it measured (sizes, write attempts).
"""

import hashlib
import json
import os
import re
import sys
import time

import pytest

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(E2E_DIR))
sys.path.insert(0, E2E_DIR)
sys.path.insert(0, os.path.join(REPO, "tests", "azure_emulator"))
from conftest import figure  # noqa: E402
from controller_proc import Controller, Watch, api, controllers, wait_for  # noqa: E402
# the object builders and readers (account() takes endpoint as a keyword), AzureController
# and the emulator fixture azure
import test_azure  # noqa: E402
from test_azure import (AzureController, account, azure, cm_data, cond, configmap,  # noqa: E402,F401
                        create, get, model, plural)

GV = "foundry.aucert.io/v1alpha1"
CM = "llm-config"
LIMIT = 1024 * 1024               # the API server's limit for a ConfigMap's data
MANAGED = {"app.kubernetes.io/managed-by": "foundry-controller"}
WRITES = ("APPLY", "PATCH", "PUT", "POST")   # verbs of a write, as apiserver_request_total names them
WAIT = 60                         # seconds: bound of one convergence wait


# ---- controllers ------------------------------------------------------------------

@pytest.fixture
def controller(cluster, namespace, tmp_path, request):
    """controller(*args): a controller for the test's namespace, validation off."""
    yield from controllers(request, lambda i, *args: Controller(cluster, namespace, tmp_path, args, index=i),
                           tail=20000, label=" (tail)")


@pytest.fixture
def azure_controller(cluster, namespace, tmp_path, azure, request):
    """azure_controller(*args): a controller for the test's namespace against the emulator."""
    yield from controllers(request,
                           lambda i, *args: AzureController(cluster, namespace, tmp_path, azure, args, index=i),
                           tail=20000, label=" (tail)")


# ---- objects and API helpers --------------------------------------------------------

def name253(tag):
    """A valid DNS subdomain of exactly 253 characters starting with tag."""
    labels = [tag + "-" + "a" * (62 - len(tag)), "b" * 63, "c" * 63, "d" * 61]
    n = ".".join(labels)
    assert len(n) == 253 and re.match(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", n)
    return n


def keys63(letter, n=16):
    """n distinct keys of 63 characters (^[A-Z][A-Z0-9_]{0,62}$)."""
    out = []
    for i in range(n):
        k = "%s%02d_" % (letter, i)
        k += "K" * (63 - len(k))
        assert len(k) == 63
        out.append(k)
    return out


def obj_path(ns, kind, name=None):
    p = "/apis/%s/namespaces/%s/%s" % (GV, ns, plural(kind))
    return p + "/" + name if name else p


def delete(cluster, ns, kind, name):
    st, body = api(cluster, "DELETE", obj_path(ns, kind, name))
    assert st in (200, 202), (st, body)


def patch(cluster, ns, kind, name, body):
    st, out = api(cluster, "PATCH", obj_path(ns, kind, name), body,
                  content_type="application/merge-patch+json")
    assert st == 200, (st, out)
    return out


def create_cm(cluster, ns, data, labels=None, manager="hand"):
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CM, "labels": labels or {}}, "data": data}
    st, out = api(cluster, "POST", "/api/v1/namespaces/%s/configmaps?fieldManager=%s" % (ns, manager), body)
    assert st == 201, (st, str(out)[:500])
    return out


def patch_cm(cluster, ns, body, manager="hand"):
    st, out = api(cluster, "PATCH", "/api/v1/namespaces/%s/configmaps/%s?fieldManager=%s" % (ns, CM, manager),
                  body, content_type="application/merge-patch+json")
    assert st == 200, (st, str(out)[:500])
    return out


def data_bytes(data):
    """Keys and values, in bytes (what the controller counts)."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in (data or {}).items())


def value_bytes(data):
    """Values only, in bytes (what the API server counts)."""
    return sum(len(v.encode()) for v in (data or {}).values())


def wait_model(cluster, ns, name, pred, what, ctl=None, timeout=WAIT):
    """test_azure.wait_model (pred(obj) for the FoundryModel, status observed for
    its generation), with this file's WAIT and ctl as the sixth argument."""
    return test_azure.wait_model(cluster, ns, name, pred, what, timeout=timeout, ctl=ctl)


def ready(status, reason=None):
    def pred(o):
        c = cond(o)
        return bool(c and c["status"] == status and (reason is None or c["reason"] == reason))
    return pred


def wait_cm(cluster, ns, pred, what, ctl=None, timeout=WAIT):
    """test_azure.wait_cm (pred(data of llm-config)), with this file's WAIT and ctl as the fifth argument."""
    return test_azure.wait_cm(cluster, ns, pred, what, timeout=timeout, ctl=ctl)


def events(cluster, ns):
    st, body = api(cluster, "GET", "/api/v1/namespaces/%s/events" % ns)
    assert st == 200, body
    return body["items"]


def wait_event(cluster, ns, name, reason, etype=None, ctl=None, contains=None):
    def check():
        if ctl is not None:
            ctl.assert_running()
        for e in events(cluster, ns):
            if e["involvedObject"].get("name") == name and e.get("reason") == reason and \
                    (etype is None or e.get("type") == etype) and \
                    (contains is None or contains in (e.get("message") or "")):
                return e
        return None
    return wait_for("event %s for %s" % (reason, name[:40]), check, WAIT)


def apiserver_count(cluster, verbs, resource, code=None):
    """apiserver_request_total for verbs/resource (and code), all namespaces.
    A server-side apply counts as verb APPLY, a merge patch as PATCH."""
    st, text = api(cluster, "GET", "/metrics")
    assert st == 200, str(text)[:300]
    total = 0.0
    for line in str(text).splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line[:line.rindex("}")]))
        if labels.get("verb") in verbs and labels.get("resource") == resource and \
                (code is None or labels.get("code") == str(code)):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def controller_metric(ctl, name, **labels):
    from ops_util import scrape, value
    return value(scrape(ctl), name, **labels)


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()[:16]


# ---- 1. the schema's maxima: 253-character names, 16 keys of 63 characters -----------------

def test_longest_names_and_most_keys(cluster, namespace, controller):
    ns = namespace
    a_primary, a_second = name253("primary"), name253("second")
    m_one, m_two, m_late = name253("one"), name253("two"), name253("late")
    keys_one, keys_two = keys63("A"), keys63("B")
    ep_two = "https://" + "e" * 200 + ".openai.azure.com/"
    dep = "d" * 64                                   # the deployment name's maximum
    a_unnamed = name253("unnamed")                   # accountName defaults to it: too long for Azure
    create(cluster, ns,
           account(a_primary, endpoint="https://primary.openai.azure.com/", primary=True, account_name="p" * 64),
           account(a_second, endpoint=ep_two, account_name="second"),
           account(a_unnamed, endpoint=ep_two))
    create(cluster, ns, model(m_one, a_primary, keys_one, deployment=dep),
           model(m_two, a_second, keys_two, deployment="x" + dep[1:]))
    time.sleep(1.1)                                  # creationTimestamp: m_late is younger
    create(cluster, ns, model(m_late, a_primary, [keys_one[7], "LATE"], deployment="late"))
    ctl = controller()

    want = {"FOUNDRY_ENDPOINT": "https://primary.openai.azure.com/"}
    want.update({"FOUNDRY_DEPLOYMENT_" + k: dep for k in keys_one})
    want.update({"FOUNDRY_DEPLOYMENT_" + k: "x" + dep[1:] for k in keys_two})
    want.update({"FOUNDRY_ENDPOINT_" + k: ep_two for k in keys_two})
    data = wait_cm(cluster, ns, lambda d: d == want, "49 keys published", ctl=ctl)
    assert max(len(k) for k in data) == len("FOUNDRY_DEPLOYMENT_") + 63

    one = wait_model(cluster, ns, m_one, ready("True", "Published"), "Ready", ctl)
    assert one["status"]["publishedKeys"] == sorted(keys_one)
    two = wait_model(cluster, ns, m_two, ready("True", "Published"), "Ready", ctl)
    assert two["status"]["publishedKeys"] == sorted(keys_two)
    assert two["status"]["endpoint"] == ep_two
    late = wait_model(cluster, ns, m_late, ready("False", "KeyConflict"), "KeyConflict", ctl)
    msg = cond(late)["message"]
    assert m_one in msg and keys_one[7] in msg, msg          # the winner, named in full
    assert "FOUNDRY_DEPLOYMENT_LATE" not in cm_data(cluster, ns)
    for a in (a_primary, a_second):
        acc = wait_for("account ready", lambda: (lambda o: o if cond(o) and cond(o)["status"] == "True"
                                                  else None)(get(cluster, ns, "FoundryAccount", a)))
        assert acc["status"]["endpoint"] in ("https://primary.openai.azure.com/", ep_two)
    bad = wait_for("the unnamed account's InvalidSpec", lambda: (lambda o: o if cond(o) and
                   cond(o)["reason"] == "InvalidSpec" else None)(get(cluster, ns, "FoundryAccount", a_unnamed)))
    assert a_unnamed in cond(bad)["message"] and "set spec.accountName" in cond(bad)["message"]
    ev_one = wait_event(cluster, ns, m_one, "Published", "Normal", ctl)
    ev_late = wait_event(cluster, ns, m_late, "KeyConflict", "Warning", ctl)
    assert ev_one["involvedObject"]["kind"] == "FoundryModel"
    assert m_one in ev_late["message"]

    # one write switches all 16 keys: no version of the ConfigMap mixes them
    cm = configmap(cluster, ns)
    w = Watch(cluster, "/api/v1/namespaces/%s/configmaps" % ns, CM, cm["metadata"]["resourceVersion"])
    patch(cluster, ns, "FoundryModel", m_one, {"spec": {"deployment": "n" * 64}})
    wait_cm(cluster, ns, lambda d: all(d.get("FOUNDRY_DEPLOYMENT_" + k) == "n" * 64 for k in keys_one),
            "the 16-key switch", ctl=ctl)
    time.sleep(1)
    versions = [o.get("data") or {} for t, o in w.snapshot() if t == "MODIFIED"]
    assert versions, "no ConfigMap change seen by the watch"
    for v in versions:
        vals = {v.get("FOUNDRY_DEPLOYMENT_" + k) for k in keys_one}
        assert len(vals) == 1, "a version mixes old and new deployments: %s" % vals
    assert len(versions) == 1, "the switch took %d writes" % len(versions)
    ctl.assert_running()
    figure("hostile.max_keys", "names %d chars (models and accounts), %d keys of %d chars per model, "
           "%d ConfigMap keys (longest %d chars), %d bytes of data; 16-key switch in %d write" % (
               len(m_one), len(keys_one), len(keys_one[0]), len(data), max(len(k) for k in data),
               data_bytes(data), len(versions)))


# ---- 2. unicode where messages, events and the ConfigMap carry it ---------------------------

UNI_EP = "https://ünïcødé-例え.example/путь/🚀?q=ñ"
UNI_MODEL = "gpt-✓-模型-🚀-ñ"
UNI_VERSION = "2026-03-05-β"
UNI_SKU = "GlobalStändard"


def test_unicode_in_messages_events_and_configmap(cluster, namespace, controller):
    ns = namespace
    emoji_name = "🚀" * 128                          # model.name's maximum, 4 bytes each
    create(cluster, ns, account("uni", endpoint=UNI_EP, primary=True),
           model("uni-model", "uni", ["UNI"], model_name=UNI_MODEL, version=UNI_VERSION,
                 sku=UNI_SKU, deployment="gpt-5"),
           model("emoji-model", "uni", ["EMOJI"], model_name=emoji_name, deployment="emoji"))
    ctl = controller()
    data = wait_cm(cluster, ns, lambda d: d.get("FOUNDRY_DEPLOYMENT_EMOJI") == "emoji",
                   "unicode models published", ctl=ctl)
    assert data["FOUNDRY_ENDPOINT"] == UNI_EP                 # byte for byte
    assert data["FOUNDRY_DEPLOYMENT_UNI"] == "gpt-5"
    m = wait_model(cluster, ns, "uni-model", ready("True", "Published"), "Published", ctl)
    assert UNI_MODEL in cond(m)["message"], cond(m)["message"]   # the deployment-name note
    assert m["status"]["endpoint"] == UNI_EP
    e = wait_model(cluster, ns, "emoji-model", ready("True", "Published"), "Published", ctl)
    assert emoji_name in cond(e)["message"]
    acc = wait_for("account ready", lambda: (lambda o: o if cond(o) and cond(o)["status"] == "True"
                                              else None)(get(cluster, ns, "FoundryAccount", "uni")))
    assert acc["status"]["endpoint"] == UNI_EP
    ev = wait_event(cluster, ns, "uni-model", "Published", "Normal", ctl)
    assert UNI_MODEL in ev["message"], ev["message"]
    ev = wait_event(cluster, ns, "emoji-model", "Published", "Normal", ctl)
    assert emoji_name in ev["message"]
    # the logs stay one JSON object per line
    raw = [r for r in ctl.records() if "_raw" in r]
    assert not raw, raw[:3]
    # stable: a resync writes nothing (no status that differs from what the server stored)
    before = (configmap(cluster, ns)["metadata"]["resourceVersion"],
              get(cluster, ns, "FoundryModel", "uni-model")["metadata"]["resourceVersion"],
              get(cluster, ns, "FoundryModel", "emoji-model")["metadata"]["resourceVersion"])
    ctl2 = controller("--resync-period=1s")
    ctl.stop()
    wait_for("two resyncs", lambda: sum(r.get("msg") == "reconciled" for r in ctl2.records()) >= 3)
    after = (configmap(cluster, ns)["metadata"]["resourceVersion"],
             get(cluster, ns, "FoundryModel", "uni-model")["metadata"]["resourceVersion"],
             get(cluster, ns, "FoundryModel", "emoji-model")["metadata"]["resourceVersion"])
    assert after == before, "a restart and resyncs rewrote unicode objects: %s -> %s" % (before, after)
    figure("hostile.unicode", "endpoint %d chars / %d bytes, model names up to %d chars / %d bytes: "
           "ConfigMap, status, events exact; restart + resyncs wrote nothing" % (
               len(UNI_EP), len(UNI_EP.encode()), len(emoji_name), len(emoji_name.encode())))


def test_unicode_from_azure(cluster, namespace, azure, azure_controller):
    """Unicode in what ARM answers (catalog model names, deployment states), and
    an ARM message cut inside a UTF-8 sequence: status settles, no rewrite loop."""
    ns = namespace
    base = next(i for i in azure.catalog("westus")
                if i["model"]["name"] == "gpt-5.4" and i["model"]["version"] == "2026-03-05")
    item = json.loads(json.dumps(base))
    item["model"]["name"], item["model"]["version"] = UNI_MODEL, UNI_VERSION
    item["name"] = "OpenAI.%s.%s" % (UNI_MODEL, UNI_VERSION)
    item["kind"] = "AIServices"                      # aucert-ai's kind
    azure.set_catalog("westus", azure.catalog("westus") + [item])
    azure.set_deployment("aucert-ai", "uni-dep", {
        "model": {"format": "OpenAI", "name": UNI_MODEL, "version": UNI_VERSION},
        "sku": {"name": "GlobalStandard", "capacity": 1}, "provisioningState": "Succeeded"})
    state = "Échec-失败-" + "模" * 20
    azure.set_deployment("aucert-ai", "bad-dep", {
        "model": {"format": "OpenAI", "name": UNI_MODEL, "version": UNI_VERSION},
        "sku": {"name": "GlobalStandard", "capacity": 1}, "provisioningState": state})
    # serves a model with a long unicode name: the controller's message about it
    # is cut at its 1 KiB buffer, inside a 3-byte character (the name's length
    # sets where: "deployment cut-dep1 serves OpenAI " is 34 bytes)
    long_name = "模" * 400
    azure.set_deployment("aucert-ai", "cut-dep1", {
        "model": {"format": "OpenAI", "name": long_name, "version": UNI_VERSION},
        "sku": {"name": "GlobalStandard", "capacity": 1}, "provisioningState": "Succeeded"})
    create(cluster, ns, account("aucert-ai", primary=True, region="westus"),
           model("uni", "aucert-ai", ["UNI"], model_name=UNI_MODEL, version=UNI_VERSION,
                 deployment="uni-dep"),
           model("bad", "aucert-ai", ["BAD"], model_name=UNI_MODEL, version=UNI_VERSION,
                 deployment="bad-dep"),
           model("cut", "aucert-ai", ["CUT"], model_name=UNI_MODEL, version=UNI_VERSION,
                 deployment="cut-dep1"),
           model("absent", "aucert-ai", ["ABSENT"], model_name="🚫-" + UNI_MODEL, version=UNI_VERSION,
                 deployment="uni-dep"))
    ctl = azure_controller("--resync-period=2s")
    wait_cm(cluster, ns, lambda d: d.get("FOUNDRY_DEPLOYMENT_UNI") == "uni-dep", "uni published", ctl)
    bad = wait_model(cluster, ns, "bad", ready("False", "DeploymentNotSucceeded"), "not succeeded", ctl)
    assert state in cond(bad)["message"], cond(bad)["message"]
    absent = wait_model(cluster, ns, "absent", ready("False", "ModelNotInRegion"), "not in region", ctl)
    assert "🚫-" + UNI_MODEL in json.dumps(absent["status"], ensure_ascii=False)
    cut = wait_model(cluster, ns, "cut", lambda o: cond(o, "DeploymentReady") and
                     cond(o, "DeploymentReady")["status"] == "False", "model name differs", ctl)
    msg = cond(cut, "DeploymentReady")["message"]
    assert "模" * 50 in msg, msg[:200]
    d = cm_data(cluster, ns)
    assert "FOUNDRY_DEPLOYMENT_BAD" not in d and "FOUNDRY_DEPLOYMENT_CUT" not in d
    assert "FOUNDRY_DEPLOYMENT_ABSENT" not in d
    wait_event(cluster, ns, "bad", "DeploymentNotSucceeded", "Warning", ctl, contains=state)

    # settled: three resyncs (2 s) later no object was written again
    rvs = {n: get(cluster, ns, "FoundryModel", n)["metadata"]["resourceVersion"]
           for n in ("uni", "bad", "cut", "absent")}
    writes0 = controller_metric(ctl, "foundry_status_writes_total")
    n0 = len(ctl.records())
    wait_for("three resyncs", lambda: sum(r.get("msg") == "periodic resync" for r in ctl.records()[n0:]) >= 3,
             timeout=30)
    rvs2 = {n: get(cluster, ns, "FoundryModel", n)["metadata"]["resourceVersion"] for n in rvs}
    writes = controller_metric(ctl, "foundry_status_writes_total") - writes0
    assert rvs2 == rvs and writes == 0, "status rewritten after settling: %d writes, %s -> %s" % (
        writes, rvs, rvs2)
    # a restart (fresh memory) finds every status as it would write it: no write at all
    ctl.stop()
    ctl2 = azure_controller("--resync-period=2s")
    wait_for("the restarted controller's resyncs",
             lambda: sum(r.get("msg") == "periodic resync" for r in ctl2.records()) >= 2, timeout=30)
    restart_writes = controller_metric(ctl2, "foundry_status_writes_total")
    assert restart_writes == 0, "a restart rewrote %d statuses" % restart_writes
    rvs3 = {n: get(cluster, ns, "FoundryModel", n)["metadata"]["resourceVersion"] for n in rvs}
    assert rvs3 == rvs
    figure("hostile.unicode_azure", "ARM catalog/deployment strings in unicode carried into status and "
           "events; a %d-byte message cut at 1 KiB: 0 status writes over 3 resyncs, %d after a restart" % (
               len(long_name.encode()), restart_writes))


# ---- 3. a ConfigMap near the API server's 1 MiB limit ------------------------------------------

def test_configmap_near_the_limit_is_reported(cluster, namespace, controller):
    """A big key of another field manager leaves no room: the model whose keys would
    pass 1 MiB is held back (ConfigMapTooLarge, event, message with the size); the
    ConfigMap keeps its data; nothing is written while it waits; room made publishes."""
    ns = namespace
    create(cluster, ns, account("acc", endpoint="https://acc.openai.azure.com/", primary=True),
           model("first", "acc", ["FIRST"], deployment="gpt-5.4"))
    ctl = controller("--resync-period=3s")
    wait_cm(cluster, ns, lambda d: d.get("FOUNDRY_DEPLOYMENT_FIRST") == "gpt-5.4", "first published", ctl)
    ours = cm_data(cluster, ns)
    room = 1000
    big = "b" * (LIMIT - data_bytes(ours) - len("BIG") - room)
    patch_cm(cluster, ns, {"data": {"BIG": big}})
    assert data_bytes(cm_data(cluster, ns)) == LIMIT - room
    big_keys = keys63("G")                                  # 16 x (82 + 7) = 1424 bytes: no room
    create(cluster, ns, model("big", "acc", big_keys, deployment="gpt-5.4"))
    time.sleep(1.1)
    create(cluster, ns, model("small", "acc", ["SMALL"], deployment="gpt-5.4"))  # 27 bytes: fits

    held = wait_model(cluster, ns, "big", ready("False", "ConfigMapTooLarge"), "held back", ctl)
    msg = cond(held)["message"]
    m = re.search(r"would hold (\d+) bytes of data \(keys and values, (\d+) of them in keys the "
                  r"controller does not own\), over the limit of 1048576 bytes", msg)
    assert m, msg
    would = int(m.group(1))
    assert would > LIMIT and int(m.group(2)) == len("BIG") + len(big)
    assert cond(held, "Published")["status"] == "False"
    assert cond(held, "Published")["reason"] == "ConfigMapTooLarge"
    assert not held["status"].get("publishedKeys")
    wait_model(cluster, ns, "small", ready("True", "Published"), "small published", ctl)
    ev = wait_event(cluster, ns, "big", "ConfigMapTooLarge", "Warning", ctl)
    assert re.search(r"would hold \d+ bytes of data .* over the limit of 1048576 bytes", ev["message"]), \
        ev["message"]
    cm = configmap(cluster, ns)
    data = cm["data"]
    assert data["BIG"] == big
    assert data["FOUNDRY_DEPLOYMENT_FIRST"] == "gpt-5.4" and data["FOUNDRY_DEPLOYMENT_SMALL"] == "gpt-5.4"
    assert not any(k.startswith("FOUNDRY_DEPLOYMENT_G") for k in data)
    assert data_bytes(data) <= LIMIT

    # no loop: over a window with resyncs every 3 s, nothing is written
    rv = cm["metadata"]["resourceVersion"]
    brv = get(cluster, ns, "FoundryModel", "big")["metadata"]["resourceVersion"]
    patches0 = apiserver_count(cluster, WRITES, "configmaps")
    cmw0 = controller_metric(ctl, "foundry_configmap_writes_total")
    stw0 = controller_metric(ctl, "foundry_status_writes_total")
    rec0 = controller_metric(ctl, "controller_runtime_reconcile_total")
    window = 12
    time.sleep(window)
    ctl.assert_running()
    patches = apiserver_count(cluster, WRITES, "configmaps") - patches0
    cmw = controller_metric(ctl, "foundry_configmap_writes_total") - cmw0
    stw = controller_metric(ctl, "foundry_status_writes_total") - stw0
    recs = controller_metric(ctl, "controller_runtime_reconcile_total") - rec0
    assert recs >= 2, "no reconcile in the window (resync every 3 s): %s" % recs
    assert (patches, cmw, stw) == (0, 0, 0), \
        "writes while held back: %d ConfigMap PATCHes, %d applies, %d status writes" % (patches, cmw, stw)
    assert configmap(cluster, ns)["metadata"]["resourceVersion"] == rv
    assert get(cluster, ns, "FoundryModel", "big")["metadata"]["resourceVersion"] == brv

    # the other manager shrinks its key: the held model publishes
    patch_cm(cluster, ns, {"data": {"BIG": big[:len(big) - 5000]}})
    wait_cm(cluster, ns, lambda d: all(d.get("FOUNDRY_DEPLOYMENT_" + k) == "gpt-5.4" for k in big_keys),
            "big published once there is room", ctl)
    wait_model(cluster, ns, "big", ready("True", "Published"), "published", ctl)
    final = cm_data(cluster, ns)
    assert final["BIG"] == big[:len(big) - 5000]
    figure("hostile.configmap_limit", "foreign key of %d bytes, ConfigMap at %d bytes: a 16-key model "
           "(would be %d > %d) held back with ConfigMapTooLarge + event; %d s window with %d reconciles: "
           "%d ConfigMap PATCHes, %d status writes; published after 5000 bytes were freed (%d bytes)" % (
               len(big), LIMIT - room, would, LIMIT, window, recs, patches, stw, data_bytes(final)))


def test_many_models_fill_the_configmap(cluster, namespace, controller):
    """Models with 16 keys of 63 characters on an account whose endpoint has
    2,048 characters (36 KB of data each): the oldest that fit in 1 MiB are
    published, the rest wait with ConfigMapTooLarge; deleting one lets the
    next in."""
    ns = namespace
    ep = "https://" + "e" * (2048 - len("https://") - len(".example/")) + ".example/"
    assert len(ep) == 2048
    n = 30
    create(cluster, ns, account("primary", endpoint="https://p.example/", primary=True),
           account("long", endpoint=ep))
    names = ["m%02d" % i for i in range(n)]
    for i, nm in enumerate(names):
        create(cluster, ns, model(nm, "long", keys63(chr(ord("A") + i % 26) + "%d" % (i // 26)),
                                  deployment="%s-" % nm + "d" * 60))
    t0 = time.monotonic()
    ctl = controller()
    per_model = 16 * (len("FOUNDRY_DEPLOYMENT_") + 63 + 64 + len("FOUNDRY_ENDPOINT_") + 63 + len(ep))
    fit = (LIMIT - len("FOUNDRY_ENDPOINT") - len("https://p.example/")) // per_model

    def settled():
        objs = [get(cluster, ns, "FoundryModel", nm) for nm in names]
        pub = [o["metadata"]["name"] for o in objs if ready("True", "Published")(o)]
        held = [o["metadata"]["name"] for o in objs if ready("False", "ConfigMapTooLarge")(o)]
        return (pub, held) if len(pub) + len(held) == n else None
    pub, held = wait_for("every model published or held back", settled, timeout=120)
    elapsed = time.monotonic() - t0
    data = cm_data(cluster, ns)
    assert len(pub) == fit, (len(pub), fit)
    # the oldest fit: creation order (creationTimestamp, then name)
    objs = sorted((get(cluster, ns, "FoundryModel", nm) for nm in names),
                  key=lambda o: (o["metadata"]["creationTimestamp"], o["metadata"]["name"]))
    assert [o["metadata"]["name"] for o in objs[:fit]] == sorted(pub, key=lambda x: [
        o["metadata"]["name"] for o in objs].index(x))
    assert data_bytes(data) <= LIMIT and value_bytes(data) <= LIMIT
    assert len(data) == 1 + 32 * fit
    for nm in held:
        assert not any(v.startswith(nm + "-") for v in data.values())
    writes0 = apiserver_count(cluster, WRITES, "configmaps")
    # make room: delete the oldest; the oldest held one takes its place
    gone = objs[0]["metadata"]["name"]
    nxt = objs[fit]["metadata"]["name"]
    delete(cluster, ns, "FoundryModel", gone)
    wait_model(cluster, ns, nxt, ready("True", "Published"), "published after a deletion", ctl)
    data2 = cm_data(cluster, ns)
    assert not any(v.startswith(gone + "-") for v in data2.values())
    assert sum(v.startswith(nxt + "-") for v in data2.values()) == 16
    assert data_bytes(data2) <= LIMIT
    for o in objs[fit + 1:]:
        assert ready("False", "ConfigMapTooLarge")(get(cluster, ns, "FoundryModel", o["metadata"]["name"]))
    patches = apiserver_count(cluster, WRITES, "configmaps") - writes0
    assert 1 <= patches <= 3, "ConfigMap writes for one deletion: %d" % patches
    # every log line is still one JSON object (the change lists are long)
    raw = [r["_raw"][:200] for r in ctl.records() if "_raw" in r]
    assert not raw, "%d log lines are not JSON: %s" % (len(raw), raw[:2])
    figure("hostile.configmap_full", "%d models of %d bytes each: %d published (%d bytes, %d keys), %d held "
           "back with ConfigMapTooLarge, settled in %.1f s; a deletion let the next in with %d PATCH(es)" % (
               n, per_model, len(pub), data_bytes(data), len(data), len(held), elapsed, patches))


def test_configmap_the_server_refuses(cluster, namespace, controller):
    """The ConfigMap exists without the controller's label (so the controller
    does not see its big key) and is nearly full: the API server answers 422.
    The model says why, the ConfigMap stays as it was, and the attempts back off."""
    ns = namespace
    big = "b" * (LIMIT - 20)
    created = create_cm(cluster, ns, {"BIG": big})
    rv = created["metadata"]["resourceVersion"]
    p0 = apiserver_count(cluster, WRITES, "configmaps", 422)
    create(cluster, ns, account("acc", endpoint="https://acc.openai.azure.com/", primary=True),
           model("mod", "acc", ["X"], deployment="gpt-5.4"))
    ctl = controller()
    held = wait_model(cluster, ns, "mod", ready("False", "ConfigMapTooLarge"), "refused", ctl)
    msg = cond(held)["message"]
    assert "the API server refused to write ConfigMap %s/%s" % (ns, CM) in msg, msg
    assert "Too long: must have at most 1048576 bytes" in msg, msg
    wait_event(cluster, ns, "mod", "ConfigMapTooLarge", "Warning", ctl)

    def attempts():
        return [r for r in ctl.records() if r.get("msg") == "ConfigMap apply failed"]
    first = wait_for("a refused apply", attempts)[0]
    window = 30
    time.sleep(window)
    ctl.assert_running()
    recs = attempts()
    assert all(r.get("status") == "422" for r in recs), recs[:3]
    t = [time.mktime(time.strptime(r["ts"][:19], "%Y-%m-%dT%H:%M:%S")) + float("0." + r["ts"][20:23])
         for r in recs] if recs and "ts" in recs[0] else []
    refused = apiserver_count(cluster, WRITES, "configmaps", 422) - p0
    # exponential backoff from 5 ms doubling: ~13 attempts in 30 s (+1 for our own status write)
    assert 2 <= len(recs) <= 20, "%d apply attempts in %d s" % (len(recs), window)
    assert 2 <= refused <= 20, refused
    gaps = [b - a for a, b in zip(t, t[1:])]
    if gaps:
        assert max(gaps) >= 2.0, "no backoff between attempts: %s" % gaps
    cm = configmap(cluster, ns)
    assert cm["metadata"]["resourceVersion"] == rv, "the refused ConfigMap changed"
    assert cm["data"] == {"BIG": big} and not (cm["metadata"].get("labels") or {})

    # room made (the controller does not watch this ConfigMap: a touch of the model retries)
    patch_cm(cluster, ns, {"data": {"BIG": None}})
    patch(cluster, ns, "FoundryModel", "mod", {"metadata": {"annotations": {"touch": "1"}}})
    wait_cm(cluster, ns, lambda d: d.get("FOUNDRY_DEPLOYMENT_X") == "gpt-5.4", "published after room", ctl)
    wait_model(cluster, ns, "mod", ready("True", "Published"), "published", ctl)
    assert configmap(cluster, ns)["metadata"]["labels"] == MANAGED
    figure("hostile.configmap_refused", "API server 422 (Too long) on a ConfigMap of %d bytes: %d apply "
           "attempts in %d s (%d counted by the API server), longest gap %.1f s (backoff); ConfigMap "
           "unchanged, model Ready=False ConfigMapTooLarge; published once room was made" % (
               len(big), len(recs), window, refused, max(gaps) if gaps else 0.0))
