"""Operating the controller: metrics, probes, bind addresses, abusive HTTP
clients, signals (DESIGN.md §5; docs/operations.md "Probes, metrics").

    make && FC_BIN=$PWD/bin/foundry-controller /usr/bin/python3 -m pytest -q tests/e2e/test_ops.py

/metrics is parsed with prometheus_client's own parser
(text_string_to_metric_families), which reports a counter family without its
_total suffix (the samples keep it). The registry omits families without any
series (controller/metrics.h), so foundry_azure_requests_total and
foundry_model_retirement_timestamp_seconds are absent with Azure off and are
checked against the Azure emulator (tests/azure_emulator).
"""

import os
import signal
import socket
import sys
import threading
import time
import calendar

import pytest

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(E2E_DIR))
sys.path.insert(0, E2E_DIR)
sys.path.insert(0, os.path.join(REPO, "tests", "azure_emulator"))
from controller_proc import Controller, api, controllers, wait_for  # noqa: E402
from ops_util import (apply, families, http_get, listening_sockets, ports, rss_kb,  # noqa: E402
                      scrape, set_deployment, value)
from test_azure import AzureController, azure  # noqa: E402,F401 (azure: the emulator fixture)

GV = "foundry.aucert.io/v1alpha1"
SUB = "00000000-0000-0000-0000-000000000000"
RG = "aucert-foundation-rg"
EP = "https://a.openai.azure.com/"
LEASE = "fc-ops-leader"


# ---- fixtures --------------------------------------------------------------------

@pytest.fixture
def controller(cluster, namespace, tmp_path, request):
    """controller(*args, emu=None) starts a controller for the test's namespace
    (Azure off, or against emulator emu). Processes still running at the end
    get SIGTERM and must exit 0; stderr is printed when the test failed."""
    def make(index, *args, emu=None):
        if emu is None:
            return Controller(cluster, namespace, tmp_path, args, index=index)
        return AzureController(cluster, namespace, tmp_path, emu, args, index=index)
    yield from controllers(request, make, tail=20000)


def leader_args(ns):
    return ("--leader-elect", "--leader-election-namespace", ns, "--leader-election-id", LEASE)


# ---- objects -------------------------------------------------------------------------

def account(name="primary", endpoint=EP, region=None):
    spec = {"subscriptionId": SUB, "resourceGroup": RG, "primary": True}
    if endpoint:
        spec["endpoint"] = endpoint
    if region:
        spec["region"] = region
    return {"apiVersion": GV, "kind": "FoundryAccount", "metadata": {"name": name}, "spec": spec}


def model(name="generation", acct="primary", keys=("GENERATION",), model_name="gpt-5.4",
          version="2026-03-05", deployment="gpt-5.4"):
    return {"apiVersion": GV, "kind": "FoundryModel", "metadata": {"name": name},
            "spec": {"accountRef": {"name": acct},
                     "model": {"format": "OpenAI", "name": model_name, "version": version},
                     "sku": {"name": "GlobalStandard"}, "deployment": deployment,
                     "keys": list(keys)}}


def cm_data(cluster, ns):
    st, body = api(cluster, "GET", "/api/v1/namespaces/%s/configmaps/llm-config" % ns)
    if st == 404:
        return {}
    assert st == 200, body
    return body.get("data") or {}


def wait_key(cluster, ns, key, want, ctl, timeout=20):
    def check():
        ctl.assert_running()
        return cm_data(cluster, ns).get(key) == want
    wait_for("llm-config %s=%s" % (key, want), check, timeout)


def get_model(cluster, ns, name):
    st, o = api(cluster, "GET", "/apis/%s/namespaces/%s/foundrymodels/%s" % (GV, ns, name))
    assert st == 200, o
    return o


def wait_ready(cluster, ns, name, ctl, timeout=45):
    def check():
        ctl.assert_running()
        o = get_model(cluster, ns, name)
        s = o.get("status") or {}
        r = [c for c in s.get("conditions") or [] if c["type"] == "Ready"]
        return o if r and r[0]["status"] == "True" and \
            s.get("observedGeneration") == o["metadata"]["generation"] else None
    return wait_for("%s Ready=True" % name, check, timeout)


