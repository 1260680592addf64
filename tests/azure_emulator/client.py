"""Python side of the Azure emulator, for pytest (tests/e2e and tests/azure_emulator).

    import sys; sys.path.insert(0, "tests/azure_emulator")
    from client import Emulator

    @pytest.fixture
    def azure(tmp_path):
        with Emulator(tmp_path / "azure") as emu:     # started, stopped at the end
            yield emu

    emu.arm_url          https://127.0.0.1:PORT      (--azure-arm-endpoint)
    emu.authority_host   https://127.0.0.1:PORT/     (AZURE_AUTHORITY_HOST)
    emu.imds_url         http://127.0.0.1:PORT2      (--azure-imds-endpoint)
    emu.ca_file          STATE_DIR/ca.pem            (--azure-ca-file)
    emu.controller_env() / emu.controller_args()   ready-made env and flags

Control: requests(), count(), catalog_listings(), reset_requests(), fault(),
clear_faults(), set_world(), world(), set_catalog(), expire_tokens(),
assertions(), tokens(), reset(). Raw calls: call(), arm_get(), get_token().
Standard library only.
"""

import contextlib
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "emulator.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "aucert-foundation-rg"
TENANT = "88888888-8888-8888-8888-888888888888"
SECRET_CLIENT_ID = "11111111-1111-1111-1111-111111111111"
CLIENT_SECRET = "emulator-client-secret"
FEDERATED_CLIENT_ID = "22222222-2222-2222-2222-222222222222"
FEDERATED_ASSERTION = "emulator-federated-assertion-1"
MI_SYSTEM_CLIENT_ID = "33333333-3333-3333-3333-333333333333"
MI_USER_CLIENT_ID = "44444444-4444-4444-4444-444444444444"
ARM_SCOPE = "https://management.azure.com/.default"
API_VERSION = "2024-10-01"
QUIET_DEFAULT = os.environ.get("AZURE_EMULATOR_VERBOSE", "") == ""


class EmulatorError(RuntimeError):
    pass


