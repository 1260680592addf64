"""Least privilege, proven: without any one rule of the chart's RBAC, the real controller fails.

test_helm.py::test_controller_runs_with_chart_rbac runs bin/foundry-controller with a
TokenRequest token of the chart's ServiceAccount and the Deployment's own args
through the whole scenario, with no Forbidden in its log. Here the same run
starts after one verb on one resource was taken out of the chart's Role
(kubectl get -o json, edit, kubectl replace; a rule naming two resources is
split so that the other keeps everything), and the part of the scenario that
needs it must fail within a bounded wait, while what does not need it still
works (the witness: proof that the controller got far enough for the failure
to mean something).

Every verb the chart grants is a case (test_helm.WATCH_RULES and
leader_rules, which test_helm.py checks against the chart and manifests/).
The ones the controller never uses are Unused: strict xfail, i.e. reported as
"xfailed" on every run, until the chart drops them (then drop them here) or a
scenario that needs them is found (then the xfail turns into a failure: give
the case its expectation).
"""

import os
import re
import time
from dataclasses import dataclass

import pytest

import rbac_run
from rbac_run import can_i, chart_controller, remove_verb, wait_for
from test_helm import WATCH_RULES, helm, helm_env, leader_rules, make_namespace  # noqa: F401 (fixtures)

# How long a broken step must stay broken. With every rule, each step of the
# scenario takes well under a second (test_controller_runs_with_chart_rbac).
BROKEN_FOR = 5
LEADER_ROLE = "leader"     # the -leader-election Role in the release namespace; else the watch Role
RENEW_DEADLINE = 10        # seconds, client-go's default (docs/operations.md)


@dataclass
class Expect:
    """What removing one verb must do to the scenario."""
    why: str                       # the controller's use of the verb
    witness: tuple = ()            # steps that still succeed (rbac_run.ControllerRun method names)
    broken: tuple = ()             # steps that must not succeed within BROKEN_FOR seconds
    log: str = None                # regex the controller's log must match
    log_min: int = 1               # ... at least this many times
    check: object = None           # extra fn(run) after the above


def _forbidden(verb, resource):
    """The API server's 403 message for the ServiceAccount, as the controller logs it."""
    return r'FORBIDDEN .*cannot %s resource \\"%s\\"' % (verb, re.escape(resource))


def _lease_never_renewed(run):
    """With create but no update: the first acquire creates the Lease, then every renewal is
    denied; at the renew deadline the leader gives up and exits 1 (the pod would restart)."""
    lease = run.cluster.get_json("lease", run.lease, "-n", run.rel_ns)["spec"]
    wait_for("the controller to exit after its renew deadline", lambda: True if not run.running()
             else "running", timeout=RENEW_DEADLINE + 10)
    assert run.stop() == 1, run.log()
    assert "renew deadline exceeded" in run.log(), run.log()
    after = run.cluster.get_json("lease", run.lease, "-n", run.rel_ns)["spec"]
    # never renewed (and not released on the way out either)
    assert after["renewTime"] == lease["renewTime"] == lease["acquireTime"], (lease, after)
    assert after["holderIdentity"] == lease["holderIdentity"], (lease, after)


def _candidate_forever_says_why(run):
    """Denied create of the Lease: a candidate forever, saying why at the default level."""
    # another process's log, read after a fixed window: wait for the lines it must hold
    wait_for("the candidate and its failed Lease create in the log", lambda: (
        "leader election: candidate" in run.log() and
        re.search(r"lease create failed .*FORBIDDEN", run.log()) is not None), timeout=15)
    assert run.running(), run.log()
    assert "leader election: candidate" in run.log() and "acquired" not in run.log(), run.log()
    assert re.search(r"lease create failed .*FORBIDDEN", run.log()), run.log()


@dataclass
class Unused:
    """Granted by the chart, never used by `foundry-controller run`: the whole scenario passes
    without it, with no Forbidden."""
    why: str


_NO_GET = Unused("objects come from the informer's list/watch, never a GET (and list already "
                 "discloses them: dropping get removes no access)")
_NO_STATUS_GET = Unused("status is never read back: the informer's objects carry it")
_NO_STATUS_PUT = Unused("status is only merge-patched (PATCH /status), never replaced (PUT)")

