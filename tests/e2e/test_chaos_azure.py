"""Azure under failure (issue 6): the real controller under the Helm chart's
least-privilege ServiceAccount (rbac_run.chart_controller: helm install in
single-namespace mode, a TokenRequest token of the chart's ServiceAccount, the
Deployment's own args) with Azure validation on against the emulator
(tests/azure_emulator: its ARM endpoint, CA and credentials).

test_azure_chaos_nothing_unvalidated_published
    For CHAOS_SECONDS (120) 30% of all Azure requests (ARM, Entra token) fail at
    random: 429 with Retry-After, 500, TCP resets, 5 s stalls (answered late, or
    never and dropped), while FoundryModels are switched at random between
    models/versions/SKUs/deployments that Azure offers and ones it does not
    (not in region, unknown version, SKU not offered, retired, deployment
    missing / still Creating / of another model), and the access tokens are
    expired now and then. Every version of llm-config the API server sends (a
    watch, resumed from the last resourceVersion) is checked: every
    FOUNDRY_DEPLOYMENT_* value is one Azure validates and that its model was
    set to; a model's two keys never differ; a key once published never
    disappears; a never-valid model never appears; foreign keys untouched.
    The final specs are set FINAL_AT seconds before the faults stop, and from
    then on their deployments cannot be read (500), so when the faults stop
    the final state is still ahead (asserted). It must then be reached (valid
    finals published and Ready, the invalid one Ready=False with its
    definitive reason, the never-valid one likewise) within one backoff cap of
    the controller: RETRY_MAX_MS (the cap of the per-key backoff of failed
    reconciles, read from controller/controller.c) plus
    AZURE_CLIENT_FAILURE_HOLD_MS (a failed catalog load is remembered that
    long) plus SLACK. The emulator's fault RNG is seeded (printed in the
    figure) so a failure can be replayed.
    Figures: requests, faults by kind, publishes seen, convergence time.

test_federated_token_file_rotation_no_error
    Workload identity (AZURE_FEDERATED_TOKEN_FILE, a projected-volume style
    file: a ..data symlink swapped atomically like the kubelet does). The
    file is rotated every few seconds; after each rotation the emulator
    accepts only the new assertion and expires every access token, so the
    controller must read the file again. Models keep switching and converging;
    no error-level log line, no condition of any model version (a watch) that
    is False or has an Azure* reason, every assertion the controller presented
    was the current one (accepted) and every rotated one was presented.

    make && FC_BIN=$PWD/bin/foundry-controller /usr/bin/python3 -m pytest -q tests/e2e/test_chaos_azure.py
"""

import json
import os
import random
import re
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(E2E_DIR))
sys.path.insert(0, E2E_DIR)
sys.path.insert(0, os.path.join(REPO, "tests", "azure_emulator"))

import rbac_run  # noqa: E402
from client import FEDERATED_CLIENT_ID, Emulator  # noqa: E402
from conftest import figure, register_emulator, register_secret  # noqa: E402
from controller_proc import api, wait_for  # noqa: E402
from test_helm import helm, helm_env, make_namespace  # noqa: E402,F401 (fixtures)

GV = "foundry.aucert.io/v1alpha1"
SUB = "00000000-0000-0000-0000-000000000000"
RG = "aucert-foundation-rg"
CM = "llm-config"
ACCOUNT = "aucert-ai"                              # westus, AIServices in the emulator's world
WEST_EP = "https://aucert-ai.openai.azure.com/"    # derived by the emulator from ARM
FOREIGN = {"OTHER_SETTING": "keep-me", "FOUNDRY_DEPLOYMENT_MANUAL": "hand-written"}

CHAOS_SECONDS = 120
FAULT_PROBABILITY = 0.3
RETRY_AFTER = 2          # seconds, on the injected 429s
STALL = 5                # seconds, the injected stalls
SWITCH_EVERY = 2.0       # seconds between two spec changes during the chaos
FINAL_AT = 10            # seconds before the faults stop, the final specs are set, and from
                         # then on the GETs of their deployments fail too: at the end of the
                         # faults the final state is still to be reached
EXPIRE_EVERY = 30        # seconds between two expire_tokens() during the chaos
SLACK = 30               # seconds added to the backoff cap in the convergence bound


def c_define(source, name, default=None):
    """The integer value of `#define NAME value` in controller/SOURCE."""
    with open(os.path.join(REPO, "controller", source)) as f:
        m = re.search(r"^#define\s+%s\s+\(?(\d+)L?\b" % re.escape(name), f.read(), re.M)
    if not m and default is not None:
        return default
    assert m, "no #define %s in controller/%s" % (name, source)
    return int(m.group(1))


