#!/usr/bin/python3
"""Writes tests/fixtures/azure/catalog/{region}.json: the per-region model
catalogs the Azure emulator serves for
GET /subscriptions/{s}/providers/Microsoft.CognitiveServices/locations/{region}/models.

The files are committed; this script is how they were made, so that a change
to "which model is where" is one edit here and a re-run:

    /usr/bin/python3 tests/azure_emulator/make_catalog.py

Shape: exactly the wire shape of
shared/azure/real-wire/models_list_westeurope_EXCERPT.json (items with id, type,
name, location, kind, skuName, model{...}). Kinds follow the real service (see
README.md, "Catalog kinds"): every OpenAI-format model is listed twice, once
with kind "OpenAI" and once with kind "AIServices"; partner (MaaS) models are
listed with kind "AIServices" and kind "MaaS".

Dates that must stay in the past or future whatever day the tests run on are
written as placeholders that the emulator expands when it loads the file:
"{{now+30d}}" -> midnight UTC 30 days from now, "{{now-30d}}", "{{now+12h}}".
"""

import copy
import json
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "tests", "fixtures", "azure", "catalog")
REAL_WESTEUROPE = os.path.join(os.path.dirname(REPO), "shared", "azure", "real-wire",
                               "models_list_westeurope_EXCERPT.json")
SUB = "00000000-0000-0000-0000-000000000000"

# region name as in the path -> the spelling ARM puts in "location" and "id"
LOCATION = {
    "westus": "WestUS",
    "eastus2": "EastUS2",
    "southcentralus": "SouthCentralUS",
    "swedencentral": "SwedenCentral",
    "westeurope": "WestEurope",
}

FAR = "{{now+365d}}"          # a normal, not-yet-deprecating model
MAAS_FAR = "2099-12-31T00:00:00Z"  # what partner models carry in the real catalog


def meter(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "emulator-meter:" + ":".join(parts)))


def token_costs(prefix, name, sku):
    return [
        {"name": "ContextToken", "meterId": meter(prefix, name, sku, "in"), "unit": "1K Tokens"},
        {"name": "GeneratedToken", "meterId": meter(prefix, name, sku, "out"), "unit": "1K Tokens"},
    ]


def sku(prefix, model_name, name, deprecation=None, capacity=None, provisioned=False):
    s = {
        "name": name,
        "usageName": "%s.%s.%s" % ("AIServices" if prefix != "OpenAI" else "OpenAI", name, model_name),
        "capacity": capacity or ({"minimum": 15, "maximum": 10000, "step": 5, "default": 15}
                                 if provisioned else {"maximum": 1000000, "default": 100}),
    }
    if deprecation:
        s["deprecationDate"] = deprecation
    if provisioned:
        s["costs"] = [{"name": "Hosting", "meterId": meter(prefix, model_name, name), "unit": "1 Unit/Hour"}]
    else:
        s["rateLimits"] = [
            {"key": "request", "renewalPeriod": 60, "count": 1},
            {"key": "token", "renewalPeriod": 60, "count": 1000},
        ]
        s["costs"] = token_costs(prefix, model_name, name)
    return s


def system_data(created, by="Microsoft"):
    return {
        "createdBy": by, "createdByType": "Application", "createdAt": created,
        "lastModifiedBy": by, "lastModifiedByType": "Application", "lastModifiedAt": created,
    }


CHAT_CAPS = {
    "chatCompletion": "true", "responses": "true", "assistants": "true",
    "maxContextToken": "1050000", "maxOutputToken": "128000", "jsonObjectResponse": "true",
    "allowProvisionedManagedCommitment": "true",
}


def openai_model(name, version, skus, inference, lifecycle="GenerallyAvailable", default=True,
                 created="2026-03-05T00:00:00Z", caps=None, description=None, extra=None):
    m = {"format": "OpenAI", "name": name, "version": version}
    if description:
        m["description"] = description
    m["isDefaultVersion"] = default
    m["skus"] = skus
    m["maxCapacity"] = 9999
    m["capabilities"] = dict(caps or CHAT_CAPS)
    m["deprecation"] = {"inference": inference}
    m["lifecycleStatus"] = lifecycle
    m["systemData"] = system_data(created)
    m["modelCatalogAssetId"] = "azureml://registries/azure-openai/models/%s/versions/%s" % (name, version)
    if extra:
        m.update(extra)
    return m


def maas_model(fmt, name, version, skus, registry, lifecycle="Stable", created="2026-04-20T00:00:00Z",
               caps=None):
    return {
        "format": fmt, "name": name, "version": version, "isDefaultVersion": True,
        "skus": skus, "maxCapacity": 3,
        "capabilities": dict(caps or {"chatCompletion": "true", "maxContextToken": "262144",
                                      "maxOutputToken": "262144"}),
        "deprecation": {"inference": MAAS_FAR},
        "lifecycleStatus": lifecycle,
        "systemData": system_data(created, by="MaaSModelConverter"),
        "modelCatalogAssetId": "azureml://registries/%s/models/%s/versions/%s" % (registry, name, version),
    }


