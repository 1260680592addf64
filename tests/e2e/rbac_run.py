"""The real controller under the chart's ServiceAccount: shared by test_helm.py and test_rbac_minimal.py.

chart_controller(...) installs helm/foundry-controller in single-namespace mode
(watchNamespace = a fresh namespace, so the controller never touches other
tests' objects), optionally edits its Roles (edit_roles), mints a token for the
chart's ServiceAccount (TokenRequest: `kubectl create token`), writes a
kubeconfig with only that token, starts bin/foundry-controller with the
Deployment's own args, applies a FoundryAccount "acct" and a FoundryModel
"gen", and yields a ControllerRun. The scenario checks below return True or a
description of what is seen instead (for wait_for).
"""

import contextlib
import copy
import json
import os
import re
import subprocess
import time
import uuid

import yaml

from conftest import REPO

CHART = os.path.join(REPO, "helm", "foundry-controller")
BIN = os.environ.get("FC_BIN") or os.path.join(REPO, "bin", "foundry-controller")
FINALIZER = "foundry.aucert.io/finalizer"
ENDPOINT = "https://acct.openai.azure.com/"
FORBIDDEN_RE = re.compile(r"forbidden|\b403\b", re.I)


def short_id():
    return uuid.uuid4().hex[:6]


def fa_fm(ns):
    return """
apiVersion: foundry.aucert.io/v1alpha1
kind: FoundryAccount
metadata: {name: acct, namespace: %(ns)s}
spec:
  subscriptionId: 00000000-0000-0000-0000-000000000000
  resourceGroup: rg
  primary: true
  endpoint: https://acct.openai.azure.com/
---
apiVersion: foundry.aucert.io/v1alpha1
kind: FoundryModel
metadata: {name: gen, namespace: %(ns)s}
spec:
  accountRef: {name: acct}
  model: {name: gpt-4o, version: "2024-11-20"}
  sku: {name: GlobalStandard}
  keys: [GENERATION]
""" % {"ns": ns}


def wait_for(what, fn, timeout=45, interval=0.3):
    """Until fn() is True; AssertionError with fn's last answer after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last is True:
            return
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


# --------------------------------------------------------------------------
# Role editing

def without_verb(rules, resource, verb):
    """rules minus `verb` on `resource`: a rule naming other resources too is split first (they
    keep every verb), a rule left without verbs is dropped. AssertionError if nothing granted it."""
    out, found = [], False
    for rule in rules:
        if resource not in rule.get("resources", []) or verb not in rule.get("verbs", []):
            out.append(rule)
            continue
        found = True
        others = [r for r in rule["resources"] if r != resource]
        if others:
            out.append(dict(copy.deepcopy(rule), resources=others))
        verbs = [v for v in rule["verbs"] if v != verb]
        if verbs:
            out.append(dict(copy.deepcopy(rule), resources=[resource], verbs=verbs))
    assert found, "no rule grants %s on %s: %r" % (verb, resource, rules)
    return out


def remove_verb(cluster, namespace, role, resource, verb):
    """kubectl get the Role, drop `verb` on `resource`, kubectl replace."""
    obj = cluster.get_json("role", role, "-n", namespace)
    obj["rules"] = without_verb(obj["rules"], resource, verb)
    cluster.kubectl("replace", "-f", "-", input=json.dumps(obj))
    return obj["rules"]


def can_i(cluster, sa_ns, sa, verb, resource, namespace, name=None):
    """kubectl auth can-i as the ServiceAccount; resource may be "plural.group/subresource"."""
    resource, _, sub = resource.partition("/")
    args = ["auth", "can-i", verb, resource + ("/" + name if name else ""), "-n", namespace]
    if sub:
        args.append("--subresource=" + sub)
    p = cluster.kubectl(*args, "--as", "system:serviceaccount:%s:%s" % (sa_ns, sa), check=False)
    assert p.stdout.strip() in ("yes", "no"), p.stdout + p.stderr
    return p.stdout.strip() == "yes"


# --------------------------------------------------------------------------
# the run

class ControllerRun:
    """One bin/foundry-controller process under the chart's ServiceAccount."""

    def __init__(self, cluster, rel_ns, apps, release, log_path):
        self.cluster = cluster
        self.rel_ns = rel_ns              # release namespace: ServiceAccount, Lease
        self.apps = apps                  # watched namespace: accounts, models, llm-config
        self.release = release
        self.full = release + "-foundry-controller"
        self.lease = self.full + "-leader"
        self.log_path = log_path
        self.proc = None
        self.exit_code = None

    # ---- the process

    def start(self, kubeconfig, extra_args=(), extra_env=None):
        """extra_args go after the Deployment's args; extra_env (e.g. the AZURE_* of an Azure
        emulator) is added to the environment."""
        dep = self.cluster.get_json("deployment", self.full, "-n", self.rel_ns)
        args = []
        for a in dep["spec"]["template"]["spec"]["containers"][0]["args"]:
            a = a.replace("$(POD_NAMESPACE)", self.rel_ns)
            if a.startswith(("--metrics-bind-address=", "--health-probe-bind-address=")):
                a = a.split("=")[0] + "=127.0.0.1:0"
            args.append(a)
        args += [str(a) for a in extra_args]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FOUNDRY_", "AZURE_"))}
        env.update({"KUBECONFIG": str(kubeconfig), "POD_NAMESPACE": self.rel_ns})
        env.update(extra_env or {})
        from controller_proc import spawn     # registers the log for the session-end scan
        with open(self.log_path, "w") as log:
            self.proc = spawn([BIN, *args], env, log, subprocess.STDOUT, stdin=None,
                              logs=(self.log_path,))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20):
        """SIGTERM, then the exit code (or the one it already exited with)."""
        if self.proc is None:
            return self.exit_code
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.exit_code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        return self.exit_code

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ""

    def forbidden_lines(self):
        return [line for line in self.log().splitlines() if FORBIDDEN_RE.search(line)]

    # ---- the scenario, step by step (True, or what is seen instead)

    def llm_config(self):
        p = self.cluster.kubectl("get", "cm", "llm-config", "-n", self.apps, "-o", "json", check=False)
        return json.loads(p.stdout).get("data", {}) if p.returncode == 0 else None

    def published(self):
        data = self.llm_config()
        if data is None:
            return "no llm-config"
        want = {"FOUNDRY_ENDPOINT": ENDPOINT, "FOUNDRY_DEPLOYMENT_GENERATION": "gpt-4o"}
        return True if data == want else data

    def _conditions(self, kind, name):
        p = self.cluster.kubectl("get", kind, name, "-n", self.apps, "-o", "json", check=False)
        if p.returncode != 0:
            return None, []
        obj = json.loads(p.stdout)
        conds = {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}
        return conds, obj["metadata"].get("finalizers", [])

    def model_status(self):
        conds, _ = self._conditions("fm", "gen")
        return True if conds and conds.get("Ready") == "True" else conds

    def model_finalizer(self):
        _, fins = self._conditions("fm", "gen")
        return True if FINALIZER in fins else fins

    def model_ready(self):
        conds, fins = self._conditions("fm", "gen")
        return True if conds and conds.get("Ready") == "True" and FINALIZER in fins else (conds, fins)

    def account_status(self):
        conds, _ = self._conditions("fa", "acct")
        return True if conds and "Ready" in conds else conds

    def event(self):
        items = self.cluster.get_json("events", "-n", self.apps)["items"]
        return True if items else "no Event"

    def lease_holder(self):
        p = self.cluster.kubectl("get", "lease", self.lease, "-n", self.rel_ns, "-o", "json", check=False)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)["spec"].get("holderIdentity") or None

    def lease_held(self):
        return True if self.lease_holder() else "no Lease holder"

    def delete_model(self):
        self.cluster.kubectl("delete", "fm", "gen", "-n", self.apps, "--wait=false")

    def model_gone(self):
        p = self.cluster.kubectl("get", "fm", "gen", "-n", self.apps, check=False)
        return True if p.returncode != 0 else "still there"

    def key_removed(self):
        data = self.llm_config()
        return True if data == {"FOUNDRY_ENDPOINT": ENDPOINT} else data

    def full_scenario(self, timeout=45):
        """Everything the controller must do, in order (what test_helm.py asserts)."""
        wait_for("llm-config", self.published, timeout)
        wait_for("FoundryModel status and finalizer", self.model_ready, timeout)
        # account status is written after its models' in one reconcile: wait for it too
        wait_for("FoundryAccount status", self.account_status, timeout)
        wait_for("an Event", self.event, timeout)
        assert self.lease_held() is True, "the Lease has no holder"
        self.delete_model()
        wait_for("FoundryModel gone", self.model_gone, timeout)
        assert self.key_removed() is True, self.llm_config()


