"""Helpers for the controller e2e tests (test_controller.py).

Controller   runs bin/foundry-controller (FC_BIN) against the e2e cluster for
             one namespace, stderr (JSON logs) to a file; stop() sends SIGTERM.
api()        a raw request to the API server (token + CA of the cluster), for
             what kubectl 1.20-era clients cannot do (status merge patches).
Watch        a background watch of one object from a resourceVersion, keeping
             every version the API server reports.
wait_for()   polls a function until it returns something truthy (bounded).
controllers()  the body of a fixture that starts controllers; at the end
             finish_controllers(): SIGTERM, exit 0, stderr printed when the
             test failed.
"""

import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(E2E_DIR))
BIN = os.environ.get("FC_BIN") or os.path.join(REPO, "bin", "foundry-controller")

DEFAULT_TIMEOUT = 20
_bin_copy = None

# FC_TIMEOUT_SCALE multiplies the bounded waits of wait_for() and Controller.stop()
# (valgrind runs the controller ~20x slower; defaults to 4 under FC_VALGRIND=1).
VALGRIND = os.environ.get("FC_VALGRIND", "") not in ("", "0")
SANITIZED = os.environ.get("FC_SANITIZED", "") not in ("", "0")
TIMEOUT_SCALE = float(os.environ.get("FC_TIMEOUT_SCALE") or (4 if VALGRIND else 1))
VALGRIND_ERROR_EXIT = 97      # valgrind's exit code when it found errors or definite leaks
_vg_count = [0]


def scaled(seconds):
    """A timeout in seconds, multiplied by FC_TIMEOUT_SCALE."""
    return seconds * TIMEOUT_SCALE


def valgrind_dir():
    """Where the valgrind logs of this session go (FC_VALGRIND_DIR or a temp dir)."""
    d = os.environ.get("FC_VALGRIND_DIR")
    if not d:
        import tempfile
        d = tempfile.mkdtemp(prefix="fc-valgrind.")
        os.environ["FC_VALGRIND_DIR"] = d
    os.makedirs(d, exist_ok=True)
    return d


def valgrind_argv(argv):
    """argv wrapped in valgrind memcheck, and the path of its log file."""
    _vg_count[0] += 1
    log = os.path.join(valgrind_dir(), "vg-%d-%d.log" % (os.getpid(), _vg_count[0]))
    supp = os.path.join(E2E_DIR, "valgrind.supp")
    vg = ["valgrind", "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite",
          "--errors-for-leak-kinds=definite", "--error-exitcode=%d" % VALGRIND_ERROR_EXIT,
          "--num-callers=30", "--log-file=" + log]
    if os.path.exists(supp):
        vg.append("--suppressions=" + supp)
    return vg + list(argv), log


def sanitizer_env(env):
    """env with ASAN_OPTIONS/UBSAN_OPTIONS defaults (reports to stderr, halt, leaks)."""
    env = dict(env)
    env.setdefault("ASAN_OPTIONS", "halt_on_error=1:detect_leaks=1:print_stacktrace=1")
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    env.setdefault("LSAN_OPTIONS", "print_suppressions=0")
    return env


def spawn(argv, env, stdout, stderr, stdin=subprocess.DEVNULL, logs=(), secrets=()):
    """subprocess.Popen for a foundry-controller process: every test starts the
    controller through here. Registers the log files (logs) and the secrets
    handed to it (secrets) with conftest for the session-end scan; sets the
    sanitizer options; under FC_VALGRIND=1 runs it under valgrind memcheck
    (log registered too). Returns the Popen."""
    from conftest import register_log, register_secret
    for p in logs:
        register_log(str(p))
    for s in secrets:
        register_secret(s)
    argv = [str(a) for a in argv]
    env = sanitizer_env(env)
    if VALGRIND:
        argv, vg_log = valgrind_argv(argv)
        register_log(vg_log)
    return subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, env=env)