_NO_WATCH = ("the %s informer watches: without it every watch is a 403 followed by a relist, in a "
             "loop (the scenario itself still passes: the relists see the changes)")

# (resource, verb) -> Expect, or Unused.
EXPECT = {
    ("foundryaccounts", "list"): Expect(
        "the accounts informer lists: without it the caches never sync, nothing starts",
        broken=("lease_held", "published", "model_finalizer"),
        log=r"list failed informer=\"foundry.aucert.io/foundryaccounts .*"
            + _forbidden("list", "foundryaccounts")),
    ("foundryaccounts", "watch"): Expect(
        _NO_WATCH % "accounts",
        witness=("published",), log=_forbidden("watch", "foundryaccounts"), log_min=3),
    ("foundrymodels", "list"): Expect(
        "the models informer lists: without it the caches never sync, nothing starts",
        broken=("lease_held", "published", "model_finalizer"),
        log=r"list failed informer=\"foundry.aucert.io/foundrymodels .*"
            + _forbidden("list", "foundrymodels")),
    ("foundrymodels", "watch"): Expect(
        _NO_WATCH % "models",
        witness=("published",), log=_forbidden("watch", "foundrymodels"), log_min=3),
    ("foundrymodels", "patch"): Expect(
        "the finalizer is a merge patch of the model; no finalizer, no publication",
        # not account_status: the finalizer step comes first in a namespace's
        # reconcile, so when the account and the model reach the controller in
        # the same snapshot (a slow start, e.g. under ASan) the failed finalizer
        # stops the account's status write too; the Forbidden log line below is
        # the proof that the controller got that far
        witness=("lease_held",),
        broken=("model_finalizer", "published", "model_status"),
        log=r"finalizer update failed .*" + _forbidden("patch", "foundrymodels")),
    ("foundryaccounts/status", "patch"): Expect(
        "account status is a merge patch of /status",
        witness=("published", "model_ready"), broken=("account_status",),
        log=r"status update failed .*name=acct .*" + _forbidden("patch", "foundryaccounts/status")),
    ("foundrymodels/status", "patch"): Expect(
        "model status is a merge patch of /status",
        witness=("published", "model_finalizer", "account_status"), broken=("model_status",),
        log=r"status update failed .*name=gen .*" + _forbidden("patch", "foundrymodels/status")),
    ("configmaps", "list"): Expect(
        "the ConfigMap informer lists: without it the caches never sync, nothing starts",
        broken=("lease_held", "published", "model_finalizer"),
        log=r"list failed informer=\"configmaps .*" + _forbidden("list", "configmaps")),
    ("configmaps", "watch"): Expect(
        _NO_WATCH % "ConfigMap",
        witness=("published",), log_min=3,
        log=r"watch failed informer=\"configmaps .*" + _forbidden("watch", "configmaps")),
    ("configmaps", "create"): Expect(
        "server-side apply of a missing llm-config is a create",
        witness=("lease_held", "model_finalizer"),
        broken=("published", "model_status", "account_status"),
        # the API server's message names no verb for the create check inside a PATCH
        log=r"ConfigMap apply failed .*name=llm-config .*status=403"),
    ("configmaps", "patch"): Expect(
        "server-side apply is a PATCH",
        witness=("lease_held", "model_finalizer"),
        broken=("published", "model_status", "account_status"),
        log=r"ConfigMap apply failed .*name=llm-config .*" + _forbidden("patch", "configmaps")),
    ("events", "create"): Expect(
        "events are created",
        witness=("published", "model_ready", "account_status"), broken=("event",),
        log=r"event not recorded object=gen reason=Published"),
    ("leases", "create"): Expect(
        "the first candidate creates the Lease; without it nobody leads, nothing is written",
        broken=("lease_held", "published", "model_finalizer", "model_status", "account_status", "event"),
        check=_candidate_forever_says_why),
    ("leases", "get"): Expect(
        "each acquire/renew reads the Lease first; without it nobody leads",
        broken=("lease_held", "published", "model_finalizer"),
        log=r"lease read failed .*" + _forbidden("get", "leases")),
    ("leases", "update"): Expect(
        "renewals (and the release on shutdown) are updates",
        witness=("lease_held", "published", "model_ready"), check=_lease_never_renewed),
}

