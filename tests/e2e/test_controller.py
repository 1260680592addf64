"""The controller core against a real kube-apiserver (DESIGN.md §2, §3, §5).

Each test runs bin/foundry-controller (FC_BIN) for its own namespace with
--azure-validation=off (accounts carry spec.endpoint; Azure is not asked),
and checks the llm-config contract: atomic writes, only its own keys,
conflicts, finalizer, no needless writes, events, logs.

    make && FC_BIN=$PWD/bin/foundry-controller /usr/bin/python3 -m pytest -q tests/e2e/test_controller.py

Waits are bounded polls (wait_for, 20 s); nothing asserts on timing.
"""

import json
import os
import signal
import sys
import time

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from controller_proc import Controller, Watch, api, controllers, scaled, wait_for  # noqa: E402

GROUP_VERSION = "foundry.aucert.io/v1alpha1"
FINALIZER = "foundry.aucert.io/finalizer"
HASH_ANNOTATION = "foundry.aucert.io/config-hash"
SUB = "00000000-0000-0000-0000-000000000000"
EP_A = "https://a.openai.azure.com/"
EP_B = "https://b.openai.azure.com/"
OUR_PREFIXES = ("FOUNDRY_ENDPOINT", "FOUNDRY_DEPLOYMENT_")


# ---- fixtures ------------------------------------------------------------------

@pytest.fixture
def controller(cluster, namespace, tmp_path, request):
    """A factory: controller(*extra_args) starts one controller for the test's
    namespace. Every process still running at the end gets SIGTERM and must
    exit 0; its stderr is printed when the test failed."""
    yield from controllers(request, lambda i, *args: Controller(cluster, namespace, tmp_path, args, index=i))


# ---- object builders and readers ---------------------------------------------------

def account(name, endpoint=EP_A, primary=False, region=None, **meta):
    spec = {"subscriptionId": SUB, "resourceGroup": "rg-e2e", "primary": primary}
    if endpoint:
        spec["endpoint"] = endpoint
    if region:
        spec["region"] = region
    return {"apiVersion": GROUP_VERSION, "kind": "FoundryAccount",
            "metadata": dict(name=name, **meta), "spec": spec}


def model(name, account_name, keys, model_name="gpt-5.4", deployment=None, version="2026-03-05",
          configmap=None, **meta):
    spec = {"accountRef": {"name": account_name},
            "model": {"format": "OpenAI", "name": model_name, "version": version},
            "sku": {"name": "GlobalStandard"}, "keys": list(keys)}
    if deployment:
        spec["deployment"] = deployment
    if configmap:
        spec["configMap"] = configmap
    return {"apiVersion": GROUP_VERSION, "kind": "FoundryModel",
            "metadata": dict(name=name, **meta), "spec": spec}


def apply(cluster, ns, *docs):
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(docs))


def get(cluster, ns, kind, name):
    """The object as a dict, or None when it does not exist."""
    p = cluster.kubectl("get", "-n", ns, kind, name, "-o", "json", check=False)
    if p.returncode != 0:
        if "NotFound" in p.stderr:
            return None
        raise AssertionError(p.stderr)
    return json.loads(p.stdout)


def cm_data(cluster, ns, name="llm-config"):
    cm = get(cluster, ns, "configmap", name)
    return None if cm is None else (cm.get("data") or {})


def ours(data):
    return {k: v for k, v in (data or {}).items() if k.startswith(OUR_PREFIXES)}


def cond(obj, ctype="Ready"):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def wait_cm(cluster, ns, what, pred, name="llm-config"):
    """Waits until ConfigMap ns/name exists and pred(data) holds; returns data."""
    def check():
        d = cm_data(cluster, ns, name)
        return d if d is not None and pred(d) else None
    return wait_for("ConfigMap %s/%s: %s" % (ns, name, what), check)


def wait_cm_ours(cluster, ns, expected, name="llm-config"):
    """Waits until the controller-owned keys of the ConfigMap are exactly expected;
    returns the whole data."""
    seen = {}

    def check():
        d = cm_data(cluster, ns, name)
        seen["owned"] = None if d is None else ours(d)
        return d if d is not None and ours(d) == expected else None
    try:
        return wait_for("ConfigMap %s/%s owned keys == %s" % (ns, name, expected), check)
    except AssertionError as e:
        raise AssertionError("%s; owned keys seen last: %s" % (e, seen.get("owned"))) from None


def wait_cond(cluster, ns, kind, name, status, reason=None, ctype="Ready"):
    """Waits until the object's condition has status (and reason); returns the object."""
    def check():
        obj = get(cluster, ns, kind, name)
        c = cond(obj, ctype)
        if c and c.get("status") == status and (reason is None or c.get("reason") == reason):
            return obj
        return None
    return wait_for("%s %s/%s %s=%s %s" % (kind, ns, name, ctype, status, reason or ""), check)


def events(cluster, ns):
    """{name: (reason, type, involved name, count, resourceVersion)} of ns's Events."""
    out = {}
    for e in cluster.get_json("events", "-n", ns)["items"]:
        out[e["metadata"]["name"]] = (e.get("reason"), e.get("type"),
                                      e["involvedObject"].get("name"), e.get("count"),
                                      e["metadata"]["resourceVersion"])
    return out