def published(cluster, ns, ctl, deployment="gpt-5.4"):
    apply(cluster, ns, account(), model(deployment=deployment))
    wait_key(cluster, ns, "FOUNDRY_DEPLOYMENT_GENERATION", deployment, ctl)
    wait_ready(cluster, ns, "generation", ctl)


# ---- 1. /metrics ----------------------------------------------------------------------

def test_metrics_families(cluster, namespace, controller):
    ns = namespace
    c = controller(*leader_args(ns))
    c.wait_log("became leader", lambda r: r.get("msg") == "became leader")
    published(cluster, ns, c)
    set_deployment(cluster, ns, "gpt-5.4-b")
    wait_key(cluster, ns, "FOUNDRY_DEPLOYMENT_GENERATION", "gpt-5.4-b", c)
    wait_ready(cluster, ns, "generation", c)

    fam = families(c)
    types = {n: f.type for n, f in fam.items()}
    want = {
        "controller_runtime_reconcile": "counter",
        "controller_runtime_reconcile_time_seconds": "histogram",
        "workqueue_depth": "gauge",
        "workqueue_adds": "counter",
        "workqueue_retries": "counter",
        "leader_election_master_status": "gauge",
        "foundry_models": "gauge",
        "foundry_accounts": "gauge",
        "foundry_configmap_writes": "counter",
        "foundry_status_writes": "counter",
        "foundry_build_info": "gauge",
    }
    missing = {n: t for n, t in want.items() if types.get(n) != t}
    assert not missing, ("missing or mistyped families", missing, sorted(types.items()))
    for f in fam.values():
        assert f.documentation, f.name          # every family has its HELP

    # a reconcile is counted once it is done, after the status it wrote: wait for both counted
    s = wait_for("two successful reconciles counted", lambda: (lambda s: s if value(
        s, "controller_runtime_reconcile_total", controller="foundrymodel", result="success") >= 2 and value(
        s, "controller_runtime_reconcile_time_seconds_count", controller="foundrymodel") >= 2 else None)(scrape(c)))
    rt = s["controller_runtime_reconcile_total"]
    assert all(set(lb) == {"controller", "result"} for lb, _ in rt), rt
    assert {lb["result"] for lb, _ in rt} <= {"success", "error", "requeue", "requeue_after"}, rt
    assert value(s, "controller_runtime_reconcile_total", controller="foundrymodel",
                 result="success") >= 2
    buckets = s["controller_runtime_reconcile_time_seconds_bucket"]
    assert all(set(lb) == {"controller", "le"} for lb, _ in buckets), buckets
    inf = value(s, "controller_runtime_reconcile_time_seconds_bucket", controller="foundrymodel", le="+Inf")
    assert inf == value(s, "controller_runtime_reconcile_time_seconds_count", controller="foundrymodel") >= 2
    assert [lb for lb, _ in s["workqueue_depth"]] == [{"name": "foundrymodel"}], s["workqueue_depth"]
    assert value(s, "workqueue_adds_total", name="foundrymodel") >= 2, s.get("workqueue_adds_total")
    assert s.get("workqueue_retries_total") == [({"name": "foundrymodel"}, 0.0)], s.get(
        "workqueue_retries_total")
    assert s["leader_election_master_status"] == [({"name": LEASE}, 1.0)]
    assert value(s, "foundry_models", namespace=ns, ready="True") == 1, s["foundry_models"]
    assert value(s, "foundry_models", namespace=ns) == 1, s["foundry_models"]
    assert all(set(lb) == {"namespace", "ready"} for lb, _ in s["foundry_models"])
    assert value(s, "foundry_accounts", namespace=ns, ready="True") == 1, s.get("foundry_accounts")
    assert value(s, "foundry_configmap_writes_total", namespace=ns) >= 2
    # Azure off: no Azure request, no retirement date known; the registry
    # prints no family without series
    assert "foundry_azure_requests" not in fam and "foundry_azure_requests_total" not in s
    assert "foundry_model_retirement_timestamp_seconds" not in fam