def controller_binary():
    """A private copy of FC_BIN, made once per test session.

    Other people rebuild bin/foundry-controller while tests run; a copy that
    answers `version` keeps one binary for the whole session.
    """
    global _bin_copy
    if _bin_copy:
        return _bin_copy
    import shutil
    import tempfile
    import atexit
    tmp = tempfile.mkdtemp(prefix="fc-e2e-bin.")
    atexit.register(shutil.rmtree, tmp, True)
    dest = os.path.join(tmp, "foundry-controller")
    deadline = time.monotonic() + 60
    last = "missing"
    while time.monotonic() < deadline:
        if os.access(BIN, os.X_OK):
            try:
                shutil.copy2(BIN, dest)
                p = subprocess.run([dest, "version"], capture_output=True, text=True, timeout=10,
                                   stdin=subprocess.DEVNULL)
                if p.returncode == 0:
                    _bin_copy = dest
                    return dest
                last = "exit %d: %s" % (p.returncode, p.stderr)
            except (OSError, subprocess.SubprocessError) as e:
                last = str(e)
        time.sleep(1)
    raise AssertionError("no usable executable at %s (run `make` or set FC_BIN): %s" % (BIN, last))


def wait_for(what, fn, timeout=DEFAULT_TIMEOUT, interval=0.2):
    """Calls fn until it returns a truthy value, which is returned.

    On timeout raises AssertionError naming `what` and fn's last result
    (fn may return a falsy description of what it saw, e.g. "" or None, or
    raise: the exception text is kept as the last result).
    """
    timeout = scaled(timeout)
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except Exception as e:  # noqa: BLE001 - reported on timeout
            last = "%s: %s" % (type(e).__name__, e)
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s; last: %r" % (timeout, what, last))
        time.sleep(interval)