def resource_versions(cluster, ns):
    """resourceVersion of every ConfigMap, FoundryModel and FoundryAccount of ns."""
    out = {}
    for kind in ("configmaps", "foundrymodels", "foundryaccounts"):
        for o in cluster.get_json(kind, "-n", ns)["items"]:
            out["%s/%s" % (kind, o["metadata"]["name"])] = o["metadata"]["resourceVersion"]
    return out


def two_account_setup(cluster, ns):
    apply(cluster, ns,
          account("primary", EP_A, primary=True, region="westus"),
          account("secondary", EP_B, primary=False, region="eastus2"),
          model("generation", "primary", ["GENERATION", "REPORTING"], "gpt-5.4", "gpt-5.4"),
          model("reasoning-pro", "secondary", ["REASONING_PRO"], "gpt-5.4-pro", "gpt-5.4-pro"))


TWO_ACCOUNT_KEYS = {
    "FOUNDRY_ENDPOINT": EP_A,
    "FOUNDRY_DEPLOYMENT_GENERATION": "gpt-5.4",
    "FOUNDRY_DEPLOYMENT_REPORTING": "gpt-5.4",
    "FOUNDRY_DEPLOYMENT_REASONING_PRO": "gpt-5.4-pro",
    "FOUNDRY_ENDPOINT_REASONING_PRO": EP_B,
}


def sleep_past_second():
    """creationTimestamp has a one-second resolution: make the next object younger."""
    time.sleep(1.1)


# ---- 1. the two-account example ---------------------------------------------------------

def test_two_account_example(cluster, namespace, controller):
    ns = namespace
    controller()
    two_account_setup(cluster, ns)

    data = wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    assert "FOUNDRY_ENDPOINT_GENERATION" not in data
    assert "FOUNDRY_ENDPOINT_REPORTING" not in data

    gen = wait_cond(cluster, ns, "fm", "generation", "True", "Published")
    rp = wait_cond(cluster, ns, "fm", "reasoning-pro", "True", "Published")
    assert sorted(gen["status"]["publishedKeys"]) == ["GENERATION", "REPORTING"]
    assert gen["status"]["endpoint"] == EP_A
    assert gen["status"]["observedGeneration"] == gen["metadata"]["generation"]
    assert rp["status"]["publishedKeys"] == ["REASONING_PRO"]
    assert rp["status"]["endpoint"] == EP_B
    for o in (gen, rp):
        c = cond(o)
        assert c["observedGeneration"] == o["metadata"]["generation"]
        assert c["lastTransitionTime"]
    for name in ("primary", "secondary"):
        wait_cond(cluster, ns, "fa", name, "True")

    out = cluster.kubectl("get", "fm", "-n", ns).stdout.splitlines()
    assert out[0].split() == ["NAME", "MODEL", "VERSION", "SKU", "ACCOUNT", "READY", "REASON", "AGE"]
    rows = {ln.split()[0]: ln.split() for ln in out[1:]}
    assert rows["generation"][1:7] == ["gpt-5.4", "2026-03-05", "GlobalStandard", "primary", "True", "Published"]
    assert rows["reasoning-pro"][1:7] == ["gpt-5.4-pro", "2026-03-05", "GlobalStandard", "secondary",
                                          "True", "Published"]


# ---- 2. atomic multi-key switch ------------------------------------------------------------

def test_multi_key_switch_is_atomic(cluster, namespace, controller):
    ns = namespace
    controller()
    two_account_setup(cluster, ns)
    wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    wait_cond(cluster, ns, "fm", "generation", "True", "Published")

    rv = get(cluster, ns, "configmap", "llm-config")["metadata"]["resourceVersion"]
    w = Watch(cluster, "/api/v1/namespaces/%s/configmaps" % ns, "llm-config", rv)
    apply(cluster, ns, model("generation", "primary", ["GENERATION", "REPORTING"],
                             "gpt-5.5", "gpt-5.5-dep", version="2026-06-01"))

    def switched():
        assert w.error is None, w.error
        for _t, o in w.snapshot():
            if (o.get("data") or {}).get("FOUNDRY_DEPLOYMENT_GENERATION") == "gpt-5.5-dep":
                return True
        return None
    wait_for("the watch to see the new deployment", switched)

    seen = []
    for etype, o in w.snapshot():
        d = o.get("data") or {}
        pair = (d.get("FOUNDRY_DEPLOYMENT_GENERATION"), d.get("FOUNDRY_DEPLOYMENT_REPORTING"))
        seen.append((etype, o["metadata"]["resourceVersion"], pair))
    for etype, version, pair in seen:
        assert etype == "MODIFIED", seen
        assert pair in (("gpt-5.4", "gpt-5.4"), ("gpt-5.5-dep", "gpt-5.5-dep")), \
            "ConfigMap version %s has one key switched and not the other: %s" % (version, seen)
    wait_cond(cluster, ns, "fm", "generation", "True", "Published")
    assert ours(cm_data(cluster, ns)) == dict(TWO_ACCOUNT_KEYS,
                                              FOUNDRY_DEPLOYMENT_GENERATION="gpt-5.5-dep",
                                              FOUNDRY_DEPLOYMENT_REPORTING="gpt-5.5-dep")


# ---- 3. foreign keys untouched ------------------------------------------------------------------

