"""Security checks of issue 6: TLS is verified on every connection, and no
secret reaches a log line, at the most verbose level, in any failure path.

TLS (a CA that is not the server's):
- test_kube_wrong_ca_refused: a kubeconfig (certificate-authority file) whose
  CA did not sign the real API server's certificate. The controller keeps
  failing (it never lists, never writes), says why (TLS, certificate) and
  where (the server's URL), and exits 0 on SIGTERM.
- test_kube_wrong_ca_token_never_sent: the same refusal against an HTTPS
  server that records every request (the Azure emulator standing in for the
  API server), kubeconfig with the cluster's CA inline
  (certificate-authority-data): not one HTTP request arrives, so the bearer
  token was never sent.
- test_azure_wrong_ca_refused[secret|imds]: --azure-ca-file is a CA that did
  not sign the emulator's certificate. Nothing is published, the FoundryModel
  and FoundryAccount say AzureUnreachable with the certificate problem and the
  URL, and the emulator's HTTPS side receives no request at all: neither the
  client secret (token endpoint) nor a bearer token (ARM; with IMDS, which is
  plain HTTP by design, the token is obtained and then never sent).

Secrets (--log-level=debug, the most verbose):
- test_failure_path_logs_no_secret[...]: Entra 401 (wrong client secret),
  ARM 401 (every token presented is expired), ARM 403, a malformed token
  response that carries most of a real access token, the same from IMDS, a
  rejected federated assertion, and a token that expires mid-run (refreshed).
  Each path is reached (the condition or log says so) and the controller's
  logs (stderr and stdout) contain no client secret, no assertion, and no
  access token the emulator issued, whole or any 12-character piece of it.
  Every one of them is also registered with conftest.register_secret for the
  session-end scan of all logs.

    make && FC_BIN=$PWD/bin/foundry-controller /usr/bin/python3 -m pytest -q tests/e2e/test_security.py
"""

import base64
import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import yaml

E2E_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(E2E_DIR))
sys.path.insert(0, E2E_DIR)
sys.path.insert(0, os.path.join(REPO, "tests", "azure_emulator"))

from client import CLIENT_SECRET, FEDERATED_ASSERTION, Emulator  # noqa: E402
from conftest import figure, register_emulator, register_secret  # noqa: E402
from controller_proc import api, controller_binary, spawn, wait_for  # noqa: E402
from test_azure import (ARM_RX, TOKEN_RX, AzureController, account, cm_data, cond, create,  # noqa: E402
                        get, model)

GV = "foundry.aucert.io/v1alpha1"
TLS_RX = re.compile(r"certificate|TLS|SSL", re.I)
PIECE = 12       # a secret's pieces of this length are looked for too


# ---- helpers ------------------------------------------------------------------------------

def make_ca(directory, cn):
    """A self-signed CA (PEM path) that signed nothing the tests talk to."""
    os.makedirs(directory, exist_ok=True)
    key, crt = os.path.join(directory, "ca-key.pem"), os.path.join(directory, "ca.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", crt, "-subj", "/CN=" + cn, "-days", "2"],
                   check=True, capture_output=True)
    return crt


def sa_token(cluster, ns, name="fc-security"):
    cluster.kubectl("create", "serviceaccount", name, "-n", ns)
    token = cluster.kubectl("create", "token", name, "-n", ns, "--duration=10m").stdout.strip()
    assert token
    register_secret(token)
    return token


def write_kubeconfig(path, server, token, ca_file=None, ca_data=None, insecure=False):
    cl = {"server": server}
    if insecure:
        cl["insecure-skip-tls-verify"] = True
    if ca_file:
        cl["certificate-authority"] = str(ca_file)
    if ca_data:
        cl["certificate-authority-data"] = base64.b64encode(ca_data).decode()
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "clusters": [{"name": "c", "cluster": cl}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c"}))
    return path


class Proc:
    """A controller process with an explicit kubeconfig (no Azure)."""

    def __init__(self, tmp_path, kubeconfig, ns, *args):
        self.log_path = str(tmp_path / "controller.log")
        argv = [controller_binary(), "run", "--kubeconfig", str(kubeconfig), "--namespace", ns,
                "--azure-validation=off", "--metrics-bind-address=127.0.0.1:0",
                "--health-probe-bind-address=127.0.0.1:0", "--log-level=debug", *args]
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("FOUNDRY_", "AZURE_")) and k != "KUBECONFIG"}
        with open(self.log_path, "wb") as log:
            self.proc = spawn(argv, env, log, subprocess.STDOUT, logs=(self.log_path,))

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode


def leaks(text, secrets):
    """The secrets (redacted) found in text, whole or by any PIECE-character piece."""
    found = []
    for s in {s for s in secrets if s}:
        pieces = [s] if len(s) <= PIECE else [s[i:i + PIECE] for i in range(len(s) - PIECE + 1)]
        hit = next((p for p in pieces if p in text), None)
        if hit is not None:
            found.append("%s...(%d chars): %r found" % (s[:3], len(s), hit[:4] + "..."))
    return found


def records(text):
    out = []
    for ln in text.splitlines():
        try:
            r = json.loads(ln)
        except ValueError:
            r = {"_raw": ln}
        out.append(r if isinstance(r, dict) else {"_raw": ln})
    return out


# ---- 1. the API server with a wrong CA ----------------------------------------------------------

def _publishable(cluster, ns):
    """Objects a working controller (Azure off) would publish at once."""
    acct = account("acct", primary=True, endpoint="https://acct.openai.azure.com/")
    create(cluster, ns, acct, model("gen", "acct", ["GENERATION"], deployment="gpt-5.4"))


def _tls_refusals(log, server):
    """(warn-or-higher lines naming the certificate problem, lines naming it and the server)."""
    hostport = server.split("://", 1)[1].rstrip("/")
    lines = log.splitlines()
    loud = [ln for ln in lines if re.search(r"\b(WARN|ERROR)\b", ln) and TLS_RX.search(ln) and
            "certificate" in ln.lower()]
    where = [ln for ln in lines if hostport in ln and "certificate" in ln.lower()]
    return loud, where


def test_kube_wrong_ca_refused(cluster, namespace, tmp_path):
    ns = namespace
    _publishable(cluster, ns)
    token = sa_token(cluster, ns)
    wrong = make_ca(tmp_path / "wrong-ca", "not the API server's CA")
    kc = write_kubeconfig(tmp_path / "kubeconfig", cluster.server, token, ca_file=wrong)
    t0 = time.monotonic()
    p = Proc(tmp_path, kc, ns)
    try:
        def refused():
            loud, where = _tls_refusals(p.log(), cluster.server)
            return len(loud) >= 3 and where
        wait_for("the controller to refuse the API server (TLS) three times", refused, timeout=30)
        # it keeps failing: never lists, never writes
        time.sleep(2)
        log = p.log()
        assert p.proc.poll() is None or p.proc.returncode != 0, log[-3000:]
        assert not re.search(r"caches synced|became leader|\breconciled\b|\blisted\b", log), log[-3000:]
        st, _ = api(cluster, "GET", "/api/v1/namespaces/%s/configmaps/llm-config" % ns)
        assert st == 404, "llm-config written through a connection that was refused"
        fm = get(cluster, ns, "FoundryModel", "gen")
        assert not fm.get("status"), fm["status"]
        loud, where = _tls_refusals(log, cluster.server)
        assert "unable to get local issuer certificate" in loud[0] or "verify" in loud[0].lower(), loud[0]
    finally:
        code = p.stop()
    elapsed = time.monotonic() - t0
    assert code == 0, "SIGTERM while refused: exit %s\n%s" % (code, p.log()[-3000:])
    assert not leaks(p.log(), [token]), leaks(p.log(), [token])
    figure("security.kube_wrong_ca", "API server with a wrong CA: %d refusals logged in %.0f s (e.g. %s), "
           "nothing listed or written, exit 0 on SIGTERM" % (
               len(loud), elapsed, loud[0][loud[0].find("err="):][:120]))


