/* render: accounts + models + verdicts -> ConfigMap data and status.
 * A table of scenarios (DESIGN.md §2-§3), determinism, and a clean
 * FC_ERR_NOMEM at every allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failmalloc.h"
#include "render.h"
#include "sha256.h"
#include "sqjson.h"

#define MAXA 4
#define MAXM 6
#define MAXKV 24

#define W "https://aucert-ai.openai.azure.com/"
#define E "https://aucert-ai-east.openai.azure.com/"

/* FoundryAccount: name, creationTimestamp, primary (true|false), extra
 * metadata/spec/status JSON fragments (with leading comma) */
#define FA(name, ts, primary, meta, spec, status) \
	"{'metadata':{'name':'" name "','namespace':'aucert','creationTimestamp':'" ts "'" meta "}," \
	"'spec':{'subscriptionId':'00000000-0000-0000-0000-000000000000','resourceGroup':'rg'," \
	"'primary':" primary spec "}" status "}"
/* FoundryModel: name, creationTimestamp, generation, account, model name,
 * keys (JSON list items), extra metadata/spec fragments, status */
#define FM(name, ts, gen, acc, model, keys, meta, spec, status) \
	"{'metadata':{'name':'" name "','namespace':'aucert','generation':" gen "," \
	"'creationTimestamp':'" ts "'" meta "},'spec':{'accountRef':{'name':'" acc "'}," \
	"'model':{'name':'" model "','version':'1'},'sku':{'name':'GlobalStandard'}," \
	"'keys':[" keys "]" spec "}" status "}"
#define T1 "2026-01-01T00:00:00Z"
#define T2 "2026-01-02T00:00:00Z"
#define T3 "2026-01-03T00:00:00Z"
#define ENF ",'validation':'Enforce'"
#define WARN ",'validation':'Warn'"
#define SKIP ",'validation':'Skip'"
#define PUB(gen, keys) ",'status':{'observedGeneration':" gen ",'publishedKeys':[" keys "]}"
#define DEL ",'deletionTimestamp':'2026-02-01T00:00:00Z','finalizers':['foundry.aucert.io/finalizer']"

/* The two-account example of DESIGN.md */
#define ACC_WEST FA("aucert-ai", T1, "true", "", ",'region':'westus'", "")
#define ACC_EAST FA("aucert-ai-east", T2, "false", "", ",'region':'eastus2'", "")

struct rcase {
	const char *name;
	const char *accounts[MAXA];
	const char *acc_verdicts[MAXA]; /* "+endpoint", "+", "-Reason", "?Reason", NULL */
	const char *models[MAXM];
	const char *model_verdicts[MAXM]; /* tokens: gN R+ R-Reason R?Reason D.. X.. skip cons regions=a,b */
	const char *current[MAXKV];       /* "KEY=VALUE" */
	const char *data[MAXKV];          /* exact expected data, sorted */
	const char *ready[MAXM];          /* "True Published" */
	const char *ready_msg[MAXM];      /* substring of Ready's message, or NULL */
	const char *keys[MAXM];           /* published keys "A,B" ("" none), NULL: not checked */
	const char *acc_ready[MAXA];      /* "True AccountReady", NULL: not checked */
	const char *extra[MAXM];          /* "Type Status Reason" of another condition, NULL: none */
	const char *foreign[MAXKV];       /* "KEY=VALUE@manager": keys other managers own */
};