def test_foreign_keys_are_left_alone(cluster, namespace, controller):
    ns = namespace
    cluster.kubectl("create", "configmap", "llm-config", "-n", ns,
                    "--from-literal=OTHER=1", "--from-literal=FOUNDRY_DEPLOYMENT_MANUAL=x")
    controller()
    two_account_setup(cluster, ns)
    data = wait_cm_ours(cluster, ns, dict(TWO_ACCOUNT_KEYS, FOUNDRY_DEPLOYMENT_MANUAL="x"))
    assert data["OTHER"] == "1"
    uid = get(cluster, ns, "configmap", "llm-config")["metadata"]["uid"]

    cluster.kubectl("delete", "fm", "-n", ns, "--all", "--timeout=%ds" % scaled(30))
    data = wait_cm_ours(cluster, ns, {"FOUNDRY_ENDPOINT": EP_A, "FOUNDRY_DEPLOYMENT_MANUAL": "x"})
    assert data["OTHER"] == "1"

    # the primary endpoint goes with its account; the ConfigMap stays
    cluster.kubectl("delete", "fa", "-n", ns, "--all", "--timeout=%ds" % scaled(30))
    data = wait_cm_ours(cluster, ns, {"FOUNDRY_DEPLOYMENT_MANUAL": "x"})
    assert data == {"OTHER": "1", "FOUNDRY_DEPLOYMENT_MANUAL": "x"}
    assert get(cluster, ns, "configmap", "llm-config")["metadata"]["uid"] == uid


# ---- 4. ConfigMap created, and re-created -------------------------------------------------------

def test_configmap_created_and_recreated(cluster, namespace, controller):
    ns = namespace
    assert get(cluster, ns, "configmap", "llm-config") is None
    controller()
    two_account_setup(cluster, ns)
    data = wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    uid = get(cluster, ns, "configmap", "llm-config")["metadata"]["uid"]

    cluster.kubectl("delete", "configmap", "llm-config", "-n", ns)

    def recreated():
        cm = get(cluster, ns, "configmap", "llm-config")
        return cm if cm and cm["metadata"]["uid"] != uid else None
    cm = wait_for("llm-config to be re-created", recreated)
    assert cm.get("data") == data


# ---- 5. config-hash annotation, no Argo CD tracking metadata ---------------------------------------

def test_config_hash_and_no_argocd_tracking(cluster, namespace, controller):
    ns = namespace
    controller()
    argo_meta = {"labels": {"app.kubernetes.io/instance": "llm-models"},
                 "annotations": {"argocd.argoproj.io/tracking-id":
                                 "llm-models:foundry.aucert.io/FoundryModel:%s/generation" % ns}}
    gen = model("generation", "primary", ["GENERATION", "REPORTING"], "gpt-5.4", "gpt-5.4")
    gen["metadata"].update(argo_meta)
    apply(cluster, ns, account("primary", EP_A, primary=True), gen)
    wait_cm_ours(cluster, ns, {"FOUNDRY_ENDPOINT": EP_A, "FOUNDRY_DEPLOYMENT_GENERATION": "gpt-5.4",
                               "FOUNDRY_DEPLOYMENT_REPORTING": "gpt-5.4"})
    cm = get(cluster, ns, "configmap", "llm-config")
    h1 = (cm["metadata"].get("annotations") or {}).get(HASH_ANNOTATION)
    assert h1, cm["metadata"]

    def no_argo(cm):
        assert "app.kubernetes.io/instance" not in (cm["metadata"].get("labels") or {}), cm["metadata"]
        assert "argocd.argoproj.io/tracking-id" not in (cm["metadata"].get("annotations") or {}), \
            cm["metadata"]
    no_argo(cm)

    gen["spec"]["deployment"] = "gpt-5.4-b"
    apply(cluster, ns, gen)
    wait_cm(cluster, ns, "GENERATION switched",
            lambda d: d.get("FOUNDRY_DEPLOYMENT_GENERATION") == "gpt-5.4-b")
    cm = get(cluster, ns, "configmap", "llm-config")
    h2 = cm["metadata"]["annotations"].get(HASH_ANNOTATION)
    assert h2 and h2 != h1
    no_argo(cm)

    # back to the first data: back to the first hash (it hashes the data)
    gen["spec"]["deployment"] = "gpt-5.4"
    apply(cluster, ns, gen)
    wait_cm(cluster, ns, "GENERATION back", lambda d: d.get("FOUNDRY_DEPLOYMENT_GENERATION") == "gpt-5.4")
    cm = get(cluster, ns, "configmap", "llm-config")
    assert cm["metadata"]["annotations"].get(HASH_ANNOTATION) == h1
    no_argo(cm)


# ---- 6. no write on a no-op ------------------------------------------------------------------------

def test_restart_and_resync_write_nothing(cluster, namespace, controller):
    ns = namespace
    c1 = controller()
    two_account_setup(cluster, ns)
    wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    for name in ("generation", "reasoning-pro"):
        wait_cond(cluster, ns, "fm", name, "True", "Published")
    for name in ("primary", "secondary"):
        wait_cond(cluster, ns, "fa", name, "True")
    assert c1.stop() == 0, c1.stderr()      # finishes whatever is in flight

    before, ev_before = resource_versions(cluster, ns), events(cluster, ns)
    assert ev_before, "no events were recorded at all"

    c2 = controller()
    rec = c2.wait_log("a reconcile of llm-config after the restart",
                      lambda r: r.get("msg") == "reconciled" and r.get("configmap") == ns + "/llm-config")
    assert rec.get("changed") == "none", rec
    assert resource_versions(cluster, ns) == before
    assert events(cluster, ns) == ev_before
    assert c2.stop() == 0, c2.stderr()

    c3 = controller("--resync-period=2s")
    wait_for("three periodic resyncs",
             lambda: sum(1 for r in c3.records() if r.get("msg") == "periodic resync") >= 3)

    def reconciled_after_last_resync():
        recs = c3.records()
        last = max(i for i, r in enumerate(recs) if r.get("msg") == "periodic resync")
        return any(r.get("msg") == "reconciled" and r.get("configmap") == ns + "/llm-config"
                   for r in recs[last + 1:])
    wait_for("a reconcile after the third resync", reconciled_after_last_resync)
    assert [r for r in c3.reconciles() if r.get("changed") != "none"] == []
    assert resource_versions(cluster, ns) == before
    assert events(cluster, ns) == ev_before