def test_kube_wrong_ca_token_never_sent(cluster, namespace, tmp_path):
    ns = namespace
    token = sa_token(cluster, ns)
    with open(cluster.ca_file, "rb") as f:
        cluster_ca = f.read()
    with Emulator(tmp_path / "fake-apiserver", imds=False) as fake:
        # an HTTPS server whose certificate the cluster's CA did not sign, recording every request
        kc = write_kubeconfig(tmp_path / "kubeconfig", fake.base_url, token, ca_data=cluster_ca)
        p = Proc(tmp_path, kc, ns)
        try:
            def refused():
                loud, where = _tls_refusals(p.log(), fake.base_url)
                return len(loud) >= 3 and where
            wait_for("the controller to refuse the server (TLS) three times", refused, timeout=30)
            reqs = fake.requests()
        finally:
            code = p.stop()
    loud, _ = _tls_refusals(p.log(), fake.base_url)
    assert reqs == [], "HTTP requests reached a server whose certificate failed verification: %s" % [
        (r["method"], r["path"]) for r in reqs]
    assert code == 0, code
    assert not leaks(p.log(), [token])
    figure("security.kube_wrong_ca_no_token", "%d TLS refusals of a server with another CA's certificate, "
           "0 HTTP requests received by it (the bearer token never left the controller)" % len(loud))


def test_kube_insecure_skip_tls_verify_is_warned(cluster, namespace, tmp_path):
    """insecure-skip-tls-verify in a kubeconfig is honoured (as kubectl does), never silently: the
    startup names the API server and what its certificate is checked against, and warns when it
    is not checked; with a CA there is no such warning."""
    ns = namespace
    _publishable(cluster, ns)
    hostport = cluster.server.split("://", 1)[1].rstrip("/")
    seen = {}
    for insecure in (False, True):
        d = tmp_path / ("insecure" if insecure else "verified")
        d.mkdir()
        kc = write_kubeconfig(d / "kubeconfig", cluster.server, cluster.token,
                              ca_file=None if insecure else cluster.ca_file, insecure=insecure)
        p = Proc(d, kc, ns)
        try:
            wait_for("caches synced", lambda: "caches synced" in p.log(), timeout=30)
            wait_for("llm-config published", lambda: cm_data(cluster, ns).get(
                "FOUNDRY_DEPLOYMENT_GENERATION") == "gpt-5.4", timeout=30)
        finally:
            code = p.stop()
        log = p.log()
        assert code == 0, log[-3000:]
        startup = [ln for ln in log.splitlines() if "Kubernetes API server" in ln]
        assert len(startup) == 1 and hostport in startup[0], log[-3000:]
        warned = [ln for ln in log.splitlines() if re.search(r"\bWARN\b", ln) and
                  "insecure-skip-tls-verify" in ln]
        if insecure:
            assert "ca=\"none (insecure-skip-tls-verify)\"" in startup[0], startup[0]
            assert len(warned) == 1 and hostport in warned[0], log[-3000:]
        else:
            assert "ca=" + str(cluster.ca_file) in startup[0], startup[0]
            assert warned == [], warned
        seen[insecure] = startup[0]
    figure("security.kube_insecure_skip_tls_verify", "kubeconfig with insecure-skip-tls-verify: "
           "works, 1 WARN naming the server (%s); with a CA: no warning (%s)" % (
               seen[True][seen[True].find("server="):][:100], seen[False][seen[False].find("ca="):][:80]))


# ---- 2. Azure with a wrong CA -----------------------------------------------------------------

