#!/usr/bin/python3
"""Speed and memory figures of foundry-controller (`make bench`).

Entry point: tests/bench/run (which sets up the safety-net cleanup). Run with
/usr/bin/python3 (needs python3-yaml). See tests/bench/README.md for what each
figure means.

    bench.py [--only latency,scale,azure,idle]      the benchmark
    bench.py floor SERVER TOKENFILE CAFILE NAMESPACE   the "floor" client (internal)

BENCH_QUICK=1 shrinks every section (20 trials, 200 / 2,000 models).
Everything talks to the API server directly over HTTPS (keep-alive
connections, bearer token, the cluster's CA): spawning kubectl per request
would dominate the latencies being measured.
"""

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PY = "/usr/bin/python3"
BIN = os.environ.get("FC_BIN") or os.path.join(REPO, "bin", "foundry-controller")
CLUSTER_UP = os.path.join(REPO, "tests", "cluster", "up")
CLUSTER_DOWN = os.path.join(REPO, "tests", "cluster", "down")
RESULTS = os.path.join(HERE, "last-results.txt")
GROUP = "foundry.aucert.io"
VERSION = "v1alpha1"
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
CLK_TCK = os.sysconf("SC_CLK_TCK")

sys.path.insert(0, os.path.join(REPO, "tests", "azure_emulator"))


class BenchError(RuntimeError):
    pass


# ---- cleanup registry (shared with tests/bench/run's trap) ------------------

_state_lock = threading.Lock()


def _state_edit(add=None, remove=None):
    path = os.environ.get("BENCH_STATE")
    if not path:
        return
    with _state_lock:
        try:
            with open(path) as f:
                lines = [ln.rstrip("\n") for ln in f if ln.strip()]
        except OSError:
            lines = []
        if remove and remove in lines:
            lines.remove(remove)
        if add:
            lines.append(add)
        with open(path, "w") as f:
            f.write("".join(ln + "\n" for ln in lines))


# ---- statistics ----------------------------------------------------------------