# ---- the models -------------------------------------------------------------

def gpt54(skus):
    return openai_model("gpt-5.4", "2026-03-05", skus, FAR,
                        description="GPT-5.4 is OpenAI's flagship model for complex reasoning and agentic tasks.")


def gpt54_skus(names):
    out = []
    for n in names:
        out.append(sku("OpenAI", "gpt-5.4", n, deprecation=FAR,
                       provisioned=n.endswith("ProvisionedManaged")))
    return out


def gpt54pro():
    return openai_model("gpt-5.4-pro", "2026-03-05",
                        [sku("OpenAI", "gpt-5.4-pro", "GlobalStandard", deprecation=FAR)], FAR,
                        caps=dict(CHAT_CAPS, reasoning="true", assistants="false"),
                        description="GPT-5.4 pro uses more compute to think harder on the hardest problems.")


def gpt54mini(names):
    return openai_model("gpt-5.4-mini", "2026-03-05",
                        [sku("OpenAI", "gpt-5.4-mini", n, deprecation=FAR) for n in names], FAR)


def gpt55_preview():
    return openai_model("gpt-5.5", "2026-10-01",
                        [sku("OpenAI", "gpt-5.5", "GlobalStandard", deprecation="{{now+400d}}")],
                        "{{now+400d}}", lifecycle="Preview", default=False, created="2026-10-01T00:00:00Z")


def gpt41_deprecating(names):
    # lifecycleStatus Deprecating and a retirement date 30 days ahead: inside the
    # controller's default --retirement-warning of 90 days.
    return openai_model("gpt-4.1", "2025-04-14",
                        [sku("OpenAI", "gpt-4.1", n, deprecation="{{now+30d}}") for n in names],
                        "{{now+30d}}", lifecycle="Deprecating", created="2025-04-14T00:00:00Z",
                        extra={"replacementConfig": {"targetModelName": "gpt-5.4",
                                                     "targetModelVersion": "2026-03-05",
                                                     "autoUpgradeStartDate": "{{now+15d}}",
                                                     "upgradeOnExpiryLeadTimeDays": 15}})


def gpt4o_sku_retired():
    # model-level retirement well ahead, but the Standard SKU's own deprecationDate
    # is in the past: (gpt-4o, 2024-11-20, Standard) is not available, GlobalStandard is.
    # "provisioned" is lower case as in the service's own examples (SKU match ignores case).
    return openai_model("gpt-4o", "2024-11-20", [
        sku("OpenAI", "gpt-4o", "Standard", deprecation="{{now-30d}}"),
        sku("OpenAI", "gpt-4o", "GlobalStandard", deprecation="{{now+200d}}"),
        sku("OpenAI", "gpt-4o", "provisioned", deprecation="{{now+200d}}", provisioned=True),
    ], "{{now+200d}}", created="2024-11-20T00:00:00Z", default=False)


def o3mini_deprecated():
    # lifecycleStatus Deprecated but retirement still > 90 days away.
    return openai_model("o3-mini", "2025-01-31",
                        [sku("OpenAI", "o3-mini", "GlobalStandard", deprecation="{{now+120d}}")],
                        "{{now+120d}}", lifecycle="Deprecated", created="2025-01-31T00:00:00Z",
                        caps=dict(CHAT_CAPS, reasoning="true"))


def gpt35_retired():
    # Retired: deprecation.inference 2025-11-11 is in the past. lifecycleStatus is
    # still "GenerallyAvailable", exactly as in the real westeurope excerpt: the dates
    # decide, not the status.
    return openai_model("gpt-35-turbo", "0125", [
        sku("OpenAI", "gpt-35-turbo", "Standard", deprecation="2025-11-11T00:00:00Z"),
        sku("OpenAI", "gpt-35-turbo", "GlobalStandard", deprecation="2025-11-11T00:00:00Z"),
    ], "2025-11-11T00:00:00Z", created="2024-02-15T00:00:00Z",
        caps={"completion": "true", "maxContextToken": "16385", "maxOutputToken": "4096",
              "chatCompletion": "true", "assistants": "true"},
        extra={"deprecation": {"fineTune": "2025-10-28T00:00:00Z", "inference": "2025-11-11T00:00:00Z",
                               "deprecationStatus": "Planned"}})