# ---- 7. key conflicts ----------------------------------------------------------------------------------

def test_key_conflict_older_model_wins(cluster, namespace, controller):
    ns = namespace
    controller()
    # the winner's name sorts last: creationTimestamp decides, not the name
    apply(cluster, ns, account("primary", EP_A, primary=True),
          model("z-older", "primary", ["SHARED"], "gpt-5.4", "older-dep"))
    wait_cm(cluster, ns, "the older model's key", lambda d: d.get("FOUNDRY_DEPLOYMENT_SHARED") == "older-dep")
    sleep_past_second()
    apply(cluster, ns, model("a-newer", "primary", ["SHARED", "NEWER_ONLY"], "gpt-5.4", "newer-dep"))
    older, newer = get(cluster, ns, "fm", "z-older"), get(cluster, ns, "fm", "a-newer")
    assert older["metadata"]["creationTimestamp"] < newer["metadata"]["creationTimestamp"]

    loser = wait_cond(cluster, ns, "fm", "a-newer", "False", "KeyConflict")
    assert "z-older" in cond(loser)["message"], cond(loser)
    # its own status may come from another reconcile (or later in the same one): wait for it
    wait_cond(cluster, ns, "fm", "z-older", "True", "Published")
    data = cm_data(cluster, ns)
    assert data["FOUNDRY_DEPLOYMENT_SHARED"] == "older-dep"

    cluster.kubectl("delete", "fm", "z-older", "-n", ns, "--timeout=%ds" % scaled(30))
    wait_cm(cluster, ns, "the newer model takes the key over",
            lambda d: d.get("FOUNDRY_DEPLOYMENT_SHARED") == "newer-dep")
    wait_cond(cluster, ns, "fm", "a-newer", "True", "Published")


# ---- 8. primary conflicts ----------------------------------------------------------------------------------

def test_primary_conflict_older_account_wins(cluster, namespace, controller):
    ns = namespace
    controller()
    apply(cluster, ns, account("z-older", EP_A, primary=True))
    sleep_past_second()
    apply(cluster, ns, account("a-newer", EP_B, primary=True))
    older, newer = get(cluster, ns, "fa", "z-older"), get(cluster, ns, "fa", "a-newer")
    assert older["metadata"]["creationTimestamp"] < newer["metadata"]["creationTimestamp"]

    loser = wait_cond(cluster, ns, "fa", "a-newer", "False", "PrimaryConflict")
    assert "z-older" in cond(loser)["message"], cond(loser)
    wait_cond(cluster, ns, "fa", "z-older", "True")
    wait_cm(cluster, ns, "FOUNDRY_ENDPOINT of the older primary",
            lambda d: d.get("FOUNDRY_ENDPOINT") == EP_A)


# ---- 9. finalizer ------------------------------------------------------------------------------------------

def test_finalizer_and_deletion(cluster, namespace, controller):
    ns = namespace
    controller()
    two_account_setup(cluster, ns)
    wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    for name in ("generation", "reasoning-pro"):
        obj = wait_cond(cluster, ns, "fm", name, "True", "Published")
        assert FINALIZER in obj["metadata"].get("finalizers", []), obj["metadata"]

    cluster.kubectl("delete", "fm", "reasoning-pro", "-n", ns, "--timeout=%ds" % scaled(30))
    assert get(cluster, ns, "fm", "reasoning-pro") is None
    expected = {k: v for k, v in TWO_ACCOUNT_KEYS.items() if "REASONING_PRO" not in k}
    assert ours(cm_data(cluster, ns)) == expected   # gone before the finalizer was dropped
    assert get(cluster, ns, "fm", "generation")["metadata"]["finalizers"] == [FINALIZER]


def test_deletion_keeps_other_finalizers(cluster, namespace, controller):
    ns = namespace
    controller()
    gen = model("generation", "primary", ["GENERATION"], "gpt-5.4", "gpt-5.4")
    gen["metadata"]["finalizers"] = ["example.com/keep"]
    apply(cluster, ns, account("primary", EP_A, primary=True), gen)
    wait_for("our finalizer added next to the other one", lambda: sorted(
        get(cluster, ns, "fm", "generation")["metadata"].get("finalizers", [])) == sorted(
        ["example.com/keep", FINALIZER]))
    cluster.kubectl("delete", "fm", "generation", "-n", ns, "--wait=false")
    wait_cm_ours(cluster, ns, {"FOUNDRY_ENDPOINT": EP_A})
    wait_for("our finalizer dropped, the other kept", lambda: get(
        cluster, ns, "fm", "generation")["metadata"].get("finalizers") == ["example.com/keep"])
    cluster.kubectl("patch", "fm", "generation", "-n", ns, "--type=merge",
                    "-p", '{"metadata":{"finalizers":null}}')


# ---- 10. missing account -------------------------------------------------------------------------------------

