"""Helpers for test_ha.py and test_ops.py: the controller's own HTTP ports.

ports(ctl)          {"probes": N, "metrics": N} from the "listening" log lines
http_get(port, p)   (status, body text) of GET http://127.0.0.1:port/p
scrape(ctl)         /metrics parsed with prometheus_client: {sample name: [(labels, value)]}
families(ctl)       /metrics parsed: {family name: Metric} (counters keep their
                    family name without _total, as prometheus_client reports it)
value(samples, name, **labels)  the sum of the matching samples (0 if none)
listening_sockets(pid)  TCP sockets in LISTEN state owned by process pid
apply(cluster, ns, *docs)   kubectl apply of the objects in namespace ns
set_deployment(cluster, ns, deployment, name)  merge patch of a FoundryModel's spec.deployment
"""

import http.client
import os

import yaml
from prometheus_client.parser import text_string_to_metric_families

from controller_proc import api, wait_for

GV = "foundry.aucert.io/v1alpha1"


def ports(ctl, timeout=20):
    """The bound ports, from the 'listening' records (waits for both)."""
    def find():
        ctl.assert_running()
        out = {r.get("listener"): int(r["port"]) for r in ctl.records()
               if r.get("msg") == "listening" and r.get("port")}
        return out if {"probes", "metrics"} <= set(out) else None
    return wait_for("the 'listening' log lines of %s" % ctl.stderr_path, find, timeout)


def http_get(port, path, timeout=5, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        c.close()


def metrics_text(ctl):
    st, body = http_get(ports(ctl)["metrics"], "/metrics")
    assert st == 200, (st, body)
    return body


def families(ctl):
    return {f.name: f for f in text_string_to_metric_families(metrics_text(ctl))}


def scrape(ctl):
    out = {}
    for f in text_string_to_metric_families(metrics_text(ctl)):
        for s in f.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def value(samples, metric, **labels):
    return sum(v for lb, v in samples.get(metric, [])
               if all(lb.get(k) == want for k, want in labels.items()))


def writes(samples, namespace=None):
    """ConfigMap writes (of namespace, if given) + status writes, as the metrics count them."""
    cm = value(samples, "foundry_configmap_writes_total",
               **({"namespace": namespace} if namespace else {}))
    return cm + value(samples, "foundry_status_writes_total")


def apply(cluster, ns, *docs):
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(docs))


def set_deployment(cluster, ns, deployment, name="generation"):
    st, body = api(cluster, "PATCH", "/apis/%s/namespaces/%s/foundrymodels/%s" % (GV, ns, name),
                   {"spec": {"deployment": deployment}},
                   content_type="application/merge-patch+json")
    assert st == 200, body


def listening_sockets(pid):
    """inodes of the TCP/TCP6 sockets in LISTEN state that process pid holds."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for table in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and cols[9] in inodes:       # 0A = LISTEN
                out.append((table.rsplit("/", 1)[1], cols[1]))
    return out


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)