# The controller's backoff: a failed reconcile (an Azure call failed without a
# Retry-After) is re-queued with per-key exponential backoff capped at
# RETRY_MAX_MS (controller.c; the workqueue's own WORKQUEUE_MAX_DELAY_MS when
# the controller sets none); a failed lookup is remembered for
# AZURE_CLIENT_FAILURE_HOLD_MS (or the Retry-After).
BACKOFF_CAP_S = c_define("controller.c", "RETRY_MAX_MS",
                         c_define("workqueue.h", "WORKQUEUE_MAX_DELAY_MS")) / 1000.0
FAILURE_HOLD_S = c_define("azure_client.h", "AZURE_CLIENT_FAILURE_HOLD_MS") / 1000.0


# ---- variants: what a FoundryModel is switched between --------------------------------------
# Every variant has a deployment name of its own, so a published value names
# the variant it came from.

def _dep(fmt, name, version, sku, state="Succeeded"):
    return {"model": {"format": fmt, "name": name, "version": version},
            "sku": {"name": sku, "capacity": 10}, "provisioningState": state}


# name: (model format, model name, version, SKU, deployment in Azure or None)
VALID = {
    "ok-gpt54": ("OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard",
                 _dep("OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard")),
    "ok-gpt54-dz": ("OpenAI", "gpt-5.4", "2026-03-05", "DataZoneStandard",
                    _dep("OpenAI", "gpt-5.4", "2026-03-05", "DataZoneStandard")),
    "ok-mini": ("OpenAI", "gpt-5.4-mini", "2026-03-05", "Standard",
                _dep("OpenAI", "gpt-5.4-mini", "2026-03-05", "Standard")),
    "ok-kimi": ("MoonshotAI", "Kimi-K2.6", "1", "GlobalStandard",
                _dep("MoonshotAI", "Kimi-K2.6", "1", "GlobalStandard")),
    "ok-embed": ("OpenAI", "text-embedding-3-large", "1", "Standard",
                 _dep("OpenAI", "text-embedding-3-large", "1", "Standard")),
}
INVALID = {
    # not offered in westus (only eastus2, southcentralus)
    "bad-pro": ("OpenAI", "gpt-5.4-pro", "2026-03-05", "GlobalStandard",
                _dep("OpenAI", "gpt-5.4-pro", "2026-03-05", "GlobalStandard")),
    # a version no catalog lists
    "bad-version": ("OpenAI", "gpt-5.4", "2099-01-01", "GlobalStandard",
                    _dep("OpenAI", "gpt-5.4", "2099-01-01", "GlobalStandard")),
    # gpt-5.4 in westus: GlobalStandard, DataZoneStandard, GlobalProvisionedManaged only
    "bad-sku": ("OpenAI", "gpt-5.4", "2026-03-05", "Standard",
                _dep("OpenAI", "gpt-5.4", "2026-03-05", "Standard")),
    # retired (inference retirement in the past)
    "bad-retired": ("OpenAI", "gpt-35-turbo", "0125", "Standard",
                    _dep("OpenAI", "gpt-35-turbo", "0125", "Standard")),
    # offered, but the deployment does not exist / is not Succeeded / is another model
    "bad-missing": ("OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard", None),
    "bad-creating": ("OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard",
                     _dep("OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard", "Creating")),
    "bad-mismatch": ("OpenAI", "gpt-5.4", "2026-03-05", "GlobalStandard",
                     _dep("OpenAI", "gpt-5.4-mini", "2026-03-05", "GlobalStandard")),
}
FINAL_INVALID_REASON = {"bad-pro": "ModelNotInRegion"}


def spec_of(variant):
    fmt, name, version, sku, _ = {**VALID, **INVALID}[variant]
    return {"model": {"format": fmt, "name": name, "version": version}, "sku": {"name": sku},
            "deployment": variant}


def setup_world(emu):
    for name, (_, _, _, _, dep) in {**VALID, **INVALID}.items():
        if dep is not None:
            emu.set_deployment(ACCOUNT, name, dep)


# ---- objects --------------------------------------------------------------------------------

def dkey(key):
    return "FOUNDRY_DEPLOYMENT_" + key


def account_doc(ns):
    return {"apiVersion": GV, "kind": "FoundryAccount", "metadata": {"name": ACCOUNT, "namespace": ns},
            "spec": {"subscriptionId": SUB, "resourceGroup": RG, "primary": True, "region": "westus"}}


def model_doc(ns, name, keys, variant):
    spec = {"accountRef": {"name": ACCOUNT}, "keys": list(keys)}
    spec.update(spec_of(variant))
    return {"apiVersion": GV, "kind": "FoundryModel", "metadata": {"name": name, "namespace": ns},
            "spec": spec}


