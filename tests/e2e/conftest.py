"""Fixtures for end-to-end tests against a real kube-apiserver (1.20).

Run with the Debian python, which has pytest:  /usr/bin/python3 -m pytest tests/e2e

Fixtures
  cluster    (session) a Cluster: started with tests/cluster/up once per
             session and stopped with tests/cluster/down at the end, pass or
             fail; or, when FC_KUBECONFIG is set, that existing cluster (never
             started nor stopped here). The CRDs in crd/ are applied and
             Established before any test runs.
  namespace  (function) a fresh namespace name, deleted after the test
             (without waiting: this control plane has no namespace controller,
             so deleted namespaces stay Terminating).

Helpers: cluster.kubectl(*args, input=None, check=True) -> CompletedProcess,
and the module-level kubectl(...) (`from conftest import kubectl`), the same
bound to the session's cluster once the `cluster` fixture has run.
"""

import atexit
import base64
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field

import pytest
import yaml

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(E2E_DIR))
CLUSTER_SCRIPTS = os.path.join(REPO, "tests", "cluster")
CRD_DIR = os.path.join(REPO, "crd")
LOG_DIR = os.path.join(E2E_DIR, ".logs")
KUBECTL = os.environ.get("FC_KUBECTL", "kubectl")
CRD_NAMES = ("foundryaccounts.foundry.aucert.io", "foundrymodels.foundry.aucert.io")


class KubectlError(subprocess.CalledProcessError):
    """A failed kubectl call; str() shows the command and its output."""

    def __str__(self):
        return "%s\nexit %d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(self.cmd), self.returncode, self.stdout or "", self.stderr or "")


@dataclass
class Cluster:
    """A running API server and how to reach it.

    dir         cluster directory made by tests/cluster/up (None if external)
    kubeconfig  path of a kubeconfig with admin rights
    server      API server URL, https://127.0.0.1:PORT
    token       admin bearer token (None if the kubeconfig uses another auth)
    ca_file     path of the CA bundle that verifies the server
    external    True when given by FC_KUBECONFIG (not started/stopped here)
    """

    kubeconfig: str
    server: str
    token: str
    ca_file: str
    dir: str = None
    external: bool = False
    cache_dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="fc-kubectl-cache."))

    def env(self, extra=None):
        """Environment for a child process (kubectl, the controller) bound to this cluster."""
        e = dict(os.environ)
        e["KUBECONFIG"] = self.kubeconfig
        # Own discovery cache: ports are reused across clusters, and a stale
        # cache would hide freshly created CRDs.
        e["KUBECACHEDIR"] = self.cache_dir
        if extra:
            e.update(extra)
        return e

    def kubectl(self, *args, input=None, check=True, timeout=120):
        """Runs kubectl against this cluster; returns the CompletedProcess (text).

        check=True raises KubectlError (with stdout and stderr) on a non-zero exit.
        """
        cmd = [KUBECTL, "--kubeconfig", self.kubeconfig, *[str(a) for a in args]]
        p = subprocess.run(cmd, input=input, capture_output=True, text=True,
                           env=self.env(), timeout=timeout)
        if check and p.returncode != 0:
            raise KubectlError(p.returncode, cmd, p.stdout, p.stderr)
        return p

    def get_json(self, *args):
        """kubectl get ARGS -o json, parsed."""
        import json
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)


_active = None          # the session's Cluster, for the module-level kubectl()
_to_stop = []           # cluster dirs to pass to tests/cluster/down


def kubectl(*args, input=None, check=True, timeout=120):
    """kubectl bound to the session's cluster (see Cluster.kubectl)."""
    if _active is None:
        raise RuntimeError("no cluster: use the `cluster` fixture first")
    return _active.kubectl(*args, input=input, check=check, timeout=timeout)


# ---- figures, secrets and logs shared by every test --------------------------
#
# figure(name, text)     records a measured figure; all figures are printed at
#                        the end of the session and kept in .logs/figures.txt.
# register_secret(s)     a bearer token, client secret or assertion a test
#                        issued or handed to the controller: no log may contain it.
# register_log(path)     a controller log (stderr/stdout file): scanned at the
#                        end of the session for registered secrets and for
#                        sanitizer reports.

