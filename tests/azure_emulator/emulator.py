#!/usr/bin/python3
"""A local Azure emulator for foundry-controller tests: Entra ID v2 token
endpoint, IMDS, and the Azure Resource Manager (ARM) reads of DESIGN.md §4,
with the real payload shapes of shared/azure/, plus a control API under
/_emulator/ for tests (request log, fault injection, world changes).

    emulator.py --state-dir DIR [--port 0] [--imds-port 0] [--fixtures tests/fixtures/azure]

DIR/ca.pem is the CA to trust (--azure-ca-file). Once listening it writes DIR/port
(and DIR/imds_port) and prints "READY https://127.0.0.1:PORT". See README.md.

Standard library only (+ PyYAML when present, for world.yaml); run with /usr/bin/python3.
"""

import argparse
import base64
import collections
import copy
import datetime as dt
import http.server
import json
import os
import random
import re
import secrets
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid

try:
    import yaml  # python3-yaml
except ImportError:  # JSON worlds still work
    yaml = None

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_FIXTURES = os.path.join(REPO, "tests", "fixtures", "azure")
# shared/azure/ beside the repository (as in CI); a copy of every body used is
# also embedded below so the emulator works without it.
SHARED_AZURE = os.environ.get("FC_SHARED_AZURE") or os.path.join(os.path.dirname(REPO), "shared", "azure")

API_VERSIONS = [
    "2017-04-18", "2021-04-30", "2021-10-01", "2022-03-01", "2022-10-01", "2022-12-01",
    "2023-05-01", "2023-10-01-preview", "2024-04-01-preview", "2024-06-01-preview",
    "2024-10-01", "2025-04-01-preview", "2025-06-01", "2025-07-01-preview", "2025-09-01",
    "2025-10-01-preview", "2026-09-01",
]
IMDS_API_VERSIONS = ["2018-02-01", "2019-08-01", "2019-11-01", "2020-06-01", "2021-02-01",
                     "2021-05-01", "2023-07-01"]
IMDS_RESOURCES = [
    "https://management.azure.com/", "https://management.azure.com",
    "https://management.core.windows.net/", "https://management.core.windows.net",
    "https://management.chinacloudapi.cn/", "https://management.chinacloudapi.cn",
    "https://management.usgovcloudapi.net/", "https://management.usgovcloudapi.net",
]
FAULT_KINDS = ("429", "500", "503", "slow", "drop", "expired_token", "403", "malformed", "reset", "stall",
               "mix")
MAX_BODY = 64 << 20
MAX_REQUESTS_KEPT = 200000
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

# ---- bodies from shared/azure (embedded copies; the files win when present) --

EMBEDDED = {
    "errors/arm_401_AuthenticationFailed_missing_header.json":
        {"error": {"code": "AuthenticationFailed",
                   "message": "Authentication failed. The 'Authorization' header is missing."}},
    "errors/arm_401_ExpiredAuthenticationToken.json":
        {"error": {"code": "ExpiredAuthenticationToken",
                   "message": "The access token expiry UTC time '8/17/2017 10:54:41 PM' is earlier than "
                              "current UTC time '8/17/2017 10:55:43 PM'."}},
    "errors/arm_403_AuthorizationFailed.json":
        {"error": {"code": "AuthorizationFailed",
                   "message": "The client 'e3ba4b52-fd38-44fc-8b4b-ff3e610fdc2b' with object id "
                              "'e3ba4b52-fd38-44fc-8b4b-ff3e610fdc2b' does not have authorization to perform "
                              "action 'Microsoft.Network/virtualNetworks/subnets/read' over scope "
                              "'/subscriptions/3e9e488a-a196-47d3-9850-297d92cc34dc/resourceGroups/nn-rg-east/"
                              "providers/Microsoft.Network/virtualNetworks/nn-hub-vnet-east/subnets/"
                              "aks-kubenet-subnet' or the scope is invalid. If access was recently granted, "
                              "please refresh your credentials."}},
    "errors/arm_404_ResourceGroupNotFound.json":
        {"error": {"code": "ResourceGroupNotFound", "message": "Resource group 'rg1' could not be found."}},
    "errors/arm_404_ResourceNotFound_account.json":
        {"error": {"code": "ResourceNotFound",
                   "message": "The Resource 'Microsoft.CognitiveServices/accounts/cosmicgbb-openai' under "
                              "resource group 'Claimsv1' was not found. For more details please go to "
                              "https://aka.ms/ARMResourceNotFoundFix"}},
    "errors/arm_429_SubscriptionRequestsThrottled.json":
        {"error": {"code": "SubscriptionRequestsThrottled",
                   "message": "Number of 'read' requests for subscription 'e093f4fd-0000-0000-0000-000000000000' "
                              "actor '85e5d083-7fd9-4588-9a28-6c035bea11a3' exceeded. Please try again after "
                              "'10' seconds."}},
    "errors/cogsvc_404_deployment_NotFound_INFERRED.json":
        {"error": {"code": "NotFound",
                   "message": "Specified resource '/subscriptions/XXXXXXXXXXXXXXXXXX/resourceGroups/"
                              "infoasst-XXXXX/providers/Microsoft.CognitiveServices/accounts/infoasst-aoai-XXX/"
                              "deployments/chat' cannot be found."}},
    "auth/entra_v2_token_400_AADSTS70021_workload_identity.json":
        {"error": "invalid_request",
         "error_description": "AADSTS70021: No matching federated identity record found for presented "
                              "assertion. Assertion Issuer: 'https://oidc.prod-aks.azure.com/XXXXXX/'. Assertion "
                              "Subject: 'system:serviceaccount:default:workload-identity-sa'. Assertion Audience: "
                              "'api://AzureADTokenExchange'.\r\nTrace ID: b0f62116-10b6-4a73-bdb2-281524404e00\r\n"
                              "Correlation ID: 4a42e576-85bc-46ae-b7e3-b52cb8958917\r\nTimestamp: 2022-01-20 22:54:42Z",
         "error_codes": [70021], "timestamp": "2022-01-20 22:54:42Z",
         "trace_id": "b0f62116-10b6-4a73-bdb2-281524404e00",
         "correlation_id": "4a42e576-85bc-46ae-b7e3-b52cb8958917",
         "error_uri": "https://login.microsoftonline.com/error?code=70021"},
    "auth/entra_openid_configuration_200.json": None,   # served only when the file exists
    "auth/entra_instance_discovery_200.json": None,
}


def shared_body(name):
    """A deep copy of a shared/azure body: the file if readable, else the embedded copy."""
    path = os.path.join(SHARED_AZURE, name)
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return copy.deepcopy(EMBEDDED.get(name))


# ---- small helpers -----------------------------------------------------------

