"""Tests of the Azure emulator itself: every endpoint, every fault kind, the
control API, and the fixture content the controller's tests rely on.

    /usr/bin/python3 -m pytest -q tests/azure_emulator

Clients use urllib / http.client with TLS verification on (the emulator's CA).
"""

import datetime as dt
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import (  # noqa: E402
    API_VERSION, CLIENT_SECRET, FEDERATED_ASSERTION, FEDERATED_CLIENT_ID, MI_SYSTEM_CLIENT_ID,
    MI_USER_CLIENT_ID, PYTHON, EMULATOR, RESOURCE_GROUP, SECRET_CLIENT_ID, SUBSCRIPTION, TENANT,
    Emulator, EmulatorError, running_emulator)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
# the real payloads: shared/azure beside the repository when present (as in
# CI), else the copy kept in tests/fixtures/azure/shared
SHARED = os.path.join(os.path.dirname(REPO), "shared", "azure")
if not os.path.isdir(SHARED):
    SHARED = os.path.join(REPO, "tests", "fixtures", "azure", "shared")
CATALOG_DIR = os.path.join(REPO, "tests", "fixtures", "azure", "catalog")

RG_PATH = "/subscriptions/%s/resourceGroups/%s" % (SUBSCRIPTION, RESOURCE_GROUP)
ACCOUNTS = RG_PATH + "/providers/Microsoft.CognitiveServices/accounts"
AI = ACCOUNTS + "/aucert-ai"
AI_EAST = ACCOUNTS + "/aucert-ai-east"


def models_path(region, sub=SUBSCRIPTION):
    return "/subscriptions/%s/providers/Microsoft.CognitiveServices/locations/%s/models" % (sub, region)


def shared(name):
    with open(os.path.join(SHARED, name)) as f:
        return json.load(f)