static const struct rcase cases[] = {
{
	.name = "two accounts: primary in westus, second in eastus2",
	.accounts = { ACC_WEST, ACC_EAST },
	.acc_verdicts = { "+" W, "+" E },
	.models = {
		FM("generation", T1, "1", "aucert-ai", "gpt-5.4", "'GENERATION','REPORTING'", "", ENF, ""),
		FM("reasoning-pro", T2, "1", "aucert-ai-east", "gpt-5.4-pro", "'REASONING_PRO'", "", ENF, ""),
		FM("analysis", T3, "1", "aucert-ai", "Kimi-K2.6", "'ANALYSIS'", "", ENF, ""),
	},
	.model_verdicts = { "g1 R+ D+ X-", "g1 R+ D+ X-", "g1 R+ D+ X-" },
	.data = {
		"FOUNDRY_DEPLOYMENT_ANALYSIS=Kimi-K2.6",
		"FOUNDRY_DEPLOYMENT_GENERATION=gpt-5.4",
		"FOUNDRY_DEPLOYMENT_REASONING_PRO=gpt-5.4-pro",
		"FOUNDRY_DEPLOYMENT_REPORTING=gpt-5.4",
		"FOUNDRY_ENDPOINT=" W,
		"FOUNDRY_ENDPOINT_REASONING_PRO=" E,
	},
	.ready = { "True Published", "True Published", "True Published" },
	.ready_msg = { "GENERATION, REPORTING published in ConfigMap aucert/llm-config" },
	.keys = { "GENERATION,REPORTING", "REASONING_PRO", "ANALYSIS" },
	.acc_ready = { "True AccountReady", "True AccountReady" },
	.extra = { "Published True Published", "RegionAvailable True ModelAvailable",
		   "Deprecated False NotDeprecated" },
},
{
	.name = "multi-key model switches both keys in one render",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("generation", T1, "2", "aucert-ai", "gpt-5.5", "'GENERATION','REPORTING'", "", ENF,
		       PUB("1", "'GENERATION','REPORTING'")) },
	.model_verdicts = { "g2 R+ D+" },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_GENERATION=gpt-5.4",
		     "FOUNDRY_DEPLOYMENT_REPORTING=gpt-5.4" },
	.data = { "FOUNDRY_DEPLOYMENT_GENERATION=gpt-5.5", "FOUNDRY_DEPLOYMENT_REPORTING=gpt-5.5",
		  "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published" },
	.keys = { "GENERATION,REPORTING" },
},
{
	.name = "multi-key model failing Enforce keeps both old values (last known good)",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("generation", T1, "2", "aucert-ai", "gpt-5.5", "'GENERATION','REPORTING'", "", ENF,
		       PUB("1", "'GENERATION','REPORTING'")) },
	.model_verdicts = { "g2 R-ModelNotInRegion D-DeploymentNotFound regions=eastus2,southcentralus" },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_GENERATION=gpt-5.4",
		     "FOUNDRY_DEPLOYMENT_REPORTING=gpt-5.4" },
	.data = { "FOUNDRY_DEPLOYMENT_GENERATION=gpt-5.4", "FOUNDRY_DEPLOYMENT_REPORTING=gpt-5.4",
		  "FOUNDRY_ENDPOINT=" W },
	.ready = { "False ModelNotInRegion" },
	.ready_msg = { "msg-ModelNotInRegion (also: DeploymentNotFound)" },
	.keys = { "GENERATION,REPORTING" },
	.extra = { "Published False ModelNotInRegion" },
},
{
	.name = "FOUNDRY_ENDPOINT_<KEY> only for a non-primary account; no primary at all",
	.accounts = { FA("east", T1, "false", "", "", "") },
	.acc_verdicts = { "+" E },
	.models = { FM("m", T1, "1", "east", "gpt-5.4", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 R+ D+" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT_K=" E },
	.ready = { "True Published" },
	.keys = { "K" },
},
{
	.name = "key conflict: the older by creationTimestamp wins",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = {
		FM("alpha", T2, "1", "aucert-ai", "a-model", "'K'", "", ENF, ""),
		FM("zeta", T1, "1", "aucert-ai", "z-model", "'K'", "", ENF, ""),
	},
	.model_verdicts = { "g1 R+ D+", "g1 R+ D+" },
	.data = { "FOUNDRY_DEPLOYMENT_K=z-model", "FOUNDRY_ENDPOINT=" W },
	.ready = { "False KeyConflict", "True Published" },
	.ready_msg = { "key K is claimed by FoundryModel zeta (older)" },
	.keys = { "", "K" },
	.extra = { "Published False KeyConflict" },
},
{
	.name = "key conflict: same timestamp, the name decides",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = {
		FM("beta", T1, "1", "aucert-ai", "b-model", "'K'", "", ENF, ""),
		FM("alpha", T1, "1", "aucert-ai", "a-model", "'K'", "", ENF, ""),
	},
	.model_verdicts = { "g1 R+ D+", "g1 R+ D+" },
	.data = { "FOUNDRY_DEPLOYMENT_K=a-model", "FOUNDRY_ENDPOINT=" W },
	.ready = { "False KeyConflict", "True Published" },
	.ready_msg = { "FoundryModel alpha" },
	.keys = { "", "K" },
},
{
	.name = "key conflict: the loser takes over when the winner is gone",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("alpha", T2, "1", "aucert-ai", "a-model", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 R+ D+" },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_K=z-model" },
	.data = { "FOUNDRY_DEPLOYMENT_K=a-model", "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published" },
	.keys = { "K" },
},
{
	.name = "key conflict on one key: the loser publishes none of its keys",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = {
		FM("old", T1, "1", "aucert-ai", "o-model", "'B'", "", ENF, ""),
		FM("new", T2, "1", "aucert-ai", "n-model", "'A','B','C'", "", ENF, ""),
	},
	.model_verdicts = { "g1 R+ D+", "g1 R+ D+" },
	.data = { "FOUNDRY_DEPLOYMENT_B=o-model", "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published", "False KeyConflict" },
	.ready_msg = { NULL, "key B is claimed by FoundryModel old" },
	.keys = { "B", "" },
},
{
	.name = "an older model holding last known good keeps its key against a newer claim",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = {
		FM("old", T1, "2", "aucert-ai", "o-model", "'K'", "", ENF, PUB("1", "'K'")),
		FM("new", T2, "1", "aucert-ai", "n-model", "'K'", "", ENF, ""),
	},
	.model_verdicts = { "g2 R-SkuNotInRegion D+", "g1 R+ D+" },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_K=o-old" },
	.data = { "FOUNDRY_DEPLOYMENT_K=o-old", "FOUNDRY_ENDPOINT=" W },
	.ready = { "False SkuNotInRegion", "False KeyConflict" },
	.keys = { "K", "" },
},
{
	.name = "primary conflict: the older primary account wins",
	.accounts = {
		FA("second", T2, "true", "", "", ""),
		FA("first", T1, "true", "", "", ""),
	},
	.acc_verdicts = { "+" E, "+" W },
	.models = { FM("m", T1, "1", "second", "gpt-5.4", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 R+ D+" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT=" W, "FOUNDRY_ENDPOINT_K=" E },
	.ready = { "False PrimaryConflict" },
	.ready_msg = { "first (older) is the primary" },
	.keys = { "K" },
	.acc_ready = { "False PrimaryConflict", "True AccountReady" },
	.extra = { "Published True Published" },
},
{
	.name = "a primary account being deleted leaves the role to the next",
	.accounts = {
		FA("old", T1, "true", DEL, "", ""),
		FA("next", T2, "true", "", "", ""),
	},
	.acc_verdicts = { "+" W, "+" E },
	.data = { "FOUNDRY_ENDPOINT=" E },
	.acc_ready = { "False Deleting", "True AccountReady" },
},
{
	.name = "Enforce, failing verdict, never published: no keys",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4-pro", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 R-ModelNotInRegion D-DeploymentNotFound regions=eastus2" },
	.data = { "FOUNDRY_ENDPOINT=" W },
	.ready = { "False ModelNotInRegion" },
	.keys = { "" },
	.extra = { "DeploymentReady False DeploymentNotFound" },
},
{
	.name = "ModelRetired ranks before DeploymentNotFound",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-4", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 D-DeploymentNotFound R-ModelRetired" },
	.data = { "FOUNDRY_ENDPOINT=" W },
	.ready = { "False ModelRetired" },
	.ready_msg = { "(also: DeploymentNotFound)" },
	.keys = { "" },
},
{
	.name = "Warn publishes a failing model and reports it",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4-pro", "'K'", "", WARN, "") },
	.model_verdicts = { "g1 R-ModelNotInRegion D+ X+Deprecating" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4-pro", "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published" },
	.ready_msg = { "warnings (validation: Warn): ModelNotInRegion: msg-ModelNotInRegion" },
	.keys = { "K" },
	.extra = { "RegionAvailable False ModelNotInRegion", NULL },
},
{
	.name = "Skip publishes without a verdict",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", SKIP, "") },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published" },
	.ready_msg = { "not checked against Azure" },
	.keys = { "K" },
	.extra = { "DeploymentReady Unknown ValidationSkipped" },
},
{
	.name = "a skipped verdict (validation off) publishes an Enforce model",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 skip" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published" },
	.keys = { "K" },
	.extra = { "RegionAvailable Unknown ValidationSkipped" },
},
{
	.name = "Enforce: Azure failed and nothing known for this generation blocks",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 R?AzureThrottled D+" },
	.data = { "FOUNDRY_ENDPOINT=" W },
	.ready = { "False AzureThrottled" },
	.keys = { "" },
	.extra = { "RegionAvailable Unknown AzureThrottled" },
},
{
	.name = "Enforce: no verdict yet is pending",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", ENF, "") },
	.data = { "FOUNDRY_ENDPOINT=" W },
	.ready = { "Unknown ValidationPending" },
	.keys = { "" },
},
{
	.name = "a verdict for an older generation does not count",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "3", "aucert-ai", "gpt-5.5", "'K'", "", ENF, PUB("2", "'K'")) },
	.model_verdicts = { "g2 R+ D+" },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_K=gpt-5.4" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT=" W },
	.ready = { "Unknown ValidationPending" },
	.ready_msg = { "generation 3" },
	.keys = { "K" },
},
{
	.name = "a verdict obtained for this generation stands when Azure fails",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "2", "aucert-ai", "gpt-5.5", "'K'", "", ENF,
		       ",'status':{'observedGeneration':2,'publishedKeys':['K'],'conditions':["
		       "{'type':'RegionAvailable','status':'True','reason':'ModelAvailable','observedGeneration':2},"
		       "{'type':'DeploymentReady','status':'True','reason':'DeploymentSucceeded'}]}") },
	.model_verdicts = { "g2 R?AzureUnreachable D?AzureUnreachable" },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_K=gpt-5.5" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.5", "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published" },
	.keys = { "K" },
	.extra = { "RegionAvailable True ModelAvailable" },
},
{
	.name = "a stored False verdict for this generation stands too",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "2", "aucert-ai", "gpt-5.5", "'K'", "", ENF,
		       ",'status':{'observedGeneration':2,'publishedKeys':['K'],'conditions':["
		       "{'type':'RegionAvailable','status':'False','reason':'SkuNotInRegion','message':'not here'},"
		       "{'type':'DeploymentReady','status':'True','reason':'DeploymentSucceeded'}]}") },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_K=gpt-5.4" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT=" W },
	.ready = { "False SkuNotInRegion" },
	.ready_msg = { "not here" },
	.keys = { "K" },
},
{
	.name = "a deleting model contributes nothing",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = {
		FM("gone", T1, "1", "aucert-ai", "gpt-5.4", "'K','L'", DEL, ENF, PUB("1", "'K','L'")),
		FM("stay", T2, "1", "aucert-ai", "gpt-5.4", "'M'", "", ENF, ""),
	},
	.model_verdicts = { "g1 R+ D+", "g1 R+ D+" },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_DEPLOYMENT_L=gpt-5.4",
		     "FOUNDRY_ENDPOINT_L=" E },
	.data = { "FOUNDRY_DEPLOYMENT_M=gpt-5.4", "FOUNDRY_ENDPOINT=" W },
	.ready = { "False Deleting", "True Published" },
	.keys = { "", "M" },
},
{
	.name = "account missing",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "nope", "gpt-5.4", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 R+ D+" },
	.data = { "FOUNDRY_ENDPOINT=" W },
	.ready = { "False AccountNotFound" },
	.ready_msg = { "FoundryAccount nope not found in namespace aucert" },
	.keys = { "" },
},
{
	.name = "invalid spec keeps last known good and ranks first",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "2", "nope", "gpt-5.4", "'K','bad'", "", ENF, PUB("1", "'K'")) },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT_K=" E },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT=" W, "FOUNDRY_ENDPOINT_K=" E },
	.ready = { "False InvalidSpec" },
	.ready_msg = { "spec.keys[1]" },
	.keys = { "K" },
},
{
	.name = "only controller keys: a stray owned key nobody claims is dropped",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", ENF, PUB("1", "'K','GONE'")) },
	.model_verdicts = { "g1 R+ D+" },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_DEPLOYMENT_GONE=x",
		     "FOUNDRY_DEPLOYMENT_FOREIGN=y", "OTHER=z" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published" },
	.keys = { "K" },
},
{
	.name = "account: Azure failed, last known endpoint keeps it usable",
	.accounts = { FA("aucert-ai", T1, "true", "", "",
			 ",'status':{'endpoint':'" W "','region':'westus','kind':'AIServices'}") },
	.acc_verdicts = { "?AzureUnreachable" },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 R+ D+" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published" },
	.keys = { "K" },
	.acc_ready = { "True AccountReady" },
},
{
	.name = "account not ready: FOUNDRY_ENDPOINT and the models' keys kept as last known good",
	.accounts = { FA("aucert-ai", T1, "true", "", "", ",'status':{'endpoint':'" W "'}") },
	.acc_verdicts = { "-AccountNotFound" },
	.models = {
		FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", ENF, PUB("1", "'K'")),
		FM("w", T1, "1", "aucert-ai", "gpt-5.4", "'W'", "", WARN, ""),
	},
	.model_verdicts = { "g1 R+ D+", "g1 R+ D+" },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_K=gpt-5.4" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT=" W },
	.ready = { "False AccountNotReady", "False AccountNotReady" },
	.ready_msg = { "FoundryAccount aucert-ai is not ready: msg-AccountNotFound" },
	.keys = { "K", "" },
	.acc_ready = { "False AccountNotFound" },
},
{
	.name = "account never checked and no status: pending",
	.accounts = { ACC_WEST },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", SKIP, "") },
	.data = { NULL },
	.ready = { "False AccountNotReady" },
	.keys = { "" },
	.acc_ready = { "Unknown ValidationPending" },
},
{
	.name = "deployment name differs from model name: Ready notes the convention",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", ENF ",'deployment':'gen'", "") },
	.model_verdicts = { "g1 R+ D+ cons" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gen", "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published" },
	.ready_msg = { "convention: deployment name == model name" },
	.keys = { "K" },
},
{
	.name = "foreign key with another value: the model loses, naming the manager",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'GENERATION','OTHER'", "", ENF, "") },
	.model_verdicts = { "g1 R+ D+" },
	.foreign = { "FOUNDRY_DEPLOYMENT_GENERATION=hand-made@kubectl-create" },
	.data = { "FOUNDRY_ENDPOINT=" W },
	.ready = { "False KeyConflict" },
	.ready_msg = { "written by field manager kubectl-create" },
	.keys = { "" },
},
{
	.name = "foreign key with the same value: shared, published",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'GENERATION'", "", ENF, "") },
	.model_verdicts = { "g1 R+ D+" },
	.foreign = { "FOUNDRY_DEPLOYMENT_GENERATION=gpt-5.4@kubectl-create",
		     "FOUNDRY_ENDPOINT=" W "@kubectl-create" },
	.data = { "FOUNDRY_DEPLOYMENT_GENERATION=gpt-5.4", "FOUNDRY_ENDPOINT=" W },
	.ready = { "True Published" },
	.keys = { "GENERATION" },
},
{
	.name = "foreign FOUNDRY_ENDPOINT with another value is left alone",
	.accounts = { ACC_WEST },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 R+ D+" },
	.foreign = { "FOUNDRY_ENDPOINT=https://hand.example/@helm" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4" },
	.ready = { "True Published" },
	.keys = { "K" },
},
{
	.name = "no primary: FOUNDRY_ENDPOINT kept while a kept key resolves to it",
	.accounts = { FA("aucert-ai", T1, "false", "", "", "") },
	.acc_verdicts = { "-AccountNotFound" },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", ENF, PUB("1", "'K'")) },
	.model_verdicts = { "g1 R+ D+" },
	.current = { "FOUNDRY_ENDPOINT=" W, "FOUNDRY_DEPLOYMENT_K=gpt-5.4" },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT=" W },
	.ready = { "False AccountNotReady" },
	.keys = { "K" },
},
{
	.name = "no primary and no kept key: FOUNDRY_ENDPOINT removed",
	.accounts = { FA("aucert-ai", T1, "false", "", "", "") },
	.acc_verdicts = { "+" W },
	.models = { FM("m", T1, "1", "aucert-ai", "gpt-5.4", "'K'", "", ENF, "") },
	.model_verdicts = { "g1 R+ D+" },
	.current = { "FOUNDRY_ENDPOINT=" W },
	.data = { "FOUNDRY_DEPLOYMENT_K=gpt-5.4", "FOUNDRY_ENDPOINT_K=" W },
	.ready = { "True Published" },
	.keys = { "K" },
},
};

/* ---- building the input ---- */

static char *dup_or_null(const char *s)
{
	char *p = s ? strdup(s) : NULL;

	if (s)
		assert_non_null(p);
	return p;
}

static void set_check(struct check *c, const char *tok)
{
	static const char *const reasons[] = {
		"ModelNotInRegion", "SkuNotInRegion", "ModelRetired", "DeploymentNotFound",
		"DeploymentNotSucceeded", "AzureThrottled", "AzureUnreachable", "AzureForbidden",
		"Deprecating", "AccountNotFound", "AccountNotReady",
	};
	char msg[64];

	c->status = tok[0] == '+' ? COND_TRUE : tok[0] == '-' ? COND_FALSE : COND_UNKNOWN;
	c->reason = NULL;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (!strcmp(tok + 1, reasons[i]))
			c->reason = reasons[i]; /* static, as the header says */
	if (tok[1] && !c->reason)
		fail_msg("unknown reason %s", tok + 1);
	snprintf(msg, sizeof(msg), "msg-%s", tok[1] ? tok + 1 : "ok");
	c->message = dup_or_null(msg);
}

static void model_verdict_of(const char *spec, struct model_verdict *v)
{
	char buf[256], *save = NULL;

	memset(v, 0, sizeof(*v));
	v->deprecated.status = COND_UNKNOWN;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (t[0] == 'g')
			v->generation = atoll(t + 1);
		else if (t[0] == 'R')
			set_check(&v->region, t + 1);
		else if (t[0] == 'D')
			set_check(&v->deployment, t + 1);
		else if (t[0] == 'X')
			set_check(&v->deprecated, t + 1);
		else if (!strcmp(t, "skip"))
			v->skipped = 1;
		else if (!strcmp(t, "cons"))
			v->consolidation = dup_or_null("gpt-5.4 is now offered in westus: consolidation possible");
		else if (!strncmp(t, "regions=", 8)) {
			char *s2 = NULL;

			v->available_regions = calloc(4, sizeof(char *));
			assert_non_null(v->available_regions);
			for (char *r = strtok_r(t + 8, ",", &s2); r; r = strtok_r(NULL, ",", &s2))
				v->available_regions[v->navailable_regions++] = dup_or_null(r);
		} else
			fail_msg("bad verdict token %s", t);
	}
}