@pytest.mark.parametrize("credential", ["secret", "imds"])
def test_azure_wrong_ca_refused(cluster, namespace, tmp_path, credential):
    ns = namespace
    wrong = make_ca(tmp_path / "wrong-ca", "not the Azure emulator's CA")
    with Emulator(tmp_path / "azure") as emu:
        try:
            create(cluster, ns, account("aucert-ai", primary=True),
                   model("generation", "aucert-ai", ["GENERATION"], deployment="gpt-5.4"))
            ctl = AzureController(cluster, ns, tmp_path, emu, credential=credential,
                                  args=("--azure-ca-file", wrong, "--log-level=debug"))
            ctl.start()
            try:
                def refused():
                    ctl.assert_running()
                    o = get(cluster, ns, "FoundryModel", "generation")
                    c = cond(o)
                    return o if c and c["status"] != "True" and "certificate" in c["message"] else None
                o = wait_for("Ready names the certificate problem", refused, timeout=45)
                time.sleep(1)
                reqs = emu.requests()
                data = cm_data(cluster, ns)
                # account status is written after its models' in one reconcile
                acct = wait_for("account Ready names the certificate problem", lambda: (
                    lambda a: a if cond(a) and "certificate" in cond(a)["message"] else None)(
                    get(cluster, ns, "FoundryAccount", "aucert-ai")), timeout=45)
            finally:
                code = ctl.stop()
            log = ctl.stderr()
            tokens = [t["token"] for t in emu.tokens(reveal=True)]
            for t in tokens:
                register_secret(t)
        finally:
            register_emulator(emu)
    msg = cond(o)["message"]
    # the account is checked first: it says AzureUnreachable, its models AccountNotReady with its message
    assert cond(o)["reason"] in ("AzureUnreachable", "AccountNotReady"), o["status"]
    assert cond(acct)["reason"] == "AzureUnreachable", acct["status"]
    assert emu.base_url.split("//")[1] in msg, msg          # where: the Azure endpoint refused
    assert "TLS: " in msg and "certificate" in msg.lower(), msg     # what: certificate verification
    assert not (o["status"].get("publishedKeys") or []), o["status"]
    assert not {k for k in data if k.startswith("FOUNDRY_")}, data
    assert cond(acct)["status"] != "True" and "certificate" in cond(acct)["message"], acct["status"]
    https = [r for r in reqs if r["listener"] == "https"]
    assert https == [], "requests reached the Azure emulator through a refused TLS connection: %s" % [
        (r["method"], r["path"]) for r in https]
    if credential == "imds":
        # IMDS is plain HTTP by design: the token is obtained there, and never sent to ARM
        assert tokens and all(r["listener"] == "http" for r in reqs), reqs
    loud = [r for r in records(log) if r.get("level") in ("warn", "error") and
            "certificate" in json.dumps(r).lower()]
    assert loud, log[-3000:]
    assert code == 0, code
    assert not leaks(log, [CLIENT_SECRET, *tokens])
    figure("security.azure_wrong_ca.%s" % credential,
           "Azure with a wrong CA (%s credential): Ready %s %s, %d warnings naming the certificate "
           "problem, 0 HTTPS requests reached Azure, nothing published; condition: %s" % (
               credential, cond(o)["status"], cond(o)["reason"], len(loud), msg[:120]))


# ---- 3. failure paths at the most verbose level: no secret in the logs -----------------------

def _start(cluster, ns, tmp_path, emu, case, wrong_secret, token_file):
    env, credential = {}, "secret"
    if case == "entra_401_wrong_secret":
        env["AZURE_CLIENT_SECRET"] = wrong_secret
    elif case == "arm_401_expired_token":
        emu.fault("expired_token", path_regex=ARM_RX, count=-1)
    elif case == "arm_403":
        emu.fault("403", path_regex=ARM_RX, count=-1)
    elif case == "token_malformed":
        # a 200 that carries all of a fresh access token but its last 8 characters
        emu.fault("malformed", path_regex=TOKEN_RX, count=-1, cut=-10)
    elif case == "imds_malformed":
        credential = "imds"
        emu.fault("malformed", path_regex=r"^/metadata/identity/oauth2/token$", count=-1, cut=-40)
    elif case == "federated_rejected":
        credential = "workload"
    ctl = AzureController(cluster, ns, tmp_path, emu, credential=credential, token_file=token_file,
                          args=("--log-level=debug", "--deployment-ttl=1s"), env=env)
    return ctl.start()


CASES = {
    # case: what the Ready condition's message must contain
    "entra_401_wrong_secret": "AADSTS7000215",
    "arm_401_expired_token": "401",
    "arm_403": "Microsoft.CognitiveServices/",
    "token_malformed": "access_token",
    "imds_malformed": "access_token",
    "federated_rejected": "AADSTS70021",
    "expired_then_refreshed": None,       # succeeds: a 401, a new token, published
}