def test_missing_account_then_created(cluster, namespace, controller):
    ns = namespace
    controller()
    apply(cluster, ns, model("generation", "later", ["GENERATION"], "gpt-5.4", "gpt-5.4"))
    obj = wait_cond(cluster, ns, "fm", "generation", "False", "AccountNotFound")
    assert "later" in cond(obj)["message"]
    assert not ours(cm_data(cluster, ns)), cm_data(cluster, ns)

    apply(cluster, ns, account("later", EP_B, primary=False))
    wait_cm_ours(cluster, ns, {"FOUNDRY_DEPLOYMENT_GENERATION": "gpt-5.4",
                               "FOUNDRY_ENDPOINT_GENERATION": EP_B})
    wait_cond(cluster, ns, "fm", "generation", "True", "Published")


# ---- 11. what the schema cannot catch: no endpoint with validation off ---------------------------------------

def test_account_without_endpoint_is_not_ready(cluster, namespace, controller):
    ns = namespace
    controller()
    apply(cluster, ns, account("primary", endpoint=None, primary=True),
          model("generation", "primary", ["GENERATION"], "gpt-5.4", "gpt-5.4"))
    acc = wait_cond(cluster, ns, "fa", "primary", "False", "AccountNotReady")
    assert "endpoint" in cond(acc)["message"], cond(acc)
    wait_cond(cluster, ns, "fm", "generation", "False", "AccountNotReady")
    assert not ours(cm_data(cluster, ns)), cm_data(cluster, ns)

    # fixing the account publishes (watch-driven)
    apply(cluster, ns, account("primary", EP_A, primary=True))
    wait_cm_ours(cluster, ns, {"FOUNDRY_ENDPOINT": EP_A, "FOUNDRY_DEPLOYMENT_GENERATION": "gpt-5.4"})
    wait_cond(cluster, ns, "fm", "generation", "True", "Published")


def test_default_deployment_that_is_not_a_deployment_name_is_invalid(cluster, namespace, controller):
    """model.name is free text in the schema; as the default deployment name it
    must match the deployment pattern, which only the controller can check."""
    ns = namespace
    controller()
    apply(cluster, ns, account("primary", EP_A, primary=True),
          model("weird", "primary", ["WEIRD"], "gpt 5.4/x!"),
          model("fine", "primary", ["FINE"], "gpt 5.4/x!", deployment="gpt-54"))
    obj = wait_cond(cluster, ns, "fm", "weird", "False", "InvalidSpec")
    assert "spec.deployment" in cond(obj)["message"], cond(obj)
    wait_cond(cluster, ns, "fm", "fine", "True", "Published")
    data = wait_cm(cluster, ns, "FINE published", lambda d: d.get("FOUNDRY_DEPLOYMENT_FINE") == "gpt-54")
    assert "FOUNDRY_DEPLOYMENT_WEIRD" not in data


def test_every_published_deployment_keeps_an_endpoint(cluster, namespace, controller):
    ns = namespace
    c = controller()
    apply(cluster, ns, account("primary", EP_A, primary=True),
          model("generation", "primary", ["GENERATION"], "gpt-5.4"))
    wait_cm_ours(cluster, ns, {"FOUNDRY_ENDPOINT": EP_A, "FOUNDRY_DEPLOYMENT_GENERATION": "gpt-5.4"})
    cluster.kubectl("patch", "fa", "primary", "-n", ns, "--type=merge", "-p", '{"spec":{"endpoint":null}}')
    wait_cond(cluster, ns, "fm", "generation", "False", "AccountNotReady")
    c.wait_log("a reconcile after the change", lambda r: r.get("msg") == "reconciled"
               and r.get("ready") == "0/1")
    d = cm_data(cluster, ns)
    for k in d:
        if k.startswith("FOUNDRY_DEPLOYMENT_"):
            key = k[len("FOUNDRY_DEPLOYMENT_"):]
            assert d.get("FOUNDRY_ENDPOINT_" + key) or d.get("FOUNDRY_ENDPOINT"), \
                "%s has no endpoint in %s" % (key, d)


# ---- 12. spec.configMap moved -----------------------------------------------------------------------------------

def test_configmap_moved(cluster, namespace, controller):
    ns = namespace
    controller()
    two_account_setup(cluster, ns)
    wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)

    apply(cluster, ns, model("reasoning-pro", "secondary", ["REASONING_PRO"], "gpt-5.4-pro",
                             "gpt-5.4-pro", configmap="other-config"))
    wait_cm(cluster, ns, "REASONING_PRO in other-config",
            lambda d: d.get("FOUNDRY_DEPLOYMENT_REASONING_PRO") == "gpt-5.4-pro"
            and d.get("FOUNDRY_ENDPOINT_REASONING_PRO") == EP_B, name="other-config")
    wait_cm_ours(cluster, ns, {k: v for k, v in TWO_ACCOUNT_KEYS.items() if "REASONING_PRO" not in k})
    wait_cond(cluster, ns, "fm", "reasoning-pro", "True", "Published")


def test_keys_removed_from_spec_leave_the_configmap(cluster, namespace, controller):
    ns = namespace
    controller()
    two_account_setup(cluster, ns)
    wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    apply(cluster, ns, model("generation", "primary", ["GENERATION"], "gpt-5.4", "gpt-5.4"))
    wait_cm_ours(cluster, ns, {k: v for k, v in TWO_ACCOUNT_KEYS.items() if "REPORTING" not in k})
    obj = wait_for("publishedKeys == [GENERATION]", lambda: (lambda o: o if o["status"].get(
        "publishedKeys") == ["GENERATION"] else None)(get(cluster, ns, "fm", "generation")))
    assert cond(obj)["reason"] == "Published"