FIGURES = []
SECRETS = set()
SECRET_SUFFIXES = set()     # last characters of tokens only known by their suffix
LOGS = []


def figure(name, text):
    FIGURES.append((name, str(text)))
    sys.stderr.write("\nFIGURE %s: %s\n" % (name, text))


def register_secret(secret):
    if secret and len(str(secret)) >= 8:
        SECRETS.add(str(secret))


def register_secret_suffix(suffix):
    """The last characters (>= 6) of a token whose whole value the test never
    sees (the Azure emulator's tokens() shows only a suffix): reported when it
    ends a run of >= 16 token characters in a log."""
    if suffix and len(str(suffix)) >= 6:
        SECRET_SUFFIXES.add(str(suffix))


def register_log(path):
    if path and str(path) not in LOGS:
        LOGS.append(str(path))


def register_emulator(emu):
    """Registers what an Azure emulator (tests/azure_emulator) issued or was
    given: its client secret and federated assertion, every assertion it was
    presented, every access token it issued (by suffix). Call it before the
    emulator stops (the fixture's teardown)."""
    from client import CLIENT_SECRET, FEDERATED_ASSERTION
    register_secret(CLIENT_SECRET)
    register_secret(FEDERATED_ASSERTION)
    try:
        for a in emu.assertions():
            register_secret(a.get("assertion"))
        for t in emu.tokens():
            register_secret_suffix(t.get("token_suffix"))
    except Exception as e:  # noqa: BLE001 - an emulator that already died
        sys.stderr.write("register_emulator: %s\n" % e)


# ---- the session-end scan of every registered log ----------------------------
#
# scan_logs() is the pure part (tests/e2e/test_log_scan.py proves it reports);
# pytest_sessionfinish() runs it over LOGS with SECRETS and fails the session
# (exit status 1) on any finding. Findings name the file and line, never the
# secret (a redacted prefix only).

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer", "SUMMARY: AddressSanitizer",
                     "AddressSanitizer:DEADLYSIGNAL")
_TOKEN_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+/=")
_VG_ERRORS = re.compile(rb"ERROR SUMMARY: ([0-9,]+) errors")
_VG_DEFINITE = re.compile(rb"definitely lost: ([0-9,]+) bytes in ([0-9,]+) blocks")


def redact(secret):
    s = str(secret)
    return "%s...(%d chars)" % (s[:4], len(s))


def _line_of(data, idx):
    return data.count(b"\n", 0, idx) + 1


def _is_valgrind_log(path, data):
    return os.path.basename(path).startswith("vg-") or data.startswith(b"==") and b"Memcheck" in data[:400]