static void account_verdict_of(const char *spec, struct account_verdict *v)
{
	memset(v, 0, sizeof(*v));
	if (spec[0] == '+') {
		v->ready.status = COND_TRUE;
		v->ready.reason = "AccountReady";
		v->endpoint = spec[1] ? dup_or_null(spec + 1) : NULL;
		v->region = dup_or_null("westus");
		v->kind = dup_or_null("AIServices");
	} else {
		set_check(&v->ready, spec);
	}
}

struct fixture {
	struct spec_account acc[MAXA];
	struct spec_model mod[MAXM];
	struct account_verdict av[MAXA];
	struct model_verdict mv[MAXM];
	const struct account_verdict *avp[MAXA];
	const struct model_verdict *mvp[MAXM];
	struct kv cur[MAXKV];
	struct foreign_key fk[MAXKV];
	struct render_input in;
};

static void fixture_build(const struct rcase *c, struct fixture *f)
{
	static const struct spec_defaults defs = { "llm-config", VALIDATION_ENFORCE };

	memset(f, 0, sizeof(*f));
	f->in.ns = "aucert";
	f->in.configmap = "llm-config";
	f->in.default_configmap = "llm-config";
	for (size_t i = 0; i < MAXA && c->accounts[i]; i++) {
		cJSON *o = J(c->accounts[i]);

		assert_int_equal(spec_account_parse(o, &f->acc[i]), FC_OK);
		cJSON_Delete(o);
		if (c->acc_verdicts[i]) {
			account_verdict_of(c->acc_verdicts[i], &f->av[i]);
			f->avp[i] = &f->av[i];
		}
		f->in.naccounts++;
	}
	for (size_t i = 0; i < MAXM && c->models[i]; i++) {
		cJSON *o = J(c->models[i]);

		assert_int_equal(spec_model_parse(o, &defs, &f->mod[i]), FC_OK);
		cJSON_Delete(o);
		if (c->model_verdicts[i]) {
			model_verdict_of(c->model_verdicts[i], &f->mv[i]);
			f->mvp[i] = &f->mv[i];
		}
		f->in.nmodels++;
	}
	for (size_t i = 0; i < MAXKV && c->current[i]; i++) {
		const char *eq = strchr(c->current[i], '=');

		f->cur[i].key = strndup(c->current[i], (size_t)(eq - c->current[i]));
		f->cur[i].value = dup_or_null(eq + 1);
		f->in.ncurrent++;
	}
	f->in.accounts = f->acc;
	f->in.account_verdicts = f->avp;
	f->in.models = f->mod;
	f->in.model_verdicts = f->mvp;
	f->in.current = f->cur;
	for (size_t i = 0; i < MAXKV && c->foreign[i]; i++) {
		const char *eq = strchr(c->foreign[i], '=');
		const char *at = strrchr(c->foreign[i], '@');

		f->fk[i].key = strndup(c->foreign[i], (size_t)(eq - c->foreign[i]));
		f->fk[i].value = strndup(eq + 1, (size_t)(at - eq - 1));
		f->fk[i].manager = strdup(at + 1);
		f->in.nforeign++;
	}
	f->in.foreign = f->fk;
}