def test_same_key_in_two_configmaps_is_no_conflict(cluster, namespace, controller):
    ns = namespace
    controller()
    apply(cluster, ns, account("primary", EP_A, primary=True),
          model("one", "primary", ["SHARED"], "gpt-5.4", "dep-one"),
          model("two", "primary", ["SHARED"], "gpt-5.4", "dep-two", configmap="second-config"))
    wait_cond(cluster, ns, "fm", "one", "True", "Published")
    wait_cond(cluster, ns, "fm", "two", "True", "Published")
    wait_cm(cluster, ns, "one's value", lambda d: d.get("FOUNDRY_DEPLOYMENT_SHARED") == "dep-one")
    wait_cm(cluster, ns, "two's value", lambda d: d.get("FOUNDRY_DEPLOYMENT_SHARED") == "dep-two",
            name="second-config")


# ---- 13. events ---------------------------------------------------------------------------------------------------

def test_events_are_recorded_once(cluster, namespace, controller):
    ns = namespace
    c = controller("--resync-period=2s")
    apply(cluster, ns, account("primary", EP_A, primary=True),
          model("z-older", "primary", ["SHARED"], "gpt-5.4", "older-dep"))
    wait_cond(cluster, ns, "fm", "z-older", "True", "Published")
    sleep_past_second()
    apply(cluster, ns, model("a-newer", "primary", ["SHARED"], "gpt-5.4", "newer-dep"))
    wait_cond(cluster, ns, "fm", "a-newer", "False", "KeyConflict")

    def has_both():
        evs = events(cluster, ns).values()
        pub = [e for e in evs if e[:3] == ("Published", "Normal", "z-older")]
        conflict = [e for e in evs if e[:3] == ("KeyConflict", "Warning", "a-newer")]
        return (pub, conflict) if pub and conflict else None
    wait_for("a Published event and a KeyConflict warning", has_both)

    before = events(cluster, ns)
    ev = cluster.get_json("events", "-n", ns)["items"]
    assert all(e["involvedObject"].get("uid") for e in ev), ev
    # three more resyncs (2 s each), each followed by a reconcile, with nothing new
    n0 = len(c.records())

    def three_resyncs_and_a_reconcile():
        recs = c.records()[n0:]
        idx = [i for i, r in enumerate(recs) if r.get("msg") == "periodic resync"]
        return len(idx) >= 3 and any(r.get("msg") == "reconciled" for r in recs[idx[2] + 1:])
    wait_for("three resyncs and a reconcile after them", three_resyncs_and_a_reconcile)
    assert events(cluster, ns) == before


# ---- 14. logs ------------------------------------------------------------------------------------------------------

def test_json_logs(cluster, namespace, controller):
    ns = namespace
    c = controller()
    two_account_setup(cluster, ns)
    wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    c.wait_log("a reconcile line for llm-config",
               lambda r: r.get("msg") == "reconciled" and r.get("configmap") == ns + "/llm-config")
    assert c.stop() == 0, c.stderr()
    lines = c.lines()
    assert lines
    for ln in lines:
        rec = json.loads(ln)
        assert isinstance(rec, dict), ln
        assert rec.get("msg") and rec.get("level") in ("debug", "info", "warn", "error") and rec.get("ts"), ln
    recs = c.reconciles("llm-config")
    assert recs
    for r in recs:
        assert r["configmap"] == ns + "/llm-config" and r.get("duration"), r
    assert any("FOUNDRY_DEPLOYMENT_GENERATION" in (r.get("changed") or "") for r in recs), recs


# ---- 15. bad input never crashes ---------------------------------------------------------------------------------------

GARBAGE_STATUS = {"status": {
    "observedGeneration": 999, "endpoint": "garbage", "deployment": "nope",
    "publishedKeys": ["HIJACK", "GENERATION"], "availableRegions": ["mars"],
    "retirementDate": "2000-01-01T00:00:00Z",
    "conditions": [
        {"type": "Ready", "status": "False", "reason": "Garbage", "message": "\u2603" * 100,
         "lastTransitionTime": "2000-01-01T00:00:00Z", "observedGeneration": 999},
        {"type": "Published", "status": "Unknown", "reason": "X", "message": "",
         "lastTransitionTime": "2000-01-01T00:00:00Z"},
        {"type": "Bogus", "status": "True", "reason": "Y", "message": "y",
         "lastTransitionTime": "2000-01-01T00:00:00Z"}]}}


def patch_status(cluster, ns, plural, name, patch):
    status, body = api(cluster, "PATCH",
                       "/apis/foundry.aucert.io/v1alpha1/namespaces/%s/%s/%s/status" % (ns, plural, name),
                       patch, content_type="application/merge-patch+json")
    assert status == 200, body
    return body


def wait_status_rewritten(cluster, ns, c, good):
    seen = {}

    def rewritten():
        c.assert_running()
        st = seen["status"] = get(cluster, ns, "fm", "generation")["status"]
        ok = (st.get("endpoint") == good["endpoint"] and
              sorted(st.get("publishedKeys") or []) == sorted(good["publishedKeys"]) and
              st.get("observedGeneration") == good["observedGeneration"] and
              cond({"status": st})["reason"] == "Published")
        return st if ok else None
    try:
        return wait_for("the controller to rewrite the hand-edited status of fm/generation", rewritten)
    except AssertionError as e:
        raise AssertionError("%s; status seen last: %s" % (e, seen.get("status"))) from None