CAN_I_RESOURCE = {"foundryaccounts": "foundryaccounts.foundry.aucert.io",
                  "foundrymodels": "foundrymodels.foundry.aucert.io",
                  "leases": "leases.coordination.k8s.io"}


def _granted():
    """Every (resource, verb) the chart grants, in order, with the Role it is in."""
    out = []
    for role, rules in ((None, WATCH_RULES), (LEADER_ROLE, leader_rules("x"))):
        for rule in rules:
            for res in rule["resources"]:
                for verb in rule["verbs"]:
                    if (res, verb, role) not in out:
                        out.append((res, verb, role))
    return out


def _params():
    params = []
    for res, verb, role in _granted():
        marks = ()
        expect = EXPECT.get((res, verb))
        if isinstance(expect, Unused):
            # Reported, not hidden: "xfailed" on every run until the chart drops the verb.
            marks = pytest.mark.xfail(strict=True, raises=pytest.fail.Exception,
                                      reason="unused, the chart need not grant it: " + expect.why)
        params.append(pytest.param(res, verb, role, id="%s:%s" % (res, verb), marks=marks))
    return params


def test_every_granted_verb_has_a_case():
    granted = {(r, v) for r, v, _ in _granted()}
    assert granted == set(EXPECT), ("rules without a case: %s; cases without a rule: %s" % (
        sorted(granted - set(EXPECT)), sorted(set(EXPECT) - granted)))


@pytest.mark.parametrize("resource,verb,role", _params())
def test_removing_a_rule_breaks_the_scenario(cluster, helm, namespace, make_namespace, tmp_path,
                                             resource, verb, role):
    if not os.access(rbac_run.BIN, os.X_OK):
        pytest.skip("no controller binary at %s (run `make` or set FC_BIN)" % rbac_run.BIN)
    expect = EXPECT[(resource, verb)]
    apps = make_namespace("e2e-rbac")

    def edit(run):
        if role == LEADER_ROLE:
            ns, name, lease = run.rel_ns, run.full + "-leader-election", run.lease
        else:
            ns, name, lease = apps, run.full, None
        remove_verb(cluster, ns, name, resource, verb)
        what = CAN_I_RESOURCE.get(resource.split("/")[0], resource.split("/")[0])
        if "/" in resource:
            what += "/" + resource.split("/")[1]
        # the authorizer's cache follows the Role within moments
        wait_for("%s %s to be denied" % (verb, resource), lambda: True if not can_i(
            cluster, run.rel_ns, run.full, verb, what, ns, name=lease if verb != "create" else None)
            else "still allowed", timeout=15)

    with chart_controller(cluster, helm, namespace, apps, tmp_path, edit_roles=edit) as run:
        if isinstance(expect, Unused):
            # Strict xfail: this passes (and so fails the run) only if some part of the scenario
            # needs the verb after all; then give the case its Expect.
            try:
                run.full_scenario(timeout=15)
                assert run.stop() == 0, run.log()
                assert not run.forbidden_lines(), run.forbidden_lines()
            except AssertionError:
                return
            pytest.fail("without %s on %s the whole scenario still works, with no Forbidden: "
                        "the chart need not grant it" % (verb, resource))
        for step in expect.witness:
            wait_for("%s (it does not need %s %s)" % (step, verb, resource), getattr(run, step), timeout=15)
        if expect.broken:
            steps = [getattr(run, s) for s in expect.broken]
            deadline = time.monotonic() + BROKEN_FOR
            while time.monotonic() < deadline:
                for name, fn in zip(expect.broken, steps):
                    assert fn() is not True, "%s succeeded without %s on %s\n%s" % (
                        name, verb, resource, run.log())
                time.sleep(0.3)
        if expect.log:
            def logged():
                n = len(re.findall(expect.log, run.log()))
                return True if n >= expect.log_min else "%d of %d lines" % (n, expect.log_min)
            wait_for("log /%s/ x%d" % (expect.log, expect.log_min), logged, timeout=BROKEN_FOR)
        if expect.check:
            expect.check(run)
        if run.running():
            assert run.stop() == 0, run.log()
