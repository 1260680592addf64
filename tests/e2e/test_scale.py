"""Scale and memory bounds (issue 6), against a real kube-apiserver 1.20.

- test_ten_thousand_models: 10,000 FoundryModels across 100 namespaces
  (one FoundryAccount with spec.endpoint and 100 models each,
  --azure-validation=off), all created with the controller stopped; then
  the controller starts and everything must converge: every namespace's
  llm-config holds all its keys with the right values, every model is
  Ready for its generation. Figures: time to converge, ConfigMap writes,
  peak RSS (VmHWM), and the API server's requests by verb and resource
  during the controller's run (apiserver_request_total from the API
  server's /metrics, admin token, snapshot before the controller starts and
  after it stopped, so that its watches are counted too). Asserted: bounds
  that a write or request loop would break (ConfigMap writes per namespace,
  LISTs, GETs, writes per model), never a time.
- test_rss_flat_over_churn: 50,000 model switches (spec.deployment, and
  every 4th switch spec.model.name too), round-robin over 100 models in 4
  namespaces, sent as fast as the API server takes them by 4 threads over
  keep-alive connections. VmRSS after a warm-up (the first 10% of the
  switches, then settled) and at the end (settled) must be within 10%;
  the final ConfigMaps must equal the desired state.

Each test starts its own control plane (tests/cluster/up, ~5 s): the 10,000
objects would otherwise stay in the session's cluster (this control plane
has no namespace controller and the models keep their finalizer), and the
API server's request counters would include the other tests.

Sizes (environment):
  FC_SCALE_NAMESPACES   namespaces of 100 models in the first test (100)
  FC_CHURN_SWITCHES     switches in the second test (50000)
Under a sanitizer build (FC_SANITIZED=1, or FC_BIN under build/*-san-*),
both are divided by SAN_FACTOR (5) unless set, and the RSS bound is
reported but not asserted (ASan's shadow memory and quarantine make RSS
meaningless); convergence and correctness are still asserted.

    make && FC_BIN=$PWD/bin/foundry-controller /usr/bin/python3 -m pytest -q tests/e2e/test_scale.py

The reusable pieces (keep-alive client, watches, RSS sampler, controller
process, control plane) are tests/bench/kubeload.py, shared with make bench.
"""

import os
import shutil
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))

import conftest  # noqa: E402
import kubeload as kl  # noqa: E402
from conftest import figure, register_log, register_secret  # noqa: E402
from controller_proc import controller_binary  # noqa: E402

kl.LOG_PREFIX = "test_scale"


def _sanitized():
    if os.environ.get("FC_SANITIZED", "") not in ("", "0"):
        return True
    binary = os.path.realpath(os.environ.get("FC_BIN") or "")
    return "-san-" in binary