class HttpResult:
    """status, headers (dict, lower-case names), body (bytes), json() and text."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "HttpResult(%s, %r)" % (self.status, self.body[:200])


class Emulator:
    def __init__(self, state_dir=None, fixtures=None, world=None, page_size=None, imds=True,
                 now=None, extra_args=(), quiet=QUIET_DEFAULT, start_timeout=30.0):
        self._tmp = None
        if state_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="azure-emulator-")
            state_dir = self._tmp
        self.state_dir = os.fspath(state_dir)
        self.fixtures = fixtures
        self.world_file = world
        self.page_size = page_size
        self.imds = imds
        self.now = now
        self.extra_args = list(extra_args)
        self.quiet = quiet
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.imds_port = None
        self._ssl = None

    # -- lifecycle
    def start(self, state_dir=None):
        if state_dir is not None:
            self.state_dir = os.fspath(state_dir)
        if self.proc is not None:
            raise EmulatorError("already started")
        os.makedirs(self.state_dir, exist_ok=True)
        for n in ("port", "imds_port"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.state_dir, n))
        cmd = [PYTHON, EMULATOR, "--state-dir", self.state_dir, "--port", "0", "--die-with-parent"]
        if self.imds:
            cmd += ["--imds-port", "0"]
        if self.fixtures:
            cmd += ["--fixtures", os.fspath(self.fixtures)]
        if self.world_file:
            cmd += ["--world", os.fspath(self.world_file)]
        if self.page_size is not None:
            cmd += ["--page-size", str(self.page_size)]
        if self.now:
            cmd += ["--now", self.now]
        if self.quiet:
            cmd += ["--quiet"]
        cmd += self.extra_args
        self.log_path = os.path.join(self.state_dir, "emulator.log")
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()
        deadline = time.time() + self.start_timeout
        want = ["port"] + (["imds_port"] if self.imds else [])
        while True:
            if all(os.path.exists(os.path.join(self.state_dir, n)) for n in want):
                break
            if self.proc.poll() is not None:
                raise EmulatorError("emulator exited with %s:\n%s" % (self.proc.returncode, self.log()))
            if time.time() > deadline:
                self.stop()
                raise EmulatorError("emulator did not start in %.0fs:\n%s" % (self.start_timeout, self.log()))
            time.sleep(0.05)
        with open(os.path.join(self.state_dir, "port")) as f:
            self.port = int(f.read())
        if self.imds:
            with open(os.path.join(self.state_dir, "imds_port")) as f:
                self.imds_port = int(f.read())
        self._ssl = ssl.create_default_context(cafile=self.ca_file)
        return self

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL after timeout. Returns the exit code."""
        p, self.proc = self.proc, None
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-20000:]
        except (OSError, AttributeError):
            return ""

    # -- where things are
    @property
    def base_url(self):
        return "https://127.0.0.1:%d" % self.port

    arm_url = base_url

    @property
    def authority_host(self):
        return self.base_url + "/"

    @property
    def imds_url(self):
        return "http://127.0.0.1:%d" % self.imds_port if self.imds_port else None

    @property
    def ca_file(self):
        return os.path.join(self.state_dir, "ca.pem")

    @property
    def token_url(self):
        return "%s/%s/oauth2/v2.0/token" % (self.base_url, TENANT)

    def controller_args(self):
        args = ["--azure-arm-endpoint", self.arm_url, "--azure-ca-file", self.ca_file]
        if self.imds_url:
            args += ["--azure-imds-endpoint", self.imds_url]
        return args

    def controller_env(self, credential="secret", token_file=None):
        """Env for the controller: credential is "secret", "workload" (token_file
        required) or "imds" (user-assigned id; AZURE_CLIENT_ID unset for system-assigned
        is left to the caller)."""
        env = {"AZURE_AUTHORITY_HOST": self.authority_host}
        if credential == "secret":
            env.update(AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=SECRET_CLIENT_ID, AZURE_CLIENT_SECRET=CLIENT_SECRET)
        elif credential == "workload":
            if not token_file:
                raise ValueError("workload identity needs token_file")
            env.update(AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=FEDERATED_CLIENT_ID,
                       AZURE_FEDERATED_TOKEN_FILE=os.fspath(token_file))
        elif credential == "imds":
            env.update(AZURE_CLIENT_ID=MI_USER_CLIENT_ID)
        else:
            raise ValueError("credential must be secret, workload or imds")
        return env

    # -- raw HTTP
    def call(self, method, path, body=None, headers=None, imds=False, timeout=30.0):
        """One request; returns HttpResult whatever the status. path is relative
        ("/subscriptions/..."); body may be bytes, str or a JSON-able object."""
        h = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        if imds:
            conn = http.client.HTTPConnection("127.0.0.1", self.imds_port, timeout=timeout)
        else:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=self._ssl)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return HttpResult(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def _control(self, method, path, body=None, query=None):
        p = "/_emulator/" + path
        if query:
            p += "?" + urllib.parse.urlencode(query)
        r = self.call(method, p, body=body if body is not None else None)
        if r.status >= 400:
            raise EmulatorError("%s %s -> %d %s" % (method, p, r.status, r.text))
        return r.json()

    def get_token(self, client_id=SECRET_CLIENT_ID, secret=CLIENT_SECRET, assertion=None, tenant=TENANT,
                  scope=ARM_SCOPE):
        """A token from the emulated Entra ID; raises on error."""
        form = {"grant_type": "client_credentials", "client_id": client_id, "scope": scope}
        if assertion is not None:
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            form["client_assertion"] = assertion
        else:
            form["client_secret"] = secret
        r = self.call("POST", "/%s/oauth2/v2.0/token" % tenant, body=urllib.parse.urlencode(form),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        if r.status != 200:
            raise EmulatorError("token: %d %s" % (r.status, r.text))
        return r.json()["access_token"]

    def arm_get(self, path, token=None, api_version=API_VERSION):
        """GET an ARM path with a bearer token (fetched when None)."""
        if token is None:
            token = self.get_token()
        if api_version is not None:
            path += ("&" if "?" in path else "?") + "api-version=" + api_version
        return self.call("GET", path, headers={"Authorization": "Bearer " + token})

    # -- control API
    def healthz(self):
        return self._control("GET", "healthz")

    def requests(self, path_regex=None, method=None, status=None):
        recs = self._control("GET", "requests")["requests"]
        if path_regex is not None:
            rx = re.compile(path_regex, re.IGNORECASE)
            recs = [r for r in recs if rx.search(r["path"])]
        if method is not None:
            recs = [r for r in recs if r["method"] == method.upper()]
        if status is not None:
            recs = [r for r in recs if r["status"] == status]
        return recs

    def count(self, path_regex=".*", method=None, status=None):
        return len(self.requests(path_regex, method, status))

    def catalog_listings(self, region, subscription=None):
        """How many times the catalog of region was listed: first-page requests
        only (no $skipToken), so paging does not inflate the count."""
        rx = r"/providers/Microsoft\.CognitiveServices/locations/%s/models/?$" % re.escape(region)
        if subscription:
            rx = r"^/subscriptions/%s" % re.escape(subscription) + rx
        return sum(1 for r in self.requests(rx) if "$skiptoken" not in r["query"])

    def reset_requests(self):
        self._control("POST", "reset-requests")

    def fault(self, kind, path_regex=".*", method=None, count=1, probability=1.0, retry_after=None,
              delay=None, query_regex=None, mix=None, cut=None):
        """Inject a fault; returns its id. kind: 429 500 503 slow drop reset stall expired_token
        403 malformed, or "mix" with mix=[{"kind": K, "weight": W, "retry_after"/"delay"/"cut": ...}]
        (when the fault fires, one entry is drawn by weight). reset: TCP RST, no response;
        stall: no response for delay seconds (default 5), then the connection closes;
        slow: the normal response after delay seconds. cut (malformed): bytes of the body
        kept, or dropped from its end when negative (default: half)."""
        spec = {"kind": str(kind), "match": {"path_regex": path_regex}, "count": count, "probability": probability}
        if mix is not None:
            spec["mix"] = list(mix)
        if cut is not None:
            spec["cut"] = cut
        if method:
            spec["match"]["method"] = method
        if query_regex is not None:
            spec["match"]["query_regex"] = query_regex
        if retry_after is not None:
            spec["retry_after"] = retry_after
        if delay is not None:
            spec["delay"] = delay
        return self._control("POST", "faults", spec)["id"]

    def faults(self):
        return self._control("GET", "faults")["faults"]

    def clear_faults(self, fault_id=None):
        if fault_id is None:
            self._control("DELETE", "faults")
        else:
            self._control("DELETE", "faults/%s" % fault_id)

    def world(self):
        return self._control("GET", "world")

    def set_world(self, world, merge=True):
        """Merge (RFC 7386 merge patch; null deletes, {} empties) or replace the world."""
        return self._control("POST", "world", world, query={"mode": "merge" if merge else "replace"})

    def set_account(self, name, subscription=SUBSCRIPTION, resource_group=RESOURCE_GROUP, **fields):
        """Merge fields into one account (None deletes the account)."""
        acct = None if fields.get("delete") else {k: v for k, v in fields.items() if k != "delete"}
        return self.set_world({"subscriptions": {subscription: {"resourceGroups": {resource_group: {
            "accounts": {name: acct}}}}}})

    def set_deployment(self, account, name, deployment, subscription=SUBSCRIPTION, resource_group=RESOURCE_GROUP):
        """Create/merge a deployment ({"model": {...}, "sku": {...}, "provisioningState": ...}); None deletes it."""
        return self.set_world({"subscriptions": {subscription: {"resourceGroups": {resource_group: {
            "accounts": {account: {"deployments": {name: deployment}}}}}}}})

    def catalog(self, region):
        return self._control("GET", "catalog/%s" % region)["value"]

    def set_catalog(self, region, items):
        """Replace a region's catalog: a list of items or {"value": [...]}; {{now...}} placeholders expand."""
        return self._control("PUT", "catalog/%s" % region, items)

    def expire_tokens(self):
        return self._control("POST", "expire-tokens")["expired"]

    def tokens(self, reveal=False):
        """Issued tokens (token_suffix: the last 6 characters); reveal=True adds
        each whole token as "token" (to grep logs for it)."""
        return self._control("GET", "tokens", query={"reveal": "1"} if reveal else None)["tokens"]

    def assertions(self):
        return self._control("GET", "assertions")["assertions"]

    def reset(self):
        """Reload world and catalogs from the fixture files; clear faults, requests, assertions."""
        self._control("POST", "reset")


@contextlib.contextmanager
def running_emulator(state_dir=None, **kwargs):
    """with running_emulator(tmp_path / "azure") as emu: ..."""
    emu = Emulator(state_dir, **kwargs)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