def post(cluster, ns, doc):
    plural = {"FoundryAccount": "foundryaccounts", "FoundryModel": "foundrymodels"}[doc["kind"]]
    st, body = api(cluster, "POST", "/apis/%s/namespaces/%s/%s" % (GV, ns, plural), doc)
    assert st == 201, (st, body)


def switch(cluster, ns, name, variant):
    """Merge patch of the model's spec to the variant; returns the new generation."""
    patch = {"spec": spec_of(variant)}
    for attempt in range(5):
        st, body = api(cluster, "PATCH", "/apis/%s/namespaces/%s/foundrymodels/%s" % (GV, ns, name),
                       patch, content_type="application/merge-patch+json")
        if st == 200:
            return body["metadata"]["generation"]
        time.sleep(0.3)
    raise AssertionError("PATCH %s: %s %s" % (name, st, body))


def list_models(cluster, ns):
    st, body = api(cluster, "GET", "/apis/%s/namespaces/%s/foundrymodels" % (GV, ns))
    assert st == 200, body
    return {o["metadata"]["name"]: o for o in body["items"]}


def get_cm(cluster, ns):
    st, body = api(cluster, "GET", "/api/v1/namespaces/%s/configmaps/%s" % (ns, CM))
    if st == 404:
        return None
    assert st == 200, body
    return body


def ready(obj):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return None


def observed(obj):
    return (obj.get("status") or {}).get("observedGeneration") == obj["metadata"]["generation"]


# ---- a watch of every version of llm-config -----------------------------------------------

class Watch:
    """Every version of the objects of a collection (one object when name is
    given) the API server sends, from resourceVersion rv on. When the server
    ends the watch (timeoutSeconds, idle read timeout) it is opened again from
    the last resourceVersion seen, so no version is skipped; a 410 Gone
    (versions lost) is recorded in .errors. check(obj) is called for each
    ADDED/MODIFIED version, in order, in the watch thread; what it returns (a
    list of problems) goes to .violations. A DELETED one is a violation."""

    def __init__(self, cluster, path, rv, check, name=None):
        self.cluster, self.path, self.name, self.rv = cluster, path, name, rv
        self.check = check
        self.versions = []         # (resourceVersion, data)
        self.violations = []
        self.errors = []
        self.reopened = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ctx = ssl.create_default_context(cafile=cluster.ca_file)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _url(self):
        q = {"watch": "true", "resourceVersion": self.rv, "timeoutSeconds": "60",
             "allowWatchBookmarks": "true"}
        if self.name:
            q["fieldSelector"] = "metadata.name=" + self.name
        return "%s%s?%s" % (self.cluster.server, self.path, urllib.parse.urlencode(q))

    def _run(self):
        while not self._stop.is_set():
            req = urllib.request.Request(self._url())
            req.add_header("Authorization", "Bearer " + self.cluster.token)
            try:
                with urllib.request.urlopen(req, context=self._ctx, timeout=20) as r:
                    for line in r:
                        if self._stop.is_set():
                            return
                        if not line.strip():
                            continue
                        self._event(json.loads(line))
            except (socket.timeout, TimeoutError, urllib.error.URLError, OSError, ValueError) as e:
                if self._stop.is_set():
                    return
                if isinstance(e, urllib.error.HTTPError):
                    self.errors.append("watch: HTTP %s" % e.code)
                    if e.code == 410:
                        return
                time.sleep(0.2)
            self.reopened += 1

    def _event(self, ev):
        t, o = ev.get("type"), ev.get("object") or {}
        if t == "ERROR":
            self.errors.append("watch ERROR event: %s" % o)
            if o.get("code") == 410:
                self._stop.set()
            return
        rv = o["metadata"]["resourceVersion"]
        self.rv = rv
        if t == "BOOKMARK":
            return
        if t == "DELETED":
            self.violations.append("rv %s: %s was deleted" % (rv, o["metadata"].get("name")))
            return
        with self._lock:
            self.versions.append((rv, o))
        try:
            self.violations.extend(self.check(o))
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.violations.append("rv %s: check raised %r" % (rv, e))

    def seen(self, rv):
        with self._lock:
            return any(v == rv for v, _ in self.versions)

    def drain(self, obj, timeout=30):
        """Waits until the watch delivered obj's version (obj: read just before)."""
        rv = obj["metadata"]["resourceVersion"]
        wait_for("the watch to deliver %s rv %s (errors: %s)" % (obj["metadata"]["name"], rv, self.errors),
                 lambda: self.seen(rv) or bool(self.errors), timeout)

    def stop(self):
        self._stop.set()


# ---- fixtures ---------------------------------------------------------------------------