SANITIZED = _sanitized()
SAN_FACTOR = 5
_div = SAN_FACTOR if SANITIZED else 1
N_NS = int(os.environ.get("FC_SCALE_NAMESPACES") or 100 // _div)
PER_NS = 100
SWITCHES = int(os.environ.get("FC_CHURN_SWITCHES") or 50000 // _div)
CHURN_NS, CHURN_PER_NS = 4, 25
CHURN_THREADS = int(os.environ.get("FC_CHURN_THREADS") or 4)   # must divide 100
DEPLOYMENT = "gpt-5.4"
ENDPOINT = "https://bench.openai.azure.com/"


# ---- fixtures and helpers ------------------------------------------------------------

@pytest.fixture
def own_cluster(tmp_path, request):
    """A control plane of the test's own, stopped afterwards (logs copied to
    tests/e2e/.logs/ when the test failed)."""
    cl = kl.Cluster(str(tmp_path))
    try:
        cl.up()
    except kl.BenchError as e:
        if os.environ.get("FC_KUBECONFIG"):
            pytest.skip("needs a control plane of its own (tests/cluster/up): %s" % e)
        raise
    conftest._to_stop.append(cl.dir)   # safety net: taken down at exit
    register_secret(cl.token)
    failed = request.session.testsfailed
    try:
        yield cl
    finally:
        if request.session.testsfailed > failed:
            dest = os.path.join(conftest.LOG_DIR, os.path.basename(cl.dir))
            os.makedirs(dest, exist_ok=True)
            for name in ("etcd.log", "apiserver.log"):
                if os.path.exists(os.path.join(cl.dir, name)):
                    shutil.copy(os.path.join(cl.dir, name), dest)
        d = cl.dir
        cl.down()
        if d in conftest._to_stop:
            conftest._to_stop.remove(d)


def start_controller(cl, tmp_path, tag):
    ctl = kl.Controller(cl, str(tmp_path), tag, args=["--azure-validation=off"],
                        binary=controller_binary())
    register_log(ctl.log_path)
    return ctl.start()


def stop_controller(ctl):
    """SIGTERM; returns the exit code (None if it had to be killed)."""
    if ctl.proc is None:
        return None
    ctl.stop()
    return ctl.proc.returncode


def apiserver_requests(kube):
    """apiserver_request_total from the API server's /metrics:
    {(verb, group, resource, subresource, code, content_type, scope): count}."""
    import re
    text = kube.get("/metrics")
    out = {}
    lrx = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
    for ln in text.splitlines():
        if not ln.startswith("apiserver_request_total{"):
            continue
        labels, value = ln[len("apiserver_request_total{"):].rsplit("} ", 1)
        ls = dict(lrx.findall(labels))
        k = (ls.get("verb"), ls.get("group"), ls.get("resource"), ls.get("subresource"),
             ls.get("code"), ls.get("contentType"), ls.get("scope"))
        out[k] = out.get(k, 0) + float(value)
    return out


def request_delta(before, after):
    return {k: int(v - before.get(k, 0)) for k, v in after.items() if v - before.get(k, 0) > 0}


def external(k):
    """A request from a client outside the API server (the controller or this
    test: JSON), not one of the API server's own loopback clients (admission,
    quota, flow control: protobuf)."""
    return "protobuf" not in (k[5] or "")


def by(delta, fn, pred=lambda k: True):
    out = {}
    for k, v in delta.items():
        if pred(k):
            out[fn(k)] = out.get(fn(k), 0) + v
    return out


def res_name(k):
    verb, _group, resource, sub = k[:4]
    r = resource or "(non-resource %s)" % sub
    if resource and sub:
        r += "/" + sub
    return "%s %s" % (verb, r)


def fmt(d):
    return ", ".join("%s %d" % kv for kv in sorted(d.items(), key=lambda kv: (-kv[1], kv[0])))


def mb(kib):
    return "%.1f MB" % (kib / 1024.0)


def list_all(kube, path, limit=500):
    items, cont = [], None
    while True:
        q = "%s?limit=%d" % (path, limit) + ("&continue=" + cont if cont else "")
        obj = kube.get(q)
        items += obj.get("items") or []
        cont = (obj.get("metadata") or {}).get("continue")
        if not cont:
            return items


def not_ready(models):
    """Models not Ready=True for their current generation, as (ns/name, reason)."""
    bad = []
    for o in models:
        md, st = o["metadata"], o.get("status") or {}
        ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), {})
        if ready.get("status") != "True" or st.get("observedGeneration") != md.get("generation"):
            bad.append(("%s/%s" % (md["namespace"], md["name"]), ready.get("reason")))
    return bad


def configmap_diff(kube, ns, want):
    """Differences between llm-config's FOUNDRY_DEPLOYMENT_* keys (plus
    FOUNDRY_ENDPOINT) in ns and want; [] when equal."""
    st, cm = kube.request("GET", kl.cm_path(ns, "llm-config"), ok=(200, 404))
    if st == 404:
        return ["%s: no llm-config" % ns]
    data = cm.get("data") or {}
    got = {k: v for k, v in data.items() if k.startswith("FOUNDRY_DEPLOYMENT_") or k == "FOUNDRY_ENDPOINT"}
    diff = []
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            diff.append("%s %s: have %r, want %r" % (ns, k, got.get(k), want.get(k)))
    return diff