def parse_time(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


NOW = dt.datetime.now(dt.timezone.utc)


@pytest.fixture(scope="module")
def emu(tmp_path_factory):
    with Emulator(tmp_path_factory.mktemp("azure")) as e:
        yield e


@pytest.fixture(autouse=True)
def clean(request):
    if "emu" in request.fixturenames:
        request.getfixturevalue("emu").reset()
    yield


@pytest.fixture
def token(emu):
    return emu.get_token()


def urlopen(emu, url, data=None, headers=None, method=None):
    """urllib with the emulator's CA (verification on). Returns (status, headers, body)."""
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def token_request(emu, form, tenant=TENANT, headers=None):
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    h.update(headers or {})
    st, hd, body = urlopen(emu, "%s/%s/oauth2/v2.0/token" % (emu.base_url, tenant),
                           data=urllib.parse.urlencode(form).encode(), headers=h)
    return st, json.loads(body)


def secret_form(**kw):
    f = {"grant_type": "client_credentials", "client_id": SECRET_CLIENT_ID,
         "scope": "https://management.azure.com/.default", "client_secret": CLIENT_SECRET}
    f.update(kw)
    return {k: v for k, v in f.items() if v is not None}


def assertion_form(assertion, client_id=FEDERATED_CLIENT_ID):
    return {"grant_type": "client_credentials", "client_id": client_id,
            "scope": "https://management.azure.com/.default",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion}


def arm(emu, path, token, api_version=API_VERSION):
    url = emu.base_url + path
    if api_version is not None:
        url += ("&" if "?" in url else "?") + "api-version=" + api_version
    st, hd, body = urlopen(emu, url, headers={"Authorization": "Bearer " + token})
    return st, hd, (json.loads(body) if body else None)


def list_all(emu, url, token):
    """Follow nextLink like the controller must; returns (items, pages)."""
    items, pages = [], 0
    while url:
        st, hd, body = urlopen(emu, url, headers={"Authorization": "Bearer " + token})
        assert st == 200, body
        doc = json.loads(body)
        items += doc["value"]
        pages += 1
        url = doc.get("nextLink")
        assert pages < 100
    return items, pages


# ---- startup, TLS ----------------------------------------------------------------

def test_startup_files_and_tls(emu):
    for n in ("ca.pem", "server.pem", "port", "imds_port"):
        assert os.path.exists(os.path.join(emu.state_dir, n)), n
    assert emu.healthz()["status"] == "ok"
    # the generated CA verifies the server for 127.0.0.1 and localhost
    for host in ("127.0.0.1", "localhost"):
        st, _, body = urlopen(emu, "https://%s:%d/_emulator/healthz" % (host, emu.port))
        assert st == 200 and json.loads(body)["status"] == "ok"
    # ... and nothing else does
    with pytest.raises(urllib.error.URLError) as ei:
        urllib.request.urlopen(emu.base_url + "/_emulator/healthz",
                               context=ssl.create_default_context(), timeout=10)
    assert isinstance(ei.value.reason, ssl.SSLCertVerificationError)


def test_ready_line_and_sigterm(tmp_path):
    p = subprocess.Popen([PYTHON, EMULATOR, "--state-dir", str(tmp_path), "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        m = re.fullmatch(r"READY https://127\.0\.0\.1:(\d+)\n", line)
        assert m, line
        with open(tmp_path / "port") as f:
            assert int(f.read()) == int(m.group(1))
        # a keep-alive connection left open must not block shutdown
        ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        c = http.client.HTTPSConnection("127.0.0.1", int(m.group(1)), context=ctx, timeout=10)
        c.request("GET", "/_emulator/healthz")
        assert c.getresponse().read()
        p.send_signal(signal.SIGTERM)
        assert p.wait(10) == 0
        assert not (tmp_path / "port").exists()
        c.close()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()


def test_certificates_are_reused_across_restarts(tmp_path):
    with running_emulator(tmp_path, imds=False) as e:
        ca1 = open(e.ca_file).read()
    with running_emulator(tmp_path, imds=False) as e:
        assert open(e.ca_file).read() == ca1
        assert e.healthz()["status"] == "ok"


def test_bad_fixture_fails_start(tmp_path):
    bad = tmp_path / "world.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(EmulatorError):
        Emulator(tmp_path / "s", world=bad, start_timeout=15).start()


# ---- Entra ID token endpoint ---------------------------------------------------------

def test_token_client_secret(emu):
    st, body = token_request(emu, secret_form())
    assert st == 200
    real = shared("auth/entra_v2_token_200_client_credentials_3599.json")
    assert set(body) == set(real)
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] == 3599
    assert isinstance(body["ext_expires_in"], int)
    assert len(body["access_token"]) >= 32
    # tokens are random
    assert token_request(emu, secret_form())[1]["access_token"] != body["access_token"]
    # and good for ARM
    st, _, acct = arm(emu, AI, body["access_token"])
    assert st == 200 and acct["name"] == "aucert-ai"
    rec = emu.requests(r"/oauth2/v2\.0/token$")[-1]
    assert rec["method"] == "POST" and rec["status"] == 200 and rec["client_id"] == SECRET_CLIENT_ID


def test_token_client_secret_basic_auth(emu):
    import base64
    form = secret_form(client_secret=None, client_id=None)
    cred = base64.b64encode(("%s:%s" % (SECRET_CLIENT_ID, CLIENT_SECRET)).encode()).decode()
    st, body = token_request(emu, form, headers={"Authorization": "Basic " + cred})
    assert st == 200, body


def assert_aad_error(body, error, code):
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith("AADSTS%d: " % code)
    for k in ("timestamp", "trace_id", "correlation_id", "error_uri"):
        assert k in body
    assert "Trace ID: %s" % body["trace_id"] in body["error_description"]


def test_token_wrong_secret(emu):
    st, body = token_request(emu, secret_form(client_secret="nope"))
    assert st == 401
    assert_aad_error(body, "invalid_client", 7000215)
    assert "Invalid client secret provided" in body["error_description"]


def test_token_errors(emu):
    cases = [
        (dict(grant_type=None), 400, "invalid_request", 900144),
        (dict(grant_type="password"), 400, "unsupported_grant_type", 70003),
        (dict(client_id=None), 400, "invalid_request", 900144),
        (dict(scope=None), 400, "invalid_request", 900144),
        (dict(scope="https://management.azure.com/user_impersonation"), 400, "invalid_scope", 1002012),
        (dict(scope="https://graph.microsoft.com/.default"), 400, "invalid_resource", 500011),
        (dict(client_id="99999999-9999-9999-9999-999999999999"), 400, "unauthorized_client", 700016),
        (dict(client_secret=None), 401, "invalid_client", 7000218),
    ]
    for kw, status, error, code in cases:
        st, body = token_request(emu, secret_form(**kw))
        assert st == status, (kw, body)
        assert_aad_error(body, error, code)
    st, body = token_request(emu, secret_form(), tenant="77777777-7777-7777-7777-777777777777")
    assert st == 400
    assert_aad_error(body, "invalid_request", 90002)
    st, _, body = urlopen(emu, emu.token_url)  # GET
    assert st == 400 and json.loads(body)["error_codes"] == [900561]
    # garbage body: still a clean error
    st, _, body = urlopen(emu, emu.token_url, data=b"\xff\xfe\x00garbage", method="POST")
    assert st == 400 and json.loads(body)["error"] == "invalid_request"


def test_token_federated(emu):
    st, body = token_request(emu, assertion_form(FEDERATED_ASSERTION))
    assert st == 200 and body["token_type"] == "Bearer", body
    assert arm(emu, AI, body["access_token"])[0] == 200
    # wrong assertion: the real AADSTS70021 body shape
    st, body = token_request(emu, assertion_form("some-other-jwt"))
    assert st == 400
    real = shared("auth/entra_v2_token_400_AADSTS70021_workload_identity.json")
    assert set(body) == set(real)
    assert_aad_error(body, "invalid_request", 70021)
    assert "No matching federated identity record found for presented assertion" in body["error_description"]
    # a JWT's claims show in the message, as in the real one
    import base64
    claims = {"iss": "https://oidc.example/abc/", "sub": "system:serviceaccount:aucert:foundry-controller",
              "aud": ["api://AzureADTokenExchange"]}
    jwt = "e30.%s.sig" % base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    st, body = token_request(emu, assertion_form(jwt))
    assert st == 400
    assert "Assertion Subject: 'system:serviceaccount:aucert:foundry-controller'" in body["error_description"]
    # a client with only a secret has no federated record either
    st, body = token_request(emu, assertion_form(FEDERATED_ASSERTION, client_id=SECRET_CLIENT_ID))
    assert st == 400 and body["error_codes"] == [70021]
    # wrong assertion type
    f = assertion_form(FEDERATED_ASSERTION)
    f["client_assertion_type"] = "urn:bogus"
    st, body = token_request(emu, f)
    assert st == 400 and body["error"] == "invalid_request"


def test_federated_rotation_and_accept_any(emu):
    emu.set_world({"credentials": {"clients": {FEDERATED_CLIENT_ID: {"federated": {
        "assertions": ["rot-1", "rot-2"]}}}}})
    for a, ok in (("rot-1", True), ("rot-2", True), ("rot-3", False)):
        st, _ = token_request(emu, assertion_form(a))
        assert (st == 200) == ok
    seen = emu.assertions()
    assert [x["assertion"] for x in seen] == ["rot-1", "rot-2", "rot-3"]
    assert [x["accepted"] for x in seen] == [True, True, False]
    assert all(x["client_id"] == FEDERATED_CLIENT_ID and x["tenant"] == TENANT for x in seen)
    emu.set_world({"credentials": {"clients": {FEDERATED_CLIENT_ID: {"federated": {"accept_any_assertion": True}}}}})
    st, _ = token_request(emu, assertion_form("anything-at-all"))
    assert st == 200


def test_token_lifetime_configurable_and_expiry(emu):
    emu.set_world({"token_lifetime_seconds": 1})
    st, body = token_request(emu, secret_form())
    assert body["expires_in"] == 1
    time.sleep(1.2)
    st, hd, err = arm(emu, AI, body["access_token"])
    assert st == 401 and err["error"]["code"] == "ExpiredAuthenticationToken"


def test_openid_configuration_points_back(emu):
    st, _, body = urlopen(emu, "%s/%s/v2.0/.well-known/openid-configuration" % (emu.base_url, TENANT))
    assert st == 200
    doc = json.loads(body)
    assert doc["token_endpoint"] == emu.token_url
    st, _, body = urlopen(emu, emu.base_url + "/common/discovery/instance?api-version=1.1&authorization_endpoint="
                          + urllib.parse.quote(emu.base_url + "/" + TENANT + "/oauth2/v2.0/authorize"))
    assert st == 200 and json.loads(body)["tenant_discovery_endpoint"].startswith(emu.base_url + "/" + TENANT)


# ---- IMDS -------------------------------------------------------------------------

def imds(emu, query, headers={"Metadata": "true"}):
    st, hd, body = urlopen(emu, emu.imds_url + "/metadata/identity/oauth2/token?" + query, headers=headers)
    return st, json.loads(body)


def test_imds(emu):
    q = "api-version=2018-02-01&resource=https%3A%2F%2Fmanagement.azure.com%2F"
    st, body = imds(emu, q)
    assert st == 200
    real = shared("auth/imds_token_200_REDACTED.json")
    assert set(body) == set(real)
    for k in ("expires_in", "expires_on", "ext_expires_in", "not_before"):
        assert isinstance(body[k], str) and body[k].isdigit(), k
    assert abs(int(body["expires_on"]) - time.time() - int(body["expires_in"])) < 5
    assert body["client_id"] == MI_SYSTEM_CLIENT_ID
    assert body["resource"] == "https://management.azure.com/"
    assert arm(emu, AI, body["access_token"])[0] == 200
    # user-assigned
    st, body = imds(emu, q + "&client_id=" + MI_USER_CLIENT_ID)
    assert st == 200 and body["client_id"] == MI_USER_CLIENT_ID
    assert emu.requests("/metadata/")[-1]["client_id"] == MI_USER_CLIENT_ID


def test_imds_errors(emu):
    q = "api-version=2018-02-01&resource=https://management.azure.com/"
    st, body = imds(emu, q, headers={})
    assert st == 400 and body == {"error": "invalid_request",
                                  "error_description": "Required metadata header not specified"}
    assert imds(emu, q, headers={"Metadata": "false"})[0] == 400
    st, body = imds(emu, q + "&client_id=99999999-9999-9999-9999-999999999999")
    assert st == 400 and body["error_description"] == "Identity not found"
    assert imds(emu, "resource=https://management.azure.com/")[0] == 400
    assert imds(emu, "api-version=2018-02-01")[0] == 400
    st, body = imds(emu, "api-version=2018-02-01&resource=https://vault.azure.net")
    assert st == 400 and body["error"] == "invalid_resource"
    emu.set_world({"credentials": {"managed_identity": None}})
    st, body = imds(emu, q)
    assert st == 400 and body["error_description"] == "Identity not found"


def test_imds_only_on_plain_http_and_arm_only_on_https(emu, token):
    st, _, _ = urlopen(emu, emu.base_url + "/metadata/identity/oauth2/token?api-version=2018-02-01"
                       "&resource=https://management.azure.com/", headers={"Metadata": "true"})
    assert st == 404
    st, _, _ = urlopen(emu, emu.imds_url + AI + "?api-version=" + API_VERSION,
                       headers={"Authorization": "Bearer " + token})
    assert st == 404
    # the control API answers on both
    st, _, body = urlopen(emu, emu.imds_url + "/_emulator/healthz")
    assert st == 200


# ---- ARM: auth and api-version ---------------------------------------------------------

def test_arm_401_missing_header(emu):
    st, hd, body = urlopen(emu, emu.base_url + AI + "?api-version=" + API_VERSION)
    assert st == 401
    assert json.loads(body) == shared("errors/arm_401_AuthenticationFailed_missing_header.json")
    assert hd["WWW-Authenticate"].startswith("Bearer ")


def test_arm_401_bad_tokens(emu):
    st, _, body = urlopen(emu, emu.base_url + AI + "?api-version=" + API_VERSION,
                          headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert st == 401 and json.loads(body)["error"]["code"] == "AuthenticationFailed"
    st, _, body = arm(emu, AI, "never-issued")
    assert st == 401 and body["error"]["code"] == "InvalidAuthenticationToken"


def test_arm_401_expired_after_expire_tokens(emu, token):
    assert arm(emu, AI, token)[0] == 200
    assert emu.expire_tokens() >= 1
    st, hd, body = arm(emu, AI, token)
    assert st == 401
    real = shared("errors/arm_401_ExpiredAuthenticationToken.json")
    assert body["error"]["code"] == real["error"]["code"]
    assert re.fullmatch(r"The access token expiry UTC time '\d+/\d+/\d{4} \d+:\d\d:\d\d [AP]M' is earlier than "
                        r"current UTC time '\d+/\d+/\d{4} \d+:\d\d:\d\d [AP]M'\.", body["error"]["message"])
    assert any(t["expired"] for t in emu.tokens())
    # a fresh token works
    assert arm(emu, AI, emu.get_token())[0] == 200


def test_api_version_checks(emu, token):
    st, _, body = arm(emu, AI, token, api_version=None)
    assert st == 400 and body["error"]["code"] == "MissingApiVersionParameter"
    st, _, body = arm(emu, AI, token, api_version="2099-01-01")
    assert st == 400 and body["error"]["code"] == "InvalidApiVersionParameter"
    assert "2099-01-01" in body["error"]["message"] and "2024-10-01" in body["error"]["message"]
    for v in ("2024-10-01", "2025-06-01", "2025-10-01-preview", "2026-09-01"):
        assert arm(emu, AI, token, api_version=v)[0] == 200, v


# ---- ARM: accounts ---------------------------------------------------------------

def test_account_get(emu, token):
    st, hd, acct = arm(emu, AI, token)
    assert st == 200
    assert hd["Content-Type"].startswith("application/json")
    assert "x-ms-request-id" in hd
    real = shared("real-wire/account_get_200_japaneast_OpenAI.json")
    for k in ("id", "name", "type", "etag", "location", "sku", "kind", "properties", "systemData"):
        assert k in acct and k in real, k
    assert acct["id"] == AI
    assert acct["type"] == real["type"]
    assert acct["location"] == "westus"
    assert acct["kind"] == "AIServices"
    p = acct["properties"]
    assert p["provisioningState"] == "Succeeded"
    assert p["endpoint"] == "https://aucert-ai.cognitiveservices.azure.com/"
    assert p["endpoints"]["OpenAI Language Model Instance API"] == "https://aucert-ai.openai.azure.com/"
    st, _, east = arm(emu, AI_EAST, token)
    assert east["location"] == "eastus2"
    assert east["properties"]["endpoints"]["OpenAI Language Model Instance API"] == \
        "https://aucert-ai-east.openai.azure.com/"
    st, _, oai = arm(emu, ACCOUNTS + "/aucert-openai", token)
    assert oai["kind"] == "OpenAI" and oai["properties"]["endpoint"] == "https://aucert-openai.openai.azure.com/"
    st, _, pending = arm(emu, ACCOUNTS + "/aucert-ai-pending", token)
    assert pending["properties"]["provisioningState"] == "Creating"


def test_account_paths_are_case_insensitive(emu, token):
    path = "/SUBSCRIPTIONS/%s/RESOURCEGROUPS/AUCERT-FOUNDATION-RG/PROVIDERS/microsoft.cognitiveservices/" \
           "ACCOUNTS/Aucert-AI" % SUBSCRIPTION
    st, _, acct = arm(emu, path, token)
    assert st == 200 and acct["name"] == "aucert-ai"
    assert arm(emu, AI + "/", token)[0] == 200


def test_account_404s(emu, token):
    st, _, body = arm(emu, RG_PATH.replace(RESOURCE_GROUP, "no-such-rg") +
                      "/providers/Microsoft.CognitiveServices/accounts/aucert-ai", token)
    assert st == 404
    assert body == {"error": {"code": "ResourceGroupNotFound", "message": "Resource group 'no-such-rg' could not be found."}}
    st, _, body = arm(emu, ACCOUNTS + "/nope", token)
    assert st == 404
    real = shared("errors/arm_404_ResourceNotFound_account.json")
    assert body["error"]["code"] == real["error"]["code"]
    assert body["error"]["message"] == ("The Resource 'Microsoft.CognitiveServices/accounts/nope' under resource group "
                                        "'aucert-foundation-rg' was not found. For more details please go to "
                                        "https://aka.ms/ARMResourceNotFoundFix")
    st, _, body = arm(emu, "/subscriptions/12345678-0000-0000-0000-000000000000/resourceGroups/x/providers/"
                      "Microsoft.CognitiveServices/accounts/y", token)
    assert st == 404 and body["error"]["code"] == "SubscriptionNotFound"
    # empty resource group: the account is not found
    st, _, body = arm(emu, RG_PATH.replace(RESOURCE_GROUP, "aucert-empty-rg") +
                      "/providers/Microsoft.CognitiveServices/accounts/aucert-ai", token)
    assert st == 404 and body["error"]["code"] == "ResourceNotFound"


def test_other_paths_404_arm_body(emu, token):
    for path in ("/subscriptions/%s" % SUBSCRIPTION, AI + "/keys", "/nothing/here",
                 "/subscriptions/%s/providers/Microsoft.Compute/virtualMachines" % SUBSCRIPTION):
        st, _, body = arm(emu, path, token)
        assert st == 404 and set(body["error"]) == {"code", "message"}, path
    # writes are not emulated (the controller never writes): 404 too, and recorded
    st, _, body = urlopen(emu, emu.base_url + AI + "/deployments/x?api-version=" + API_VERSION, data=b"{}",
                          method="PUT", headers={"Authorization": "Bearer " + token})
    assert st == 404
    assert emu.count("/deployments/x$", method="PUT") == 1


def test_account_world_changes(emu, token):
    emu.set_account("aucert-ai", location="WestUS2", endpoints={}, endpoint="https://custom.example/")
    st, _, acct = arm(emu, AI, token)
    assert acct["location"] == "WestUS2"
    assert acct["properties"]["endpoints"] == {}
    assert acct["properties"]["endpoint"] == "https://custom.example/"
    emu.set_account("aucert-ai", endpoints=None, provisioningState="Failed")
    st, _, acct = arm(emu, AI, token)
    assert acct["properties"]["endpoints"]["OpenAI Language Model Instance API"] == "https://aucert-ai.openai.azure.com/"
    assert acct["properties"]["provisioningState"] == "Failed"
    emu.set_account("aucert-ai", delete=True)
    assert arm(emu, AI, token)[0] == 404
    emu.set_account("brand-new", location="eastus2", kind="AIServices")
    st, _, acct = arm(emu, ACCOUNTS + "/brand-new", token)
    assert st == 200 and acct["properties"]["endpoints"]["OpenAI Language Model Instance API"] == \
        "https://brand-new.openai.azure.com/"
    # replace the whole world
    emu.set_world({"credentials": emu.world()["credentials"], "subscriptions": {}}, merge=False)
    st, _, body = arm(emu, AI, emu.get_token())
    assert st == 404 and body["error"]["code"] == "SubscriptionNotFound"


# ---- ARM: deployments ------------------------------------------------------------

def test_deployment_get(emu, token):
    st, _, d = arm(emu, AI + "/deployments/gpt-5.4", token)
    assert st == 200
    real = shared("real-wire/deployment_put_201_and_get_200.json")
    assert set(d) == set(real)
    assert set(real["properties"]) <= set(d["properties"])
    assert d["id"] == AI + "/deployments/gpt-5.4"
    assert d["type"] == real["type"]
    assert d["properties"]["model"] == {"format": "OpenAI", "name": "gpt-5.4", "version": "2026-03-05"}
    assert d["properties"]["provisioningState"] == "Succeeded"
    assert d["sku"]["name"] == "GlobalStandard"
    st, _, d = arm(emu, AI + "/deployments/Kimi-K2.6", token)
    assert d["properties"]["model"] == {"format": "MoonshotAI", "name": "Kimi-K2.6", "version": "1"}
    st, _, d = arm(emu, AI_EAST + "/deployments/gpt-5.4-pro", token)
    assert d["properties"]["model"]["version"] == "2026-03-05"
    assert d["properties"]["provisioningState"] == "Succeeded"
    st, _, d = arm(emu, AI + "/deployments/gpt-5.4-mini", token)
    assert d["properties"]["provisioningState"] == "Creating"
    # names are case-insensitive, the canonical name is returned
    st, _, d = arm(emu, AI + "/deployments/GPT-5.4", token)
    assert st == 200 and d["name"] == "gpt-5.4"


def test_deployment_404(emu, token):
    st, _, body = arm(emu, AI + "/deployments/chat", token)
    assert st == 404
    real = shared("errors/cogsvc_404_deployment_NotFound_INFERRED.json")
    assert body["error"]["code"] == real["error"]["code"]
    assert body["error"]["message"] == "Specified resource '%s/deployments/chat' cannot be found." % AI
    # gpt-5.4-pro lives only on the east account
    assert arm(emu, AI + "/deployments/gpt-5.4-pro", token)[0] == 404
    st, _, body = arm(emu, ACCOUNTS + "/nope/deployments/gpt-5.4", token)
    assert st == 404 and body["error"]["code"] == "ResourceNotFound"


def test_deployments_list(emu, token):
    items, pages = list_all(emu, emu.base_url + AI + "/deployments?api-version=" + API_VERSION, token)
    assert {d["name"] for d in items} >= {"gpt-5.4", "Kimi-K2.6", "gpt-5.4-mini"}
    real = shared("real-wire/deployments_list_200.json")
    assert set(items[0]) == set(real["value"][0])
    st, _, body = arm(emu, ACCOUNTS + "/aucert-ai-pending/deployments", token)
    assert st == 200 and body == shared("real-wire/deployments_list_200_empty.json")


def test_deployment_world_changes(emu, token):
    emu.set_deployment("aucert-ai", "reporting", {"model": {"format": "OpenAI", "name": "gpt-5.4",
                                                            "version": "2026-03-05"},
                                                  "sku": {"name": "GlobalStandard", "capacity": 10},
                                                  "provisioningState": "Succeeded"})
    st, _, d = arm(emu, AI + "/deployments/reporting", token)
    assert st == 200 and d["sku"] == {"name": "GlobalStandard", "capacity": 10}
    emu.set_deployment("aucert-ai", "reporting", {"provisioningState": "Failed"})
    assert arm(emu, AI + "/deployments/reporting", token)[2]["properties"]["provisioningState"] == "Failed"
    emu.set_deployment("aucert-ai", "reporting", None)
    assert arm(emu, AI + "/deployments/reporting", token)[0] == 404


# ---- ARM: model catalog ------------------------------------------------------------

def test_catalog_paging(emu, token):
    url = emu.base_url + models_path("westus") + "?api-version=" + API_VERSION
    st, hd, body = urlopen(emu, url, headers={"Authorization": "Bearer " + token})
    first = json.loads(body)
    assert len(first["value"]) == 8
    nl = urllib.parse.urlsplit(first["nextLink"])
    assert nl.scheme == "https" and nl.netloc == "127.0.0.1:%d" % emu.port
    q = urllib.parse.parse_qs(nl.query)
    assert q["api-version"] == [API_VERSION] and "$skipToken" in q
    items, pages = list_all(emu, url, token)
    with open(os.path.join(CATALOG_DIR, "westus.json")) as f:
        assert len(items) == len(json.load(f)["value"]) == 18
    assert pages == 3
    assert len({(i["kind"], i["name"]) for i in items}) == len(items)  # no duplicates across pages
    assert emu.catalog_listings("westus") == 2  # urlopen once + list_all once; pages don't count
    assert emu.count("/locations/westus/models") == 1 + 3
    # page size changes at run time; 0 = one page
    emu.set_world({"catalog_page_size": 5})
    assert list_all(emu, url, token)[1] == 4
    emu.set_world({"catalog_page_size": 0})
    items, pages = list_all(emu, url, token)
    assert pages == 1 and len(items) == 18
    # bad skip token
    st, _, body = urlopen(emu, url + "&$skipToken=!!!", headers={"Authorization": "Bearer " + token})
    assert st == 400 and json.loads(body)["error"]["code"] == "InvalidSkipToken"


def test_catalog_next_link_follows_host(emu, token):
    url = "https://localhost:%d%s?api-version=%s" % (emu.port, models_path("eastus2"), API_VERSION)
    st, _, body = urlopen(emu, url, headers={"Authorization": "Bearer " + token})
    assert json.loads(body)["nextLink"].startswith("https://localhost:%d/" % emu.port)


def test_catalog_item_shape(emu, token):
    real = shared("real-wire/models_list_westeurope_EXCERPT.json")["value"]
    real_keys = set(real[0])
    real_model_keys = set().union(*(set(i["model"]) for i in real))
    for region in ("westus", "eastus2", "southcentralus", "swedencentral", "westeurope"):
        items, _ = list_all(emu, emu.base_url + models_path(region) + "?api-version=" + API_VERSION, token)
        assert items, region
        for it in items:
            assert set(it) == real_keys, it["name"]
            assert it["type"] == "Microsoft.CognitiveServices/locations/models"
            assert it["id"].startswith("/subscriptions/%s/providers/Microsoft.CognitiveServices/locations/" % SUBSCRIPTION)
            assert it["location"].lower() == region
            assert it["kind"] in ("OpenAI", "AIServices", "MaaS")
            m = it["model"]
            for k in ("format", "name", "version", "skus", "capabilities", "deprecation", "lifecycleStatus",
                      "systemData"):
                assert k in m, (it["name"], k)
            assert set(m) <= real_model_keys | {"description", "replacementConfig", "finetuneCapabilities"}, m.keys()
            for s in m["skus"]:
                assert {"name", "usageName", "capacity"} <= set(s)
            assert "{{" not in json.dumps(it)
            parse_time(m["deprecation"]["inference"])


def catalog_items(emu, token, region):
    return list_all(emu, emu.base_url + models_path(region) + "?api-version=" + API_VERSION, token)[0]


def offered(items, name, version, sku, kind="AIServices", fmt="OpenAI"):
    """The controller's availability rule (DESIGN.md §4 step 2)."""
    for it in items:
        m = it["model"]
        if it["kind"] != kind or m["name"] != name or m["version"] != version or (fmt and m["format"] != fmt):
            continue
        if parse_time(m["deprecation"]["inference"]) <= NOW:
            return False
        for s in m["skus"]:
            if s["name"].lower() == sku.lower():
                return "deprecationDate" not in s or parse_time(s["deprecationDate"]) > NOW
    return False


def test_catalog_required_content(emu, token):
    cat = {r: catalog_items(emu, token, r)
           for r in ("westus", "eastus2", "southcentralus", "swedencentral", "westeurope")}
    # gpt-5.4-pro only in eastus2 and southcentralus
    pro = {r for r, items in cat.items() if offered(items, "gpt-5.4-pro", "2026-03-05", "GlobalStandard")}
    assert pro == {"eastus2", "southcentralus"}
    for r in ("westus", "eastus2"):
        for sku in ("GlobalStandard", "DataZoneStandard", "globalstandard"):
            assert offered(cat[r], "gpt-5.4", "2026-03-05", sku), (r, sku)
            assert offered(cat[r], "gpt-5.4", "2026-03-05", sku, kind="OpenAI"), (r, sku)
        assert not offered(cat[r], "gpt-5.4", "2026-03-05", "ProvisionedManaged")
        assert offered(cat[r], "gpt-5.4-mini", "2026-03-05", "GlobalStandard")
        assert offered(cat[r], "Kimi-K2.6", "1", "GlobalStandard", fmt="MoonshotAI")
        assert not offered(cat[r], "Kimi-K2.6", "1", "GlobalStandard", kind="OpenAI", fmt="MoonshotAI")
        # retired: model-level date in the past
        assert not offered(cat[r], "gpt-35-turbo", "0125", "Standard")
        # SKU-level deprecationDate in the past: Standard out, GlobalStandard in
        assert not offered(cat[r], "gpt-4o", "2024-11-20", "Standard")
        assert offered(cat[r], "gpt-4o", "2024-11-20", "GlobalStandard")
        assert offered(cat[r], "gpt-4o", "2024-11-20", "Provisioned")
    # deprecating within 90 days, still offered
    for r, items in cat.items():
        g41 = [i for i in items if i["model"]["name"] == "gpt-4.1"]
        assert g41, r
        for i in g41:
            assert i["model"]["lifecycleStatus"] == "Deprecating"
            left = parse_time(i["model"]["deprecation"]["inference"]) - NOW
            assert dt.timedelta(0) < left < dt.timedelta(days=90)
        assert offered(items, "gpt-4.1", "2025-04-14", "GlobalStandard")
    o3 = [i for i in cat["westus"] if i["model"]["name"] == "o3-mini"]
    assert o3 and o3[0]["model"]["lifecycleStatus"] == "Deprecated"
    assert parse_time(o3[0]["model"]["deprecation"]["inference"]) - NOW > dt.timedelta(days=90)
    # retired date is the real one
    g35 = [i for i in cat["westus"] if i["model"]["name"] == "gpt-35-turbo"][0]
    assert g35["model"]["deprecation"]["inference"] == "2025-11-11T00:00:00Z"
    # every OpenAI-format model is listed with kind OpenAI and kind AIServices
    for r, items in cat.items():
        kinds = {}
        for i in items:
            kinds.setdefault((i["model"]["format"], i["model"]["name"], i["model"]["version"]), set()).add(i["kind"])
        for (fmt, n, v), ks in kinds.items():
            assert ks == ({"OpenAI", "AIServices"} if fmt == "OpenAI" else {"AIServices", "MaaS"}), (r, n, ks)
    # the real westeurope excerpt is in westeurope verbatim
    real = shared("real-wire/models_list_westeurope_EXCERPT.json")["value"]
    for r_item in real:
        assert r_item in cat["westeurope"], r_item["name"]


def test_catalog_matches_world_and_examples(emu, token):
    """The world's healthy deployments and manifests/examples are consistent with
    the catalogs (so the e2e happy path is green), and the broken ones are broken."""
    world = emu.world()
    accounts = world["subscriptions"][SUBSCRIPTION]["resourceGroups"][RESOURCE_GROUP]["accounts"]
    cats = {}
    expected_unavailable = {("aucert-ai", "gpt-35-turbo"), ("aucert-ai", "gpt-4o")}
    for aname, acct in accounts.items():
        region = acct["location"]
        cats.setdefault(region, catalog_items(emu, token, region))
        for dname, dep in (acct.get("deployments") or {}).items():
            m = dep["model"]
            ok = offered(cats[region], m["name"], m["version"], dep["sku"]["name"], kind=acct["kind"], fmt=m["format"])
            assert ok == ((aname, dname) not in expected_unavailable), (aname, dname)
    import yaml
    ex = os.path.join(REPO, "manifests", "examples")
    if not os.path.isdir(ex):
        pytest.skip("no manifests/examples")
    for fn in sorted(os.listdir(ex)):
        if not fn.startswith("model-"):
            continue
        with open(os.path.join(ex, fn)) as f:
            fm = yaml.safe_load(f)
        acct = accounts[fm["spec"]["accountRef"]["name"]]
        spec = fm["spec"]
        dep = spec.get("deployment", spec["model"]["name"])
        assert offered(cats[acct["location"]], spec["model"]["name"], str(spec["model"]["version"]),
                       spec["sku"]["name"], kind=acct["kind"], fmt=spec["model"].get("format")), fn
        d = acct["deployments"][dep]
        assert d["provisioningState"] == "Succeeded" and d["model"]["name"] == spec["model"]["name"], fn
    # gpt-5.4-pro is *not* offered in westus: the consolidation trigger starts false
    assert not offered(cats["westus"], "gpt-5.4-pro", "2026-03-05", "GlobalStandard")


def test_catalog_unknown_region_and_subscription(emu, token):
    st, _, body = arm(emu, models_path("mars"), token)
    assert st == 200 and body == {"value": []}
    st, _, body = arm(emu, models_path("westus", sub="12345678-0000-0000-0000-000000000000"), token)
    assert st == 404 and body["error"]["code"] == "SubscriptionNotFound"
    # region in the path is case-insensitive
    st, _, body = arm(emu, models_path("WestUS"), token)
    assert st == 200 and len(body["value"]) == 8


def test_set_catalog(emu, token):
    with open(os.path.join(CATALOG_DIR, "eastus2.json")) as f:
        east = json.load(f)["value"]
    pro = [i for i in east if i["model"]["name"] == "gpt-5.4-pro"]
    # gpt-5.4-pro reaches westus
    west = emu.catalog("westus") + [dict(i, location="WestUS") for i in pro]
    emu.set_catalog("westus", west)
    items = catalog_items(emu, token, "westus")
    assert offered(items, "gpt-5.4-pro", "2026-03-05", "GlobalStandard")
    # placeholders expand on PUT too
    one = json.loads(json.dumps(pro[0]).replace('"inference": "{{now+365d}}"', '"inference": "{{now-1d}}"'))
    emu.set_catalog("newregion", {"value": [one]})
    items = catalog_items(emu, token, "newregion")
    assert parse_time(items[0]["model"]["deprecation"]["inference"]) < NOW
    assert items[0]["id"].startswith("/subscriptions/%s/" % SUBSCRIPTION)
    with pytest.raises(EmulatorError):
        emu.set_catalog("bad", "not a catalog")
    # reset brings the fixture files back
    emu.reset()
    assert not offered(catalog_items(emu, token, "westus"), "gpt-5.4-pro", "2026-03-05", "GlobalStandard")


def test_placeholders_follow_now_flag(tmp_path):
    with running_emulator(tmp_path, imds=False, now="2030-01-15T12:00:00Z") as e:
        items = e.catalog("westus")
        g41 = [i for i in items if i["model"]["name"] == "gpt-4.1"][0]
        assert g41["model"]["deprecation"]["inference"] == "2030-02-14T00:00:00Z"


# ---- faults ----------------------------------------------------------------------

def test_fault_429(emu, token):
    fid = emu.fault("429", path_regex="/locations/westus/models", retry_after=7, count=2)
    for _ in range(2):
        st, hd, body = arm(emu, models_path("westus"), token)
        assert st == 429
        assert hd["Retry-After"] == "7"
        real = shared("errors/arm_429_SubscriptionRequestsThrottled.json")
        assert body["error"]["code"] == real["error"]["code"]
        assert body["error"]["message"] == ("Number of 'read' requests for subscription '%s' actor '%s' exceeded. "
                                            "Please try again after '7' seconds." % (SUBSCRIPTION, SECRET_CLIENT_ID))
    assert arm(emu, models_path("westus"), token)[0] == 200
    assert arm(emu, models_path("eastus2"), token)[0] == 200
    recs = emu.requests("/locations/westus/models")
    assert [r["status"] for r in recs] == [429, 429, 200]
    assert [r["fault"] for r in recs] == ["429", "429", None]
    assert [f for f in emu.faults() if f["id"] == fid][0]["hits"] == 2


def test_fault_500_503(emu, token):
    emu.fault("500", path_regex="/accounts/aucert-ai$")
    st, _, body = arm(emu, AI, token)
    assert st == 500 and body["error"]["code"] == "InternalServerError"
    assert arm(emu, AI, token)[0] == 200
    emu.fault("503", path_regex="/accounts/aucert-ai$", retry_after=3)
    st, hd, body = arm(emu, AI, token)
    assert st == 503 and hd["Retry-After"] == "3" and body["error"]["code"] == "ServiceUnavailable"


def test_fault_forever_method_and_clear(emu, token):
    emu.fault("500", path_regex="/accounts/", count=-1, method="POST")
    assert arm(emu, AI, token)[0] == 200  # GET does not match
    fid = emu.fault("500", path_regex="/accounts/", count=-1)
    for _ in range(3):
        assert arm(emu, AI, token)[0] == 500
    emu.clear_faults(fid)
    assert arm(emu, AI, token)[0] == 200
    emu.fault("500", count=-1)
    emu.clear_faults()
    assert emu.faults() == []
    assert arm(emu, AI, token)[0] == 200


def test_fault_probability(emu, token):
    emu.fault("500", path_regex="/accounts/", count=-1, probability=0.0)
    assert all(arm(emu, AI, token)[0] == 200 for _ in range(5))
    emu.clear_faults()
    emu.fault("500", path_regex="/accounts/", count=-1, probability=0.5)
    statuses = [arm(emu, AI, token)[0] for _ in range(60)]
    assert 500 in statuses and 200 in statuses


def test_fault_slow(emu, token):
    emu.fault("slow", path_regex="/deployments/gpt-5.4$", delay=1.0)
    t = time.time()
    st, _, d = arm(emu, AI + "/deployments/gpt-5.4", token)
    assert st == 200 and d["name"] == "gpt-5.4"
    assert time.time() - t >= 1.0
    # delay combines with an error kind
    emu.fault("429", path_regex="/deployments/gpt-5.4$", delay=0.5, retry_after=0)
    t = time.time()
    st, hd, _ = arm(emu, AI + "/deployments/gpt-5.4", token)
    assert st == 429 and hd["Retry-After"] == "0" and time.time() - t >= 0.5


def test_fault_drop(emu, token):
    emu.fault("drop", path_regex="/accounts/aucert-ai$")
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    c = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx, timeout=10)
    c.request("GET", AI + "?api-version=" + API_VERSION, headers={"Authorization": "Bearer " + token})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
        c.getresponse()
    c.close()
    assert arm(emu, AI, token)[0] == 200
    rec = emu.requests("/accounts/aucert-ai$")
    assert rec[0]["status"] is None and rec[0]["fault"] == "drop" and rec[1]["status"] == 200


def test_fault_reset(emu, token):
    emu.fault("reset", path_regex="/accounts/aucert-ai$")
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    c = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx, timeout=10)
    c.request("GET", AI + "?api-version=" + API_VERSION, headers={"Authorization": "Bearer " + token})
    with pytest.raises(ConnectionResetError):
        c.getresponse()
    c.close()
    assert arm(emu, AI, token)[0] == 200
    rec = emu.requests("/accounts/aucert-ai$")
    assert rec[0]["status"] is None and rec[0]["fault"] == "reset" and rec[1]["status"] == 200


def test_fault_stall(emu, token):
    emu.fault("stall", path_regex="/accounts/aucert-ai$", delay=1.0)
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    c = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx, timeout=10)
    t = time.time()
    c.request("GET", AI + "?api-version=" + API_VERSION, headers={"Authorization": "Bearer " + token})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
        c.getresponse()
    assert time.time() - t >= 1.0          # nothing came back for the whole delay
    c.close()
    rec = emu.requests("/accounts/aucert-ai$")
    assert rec[0]["status"] is None and rec[0]["fault"] == "stall"
    assert [f["delay"] for f in emu.faults()] == [1.0]
    emu.clear_faults()
    emu.fault("stall", count=0)
    assert emu.faults()[0]["delay"] == 5.0    # the default stall