static void fixture_release(struct fixture *f)
{
	for (size_t i = 0; i < MAXA; i++) {
		spec_account_release(&f->acc[i]);
		account_verdict_release(&f->av[i]);
	}
	for (size_t i = 0; i < MAXM; i++) {
		spec_model_release(&f->mod[i]);
		model_verdict_release(&f->mv[i]);
	}
	for (size_t i = 0; i < MAXKV; i++) {
		free(f->cur[i].key);
		free(f->cur[i].value);
		free(f->fk[i].key);
		free(f->fk[i].value);
		free(f->fk[i].manager);
	}
}

/* ---- checking the output ---- */

static const struct render_cond *find_cond(const struct render_cond *c, size_t n, const char *type)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].type && !strcmp(c[i].type, type))
			return &c[i];
	return NULL;
}

static void check_cond(const char *what, const struct render_cond *c, const char *want)
{
	char got[256];

	assert_non_null(c);
	snprintf(got, sizeof(got), "%s %s", cond_status_name(c->status), c->reason);
	if (strncmp(got, want, strlen(want)) || (got[strlen(want)] && got[strlen(want)] != ' '))
		fail_msg("%s: got \"%s\" (%s), want \"%s\"", what, got, c->message, want);
}

/* Invariants of every output: sorted unique FOUNDRY_ keys, the hash of the
 * lines, a message on every condition, Ready first. */
