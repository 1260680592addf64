"""Reusable pieces of the bench and of the e2e scale tests: a keep-alive
client of the API server, watches that track ConfigMaps and Ready models,
the controller as a process with its log and metrics, RSS/CPU readings from
/proc, and throw-away control planes (tests/cluster/up).

Used by tests/bench/bench.py (`make bench`) and tests/e2e/test_scale.py.
Needs /usr/bin/python3 with python3-yaml (for the CRDs). Nothing here
asserts a figure: the callers decide what to check.
"""

import datetime
import http.client
import json
import os
import re
import signal
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CLUSTER_UP = os.path.join(REPO, "tests", "cluster", "up")
CLUSTER_DOWN = os.path.join(REPO, "tests", "cluster", "down")
GROUP = "foundry.aucert.io"
VERSION = "v1alpha1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
LOG_PREFIX = "bench"


BIN_DEFAULT = os.environ.get("FC_BIN") or os.path.join(REPO, "bin", "foundry-controller")


def log(msg):
    sys.stderr.write("%s: %s\n" % (LOG_PREFIX, msg))
    sys.stderr.flush()


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
        self.sent = {}          # method -> requests sent (tries included)
        self._sent_lock = threading.Lock()

    def count(self, method):
        with self._sent_lock:
            self.sent[method] = self.sent.get(method, 0) + 1

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
                self.count(method)
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

def stop_stream(w):
    """Stops w, a thread reading a watch from its connection w.conn: sets
    w.stopped and shuts the socket down, so that a blocked read returns."""
    w.stopped = True
    c = w.conn
    if c is not None and c.sock is not None:
        try:
            c.sock.shutdown(2)
        except OSError:
            pass


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
        self.kube.count("WATCH")
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
        stop_stream(self)


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

    def __init__(self, cluster, workdir, tag, namespace=None, args=(), env=None, binary=None):
        self.cluster = cluster
        self.log_path = os.path.join(workdir, "controller-%s.log" % tag)
        self.args = [binary or BIN_DEFAULT, "run", "--kubeconfig", cluster.kubeconfig,
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