def test_azure_metrics_with_the_emulator(cluster, namespace, controller, azure):
    ns = namespace
    apply(cluster, ns, account("aucert-ai", endpoint=None, region="westus"),
          model("generation", "aucert-ai", ["GENERATION"]),
          model("oldgen", "aucert-ai", ["OLDGEN"], model_name="gpt-4.1", version="2025-04-14",
                deployment="gpt-4.1"))
    c = controller(emu=azure)
    wait_ready(cluster, ns, "generation", c)
    o = wait_ready(cluster, ns, "oldgen", c)
    rd = o["status"]["retirementDate"]
    want = {"namespace": ns, "name": "oldgen", "model": "gpt-4.1", "version": "2025-04-14"}

    # the retirement gauge comes from the controller's cache, which may not hold the status yet
    s = wait_for("oldgen's retirement date in /metrics", lambda: (lambda s: s if any(
        lb == want for lb, _ in s.get("foundry_model_retirement_timestamp_seconds") or []) else None)(scrape(c)))
    reqs = s.get("foundry_azure_requests_total") or []
    assert reqs and all(set(lb) == {"call", "code"} for lb, _ in reqs), reqs
    for call in ("token", "account", "catalog", "deployment"):
        assert value(s, "foundry_azure_requests_total", call=call, code="200") >= 1, (call, reqs)
    assert value(s, "foundry_azure_request_duration_seconds_count", call="catalog") >= 1
    ret = s.get("foundry_model_retirement_timestamp_seconds") or []
    got = [v for lb, v in ret if lb == want]
    assert got, ret
    assert got[0] == calendar.timegm(time.strptime(rd, "%Y-%m-%dT%H:%M:%SZ")), (got, rd)
    assert families(c)["foundry_model_retirement_timestamp_seconds"].type == "gauge"


# ---- 2. probes and bind addresses -----------------------------------------------------------

def test_probes(cluster, namespace, controller):
    ns = namespace
    c = controller()
    p = ports(c)["probes"]
    c.wait_log("caches synced", lambda r: r.get("msg") == "caches synced")
    assert http_get(p, "/healthz") == (200, "ok\n")
    assert http_get(p, "/readyz") == (200, "ok\n")
    assert http_get(p, "/readyz?verbose=1")[0] == 200
    assert http_get(p, "/healthz", method="HEAD")[0] == 200
    assert http_get(p, "/metrics")[0] == 404            # metrics live on their own port
    assert http_get(p, "/nope")[0] == 404
    assert http_get(p, "/healthz", method="POST")[0] == 405
    m = ports(c)["metrics"]
    assert http_get(m, "/healthz")[0] == 404
    published(cluster, ns, c)
    assert http_get(p, "/readyz") == (200, "ok\n")


def test_bind_address_zero_disables_the_server(cluster, namespace, controller):
    ns = namespace
    both = controller("--metrics-bind-address=0", "--health-probe-bind-address=0")
    published(cluster, ns, both)
    assert not [r for r in both.records() if r.get("msg") == "listening"], both.records()
    assert listening_sockets(both.proc.pid) == []
    assert both.stop() == 0

    # one disabled, the other on: exactly one listener, one listening socket
    only_probes = controller("--metrics-bind-address", "0")
    p = wait_for("probes 'listening'", lambda: [r for r in only_probes.records()
                                               if r.get("msg") == "listening"])
    time.sleep(1)
    lst = [r for r in only_probes.records() if r.get("msg") == "listening"]
    assert [r["listener"] for r in lst] == ["probes"], lst
    assert http_get(int(p[0]["port"]), "/healthz")[0] == 200
    assert len(listening_sockets(only_probes.proc.pid)) == 1
    assert only_probes.stop() == 0


# ---- 3. abusive clients -----------------------------------------------------------------------