def test_odd_configmap_and_garbage_status(cluster, namespace, controller):
    ns = namespace
    # the resync makes the controller look again at an object whose status alone changed
    c = controller("--resync-period=2s")
    odd = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "odd", "labels": {"app.kubernetes.io/managed-by": "foundry-controller"},
                        "annotations": {HASH_ANNOTATION: "not-a-hash"}},
           "data": {"-._weird": "\u00e9\t\"{", "FOUNDRY_DEPLOYMENT_FAKE": "", "big": "y" * 200000},
           "binaryData": {"blob": "AAECAw=="}}
    apply(cluster, ns, odd)
    two_account_setup(cluster, ns)
    wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    good = wait_cond(cluster, ns, "fm", "generation", "True", "Published")["status"]

    body = patch_status(cluster, ns, "foundrymodels", "generation", GARBAGE_STATUS)
    assert body["status"]["endpoint"] == "garbage"
    wait_status_rewritten(cluster, ns, c, good)

    # a garbage publishedKeys did not publish anything
    assert ours(cm_data(cluster, ns)) == TWO_ACCOUNT_KEYS
    # the odd ConfigMap's own data is untouched
    odd_now = get(cluster, ns, "configmap", "odd")
    for k, v in odd["data"].items():
        assert odd_now["data"].get(k) == v, k
    assert odd_now["binaryData"] == odd["binaryData"]
    c.assert_running()


def test_hand_edited_status_is_rewritten_without_resync(cluster, namespace, controller):
    ns = namespace
    c = controller()
    two_account_setup(cluster, ns)
    good = wait_cond(cluster, ns, "fm", "generation", "True", "Published")["status"]
    patch_status(cluster, ns, "foundrymodels", "generation", GARBAGE_STATUS)
    wait_status_rewritten(cluster, ns, c, good)


# ---- more edges -------------------------------------------------------------------------------------------------------

def test_foreign_key_with_our_name_is_not_overwritten(cluster, namespace, controller):
    """A key another field manager wrote is never changed (DESIGN §3). The model
    that would change it publishes none of its keys (a multi-key model never
    half-switches) and says which manager holds the key."""
    ns = namespace
    cluster.kubectl("create", "configmap", "llm-config", "-n", ns,
                    "--from-literal=FOUNDRY_DEPLOYMENT_GENERATION=hand-made")
    c = controller()
    apply(cluster, ns, account("primary", EP_A, primary=True),
          model("generation", "primary", ["GENERATION", "REPORTING"], "gpt-5.4", "gpt-5.4"))
    loser = wait_cond(cluster, ns, "fm", "generation", "False", "KeyConflict")
    assert "kubectl-create" in cond(loser)["message"], cond(loser)
    wait_cm(cluster, ns, "FOUNDRY_ENDPOINT published", lambda d: d.get("FOUNDRY_ENDPOINT") == EP_A)
    c.wait_log("a reconcile of llm-config",
               lambda r: r.get("msg") == "reconciled" and r.get("configmap") == ns + "/llm-config")
    data = cm_data(cluster, ns)
    assert data["FOUNDRY_DEPLOYMENT_GENERATION"] == "hand-made"
    assert "FOUNDRY_DEPLOYMENT_REPORTING" not in data
    # the owner removes its key: the model publishes both keys in one write
    cluster.kubectl("patch", "configmap", "llm-config", "-n", ns, "--type=json",
                    "-p", '[{"op":"remove","path":"/data/FOUNDRY_DEPLOYMENT_GENERATION"}]')
    wait_cm(cluster, ns, "both keys published",
            lambda d: d.get("FOUNDRY_DEPLOYMENT_GENERATION") == "gpt-5.4"
            and d.get("FOUNDRY_DEPLOYMENT_REPORTING") == "gpt-5.4")
    wait_cond(cluster, ns, "fm", "generation", "True", "Published")


def test_primary_switch_is_one_write(cluster, namespace, controller):
    """Making the other account primary moves FOUNDRY_ENDPOINT and every
    FOUNDRY_ENDPOINT_<KEY> in one ConfigMap write."""
    ns = namespace
    controller()
    two_account_setup(cluster, ns)
    wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    rv = get(cluster, ns, "configmap", "llm-config")["metadata"]["resourceVersion"]
    w = Watch(cluster, "/api/v1/namespaces/%s/configmaps" % ns, "llm-config", rv)
    # secondary first: two primaries for a moment would be a PrimaryConflict
    apply(cluster, ns, account("primary", EP_A, primary=False, region="westus"))
    wait_cm_ours(cluster, ns, {
        "FOUNDRY_DEPLOYMENT_GENERATION": "gpt-5.4", "FOUNDRY_DEPLOYMENT_REPORTING": "gpt-5.4",
        "FOUNDRY_DEPLOYMENT_REASONING_PRO": "gpt-5.4-pro",
        "FOUNDRY_ENDPOINT_GENERATION": EP_A, "FOUNDRY_ENDPOINT_REPORTING": EP_A,
        "FOUNDRY_ENDPOINT_REASONING_PRO": EP_B})
    apply(cluster, ns, account("secondary", EP_B, primary=True, region="eastus2"))
    final = {
        "FOUNDRY_ENDPOINT": EP_B,
        "FOUNDRY_DEPLOYMENT_GENERATION": "gpt-5.4", "FOUNDRY_DEPLOYMENT_REPORTING": "gpt-5.4",
        "FOUNDRY_DEPLOYMENT_REASONING_PRO": "gpt-5.4-pro",
        "FOUNDRY_ENDPOINT_GENERATION": EP_A, "FOUNDRY_ENDPOINT_REPORTING": EP_A}
    wait_cm_ours(cluster, ns, final)
    wait_for("the watch to see the final version",
             lambda: any(ours(o.get("data")) == final for _t, o in w.snapshot()))
    # every version resolves every key of a model the same way (GENERATION and
    # REPORTING move together)
    for _t, o in w.snapshot():
        d = o.get("data") or {}
        assert d.get("FOUNDRY_ENDPOINT_GENERATION") == d.get("FOUNDRY_ENDPOINT_REPORTING"), d
        for key in ("GENERATION", "REPORTING", "REASONING_PRO"):
            assert d.get("FOUNDRY_ENDPOINT_" + key) or d.get("FOUNDRY_ENDPOINT"), (key, d)