def test_fault_mix(emu, token):
    fid = emu.fault("mix", path_regex="/accounts/aucert-ai$", count=-1, probability=1.0,
                    mix=[{"kind": "429", "weight": 1, "retry_after": 4}, {"kind": "500", "weight": 1},
                         {"kind": "503", "weight": 0}])
    statuses = [arm(emu, AI, token)[0] for _ in range(40)]
    assert set(statuses) == {429, 500}, statuses
    f = [f for f in emu.faults() if f["id"] == fid][0]
    assert f["hits"] == 40 and f["hits_by_kind"] == {"429": statuses.count(429), "500": statuses.count(500)}
    assert [m["kind"] for m in f["mix"]] == ["429", "500", "503"]
    recs = emu.requests("/accounts/aucert-ai$")
    assert [r["fault"] for r in recs] == ["429" if s == 429 else "500" for s in statuses]
    assert emu.call("GET", AI + "?api-version=" + API_VERSION,
                    headers={"Authorization": "Bearer " + token}).status in (429, 500)
    emu.clear_faults()
    # probability applies to the mix as a whole
    emu.fault("mix", path_regex="/accounts/aucert-ai$", count=-1, probability=0.0,
              mix=[{"kind": "500"}])
    assert all(arm(emu, AI, token)[0] == 200 for _ in range(5))
    emu.clear_faults()
    for bad in ({"kind": "mix"}, {"kind": "mix", "mix": []}, {"kind": "mix", "mix": [{"kind": "mix"}]},
                {"kind": "mix", "mix": [{"kind": "500", "weight": 0}]},
                {"kind": "mix", "mix": [{"kind": "teapot"}]}):
        assert emu.call("POST", "/_emulator/faults", body=bad).status == 400, bad