def scan_logs(paths, secrets=(), suffixes=(), valgrind=False):
    """Scans log files; returns (problems, stats).

    problems: list of "PATH:LINE: what" strings for (a) any secret (whole
    value; suffixes when they end a run of >= 16 token characters), (b) any
    sanitizer report line, (c) with valgrind=True, valgrind logs (vg-*.log,
    or any log that is a memcheck log) with errors, definite leaks or no
    final summary (the process did not exit). Secrets are shown redacted.
    stats: {"logs", "bytes", "valgrind_logs", "valgrind_errors",
    "definitely_lost_bytes", "valgrind_incomplete"}.
    """
    problems = []
    stats = {"logs": 0, "bytes": 0, "valgrind_logs": 0, "valgrind_errors": 0,
             "definitely_lost_bytes": 0, "valgrind_incomplete": 0}
    secrets = sorted({str(s).encode() for s in secrets if s})
    suffixes = sorted({str(s).encode() for s in suffixes if s})
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        except OSError as e:
            problems.append("%s: unreadable: %s" % (path, e))
            continue
        stats["logs"] += 1
        stats["bytes"] += len(data)
        for sec in secrets:
            i = data.find(sec)
            if i >= 0:
                problems.append("%s:%d: contains a registered secret %s" % (
                    path, _line_of(data, i), redact(sec.decode(errors="replace"))))
        for suf in suffixes:
            i = data.find(suf)
            while i >= 0:
                j = i
                while j > 0 and data[j - 1] in _TOKEN_CHARS and i - j < 16:
                    j -= 1
                if i - j >= 16:
                    problems.append("%s:%d: contains a token issued by the Azure emulator "
                                    "(...%s)" % (path, _line_of(data, i), suf[-2:].decode()))
                    break
                i = data.find(suf, i + 1)
        for marker in SANITIZER_MARKERS:
            i = data.find(marker.encode())
            if i >= 0:
                end = data.find(b"\n", i)
                line = data[data.rfind(b"\n", 0, i) + 1:end if end >= 0 else len(data)]
                problems.append("%s:%d: sanitizer report: %s" % (
                    path, _line_of(data, i), line.decode(errors="replace")[:300]))
        if valgrind and _is_valgrind_log(path, data):
            stats["valgrind_logs"] += 1
            errs = _VG_ERRORS.findall(data)
            if not errs:
                stats["valgrind_incomplete"] += 1
                problems.append("%s: no valgrind ERROR SUMMARY: the controller did not exit "
                                "(killed?), so its leaks were not checked" % path)
            for m in _VG_ERRORS.finditer(data):
                n = int(m.group(1).replace(b",", b""))
                stats["valgrind_errors"] += n
                if n:
                    problems.append("%s:%d: valgrind: %s" % (path, _line_of(data, m.start()),
                                                             m.group(0).decode()))
            for m in _VG_DEFINITE.finditer(data):
                n = int(m.group(1).replace(b",", b""))
                stats["definitely_lost_bytes"] += n
                if n:
                    problems.append("%s:%d: valgrind: %s" % (path, _line_of(data, m.start()),
                                                             m.group(0).decode()))
    return problems, stats


def _valgrind_mode():
    return os.environ.get("FC_VALGRIND", "") not in ("", "0")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "no_valgrind: the test SIGKILLs the controller (no leak summary) or asserts a "
        "time bound that memcheck's slowdown breaks; skipped when FC_VALGRIND=1 (make valgrind)")