def pct(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(1, math.ceil(p / 100.0 * len(s)))
    return s[k - 1]


def ms(x):
    return "%.1f ms" % (x * 1000.0)


def mib(kib):
    return "%.1f MB" % (kib / 1024.0)


# ---- report --------------------------------------------------------------------

class Report:
    """Lines printed as they come and kept for tests/bench/last-results.txt."""

    def __init__(self):
        self.lines = []

    def out(self, line=""):
        self.lines.append(line)
        print(line, flush=True)

    def section(self, title):
        self.out("")
        self.out(title)
        self.out("-" * len(title))

    def row(self, name, value, goal=""):
        self.out("  %-46s %-22s %s" % (name, value, ("goal " + goal) if goal else ""))

    def how(self, text):
        words, line = text.split(), "    how:"
        for w in words:
            if len(line) + 1 + len(w) > 96:
                self.out(line)
                line = "         "
            line += " " + w
        self.out(line)

    def save(self):
        with open(RESULTS, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


# ---- API server client -----------------------------------------------------------

class Kube:
    """Raw HTTPS calls to the API server, one keep-alive connection per thread."""

    RETRY_STATUS = (429, 500, 502, 503, 504)

    def __init__(self, server, token, ca_file):
        u = urllib.parse.urlparse(server)
        self.host, self.port = u.hostname, u.port or 443
        self.token = token
        self.ca_file = ca_file
        self.ctx = ssl.create_default_context(cafile=ca_file)
        self.local = threading.local()

    def connect(self, timeout=60):
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
        c.connect()
        return c

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = self.local.conn = self.connect()
        return c

    def _drop(self):
        c = getattr(self.local, "conn", None)
        self.local.conn = None
        if c is not None:
            c.close()

    def request(self, method, path, body=None, ctype="application/json", ok=(200, 201), tries=6):
        """Returns (status, parsed JSON). Retries connection errors and 429/5xx;
        raises BenchError for any other status not in ok."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Authorization": "Bearer " + self.token, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = ctype
        last = None
        for attempt in range(tries):
            try:
                c = self._conn()
                c.request(method, path, body=data, headers=headers)
                r = c.getresponse()
                raw = r.read()
                status = r.status
            except (OSError, http.client.HTTPException) as e:
                self._drop()
                last = "%s: %s" % (type(e).__name__, e)
                time.sleep(0.05 * (attempt + 1))
                continue
            try:
                obj = json.loads(raw) if raw else None
            except ValueError:
                obj = raw.decode(errors="replace")
            if status in ok:
                return status, obj
            if status in self.RETRY_STATUS:
                last = "%d %s" % (status, str(obj)[:200])
                time.sleep(0.1 * (attempt + 1))
                continue
            raise BenchError("%s %s -> %d %s" % (method, path, status, str(obj)[:400]))
        raise BenchError("%s %s failed after %d tries: %s" % (method, path, tries, last))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)[1]

    def create(self, path, body):
        """POST; an AlreadyExists (from a retried POST) counts as success."""
        return self.request("POST", path, body, ok=(200, 201, 409))[1]

    def merge_patch(self, path, body):
        return self.request("PATCH", path, body, ctype="application/merge-patch+json")[1]

    def apply(self, path, body, manager):
        q = "?fieldManager=%s&force=true" % manager
        return self.request("PATCH", path + q, json.dumps(body).encode(),
                            ctype="application/apply-patch+yaml")[1]


def fm_path(ns, name=None):
    p = "/apis/%s/%s/namespaces/%s/foundrymodels" % (GROUP, VERSION, ns)
    return p + ("/" + name if name else "")


def fa_path(ns, name=None):
    p = "/apis/%s/%s/namespaces/%s/foundryaccounts" % (GROUP, VERSION, ns)
    return p + ("/" + name if name else "")


def cm_path(ns, name=None):
    p = "/api/v1/namespaces/%s/configmaps" % ns
    return p + ("/" + name if name else "")


def namespace_body(ns):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}


def account_body(ns, name="acct", endpoint="https://bench.openai.azure.com/", account_name=None,
                 region=None):
    spec = {"subscriptionId": "00000000-0000-0000-0000-000000000000",
            "resourceGroup": "aucert-foundation-rg", "primary": True}
    if endpoint:
        spec["endpoint"] = endpoint
    if account_name:
        spec["accountName"] = account_name
    if region:
        spec["region"] = region
    return {"apiVersion": "%s/%s" % (GROUP, VERSION), "kind": "FoundryAccount",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def model_body(ns, name, key, deployment="gpt-5.4", account="acct"):
    return {"apiVersion": "%s/%s" % (GROUP, VERSION), "kind": "FoundryModel",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"accountRef": {"name": account},
                     "model": {"format": "OpenAI", "name": "gpt-5.4", "version": "2026-03-05"},
                     "sku": {"name": "GlobalStandard"},
                     "deployment": deployment,
                     "keys": [key]}}


def create_all(kube, items, concurrency=8):
    """POSTs every (path, body) with `concurrency` keep-alive connections;
    returns the elapsed seconds."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as ex:
        for _ in ex.map(lambda it: kube.create(*it), items):
            pass
    return time.perf_counter() - t0


def model_items(ns, n, account="acct"):
    return [(fm_path(ns), model_body(ns, "m-%05d" % i, "K%04d" % i, account=account))
            for i in range(1, n + 1)]


# ---- watches -------------------------------------------------------------------------

class Watch(threading.Thread):
    """A watch (list path + ?watch=1 from resourceVersion) read line by line in
    a thread; on_event(type, object, t) with t = time.perf_counter() taken as
    soon as the event's line has arrived. Re-opens from the last
    resourceVersion if the server ends the stream."""

    def __init__(self, kube, path, rv, on_event, name="watch"):
        super().__init__(name=name, daemon=True)
        self.kube, self.path, self.rv, self.on_event = kube, path, rv, on_event
        self.stopped = False
        self.error = None
        self.conn = None
        self.opened = threading.Event()

    def run(self):
        try:
            while not self.stopped:
                self._one()
        except Exception as e:  # noqa: BLE001 - reported by check()
            if not self.stopped:
                self.error = "%s: %s" % (type(e).__name__, e)
        finally:
            self.opened.set()

    def _one(self):
        sep = "&" if "?" in self.path else "?"
        q = "%s%swatch=1&allowWatchBookmarks=true&timeoutSeconds=3600&resourceVersion=%s" % (
            self.path, sep, self.rv)
        self.conn = self.kube.connect(timeout=None)
        self.conn.request("GET", q, headers={"Authorization": "Bearer " + self.kube.token})
        r = self.conn.getresponse()
        if r.status != 200:
            raise BenchError("watch %s -> %d %s" % (self.path, r.status, r.read()[:300]))
        self.opened.set()
        while not self.stopped:
            line = r.readline()
            if not line:
                break
            t = time.perf_counter()
            ev = json.loads(line)
            typ, obj = ev.get("type"), ev.get("object") or {}
            if typ == "ERROR":
                raise BenchError("watch %s: %s" % (self.path, obj))
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if rv:
                self.rv = rv
            if typ != "BOOKMARK":
                self.on_event(typ, obj, t)
        self.conn.close()

    def check(self):
        if self.error:
            raise BenchError("watch %s failed: %s" % (self.path, self.error))

    def stop(self):
        self.stopped = True
        c = self.conn
        if c is not None and c.sock is not None:
            try:
                c.sock.shutdown(2)
            except OSError:
                pass


def list_rv(kube, path):
    obj = kube.get(path + ("&" if "?" in path else "?") + "limit=1")
    return obj["metadata"]["resourceVersion"]


class ConfigMapTracker:
    """Watches ConfigMaps named `name` (in one namespace, or all) and keeps,
    per namespace: the data, the set of resourceVersions seen (one per write),
    when each value of each key was first seen, and when the namespace first
    had `want` keys matching key_regex."""

    def __init__(self, kube, name="llm-config", namespace=None, key_regex=r"^FOUNDRY_DEPLOYMENT_K\d+$",
                 want=None, want_namespaces=None):
        self.kube, self.name = kube, name
        self.key_rx = re.compile(key_regex)
        self.want = want
        self.want_namespaces = want_namespaces
        self.cond = threading.Condition()
        self.data = {}          # ns -> data
        self.rvs = {}           # ns -> set of resourceVersions
        self.seen = {}          # (ns, key, value) -> t first seen
        self.counts = {}        # ns -> number of matching keys
        self.full_at = {}       # ns -> t when counts reached want
        self.all_full_at = None
        path = cm_path(namespace) if namespace else "/api/v1/configmaps"
        path += "?fieldSelector=" + urllib.parse.quote("metadata.name=" + name)
        self.watch = Watch(kube, path, list_rv(kube, path), self._on, name="cm-watch")
        self.watch.start()
        self.watch.opened.wait(10)

    def _on(self, typ, obj, t):
        if typ not in ("ADDED", "MODIFIED"):
            return
        md = obj.get("metadata") or {}
        ns = md.get("namespace")
        data = obj.get("data") or {}
        with self.cond:
            self.data[ns] = data
            self.rvs.setdefault(ns, set()).add(md.get("resourceVersion"))
            for k, v in data.items():
                self.seen.setdefault((ns, k, v), t)
            n = sum(1 for k in data if self.key_rx.match(k))
            self.counts[ns] = n
            if self.want is not None and n >= self.want and ns not in self.full_at:
                self.full_at[ns] = t
                if (self.all_full_at is None and self.want_namespaces is not None
                        and len(self.full_at) >= self.want_namespaces):
                    self.all_full_at = t
            self.cond.notify_all()

    def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                r = pred()
                if r:
                    return r
                self.watch.check()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError("timed out after %ss waiting for %s" % (timeout, what))
                self.cond.wait(min(left, 1.0))

    def wait_value(self, ns, key, value, timeout=10):
        return self.wait(lambda: self.seen.get((ns, key, value)), timeout,
                         "%s=%s in %s/%s" % (key, value, ns, self.name))

    def wait_full(self, ns, timeout, progress=None):
        return self.wait(lambda: self.full_at.get(ns), timeout,
                         "%s keys in %s/%s (have %s)" % (self.want, ns, self.name, self.counts.get(ns)))

    def writes(self, ns):
        with self.cond:
            return len(self.rvs.get(ns, ()))

    def stop(self):
        self.watch.stop()


class ReadyTracker:
    """Watches FoundryModels (one namespace or all) and records when `want`
    of them first have Ready=True for their current generation."""

    def __init__(self, kube, namespace=None, want=0):
        self.want = want
        self.cond = threading.Condition()
        self.ready = set()
        self.reasons = {}
        self.all_at = None
        self.modified = 0
        path = fm_path(namespace) if namespace else "/apis/%s/%s/foundrymodels" % (GROUP, VERSION)
        self.watch = Watch(kube, path, list_rv(kube, path), self._on, name="fm-watch")
        self.watch.start()
        self.watch.opened.wait(10)

    def _on(self, typ, obj, t):
        md = obj.get("metadata") or {}
        key = (md.get("namespace"), md.get("name"))
        st = obj.get("status") or {}
        ready = next((c for c in st.get("conditions") or [] if c.get("type") == "Ready"), None)
        with self.cond:
            if typ == "MODIFIED":
                self.modified += 1
            if typ == "DELETED":
                self.ready.discard(key)
            elif ready and ready.get("status") == "True" and \
                    st.get("observedGeneration") == md.get("generation"):
                self.ready.add(key)
            else:
                self.ready.discard(key)
                if ready:
                    self.reasons[key] = ready.get("reason")
            if self.all_at is None and self.want and len(self.ready) >= self.want:
                self.all_at = t
            self.cond.notify_all()

    def wait_all(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.all_at is None:
                self.watch.check()
                left = deadline - time.monotonic()
                if left <= 0:
                    reasons = {}
                    for k, r in self.reasons.items():
                        if k not in self.ready:
                            reasons[r] = reasons.get(r, 0) + 1
                    raise BenchError("timed out after %ss: %d/%d models Ready (not ready by reason: %s)"
                                     % (timeout, len(self.ready), self.want, reasons))
                self.cond.wait(min(left, 1.0))
            return self.all_at

    def stop(self):
        self.watch.stop()


# ---- processes ---------------------------------------------------------------------------

def proc_status(pid):
    """VmRSS and VmHWM in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith(("VmRSS:", "VmHWM:")):
                k, v = ln.split(":", 1)
                out[k] = int(v.split()[0])
    return out


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])     # utime + stime (fields 14, 15)


class Sampler(threading.Thread):
    """Samples the controller's VmRSS every 0.2 s: rss_at(t) is the last
    sample taken at or before perf_counter time t."""

    def __init__(self, pid):
        super().__init__(name="sampler", daemon=True)
        self.pid, self.samples, self.stopped = pid, [], False

    def run(self):
        while not self.stopped:
            try:
                self.samples.append((time.perf_counter(), proc_status(self.pid)["VmRSS"]))
            except (OSError, KeyError):
                return
            time.sleep(0.2)

    def rss_at(self, t):
        best = None
        for ts, rss in self.samples:
            if ts <= t:
                best = rss
        return best if best is not None else float("nan")

    def stop(self):
        self.stopped = True


class CpuSplit:
    """utime+stime of the controller, kube-apiserver, etcd and this bench
    (with its threads; the floor and emulator not included) between begin()
    and end()."""

    def __init__(self, ctl, cluster):
        self.pids = {"controller": ctl.pid, "kube-apiserver": cluster.pid_of("apiserver"),
                     "etcd": cluster.pid_of("etcd"), "bench (python)": os.getpid()}
        self.t0 = self._read()

    def _read(self):
        out = {}
        for k, pid in self.pids.items():
            try:
                out[k] = proc_cpu_ticks(pid) if pid else None
            except OSError:
                out[k] = None
        return out

    def end(self):
        t1 = self._read()
        return ", ".join("%s %.1f" % (k, (t1[k] - self.t0[k]) / CLK_TCK)
                         for k in self.pids if t1[k] is not None and self.t0[k] is not None)


class Controller:
    """bin/foundry-controller run, JSON logs to a file."""

    def __init__(self, cluster, workdir, tag, namespace=None, args=(), env=None):
        self.cluster = cluster
        self.log_path = os.path.join(workdir, "controller-%s.log" % tag)
        self.args = [BIN, "run", "--kubeconfig", cluster.kubeconfig,
                     "--metrics-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:0",
                     "--log-format=json"]
        if namespace:
            self.args += ["--namespace", namespace]
        self.args += list(args)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("FOUNDRY_", "AZURE_")) and k != "KUBECONFIG"}
        self.env.update(env or {})
        self.proc = None
        self.started_at = None
        self._port = None
        self._log_pos = 0
        self._records = []

    def start(self):
        with open(self.log_path, "wb") as err:
            self.started_at = time.perf_counter()
            self.started_wall = time.time()
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=err,
                                         stderr=err, env=self.env)
        _state_edit(add="pid %d" % self.proc.pid)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        if self.proc.poll() is not None:
            raise BenchError("controller exited with %s; log %s:\n%s" % (
                self.proc.returncode, self.log_path, self.tail()))

    def tail(self, n=30):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def records(self):
        with open(self.log_path, "rb") as f:
            f.seek(self._log_pos)
            chunk = f.read()
        end = chunk.rfind(b"\n")
        if end >= 0:
            for ln in chunk[:end].splitlines():
                try:
                    rec = json.loads(ln)
                except ValueError:
                    rec = {"_raw": ln.decode(errors="replace")}
                if not isinstance(rec, dict):
                    rec = {"_raw": str(rec)}
                self._records.append(rec)
            self._log_pos += end + 1
        return self._records

    def metrics_port(self, timeout=30):
        deadline = time.monotonic() + timeout
        while self._port is None:
            self.alive()
            for r in self.records():
                if r.get("msg") == "listening" and r.get("listener") == "metrics":
                    self._port = int(r["port"])
            if self._port is None:
                if time.monotonic() > deadline:
                    raise BenchError("no 'listening listener=metrics' log line in %ss:\n%s"
                                     % (timeout, self.tail()))
                time.sleep(0.05)
        return self._port

    def metrics(self):
        """{(name, frozenset(labels)): value} from /metrics."""
        c = http.client.HTTPConnection("127.0.0.1", self.metrics_port(), timeout=10)
        try:
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
        finally:
            c.close()
        out = {}
        rx = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
        lrx = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
        for ln in text.splitlines():
            if ln.startswith("#"):
                continue
            m = rx.match(ln)
            if m:
                out[(m.group(1), frozenset(lrx.findall(m.group(2) or "")))] = float(m.group(3))
        return out

    @staticmethod
    def metric_sum(metrics, name, **labels):
        want = set(labels.items())
        return sum(v for (n, ls), v in metrics.items() if n == name and want <= set(ls))

    def mem(self):
        return proc_status(self.pid)

    def cpu_ticks(self):
        return proc_cpu_ticks(self.pid)

    def wait_idle(self, quiet=3.0, timeout=300):
        """Until the log has not grown and the process used no CPU for `quiet` s."""
        deadline = time.monotonic() + timeout
        last_size, last_ticks, since = -1, -1, time.monotonic()
        while True:
            self.alive()
            size = os.path.getsize(self.log_path)
            ticks = self.cpu_ticks()
            now = time.monotonic()
            if size != last_size or ticks != last_ticks:
                last_size, last_ticks, since = size, ticks, now
            elif now - since >= quiet:
                return
            if now > deadline:
                raise BenchError("controller not idle after %ss" % timeout)
            time.sleep(0.25)

    def log_time(self, msg, timeout=600):
        """perf_counter time of the first log record `msg` (from its ts field)."""
        deadline = time.monotonic() + timeout
        while True:
            self.alive()
            r = next((r for r in self.records() if r.get("msg") == msg), None)
            if r and r.get("ts"):
                ts = datetime.datetime.strptime(r["ts"].replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
                return self.started_at + (ts.timestamp() - self.started_wall)
            if time.monotonic() > deadline:
                raise BenchError("no %r log line in %ss" % (msg, timeout))
            time.sleep(0.1)

    def reconcile_count(self):
        return sum(1 for r in self.records() if r.get("msg") == "reconciled")

    def reconcile_stats(self, skip=0):
        """Figures of the 'reconciled' log records after the first `skip` of them,
        and a count of warn/error records by message."""
        durs, changed = [], 0
        warns = {}
        seen = 0
        for r in self.records():
            if r.get("msg") == "reconciled":
                seen += 1
                if seen <= skip:
                    continue
            if r.get("msg") == "reconciled":
                d = str(r.get("duration", "0s")).rstrip("s")
                try:
                    durs.append(float(d))
                except ValueError:
                    pass
                if r.get("changed") not in (None, "none"):
                    changed += 1
            elif r.get("level") in ("warn", "error", "WARN", "ERROR"):
                warns[r.get("msg")] = warns.get(r.get("msg"), 0) + 1
        return {"n": len(durs), "changed": changed, "sum": sum(durs),
                "max": max(durs) if durs else 0.0,
                "p50": statistics.median(durs) if durs else 0.0, "warns": warns}

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _state_edit(remove="pid %d" % self.proc.pid)


class Cluster:
    def __init__(self, workdir):
        self.workdir = workdir
        self.dir = None

    def up(self):
        t0 = time.monotonic()
        p = subprocess.run([CLUSTER_UP], capture_output=True, text=True, timeout=900)
        lines = p.stdout.strip().splitlines()
        if lines:
            self.dir = lines[-1]
            _state_edit(add="cluster %s" % self.dir)
        if p.returncode != 0 or not lines:
            raise BenchError("tests/cluster/up failed (%d):\n%s" % (p.returncode, p.stderr[-3000:]))
        read = lambda n: open(os.path.join(self.dir, n)).read().strip()  # noqa: E731
        self.server, self.token = read("server"), read("token")
        self.ca_file = os.path.join(self.dir, "ca.crt")
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.token_file = os.path.join(self.dir, "token")
        self.kube = Kube(self.server, self.token, self.ca_file)
        self.install_crds()
        log("control plane at %s ready in %.0fs" % (self.server, time.monotonic() - t0))
        return self

    def install_crds(self):
        import yaml
        crd_dir = os.path.join(REPO, "crd")
        names = []
        for fn in sorted(os.listdir(crd_dir)):
            if fn.endswith((".yaml", ".yml")):
                with open(os.path.join(crd_dir, fn)) as f:
                    for doc in yaml.safe_load_all(f):
                        if doc and doc.get("kind") == "CustomResourceDefinition":
                            self.kube.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", doc)
                            names.append(doc["metadata"]["name"])
        deadline = time.monotonic() + 90
        for n in names:
            while True:
                crd = self.kube.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + n)
                conds = (crd.get("status") or {}).get("conditions") or []
                if any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                    break
                if time.monotonic() > deadline:
                    raise BenchError("CRD %s not Established" % n)
                time.sleep(0.2)
        for p in ("/apis/%s/%s/foundrymodels" % (GROUP, VERSION),
                  "/apis/%s/%s/foundryaccounts" % (GROUP, VERSION)):
            while True:
                try:
                    self.kube.get(p + "?limit=1")
                    break
                except BenchError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)

    def down(self):
        if self.dir:
            subprocess.run([CLUSTER_DOWN, self.dir], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=120)
            _state_edit(remove="cluster %s" % self.dir)
            self.dir = None

    def pid_of(self, what):
        try:
            return int(open(os.path.join(self.dir, what + ".pid")).read())
        except (OSError, ValueError):
            return None


# ---- the floor client ----------------------------------------------------------------------

def floor_main(argv):
    """A bare controller: watches FoundryModels in NAMESPACE and on each
    ADDED/MODIFIED event server-side-applies llm-config with
    FOUNDRY_DEPLOYMENT_<key> = spec.deployment (fieldManager=floor). One
    process, one watch connection, one keep-alive connection for the writes."""
    server, token_file, ca_file, ns = argv
    kube = Kube(server, open(token_file).read().strip(), ca_file)
    path = fm_path(ns)

    def on(typ, obj, _t):
        if typ not in ("ADDED", "MODIFIED"):
            return
        spec = obj.get("spec") or {}
        data = {"FOUNDRY_DEPLOYMENT_" + k: spec.get("deployment") or spec["model"]["name"]
                for k in spec.get("keys") or []}
        kube.apply(cm_path(ns, "llm-config"),
                   {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "llm-config", "namespace": ns}, "data": data}, "floor")

    w = Watch(kube, path, list_rv(kube, path), on, name="floor")
    # the first list's objects come as ADDED only from a list; apply them once
    for item in kube.get(path).get("items", []):
        on("ADDED", item, 0)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    w.run()
    if w.error:
        sys.stderr.write("floor: %s\n" % w.error)
        return 1
    return 0


class Floor:
    def __init__(self, cluster, ns, workdir):
        self.log_path = os.path.join(workdir, "floor.log")
        with open(self.log_path, "wb") as f:
            self.proc = subprocess.Popen([PY, os.path.abspath(__file__), "floor", cluster.server,
                                          cluster.token_file, cluster.ca_file, ns],
                                         stdin=subprocess.DEVNULL, stdout=f, stderr=f)
        _state_edit(add="pid %d" % self.proc.pid)

    def alive(self):
        if self.proc.poll() is not None:
            raise BenchError("floor client exited with %s:\n%s" % (self.proc.returncode,
                                                                    open(self.log_path).read()[-2000:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _state_edit(remove="pid %d" % self.proc.pid)


# ---- sections --------------------------------------------------------------------------------

def setup_namespace(kube, ns, account=None):
    kube.create("/api/v1/namespaces", namespace_body(ns))
    kube.create(fa_path(ns), account or account_body(ns))


def wait_generation(kube, ns, name, gen, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = kube.get(fm_path(ns, name)).get("status") or {}
        if (st.get("observedGeneration") or 0) >= gen:
            return True
        time.sleep(0.02)
    return False


def bench_latency(rep, cl, workdir, trials):
    kube = cl.kube
    ns_c, ns_f = "bench-latency", "bench-latency-floor"
    for ns in (ns_c, ns_f):
        setup_namespace(kube, ns)
        kube.create(fm_path(ns), model_body(ns, "m", "LAT", deployment="v-init"))
    cms = ConfigMapTracker(kube, key_regex=r"^FOUNDRY_DEPLOYMENT_LAT$")
    ctl = Controller(cl, workdir, "latency", namespace=ns_c, args=["--azure-validation=off"]).start()
    floor = Floor(cl, ns_f, workdir)
    try:
        for ns in (ns_c, ns_f):
            cms.wait_value(ns, "FOUNDRY_DEPLOYMENT_LAT", "v-init", timeout=60)
        ctl.wait_idle(quiet=1.0, timeout=60)
        lat = {"controller": [], "floor": []}
        slow_gen = 0
        n_ctl_rec_before = ctl.reconcile_stats()["n"]
        warmup = 3
        for i in range(-warmup, trials):
            order = ("controller", "floor") if i % 2 == 0 else ("floor", "controller")
            for side in order:
                ns = ns_c if side == "controller" else ns_f
                val = "v-%s-%d" % (side[0], i + warmup)
                t0 = time.perf_counter()
                obj = kube.merge_patch(fm_path(ns, "m"), {"spec": {"deployment": val}})
                t1 = cms.wait_value(ns, "FOUNDRY_DEPLOYMENT_LAT", val, timeout=15)
                if i >= 0:
                    lat[side].append(t1 - t0)
                if side == "controller":
                    # let the controller finish (status write) before the next change
                    if not wait_generation(kube, ns, "m", obj["metadata"]["generation"]):
                        slow_gen += 1
                    ctl.alive()
                else:
                    floor.alive()
                time.sleep(0.05)
        st = ctl.reconcile_stats()
        rep.section("1. Change latency: FoundryModel spec.deployment -> llm-config (%d trials each)" % trials)
        c, f = lat["controller"], lat["floor"]
        rep.row("controller p50 / p99", "%s / %s" % (ms(statistics.median(c)), ms(pct(c, 99))))
        rep.row("floor (bare watch + SSA client) p50 / p99", "%s / %s" % (ms(statistics.median(f)), ms(pct(f, 99))))
        rep.row("controller min / max", "%s / %s" % (ms(min(c)), ms(max(c))))
        rep.row("floor min / max", "%s / %s" % (ms(min(f)), ms(max(f))))
        rep.row("ratio p50 controller / floor", "%.2fx" % (statistics.median(c) / statistics.median(f)), "<= 1.5x")
        rep.row("ratio p99 controller / floor", "%.2fx" % (pct(c, 99) / pct(f, 99)))
        rep.row("controller reconcile duration p50 / max (log)", "%s / %s" % (ms(st["p50"]), ms(st["max"])))
        rep.row("reconciles logged during the trials", "%d" % (st["n"] - n_ctl_rec_before))
        if slow_gen:
            rep.row("trials where status lagged > 5 s", str(slow_gen))
        rep.how("t0 = just before a merge-PATCH of spec.deployment (keep-alive HTTPS); t1 = when a "
                "ConfigMap watch (one stream, both namespaces) delivers the event carrying the new value. "
                "Controller (--azure-validation=off, --namespace %s) and floor (a separate python process: "
                "FoundryModel watch -> one server-side apply PATCH per MODIFIED event, namespace %s) "
                "alternate trial by trial after %d warm-up trials; after each controller trial the bench waits "
                "for status.observedGeneration, then 50 ms. p99 = nearest rank." % (ns_c, ns_f, warmup))
    finally:
        floor.stop()
        ctl.stop()
        cms.stop()


def bench_scale(rep, cl, workdir, n, variant, number):
    kube = cl.kube
    ns = "bench-scale-" + variant
    setup_namespace(kube, ns)
    ctl = Controller(cl, workdir, "scale-" + variant, namespace=ns, args=["--azure-validation=off"])
    items = model_items(ns, n)
    cms = ready = sampler = None
    try:
        if variant == "running":
            ctl.start()
            sampler = Sampler(ctl.pid)
            sampler.start()
            ctl.metrics_port()
            ctl.wait_idle(quiet=1.0, timeout=60)
            m0 = ctl.metrics()
            cpu = CpuSplit(ctl, cl)
            skip = ctl.reconcile_count()
            cms = ConfigMapTracker(kube, namespace=ns, want=n, want_namespaces=1)
            ready = ReadyTracker(kube, namespace=ns, want=n)
            t0 = time.perf_counter()
            create_s = create_all(kube, items)
        else:
            create_s = create_all(kube, items)
            cms = ConfigMapTracker(kube, namespace=ns, want=n, want_namespaces=1)
            ready = ReadyTracker(kube, namespace=ns, want=n)
            m0 = {}
            skip = 0
            ctl.start()
            cpu = CpuSplit(ctl, cl)
            sampler = Sampler(ctl.pid)
            sampler.start()
            t0 = ctl.started_at
        t_full = cms.wait_full(ns, timeout=600)
        rss_conv = ctl.mem()["VmRSS"]
        t_ready = ready.wait_all(timeout=600)
        t_synced = ctl.log_time("caches synced")
        ctl.wait_idle(quiet=3.0, timeout=600)
        cpu_split = cpu.end()
        sampler.stop()
        mem = ctl.mem()
        m1 = ctl.metrics()
        st = ctl.reconcile_stats(skip)
        w_watch = cms.writes(ns)
        w_metric = (Controller.metric_sum(m1, "foundry_configmap_writes_total", namespace=ns)
                    - Controller.metric_sum(m0, "foundry_configmap_writes_total", namespace=ns))
        sw = (Controller.metric_sum(m1, "foundry_status_writes_total")
              - Controller.metric_sum(m0, "foundry_status_writes_total"))
        rec = (Controller.metric_sum(m1, "controller_runtime_reconcile_total")
               - Controller.metric_sum(m0, "controller_runtime_reconcile_total"))
        title = {"running": "controller running while they are created",
                 "precreated": "created first, then the controller starts"}[variant]
        rep.section("%d. %d FoundryModels in one namespace: %s" % (number, n, title))
        rep.row("creation (8 concurrent POSTs)", "%.1f s (%.0f/s)" % (create_s, n / create_s))
        rep.row("time to all %d keys in llm-config" % n, "%.2f s" % (t_full - t0))
        if variant == "running":
            rep.row("  of which after the last POST returned", "%.2f s" % (t_full - t0 - create_s))
        rep.row("time to all %d models Ready (status)" % n, "%.2f s" % (t_ready - t0))
        rep.row("ConfigMap writes (watch: resourceVersions)", str(w_watch))
        rep.row("ConfigMap writes (foundry_configmap_writes_total)", "%d" % w_metric)
        rep.row("status writes (foundry_status_writes_total)", "%d" % sw)
        rep.row("FoundryModel MODIFIED events (finalizer+status)", str(ready.modified))
        rep.row("reconciles (metric / 'reconciled' log lines)", "%d / %d" % (rec, st["n"]))
        rep.row("reconcile duration p50 / max / sum (log)", "%s / %s / %.2f s" % (ms(st["p50"]), ms(st["max"]), st["sum"]))
        rep.row("controller peak RSS (VmHWM)", mib(mem["VmHWM"]), "< 20 MB")
        rep.row("controller RSS at convergence / when idle", "%s / %s" % (mib(rss_conv), mib(mem["VmRSS"])), "< 20 MB")
        if variant == "precreated":
            rep.row("controller start -> 'caches synced' (initial LISTs)", "%.2f s" % (t_synced - t0))
            rep.row("RSS at caches synced / all keys / all Ready", "%s / %s / %s" % (
                mib(sampler.rss_at(t_synced + 0.2)), mib(sampler.rss_at(t_full + 0.2)),
                mib(sampler.rss_at(t_ready + 0.2))))
        else:
            rep.row("RSS at all keys / all Ready", "%s / %s" % (
                mib(sampler.rss_at(t_full + 0.2)), mib(sampler.rss_at(t_ready + 0.2))))
        rep.row("CPU s until idle", cpu_split)
        if st["warns"]:
            rep.row("warn/error log lines", ", ".join("%s x%d" % kv for kv in st["warns"].items())[:120])
        t0_what = ("the first POST" if variant == "running" else "the controller's exec")
        rep.how("one FoundryAccount (spec.endpoint, primary) and %d FoundryModels with unique keys "
                "K0001.. in namespace %s; times from %s to the ConfigMap watch event that has all %d "
                "FOUNDRY_DEPLOYMENT_K* keys, and to the FoundryModel watch event after which all are Ready "
                "for their generation. Writes counted from the start of the %s. RSS from /proc/PID/status "
                "(VmRSS, VmHWM); 'idle' = no log line and no CPU tick for 3 s."
                % (n, ns, t0_what, n, "creation" if variant == "running" else "controller"))
    finally:
        ctl.stop()
        for t in (cms, ready, sampler):
            if t:
                t.stop()


def bench_azure(rep, cl, workdir, n):
    from client import Emulator
    kube = cl.kube
    ns = "bench-azure"
    emu = Emulator(os.path.join(workdir, "azure"), quiet=True).start()
    _state_edit(add="pid %d" % emu.proc.pid)
    ctl = cms = ready = None
    try:
        setup_namespace(kube, ns, account_body(ns, "aucert-ai", endpoint=None, account_name="aucert-ai",
                                               region="westus"))
        create_s = create_all(kube, model_items(ns, n, account="aucert-ai"))
        cms = ConfigMapTracker(kube, namespace=ns, want=n, want_namespaces=1)
        ready = ReadyTracker(kube, namespace=ns, want=n)
        emu.reset_requests()
        ctl = Controller(cl, workdir, "azure", namespace=ns,
                         args=["--azure-validation=enforce"] + emu.controller_args(),
                         env=emu.controller_env("secret"))
        ctl.start()
        t0 = ctl.started_at
        t_full = cms.wait_full(ns, timeout=600)
        t_ready = ready.wait_all(timeout=600)
        ctl.wait_idle(quiet=3.0, timeout=600)
        mem = ctl.mem()
        st = ctl.reconcile_stats()
        m = ctl.metrics()
        reqs = emu.requests()
        cats = {"token": 0, "account": 0, "deployment": 0, "catalog pages": 0, "other": 0}
        other = {}
        for r in reqs:
            p = r["path"].rstrip("/")
            if re.search(r"/oauth2/v2\.0/token$", p) or p.startswith("/metadata/identity"):
                cats["token"] += 1
            elif re.search(r"/locations/[^/]+/models$", p, re.I):
                cats["catalog pages"] += 1
            elif re.search(r"/accounts/[^/]+/deployments/[^/]+$", p, re.I):
                cats["deployment"] += 1
            elif re.search(r"/accounts/[^/]+$", p, re.I):
                cats["account"] += 1
            else:
                cats["other"] += 1
                k = "%s %s" % (r["method"], p)
                other[k] = other.get(k, 0) + 1
        listings = emu.catalog_listings("westus")
        deps = {}
        for r in reqs:
            mm = re.search(r"/deployments/([^/]+)$", r["path"].rstrip("/"), re.I)
            if mm:
                deps[mm.group(1)] = deps.get(mm.group(1), 0) + 1
        rep.section("4. Azure validation (emulator, enforce): %d models on one account/region, cold cache" % n)
        rep.row("time to all %d keys in llm-config" % n, "%.2f s" % (t_full - t0))
        rep.row("time to all %d models Ready (status)" % n, "%.2f s" % (t_ready - t0))
        rep.row("catalog listings westus (first pages)", str(listings), "1")
        rep.row("catalog page requests (all pages)", str(cats["catalog pages"]))
        rep.row("account GETs", str(cats["account"]), "1 per account")
        rep.row("deployment GETs", "%d (distinct deployments: %d)" % (cats["deployment"], len(deps)),
                "1 per deployment")
        rep.row("token requests", str(cats["token"]))
        rep.row("other requests", str(cats["other"]) + (" " + json.dumps(other)[:80] if other else ""))
        rep.row("foundry_azure_requests_total (metric)", "%d" % Controller.metric_sum(m, "foundry_azure_requests_total"))
        calls = sorted({dict(ls).get("call") for (nm, ls) in m if nm == "foundry_azure_request_duration_seconds_count"} - {None})
        for call in calls:
            cnt = Controller.metric_sum(m, "foundry_azure_request_duration_seconds_count", call=call)
            tot = Controller.metric_sum(m, "foundry_azure_request_duration_seconds_sum", call=call)
            if cnt:
                rep.row("  %s: requests, mean duration (metric)" % call, "%d, %s (total %.2f s)" % (cnt, ms(tot / cnt), tot))
        rep.row("ConfigMap writes (watch / metric)", "%d / %d" % (
            cms.writes(ns), Controller.metric_sum(m, "foundry_configmap_writes_total", namespace=ns)))
        rep.row("reconciles / duration p50 / max / sum (log)", "%d / %s / %s / %.2f s" % (
            st["n"], ms(st["p50"]), ms(st["max"]), st["sum"]))
        rep.row("controller peak RSS / RSS when idle", "%s / %s" % (mib(mem["VmHWM"]), mib(mem["VmRSS"])))
        if st["warns"]:
            rep.row("warn/error log lines", ", ".join("%s x%d" % kv for kv in st["warns"].items())[:120])
        rep.how("FoundryAccount aucert-ai (no spec.endpoint: from ARM) and %d FoundryModels gpt-5.4 "
                "2026-03-05 GlobalStandard, deployment gpt-5.4, keys K0001.., created before the controller "
                "starts (--azure-validation=enforce, client-secret credential, catalog page size 8). Times "
                "from the controller's exec. Requests counted from the emulator's request log after the "
                "controller went idle (creation %.1f s not included)." % (n, create_s))
    finally:
        if ctl:
            ctl.stop()
        for t in (cms, ready):
            if t:
                t.stop()
        emu_pid = emu.proc.pid if emu.proc else None
        emu.stop()
        if emu_pid:
            _state_edit(remove="pid %d" % emu_pid)


def bench_idle(rep, cl, workdir, n_ns, per_ns):
    kube = cl.kube
    total = n_ns * per_ns
    nss = ["bench-idle-%03d" % i for i in range(n_ns)]
    t0c = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as ex:
        list(ex.map(lambda ns: setup_namespace(kube, ns), nss))
    items = [it for ns in nss for it in model_items(ns, per_ns)]
    create_all(kube, items, concurrency=12)
    create_s = time.perf_counter() - t0c
    cms = ConfigMapTracker(kube, want=per_ns, want_namespaces=n_ns)
    ready = ReadyTracker(kube, want=total)
    ctl = Controller(cl, workdir, "idle", args=["--azure-validation=off"])
    sampler = None
    try:
        ctl.start()
        t0 = ctl.started_at
        cpu = CpuSplit(ctl, cl)
        sampler = Sampler(ctl.pid)
        sampler.start()
        cms.wait(lambda: cms.all_full_at, 900,
                 "all %d namespaces with %d keys (full: %d)" % (n_ns, per_ns, len(cms.full_at)))
        t_ready = ready.wait_all(timeout=900)
        t_synced = ctl.log_time("caches synced")
        ctl.wait_idle(quiet=5.0, timeout=900)
        cpu_split = cpu.end()
        sampler.stop()
        sample = kube.get(fm_path(nss[0]) + "?limit=20")["items"]
        obj_bytes = statistics.mean(len(json.dumps(o, separators=(",", ":"))) for o in sample)
        mf_bytes = statistics.mean(len(json.dumps(o["metadata"].get("managedFields", []), separators=(",", ":")))
                                   for o in sample)
        c0, l0, w0 = ctl.cpu_ticks(), os.path.getsize(ctl.log_path), time.perf_counter()
        api_pid = cl.pid_of("apiserver")
        a0 = proc_cpu_ticks(api_pid) if api_pid else None
        time.sleep(10)
        c1, l1, w1 = ctl.cpu_ticks(), os.path.getsize(ctl.log_path), time.perf_counter()
        a1 = proc_cpu_ticks(api_pid) if api_pid else None
        mem2 = ctl.mem()
        st = ctl.reconcile_stats()
        m = ctl.metrics()
        rep.section("3. Idle with %d cached FoundryModels (%d namespaces x %d)" % (total, n_ns, per_ns))
        rep.row("creation (namespaces, accounts, models)", "%.1f s (%.0f models/s)" % (create_s, total / create_s))
        fulls = sorted(t - t0 for t in cms.full_at.values())
        rep.row("time to all %d llm-configs complete" % n_ns, "%.2f s" % (cms.all_full_at - t0))
        rep.row("  first / median / last namespace complete", "%.2f / %.2f / %.2f s" % (
            fulls[0], statistics.median(fulls), fulls[-1]))
        rep.row("time to all %d models Ready (status)" % total, "%.2f s" % (t_ready - t0))
        rep.row("controller RSS idle (VmRSS)", mib(mem2["VmRSS"]), "< 64 MB")
        rep.row("controller peak RSS (VmHWM)", mib(mem2["VmHWM"]))
        rep.row("controller start -> 'caches synced' (initial LISTs)", "%.2f s" % (t_synced - t0))
        rep.row("RSS at caches synced / first ns complete / all Ready", "%s / %s / %s" % (
            mib(sampler.rss_at(t_synced + 0.2)), mib(sampler.rss_at(t0 + fulls[0] + 0.2)),
            mib(sampler.rss_at(t_ready + 0.2))))
        rep.row("RSS per cached model (idle RSS / models)", "%.1f KB" % (mem2["VmRSS"] / total))
        rep.row("FoundryModel JSON size in the API (of which managedFields)", "%.0f B (%.0f B)" % (obj_bytes, mf_bytes))
        rep.row("CPU s from start until idle", cpu_split)
        cpu_s = (c1 - c0) / CLK_TCK
        rep.row("controller CPU over %.0f s idle (utime+stime)" % (w1 - w0),
                "%.2f s (%.2f%% of a core)" % (cpu_s, 100.0 * cpu_s / (w1 - w0)), "~ 0")
        if a0 is not None:
            rep.row("kube-apiserver CPU in the same 10 s (context)", "%.2f s" % ((a1 - a0) / CLK_TCK))
        rep.row("log bytes written while idle", str(l1 - l0))
        rep.row("ConfigMap writes (foundry_configmap_writes_total)",
                "%d" % Controller.metric_sum(m, "foundry_configmap_writes_total"))
        rep.row("status writes (foundry_status_writes_total)",
                "%d" % Controller.metric_sum(m, "foundry_status_writes_total"))
        rep.row("FoundryModel MODIFIED events (finalizer+status)", str(ready.modified))
        rep.row("reconciles / duration p50 / max / sum (log)", "%d / %s / %s / %.2f s" % (
            st["n"], ms(st["p50"]), ms(st["max"]), st["sum"]))
        if st["warns"]:
            rep.row("warn/error log lines", ", ".join("%s x%d" % kv for kv in st["warns"].items())[:120])
        rep.how("%d namespaces each with one FoundryAccount (spec.endpoint) and %d FoundryModels, created "
                "with 12 concurrent POSTs before the controller starts (all namespaces, "
                "--azure-validation=off). After every llm-config is complete, every model Ready and the "
                "controller idle (no log line, no CPU tick for 5 s): VmRSS/VmHWM from /proc/PID/status, "
                "then utime+stime from /proc/PID/stat across 10 s." % (n_ns, per_ns))
    finally:
        ctl.stop()
        cms.stop()
        ready.stop()
        if sampler:
            sampler.stop()


# ---- main ---------------------------------------------------------------------------------------

def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def environment_lines():
    try:
        rev = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = "?"
    try:
        ver = subprocess.run([BIN, "version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        ver = "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    except OSError:
        pass
    return ["foundry-controller bench  %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "  git %s; %s" % (rev, ver.splitlines()[0] if ver else "?"),
            "  %d CPUs (%s), %s, python %s%s" % (os.cpu_count(), cpu, platform.release(),
                                                 platform.python_version(), ", BENCH_QUICK=1" if QUICK else ""),
            "  load average at the start: %s" % loadavg()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="latency,scale,azure,idle",
                    help="comma-separated sections: latency, scale, azure, idle")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    a = ap.parse_args()
    only = set(a.only.split(","))
    bad = only - {"latency", "scale", "azure", "idle"}
    if bad:
        ap.error("unknown sections: %s" % ", ".join(sorted(bad)))

    trials = 20 if QUICK else 100
    n_scale = 200 if QUICK else 1000
    n_azure = 200 if QUICK else 1000
    n_ns, per_ns = (20, 100) if QUICK else (100, 100)

    def on_term(*_):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    workdir = tempfile.mkdtemp(prefix="foundry-bench.")
    rep = Report()
    for ln in environment_lines():
        rep.out(ln)
    failed = []
    t_start = time.monotonic()

    def run(name, fn, *args):
        try:
            log("%s ..." % name)
            t = time.monotonic()
            fn(rep, *args)
            log("%s done in %.0fs" % (name, time.monotonic() - t))
        except BenchError as e:
            failed.append(name)
            rep.out("")
            rep.out("  !! %s FAILED: %s" % (name, e))
            log("%s failed: %s (logs in %s)" % (name, e, workdir))

    try:
        if only & {"latency", "scale", "azure"}:
            cl = Cluster(workdir)
            try:
                cl.up()
                if "latency" in only:
                    run("latency", bench_latency, cl, workdir, trials)
                if "scale" in only:
                    run("scale (controller running)", bench_scale, cl, workdir, n_scale, "running", 2)
                    run("scale (pre-created)", bench_scale, cl, workdir, n_scale, "precreated", 2)
                if "azure" in only:
                    run("azure", bench_azure, cl, workdir, n_azure)
            finally:
                cl.down()
        if "idle" in only:
            # a fresh control plane: the objects of the other sections would add to the cache
            cl = Cluster(workdir)
            try:
                cl.up()
                run("idle", bench_idle, cl, workdir, n_ns, per_ns)
            finally:
                cl.down()
    except KeyboardInterrupt:
        failed.append("interrupted")
        rep.out("  !! interrupted")
    except BenchError as e:
        failed.append("setup")
        rep.out("  !! setup FAILED: %s" % e)
    rep.out("")
    rep.out("load average at the end: %s (other processes on this machine skew the figures)" % loadavg())
    rep.out("total bench time %.0f s%s" % (time.monotonic() - t_start,
                                           ("; FAILED: " + ", ".join(failed)) if failed else ""))
    rep.save()
    log("results written to %s" % os.path.relpath(RESULTS, os.getcwd()))
    if failed or a.keep:
        log("controller logs kept in %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "floor":
        sys.exit(floor_main(sys.argv[2:]))
    sys.exit(main())