def utcnow():
    return dt.datetime.now(dt.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def ci_find(d, key):
    """The key of dict d equal to key ignoring case (exact match first), or None."""
    if not isinstance(d, dict) or not isinstance(key, str):
        return None
    if key in d:
        return key
    low = key.lower()
    for k in d:
        if isinstance(k, str) and k.lower() == low:
            return k
    return None


def ci_get(d, key, default=None):
    k = ci_find(d, key)
    return d[k] if k is not None else default


def as_dict(v):
    return v if isinstance(v, dict) else {}


PLACEHOLDER = re.compile(r"\{\{\s*now\s*(?:([+-])\s*(\d+)\s*([dhms]))?\s*\}\}")


def expand_placeholders(obj, now):
    """Replace {{now}}, {{now+30d}}, {{now-12h}} ... in every string of obj.
    Offsets in days give midnight UTC of that day (catalog dates look like that);
    h/m/s offsets keep the time of day."""
    def one(m):
        sign, num, unit = m.group(1), m.group(2), m.group(3)
        if not sign:
            return iso(now)
        n = int(num) * (1 if sign == "+" else -1)
        if unit == "d":
            t = (now + dt.timedelta(days=n)).replace(hour=0, minute=0, second=0, microsecond=0)
        else:
            t = now + dt.timedelta(seconds=n * {"h": 3600, "m": 60, "s": 1}[unit])
        return iso(t)

    if isinstance(obj, str):
        return PLACEHOLDER.sub(one, obj) if "{{" in obj else obj
    if isinstance(obj, list):
        return [expand_placeholders(v, now) for v in obj]
    if isinstance(obj, dict):
        return {k: expand_placeholders(v, now) for k, v in obj.items()}
    return obj


def merge(base, patch):
    """JSON merge patch (RFC 7386) with case-insensitive keys, except that an
    empty object as a value sets that member to {} instead of changing nothing."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(base) if isinstance(base, dict) else {}
    for k, v in patch.items():
        ek = ci_find(out, k)
        if ek is None:
            ek = k
        if v is None:
            out.pop(ek, None)
        elif isinstance(v, dict) and not v:
            out[ek] = {}
        else:
            out[ek] = merge(out.get(ek), v)
    return out


def load_structured(path):
    with open(path) as f:
        text = f.read()
    return parse_structured(text)


def parse_structured(text):
    """JSON or YAML; YAML dates and non-string keys become strings (JSON-safe)."""
    data = yaml.safe_load(text) if yaml is not None else json.loads(text)
    return jsonable(data)


def jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [jsonable(v) for v in obj]
    if isinstance(obj, dt.datetime):
        return iso(obj if obj.tzinfo else obj.replace(tzinfo=dt.timezone.utc))
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def b64url_decode(s):
    s = s + "=" * (-len(s) % 4)
    return base64.urlsafe_b64decode(s.encode())


def win_time(t):
    """ARM's token-expiry message format: 8/17/2017 10:54:41 PM."""
    h = t.hour % 12 or 12
    return "%d/%d/%d %d:%02d:%02d %s" % (t.month, t.day, t.year, h, t.minute, t.second,
                                         "AM" if t.hour < 12 else "PM")


def aad_time(t):
    return t.strftime("%Y-%m-%d %H:%M:%SZ")


# ---- responses ---------------------------------------------------------------

class Response:
    """drop: close the connection without a response; with reset, abort it
    (TCP RST) instead of closing it cleanly."""
    __slots__ = ("status", "headers", "body", "drop", "reset")

    def __init__(self, status=200, body=b"", headers=None, drop=False, reset=False):
        self.status = status
        self.headers = list(headers or [])
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode()
            self.headers.append(("Content-Type", "application/json; charset=utf-8"))
        elif isinstance(body, str):
            body = body.encode()
        self.body = body
        self.drop = drop or reset
        self.reset = reset


def arm_headers(extra=None):
    rid = str(uuid.uuid4())
    h = [
        ("Cache-Control", "no-cache"), ("Pragma", "no-cache"), ("Expires", "-1"),
        ("x-ms-request-id", rid), ("x-ms-correlation-request-id", rid),
        ("x-ms-routing-request-id", "WESTUS:%s:%s" % (utcnow().strftime("%Y%m%dT%H%M%SZ"), rid)),
        ("x-ms-ratelimit-remaining-subscription-reads", "11999"),
        ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if extra:
        h.extend(extra)
    return h


def arm_json(status, body, extra_headers=None):
    return Response(status, body, arm_headers(extra_headers))


def arm_error(status, code, message, extra_headers=None):
    return arm_json(status, {"error": {"code": code, "message": message}}, extra_headers)


def aad_error(status, error, code, text, template=None):
    """An Entra ID v2 error body in the real shape (error, error_description with
    trace/correlation/timestamp lines, error_codes, timestamp, trace_id, ...)."""
    now = utcnow()
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    body = template or {}
    body = dict(body)
    body["error"] = error
    body["error_description"] = "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
        code, text, trace, corr, aad_time(now))
    body["error_codes"] = [code]
    body["timestamp"] = aad_time(now)
    body["trace_id"] = trace
    body["correlation_id"] = corr
    body["error_uri"] = "https://login.microsoftonline.com/error?code=%d" % code
    return Response(status, body, [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")])


def imds_error(status, error, description):
    return Response(status, {"error": error, "error_description": description},
                    [("Server", "IMDS/150.870.65.1325")])


# ---- state -------------------------------------------------------------------

class Token:
    __slots__ = ("value", "client_id", "tenant", "source", "issued_at", "expires_at", "revoked")

    def __init__(self, value, client_id, tenant, source, lifetime):
        self.value = value
        self.client_id = client_id
        self.tenant = tenant
        self.source = source
        self.issued_at = time.time()
        self.expires_at = self.issued_at + lifetime
        self.revoked = False

    def info(self):
        return {"client_id": self.client_id, "tenant": self.tenant, "source": self.source,
                "issued_at": self.issued_at, "expires_at": self.expires_at,
                "expired": self.revoked or time.time() >= self.expires_at,
                "token_suffix": self.value[-6:]}


class Fault:
    """One injected fault. kind "mix" holds weighted entries ("mix": [{"kind",
    "weight", "retry_after", "delay", "cut"}, ...]): when it fires (match,
    count, probability as any fault), one entry is drawn by weight and
    applied; hits_by_kind counts what was applied."""

    def __init__(self, fid, spec, sub=False):
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        match = spec.get("match") or {}
        if not isinstance(match, dict):
            raise ValueError("match must be an object")
        self.id = fid
        self.kind = str(spec.get("kind", ""))
        if self.kind not in FAULT_KINDS or (sub and self.kind == "mix"):
            raise ValueError("kind must be one of %s" % ", ".join(k for k in FAULT_KINDS
                                                                   if not (sub and k == "mix")))
        self.path_regex = str(match.get("path_regex", match.get("path", ".*")))
        self.regex = re.compile(self.path_regex, re.IGNORECASE)
        q = match.get("query_regex")
        self.query_regex = str(q) if q is not None else None
        self.qregex = re.compile(self.query_regex, re.IGNORECASE) if q is not None else None
        m = match.get("method")
        self.method = str(m).upper() if m else None
        self.count = int(spec.get("count", 1))
        if self.count < -1:
            raise ValueError("count must be -1 (forever) or >= 0")
        self.probability = float(spec.get("probability", 1.0))
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        ra = spec.get("retry_after")
        self.retry_after = None if ra is None else int(ra)
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        d = spec.get("delay")
        self.delay = float(d) if d is not None else (5.0 if self.kind in ("slow", "stall") else 0.0)
        if self.delay < 0 or self.delay > 3600:
            raise ValueError("delay must be within 0..3600 seconds")
        c = spec.get("cut")
        self.cut = None if c is None else int(c)   # malformed: bytes kept (< 0: dropped from the end)
        self.weight = float(spec.get("weight", 1.0)) if sub else 1.0
        if self.weight < 0:
            raise ValueError("weight must be >= 0")
        self.mix = []
        if self.kind == "mix":
            entries = spec.get("mix")
            if not isinstance(entries, list) or not entries:
                raise ValueError("a mix fault needs \"mix\": a non-empty list of {kind, weight, ...}")
            self.mix = [Fault(fid, dict(e, match=match) if isinstance(e, dict) else e, sub=True)
                        for e in entries]
            if sum(e.weight for e in self.mix) <= 0:
                raise ValueError("mix weights must not all be 0")
        self.hits = 0
        self.hits_by_kind = {}

    def draw(self, rng):
        """The fault to apply now: itself, or for a mix one entry by weight."""
        if not self.mix:
            return self
        x = rng.random() * sum(e.weight for e in self.mix)
        for e in self.mix:
            if x < e.weight:
                return e
            x -= e.weight
        return [e for e in self.mix if e.weight > 0][-1]

    def matches(self, method, path, rawquery):
        if self.count == 0:
            return False
        if self.method and self.method != method:
            return False
        if not self.regex.search(path):
            return False
        if self.qregex is not None and not self.qregex.search(rawquery or ""):
            return False
        return True

    def info(self):
        out = {"id": self.id, "kind": self.kind,
               "match": {"path_regex": self.path_regex, "method": self.method, "query_regex": self.query_regex},
               "count": self.count, "probability": self.probability, "retry_after": self.retry_after,
               "delay": self.delay, "hits": self.hits, "hits_by_kind": dict(self.hits_by_kind)}
        if self.cut is not None:
            out["cut"] = self.cut
        if self.mix:
            out["mix"] = [{"kind": e.kind, "weight": e.weight, "retry_after": e.retry_after,
                           "delay": e.delay, "cut": e.cut} for e in self.mix]
        return out


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        self.tokens = {}
        self.requests = collections.deque(maxlen=MAX_REQUESTS_KEPT)
        self.seq = 0
        self.faults = []
        self.fault_seq = 0
        self.assertions = []
        self.world = {}
        self.catalogs = {}
        self.rng = random.Random(args.seed)
        self.reload()

    def now(self):
        if self.args.now:
            t = dt.datetime.fromisoformat(self.args.now.replace("Z", "+00:00"))
            if t.tzinfo is None:
                t = t.replace(tzinfo=dt.timezone.utc)
            return t
        return utcnow()

    def reload(self):
        """(Re)load world and catalogs from the fixture files."""
        world = {}
        if self.args.world and os.path.exists(self.args.world):
            world = load_structured(self.args.world) or {}
        if not isinstance(world, dict):
            raise ValueError("%s: the world must be a mapping" % self.args.world)
        if self.args.page_size is not None:
            world["catalog_page_size"] = self.args.page_size
        catalogs = {}
        cdir = os.path.join(self.args.fixtures, "catalog")
        if os.path.isdir(cdir):
            for fn in sorted(os.listdir(cdir)):
                if fn.endswith(".json"):
                    with open(os.path.join(cdir, fn)) as f:
                        data = json.load(f)
                    catalogs[fn[:-5].lower()] = self.normalize_catalog(data)
        with self.lock:
            self.world = expand_placeholders(world, self.now())
            self.catalogs = catalogs

    def normalize_catalog(self, data):
        if isinstance(data, dict):
            data = data.get("value", [])
        if not isinstance(data, list):
            raise ValueError("a catalog is {\"value\": [...]} or a list of items")
        return expand_placeholders(data, self.now())

    # -- tokens
    def issue(self, client_id, tenant, source, lifetime):
        tok = secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[tok] = Token(tok, client_id, tenant, source, lifetime)
            if len(self.tokens) > 100000:  # bound memory: forget the oldest
                for k in list(self.tokens)[:50000]:
                    del self.tokens[k]
        return tok

    def token(self, value):
        with self.lock:
            return self.tokens.get(value)

    def expire_all(self):
        with self.lock:
            for t in self.tokens.values():
                t.revoked = True
            return len(self.tokens)

    # -- faults
    def add_fault(self, spec):
        with self.lock:
            self.fault_seq += 1
            f = Fault(self.fault_seq, spec)
            self.faults.append(f)
            return f

    def take_fault(self, method, path, rawquery):
        with self.lock:
            for f in self.faults:
                if f.matches(method, path, rawquery):
                    if f.probability < 1.0 and self.rng.random() >= f.probability:
                        continue
                    if f.count > 0:
                        f.count -= 1
                    f.hits += 1
                    applied = f.draw(self.rng)
                    f.hits_by_kind[applied.kind] = f.hits_by_kind.get(applied.kind, 0) + 1
                    return applied
        return None

    # -- request log
    def record(self, rec):
        with self.lock:
            self.seq += 1
            rec["seq"] = self.seq
            self.requests.append(rec)

    # -- world accessors (callers hold no lock; they get copies)
    def snapshot_world(self):
        with self.lock:
            return copy.deepcopy(self.world)

    def credentials(self):
        with self.lock:
            return copy.deepcopy(as_dict(self.world.get("credentials")))

    def setting(self, key, default):
        with self.lock:
            v = self.world.get(key, default)
        return v

    def catalog(self, region):
        with self.lock:
            items = self.catalogs.get(region.lower())
            return copy.deepcopy(items) if items is not None else None


# ---- the HTTP side -----------------------------------------------------------

class Request:
    def __init__(self, handler, listener):
        self.handler = handler
        self.listener = listener
        self.method = handler.command.upper()
        parts = urllib.parse.urlsplit(handler.path)
        self.raw_path = parts.path or "/"
        self.path = urllib.parse.unquote(self.raw_path)
        self.rawquery = parts.query
        self.query = {}
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            self.query.setdefault(k.lower(), v)
        self.headers = handler.headers
        self.body = b""
        self.segments = [s for s in self.path.split("/") if s]
        self.client_id = None   # filled by auth, for the request log
        self.fault = None       # kind of the fault applied, for the request log

    def header(self, name):
        return self.headers.get(name)

    def form(self):
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return {}
        out = {}
        for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True):
            out.setdefault(k, v)
        return out


class Emulator:
    def __init__(self, state):
        self.state = state
        self.base_url = None   # https://127.0.0.1:PORT, set once listening
        self.imds_url = None

    # -- dispatch
    def handle(self, req):
        segs = req.segments
        if segs and segs[0] == "_emulator":
            return self.control(req)
        fault = self.state.take_fault(req.method, req.path, req.rawquery)
        if fault is not None:
            req.fault = fault.kind
            if fault.delay:
                time.sleep(fault.delay)
            if fault.kind in ("drop", "stall"):    # stall: the delay above, then no answer
                return Response(drop=True)
            if fault.kind == "reset":
                return Response(reset=True)
            if fault.kind not in ("slow", "malformed"):
                return self.fault_response(fault, req)
        resp = self.route(req)
        if fault is not None and fault.kind == "malformed":
            body = resp.body or b'{"value":[{"id":"x"}]}'
            if fault.cut is not None:
                cut = fault.cut if fault.cut >= 0 else max(0, len(body) + fault.cut)
                cut = min(cut, len(body))
            else:
                cut = max(1, len(body) // 2)
                if body[cut - 1:cut] in (b"}", b"]"):
                    cut -= 1
            headers = [(k, v) for k, v in resp.headers if k.lower() != "content-type"]
            headers.append(("Content-Type", "application/json; charset=utf-8"))
            return Response(200, body[:cut], headers)
        return resp

    def route(self, req):
        segs = req.segments
        low = [s.lower() for s in segs]
        if req.listener == "http":
            if low[:4] == ["metadata", "identity", "oauth2", "token"] and len(low) == 4:
                return self.imds(req)
            return Response(404, {"error": "not_found", "error_description": "Not found: %s" % req.path},
                            [("Server", "IMDS/150.870.65.1325")])
        if low and low[0] == "subscriptions":
            return self.arm(req)
        if len(low) == 4 and low[1:] == ["oauth2", "v2.0", "token"]:
            return self.entra_token(req, segs[0])
        if len(low) == 4 and low[1:] == ["v2.0", ".well-known", "openid-configuration"] and req.method == "GET":
            return self.openid_configuration(segs[0])
        if low == ["common", "discovery", "instance"] and req.method == "GET":
            return self.instance_discovery(req)
        return self.arm_not_found(req)

    def arm_not_found(self, req):
        return arm_error(404, "NotFound", "The requested resource '%s' was not found." % req.path)

    # -- Entra ID
    def entra_token(self, req, tenant):
        creds = self.state.credentials()
        tenants = [str(t).lower() for t in (creds.get("tenants") or [])]
        clients = as_dict(creds.get("clients"))
        for c in clients.values():
            if isinstance(c, dict) and c.get("tenant"):
                tenants.append(str(c["tenant"]).lower())
        if tenant.lower() not in tenants:
            return aad_error(400, "invalid_request", 90002,
                             "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are "
                             "signing into the correct cloud. Check with your subscription administrator, this "
                             "may happen if there are no active subscriptions for the tenant." % tenant)
        if req.method != "POST":
            return aad_error(400, "invalid_request", 900561,
                             "The endpoint only accepts POST requests. Received a %s request." % req.method)
        form = req.form()
        basic_id = basic_secret = None
        auth = req.header("Authorization") or ""
        if auth[:6].lower() == "basic ":
            try:
                basic_id, basic_secret = base64.b64decode(auth[6:].strip()).decode().split(":", 1)
                basic_id = urllib.parse.unquote_plus(basic_id)
                basic_secret = urllib.parse.unquote_plus(basic_secret)
            except (ValueError, UnicodeDecodeError):
                return aad_error(401, "invalid_client", 7000215, "Invalid client secret provided.")
        grant = form.get("grant_type")
        if not grant:
            return aad_error(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'grant_type'.")
        if grant != "client_credentials":
            return aad_error(400, "unsupported_grant_type", 70003,
                             "The app requested an unsupported grant type '%s'." % grant)
        client_id = form.get("client_id") or basic_id
        if not client_id:
            return aad_error(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'client_id'.")
        req.client_id = client_id
        scope = form.get("scope")
        if not scope:
            return aad_error(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'scope'.")
        accepted = creds.get("accepted_scopes") or ["https://management.azure.com/.default"]
        scopes = scope.split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return aad_error(400, "invalid_scope", 1002012,
                             "The provided value for scope %s is not valid. Client credential flows must have a "
                             "scope value with /.default suffixed to the resource identifier (application ID "
                             "URI)." % scope)
        if scopes[0] not in accepted:
            return aad_error(400, "invalid_resource", 500011,
                             "The resource principal named %s was not found in the tenant named %s. This can "
                             "happen if the application has not been installed by the administrator of the tenant "
                             "or consented to by any user in the tenant. You might have sent your authentication "
                             "request to the wrong tenant." % (scopes[0][:-len("/.default")], tenant))
        ck = ci_find(clients, client_id)
        cfg = clients.get(ck) if ck is not None else None
        if not isinstance(cfg, dict) or str(cfg.get("tenant", tenant)).lower() != tenant.lower():
            return aad_error(400, "unauthorized_client", 700016,
                             "Application with identifier '%s' was not found in the directory '%s'. This can "
                             "happen if the application has not been installed by the administrator of the tenant "
                             "or consented to by any user in the tenant. You may have sent your authentication "
                             "request to the wrong tenant." % (client_id, tenant))
        lifetime = int(self.state.setting("token_lifetime_seconds", 3599))
        assertion = form.get("client_assertion")
        secret = form.get("client_secret", basic_secret)
        if assertion is not None:
            atype = form.get("client_assertion_type")
            if atype != JWT_BEARER:
                return aad_error(400, "invalid_request", 700024 if atype else 900144,
                                 ("Client assertion type '%s' is not supported." % atype) if atype else
                                 "The request body must contain the following parameter: 'client_assertion_type'.")
            fed = as_dict(cfg.get("federated"))
            ok = bool(fed) and (fed.get("accept_any_assertion") is True or
                                assertion in [str(a) for a in (fed.get("assertions") or [])])
            with self.state.lock:
                self.state.assertions.append({"time": time.time(), "tenant": tenant, "client_id": client_id,
                                              "assertion": assertion, "accepted": ok})
                if len(self.state.assertions) > 10000:
                    del self.state.assertions[:5000]
            if not ok:
                return self.aadsts70021(assertion)
            tok = self.state.issue(client_id, tenant, "federated", lifetime)
        elif secret is not None:
            if cfg.get("secret") is None or str(cfg.get("secret")) != secret:
                return aad_error(401, "invalid_client", 7000215,
                                 "Invalid client secret provided. Ensure the secret being sent in the request is the "
                                 "client secret value, not the client secret ID, for a secret added to app '%s'."
                                 % client_id)
            tok = self.state.issue(client_id, tenant, "secret", lifetime)
        else:
            return aad_error(401, "invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or "
                             "'client_secret'.")
        return Response(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                              "access_token": tok},
                        [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")])

    def aadsts70021(self, assertion):
        """shared/azure/auth/entra_v2_token_400_AADSTS70021_workload_identity.json, with
        fresh ids and time and, when the assertion is a JWT, its iss/sub/aud."""
        tpl = shared_body("auth/entra_v2_token_400_AADSTS70021_workload_identity.json")
        m = re.search(r"Assertion Issuer: '([^']*)'\. Assertion Subject: '([^']*)'\. Assertion Audience: '([^']*)'",
                      tpl["error_description"])
        iss, sub, aud = m.groups() if m else ("", "", "")
        parts = assertion.split(".")
        if len(parts) == 3:
            try:
                claims = json.loads(b64url_decode(parts[1]))
                iss = str(claims.get("iss", iss))
                sub = str(claims.get("sub", sub))
                a = claims.get("aud", aud)
                aud = ",".join(a) if isinstance(a, list) else str(a)
            except (ValueError, UnicodeDecodeError, AttributeError):
                pass
        text = ("No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. "
                "Assertion Subject: '%s'. Assertion Audience: '%s'." % (iss, sub, aud))
        return aad_error(400, tpl.get("error", "invalid_request"), 70021, text, template=tpl)

    def openid_configuration(self, tenant):
        body = shared_body("auth/entra_openid_configuration_200.json")
        if body is None:
            body = {"token_endpoint": "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
                    "issuer": "https://login.microsoftonline.com/{tenant}/v2.0"}
        text = json.dumps(body)
        text = re.sub(r"https://login\.microsoftonline\.com/[0-9a-fA-F-]{36}|https://login\.microsoftonline\.com/\{tenant\}",
                      self.base_url + "/" + tenant, text)
        return Response(200, json.loads(text))

    def instance_discovery(self, req):
        body = shared_body("auth/entra_instance_discovery_200.json") or {"api-version": "1.1", "metadata": []}
        tenant = "common"
        ae = req.query.get("authorization_endpoint", "")
        m = re.search(r"/([^/]+)/oauth2/", ae)
        if m:
            tenant = m.group(1)
        body["tenant_discovery_endpoint"] = "%s/%s/v2.0/.well-known/openid-configuration" % (self.base_url, tenant)
        return Response(200, body)

    # -- IMDS
    def imds(self, req):
        if req.method != "GET":
            return imds_error(405, "invalid_request", "Method not allowed: %s" % req.method)
        md = req.header("Metadata")
        if md is None or md.strip().lower() != "true":
            return imds_error(400, "invalid_request", "Required metadata header not specified")
        ver = req.query.get("api-version")
        if not ver:
            return imds_error(400, "invalid_request", "Required query variable 'api-version' is missing")
        if ver not in IMDS_API_VERSIONS:
            return imds_error(400, "invalid_request", "Invalid api-version '%s'" % ver)
        resource = req.query.get("resource")
        if not resource:
            return imds_error(400, "invalid_request", "Required query variable 'resource' is missing")
        if resource not in IMDS_RESOURCES:
            return imds_error(400, "invalid_resource",
                              "AADSTS500011: The resource principal named %s was not found in the tenant. "
                              "You might have sent your authentication request to the wrong tenant." % resource)
        mi = as_dict(self.state.credentials().get("managed_identity"))
        system = as_dict(mi.get("system_assigned")).get("client_id")
        users = [str(u) for u in (mi.get("user_assigned") or [])]
        want = req.query.get("client_id")
        if want:
            if system and want.lower() == str(system).lower():
                client = str(system)
            else:
                client = next((u for u in users if u.lower() == want.lower()), None)
        elif system:
            client = str(system)
        elif len(users) == 1:
            client = users[0]
        else:
            client = None
        if not client:
            return imds_error(400, "invalid_request", "Identity not found")
        req.client_id = client
        lifetime = int(self.state.setting("imds_token_lifetime_seconds", 86399))
        tenants = self.state.credentials().get("tenants") or ["88888888-8888-8888-8888-888888888888"]
        tok = self.state.issue(client, str(tenants[0]), "imds", lifetime)
        now = int(time.time())
        return Response(200, {"access_token": tok, "client_id": client, "expires_in": str(lifetime),
                              "expires_on": str(now + lifetime), "ext_expires_in": str(lifetime),
                              "not_before": str(now), "resource": resource, "token_type": "Bearer"},
                        [("Server", "IMDS/150.870.65.1325")])

    # -- ARM
    def authenticate(self, req):
        """None when the bearer token is good, else the 401 response."""
        auth = req.header("Authorization")
        www = lambda err: [("WWW-Authenticate",
                            'Bearer authorization_uri="%s/", error="invalid_token", error_description="%s"'
                            % (self.base_url, err))]
        if auth is None or not auth.strip():
            return arm_json(401, shared_body("errors/arm_401_AuthenticationFailed_missing_header.json"),
                            www("The authentication failed because of missing 'Authorization' header."))
        parts = auth.strip().split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return arm_error(401, "AuthenticationFailed",
                             "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                             www("The authentication failed because of an invalid 'Authorization' header."))
        tok = self.state.token(parts[1].strip())
        if tok is None:
            return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.",
                             www("The access token is invalid."))
        req.client_id = tok.client_id
        now = time.time()
        if tok.revoked or now >= tok.expires_at:
            return self.expired_response(tok.expires_at if not tok.revoked else min(tok.expires_at, now - 1))
        return None

    def expired_response(self, expired_at):
        body = shared_body("errors/arm_401_ExpiredAuthenticationToken.json")
        exp = dt.datetime.fromtimestamp(min(expired_at, time.time() - 1), dt.timezone.utc)
        body["error"]["message"] = ("The access token expiry UTC time '%s' is earlier than current UTC time '%s'."
                                    % (win_time(exp), win_time(utcnow())))
        return arm_json(401, body, [("WWW-Authenticate",
                                     'Bearer authorization_uri="%s/", error="invalid_token", '
                                     'error_description="The access token expiry UTC time is earlier than current '
                                     'UTC time."' % self.base_url)])

    def check_api_version(self, req):
        v = req.query.get("api-version")
        if v is None or v == "":
            return arm_error(400, "MissingApiVersionParameter",
                             "The api-version query parameter (?api-version=) is required for all requests.")
        supported = self.state.setting("api_versions", None) or API_VERSIONS
        if v not in supported:
            return arm_error(400, "InvalidApiVersionParameter",
                             "The api-version '%s' is invalid. The supported versions are '%s'."
                             % (v, ",".join(reversed(supported))))
        return None

    def arm(self, req):
        bad = self.authenticate(req) or self.check_api_version(req)
        if bad is not None:
            return bad
        segs = req.segments
        low = [s.lower() for s in segs]
        n = len(low)
        # /subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/{r}/models
        if n == 7 and low[2] == "providers" and low[3] == "microsoft.cognitiveservices" \
                and low[4] == "locations" and low[6] == "models":
            if req.method != "GET":
                return self.arm_not_found(req)
            sub = self.find_subscription(segs[1])
            if sub is None:
                return self.subscription_not_found(segs[1])
            return self.catalog(req, segs[1], segs[5])
        # /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.CognitiveServices/accounts/{a}[/deployments[/{d}]]
        if n in (8, 9, 10) and low[2] == "resourcegroups" and low[4] == "providers" \
                and low[5] == "microsoft.cognitiveservices" and low[6] == "accounts" \
                and (n == 8 or low[8] == "deployments"):
            if req.method != "GET":
                return self.arm_not_found(req)
            s, g, a = segs[1], segs[3], segs[7]
            sub = self.find_subscription(s)
            if sub is None:
                return self.subscription_not_found(s)
            rg = ci_get(as_dict(ci_get(sub, "resourceGroups")), g)
            if rg is None:
                body = shared_body("errors/arm_404_ResourceGroupNotFound.json")
                body["error"]["message"] = "Resource group '%s' could not be found." % g
                return arm_json(404, body)
            accounts = as_dict(ci_get(as_dict(rg), "accounts"))
            ak = ci_find(accounts, a)
            if ak is None:
                body = shared_body("errors/arm_404_ResourceNotFound_account.json")
                body["error"]["message"] = ("The Resource 'Microsoft.CognitiveServices/accounts/%s' under resource "
                                            "group '%s' was not found. For more details please go to "
                                            "https://aka.ms/ARMResourceNotFoundFix" % (a, g))
                return arm_json(404, body)
            acct = as_dict(accounts[ak])
            if n == 8:
                return arm_json(200, self.render_account(s, g, ak, acct))
            deps = as_dict(ci_get(acct, "deployments"))
            if n == 9:
                items = [self.render_deployment(s, g, ak, dk, as_dict(dv)) for dk, dv in deps.items()]
                return self.paged(req, items)
            dk = ci_find(deps, segs[9])
            if dk is None:
                body = shared_body("errors/cogsvc_404_deployment_NotFound_INFERRED.json")
                body["error"]["message"] = ("Specified resource '/subscriptions/%s/resourceGroups/%s/providers/"
                                            "Microsoft.CognitiveServices/accounts/%s/deployments/%s' cannot be "
                                            "found." % (s, g, a, segs[9]))
                return arm_json(404, body)
            return arm_json(200, self.render_deployment(s, g, ak, dk, as_dict(deps[dk])))
        return self.arm_not_found(req)

    def find_subscription(self, s):
        with self.state.lock:
            subs = as_dict(self.state.world.get("subscriptions"))
            k = ci_find(subs, s)
            return copy.deepcopy(as_dict(subs[k])) if k is not None else None

    def subscription_not_found(self, s):
        return arm_error(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % s)

    def page_size(self):
        try:
            return int(self.state.setting("catalog_page_size", 0) or 0)
        except (TypeError, ValueError):
            return 0

    def paged(self, req, items):
        """{"value": page} plus an absolute nextLink with $skipToken, like ARM."""
        size = self.page_size()
        offset = 0
        tok = req.query.get("$skiptoken")
        if tok is not None:
            try:
                m = re.fullmatch(r"offset:(\d+)", b64url_decode(tok).decode())
                offset = int(m.group(1))
            except (ValueError, AttributeError, UnicodeDecodeError):
                return arm_error(400, "InvalidSkipToken", "The provided skip token '%s' is not valid." % tok)
        if size <= 0:
            return arm_json(200, {"value": items[offset:]})
        page = items[offset:offset + size]
        body = {"value": page}
        if offset + size < len(items):
            nxt = base64.urlsafe_b64encode(("offset:%d" % (offset + size)).encode()).decode().rstrip("=")
            body["nextLink"] = "%s%s?api-version=%s&$skipToken=%s" % (
                self.link_base(req), req.raw_path.rstrip("/"),
                urllib.parse.quote(req.query.get("api-version", ""), safe="-"), nxt)
        return arm_json(200, body)

    def link_base(self, req):
        host = req.header("Host") or ""
        if re.fullmatch(r"(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+", host):
            return "https://" + host
        return self.base_url

    def catalog(self, req, sub, region):
        items = self.state.catalog(region)
        if items is None:
            items = []
        for it in items:
            if isinstance(it, dict) and isinstance(it.get("id"), str):
                it["id"] = re.sub(r"^/subscriptions/[^/]+/", "/subscriptions/%s/" % sub, it["id"])
        return self.paged(req, items)

    def render_account(self, s, g, name, acct):
        kind = str(acct.get("kind", "AIServices"))
        sub_domain = str(acct.get("customSubDomainName", name)).lower()
        if kind == "OpenAI":
            default_endpoint = "https://%s.openai.azure.com/" % sub_domain
            default_endpoints = {
                k: default_endpoint for k in (
                    "OpenAI Language Model Instance API", "OpenAI Dall-E API", "OpenAI Sora API",
                    "OpenAI Moderations API", "OpenAI Whisper API", "OpenAI Model Scaleset API",
                    "OpenAI Realtime API", "Token Service API", "Azure OpenAI Legacy API - Latest moniker")}
        else:
            default_endpoint = "https://%s.cognitiveservices.azure.com/" % sub_domain
            oai = "https://%s.openai.azure.com/" % sub_domain
            svc = "https://%s.services.ai.azure.com/" % sub_domain
            default_endpoints = {
                "AI Foundry API": svc, "Azure AI Model Inference API": svc, "Content Understanding": svc,
                "OpenAI Language Model Instance API": oai, "OpenAI Dall-E API": oai, "OpenAI Sora API": oai,
                "OpenAI Moderations API": oai, "OpenAI Whisper API": oai, "OpenAI Model Scaleset API": oai,
                "OpenAI Realtime API": oai, "Token Service API": default_endpoint,
                "Azure OpenAI Legacy API - Latest moniker": oai, "Content Safety": default_endpoint,
                "Speech Services Speech to Text": default_endpoint,
                "Speech Services Text to Speech": default_endpoint,
            }
        props = {
            "endpoint": acct.get("endpoint", default_endpoint),
            "internalId": uuid.uuid5(uuid.NAMESPACE_URL, ("acct:%s/%s/%s" % (s, g, name)).lower()).hex,
            "dateCreated": acct.get("dateCreated", "2026-03-10T09:12:44.1234567Z"),
            "apiProperties": {},
            "customSubDomainName": sub_domain,
            "networkAcls": {"defaultAction": "Allow", "virtualNetworkRules": [], "ipRules": []},
            "allowProjectManagement": kind == "AIServices",
            "privateEndpointConnections": [],
            "publicNetworkAccess": "Enabled",
            "capabilities": [{"name": "VirtualNetworks"}, {"name": "CustomerManagedKey"},
                             {"name": "MaxFineTuneCount", "value": "500"}],
            "endpoints": (as_dict(acct["endpoints"]) if ci_find(acct, "endpoints") == "endpoints"
                          else default_endpoints),
            "provisioningState": acct.get("provisioningState", "Succeeded"),
        }
        if isinstance(acct.get("properties"), dict):   # raw extra properties win
            props.update(acct["properties"])
        return {
            "id": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.CognitiveServices/accounts/%s" % (s, g, name),
            "name": name,
            "type": "Microsoft.CognitiveServices/accounts",
            "etag": '"%s"' % uuid.uuid5(uuid.NAMESPACE_URL, "etag:" + json.dumps(acct, sort_keys=True, default=str)),
            "location": acct.get("location", "westus"),
            "sku": {"name": str(acct.get("sku", "S0"))},
            "kind": kind,
            "identity": {"type": "None"},
            "properties": props,
            "systemData": {
                "createdBy": "platform@aucert.example", "createdByType": "User",
                "createdAt": "2026-03-10T09:12:43.9876543Z",
                "lastModifiedBy": "platform@aucert.example", "lastModifiedByType": "User",
                "lastModifiedAt": "2026-03-10T09:12:43.9876543Z",
            },
        }

    def render_deployment(self, s, g, a, name, dep):
        model = as_dict(dep.get("model"))
        skuv = dep.get("sku")
        sku = {"name": skuv, "capacity": 1} if isinstance(skuv, str) else dict(as_dict(skuv) or {"name": "Standard"})
        sku.setdefault("capacity", 1)
        cap = sku.get("capacity", 1)
        props = {
            "model": {k: model[k] for k in ("format", "name", "version") if k in model},
            "versionUpgradeOption": dep.get("versionUpgradeOption", "OnceNewDefaultVersionAvailable"),
            "currentCapacity": cap,
            "capabilities": dep.get("capabilities", {"chatCompletion": "true", "maxContextToken": "1050000",
                                                     "maxOutputToken": "128000"}),
            "provisioningState": dep.get("provisioningState", "Succeeded"),
            "raiPolicyName": "Microsoft.DefaultV2",
            "rateLimits": [{"key": "request", "renewalPeriod": 60, "count": cap},
                           {"key": "token", "renewalPeriod": 60, "count": cap * 1000}],
        }
        if isinstance(dep.get("properties"), dict):
            props.update(dep["properties"])
        return {
            "id": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.CognitiveServices/accounts/%s/deployments/%s"
                  % (s, g, a, name),
            "type": "Microsoft.CognitiveServices/accounts/deployments",
            "name": name,
            "sku": sku,
            "properties": props,
            "systemData": {
                "createdBy": "platform@aucert.example", "createdByType": "User",
                "createdAt": "2026-03-11T10:20:31.3936328Z",
                "lastModifiedBy": "platform@aucert.example", "lastModifiedByType": "User",
                "lastModifiedAt": "2026-03-11T10:20:31.3936328Z",
            },
            "etag": '"%s"' % uuid.uuid5(uuid.NAMESPACE_URL, "etag:" + json.dumps(dep, sort_keys=True, default=str)),
        }

    # -- faults
    def fault_response(self, fault, req):
        sub = "00000000-0000-0000-0000-000000000000"
        if len(req.segments) > 1 and req.segments[0].lower() == "subscriptions":
            sub = req.segments[1]
        tok = None
        auth = (req.header("Authorization") or "").split(None, 1)
        if len(auth) == 2 and auth[0].lower() == "bearer":
            tok = self.state.token(auth[1].strip())
        client = tok.client_id if tok else "85e5d083-7fd9-4588-9a28-6c035bea11a3"
        if tok:
            req.client_id = tok.client_id
        k = fault.kind
        if k == "429":
            ra = 1 if fault.retry_after is None else fault.retry_after
            body = shared_body("errors/arm_429_SubscriptionRequestsThrottled.json")
            body["error"]["message"] = ("Number of 'read' requests for subscription '%s' actor '%s' exceeded. "
                                        "Please try again after '%d' seconds." % (sub, client, ra))
            return arm_json(429, body, [("Retry-After", str(ra)),
                                        ("x-ms-ratelimit-remaining-subscription-reads", "0")])
        if k == "500":
            return arm_error(500, "InternalServerError",
                             "Encountered internal server error. Diagnostic information: timestamp '%s', "
                             "subscription id '%s', tracking id '%s', request correlation id '%s'."
                             % (utcnow().strftime("%Y%m%dT%H%M%SZ"), sub, uuid.uuid4(), uuid.uuid4()))
        if k == "503":
            extra = [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else None
            return arm_error(503, "ServiceUnavailable",
                             "The service is currently unavailable. Please try again later.", extra)
        if k == "403":
            body = shared_body("errors/arm_403_AuthorizationFailed.json")
            cfg = as_dict(ci_get(as_dict(self.state.credentials().get("clients")), client))
            oid = str(cfg.get("object_id", client))
            body["error"]["message"] = (
                "The client '%s' with object id '%s' does not have authorization to perform action '%s' over "
                "scope '%s' or the scope is invalid. If access was recently granted, please refresh your "
                "credentials." % (client, oid, self.action_name(req), req.path.rstrip("/")))
            return arm_json(403, body)
        if k == "expired_token":
            if tok is not None:
                with self.state.lock:
                    tok.revoked = True
            return self.expired_response(tok.expires_at if tok else time.time() - 60)
        raise AssertionError("unhandled fault kind %s" % k)

    @staticmethod
    def action_name(req):
        low = [s.lower() for s in req.segments]
        verb = "read" if req.method in ("GET", "HEAD") else ("delete" if req.method == "DELETE" else "write")
        if "deployments" in low:
            return "Microsoft.CognitiveServices/accounts/deployments/" + verb
        if "accounts" in low:
            return "Microsoft.CognitiveServices/accounts/" + verb
        if "models" in low and "locations" in low:
            return "Microsoft.CognitiveServices/locations/models/" + verb
        return "Microsoft.Resources/subscriptions/" + verb

    # -- control API
    def control(self, req):
        segs = req.segments[1:]
        m = req.method
        st = self.state
        path = "/".join(segs)

        def body_json():
            if not req.body.strip():
                return None
            try:
                return parse_structured(req.body.decode("utf-8"))
            except Exception as e:  # YAML and JSON errors of every kind
                raise ControlError("request body is not JSON/YAML: %s" % e)

        try:
            if path == "healthz" and m == "GET":
                return Response(200, {"status": "ok", "base_url": self.base_url, "imds_url": self.imds_url})
            if path == "requests" and m == "GET":
                with st.lock:
                    recs = list(st.requests)
                rx = req.query.get("path_regex")
                if rx:
                    r = re.compile(rx, re.IGNORECASE)
                    recs = [x for x in recs if r.search(x["path"])]
                return Response(200, {"requests": recs})
            if (path in ("reset-requests", "requests/reset") and m == "POST") or (path == "requests" and m == "DELETE"):
                with st.lock:
                    st.requests.clear()
                return Response(200, {"ok": True})
            if path == "faults" and m == "GET":
                with st.lock:
                    return Response(200, {"faults": [f.info() for f in st.faults]})
            if path == "faults" and m == "POST":
                spec = body_json()
                specs = spec if isinstance(spec, list) else [spec]
                try:
                    made = [st.add_fault(s) for s in specs]
                except (ValueError, TypeError, re.error) as e:
                    raise ControlError("bad fault: %s" % e)
                out = [f.info() for f in made]
                return Response(200, out if isinstance(spec, list) else out[0])
            if path == "faults" and m == "DELETE":
                with st.lock:
                    n = len(st.faults)
                    st.faults.clear()
                return Response(200, {"deleted": n})
            if len(segs) == 2 and segs[0] == "faults" and m == "DELETE":
                with st.lock:
                    before = len(st.faults)
                    st.faults = [f for f in st.faults if str(f.id) != segs[1]]
                    n = before - len(st.faults)
                return Response(200 if n else 404, {"deleted": n})
            if path == "world" and m == "GET":
                return Response(200, st.snapshot_world())
            if path == "world" and m in ("POST", "PUT", "PATCH"):
                data = body_json()
                mode = req.query.get("mode", "replace" if m == "PUT" else "merge")
                if isinstance(data, dict) and set(data) <= {"merge", "replace"} and data:
                    mode = "merge" if "merge" in data else "replace"
                    data = data[mode]
                if data is None:
                    data = {}
                if not isinstance(data, dict) or mode not in ("merge", "replace"):
                    raise ControlError("body must be a mapping; mode merge|replace")
                data = expand_placeholders(data, st.now())
                with st.lock:
                    st.world = merge(st.world, data) if mode == "merge" else copy.deepcopy(data)
                    return Response(200, copy.deepcopy(st.world))
            if len(segs) == 2 and segs[0] == "catalog":
                region = segs[1].lower()
                if m == "GET":
                    items = st.catalog(region)
                    if items is None:
                        return Response(404, {"error": "no catalog for region %s" % region})
                    return Response(200, {"value": items})
                if m in ("PUT", "POST"):
                    data = body_json()
                    try:
                        items = st.normalize_catalog(data if data is not None else [])
                    except ValueError as e:
                        raise ControlError(str(e))
                    with st.lock:
                        st.catalogs[region] = items
                    return Response(200, {"region": region, "items": len(items)})
                if m == "DELETE":
                    with st.lock:
                        found = st.catalogs.pop(region, None) is not None
                    return Response(200 if found else 404, {"deleted": found})
            if path == "catalog" and m == "GET":
                with st.lock:
                    return Response(200, {r: len(v) for r, v in st.catalogs.items()})
            if path == "expire-tokens" and m == "POST":
                return Response(200, {"expired": st.expire_all()})
            if path == "tokens" and m == "GET":
                # ?reveal=1 adds each whole token (for tests that grep logs for them)
                reveal = req.query.get("reveal") in ("1", "true")
                with st.lock:
                    return Response(200, {"tokens": [dict(t.info(), **({"token": t.value} if reveal else {}))
                                                     for t in st.tokens.values()]})
            if path == "assertions" and m == "GET":
                with st.lock:
                    return Response(200, {"assertions": list(st.assertions)})
            if path == "assertions" and m == "DELETE":
                with st.lock:
                    st.assertions.clear()
                return Response(200, {"ok": True})
            if path == "reset" and m == "POST":
                try:
                    st.reload()
                except (OSError, ValueError) as e:
                    raise ControlError("reload failed: %s" % e)
                with st.lock:
                    st.faults.clear()
                    st.requests.clear()
                    st.assertions.clear()
                return Response(200, {"ok": True})
            return Response(404, {"error": "no control endpoint %s %s" % (m, req.path)})
        except ControlError as e:
            return Response(400, {"error": str(e)})


class ControlError(Exception):
    pass


def make_handler(emu, listener, quiet):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "AzureEmulator/1.0"
        sys_version = ""
        timeout = 120

        def log_message(self, fmt, *args):  # http.server's own messages (bad request lines ...)
            if not quiet:
                sys.stderr.write("emulator: %s %s\n" % (self.address_string(), fmt % args))

        def log_request(self, code="-", size="-"):  # dispatch() logs each request itself
            pass

        def do_GET(self):
            self.dispatch()

        do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

        def read_body(self):
            te = (self.headers.get("Transfer-Encoding") or "").lower()
            if "chunked" in te:
                chunks, total = [], 0
                while True:
                    line = self.rfile.readline(1024)
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    total += size
                    if total > MAX_BODY:
                        raise ValueError("body too large")
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline(16)
                return b"".join(chunks)
            cl = self.headers.get("Content-Length")
            if cl is None:
                return b""
            n = int(cl)
            if n < 0 or n > MAX_BODY:
                raise ValueError("bad Content-Length")
            return self.rfile.read(n)

        def dispatch(self):
            started = time.time()
            req = None
            try:
                req = Request(self, listener)
                try:
                    req.body = self.read_body()
                except (ValueError, OSError):
                    self.close_connection = True
                    resp = arm_error(400, "InvalidRequestContent", "The request body could not be read.")
                else:
                    resp = emu.handle(req)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                resp = arm_error(500, "InternalServerError", "The emulator failed on this request (a bug).")
                self.close_connection = True
            self.send(resp)
            if req is not None and not (req.segments and req.segments[0] == "_emulator"):
                rec = {"time": started, "method": req.method, "path": req.path, "query": dict(req.query),
                       "status": None if resp.drop else resp.status, "fault": req.fault,
                       "listener": listener, "client_id": req.client_id,
                       "duration_ms": int((time.time() - started) * 1000)}
                emu.state.record(rec)
                if not quiet:
                    sys.stderr.write("emulator: %s %s %s%s %s%s\n" % (
                        listener, req.method, req.path, ("?" + req.rawquery) if req.rawquery else "",
                        rec["status"], (" fault=" + req.fault) if req.fault else ""))

        def send(self, resp):
            try:
                if resp.reset:
                    # abort: SO_LINGER 0 makes close() send a TCP RST (no TLS close_notify)
                    self.close_connection = True
                    try:
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                   struct.pack("ii", 1, 0))
                        self.rfile.close()
                        self.connection.close()
                    except (OSError, ValueError):
                        pass
                    return
                if resp.drop:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self.send_response(resp.status)
                for k, v in resp.headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.body)))
                if self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD" and resp.body:
                    self.wfile.write(resp.body)
                self.wfile.flush()
            except (OSError, ssl.SSLError):
                self.close_connection = True

        def handle(self):
            try:
                super().handle()
            except (OSError, ssl.SSLError, ValueError):
                pass  # client went away, TLS garbage, ...: never the server's problem

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, ssl_ctx=None):
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = super().get_request()
        if self.ssl_ctx is not None:
            # handshake happens in the handler thread, on first read: a client that
            # stalls in the handshake never blocks the accept loop.
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ssl.SSLError, ValueError)):
            return
        traceback.print_exc(file=sys.stderr)


# ---- certificates ------------------------------------------------------------

CA_CNF = """[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = foundry-controller Azure emulator CA
O = foundry-controller tests
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""
SERVER_CNF = """[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
O = foundry-controller tests
"""
SERVER_EXT = """basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost,IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))