def test_primary_conflict_resolves_when_winner_goes(cluster, namespace, controller):
    ns = namespace
    controller()
    apply(cluster, ns, account("z-older", EP_A, primary=True))
    sleep_past_second()
    apply(cluster, ns, account("a-newer", EP_B, primary=True))
    wait_cond(cluster, ns, "fa", "a-newer", "False", "PrimaryConflict")
    cluster.kubectl("delete", "fa", "z-older", "-n", ns, "--timeout=%ds" % scaled(30))
    wait_cm(cluster, ns, "FOUNDRY_ENDPOINT of the remaining primary",
            lambda d: d.get("FOUNDRY_ENDPOINT") == EP_B)
    wait_cond(cluster, ns, "fa", "a-newer", "True")


def test_deletion_while_controller_is_down(cluster, namespace, controller):
    ns = namespace
    c1 = controller()
    two_account_setup(cluster, ns)
    wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    wait_for("finalizer on fm/reasoning-pro", lambda: FINALIZER in (
        get(cluster, ns, "fm", "reasoning-pro")["metadata"].get("finalizers") or []))
    assert c1.stop() == 0, c1.stderr()

    cluster.kubectl("delete", "fm", "reasoning-pro", "-n", ns, "--wait=false")
    obj = get(cluster, ns, "fm", "reasoning-pro")
    assert obj["metadata"].get("deletionTimestamp")       # held by the finalizer
    assert ours(cm_data(cluster, ns)) == TWO_ACCOUNT_KEYS

    controller()
    wait_for("fm/reasoning-pro to disappear", lambda: get(cluster, ns, "fm", "reasoning-pro") is None)
    assert ours(cm_data(cluster, ns)) == {k: v for k, v in TWO_ACCOUNT_KEYS.items()
                                          if "REASONING_PRO" not in k}


def test_unpublished_model_is_deleted_cleanly(cluster, namespace, controller):
    ns = namespace
    controller()
    apply(cluster, ns, model("orphan", "nowhere", ["ORPHAN"], "gpt-5.4"))
    wait_cond(cluster, ns, "fm", "orphan", "False", "AccountNotFound")
    cluster.kubectl("delete", "fm", "orphan", "-n", ns, "--timeout=%ds" % scaled(30))
    assert get(cluster, ns, "fm", "orphan") is None


def test_deployment_name_convention_is_noted(cluster, namespace, controller):
    ns = namespace
    controller()
    apply(cluster, ns, account("primary", EP_A, primary=True),
          model("same", "primary", ["SAME"], "gpt-5.4"),
          model("other", "primary", ["OTHER"], "gpt-5.4", "my-gpt"))
    same = wait_cond(cluster, ns, "fm", "same", "True", "Published")
    other = wait_cond(cluster, ns, "fm", "other", "True", "Published")
    assert "deployment name == model name" not in cond(same)["message"], cond(same)
    assert "deployment name == model name" in cond(other)["message"], cond(other)
    assert cm_data(cluster, ns)["FOUNDRY_DEPLOYMENT_SAME"] == "gpt-5.4"   # default: model.name


def test_other_namespaces_are_left_alone(cluster, namespace, controller):
    ns = namespace
    other = ns[:50] + "-x"
    cluster.kubectl("create", "namespace", other)
    try:
        apply(cluster, other, account("primary", EP_A, primary=True),
              model("generation", "primary", ["GENERATION"], "gpt-5.4"))
        c = controller()
        apply(cluster, ns, account("primary", EP_A, primary=True),
              model("generation", "primary", ["GENERATION"], "gpt-5.4"))
        wait_cm(cluster, ns, "own namespace published", lambda d: d.get("FOUNDRY_DEPLOYMENT_GENERATION"))
        c.wait_log("a reconcile", lambda r: r.get("msg") == "reconciled")
        assert get(cluster, other, "configmap", "llm-config") is None
        fm = get(cluster, other, "fm", "generation")
        assert not fm["metadata"].get("finalizers") and not fm.get("status"), fm
    finally:
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)


def test_sigint_exits_zero(cluster, namespace, controller):
    ns = namespace
    c = controller()
    two_account_setup(cluster, ns)
    wait_cm_ours(cluster, ns, TWO_ACCOUNT_KEYS)
    assert c.stop(signal.SIGINT) == 0, c.stderr()