static void check_invariants(const struct render_output *out)
{
	struct sha256 ctx;
	unsigned char dig[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN + 1];

	sha256_init(&ctx);
	for (size_t i = 0; i < out->ndata; i++) {
		assert_true(!strncmp(out->data[i].key, "FOUNDRY_", 8));
		if (i)
			assert_true(strcmp(out->data[i - 1].key, out->data[i].key) < 0);
		sha256_update(&ctx, out->data[i].key, strlen(out->data[i].key));
		sha256_update(&ctx, "=", 1);
		sha256_update(&ctx, out->data[i].value, strlen(out->data[i].value));
		sha256_update(&ctx, "\n", 1);
	}
	sha256_final(&ctx, dig);
	sha256_to_hex(dig, hex);
	assert_non_null(out->hash);
	assert_string_equal(out->hash, hex);
	for (size_t i = 0; i < out->nmodels; i++) {
		assert_true(out->models[i].nconds >= 2);
		assert_string_equal(out->models[i].conds[0].type, "Ready");
		for (size_t k = 0; k < out->models[i].nconds; k++) {
			assert_non_null(out->models[i].conds[k].message);
			assert_non_null(out->models[i].conds[k].reason);
		}
		for (size_t k = 1; k < out->models[i].npublished; k++)
			assert_true(strcmp(out->models[i].published_keys[k - 1],
					   out->models[i].published_keys[k]) < 0);
	}
	for (size_t i = 0; i < out->naccounts; i++) {
		assert_int_equal(out->accounts[i].nconds, 1);
		assert_non_null(out->accounts[i].conds[0].message);
	}
}