@pytest.fixture
def azure(tmp_path):
    seed = random.randrange(1 << 30)
    with Emulator(tmp_path / "azure", extra_args=("--seed", str(seed))) as emu:
        emu.seed = seed
        try:
            yield emu
        finally:
            register_emulator(emu)     # client secret, assertions and issued tokens: log scan
            try:
                for t in emu.tokens(reveal=True):
                    register_secret(t.get("token"))
            except Exception:  # noqa: BLE001 - emulator already gone
                pass


def chart_run(cluster, helm, rel_ns, apps, tmp_path, emu, credential="secret", token_file=None,
              helm_set=()):
    """rbac_run.chart_controller with Azure validation on against the emulator."""
    env = emu.controller_env(credential, token_file=token_file)
    register_secret(env.get("AZURE_CLIENT_SECRET"))
    return rbac_run.chart_controller(
        cluster, helm, rel_ns, apps, tmp_path, apply_objects=False,
        helm_set=("azure.validation=enforce", "logFormat=json", "logLevel=info", *helm_set),
        extra_args=emu.controller_args(), extra_env=env)


def log_records(run):
    out = []
    for ln in run.log().splitlines():
        try:
            rec = json.loads(ln)
        except ValueError:
            rec = {"_raw": ln}
        out.append(rec if isinstance(rec, dict) else {"_raw": ln})
    return out


def assert_running(run):
    if not run.running():
        raise AssertionError("the controller exited with %s\n%s" % (
            run.proc.poll() if run.proc else run.exit_code, run.log()[-8000:]))


def stop_ok(run):
    code = run.stop()
    assert code == 0, "SIGTERM must give exit code 0, got %s\n%s" % (code, run.log()[-8000:])


# ---- 1. 30% of Azure requests fail for two minutes ---------------------------------------

MODELS = {                        # name: keys
    "m-pair": ["PAIR_A", "PAIR_B"],
    "m-one": ["ONE"],
    "m-two": ["TWO"],
    "m-three": ["THREE"],
}
NEVER = ("m-never", ["NEVER"])    # created during the chaos, only ever set to invalid variants
INITIAL = {"m-pair": "ok-gpt54", "m-one": "ok-kimi", "m-two": "ok-mini", "m-three": "ok-embed"}
FINAL = {"m-pair": "ok-kimi", "m-one": "ok-gpt54-dz", "m-two": "ok-embed", "m-three": "bad-pro"}


def test_azure_chaos_nothing_unvalidated_published(cluster, helm, namespace, make_namespace,
                                                   tmp_path, azure):
    rng = random.Random(azure.seed)
    apps = make_namespace("e2e-chaos-az")
    setup_world(azure)
    key_owner = {k: m for m, keys in MODELS.items() for k in keys}
    key_owner.update({k: NEVER[0] for k in NEVER[1]})
    lock = threading.Lock()
    assigned = {m: [v] for m, v in INITIAL.items()}      # every variant each model was set to
    assigned[NEVER[0]] = []
    ever = set()                                        # our keys seen published so far

    def check(cm):
        data, rv = cm.get("data") or {}, cm["metadata"]["resourceVersion"]
        problems = []
        with lock:
            allowed = {m: {v for v in vs if v in VALID} for m, vs in assigned.items()}
        for k, v in FOREIGN.items():
            if data.get(k) != v:
                problems.append("rv %s: foreign key %s is %r, not %r" % (rv, k, data.get(k), v))
        if "FOUNDRY_ENDPOINT" in ever and data.get("FOUNDRY_ENDPOINT") != WEST_EP:
            problems.append("rv %s: FOUNDRY_ENDPOINT is %r" % (rv, data.get("FOUNDRY_ENDPOINT")))
        if "FOUNDRY_ENDPOINT" in data:
            ever.add("FOUNDRY_ENDPOINT")
        for k, v in data.items():
            if k in FOREIGN or k == "FOUNDRY_ENDPOINT":
                continue
            key = k[len("FOUNDRY_DEPLOYMENT_"):] if k.startswith("FOUNDRY_DEPLOYMENT_") else None
            if key not in key_owner:
                problems.append("rv %s: unexpected key %s=%r" % (rv, k, v))
                continue
            m = key_owner[key]
            if v not in VALID:
                problems.append("rv %s: %s=%r was never validated by Azure (model %s)" % (rv, k, v, m))
            elif v not in allowed[m]:
                problems.append("rv %s: %s=%r but model %s was never set to it (only %s)" % (
                    rv, k, v, m, sorted(allowed[m])))
            ever.add(k)
        for k in ever:
            if k not in data:
                problems.append("rv %s: %s was published before and is gone" % (rv, k))
        a, b = data.get(dkey("PAIR_A")), data.get(dkey("PAIR_B"))
        if a != b:
            problems.append("rv %s: m-pair's keys differ: PAIR_A=%r PAIR_B=%r" % (rv, a, b))
        return problems

    # llm-config exists with foreign keys before the controller starts
    st, body = api(cluster, "POST", "/api/v1/namespaces/%s/configmaps" % apps,
                   {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CM}, "data": FOREIGN})
    assert st == 201, body
    w = Watch(cluster, "/api/v1/namespaces/%s/configmaps" % apps, body["metadata"]["resourceVersion"],
              check, name=CM)
    post(cluster, apps, account_doc(apps))
    for m, keys in MODELS.items():
        post(cluster, apps, model_doc(apps, m, keys, INITIAL[m]))

    with chart_run(cluster, helm, namespace, apps, tmp_path, azure,
                   helm_set=("azure.catalogTTL=30s", "azure.deploymentTTL=2s",
                             "azure.suggestRegions={eastus2}")) as run:
        try:
            _chaos(cluster, apps, azure, run, w, rng, lock, assigned)
        except BaseException:
            sys.stderr.write("\n----- controller log (tail) -----\n%s\n----- emulator faults (seed %d) "
                             "-----\n%s\n" % (run.log()[-30000:], azure.seed, json.dumps(azure.faults(), indent=1)))
            raise
        finally:
            w.stop()


