#!/usr/bin/python3
"""Runs the Argo CD health checks in argocd/resource_customizations/ with lua5.1.

Argo CD's own layout and test format are used, so the directory can be
copied into an Argo CD fork or checked with its test suite unchanged:

  argocd/resource_customizations/<group>/<Kind>/health.lua
  argocd/resource_customizations/<group>/<Kind>/health_test.yaml
      tests:
        - healthStatus: {status: Healthy, message: "..."}
          inputPath: testdata/healthy.yaml
  argocd/resource_customizations/<group>/<Kind>/testdata/*.yaml

Argo CD runs health.lua (gopher-lua, Lua 5.1) with the object, converted from
JSON, in the global `obj`, and reads the returned table's status and message.
Here each YAML object is serialised to a Lua table literal (timestamps stay
strings, as in JSON; null fields are absent, as gopher-lua's nil), the script
is loaded with loadfile and called, and the result is compared with the
expected one. Every testdata file must be used by some test.

  /usr/bin/python3 tests/argocd/run_health_tests.py     exit 0 when all pass
  /usr/bin/python3 tests/argocd/run_health_tests.py --write-cm
      regenerates argocd/argocd-cm-health.yaml (the argocd-cm patch that
      carries the same scripts) after a health.lua changed
"""

import glob
import math
import os
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CUSTOMIZATIONS = os.path.join(REPO, "argocd", "resource_customizations")
ARGOCD_CM = os.path.join(REPO, "argocd", "argocd-cm-health.yaml")
LUA = os.environ.get("FC_LUA", "lua5.1")
SEP = "\x1e"   # record separator between status and message in the output


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as strings (the API server sends JSON)."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp",
                        lambda loader, node: loader.construct_scalar(node))


def load_yaml(path):
    with open(path) as f:
        return yaml.load(f, Loader=_Loader)


def _lua_string(s):
    out = ['"']
    for ch in s.encode("utf-8"):
        c = chr(ch)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= ch < 127:
            out.append(c)
        else:
            out.append("\\%d" % ch)     # Lua 5.1 decimal escape, byte-exact
    out.append('"')
    return "".join(out)


def to_lua(v):
    """A Lua expression for a JSON-like value (dict, list, str, number, bool)."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise ValueError("not representable in JSON: %r" % v)
        return repr(v)
    if isinstance(v, str):
        return _lua_string(v)
    if isinstance(v, list):
        return "{" + ", ".join(to_lua(x) for x in v) + "}"
    if isinstance(v, dict):
        items = ["[%s] = %s" % (_lua_string(str(k)), to_lua(x))
                 for k, x in v.items() if x is not None]
        return "{" + ", ".join(items) + "}"
    raise TypeError("cannot convert %r to Lua" % type(v))


_DRIVER = r"""
obj = %s
local chunk, err = loadfile(%s)
if chunk == nil then io.stderr:write(err, "\n"); os.exit(3) end
local ok, hs = pcall(chunk)
if not ok then io.stderr:write(tostring(hs), "\n"); os.exit(4) end
if type(hs) ~= "table" then io.stderr:write("health.lua returned ", type(hs), "\n"); os.exit(5) end
io.write(tostring(hs.status), "%s", hs.message == nil and "" or tostring(hs.message))
"""


def run_health(script, obj):
    """Runs health.lua on obj; returns {"status": ..., "message": ...}."""
    driver = _DRIVER % (to_lua(obj), _lua_string(script), SEP)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(driver)
        path = f.name
    try:
        p = subprocess.run([LUA, path], capture_output=True, text=True, timeout=30)
    finally:
        os.unlink(path)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (script, p.returncode, p.stderr.strip()))
    status, _, message = p.stdout.partition(SEP)
    return {"status": status, "message": message}


def cases():
    """Yields (id, health.lua path, input path, expected healthStatus)."""
    for test_file in sorted(glob.glob(os.path.join(CUSTOMIZATIONS, "*", "*", "health_test.yaml"))):
        d = os.path.dirname(test_file)
        kind_id = os.path.relpath(d, CUSTOMIZATIONS)
        for t in load_yaml(test_file)["tests"]:
            yield ("%s/%s" % (kind_id, t["inputPath"]), os.path.join(d, "health.lua"),
                   os.path.join(d, t["inputPath"]), t["healthStatus"])


def unused_testdata():
    """testdata files that no health_test.yaml refers to."""
    used = {os.path.normpath(inp) for _, _, inp, _ in cases()}
    every = glob.glob(os.path.join(CUSTOMIZATIONS, "*", "*", "testdata", "*.yaml"))
    return sorted(os.path.relpath(p, CUSTOMIZATIONS) for p in every if os.path.normpath(p) not in used)


def check(script, inp, expected):
    """None when the result matches, else a description of the difference."""
    got = run_health(script, load_yaml(inp))
    want = {"status": expected["status"], "message": expected.get("message", "")}
    if got != want:
        return "want %r, got %r" % (want, got)
    return None


def argocd_cm_text():
    """argocd/argocd-cm-health.yaml as it must be: every health.lua under
    resource.customizations.health.<group>_<Kind>."""
    out = [
        "# Adds the foundry.aucert.io health checks to Argo CD (docs/argocd.md).",
        "# Merge into argocd-cm, e.g. with kustomize:",
        "#   patches: [{path: argocd-cm-health.yaml}]",
        "# or: kubectl -n argocd patch cm argocd-cm --type merge --patch-file argocd-cm-health.yaml",
        "# Generated from resource_customizations/*/*/health.lua by",
        "# tests/argocd/run_health_tests.py --write-cm; do not edit by hand.",
        "apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: argocd-cm",
        "  namespace: argocd", "  labels:", "    app.kubernetes.io/part-of: argocd", "data:"]
    for script in sorted(glob.glob(os.path.join(CUSTOMIZATIONS, "*", "*", "health.lua"))):
        kind_dir = os.path.dirname(script)
        group, kind = os.path.basename(os.path.dirname(kind_dir)), os.path.basename(kind_dir)
        with open(script) as f:
            lua = f.read()
        out.append("  resource.customizations.health.%s_%s: |" % (group, kind))
        out += [("    " + line) if line else "" for line in lua.rstrip("\n").split("\n")]
    return "\n".join(out) + "\n"


def main():
    if sys.argv[1:] == ["--write-cm"]:
        with open(ARGOCD_CM, "w") as f:
            f.write(argocd_cm_text())
        print("wrote", os.path.relpath(ARGOCD_CM, REPO))
        return 0
    with open(ARGOCD_CM) as f:
        if f.read() != argocd_cm_text():
            print("FAIL %s is stale: run %s --write-cm" % (os.path.relpath(ARGOCD_CM, REPO), sys.argv[0]))
            return 1
    failed = 0
    n = 0
    for case_id, script, inp, expected in cases():
        n += 1
        try:
            why = check(script, inp, expected)
        except Exception as e:  # noqa: BLE001 - report and go on
            why = str(e)
        if why:
            failed += 1
            print("FAIL %s: %s" % (case_id, why))
        else:
            print("ok   %s" % case_id)
    for p in unused_testdata():
        failed += 1
        print("FAIL %s: not used by any health_test.yaml" % p)
    print("%d cases, %d failed" % (n, failed))
    return 1 if failed or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
