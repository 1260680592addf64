"""A controller started after everything exists, in front of a hand-made
ConfigMap (no managed-by label, so outside the controller's ConfigMap
informer) in which kubectl owns a key a model wants (DESIGN.md §3).

Found by `make valgrind`: under memcheck the controller is slow enough that
the FoundryAccount and FoundryModel are both in its first snapshot, and the
first apply then carried the foreign key, got 409 and was retried forever
(the render never saw the key as foreign). Fixed in
controller/controller.c:reconcile_key (a 409 with no cached ConfigMap renders
again from the live object).

    make && FC_BIN=$PWD/bin/foundry-controller /usr/bin/python3 -m pytest -q tests/e2e/test_startup_conflict.py
"""

import json
import os
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from controller_proc import Controller, wait_for  # noqa: E402

GV = "foundry.aucert.io/v1alpha1"
EP = "https://a.openai.azure.com/"


def docs(ns):
    return [
        {"apiVersion": GV, "kind": "FoundryAccount", "metadata": {"name": "primary", "namespace": ns},
         "spec": {"subscriptionId": "00000000-0000-0000-0000-000000000000",
                  "resourceGroup": "rg-e2e", "primary": True, "endpoint": EP}},
        {"apiVersion": GV, "kind": "FoundryModel", "metadata": {"name": "generation", "namespace": ns},
         "spec": {"accountRef": {"name": "primary"},
                  "model": {"format": "OpenAI", "name": "gpt-5.4", "version": "2026-03-05"},
                  "sku": {"name": "GlobalStandard"}, "keys": ["GENERATION", "REPORTING"],
                  "deployment": "gpt-5.4"}},
    ]


def ready(cluster, ns):
    p = cluster.kubectl("get", "fm", "generation", "-n", ns, "-o", "json", check=False)
    if p.returncode != 0:
        return None
    for c in (json.loads(p.stdout).get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return None


def cm_data(cluster, ns):
    return cluster.get_json("configmap", "llm-config", "-n", ns).get("data") or {}


def test_foreign_key_in_unlabelled_configmap_at_start(cluster, namespace, tmp_path):
    ns = namespace
    cluster.kubectl("create", "configmap", "llm-config", "-n", ns,
                    "--from-literal=FOUNDRY_DEPLOYMENT_GENERATION=hand-made")
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs(ns)))
    c = Controller(cluster, ns, tmp_path).start()
    try:
        cond = wait_for("Ready=False KeyConflict",
                        lambda: (lambda r: r if r and r.get("reason") == "KeyConflict" else None)(
                            ready(cluster, ns)), timeout=30)
        assert "kubectl-create" in cond["message"], cond
        wait_for("FOUNDRY_ENDPOINT published",
                 lambda: cm_data(cluster, ns).get("FOUNDRY_ENDPOINT") == EP, timeout=30)
        data = cm_data(cluster, ns)
        assert data["FOUNDRY_DEPLOYMENT_GENERATION"] == "hand-made", data
        assert "FOUNDRY_DEPLOYMENT_REPORTING" not in data, data     # no half switch
        c.assert_running()
    finally:
        code = c.stop()
    assert code == 0, c.stderr()[-5000:]