def _chaos(cluster, apps, azure, run, w, rng, lock, assigned):
    # baseline, no faults: the initial specs published
    want0 = {dkey(k): INITIAL[m] for m, keys in MODELS.items() for k in keys}

    def published(want):
        assert_running(run)
        assert not w.violations, w.violations[:10]
        d = (get_cm(cluster, apps) or {}).get("data") or {}
        return all(d.get(k) == v for k, v in want.items()) and d.get("FOUNDRY_ENDPOINT") == WEST_EP
    wait_for("the initial specs published", lambda: published(want0), timeout=90)

    # chaos: 30% of every Azure request fails, in five ways
    azure.reset_requests()
    fid = azure.fault("mix", path_regex=".*", count=-1, probability=FAULT_PROBABILITY, mix=[
        {"kind": "429", "weight": 1, "retry_after": RETRY_AFTER},
        {"kind": "500", "weight": 1},
        {"kind": "reset", "weight": 1},
        {"kind": "slow", "weight": 0.5, "delay": STALL},     # answered after a 5 s stall
        {"kind": "stall", "weight": 0.5, "delay": STALL},    # 5 s of nothing, then dropped
    ])
    t0 = time.monotonic()
    never_created = False
    switches = 0
    next_expire = t0 + EXPIRE_EVERY
    finals_set = False
    models = list(MODELS)
    while time.monotonic() - t0 < CHAOS_SECONDS:
        assert_running(run)
        assert not w.violations, w.violations[:10]
        now = time.monotonic()
        if not never_created:
            with lock:
                assigned[NEVER[0]].append("bad-missing")
            post(cluster, apps, model_doc(apps, NEVER[0], NEVER[1], "bad-missing"))
            never_created = True
        if now >= next_expire:
            azure.expire_tokens()
            next_expire += EXPIRE_EVERY
        if not finals_set and now - t0 >= CHAOS_SECONDS - FINAL_AT:
            forced = azure.fault("500", path_regex=r"/deployments/(%s)$" % "|".join(
                re.escape(v) for v in FINAL.values()), count=-1)
            for m, v in FINAL.items():
                with lock:
                    assigned[m].append(v)
                switch(cluster, apps, m, v)
                switches += 1
            finals_set = True
        elif not finals_set:
            if rng.random() < 0.15:
                m, pool = NEVER[0], list(INVALID)
            else:       # offered 60% of the time, so that there is much to publish
                m = rng.choice(models)
                pool = list(VALID) if rng.random() < 0.6 else list(INVALID)
            with lock:
                # never the model's final variant: the final switch must be a change
                cur = assigned[m][-1] if assigned[m] else None
                v = rng.choice([p for p in pool if p not in (cur, FINAL.get(m))])
                assigned[m].append(v)
            switch(cluster, apps, m, v)
            switches += 1
        time.sleep(SWITCH_EVERY)

    final_models = dict(FINAL)
    progress = []

    def converged():
        assert_running(run)
        assert not w.violations, w.violations[:10]
        d = (get_cm(cluster, apps) or {}).get("data") or {}
        objs = list_models(cluster, apps)
        bad = []
        for m, v in final_models.items():
            o = objs[m]
            r = ready(o)
            if not observed(o) or not r or r.get("observedGeneration") != o["metadata"]["generation"]:
                bad.append("%s: status not observed for generation %s" % (m, o["metadata"]["generation"]))
                continue
            if v in VALID:
                if not (r["status"] == "True" and r["reason"] == "Published"):
                    bad.append("%s: Ready %s %s: %s" % (m, r["status"], r["reason"], r.get("message")))
                for k in MODELS[m]:
                    if d.get(dkey(k)) != v:
                        bad.append("%s=%r, want %r" % (dkey(k), d.get(dkey(k)), v))
            elif not (r["status"] == "False" and r["reason"] == FINAL_INVALID_REASON[v]):
                bad.append("%s: Ready %s %s (want False %s): %s" % (
                    m, r["status"], r["reason"], FINAL_INVALID_REASON[v], r.get("message")))
        o = objs[NEVER[0]]
        r = ready(o)
        if not observed(o) or not r or r["status"] != "False" or r["reason"].startswith("Azure"):
            bad.append("%s: Ready %s" % (NEVER[0], r))
        if d.get("FOUNDRY_ENDPOINT") != WEST_EP:
            bad.append("FOUNDRY_ENDPOINT=%r" % d.get("FOUNDRY_ENDPOINT"))
        progress[:] = bad
        return not bad

    # the final deployments could not be read until now: the final state cannot be there yet
    assert not converged(), "final state reached while its deployments could not be read"
    # the faults stop
    faults = azure.faults()
    hits = [f for f in faults if f["id"] == fid][0]
    forced_hits = [f for f in faults if f["id"] == forced][0]["hits"]
    azure.clear_faults()
    t_clear = time.monotonic()
    chaos_s = t_clear - t0
    reqs = azure.requests()
    by_kind = hits["hits_by_kind"]

    bound = BACKOFF_CAP_S + FAILURE_HOLD_S + SLACK
    try:
        wait_for("convergence after the faults stopped", converged, timeout=bound, interval=0.25)
    except AssertionError as e:
        raise AssertionError("%s\nnot converged: %s" % (e, progress)) from None
    converge_s = time.monotonic() - t_clear
    time.sleep(2)
    w.drain(get_cm(cluster, apps))
    assert not w.errors, w.errors
    assert not w.violations, w.violations[:20]
    assert converged(), progress

    faulted = sum(by_kind.values())
    publishes = 0
    prev = None
    for _, cm in w.versions:
        d = cm.get("data") or {}
        ours = {k: v for k, v in d.items() if k.startswith("FOUNDRY_") and k not in FOREIGN}
        if prev is not None and ours != prev:
            publishes += 1
        prev = ours
    # the chaos really happened: every kind of fault was injected, about 30% of requests
    assert reqs and faulted, (len(reqs), by_kind)
    for kind in ("429", "500", "reset"):
        assert by_kind.get(kind, 0) >= 1, "no %s fault injected: %s" % (kind, by_kind)
    assert by_kind.get("slow", 0) + by_kind.get("stall", 0) >= 1, "no 5 s stall injected: %s" % by_kind
    assert 0.15 <= faulted / len(reqs) <= 0.45, (faulted, len(reqs))
    assert publishes >= 3, "only %d publishes during the chaos: the invariant was hardly exercised" % publishes
    assert converge_s <= bound
    figure("chaos.azure_faults",
           "%.0f s with %d%% of Azure requests failing (seed %d): %d requests, %d faults injected (%s; "
           "+%d 500s on the final deployments in the last %d s), %d spec switches, %d llm-config "
           "versions checked, %d publishes seen, 0 unvalidated values" % (
               chaos_s, int(FAULT_PROBABILITY * 100), azure.seed, len(reqs), faulted,
               ", ".join("%s %d" % (k, by_kind[k]) for k in sorted(by_kind)), forced_hits, FINAL_AT,
               switches, len(w.versions), publishes))
    figure("chaos.azure_converge",
           "converged %.1f s after the faults stopped (bound: backoff cap %.0f s + failure hold %.0f s "
           "+ slack %d s = %.0f s)" % (converge_s, BACKOFF_CAP_S, FAILURE_HOLD_S, SLACK, bound))
    stop_ok(run)


