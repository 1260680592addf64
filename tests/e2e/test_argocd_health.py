"""Argo CD health checks (argocd/resource_customizations/) run with lua5.1.

No cluster needed. The runner is tests/argocd/run_health_tests.py (also
usable on its own); each case of each health_test.yaml is one test here.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "argocd"))
import run_health_tests as rh  # noqa: E402

CASES = list(rh.cases())


def test_layout():
    """Argo CD's layout: <group>/<Kind>/{health.lua,health_test.yaml,testdata/} for both kinds."""
    for kind in ("FoundryAccount", "FoundryModel"):
        d = os.path.join(rh.CUSTOMIZATIONS, "foundry.aucert.io", kind)
        assert os.path.isfile(os.path.join(d, "health.lua")), d
        assert os.path.isfile(os.path.join(d, "health_test.yaml")), d
        assert os.path.isdir(os.path.join(d, "testdata")), d
    statuses = {(os.path.basename(os.path.dirname(s)), e["status"]) for _, s, _, e in CASES}
    for kind in ("FoundryAccount", "FoundryModel"):
        for st in ("Healthy", "Progressing", "Degraded"):
            assert (kind, st) in statuses, "no %s case for %s" % (st, kind)


def test_every_testdata_file_is_used():
    assert rh.unused_testdata() == []


@pytest.mark.parametrize("case_id,script,inp,expected", CASES, ids=[c[0] for c in CASES])
def test_health(case_id, script, inp, expected):
    obj = rh.load_yaml(inp)
    kind = os.path.basename(os.path.dirname(script))
    assert obj["kind"] == kind and obj["apiVersion"].startswith("foundry.aucert.io/"), case_id
    assert rh.check(script, inp, expected) is None, rh.check(script, inp, expected)


def test_runner_detects_a_wrong_expectation():
    """The runner is not vacuous: a wrong status or message is reported."""
    _, script, inp, expected = next(c for c in CASES if c[3]["status"] == "Healthy")
    assert rh.check(script, inp, dict(expected, status="Degraded")) is not None
    assert rh.check(script, inp, dict(expected, message="something else")) is not None


def test_lua_serializer_round_trip():
    """Strings with quotes, backslashes, newlines and UTF-8 reach Lua byte-exact."""
    tricky = 'a "quoted" \\ back\nslash\tand \u00e9\u2014\U0001F600 ]]'
    obj = {"metadata": {"generation": 1}, "status": {"observedGeneration": 1, "conditions": [
        {"type": "Ready", "status": "False", "reason": "InvalidSpec", "message": tricky}]}}
    script = os.path.join(rh.CUSTOMIZATIONS, "foundry.aucert.io", "FoundryModel", "health.lua")
    assert rh.run_health(script, obj) == {"status": "Degraded", "message": "InvalidSpec: " + tricky}


def test_timestamps_stay_strings():
    inp = os.path.join(rh.CUSTOMIZATIONS, "foundry.aucert.io", "FoundryModel", "testdata", "healthy.yaml")
    cond = rh.load_yaml(inp)["status"]["conditions"][0]
    assert isinstance(cond["lastTransitionTime"], str)


def test_argocd_cm_patch_carries_the_same_scripts():
    """argocd/argocd-cm-health.yaml is generated from the health.lua files and up to date."""
    import yaml
    with open(rh.ARGOCD_CM) as f:
        text = f.read()
    assert text == rh.argocd_cm_text(), "stale: run tests/argocd/run_health_tests.py --write-cm"
    data = yaml.safe_load(text)["data"]
    for kind in ("FoundryAccount", "FoundryModel"):
        with open(os.path.join(rh.CUSTOMIZATIONS, "foundry.aucert.io", kind, "health.lua")) as f:
            assert data["resource.customizations.health.foundry.aucert.io_" + kind] == f.read()