def sa_kubeconfig(cluster, rel_ns, sa, path):
    """A kubeconfig whose only credential is a fresh TokenRequest token of the ServiceAccount."""
    token = cluster.kubectl("create", "token", sa, "-n", rel_ns, "--duration=1h").stdout.strip()
    from conftest import register_secret
    register_secret(token)
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": cluster.server,
                                                "certificate-authority": cluster.ca_file}}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "sa", "namespace": rel_ns}}],
        "current-context": "c"}))
    return path


@contextlib.contextmanager
def chart_controller(cluster, helm, rel_ns, apps, tmp_path, edit_roles=None, apply_objects=True,
                     helm_set=(), extra_args=(), extra_env=None):
    """helm install (watchNamespace=apps), edit_roles(run) if given, start the controller with the
    ServiceAccount token, apply the FoundryAccount and FoundryModel; yields the ControllerRun.
    helm_set: more `--set k=v` values (after azure.validation=off, so they win); extra_args and
    extra_env: for the process (e.g. an Azure emulator's flags and credential env).
    Afterwards: the controller killed if still running, the model's finalizer dropped, the release
    uninstalled."""
    kc = cluster.kubeconfig
    run = ControllerRun(cluster, rel_ns, apps, "fc-" + short_id(), tmp_path / "controller.log")
    helm("install", run.release, CHART, "-n", rel_ns, "--set", "watchNamespace=" + apps,
         "--set", "azure.validation=off", "--set", "logFormat=text",
         *[a for kv in helm_set for a in ("--set", kv)], kubeconfig=kc)
    try:
        if edit_roles:
            edit_roles(run)
        run.start(sa_kubeconfig(cluster, rel_ns, run.full, tmp_path / "kubeconfig"),
                  extra_args=extra_args, extra_env=extra_env)
        if apply_objects:
            cluster.kubectl("apply", "-f", "-", input=fa_fm(apps))
        yield run
    finally:
        if run.proc is not None:
            run.proc.kill()
            run.proc.wait()
            run.proc = None
        cluster.kubectl("patch", "fm", "gen", "-n", apps, "--type=merge",
                        "-p", '{"metadata":{"finalizers":null}}', check=False)
        helm("uninstall", run.release, "-n", rel_ns, kubeconfig=kc, check=False)