static void check_case(const struct rcase *c, const struct render_output *out)
{
	size_t n = 0;

	check_invariants(out);
	while (n < MAXKV && c->data[n])
		n++;
	for (size_t i = 0; i < out->ndata || i < n; i++) {
		char got[512];

		if (i >= out->ndata)
			fail_msg("[%s] missing %s", c->name, c->data[i]);
		snprintf(got, sizeof(got), "%s=%s", out->data[i].key, out->data[i].value);
		if (i >= n)
			fail_msg("[%s] unexpected %s", c->name, got);
		if (strcmp(got, c->data[i]))
			fail_msg("[%s] data[%zu] %s, want %s", c->name, i, got, c->data[i]);
	}
	for (size_t i = 0; i < out->nmodels; i++) {
		const struct render_model_status *m = &out->models[i];
		char what[300];

		snprintf(what, sizeof(what), "[%s] model %zu Ready", c->name, i);
		if (c->ready[i])
			check_cond(what, &m->conds[0], c->ready[i]);
		if (c->ready_msg[i] && !strstr(m->conds[0].message, c->ready_msg[i]))
			fail_msg("[%s] model %zu Ready message \"%s\" lacks \"%s\"", c->name, i,
				 m->conds[0].message, c->ready_msg[i]);
		if (c->keys[i]) {
			char got[256] = "";

			for (size_t k = 0; k < m->npublished; k++) {
				strcat(got, k ? "," : "");
				strcat(got, m->published_keys[k]);
			}
			if (strcmp(got, c->keys[i]))
				fail_msg("[%s] model %zu published keys \"%s\", want \"%s\"", c->name, i, got,
					 c->keys[i]);
		}
		if (c->extra[i]) {
			char type[64];

			sscanf(c->extra[i], "%63s", type);
			snprintf(what, sizeof(what), "[%s] model %zu %s", c->name, i, type);
			check_cond(what, find_cond(m->conds, m->nconds, type), c->extra[i] + strlen(type) + 1);
		}
	}
	for (size_t i = 0; i < out->naccounts; i++) {
		char what[300];

		snprintf(what, sizeof(what), "[%s] account %zu Ready", c->name, i);
		if (c->acc_ready[i])
			check_cond(what, &out->accounts[i].conds[0], c->acc_ready[i]);
	}
}