def test_fault_malformed_cut(emu, token):
    tok_path = "/oauth2/v2.0/token"
    emu.fault("malformed", path_regex=tok_path, cut=-10)
    st, hd, body = urlopen(emu, "%s/%s/oauth2/v2.0/token" % (emu.base_url, TENANT),
                           data=urllib.parse.urlencode(secret_form()).encode(),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 200 and b'"access_token":"' in body and not body.endswith(b"}")
    issued = emu.tokens(reveal=True)[-1]["token"]
    assert body.split(b'"access_token":"')[1].decode() == issued[:len(issued) - 8]
    emu.fault("malformed", path_regex=tok_path, cut=5)
    st, _, body = urlopen(emu, "%s/%s/oauth2/v2.0/token" % (emu.base_url, TENANT),
                          data=urllib.parse.urlencode(secret_form()).encode(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st == 200 and len(body) == 5


def test_tokens_reveal(emu):
    tok = emu.get_token()
    assert "token" not in emu.tokens()[-1]
    assert tok in [t["token"] for t in emu.tokens(reveal=True)]
    assert [t["token"][-6:] for t in emu.tokens(reveal=True)] == [t["token_suffix"] for t in emu.tokens()]


def test_fault_expired_token(emu):
    tok = emu.get_token()
    emu.fault("expired_token", path_regex="/locations/.*/models")
    st, hd, body = arm(emu, models_path("westus"), tok)
    assert st == 401 and body["error"]["code"] == "ExpiredAuthenticationToken"
    # the presented token really is expired now, as in Azure; a new one works
    assert arm(emu, AI, tok)[0] == 401
    assert arm(emu, models_path("westus"), emu.get_token())[0] == 200


def test_fault_403_action_names(emu, token):
    cases = [
        (AI, "Microsoft.CognitiveServices/accounts/read"),
        (AI + "/deployments/gpt-5.4", "Microsoft.CognitiveServices/accounts/deployments/read"),
        (AI + "/deployments", "Microsoft.CognitiveServices/accounts/deployments/read"),
        (models_path("westus"), "Microsoft.CognitiveServices/locations/models/read"),
    ]
    emu.fault("403", count=-1)
    for path, action in cases:
        st, _, body = arm(emu, path, token)
        assert st == 403
        assert body["error"]["code"] == "AuthorizationFailed"
        msg = body["error"]["message"]
        assert "perform action '%s' over scope '%s'" % (action, path) in msg, msg
        assert msg.startswith("The client '%s' with object id '11111111-aaaa-4aaa-8aaa-111111111111'" % SECRET_CLIENT_ID)
        assert msg.endswith("If access was recently granted, please refresh your credentials.")


def test_fault_malformed(emu, token):
    emu.fault("malformed", path_regex="/locations/westus/models")
    st, hd, body = urlopen(emu, emu.base_url + models_path("westus") + "?api-version=" + API_VERSION,
                           headers={"Authorization": "Bearer " + token})
    assert st == 200 and hd["Content-Type"].startswith("application/json")
    assert body.startswith(b'{"value":[')
    with pytest.raises(ValueError):
        json.loads(body)
    assert arm(emu, models_path("westus"), token)[0] == 200


def test_fault_on_token_and_imds(emu):
    emu.fault("503", path_regex="/oauth2/v2.0/token", retry_after=2)
    st, body = token_request(emu, secret_form())
    assert st == 503
    assert token_request(emu, secret_form())[0] == 200
    emu.fault("500", path_regex="^/metadata/")
    st, _ = imds(emu, "api-version=2018-02-01&resource=https://management.azure.com/")
    assert st == 500


def test_fault_validation(emu):
    for bad in ({"kind": "teapot"}, {"kind": "429", "match": {"path_regex": "("}},
                {"kind": "429", "probability": 2}, {"kind": "429", "count": -5}, "nope"):
        r = emu.call("POST", "/_emulator/faults", body=bad)
        assert r.status == 400, bad
    r = emu.call("POST", "/_emulator/faults", body=b"{not json")
    assert r.status == 400
    assert emu.faults() == []
    # several at once
    r = emu.call("POST", "/_emulator/faults", body=[{"kind": "429"}, {"kind": "500", "count": 3}])
    assert r.status == 200 and [f["kind"] for f in r.json()] == ["429", "500"]


# ---- request recording, control API ------------------------------------------------------

def test_request_recording(emu, token):
    emu.reset_requests()
    arm(emu, AI, token)
    arm(emu, models_path("westus") + "?x=1", token)
    arm(emu, models_path("eastus2"), token)
    recs = emu.requests()
    assert [r["path"] for r in recs] == [AI, models_path("westus"), models_path("eastus2")]
    r = recs[1]
    assert r["method"] == "GET" and r["status"] == 200 and r["query"]["api-version"] == API_VERSION
    assert r["query"]["x"] == "1" and r["listener"] == "https" and r["client_id"] == SECRET_CLIENT_ID
    assert isinstance(r["time"], float) and recs[0]["time"] <= recs[2]["time"]
    assert recs[0]["seq"] < recs[1]["seq"] < recs[2]["seq"]
    assert emu.count(r"/locations/[^/]+/models$") == 2
    assert emu.count("/locations/westus/") == 1
    assert emu.catalog_listings("westus") == 1 and emu.catalog_listings("swedencentral") == 0
    # control API calls are not recorded
    emu.healthz()
    emu.world()
    assert emu.count() == 3
    # server-side filter
    r = emu.call("GET", "/_emulator/requests?path_regex=eastus2")
    assert len(r.json()["requests"]) == 1
    emu.reset_requests()
    assert emu.requests() == []


def test_control_api_misc(emu):
    assert emu.call("GET", "/_emulator/nope").status == 404
    assert emu.call("POST", "/_emulator/world", body=b"[1, 2]").status == 400
    assert emu.call("POST", "/_emulator/world", body=b"{]").status == 400
    r = emu.call("GET", "/_emulator/catalog")
    assert r.status == 200 and r.json()["westus"] == 18
    assert emu.call("GET", "/_emulator/catalog/mars").status == 404
    assert emu.call("DELETE", "/_emulator/catalog/westeurope").status == 200
    assert emu.call("GET", "/_emulator/catalog/westeurope").status == 404
    # the {"merge": ...} body form works like ?mode=merge
    r = emu.call("POST", "/_emulator/world", body={"merge": {"catalog_page_size": 3}})
    assert r.status == 200 and r.json()["catalog_page_size"] == 3
    emu.reset()
    assert emu.world()["catalog_page_size"] == 8
    assert emu.call("GET", "/_emulator/catalog/westeurope").status == 200


# ---- robustness -----------------------------------------------------------------------

def test_garbage_never_kills_it(emu, token):
    # plain text on the TLS port, TLS garbage, a half request, a bad request line
    for payload in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x16\x03\x01\x00\x05hello", b""):
        s = socket.create_connection(("127.0.0.1", emu.port), timeout=5)
        s.sendall(payload)
        s.close()
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    for raw in (b"NOT HTTP AT ALL\r\n\r\n", b"GET /x HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                b"POST /_emulator/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n{",
                b"GET /subscriptions/%zz/%%% HTTP/1.1\r\nHost: x\r\n\r\n",
                b"POST /x/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", emu.port), timeout=5),
                            server_hostname="127.0.0.1")
        s.sendall(raw)
        try:
            s.recv(65536)
        except (OSError, ssl.SSLError):
            pass
        s.close()
    # chunked body works
    c = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx, timeout=10)
    body = urllib.parse.urlencode(secret_form()).encode()
    c.request("POST", "/%s/oauth2/v2.0/token" % TENANT, body=iter([body[:10], body[10:]]),
              headers={"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"},
              encode_chunked=True)
    assert c.getresponse().status == 200
    c.close()
    # a world of the wrong types gives errors, not a dead server
    emu.set_world({"subscriptions": {SUBSCRIPTION: {"resourceGroups": {RESOURCE_GROUP: {"accounts": {
        "aucert-ai": {"deployments": {"x": "not-a-mapping"}, "sku": 42}}}}}}})
    assert arm(emu, AI, token)[0] == 200
    assert arm(emu, AI + "/deployments/x", token)[0] in (200, 500)
    assert emu.healthz()["status"] == "ok"


def test_keep_alive_and_concurrency(emu, token):
    import concurrent.futures
    ctx = ssl.create_default_context(cafile=emu.ca_file)
    c = http.client.HTTPSConnection("127.0.0.1", emu.port, context=ctx, timeout=10)
    for _ in range(5):  # one connection, several requests
        c.request("GET", AI + "?api-version=" + API_VERSION, headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        assert r.status == 200 and json.loads(r.read())["name"] == "aucert-ai"
    c.close()
    emu.fault("slow", path_regex="/deployments/gpt-5.4$", delay=1.0, count=-1)
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        t = time.time()
        futs = [ex.submit(arm, emu, AI + "/deployments/gpt-5.4", token) for _ in range(8)]
        assert all(f.result()[0] == 200 for f in futs)
        assert time.time() - t < 5  # served in parallel


def test_make_run_credential(emu):
    """scripts/run.sh (make run) uses this client id and secret by default."""
    st, body = token_request(emu, secret_form(client_id="00000000-0000-0000-0000-00000000c11e",
                                              client_secret="emulator-secret"))
    assert st == 200, body
    # the audience with a single slash, as the controller forms it from https://management.core.windows.net/
    st, body = token_request(emu, secret_form(scope="https://management.core.windows.net/.default"))
    assert st == 200, body
