#!/usr/bin/python3
"""Speed and memory figures of foundry-controller (`make bench`).

Entry point: tests/bench/run (which sets up the safety-net cleanup). Run with
/usr/bin/python3 (needs python3-yaml). See tests/bench/README.md for what each
figure means.

    bench.py [--only latency,scale,azure,idle]      the benchmark
    bench.py floor SERVER TOKENFILE CAFILE NAMESPACE   the "floor" client (internal)

BENCH_QUICK=1 shrinks every section (20 trials, 200 / 2,000 models).
Everything talks to the API server directly over HTTPS (keep-alive
connections, bearer token, the cluster's CA): spawning kubectl per request
would dominate the latencies being measured.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from kubeload import (  # noqa: E402 - after the path setup
    BIN_DEFAULT as BIN, CLK_TCK, REPO, BenchError, Cluster, ConfigMapTracker, Controller, CpuSplit,
    Kube, ReadyTracker, Sampler, Watch, _state_edit, account_body, cm_path, create_all, fm_path,
    list_rv, log, model_body, model_items, proc_cpu_ticks, setup_namespace, wait_generation)

PY = "/usr/bin/python3"
RESULTS = os.path.join(HERE, "last-results.txt")
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")

sys.path.insert(0, os.path.join(REPO, "tests", "azure_emulator"))


# ---- statistics ----------------------------------------------------------------

def pct(values, p):
    """Nearest-rank percentile (p in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(1, math.ceil(p / 100.0 * len(s)))
    return s[k - 1]


def ms(x):
    return "%.1f ms" % (x * 1000.0)


def mib(kib):
    return "%.1f MB" % (kib / 1024.0)


# ---- report --------------------------------------------------------------------

class Report:
    """Lines printed as they come and kept for tests/bench/last-results.txt."""

    def __init__(self):
        self.lines = []

    def out(self, line=""):
        self.lines.append(line)
        print(line, flush=True)

    def section(self, title):
        self.out("")
        self.out(title)
        self.out("-" * len(title))

    def row(self, name, value, goal=""):
        self.out("  %-46s %-22s %s" % (name, value, ("goal " + goal) if goal else ""))

    def how(self, text):
        words, line = text.split(), "    how:"
        for w in words:
            if len(line) + 1 + len(w) > 96:
                self.out(line)
                line = "         "
            line += " " + w
        self.out(line)

    def save(self):
        with open(RESULTS, "w") as f:
            f.write("\n".join(self.lines) + "\n")



# ---- the floor client ----------------------------------------------------------------------

def floor_main(argv):
    """A bare controller: watches FoundryModels in NAMESPACE and on each
    ADDED/MODIFIED event server-side-applies llm-config with
    FOUNDRY_DEPLOYMENT_<key> = spec.deployment (fieldManager=floor). One
    process, one watch connection, one keep-alive connection for the writes."""
    server, token_file, ca_file, ns = argv
    kube = Kube(server, open(token_file).read().strip(), ca_file)
    path = fm_path(ns)

    def on(typ, obj, _t):
        if typ not in ("ADDED", "MODIFIED"):
            return
        spec = obj.get("spec") or {}
        data = {"FOUNDRY_DEPLOYMENT_" + k: spec.get("deployment") or spec["model"]["name"]
                for k in spec.get("keys") or []}
        kube.apply(cm_path(ns, "llm-config"),
                   {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "llm-config", "namespace": ns}, "data": data}, "floor")

    w = Watch(kube, path, list_rv(kube, path), on, name="floor")
    # the first list's objects come as ADDED only from a list; apply them once
    for item in kube.get(path).get("items", []):
        on("ADDED", item, 0)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    w.run()
    if w.error:
        sys.stderr.write("floor: %s\n" % w.error)
        return 1
    return 0