/* FC_TEST_VERBOSE=1: print what each case renders */
static void dump(const struct rcase *c, const struct render_output *out)
{
	printf("== %s\n", c->name);
	for (size_t i = 0; i < out->ndata; i++)
		printf("  %s=%s\n", out->data[i].key, out->data[i].value);
	for (size_t i = 0; i < out->naccounts; i++)
		printf("  account %zu: %s %s: %s\n", i, cond_status_name(out->accounts[i].conds[0].status),
		       out->accounts[i].conds[0].reason, out->accounts[i].conds[0].message);
	for (size_t i = 0; i < out->nmodels; i++)
		for (size_t k = 0; k < out->models[i].nconds; k++)
			printf("  model %zu %s %s %s: %s\n", i, out->models[i].conds[k].type,
			       cond_status_name(out->models[i].conds[k].status), out->models[i].conds[k].reason,
			       out->models[i].conds[k].message);
}

static void test_table(void **state)
{
	(void)state;
	assert_true(sizeof(cases) / sizeof(cases[0]) >= 20);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fixture f;
		struct render_output out;

		fixture_build(&cases[i], &f);
		if (render_configmap(&f.in, &out))
			fail_msg("[%s] render failed", cases[i].name);
		if (getenv("FC_TEST_VERBOSE"))
			dump(&cases[i], &out);
		check_case(&cases[i], &out);
		render_output_release(&out);
		render_output_release(&out); /* idempotent */
		fixture_release(&f);
	}
}

static const struct rcase *case_named(const char *name)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	fail_msg("no case %s", name);
	return NULL;
}

/* Details the table does not show. */
static void test_status_details(void **state)
{
	struct fixture f;
	struct render_output out;
	const struct render_model_status *m;

	(void)state;
	/* the Warn case: available regions, deprecation, event */
	fixture_build(&cases[13], &f);
	assert_int_equal(render_configmap(&f.in, &out), FC_OK);
	m = &out.models[0];
	assert_true(m->published);
	assert_false(m->last_known_good);
	assert_string_equal(m->endpoint, W);
	assert_string_equal(m->deployment, "gpt-5.4-pro");
	check_cond("Deprecated", find_cond(m->conds, m->nconds, "Deprecated"), "True Deprecating");
	assert_string_equal(m->event_reason, "Deprecated");
	assert_string_equal(m->event_message, "msg-Deprecating");
	render_output_release(&out);
	fixture_release(&f);

	/* last known good: endpoint of the kept key, available regions */
	fixture_build(&cases[2], &f);
	assert_int_equal(render_configmap(&f.in, &out), FC_OK);
	m = &out.models[0];
	assert_false(m->published);
	assert_true(m->last_known_good);
	assert_string_equal(m->endpoint, W); /* FOUNDRY_ENDPOINT: no per-key endpoint kept */
	assert_int_equal(m->navailable_regions, 2);
	assert_string_equal(m->available_regions[0], "eastus2");
	assert_non_null(strstr(find_cond(m->conds, m->nconds, "Published")->message,
			       "keeps the last published values for GENERATION, REPORTING"));
	render_output_release(&out);
	fixture_release(&f);

	/* key conflict: winner named */
	fixture_build(&cases[4], &f);
	assert_int_equal(render_configmap(&f.in, &out), FC_OK);
	assert_string_equal(out.models[0].conflict_winner, "zeta");
	assert_null(out.models[1].conflict_winner);
	assert_true(out.accounts[0].primary);
	assert_true(out.accounts[0].usable);
	render_output_release(&out);
	fixture_release(&f);

	/* consolidation event */
	fixture_build(case_named("deployment name differs from model name: Ready notes the convention"), &f);
	assert_int_equal(render_configmap(&f.in, &out), FC_OK);
	assert_string_equal(out.models[0].event_reason, "ConsolidationPossible");
	assert_non_null(strstr(out.models[0].conds[0].message, "consolidation possible"));
	render_output_release(&out);
	fixture_release(&f);
}