def ensure_certs(state_dir):
    """DIR/ca.pem (+ ca-key.pem) and DIR/server.pem + server-key.pem signed by it.
    Kept across restarts while valid for another day, so a controller's CA file stays good."""
    ca, key, crt, skey = (os.path.join(state_dir, n) for n in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem"))
    if all(os.path.exists(p) for p in (ca, key, crt, skey)):
        r = subprocess.run(["openssl", "x509", "-checkend", "86400", "-noout", "-in", crt],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0:
            return ca, crt, skey
    with tempfile.TemporaryDirectory(dir=state_dir) as tmp:
        with open(os.path.join(tmp, "ca.cnf"), "w") as f:
            f.write(CA_CNF)
        with open(os.path.join(tmp, "server.cnf"), "w") as f:
            f.write(SERVER_CNF)
        with open(os.path.join(tmp, "server.ext"), "w") as f:
            f.write(SERVER_EXT)
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca-key.pem", cwd=tmp)
        openssl("req", "-x509", "-new", "-config", "ca.cnf", "-key", "ca-key.pem", "-sha256", "-days", "3650",
                "-set_serial", "0x" + secrets.token_hex(12), "-out", "ca.pem", cwd=tmp)
        openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server-key.pem", cwd=tmp)
        openssl("req", "-new", "-config", "server.cnf", "-key", "server-key.pem", "-out", "server.csr", cwd=tmp)
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-set_serial", "0x" + secrets.token_hex(12), "-days", "825", "-sha256",
                "-extfile", "server.ext", "-out", "server.pem", cwd=tmp)
        for n in ("ca-key.pem", "server-key.pem", "server.pem", "ca.pem"):  # ca.pem last
            os.replace(os.path.join(tmp, n), os.path.join(state_dir, n))
    os.chmod(key, 0o600)
    os.chmod(skey, 0o600)
    return ca, crt, skey


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# ---- main --------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="Local Azure (Entra ID, IMDS, ARM) emulator for foundry-controller tests.")
    p.add_argument("--state-dir", required=True, help="certificates, port files and logs go here")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; loopback only)")
    p.add_argument("--port", type=int, default=0, help="HTTPS port (0 = any free port; written to DIR/port)")
    p.add_argument("--imds-port", type=int, default=None,
                   help="also serve IMDS over plain HTTP on this port (0 = any; written to DIR/imds_port)")
    p.add_argument("--fixtures", default=DEFAULT_FIXTURES, help="directory with world.yaml and catalog/*.json")
    p.add_argument("--world", default=None, help="world file (default FIXTURES/world.yaml; JSON or YAML)")
    p.add_argument("--page-size", type=int, default=None, help="catalog/deployment list page size (overrides world)")
    p.add_argument("--now", default=None, help="reference time for {{now...}} placeholders (ISO 8601; default: now)")
    p.add_argument("--seed", type=int, default=None, help="random seed for fault probabilities")
    p.add_argument("--quiet", action="store_true", help="do not log each request to stderr")
    p.add_argument("--die-with-parent", action="store_true", help="exit when the parent process goes away")
    a = p.parse_args(argv)
    if a.world is None:
        a.world = os.path.join(a.fixtures, "world.yaml")
    if a.host not in ("127.0.0.1", "localhost", "::1") and not a.host.startswith("127."):
        p.error("--host must be a loopback address")
    return a


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    os.makedirs(args.state_dir, exist_ok=True)
    for n in ("port", "imds_port"):
        try:
            os.unlink(os.path.join(args.state_dir, n))
        except FileNotFoundError:
            pass
    ca, crt, key = ensure_certs(args.state_dir)
    try:
        state = State(args)
    except Exception as e:  # bad fixture: one clear line, exit 2
        print("emulator: cannot load the world/catalog fixtures: %s" % e, file=sys.stderr)
        return 2
    emu = Emulator(state)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(crt, key)
    ctx.set_alpn_protocols(["http/1.1"])
    https = Server((args.host, args.port), make_handler(emu, "https", args.quiet), ctx)
    port = https.server_address[1]
    emu.base_url = "https://127.0.0.1:%d" % port
    servers = [https]
    if args.imds_port is not None:
        imds = Server((args.host, args.imds_port), make_handler(emu, "http", args.quiet))
        servers.append(imds)
        emu.imds_url = "http://127.0.0.1:%d" % imds.server_address[1]

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        signal.signal(signal.SIGHUP, on_signal)
    except (AttributeError, ValueError):
        pass

    threads = []
    for s in servers:
        t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        t.start()
        threads.append(t)

    if len(servers) > 1:
        write_atomic(os.path.join(args.state_dir, "imds_port"), "%d\n" % servers[1].server_address[1])
    write_atomic(os.path.join(args.state_dir, "port"), "%d\n" % port)
    write_atomic(os.path.join(args.state_dir, "pid"), "%d\n" % os.getpid())
    print("READY %s" % emu.base_url + ((" IMDS %s" % emu.imds_url) if emu.imds_url else ""), flush=True)

    parent = os.getppid()
    while not stop.wait(0.5):
        if args.die_with_parent and os.getppid() != parent:
            break
    for s in servers:
        s.shutdown()
        s.server_close()
    for n in ("port", "imds_port", "pid"):
        try:
            os.unlink(os.path.join(args.state_dir, n))
        except FileNotFoundError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
