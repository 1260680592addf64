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
    return Cluster(kubeconfig=os.path.join(d, "kubeconfig"), server=read("server"),
                   token=read("token"), ca_file=os.path.join(d, "ca.crt"), dir=d)


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