# ---- 2. the federated token file rotates while the controller works ----------------------------

ROTATIONS = 6
ROTATE_EVERY = 3         # seconds
AZURE_REASONS = ("AzureUnreachable", "AzureThrottled", "AzureForbidden")


class ProjectedToken:
    """A token file as the kubelet projects it: DIR/token -> ..data/token,
    ..data -> ..<timestamp>; a rotation writes a new timestamped directory and
    swaps the ..data symlink with a rename (atomic)."""

    def __init__(self, directory):
        self.dir = str(directory)
        os.makedirs(self.dir, exist_ok=True)
        self.path = os.path.join(self.dir, "token")
        self.n = 0
        self.current = None

    def write(self, value):
        self.n += 1
        ts = os.path.join(self.dir, "..%d_%s" % (self.n, uuid.uuid4().hex[:6]))
        os.mkdir(ts)
        with open(os.path.join(ts, "token"), "w") as f:
            f.write(value)
        tmp = os.path.join(self.dir, "..data_tmp")
        os.symlink(os.path.basename(ts), tmp)
        os.replace(tmp, os.path.join(self.dir, "..data"))
        if not os.path.islink(self.path):
            os.symlink("..data/token", self.path)
        if self.current:
            for p in (os.path.join(self.current, "token"),):
                os.unlink(p)
            os.rmdir(self.current)
        self.current = ts