/* Messages stay below the CRD's 32768 characters, cut on a UTF-8 boundary. */
static void test_long_message(void **state)
{
	struct fixture f;
	struct render_output out;
	size_t n = 40000;
	char *big = malloc(n + 1);

	(void)state;
	assert_non_null(big);
	big[0] = 'x'; /* odd offset: the cut falls inside a character */
	for (size_t i = 1; i + 1 < n; i += 2) {
		big[i] = (char)0xc3; /* U+00E9 */
		big[i + 1] = (char)0xa9;
	}
	big[n - 1] = '\0';
	fixture_build(&cases[13], &f); /* Warn: the message goes into Ready too */
	free(f.mv[0].region.message);
	f.mv[0].region.message = big;
	assert_int_equal(render_configmap(&f.in, &out), FC_OK);
	for (size_t k = 0; k < out.models[0].nconds; k++) {
		const char *m = out.models[0].conds[k].message;
		size_t len = strlen(m);

		assert_true(len <= 30000);
		if (len > 100) { /* the cut one: ends on a whole character */
			assert_int_equal(len % 2, 1);
			assert_int_equal((unsigned char)m[len - 1], 0xa9);
		}
	}
	check_cond("Ready", &out.models[0].conds[0], "True Published");
	render_output_release(&out);
	fixture_release(&f);
}

/* The same objects in another order render the same data, hash and
 * conditions. */
static void test_deterministic(void **state)
{
	struct fixture f, g;
	struct render_output a, b;
	const struct rcase *c = &cases[0];

	(void)state;
	fixture_build(c, &f);
	fixture_build(c, &g);
	/* reverse models and accounts in g */
	for (size_t i = 0; i < g.in.nmodels / 2; i++) {
		size_t j = g.in.nmodels - 1 - i;
		struct spec_model t = g.mod[i];
		const struct model_verdict *tv = g.mvp[i];

		g.mod[i] = g.mod[j];
		g.mod[j] = t;
		g.mvp[i] = g.mvp[j];
		g.mvp[j] = tv;
	}
	{
		struct spec_account t = g.acc[0];
		const struct account_verdict *tv = g.avp[0];

		g.acc[0] = g.acc[1];
		g.acc[1] = t;
		g.avp[0] = g.avp[1];
		g.avp[1] = tv;
	}
	assert_int_equal(render_configmap(&f.in, &a), FC_OK);
	assert_int_equal(render_configmap(&g.in, &b), FC_OK);
	assert_int_equal(a.ndata, b.ndata);
	for (size_t i = 0; i < a.ndata; i++) {
		assert_string_equal(a.data[i].key, b.data[i].key);
		assert_string_equal(a.data[i].value, b.data[i].value);
	}
	assert_string_equal(a.hash, b.hash);
	for (size_t i = 0; i < a.nmodels; i++) {
		size_t j = a.nmodels - 1 - i;

		assert_string_equal(a.models[i].conds[0].message, b.models[j].conds[0].message);
	}
	render_output_release(&b);
	/* and twice the same input gives the same hash */
	assert_int_equal(render_configmap(&f.in, &b), FC_OK);
	assert_string_equal(a.hash, b.hash);
	render_output_release(&a);
	render_output_release(&b);
	fixture_release(&f);
	/* g holds the same objects swapped: release by its own arrays */
	fixture_release(&g);
}

static void test_empty(void **state)
{
	struct render_input in = { .ns = "x", .configmap = "llm-config", .default_configmap = "llm-config" };
	struct render_output out;

	(void)state;
	assert_int_equal(render_configmap(&in, &out), FC_OK);
	assert_int_equal(out.ndata, 0);
	assert_string_equal(out.hash, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	render_output_release(&out);
	render_output_release(NULL);
}

/* A failed allocation at every site is a clean FC_ERR_NOMEM. */
static void test_nomem(void **state)
{
	static const size_t which[] = { 0, 2, 8, 9, 20, 22, 26 };

	(void)state;
	if (!failmalloc_works())
		skip();
	for (size_t w = 0; w < sizeof(which) / sizeof(which[0]); w++) {
		const struct rcase *c = &cases[which[w]];
		struct fixture f;
		unsigned long n, fails = 0;

		fixture_build(c, &f);
		for (n = 1;; n++) {
			struct render_output out;
			fc_err rc;

			failmalloc_start(n, 0);
			rc = render_configmap(&f.in, &out);
			failmalloc_stop();
			if (rc == FC_OK) {
				check_case(c, &out);
				render_output_release(&out);
				if (!failmalloc_fired())
					break;
				continue; /* a tolerated failure (e.g. inside qsort) */
			}
			assert_int_equal(rc, FC_ERR_NOMEM);
			assert_null(out.data);
			assert_null(out.models);
			fails++;
		}
		assert_true(fails > 10);
		{
			char what[64];

			snprintf(what, sizeof(what), "render case %zu", which[w]);
			failmalloc_report(what, fails);
		}
		fixture_release(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_status_details),
		cmocka_unit_test(test_long_message),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_nomem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