class Floor:
    def __init__(self, cluster, ns, workdir):
        self.log_path = os.path.join(workdir, "floor.log")
        with open(self.log_path, "wb") as f:
            self.proc = subprocess.Popen([PY, os.path.abspath(__file__), "floor", cluster.server,
                                          cluster.token_file, cluster.ca_file, ns],
                                         stdin=subprocess.DEVNULL, stdout=f, stderr=f)
        _state_edit(add="pid %d" % self.proc.pid)

    def alive(self):
        if self.proc.poll() is not None:
            raise BenchError("floor client exited with %s:\n%s" % (self.proc.returncode,
                                                                    open(self.log_path).read()[-2000:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        _state_edit(remove="pid %d" % self.proc.pid)



def bench_latency(rep, cl, workdir, trials):
    kube = cl.kube
    ns_c, ns_f = "bench-latency", "bench-latency-floor"
    for ns in (ns_c, ns_f):
        setup_namespace(kube, ns)
        kube.create(fm_path(ns), model_body(ns, "m", "LAT", deployment="v-init"))
    cms = ConfigMapTracker(kube, key_regex=r"^FOUNDRY_DEPLOYMENT_LAT$")
    ctl = Controller(cl, workdir, "latency", namespace=ns_c, args=["--azure-validation=off"]).start()
    floor = Floor(cl, ns_f, workdir)
    try:
        for ns in (ns_c, ns_f):
            cms.wait_value(ns, "FOUNDRY_DEPLOYMENT_LAT", "v-init", timeout=60)
        ctl.wait_idle(quiet=1.0, timeout=60)
        lat = {"controller": [], "floor": []}
        slow_gen = 0
        n_ctl_rec_before = ctl.reconcile_stats()["n"]
        warmup = 3
        for i in range(-warmup, trials):
            order = ("controller", "floor") if i % 2 == 0 else ("floor", "controller")
            for side in order:
                ns = ns_c if side == "controller" else ns_f
                val = "v-%s-%d" % (side[0], i + warmup)
                t0 = time.perf_counter()
                obj = kube.merge_patch(fm_path(ns, "m"), {"spec": {"deployment": val}})
                t1 = cms.wait_value(ns, "FOUNDRY_DEPLOYMENT_LAT", val, timeout=15)
                if i >= 0:
                    lat[side].append(t1 - t0)
                if side == "controller":
                    # let the controller finish (status write) before the next change
                    if not wait_generation(kube, ns, "m", obj["metadata"]["generation"]):
                        slow_gen += 1
                    ctl.alive()
                else:
                    floor.alive()
                time.sleep(0.05)
        st = ctl.reconcile_stats()
        rep.section("1. Change latency: FoundryModel spec.deployment -> llm-config (%d trials each)" % trials)
        c, f = lat["controller"], lat["floor"]
        rep.row("controller p50 / p99", "%s / %s" % (ms(statistics.median(c)), ms(pct(c, 99))))
        rep.row("floor (bare watch + SSA client) p50 / p99", "%s / %s" % (ms(statistics.median(f)), ms(pct(f, 99))))
        rep.row("controller min / max", "%s / %s" % (ms(min(c)), ms(max(c))))
        rep.row("floor min / max", "%s / %s" % (ms(min(f)), ms(max(f))))
        rep.row("ratio p50 controller / floor", "%.2fx" % (statistics.median(c) / statistics.median(f)), "<= 1.5x")
        rep.row("ratio p99 controller / floor", "%.2fx" % (pct(c, 99) / pct(f, 99)))
        rep.row("controller reconcile duration p50 / max (log)", "%s / %s" % (ms(st["p50"]), ms(st["max"])))
        rep.row("reconciles logged during the trials", "%d" % (st["n"] - n_ctl_rec_before))
        if slow_gen:
            rep.row("trials where status lagged > 5 s", str(slow_gen))
        rep.how("t0 = just before a merge-PATCH of spec.deployment (keep-alive HTTPS); t1 = when a "
                "ConfigMap watch (one stream, both namespaces) delivers the event carrying the new value. "
                "Controller (--azure-validation=off, --namespace %s) and floor (a separate python process: "
                "FoundryModel watch -> one server-side apply PATCH per MODIFIED event, namespace %s) "
                "alternate trial by trial after %d warm-up trials; after each controller trial the bench waits "
                "for status.observedGeneration, then 50 ms. p99 = nearest rank." % (ns_c, ns_f, warmup))
    finally:
        floor.stop()
        ctl.stop()
        cms.stop()


def bench_scale(rep, cl, workdir, n, variant, number):
    kube = cl.kube
    ns = "bench-scale-" + variant
    setup_namespace(kube, ns)
    ctl = Controller(cl, workdir, "scale-" + variant, namespace=ns, args=["--azure-validation=off"])
    items = model_items(ns, n)
    cms = ready = sampler = None
    try:
        if variant == "running":
            ctl.start()
            sampler = Sampler(ctl.pid)
            sampler.start()
            ctl.metrics_port()
            ctl.wait_idle(quiet=1.0, timeout=60)
            m0 = ctl.metrics()
            cpu = CpuSplit(ctl, cl)
            skip = ctl.reconcile_count()
            cms = ConfigMapTracker(kube, namespace=ns, want=n, want_namespaces=1)
            ready = ReadyTracker(kube, namespace=ns, want=n)
            t0 = time.perf_counter()
            create_s = create_all(kube, items)
        else:
            create_s = create_all(kube, items)
            cms = ConfigMapTracker(kube, namespace=ns, want=n, want_namespaces=1)
            ready = ReadyTracker(kube, namespace=ns, want=n)
            m0 = {}
            skip = 0
            ctl.start()
            cpu = CpuSplit(ctl, cl)
            sampler = Sampler(ctl.pid)
            sampler.start()
            t0 = ctl.started_at
        t_full = cms.wait_full(ns, timeout=600)
        rss_conv = ctl.mem()["VmRSS"]
        t_ready = ready.wait_all(timeout=600)
        t_synced = ctl.log_time("caches synced")
        ctl.wait_idle(quiet=3.0, timeout=600)
        cpu_split = cpu.end()
        sampler.stop()
        mem = ctl.mem()
        m1 = ctl.metrics()
        st = ctl.reconcile_stats(skip)
        w_watch = cms.writes(ns)
        w_metric = (Controller.metric_sum(m1, "foundry_configmap_writes_total", namespace=ns)
                    - Controller.metric_sum(m0, "foundry_configmap_writes_total", namespace=ns))
        sw = (Controller.metric_sum(m1, "foundry_status_writes_total")
              - Controller.metric_sum(m0, "foundry_status_writes_total"))
        rec = (Controller.metric_sum(m1, "controller_runtime_reconcile_total")
               - Controller.metric_sum(m0, "controller_runtime_reconcile_total"))
        title = {"running": "controller running while they are created",
                 "precreated": "created first, then the controller starts"}[variant]
        rep.section("%d. %d FoundryModels in one namespace: %s" % (number, n, title))
        rep.row("creation (8 concurrent POSTs)", "%.1f s (%.0f/s)" % (create_s, n / create_s))
        rep.row("time to all %d keys in llm-config" % n, "%.2f s" % (t_full - t0))
        if variant == "running":
            rep.row("  of which after the last POST returned", "%.2f s" % (t_full - t0 - create_s))
        rep.row("time to all %d models Ready (status)" % n, "%.2f s" % (t_ready - t0))
        rep.row("ConfigMap writes (watch: resourceVersions)", str(w_watch))
        rep.row("ConfigMap writes (foundry_configmap_writes_total)", "%d" % w_metric)
        rep.row("status writes (foundry_status_writes_total)", "%d" % sw)
        rep.row("FoundryModel MODIFIED events (finalizer+status)", str(ready.modified))
        rep.row("reconciles (metric / 'reconciled' log lines)", "%d / %d" % (rec, st["n"]))
        rep.row("reconcile duration p50 / max / sum (log)", "%s / %s / %.2f s" % (ms(st["p50"]), ms(st["max"]), st["sum"]))
        rep.row("controller peak RSS (VmHWM)", mib(mem["VmHWM"]), "< 20 MB")
        rep.row("controller RSS at convergence / when idle", "%s / %s" % (mib(rss_conv), mib(mem["VmRSS"])), "< 20 MB")
        if variant == "precreated":
            rep.row("controller start -> 'caches synced' (initial LISTs)", "%.2f s" % (t_synced - t0))
            rep.row("RSS at caches synced / all keys / all Ready", "%s / %s / %s" % (
                mib(sampler.rss_at(t_synced + 0.2)), mib(sampler.rss_at(t_full + 0.2)),
                mib(sampler.rss_at(t_ready + 0.2))))
        else:
            rep.row("RSS at all keys / all Ready", "%s / %s" % (
                mib(sampler.rss_at(t_full + 0.2)), mib(sampler.rss_at(t_ready + 0.2))))
        rep.row("CPU s until idle", cpu_split)
        if st["warns"]:
            rep.row("warn/error log lines", ", ".join("%s x%d" % kv for kv in st["warns"].items())[:120])
        t0_what = ("the first POST" if variant == "running" else "the controller's exec")
        rep.how("one FoundryAccount (spec.endpoint, primary) and %d FoundryModels with unique keys "
                "K0001.. in namespace %s; times from %s to the ConfigMap watch event that has all %d "
                "FOUNDRY_DEPLOYMENT_K* keys, and to the FoundryModel watch event after which all are Ready "
                "for their generation. Writes counted from the start of the %s. RSS from /proc/PID/status "
                "(VmRSS, VmHWM); 'idle' = no log line and no CPU tick for 3 s."
                % (n, ns, t0_what, n, "creation" if variant == "running" else "controller"))
    finally:
        ctl.stop()
        for t in (cms, ready, sampler):
            if t:
                t.stop()


def bench_azure(rep, cl, workdir, n):
    from client import Emulator
    kube = cl.kube
    ns = "bench-azure"
    emu = Emulator(os.path.join(workdir, "azure"), quiet=True).start()
    _state_edit(add="pid %d" % emu.proc.pid)
    ctl = cms = ready = None
    try:
        setup_namespace(kube, ns, account_body(ns, "aucert-ai", endpoint=None, account_name="aucert-ai",
                                               region="westus"))
        create_s = create_all(kube, model_items(ns, n, account="aucert-ai"))
        cms = ConfigMapTracker(kube, namespace=ns, want=n, want_namespaces=1)
        ready = ReadyTracker(kube, namespace=ns, want=n)
        emu.reset_requests()
        ctl = Controller(cl, workdir, "azure", namespace=ns,
                         args=["--azure-validation=enforce"] + emu.controller_args(),
                         env=emu.controller_env("secret"))
        ctl.start()
        t0 = ctl.started_at
        t_full = cms.wait_full(ns, timeout=600)
        t_ready = ready.wait_all(timeout=600)
        ctl.wait_idle(quiet=3.0, timeout=600)
        mem = ctl.mem()
        st = ctl.reconcile_stats()
        m = ctl.metrics()
        reqs = emu.requests()
        cats = {"token": 0, "account": 0, "deployment": 0, "catalog pages": 0, "other": 0}
        other = {}
        for r in reqs:
            p = r["path"].rstrip("/")
            if re.search(r"/oauth2/v2\.0/token$", p) or p.startswith("/metadata/identity"):
                cats["token"] += 1
            elif re.search(r"/locations/[^/]+/models$", p, re.I):
                cats["catalog pages"] += 1
            elif re.search(r"/accounts/[^/]+/deployments/[^/]+$", p, re.I):
                cats["deployment"] += 1
            elif re.search(r"/accounts/[^/]+$", p, re.I):
                cats["account"] += 1
            else:
                cats["other"] += 1
                k = "%s %s" % (r["method"], p)
                other[k] = other.get(k, 0) + 1
        listings = emu.catalog_listings("westus")
        deps = {}
        for r in reqs:
            mm = re.search(r"/deployments/([^/]+)$", r["path"].rstrip("/"), re.I)
            if mm:
                deps[mm.group(1)] = deps.get(mm.group(1), 0) + 1
        rep.section("4. Azure validation (emulator, enforce): %d models on one account/region, cold cache" % n)
        rep.row("time to all %d keys in llm-config" % n, "%.2f s" % (t_full - t0))
        rep.row("time to all %d models Ready (status)" % n, "%.2f s" % (t_ready - t0))
        rep.row("catalog listings westus (first pages)", str(listings), "1")
        rep.row("catalog page requests (all pages)", str(cats["catalog pages"]))
        rep.row("account GETs", str(cats["account"]), "1 per account")
        rep.row("deployment GETs", "%d (distinct deployments: %d)" % (cats["deployment"], len(deps)),
                "1 per deployment")
        rep.row("token requests", str(cats["token"]))
        rep.row("other requests", str(cats["other"]) + (" " + json.dumps(other)[:80] if other else ""))
        rep.row("foundry_azure_requests_total (metric)", "%d" % Controller.metric_sum(m, "foundry_azure_requests_total"))
        calls = sorted({dict(ls).get("call") for (nm, ls) in m if nm == "foundry_azure_request_duration_seconds_count"} - {None})
        for call in calls:
            cnt = Controller.metric_sum(m, "foundry_azure_request_duration_seconds_count", call=call)
            tot = Controller.metric_sum(m, "foundry_azure_request_duration_seconds_sum", call=call)
            if cnt:
                rep.row("  %s: requests, mean duration (metric)" % call, "%d, %s (total %.2f s)" % (cnt, ms(tot / cnt), tot))
        rep.row("ConfigMap writes (watch / metric)", "%d / %d" % (
            cms.writes(ns), Controller.metric_sum(m, "foundry_configmap_writes_total", namespace=ns)))
        rep.row("reconciles / duration p50 / max / sum (log)", "%d / %s / %s / %.2f s" % (
            st["n"], ms(st["p50"]), ms(st["max"]), st["sum"]))
        rep.row("controller peak RSS / RSS when idle", "%s / %s" % (mib(mem["VmHWM"]), mib(mem["VmRSS"])))
        if st["warns"]:
            rep.row("warn/error log lines", ", ".join("%s x%d" % kv for kv in st["warns"].items())[:120])
        rep.how("FoundryAccount aucert-ai (no spec.endpoint: from ARM) and %d FoundryModels gpt-5.4 "
                "2026-03-05 GlobalStandard, deployment gpt-5.4, keys K0001.., created before the controller "
                "starts (--azure-validation=enforce, client-secret credential, catalog page size 8). Times "
                "from the controller's exec. Requests counted from the emulator's request log after the "
                "controller went idle (creation %.1f s not included)." % (n, create_s))
    finally:
        if ctl:
            ctl.stop()
        for t in (cms, ready):
            if t:
                t.stop()
        emu_pid = emu.proc.pid if emu.proc else None
        emu.stop()
        if emu_pid:
            _state_edit(remove="pid %d" % emu_pid)


def bench_idle(rep, cl, workdir, n_ns, per_ns):
    kube = cl.kube
    total = n_ns * per_ns
    nss = ["bench-idle-%03d" % i for i in range(n_ns)]
    t0c = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as ex:
        list(ex.map(lambda ns: setup_namespace(kube, ns), nss))
    items = [it for ns in nss for it in model_items(ns, per_ns)]
    create_all(kube, items, concurrency=12)
    create_s = time.perf_counter() - t0c
    cms = ConfigMapTracker(kube, want=per_ns, want_namespaces=n_ns)
    ready = ReadyTracker(kube, want=total)
    ctl = Controller(cl, workdir, "idle", args=["--azure-validation=off"])
    sampler = None
    try:
        ctl.start()
        t0 = ctl.started_at
        cpu = CpuSplit(ctl, cl)
        sampler = Sampler(ctl.pid)
        sampler.start()
        cms.wait(lambda: cms.all_full_at, 900,
                 "all %d namespaces with %d keys (full: %d)" % (n_ns, per_ns, len(cms.full_at)))
        t_ready = ready.wait_all(timeout=900)
        t_synced = ctl.log_time("caches synced")
        ctl.wait_idle(quiet=5.0, timeout=900)
        cpu_split = cpu.end()
        sampler.stop()
        sample = kube.get(fm_path(nss[0]) + "?limit=20")["items"]
        obj_bytes = statistics.mean(len(json.dumps(o, separators=(",", ":"))) for o in sample)
        mf_bytes = statistics.mean(len(json.dumps(o["metadata"].get("managedFields", []), separators=(",", ":")))
                                   for o in sample)
        c0, l0, w0 = ctl.cpu_ticks(), os.path.getsize(ctl.log_path), time.perf_counter()
        api_pid = cl.pid_of("apiserver")
        a0 = proc_cpu_ticks(api_pid) if api_pid else None
        time.sleep(10)
        c1, l1, w1 = ctl.cpu_ticks(), os.path.getsize(ctl.log_path), time.perf_counter()
        a1 = proc_cpu_ticks(api_pid) if api_pid else None
        mem2 = ctl.mem()
        st = ctl.reconcile_stats()
        m = ctl.metrics()
        rep.section("3. Idle with %d cached FoundryModels (%d namespaces x %d)" % (total, n_ns, per_ns))
        rep.row("creation (namespaces, accounts, models)", "%.1f s (%.0f models/s)" % (create_s, total / create_s))
        fulls = sorted(t - t0 for t in cms.full_at.values())
        rep.row("time to all %d llm-configs complete" % n_ns, "%.2f s" % (cms.all_full_at - t0))
        rep.row("  first / median / last namespace complete", "%.2f / %.2f / %.2f s" % (
            fulls[0], statistics.median(fulls), fulls[-1]))
        rep.row("time to all %d models Ready (status)" % total, "%.2f s" % (t_ready - t0))
        rep.row("controller RSS idle (VmRSS)", mib(mem2["VmRSS"]), "< 64 MB")
        rep.row("controller peak RSS (VmHWM)", mib(mem2["VmHWM"]))
        rep.row("controller start -> 'caches synced' (initial LISTs)", "%.2f s" % (t_synced - t0))
        rep.row("RSS at caches synced / first ns complete / all Ready", "%s / %s / %s" % (
            mib(sampler.rss_at(t_synced + 0.2)), mib(sampler.rss_at(t0 + fulls[0] + 0.2)),
            mib(sampler.rss_at(t_ready + 0.2))))
        rep.row("RSS per cached model (idle RSS / models)", "%.1f KB" % (mem2["VmRSS"] / total))
        rep.row("FoundryModel JSON size in the API (of which managedFields)", "%.0f B (%.0f B)" % (obj_bytes, mf_bytes))
        rep.row("CPU s from start until idle", cpu_split)
        cpu_s = (c1 - c0) / CLK_TCK
        rep.row("controller CPU over %.0f s idle (utime+stime)" % (w1 - w0),
                "%.2f s (%.2f%% of a core)" % (cpu_s, 100.0 * cpu_s / (w1 - w0)), "~ 0")
        if a0 is not None:
            rep.row("kube-apiserver CPU in the same 10 s (context)", "%.2f s" % ((a1 - a0) / CLK_TCK))
        rep.row("log bytes written while idle", str(l1 - l0))
        rep.row("ConfigMap writes (foundry_configmap_writes_total)",
                "%d" % Controller.metric_sum(m, "foundry_configmap_writes_total"))
        rep.row("status writes (foundry_status_writes_total)",
                "%d" % Controller.metric_sum(m, "foundry_status_writes_total"))
        rep.row("FoundryModel MODIFIED events (finalizer+status)", str(ready.modified))
        rep.row("reconciles / duration p50 / max / sum (log)", "%d / %s / %s / %.2f s" % (
            st["n"], ms(st["p50"]), ms(st["max"]), st["sum"]))
        if st["warns"]:
            rep.row("warn/error log lines", ", ".join("%s x%d" % kv for kv in st["warns"].items())[:120])
        rep.how("%d namespaces each with one FoundryAccount (spec.endpoint) and %d FoundryModels, created "
                "with 12 concurrent POSTs before the controller starts (all namespaces, "
                "--azure-validation=off). After every llm-config is complete, every model Ready and the "
                "controller idle (no log line, no CPU tick for 5 s): VmRSS/VmHWM from /proc/PID/status, "
                "then utime+stime from /proc/PID/stat across 10 s." % (n_ns, per_ns))
    finally:
        ctl.stop()
        cms.stop()
        ready.stop()
        if sampler:
            sampler.stop()


# ---- main ---------------------------------------------------------------------------------------

def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def environment_lines():
    try:
        rev = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = "?"
    try:
        ver = subprocess.run([BIN, "version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        ver = "?"
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    except OSError:
        pass
    return ["foundry-controller bench  %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
            "  git %s; %s" % (rev, ver.splitlines()[0] if ver else "?"),
            "  %d CPUs (%s), %s, python %s%s" % (os.cpu_count(), cpu, platform.release(),
                                                 platform.python_version(), ", BENCH_QUICK=1" if QUICK else ""),
            "  load average at the start: %s" % loadavg()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="latency,scale,azure,idle",
                    help="comma-separated sections: latency, scale, azure, idle")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    a = ap.parse_args()
    only = set(a.only.split(","))
    bad = only - {"latency", "scale", "azure", "idle"}
    if bad:
        ap.error("unknown sections: %s" % ", ".join(sorted(bad)))

    trials = 20 if QUICK else 100
    n_scale = 200 if QUICK else 1000
    n_azure = 200 if QUICK else 1000
    n_ns, per_ns = (20, 100) if QUICK else (100, 100)

    def on_term(*_):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_term)
    workdir = tempfile.mkdtemp(prefix="foundry-bench.")
    rep = Report()
    for ln in environment_lines():
        rep.out(ln)
    failed = []
    t_start = time.monotonic()

    def run(name, fn, *args):
        try:
            log("%s ..." % name)
            t = time.monotonic()
            fn(rep, *args)
            log("%s done in %.0fs" % (name, time.monotonic() - t))
        except BenchError as e:
            failed.append(name)
            rep.out("")
            rep.out("  !! %s FAILED: %s" % (name, e))
            log("%s failed: %s (logs in %s)" % (name, e, workdir))

    try:
        if only & {"latency", "scale", "azure"}:
            cl = Cluster(workdir)
            try:
                cl.up()
                if "latency" in only:
                    run("latency", bench_latency, cl, workdir, trials)
                if "scale" in only:
                    run("scale (controller running)", bench_scale, cl, workdir, n_scale, "running", 2)
                    run("scale (pre-created)", bench_scale, cl, workdir, n_scale, "precreated", 2)
                if "azure" in only:
                    run("azure", bench_azure, cl, workdir, n_azure)
            finally:
                cl.down()
        if "idle" in only:
            # a fresh control plane: the objects of the other sections would add to the cache
            cl = Cluster(workdir)
            try:
                cl.up()
                run("idle", bench_idle, cl, workdir, n_ns, per_ns)
            finally:
                cl.down()
    except KeyboardInterrupt:
        failed.append("interrupted")
        rep.out("  !! interrupted")
    except BenchError as e:
        failed.append("setup")
        rep.out("  !! setup FAILED: %s" % e)
    rep.out("")
    rep.out("load average at the end: %s (other processes on this machine skew the figures)" % loadavg())
    rep.out("total bench time %.0f s%s" % (time.monotonic() - t_start,
                                           ("; FAILED: " + ", ".join(failed)) if failed else ""))
    rep.save()
    log("results written to %s" % os.path.relpath(RESULTS, os.getcwd()))
    if failed or a.keep:
        log("controller logs kept in %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "floor":
        sys.exit(floor_main(sys.argv[2:]))
    sys.exit(main())