def test_federated_token_file_rotation_no_error(cluster, helm, namespace, make_namespace, tmp_path,
                                                azure):
    apps = make_namespace("e2e-chaos-wi")
    setup_world(azure)

    def accept(*assertions):
        azure.set_world({"credentials": {"clients": {FEDERATED_CLIENT_ID: {
            "federated": {"assertions": list(assertions), "accept_any_assertion": False}}}}})

    def new_assertion():
        a = "wi-%s.%s.%s" % (uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex)
        register_secret(a)
        return a

    issued = [new_assertion()]
    accept(issued[0])
    tok = ProjectedToken(tmp_path / "azure-identity-token")
    tok.write(issued[0])

    models = {"m-a": ["ALPHA", "BETA"], "m-b": ["GAMMA"]}
    cycle = {"m-a": ["ok-gpt54", "ok-kimi", "ok-mini", "ok-gpt54-dz"],
             "m-b": ["ok-embed", "ok-gpt54", "ok-kimi"]}
    post(cluster, apps, account_doc(apps))
    for m, keys in models.items():
        post(cluster, apps, model_doc(apps, m, keys, cycle[m][0]))

    def check_model(o):
        bad = []
        for c in (o.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Deprecated":
                continue
            if c.get("status") == "False" or c.get("reason") in AZURE_REASONS:
                bad.append("%s %s: %s %s %s: %s" % (
                    o["metadata"]["name"], o["metadata"]["resourceVersion"], c["type"], c["status"],
                    c.get("reason"), c.get("message")))
        return bad

    st, lst = api(cluster, "GET", "/apis/%s/namespaces/%s/foundrymodels" % (GV, apps))
    assert st == 200, lst
    mw = Watch(cluster, "/apis/%s/namespaces/%s/foundrymodels" % (GV, apps),
               lst["metadata"]["resourceVersion"], check_model)

    with chart_run(cluster, helm, namespace, apps, tmp_path, azure, credential="workload",
                   token_file=tok.path) as run:
        try:
            _rotation(cluster, apps, azure, run, mw, tok, issued, accept, new_assertion, models, cycle)
        except BaseException:
            sys.stderr.write("\n----- controller log (tail) -----\n%s\n" % run.log()[-30000:])
            raise
        finally:
            mw.stop()


def _rotation(cluster, apps, azure, run, mw, tok, issued, accept, new_assertion, models, cycle):
    def converged(want):
        assert_running(run)
        assert not mw.violations, mw.violations[:10]
        d = (get_cm(cluster, apps) or {}).get("data") or {}
        objs = list_models(cluster, apps)
        for m, v in want.items():
            o, r = objs[m], ready(objs[m])
            if not (observed(o) and r and r["status"] == "True" and r["reason"] == "Published"):
                return False
            if any(d.get(dkey(k)) != v for k in models[m]):
                return False
        return True

    want = {m: c[0] for m, c in cycle.items()}
    wait_for("the initial specs published", lambda: converged(want), timeout=90)
    first_token_requests = azure.count(r"/oauth2/v2\.0/token$", "POST", 200)
    assert first_token_requests >= 1

    t0 = time.monotonic()
    times = []
    for i in range(1, ROTATIONS + 1):
        # the kubelet rotates the projected token; Entra then accepts only the new one, and the
        # access tokens the controller holds expire: it must read the file again
        a = new_assertion()
        issued.append(a)
        accept(issued[-2], a)
        tok.write(a)
        time.sleep(0.5)
        accept(a)
        azure.expire_tokens()
        m = "m-a" if i % 2 else "m-b"
        want[m] = cycle[m][(cycle[m].index(want[m]) + 1) % len(cycle[m])]    # the next one
        t = time.monotonic()
        switch(cluster, apps, m, want[m])
        wait_for("rotation %d: %s -> %s published" % (i, m, want[m]), lambda: converged(want), timeout=60)
        times.append(time.monotonic() - t)
        time.sleep(max(0.0, ROTATE_EVERY - (time.monotonic() - t)))

    seen = azure.assertions()
    for o in list_models(cluster, apps).values():
        mw.drain(o)
    assert not mw.errors, mw.errors
    assert not mw.violations, mw.violations[:20]
    # every assertion presented was the current one: the file was read again each time
    assert seen and all(s["accepted"] for s in seen), [(issued.index(s["assertion"])
                                                         if s["assertion"] in issued else "?",
                                                         s["accepted"]) for s in seen]
    presented = {s["assertion"] for s in seen}
    missing = [i for i, a in enumerate(issued) if a not in presented]
    assert not missing, "rotations whose assertion was never presented: %s" % missing
    records = log_records(run)
    errors = [r for r in records if r.get("level") == "error" or "_raw" in r]
    assert not errors, errors[:10]
    rejected = [r for r in records if "AADSTS" in json.dumps(r)]
    assert not rejected, rejected[:5]
    stop_ok(run)
    figure("chaos.federated_token_rotation",
           "%d rotations of AZURE_FEDERATED_TOKEN_FILE in %.0f s (old assertion rejected, access tokens "
           "expired each time): %d token requests, all %d assertions presented were current, "
           "0 error logs, 0 failed conditions; each switch published in %.1f-%.1f s" % (
               ROTATIONS, time.monotonic() - t0, len(seen), len(seen), min(times), max(times)))


# ---- 3. ARM failing for a while: asked again with backoff, not in a loop --------------------------

OUTAGE_SECONDS = 20


def test_azure_outage_backoff_not_a_loop(cluster, helm, namespace, make_namespace, tmp_path, azure):
    """Every deployment GET answers 500 (each time with a fresh tracking id in its message, as ARM
    does) for OUTAGE_SECONDS after a spec switch. The controller must back off: a failed lookup is
    remembered for AZURE_CLIENT_FAILURE_HOLD_MS, so it asks ARM about once per hold, and it does not
    rewrite the status in a loop (its own status write must not set off the next request). The
    old value stays published; after the outage the switch converges within the backoff cap."""
    apps = make_namespace("e2e-chaos-out")
    setup_world(azure)
    post(cluster, apps, account_doc(apps))
    post(cluster, apps, model_doc(apps, "gen", ["GEN"], "ok-gpt54"))
    with chart_run(cluster, helm, namespace, apps, tmp_path, azure) as run:
        def published(v):
            assert_running(run)
            o = list_models(cluster, apps)["gen"]
            r = ready(o)
            return ((get_cm(cluster, apps) or {}).get("data") or {}).get(dkey("GEN")) == v and \
                observed(o) and r and r["status"] == "True"
        wait_for("ok-gpt54 published", lambda: published("ok-gpt54"), timeout=90)
        st, lst = api(cluster, "GET", "/apis/%s/namespaces/%s/foundrymodels" % (GV, apps))
        assert st == 200, lst
        mw = Watch(cluster, "/apis/%s/namespaces/%s/foundrymodels" % (GV, apps),
                   lst["metadata"]["resourceVersion"], lambda o: [])
        try:
            azure.reset_requests()
            azure.fault("500", path_regex=r"/deployments/", count=-1)
            t0 = time.monotonic()
            switch(cluster, apps, "gen", "ok-kimi")
            while time.monotonic() - t0 < OUTAGE_SECONDS:
                assert_running(run)
                d = (get_cm(cluster, apps) or {}).get("data") or {}
                assert d.get(dkey("GEN")) == "ok-gpt54", d      # last known good stays
                time.sleep(0.5)
            window = time.monotonic() - t0
            gets = azure.requests(r"/deployments/", "GET")
            statuses = len(mw.versions)
            azure.clear_faults()
            t_clear = time.monotonic()
            wait_for("ok-kimi published after the outage", lambda: published("ok-kimi"),
                     timeout=BACKOFF_CAP_S + FAILURE_HOLD_S + SLACK, interval=0.25)
            converge_s = time.monotonic() - t_clear
        finally:
            mw.stop()
        bound = int(window // FAILURE_HOLD_S) + 3
        assert gets and all(r["status"] == 500 for r in gets), gets[:5]
        assert len(gets) <= bound, "%d deployment GETs in %.0f s of 500s (bound %d: one per %.0f s hold)" % (
            len(gets), window, bound, FAILURE_HOLD_S)
        assert statuses <= bound, "%d FoundryModel versions written in %.0f s of 500s (bound %d)" % (
            statuses, window, bound)
        stop_ok(run)
    figure("chaos.azure_outage_backoff",
           "%.0f s of 500s on every deployment GET: %d GETs, %d FoundryModel status writes (bound %d); "
           "converged %.1f s after ARM recovered" % (window, len(gets), statuses, bound, converge_s))