class Controller:
    """One foundry-controller process for one namespace.

    The process's stderr goes to <dir>/controller-<n>.stderr; records() parses
    it (one JSON object per line with --log-format=json; a line that is not
    JSON comes back as {"_raw": line}).
    """

    def __init__(self, cluster, namespace, directory, args=(), index=1):
        self.cluster = cluster
        self.namespace = namespace
        self.stderr_path = os.path.join(str(directory), "controller-%d.stderr" % index)
        self.stdout_path = os.path.join(str(directory), "controller-%d.stdout" % index)
        self.args = [None, "run", "--kubeconfig", cluster.kubeconfig, "--namespace", namespace,
                     "--azure-validation=off", "--metrics-bind-address=127.0.0.1:0",
                     "--health-probe-bind-address=127.0.0.1:0", "--log-format=json", *args]
        self.proc = None
        self.returncode = None

    def start(self):
        self.args[0] = controller_binary()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FOUNDRY_", "AZURE_")) and k != "KUBECONFIG"}
        with open(self.stderr_path, "wb") as err, open(self.stdout_path, "wb") as out:
            self.proc = spawn(self.args, env, out, err,
                              logs=(self.stderr_path, self.stdout_path))
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def assert_running(self):
        if not self.running():
            raise AssertionError("controller exited with %s\n%s" % (self.proc.poll(), self.stderr()))

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Sends sig and waits; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(scaled(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = None
                return None
        self.returncode = self.proc.returncode
        return self.returncode

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def lines(self):
        return [ln for ln in self.stderr().splitlines() if ln.strip()]

    def records(self):
        out = []
        for ln in self.lines():
            try:
                rec = json.loads(ln)
            except ValueError:
                rec = {"_raw": ln}
            if not isinstance(rec, dict):
                rec = {"_raw": ln}
            out.append(rec)
        return out

    def reconciles(self, configmap=None):
        """The 'reconciled' log records, for ns/configmap when given."""
        key = "%s/%s" % (self.namespace, configmap) if configmap else None
        return [r for r in self.records()
                if r.get("msg") == "reconciled" and (key is None or r.get("configmap") == key)]

    def wait_log(self, what, pred, timeout=DEFAULT_TIMEOUT):
        """Waits for a log record with pred(record); returns it."""
        def find():
            self.assert_running()
            return next((r for r in self.records() if pred(r)), None)
        return wait_for(what, find, timeout)


def controllers(request, make, **finish):
    """The body of a fixture that starts controllers (yield from it): yields
    start(*args, **kw), which starts make(index, *args, **kw) (a Controller,
    index 1, 2, ... in the order of the calls) and returns it; at the end,
    finish_controllers(..., **finish) for all of them."""
    procs = []
    failed_before = request.session.testsfailed

    def start(*args, **kw):
        c = make(len(procs) + 1, *args, **kw).start()
        procs.append(c)
        return c

    yield start
    finish_controllers(procs, request, failed_before, **finish)


def finish_controllers(procs, request, failed_before, tail=None, label="", resume=False,
                       problems_of=None):
    """The end of a fixture that started the controllers procs: each one still
    running gets SIGTERM and must exit 0 (one that exited by itself is a
    problem); those the test stopped itself (returncode set) or killed
    (attribute killed) are left alone. resume: a SIGCONT first (a test may
    have left it stopped). problems_of(c): more problems of every process.
    The stderr of every process (its last `tail` characters when given,
    headed "controller stderr PATH<label>") is printed when there is a problem
    or the test failed; then asserts that there is none."""
    problems = []
    for c in procs:
        if c.returncode is None and not getattr(c, "killed", False):
            if not c.running():
                problems.append("%s: exited by itself with %s" % (c.stderr_path, c.proc.returncode))
            else:
                if resume:
                    try:
                        os.kill(c.proc.pid, signal.SIGCONT)
                    except OSError:
                        pass
                code = c.stop()
                if code != 0:
                    problems.append("%s: SIGTERM gave exit code %s (want 0)" % (c.stderr_path, code))
        if problems_of is not None:
            problems += problems_of(c)
    if problems or request.session.testsfailed > failed_before:
        capman = request.config.pluginmanager.getplugin("capturemanager")
        with capman.global_and_fixture_disabled():
            for c in procs:
                text = c.stderr()
                sys.stderr.write("\n----- controller stderr %s%s -----\n%s" % (
                    c.stderr_path, label, text[-tail:] if tail else text))
    assert not problems, problems


# ---- raw API access ----------------------------------------------------------

def _ssl_context(cluster):
    ctx = ssl.create_default_context(cafile=cluster.ca_file)
    return ctx


def api(cluster, method, path, body=None, content_type="application/json", timeout=30):
    """One request to the API server; returns (status, parsed JSON or text)."""
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if isinstance(data, str):
            data = data.encode()
    req = urllib.request.Request(cluster.server + path, data=data, method=method)
    if cluster.token:
        req.add_header("Authorization", "Bearer " + cluster.token)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, context=_ssl_context(cluster), timeout=timeout) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class Watch:
    """Watches one object (by name) from resourceVersion rv in a daemon thread.

    events: list of (type, object) in the order the API server sent them.
    The watch ends by itself after `seconds` (server-side timeoutSeconds).
    """

    def __init__(self, cluster, collection_path, name, rv, seconds=60):
        q = urllib.parse.urlencode({
            "watch": "true", "resourceVersion": rv, "timeoutSeconds": str(seconds),
            "fieldSelector": "metadata.name=" + name})
        self.url = cluster.server + collection_path + "?" + q
        self.cluster = cluster
        self.events = []
        self.error = None
        self.started = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self.started.wait(10):
            raise AssertionError("watch did not start: %s" % self.error)

    def _run(self):
        req = urllib.request.Request(self.url)
        if self.cluster.token:
            req.add_header("Authorization", "Bearer " + self.cluster.token)
        try:
            with urllib.request.urlopen(req, context=_ssl_context(self.cluster), timeout=120) as r:
                self.started.set()
                for line in r:
                    if not line.strip():
                        continue
                    ev = json.loads(line)
                    with self._lock:
                        self.events.append((ev.get("type"), ev.get("object")))
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = "%s: %s" % (type(e).__name__, e)
            self.started.set()

    def snapshot(self):
        with self._lock:
            return list(self.events)