def wait_until(what, fn, timeout, ctl, interval=0.5):
    """Polls fn until it returns [] / a falsy value; fn returns what is still
    missing. Fails with the last value on timeout or when the controller exits."""
    deadline = time.monotonic() + timeout
    while True:
        ctl.alive()
        last = fn()
        if not last:
            return
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s; still: %s" % (
                timeout, what, str(last)[:1500]))
        time.sleep(interval)


# ---- 1. 10,000 models across 100 namespaces -----------------------------------------------

def test_ten_thousand_models(own_cluster, tmp_path):
    cl, kube = own_cluster, own_cluster.kube
    total = N_NS * PER_NS
    nss = ["scale-%03d" % i for i in range(N_NS)]

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as ex:
        list(ex.map(lambda ns: kl.setup_namespace(kube, ns, kl.account_body(ns, endpoint=ENDPOINT)), nss))
    kl.create_all(kube, [it for ns in nss for it in kl.model_items(ns, PER_NS)], concurrency=12)
    create_s = time.perf_counter() - t0

    cms = kl.ConfigMapTracker(kube, want=PER_NS, want_namespaces=N_NS)
    ready = kl.ReadyTracker(kube, want=total)
    before = apiserver_requests(kube)
    own0 = dict(kube.sent)
    ctl = start_controller(cl, tmp_path, "scale")
    sampler = kl.Sampler(ctl.pid)
    sampler.start()
    try:
        timeout = 1800
        cms.wait(lambda: cms.all_full_at or (ctl.alive() and None), timeout,
                 "all %d namespaces with %d keys (complete: %d)" % (N_NS, PER_NS, len(cms.full_at)))
        t_ready = ready.wait_all(timeout=timeout)
        ctl.wait_idle(quiet=5.0, timeout=600)
        mem = ctl.mem()
        m = ctl.metrics()
        st = ctl.reconcile_stats()
        t_synced = ctl.log_time("caches synced")
    finally:
        sampler.stop()
        code = stop_controller(ctl)
        cms.stop()
        ready.stop()
    own = {k: v - own0.get(k, 0) for k, v in kube.sent.items() if v - own0.get(k, 0)}
    time.sleep(0.5)           # let the API server close the ended watches
    after = apiserver_requests(kube)
    assert code == 0, "controller exit code %s:\n%s" % (code, ctl.tail())

    # the state the API server holds now, read back in full
    missing = []
    for ns in nss:
        want = {"FOUNDRY_DEPLOYMENT_K%04d" % i: DEPLOYMENT for i in range(1, PER_NS + 1)}
        want["FOUNDRY_ENDPOINT"] = ENDPOINT
        missing += configmap_diff(kube, ns, want)
    assert not missing, "llm-configs not as desired: %s" % missing[:20]
    models = list_all(kube, "/apis/%s/%s/foundrymodels" % (kl.GROUP, kl.VERSION))
    assert len(models) == total
    bad = not_ready(models)
    assert not bad, "%d models not Ready for their generation: %s" % (len(bad), bad[:10])

    # ---- figures
    t_start = ctl.started_at
    fulls = sorted(t - t_start for t in cms.full_at.values())
    delta = request_delta(before, after)
    ext = {k: v for k, v in delta.items() if external(k)}
    internal = sum(v for k, v in delta.items() if not external(k))
    verbs = by(ext, lambda k: k[0])
    resources = by(ext, res_name)
    errors = by(ext, lambda k: "%s %s" % (res_name(k), k[4]), lambda k: k[4] not in ("0", "200", "201"))
    cm_writes = {ns: cms.writes(ns) for ns in nss}
    cm_metric = {ns: kl.Controller.metric_sum(m, "foundry_configmap_writes_total", namespace=ns) for ns in nss}
    status_writes = kl.Controller.metric_sum(m, "foundry_status_writes_total")
    peak = max(s for _t, s in sampler.samples) if sampler.samples else mem["VmRSS"]

    figure("scale.10k.size", "%d FoundryModels in %d namespaces (+%d FoundryAccounts), created in %.1f s "
           "before the controller started%s" % (total, N_NS, N_NS, create_s,
                                                 " [sanitizer build: scaled down by %d]" % SAN_FACTOR
                                                 if SANITIZED and not os.environ.get("FC_SCALE_NAMESPACES") else ""))
    figure("scale.10k.converge", "caches synced %.2f s, first/median/last llm-config complete %.1f/%.1f/%.1f s, "
           "all models Ready %.1f s after the controller's exec" % (
               t_synced - t_start, fulls[0], statistics.median(fulls), fulls[-1], t_ready - t_start))
    figure("scale.10k.configmap_writes", "%d in total (watch: %d resourceVersions), max %d per namespace; "
           "status writes %d" % (sum(cm_metric.values()), sum(cm_writes.values()), max(cm_writes.values()),
                                 status_writes))
    figure("scale.10k.rss", "peak VmHWM %s, sampled peak %s, idle after convergence %s (%.1f KB per model)%s" % (
        mb(mem["VmHWM"]), mb(peak), mb(mem["VmRSS"]), mem["VmRSS"] / total,
        " [sanitizer build: not meaningful]" if SANITIZED else ""))
    figure("scale.10k.api_requests_by_verb", "%s (%d in total from outside the API server; "
           "its own loopback clients: %d more)" % (fmt(verbs), sum(verbs.values()), internal))
    figure("scale.10k.api_requests_by_resource", fmt(resources))
    if errors:
        figure("scale.10k.api_error_codes", fmt(errors))
    figure("scale.10k.test_own_requests", "included above: the test's 2 watches (ConfigMaps, FoundryModels: "
           "opened before the first snapshot, closed before the second, counted as WATCH when they end); "
           "other requests the test sent between the snapshots: %s (its GETs of /metrics are not counted "
           "by apiserver_request_total)" % (fmt(own) or "none"))
    figure("scale.10k.reconciles", "%d reconciles (log), duration p50 %.0f ms, max %.0f ms; warn/error lines: %s" % (
        st["n"], st["p50"] * 1000, st["max"] * 1000, fmt(st["warns"]) or "none"))

    # ---- bounds a write or request loop would break (no timings)
    worst = max(cm_writes, key=cm_writes.get)
    assert cm_writes[worst] <= 3, "ConfigMap of %s written %d times (watch)" % (worst, cm_writes[worst])
    assert max(cm_metric.values()) <= 3, "ConfigMap writes by metric: %s" % cm_metric
    assert sum(cm_metric.values()) <= 2 * N_NS
    # the informers list in pages of 500: one full list of everything is
    # `pages` requests; at most one relist of each is allowed
    pages = -(-total // 500) + -(-N_NS // 500) + 1
    assert verbs.get("LIST", 0) <= 2 * pages + 2, "LIST requests: %s" % fmt(
        by(ext, res_name, lambda k: k[0] == "LIST"))
    assert verbs.get("WATCH", 0) <= 3 + 2 + 6, "WATCH requests: %s" % fmt(
        by(ext, res_name, lambda k: k[0] == "WATCH"))
    gets = {k: v for k, v in resources.items() if k.startswith("GET ") and "non-resource" not in k}
    assert sum(gets.values()) <= N_NS, "GET storm: %s" % fmt(gets)
    assert resources.get("PATCH foundrymodels", 0) <= 1.1 * total + 20, "finalizer writes: %s" % fmt(resources)
    assert resources.get("PATCH foundrymodels/status", 0) <= 1.1 * total + 20, "status writes: %s" % fmt(resources)
    assert resources.get("PATCH foundryaccounts/status", 0) <= 3 * N_NS
    assert resources.get("APPLY configmaps", 0) <= 3 * N_NS
    assert resources.get("POST events", 0) <= 1.1 * total + 3 * N_NS
    assert sum(verbs.values()) <= 3.5 * total + 10 * N_NS + 100, "requests: %s" % fmt(resources)
    if not SANITIZED:
        # design goal < 64 MB idle at 10,000 models (tests/bench); a gross
        # regression (a leak of every object version) would be far above
        assert mem["VmHWM"] < 128 * 1024 * total / 10000 + 32 * 1024, "peak RSS %s" % mb(mem["VmHWM"])


# ---- 2. RSS flat over churn -------------------------------------------------------------------

class Churn:
    """Switches models round-robin: switch i sets spec.deployment of model
    i % M to "d<i>" (and every 4th switch spec.model.name too). Thread t of
    T sends the switches i = t mod T; M is a multiple of T, so every model is
    switched by one thread only, in order, and `desired` is exact."""

    MODEL_NAMES = ("gpt-5.4", "gpt-5.4-mini")

    def __init__(self, kube, models, threads, milestones):
        assert len(models) % threads == 0
        self.kube, self.models, self.threads = kube, models, threads
        self.desired = {m: DEPLOYMENT for m in models}
        self.done = 0
        self.lock = threading.Lock()
        self.milestones = sorted(milestones)
        self.reached = {}          # milestone -> perf_counter time
        self.busy = 0.0            # seconds spent sending

    def run(self, start, stop):
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.threads) as ex:
            list(ex.map(lambda t: self._thread(t, start, stop), range(self.threads)))
        self.busy += time.perf_counter() - t0

    def _thread(self, t, start, stop):
        m = len(self.models)
        for i in range(start + (t - start) % self.threads, stop, self.threads):
            ns, name = self.models[i % m]
            spec = {"deployment": "d%d" % i}
            if i % 4 == 3:
                spec["model"] = {"name": self.MODEL_NAMES[(i // 4) % 2]}
            self.kube.merge_patch(kl.fm_path(ns, name), {"spec": spec})
            self.desired[(ns, name)] = spec["deployment"]
            with self.lock:
                self.done += 1
                if self.milestones and self.done >= self.milestones[0]:
                    self.reached[self.milestones.pop(0)] = time.perf_counter()


def test_rss_flat_over_churn(own_cluster, tmp_path):
    cl, kube = own_cluster, own_cluster.kube
    nss = ["churn-%d" % i for i in range(CHURN_NS)]
    models = [(ns, "m-%05d" % i) for ns in nss for i in range(1, CHURN_PER_NS + 1)]
    keys = {(ns, "m-%05d" % i): "K%04d" % i for ns in nss for i in range(1, CHURN_PER_NS + 1)}
    for ns in nss:
        kl.setup_namespace(kube, ns, kl.account_body(ns, endpoint=ENDPOINT))
    kl.create_all(kube, [it for ns in nss for it in kl.model_items(ns, CHURN_PER_NS)])
    warmup = max(SWITCHES // 10, 1)
    points = [warmup + (SWITCHES - warmup) * j // 9 for j in range(10)]
    churn = Churn(kube, models, CHURN_THREADS, points)

    def desired(ns):
        want = {"FOUNDRY_DEPLOYMENT_" + keys[(n, name)]: churn.desired[(n, name)]
                for (n, name) in models if n == ns}
        want["FOUNDRY_ENDPOINT"] = ENDPOINT
        return want

    def settle(what):
        t = time.perf_counter()
        wait_until("%s: llm-configs equal to the desired state" % what,
                   lambda: [d for ns in nss for d in configmap_diff(kube, ns, desired(ns))], 600, ctl)
        wait_until("%s: every model Ready for its generation" % what,
                   lambda: not_ready([o for ns in nss for o in list_all(kube, kl.fm_path(ns))]), 600, ctl)
        ctl.wait_idle(quiet=3.0, timeout=600)
        return time.perf_counter() - t

    ctl = start_controller(cl, tmp_path, "churn")
    sampler = kl.Sampler(ctl.pid)
    try:
        settle("initial")
        before = apiserver_requests(kube)
        sent0 = dict(kube.sent)
        sampler.start()
        t_churn0 = time.perf_counter()
        churn.run(0, warmup)
        settle_warm = settle("after the warm-up")
        rss_start = ctl.mem()["VmRSS"]
        t_start = time.perf_counter()
        churn.run(warmup, SWITCHES)
        t_end_send = time.perf_counter()
        settle_end = settle("after %d switches" % SWITCHES)
        mem = ctl.mem()
        rss_end = mem["VmRSS"]
        m = ctl.metrics()
        st = ctl.reconcile_stats()
        sent_patch = kube.sent.get("PATCH", 0) - sent0.get("PATCH", 0)
        after = apiserver_requests(kube)
    finally:
        sampler.stop()
        code = stop_controller(ctl)
    assert code == 0, "controller exit code %s:\n%s" % (code, ctl.tail())
    assert churn.done == SWITCHES

    # the controller's requests during the churn: its LISTs and WATCHes are
    # cluster-scoped (the test's polls are namespaced); every PATCH of a
    # FoundryModel beyond the test's own is the controller's (finalizers)
    delta = {k: v for k, v in request_delta(before, after).items() if external(k)}
    ctl_req = by(delta, res_name, lambda k: k[0] not in ("LIST", "WATCH", "GET") or k[6] == "cluster")
    ctl_req["PATCH foundrymodels"] = ctl_req.get("PATCH foundrymodels", 0) - sent_patch
    ctl_req = {k: v for k, v in ctl_req.items() if v}
    writes = sum(v for k, v in ctl_req.items() if k.split()[0] in ("PATCH", "APPLY", "POST", "PUT"))

    # the final state, read back once more after the controller stopped
    diff = [d for ns in nss for d in configmap_diff(kube, ns, desired(ns))]
    assert not diff, "final llm-configs differ from the desired state: %s" % diff[:20]

    rate = SWITCHES / churn.busy
    samples = [s for t, s in sampler.samples if t >= t_churn0]
    peak = max(samples) if samples else rss_end
    curve = ["%d: %s" % (n, mb(sampler.rss_at(churn.reached[n]))) for n in points if n in churn.reached]
    cm_writes = kl.Controller.metric_sum(m, "foundry_configmap_writes_total")
    growth = (rss_end - rss_start) * 100.0 / rss_start
    note = " [sanitizer build: RSS not meaningful, not asserted]" if SANITIZED else ""
    figure("churn.size", "%d switches over %d models in %d namespaces by %d threads%s" % (
        SWITCHES, len(models), CHURN_NS, CHURN_THREADS,
        " [sanitizer build: scaled down by %d]" % SAN_FACTOR
        if SANITIZED and not os.environ.get("FC_CHURN_SWITCHES") else ""))
    figure("churn.rate", "%.0f switches/s (%.1f s sending; the last %d in %.1f s), settled in %.1f s after "
           "the warm-up and %.1f s after the last switch" % (
               rate, churn.busy, SWITCHES - warmup, t_end_send - t_start, settle_warm, settle_end))
    figure("churn.rss", "start (settled after %d switches) %s, end (settled after %d) %s: %+.1f%%; "
           "peak during churn %s, VmHWM %s%s" % (warmup, mb(rss_start), SWITCHES, mb(rss_end), growth,
                                                 mb(peak), mb(mem["VmHWM"]), note))
    figure("churn.rss_curve", "switches: VmRSS (while churning) " + ", ".join(curve))
    figure("churn.writes", "ConfigMap writes %d (%.2f per switch), status writes %d, reconciles %d; "
           "final llm-configs equal the desired state (%d keys)" % (
               cm_writes, cm_writes / float(SWITCHES + len(nss)),
               kl.Controller.metric_sum(m, "foundry_status_writes_total"), st["n"], len(models)))
    figure("churn.api_requests", "by the controller during the churn: %s (%.2f writes per switch; "
           "the test sent %d PATCHes, 404s and retries included)" % (
               fmt(ctl_req) or "none", writes / float(SWITCHES), sent_patch))
    # bounds a write or request loop would break: at most one status write,
    # one event and one ConfigMap write per switch; no finalizer rewrites;
    # no relists (one each allowed: a watch may expire)
    assert ctl_req.get("PATCH foundrymodels/status", 0) <= SWITCHES, fmt(ctl_req)
    assert ctl_req.get("APPLY configmaps", 0) <= SWITCHES, fmt(ctl_req)
    assert writes <= 2.5 * SWITCHES, fmt(ctl_req)
    assert ctl_req.get("PATCH foundrymodels", 0) <= len(models), fmt(ctl_req)
    assert sum(v for k, v in ctl_req.items() if k.startswith("LIST ")) <= 6, fmt(ctl_req)
    if not SANITIZED:
        assert rss_end <= rss_start * 1.10, "RSS grew from %s to %s over %d switches" % (
            mb(rss_start), mb(rss_end), SWITCHES)