def _connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _closed_by_peer(s, timeout):
    """True if the server closes s (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


class Slowloris(threading.Thread):
    """Sends a request line, then one header byte per second, never ending the headers."""

    def __init__(self, port, seconds):
        super().__init__(daemon=True)
        self.port, self.seconds = port, seconds
        self.cut_after = None     # seconds until the server hung up, None if it never did
        self.stop = threading.Event()

    def run(self):
        t0 = time.monotonic()
        try:
            s = _connect(self.port)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            while not self.stop.is_set() and time.monotonic() - t0 < self.seconds:
                s.sendall(b"a")
                s.settimeout(1.0)
                try:
                    if s.recv(4096) == b"":
                        break
                except socket.timeout:
                    continue
            else:
                s.close()
                return
        except OSError:
            pass
        self.cut_after = time.monotonic() - t0


def test_abusive_http_clients_block_nothing_and_leak_nothing(cluster, namespace, controller):
    ns = namespace
    c = controller()
    published(cluster, ns, c)
    pp, mp = ports(c)["probes"], ports(c)["metrics"]
    pid = c.proc.pid
    for _ in range(20):                      # warm up the allocator and the render paths
        assert http_get(pp, "/healthz")[0] == 200
        assert http_get(mp, "/metrics")[0] == 200
    time.sleep(1)
    rss_before = rss_kb(pid)

    # 200 idle sockets (connected, never a byte) on the probe port
    idle = [_connect(pp) for _ in range(200)]
    t_idle = time.monotonic()
    # 20 slowloris connections, 10 per port, a header byte per second for up to 30 s
    slow = [Slowloris(pp if i % 2 else mp, 30) for i in range(20)]
    for t in slow:
        t.start()
    # a 5 MB header on each port
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (5 << 20) + b"\r\n\r\n"
    for port in (pp, mp):
        s = _connect(port)
        try:
            s.sendall(big)
        except OSError:
            pass                             # refused half-way: fine
        head = b""
        s.settimeout(10)
        try:
            head = s.recv(4096)
        except OSError:
            pass
        assert not head.startswith(b"HTTP/1.1 200"), head[:200]
        s.close()
    # garbage: random bytes, a TLS hello, a bare NUL flood, a bogus request line
    garbage = [os.urandom(64 << 10), b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(500),
               b"\0" * 100000, b"BREW /coffee HTCPCP/1.0\r\n\r\n", b"GET " + b"/" * 70000 + b" HTTP/1.1\r\n\r\n"]
    for port in (pp, mp):
        for g in garbage:
            s = _connect(port)
            try:
                s.sendall(g)
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            assert _closed_by_peer(s, 15), ("connection kept open after garbage", g[:40])
            s.close()

    # meanwhile the probes answer at once and a model change is published
    t0 = time.monotonic()
    assert http_get(pp, "/healthz", timeout=3) == (200, "ok\n")
    assert http_get(pp, "/readyz", timeout=3) == (200, "ok\n")
    assert http_get(mp, "/metrics", timeout=3)[0] == 200
    assert time.monotonic() - t0 < 3
    set_deployment(cluster, ns, "gpt-5.4-under-abuse")
    wait_key(cluster, ns, "FOUNDRY_DEPLOYMENT_GENERATION", "gpt-5.4-under-abuse", c)

    # the server sheds the slow and the idle clients by itself (timeout 10 s)
    for t in slow:
        t.join(40)
    cut = [t.cut_after for t in slow]
    assert all(x is not None and x < 25 for x in cut), ("slowloris connections not cut", cut)
    still_open = sum(1 for s in idle
                     if not _closed_by_peer(s, max(0.1, t_idle + 25 - time.monotonic())))
    assert still_open == 0, "%d idle connections still open after 25 s" % still_open
    for s in idle:
        s.close()

    time.sleep(2)
    assert http_get(pp, "/healthz") == (200, "ok\n")
    rss_after = rss_kb(pid)
    assert rss_after - rss_before < 10 * 1024, "VmRSS grew from %d kB to %d kB" % (rss_before, rss_after)
    c.assert_running()


# ---- 4. signals ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_with_exit_zero(cluster, namespace, controller, sig):
    ns = namespace
    c = controller(*leader_args(ns))
    c.wait_log("became leader", lambda r: r.get("msg") == "became leader")
    published(cluster, ns, c)
    t0 = time.monotonic()
    code = c.stop(sig, timeout=15)
    assert code == 0, "exit %s after %s\n%s" % (code, sig.name, c.stderr()[-3000:])
    assert time.monotonic() - t0 < 10
    msgs = [r.get("msg") for r in c.records()]
    assert "signal received, stopping" in msgs, msgs[-5:]
    assert "leader lease released" in msgs, msgs[-5:]