def embedding():
    return openai_model("text-embedding-3-large", "1", [
        sku("OpenAI", "text-embedding-3-large", "Standard", deprecation=FAR),
        sku("OpenAI", "text-embedding-3-large", "GlobalStandard", deprecation=FAR),
    ], FAR, created="2024-01-25T00:00:00Z",
        caps={"embeddings": "true", "embeddingsMaxInputs": "2048", "maxContextToken": "8192"})


def kimi():
    return maas_model("MoonshotAI", "Kimi-K2.6", "1",
                      [sku("MaaS", "Kimi-K2.6", "GlobalStandard")], "azureml-moonshotai",
                      caps={"chatCompletion": "true", "maxContextToken": "262144",
                            "maxOutputToken": "262144", "reasoning": "true"})


def gpt_oss():
    return maas_model("OpenAI-OSS", "gpt-oss-120b", "1",
                      [sku("MaaS", "gpt-oss-120b", "GlobalStandard")], "azureml-openai-oss",
                      created="2025-08-05T00:00:00Z")


# region -> list of model dicts (format decides which kinds they are listed under)
def offerings():
    return {
        "westus": [
            gpt54(gpt54_skus(["GlobalStandard", "DataZoneStandard", "GlobalProvisionedManaged"])),
            gpt54mini(["GlobalStandard", "DataZoneStandard", "Standard"]),
            gpt41_deprecating(["GlobalStandard", "Standard"]),
            gpt4o_sku_retired(),
            o3mini_deprecated(),
            gpt35_retired(),
            embedding(),
            kimi(),
            gpt_oss(),
        ],
        "eastus2": [
            gpt54(gpt54_skus(["GlobalStandard", "DataZoneStandard", "GlobalProvisionedManaged"])),
            gpt54pro(),
            gpt54mini(["GlobalStandard", "DataZoneStandard", "Standard"]),
            gpt55_preview(),
            gpt41_deprecating(["GlobalStandard", "Standard"]),
            gpt4o_sku_retired(),
            o3mini_deprecated(),
            gpt35_retired(),
            embedding(),
            kimi(),
            gpt_oss(),
        ],
        "southcentralus": [
            gpt54(gpt54_skus(["GlobalStandard"])),
            gpt54pro(),
            gpt54mini(["GlobalStandard"]),
            gpt41_deprecating(["GlobalStandard"]),
            embedding(),
        ],
        "swedencentral": [
            gpt54(gpt54_skus(["GlobalStandard", "DataZoneStandard"])),
            gpt54mini(["GlobalStandard", "DataZoneStandard"]),
            gpt55_preview(),
            gpt41_deprecating(["GlobalStandard"]),
            gpt4o_sku_retired(),
            embedding(),
            gpt_oss(),
        ],
        "westeurope": [
            gpt54(gpt54_skus(["GlobalStandard", "DataZoneStandard"])),
            gpt54mini(["GlobalStandard", "DataZoneStandard"]),
            gpt41_deprecating(["GlobalStandard"]),
            embedding(),
        ],
    }


def item(region, kind, model):
    loc = LOCATION[region]
    name = "%s.%s.%s" % (model["format"], model["name"], model["version"])
    return {
        "id": "/subscriptions/%s/providers/Microsoft.CognitiveServices/locations/%s/models/%s" % (SUB, loc, name),
        "type": "Microsoft.CognitiveServices/locations/models",
        "name": name,
        "location": loc,
        "kind": kind,
        "skuName": "S0",
        "model": model,
    }


def kinds_for(model_format):
    if model_format == "OpenAI":
        return ["OpenAI", "AIServices"]
    return ["AIServices", "MaaS"]


def build():
    catalogs = {}
    for region, models in offerings().items():
        items = []
        for m in models:
            for k in kinds_for(m["format"]):
                items.append(item(region, k, copy.deepcopy(m)))
        catalogs[region] = items
    # westeurope also carries the seven real items of the real-wire excerpt verbatim
    # (kind OpenAI or MaaS as captured), each also listed under kind AIServices.
    with open(REAL_WESTEUROPE) as f:
        real = json.load(f)["value"]
    ours = {(i["model"]["format"], i["model"]["name"], i["model"]["version"]) for i in catalogs["westeurope"]}
    for it in real:
        key = (it["model"]["format"], it["model"]["name"], it["model"]["version"])
        if key in ours:
            continue
        catalogs["westeurope"].append(it)
        twin = copy.deepcopy(it)
        twin["kind"] = "AIServices"
        catalogs["westeurope"].append(twin)
    return catalogs


def main():
    os.makedirs(OUT, exist_ok=True)
    for region, items in build().items():
        path = os.path.join(OUT, region + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump({"value": items}, f, indent=2)
            f.write("\n")
        os.replace(path + ".tmp", path)
        print("%s: %d items" % (os.path.relpath(path, REPO), len(items)), file=sys.stderr)


if __name__ == "__main__":
    main()