@pytest.mark.parametrize("case", list(CASES))
def test_failure_path_logs_no_secret(cluster, namespace, tmp_path, case):
    ns = namespace
    wrong_secret = "wrong-secret-%s" % uuid.uuid4().hex
    rejected = "rejected-assertion-%s.%s" % (uuid.uuid4().hex, uuid.uuid4().hex)
    register_secret(wrong_secret)
    register_secret(rejected)
    token_file = tmp_path / "federated-token"
    token_file.write_text(rejected)
    with Emulator(tmp_path / "azure") as emu:
        try:
            create(cluster, ns, account("aucert-ai", primary=True),
                   model("generation", "aucert-ai", ["GENERATION"], deployment="gpt-5.4"))
            ctl = _start(cluster, ns, tmp_path, emu, case, wrong_secret, token_file)
            try:
                want = CASES[case]
                if want is None:
                    wait_for("published", lambda: ctl.assert_running() or
                             cm_data(cluster, ns).get("FOUNDRY_DEPLOYMENT_GENERATION") == "gpt-5.4", timeout=45)
                    emu.reset_requests()
                    emu.expire_tokens()
                    st, body = api(cluster, "PATCH", "/apis/%s/namespaces/%s/foundrymodels/generation" % (GV, ns),
                                   {"spec": {"model": {"format": "MoonshotAI", "name": "Kimi-K2.6", "version": "1"},
                                             "deployment": "Kimi-K2.6"}},
                                   content_type="application/merge-patch+json")
                    assert st == 200, body
                    wait_for("Kimi-K2.6 published after the token expired", lambda: ctl.assert_running() or
                             cm_data(cluster, ns).get("FOUNDRY_DEPLOYMENT_GENERATION") == "Kimi-K2.6", timeout=45)
                    assert emu.count(ARM_RX, status=401) >= 1 and emu.count(TOKEN_RX, "POST", 200) >= 1
                    msg = "published"
                else:
                    def failed():
                        ctl.assert_running()
                        c = cond(get(cluster, ns, "FoundryModel", "generation"))
                        return c if c and c["status"] != "True" and want in c["message"] else None
                    msg = wait_for("Ready says %s" % want, failed, timeout=45)["message"]
                    assert "FOUNDRY_DEPLOYMENT_GENERATION" not in cm_data(cluster, ns)
                time.sleep(1.5)      # a few more retries, logged too
            finally:
                code = ctl.stop()
            tokens = [t["token"] for t in emu.tokens(reveal=True)]
            assertions = [a["assertion"] for a in emu.assertions()]
            reqs = emu.requests()
        finally:
            register_emulator(emu)
    for t in tokens + assertions:
        register_secret(t)
    log = ctl.stderr()
    try:
        with open(ctl.stdout_path, errors="replace") as f:
            log += f.read()
    except OSError:
        pass
    assert code == 0, "SIGTERM: exit %s" % code
    recs = records(log)
    debug = [r for r in recs if r.get("level") == "debug"]
    assert debug, "not at the debug level?"
    if case in ("token_malformed", "imds_malformed"):
        assert tokens, "the emulator issued no token: the malformed body carried none"
    if case in ("arm_401_expired_token", "expired_then_refreshed"):
        assert len(tokens) >= 2, tokens and len(tokens)
    if case == "federated_rejected":
        assert assertions and not any(a == FEDERATED_ASSERTION for a in assertions), assertions
    others = {CLIENT_SECRET, wrong_secret, FEDERATED_ASSERTION, rejected, *assertions}
    found = leaks(log, [*others, *tokens])
    assert not found, "%s: the controller's logs contain secret material: %s" % (case, found)
    figure("security.no_secret_in_logs.%s" % case,
           "%d log lines (%d at debug), %d requests to Azure, %d tokens issued + %d secrets/assertions "
           "checked: none in the logs (whole or any %d-char piece); condition: %s" % (
               len(recs), len(debug), len(reqs), len(tokens), len(others), PIECE,
               msg[:90]))