def pytest_collection_modifyitems(config, items):
    if not _valgrind_mode():
        return
    skip = pytest.mark.skip(reason="no_valgrind: not run under valgrind memcheck")
    for item in items:
        if item.get_closest_marker("no_valgrind"):
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    valgrind = _valgrind_mode()
    if not LOGS:
        return
    t0 = time.monotonic()
    problems, st = scan_logs(list(LOGS), SECRETS, SECRET_SUFFIXES, valgrind=valgrind)
    mode = "valgrind" if valgrind else ("ASan+UBSan" if os.environ.get("FC_SANITIZED") else "plain")
    figure("logs.scan", "%d controller logs (%.1f MB, %s build) scanned in %.1f s for %d secrets "
           "+ %d token suffixes and sanitizer reports: %d findings" % (
               st["logs"], st["bytes"] / 1e6, mode, time.monotonic() - t0, len(SECRETS),
               len(SECRET_SUFFIXES), len(problems)))
    tr = session.config.pluginmanager.get_plugin("terminalreporter")
    if valgrind:
        passed = len(tr.stats.get("passed", [])) if tr else -1
        figure("valgrind.memcheck", "%d tests passed, %d controller runs under memcheck: "
               "%d errors, %d bytes definitely lost, %d runs without a summary" % (
                   passed, st["valgrind_logs"],
                   st["valgrind_errors"], st["definitely_lost_bytes"], st["valgrind_incomplete"]))
        if st["valgrind_logs"] == 0:
            problems.append("FC_VALGRIND=1 but no controller ran under valgrind")
    if problems:
        out = tr.write_line if tr else (lambda s: sys.stderr.write(s + "\n"))
        out("")
        out("LOG SCAN FAILED: %d findings in the controller logs" % len(problems))
        for p in problems[:200]:
            out("  " + p)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("figures measured by this run")
    lines = ["%s: %s" % (n, t) for n, t in FIGURES]
    for ln in lines:
        terminalreporter.write_line(ln)
    try:
        os.makedirs(LOG_DIR, exist_ok=True)
        with open(os.path.join(LOG_DIR, "figures.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    except OSError:
        pass


def _down_all():
    while _to_stop:
        d = _to_stop.pop()
        subprocess.run([os.path.join(CLUSTER_SCRIPTS, "down"), d],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)


def _on_signal(signum, _frame):
    _down_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


atexit.register(_down_all)
for _sig in (signal.SIGTERM, signal.SIGHUP):
    try:
        signal.signal(_sig, _on_signal)
    except (ValueError, OSError):     # not the main thread
        pass


def _external_cluster(path):
    with open(path) as f:
        cfg = yaml.safe_load(f)
    ctx_name = cfg.get("current-context")
    ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
    cl = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
    user = next((u["user"] for u in cfg.get("users", []) if u["name"] == ctx.get("user")), {})
    ca_file = cl.get("certificate-authority")
    if not ca_file and cl.get("certificate-authority-data"):
        fd, ca_file = tempfile.mkstemp(prefix="fc-ca.", suffix=".crt")
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64decode(cl["certificate-authority-data"]))
    register_secret(user.get("token"))
    return Cluster(kubeconfig=os.path.abspath(path), server=cl["server"],
                   token=user.get("token"), ca_file=ca_file, external=True)


def _start_cluster():
    p = subprocess.run([os.path.join(CLUSTER_SCRIPTS, "up")], capture_output=True,
                       text=True, timeout=900)
    lines = p.stdout.strip().splitlines()
    if p.returncode != 0 or not lines:
        pytest.exit("tests/cluster/up failed (exit %d):\n%s" % (p.returncode, p.stderr), returncode=3)
    d = lines[-1]
    _to_stop.append(d)

    def read(name):
        with open(os.path.join(d, name)) as f:
            return f.read().strip()
    token = read("token")
    register_secret(token)
    return Cluster(kubeconfig=os.path.join(d, "kubeconfig"), server=read("server"),
                   token=token, ca_file=os.path.join(d, "ca.crt"), dir=d)


def _keep_logs(c):
    """Copies the cluster's logs to tests/e2e/.logs/<dir name>/ and prints their tails."""
    dest = os.path.join(LOG_DIR, os.path.basename(c.dir))
    os.makedirs(dest, exist_ok=True)
    for name in ("etcd.log", "apiserver.log"):
        src = os.path.join(c.dir, name)
        if not os.path.exists(src):
            continue
        shutil.copy(src, dest)
        with open(src, errors="replace") as f:
            tail = f.readlines()[-20:]
        sys.stderr.write("\n----- tail of %s (kept in %s) -----\n%s" % (name, dest, "".join(tail)))


def _wait(what, fn, timeout=60, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        last = fn()
        if last is True:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for %s: %s" % (what, last))
        time.sleep(interval)


def _install_crds(c):
    c.kubectl("apply", "-f", CRD_DIR)
    c.kubectl("wait", "--for", "condition=Established", "--timeout", "60s",
              *["crd/" + n for n in CRD_NAMES])

    # Established is not the end: discovery and the OpenAPI document (used by
    # kubectl explain and kubectl's client-side validation) follow a few
    # seconds later on 1.20.
    def published():
        p = c.kubectl("explain", "foundrymodel.spec.keys", check=False)
        q = c.kubectl("explain", "foundryaccount.spec.subscriptionId", check=False)
        return True if p.returncode == 0 and q.returncode == 0 else (p.stderr + q.stderr)
    _wait("CRDs in the OpenAPI document", published, timeout=90, interval=1)


@pytest.fixture(scope="session")
def cluster(request):
    global _active
    ext = os.environ.get("FC_KUBECONFIG")
    c = _external_cluster(ext) if ext else _start_cluster()
    _active = c
    try:
        _install_crds(c)
        yield c
    finally:
        _active = None
        if c.dir and request.session.testsfailed:
            _keep_logs(c)
        if not c.external:
            _down_all()
        shutil.rmtree(c.cache_dir, ignore_errors=True)


@pytest.fixture
def namespace(cluster, request):
    """A fresh namespace for one test; deleted afterwards (not waited for)."""
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = "e2e-%s-%s" % (base or "t", uuid.uuid4().hex[:6])
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)
