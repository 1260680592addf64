/* Unit tests: config.c (command line and environment, DESIGN.md §5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "failmalloc.h"

#define ERRLEN 512

/* ---- a fake environment -------------------------------------------------- */

#define ENV_MAX 16
static const char *env_names[ENV_MAX];
static char env_vals[ENV_MAX][512];
static size_t env_n;

static void env_clear(void)
{
	env_n = 0;
}

static void env_set(const char *name, const char *val)
{
	assert_true(env_n < ENV_MAX);
	env_names[env_n] = name;
	snprintf(env_vals[env_n], sizeof(env_vals[env_n]), "%s", val);
	env_n++;
}

static char *fake_getenv(const char *name)
{
	size_t i;

	for (i = env_n; i-- > 0;) {
		if (!strcmp(env_names[i], name))
			return env_vals[i];
	}
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	env_clear();
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static fc_err parse_v(struct config *cfg, char *err, const char *const *args)
{
	int argc = 0;

	while (args[argc])
		argc++;
	return config_parse(argc, args, fake_getenv, cfg, err, ERRLEN);
}

#define ARGV(...) ((const char *const[]){ "foundry-controller", __VA_ARGS__, NULL })
#define PARSE(cfg, err, ...) parse_v(cfg, err, ARGV(__VA_ARGS__))

/* Parses args that must succeed. */
static void ok_v(struct config *cfg, const char *const *args)
{
	char err[ERRLEN];
	fc_err rc = parse_v(cfg, err, args);

	if (rc)
		fail_msg("config_parse(%s ...) failed: %s", args[1] ? args[1] : "", err);
}

/* Parses args that must fail; returns the message (static). */
static const char *fail_v(const char *const *args)
{
	static char err[ERRLEN];
	struct config cfg;
	fc_err rc;

	rc = parse_v(&cfg, err, args);
	if (rc != FC_ERR_INVAL)
		fail_msg("config_parse(%s %s ...) = %d, want INVAL", args[1] ? args[1] : "",
			 args[1] && args[2] ? args[2] : "", (int)rc);
	assert_null(strchr(err, '\n'));
	assert_true(err[0] != '\0');
	/* nothing left to free */
	assert_null(cfg.configmap_name);
	assert_null(cfg.files);
	config_release(&cfg);
	return err;
}

#define OK(cfg, ...) ok_v(cfg, ARGV(__VA_ARGS__))
#define FAIL(...) fail_v(ARGV(__VA_ARGS__))

static void assert_contains(const char *s, const char *sub)
{
	if (!strstr(s, sub))
		fail_msg("\"%s\" does not contain \"%s\"", s, sub);
}

/* ---- durations ------------------------------------------------------------ */

static const struct {
	const char *in;
	int64_t ms;
} durations_ok[] = {
	{ "0", 0 },
	{ "0s", 0 },
	{ "-0s", 0 },
	{ "90s", 90000 },
	{ "5m", 300000 },
	{ "1h", 3600000 },
	{ "1h30m", 5400000 },
	{ "250ms", 250 },
	{ "2160h", 7776000000LL },
	{ "1.5h", 5400000 },
	{ ".5s", 500 },
	{ "1.s", 1000 },
	{ "+5m", 300000 },
	{ "1ns", 1 },            /* rounded up: never 0 when positive */
	{ "1500us", 2 },
	{ "1\xc2\xb5s", 1 },     /* micro sign */
	{ "1h1m1s1ms", 3661001 },
	{ "1m0.5s", 60500 },
	{ "3m3m", 360000 },      /* Go accepts a repeated unit */
	{ "10h", 36000000 },
	{ "0.001s", 1 },
	{ "2562047h", 2562047LL * 3600000 },
	{ "2562047h47m16.854775807s", 9223372036855LL }, /* Go's maximum */
	{ "9223372036854775807ns", 9223372036855LL },
};

static const struct {
	const char *in;
	const char *why;  /* substring of the reason */
} durations_bad[] = {
	{ "", "not a duration" },
	{ "5", "missing unit" },
	{ "1h5", "missing unit" },
	{ "1.5", "missing unit" },
	{ "abc", "not a duration" },
	{ "s", "not a duration" },
	{ ".s", "not a duration" },
	{ "5d", "unknown unit" },
	{ "5M", "unknown unit" },
	{ "1hh", "unknown unit" },
	{ "1e3s", "unknown unit" },
	{ "0x10s", "unknown unit" },
	{ "-5m", "must not be negative" },
	{ "-1ns", "must not be negative" },
	{ "--5m", "not a duration" },
	{ "+", "not a duration" },
	{ "-", "not a duration" },
	{ " 5m", "not a duration" },
	{ "5m ", "unknown unit" },
	{ "5 m", "unknown unit" },
	{ "1h-5m", "unknown unit" },
	{ "1.5.5h", "missing unit" },
	{ "2562048h", "too large" },
	{ "9223372036854775808ns", "too large" },
	{ "99999999999999999999h", "too large" },
	{ "2562047h47m16.854775808s", "too large" },
	{ "2562047h48m", "too large" },
};

static void test_duration_table(void **state)
{
	size_t i;
	int64_t ms;
	const char *why;

	(void)state;
	for (i = 0; i < sizeof(durations_ok) / sizeof(durations_ok[0]); i++) {
		ms = -1;
		why = NULL;
		if (config_parse_duration(durations_ok[i].in, &ms, &why))
			fail_msg("\"%s\" rejected: %s", durations_ok[i].in, why);
		if (ms != durations_ok[i].ms)
			fail_msg("\"%s\": %lld ms, want %lld", durations_ok[i].in, (long long)ms,
				 (long long)durations_ok[i].ms);
	}
	for (i = 0; i < sizeof(durations_bad) / sizeof(durations_bad[0]); i++) {
		why = NULL;
		if (config_parse_duration(durations_bad[i].in, &ms, &why) != FC_ERR_PARSE)
			fail_msg("\"%s\" accepted as %lld ms", durations_bad[i].in, (long long)ms);
		assert_non_null(why);
		assert_contains(why, durations_bad[i].why);
	}
}

/* Every duration flag, through the command line, the env, and its errors. */
static void test_duration_flags(void **state)
{
	static const struct {
		const char *flag;
		const char *env;
		size_t off;
		int64_t def;
		int zero_ok;
	} f[] = {
		{ "--catalog-ttl", "FOUNDRY_CATALOG_TTL", offsetof(struct config, catalog_ttl_ms),
		  3600000, 1 },
		{ "--deployment-ttl", "FOUNDRY_DEPLOYMENT_TTL",
		  offsetof(struct config, deployment_ttl_ms), 300000, 1 },
		{ "--resync-period", "FOUNDRY_RESYNC_PERIOD",
		  offsetof(struct config, resync_period_ms), 36000000, 1 },
		{ "--retirement-warning", "FOUNDRY_RETIREMENT_WARNING",
		  offsetof(struct config, retirement_warning_ms), 7776000000LL, 1 },
		{ "--kube-timeout", "FOUNDRY_KUBE_TIMEOUT",
		  offsetof(struct config, kube_timeout_ms), 30000, 0 },
	};
	struct config cfg;
	char eq[64], want[200];
	const char *msg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
#define MS(c) (*(int64_t *)(void *)((char *)(c) + f[i].off))
		env_clear();
		ok_v(&cfg, ARGV("run"));
		assert_int_equal(MS(&cfg), f[i].def);
		config_release(&cfg);

		ok_v(&cfg, ARGV(f[i].flag, "1h30m"));
		assert_int_equal(MS(&cfg), 5400000);
		config_release(&cfg);

		snprintf(eq, sizeof(eq), "%s=90s", f[i].flag);
		ok_v(&cfg, ARGV("run", eq));
		assert_int_equal(MS(&cfg), 90000);
		config_release(&cfg);

		if (f[i].zero_ok) {
			ok_v(&cfg, ARGV(f[i].flag, "0s"));
			assert_int_equal(MS(&cfg), 0);
			config_release(&cfg);
		} else {
			msg = fail_v(ARGV(f[i].flag, "0s"));
			snprintf(want, sizeof(want), "invalid value \"0s\" for %s: must be more than 0",
				 f[i].flag);
			assert_string_equal(msg, want);
		}

		msg = fail_v(ARGV(f[i].flag, "abc"));
		snprintf(want, sizeof(want),
			 "invalid value \"abc\" for %s: not a duration (use e.g. 90s, 5m, 1h)",
			 f[i].flag);
		assert_string_equal(msg, want);
		msg = fail_v(ARGV(f[i].flag, "-5m"));
		assert_contains(msg, f[i].flag);
		assert_contains(msg, "must not be negative");
		msg = fail_v(ARGV(f[i].flag, "5"));
		assert_contains(msg, f[i].flag);
		assert_contains(msg, "missing unit");

		env_set(f[i].env, "2h");
		ok_v(&cfg, ARGV("run"));
		assert_int_equal(MS(&cfg), 7200000);
		config_release(&cfg);
		ok_v(&cfg, ARGV(f[i].flag, "3m"));
		assert_int_equal(MS(&cfg), 180000);
		config_release(&cfg);

		env_clear();
		env_set(f[i].env, "2days");
		msg = fail_v(ARGV("run"));
		snprintf(want, sizeof(want), "invalid value \"2days\" for %s: unknown unit", f[i].env);
		assert_contains(msg, want);
		/* an invalid env value is not read when the flag is given */
		ok_v(&cfg, ARGV(f[i].flag, "1m"));
		assert_int_equal(MS(&cfg), 60000);
		config_release(&cfg);
#undef MS
	}
}

/* ---- defaults, string flags, precedence ----------------------------------- */

static void test_defaults(void **state)
{
	struct config cfg;
	char err[ERRLEN];

	(void)state;
	assert_int_equal(config_parse(1, ARGV(NULL), NULL, &cfg, err, sizeof(err)), FC_OK);
	assert_int_equal(cfg.cmd, CONFIG_CMD_RUN);
	assert_false(cfg.help);
	assert_null(cfg.kubeconfig);
	assert_null(cfg.namespace);
	assert_string_equal(cfg.configmap_name, "llm-config");
	assert_string_equal(cfg.metrics_bind.addr, ":8080");
	assert_null(cfg.metrics_bind.host);
	assert_int_equal(cfg.metrics_bind.port, 8080);
	assert_true(cfg.metrics_bind.enabled);
	assert_string_equal(cfg.health_bind.addr, ":8081");
	assert_int_equal(cfg.health_bind.port, 8081);
	assert_false(cfg.leader_elect);
	assert_null(cfg.leader_election_namespace);
	assert_string_equal(cfg.leader_election_id, "foundry-controller-leader");
	assert_int_equal(cfg.azure_validation, VALIDATION_ENFORCE);
	assert_int_equal(cfg.catalog_ttl_ms, 3600000);
	assert_int_equal(cfg.deployment_ttl_ms, 300000);
	assert_int_equal(cfg.resync_period_ms, 36000000);
	assert_int_equal(cfg.kube_timeout_ms, 30000);
	assert_int_equal(cfg.retirement_warning_ms, 90LL * 24 * 3600 * 1000);
	assert_int_equal(cfg.nsuggest_regions, 0);
	assert_null(cfg.suggest_regions);
	assert_int_equal(cfg.azure_cloud, CONFIG_CLOUD_PUBLIC);
	assert_string_equal(cfg.azure_arm_endpoint, "https://management.azure.com");
	assert_string_equal(cfg.azure_authority_host, "https://login.microsoftonline.com/");
	assert_string_equal(cfg.azure_arm_audience, "https://management.azure.com/");
	assert_string_equal(cfg.azure_imds_endpoint, "http://169.254.169.254");
	assert_null(cfg.azure_ca_file);
	assert_int_equal(cfg.nfiles, 0);
	assert_int_equal(cfg.log_format, LOG_FORMAT_TEXT);
	assert_int_equal(cfg.log_level, LOG_INFO);
	config_release(&cfg);
	config_release(&cfg); /* twice is fine */

	assert_int_equal(config_init(&cfg), FC_OK);
	assert_string_equal(cfg.configmap_name, "llm-config");
	assert_string_equal(cfg.azure_arm_endpoint, "https://management.azure.com");
	config_release(&cfg);
}

static void test_string_flags(void **state)
{
	static const struct {
		const char *flag;
		const char *val;
		size_t off;
		const char *want;  /* NULL: stays unset */
	} t[] = {
		{ "--kubeconfig", "/etc/kube/config", offsetof(struct config, kubeconfig),
		  "/etc/kube/config" },
		{ "--kubeconfig", "", offsetof(struct config, kubeconfig), NULL },
		{ "--namespace", "aucert", offsetof(struct config, namespace), "aucert" },
		{ "--namespace", "", offsetof(struct config, namespace), NULL },
		{ "--configmap-name", "llm-config-2", offsetof(struct config, configmap_name),
		  "llm-config-2" },
		{ "--configmap-name", "a.b-c", offsetof(struct config, configmap_name), "a.b-c" },
		{ "--leader-election-namespace", "kube-system",
		  offsetof(struct config, leader_election_namespace), "kube-system" },
		{ "--leader-election-id", "my-lease", offsetof(struct config, leader_election_id),
		  "my-lease" },
		{ "--azure-ca-file", "/tmp/ca.pem", offsetof(struct config, azure_ca_file),
		  "/tmp/ca.pem" },
		{ "--azure-arm-endpoint", "https://127.0.0.1:8443/",
		  offsetof(struct config, azure_arm_endpoint), "https://127.0.0.1:8443" },
		{ "--azure-arm-endpoint", "http://localhost:9000",
		  offsetof(struct config, azure_arm_endpoint), "http://localhost:9000" },
		{ "--azure-arm-endpoint", "http://127.0.0.1:9000/arm/",
		  offsetof(struct config, azure_arm_endpoint), "http://127.0.0.1:9000/arm" },
		{ "--azure-arm-endpoint", "http://[::1]:9000",
		  offsetof(struct config, azure_arm_endpoint), "http://[::1]:9000" },
		{ "--azure-authority-host", "https://127.0.0.1:8443",
		  offsetof(struct config, azure_authority_host), "https://127.0.0.1:8443/" },
		{ "--azure-authority-host", "https://login.example.com//",
		  offsetof(struct config, azure_authority_host), "https://login.example.com/" },
		{ "--azure-imds-endpoint", "http://10.0.0.1:80/",
		  offsetof(struct config, azure_imds_endpoint), "http://10.0.0.1:80" },
	};
	struct config cfg;
	char eq[300];
	size_t i;
	int form;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (form = 0; form < 2; form++) {
			const char *got;

			if (form == 0) {
				ok_v(&cfg, ARGV(t[i].flag, t[i].val));
			} else {
				snprintf(eq, sizeof(eq), "%s=%s", t[i].flag, t[i].val);
				ok_v(&cfg, ARGV("run", eq));
			}
			got = *(char **)(void *)((char *)&cfg + t[i].off);
			if (t[i].want)
				assert_string_equal(got, t[i].want);
			else
				assert_null(got);
			config_release(&cfg);
		}
	}
}

static void test_env_precedence(void **state)
{
	struct config cfg;
	const char *msg;

	(void)state;
	/* env alone */
	env_set("FOUNDRY_NAMESPACE", "from-env");
	env_set("FOUNDRY_CONFIGMAP_NAME", "env-cm");
	env_set("FOUNDRY_LOG_FORMAT", "json");
	env_set("FOUNDRY_AZURE_VALIDATION", "warn");
	env_set("FOUNDRY_METRICS_BIND_ADDRESS", "127.0.0.1:9090");
	OK(&cfg, "run");
	assert_string_equal(cfg.namespace, "from-env");
	assert_string_equal(cfg.configmap_name, "env-cm");
	assert_int_equal(cfg.log_format, LOG_FORMAT_JSON);
	assert_int_equal(cfg.azure_validation, VALIDATION_WARN);
	assert_string_equal(cfg.metrics_bind.host, "127.0.0.1");
	assert_int_equal(cfg.metrics_bind.port, 9090);
	config_release(&cfg);

	/* the flag wins, in both spellings */
	OK(&cfg, "--namespace", "from-flag", "--configmap-name=flag-cm", "--log-format", "text",
	   "--azure-validation=off", "--metrics-bind-address=0");
	assert_string_equal(cfg.namespace, "from-flag");
	assert_string_equal(cfg.configmap_name, "flag-cm");
	assert_int_equal(cfg.log_format, LOG_FORMAT_TEXT);
	assert_int_equal(cfg.azure_validation, VALIDATION_SKIP);
	assert_false(cfg.metrics_bind.enabled);
	config_release(&cfg);

	/* an empty optional flag is "not given": env applies */
	OK(&cfg, "--namespace=");
	assert_string_equal(cfg.namespace, "from-env");
	config_release(&cfg);

	/* last flag wins */
	OK(&cfg, "--namespace", "a", "--namespace", "b");
	assert_string_equal(cfg.namespace, "b");
	config_release(&cfg);

	/* env of flags that the subcommand does not have is not read */
	env_clear();
	env_set("FOUNDRY_NAMESPACE", "Not_Valid");
	env_set("FOUNDRY_CATALOG_TTL", "bogus");
	OK(&cfg, "render", "-f", "x.yaml");
	config_release(&cfg);
	msg = FAIL("run");
	assert_contains(msg, "FOUNDRY_");

	/* empty env is unset */
	env_clear();
	env_set("FOUNDRY_CATALOG_TTL", "");
	env_set("FOUNDRY_CONFIGMAP_NAME", "");
	OK(&cfg, "run");
	assert_int_equal(cfg.catalog_ttl_ms, 3600000);
	assert_string_equal(cfg.configmap_name, "llm-config");
	config_release(&cfg);

	/* env name is FOUNDRY_ + upper case, '-' as '_' */
	env_clear();
	env_set("FOUNDRY_HEALTH_PROBE_BIND_ADDRESS", "[::1]:7000");
	env_set("FOUNDRY_LEADER_ELECTION_ID", "lease-x");
	env_set("FOUNDRY_SUGGEST_REGIONS", "eastus2");
	env_set("FOUNDRY_AZURE_CLOUD", "AzureChinaCloud");
	env_set("FOUNDRY_LOG_LEVEL", "debug");
	OK(&cfg, "run");
	assert_string_equal(cfg.health_bind.host, "::1");
	assert_int_equal(cfg.health_bind.port, 7000);
	assert_string_equal(cfg.leader_election_id, "lease-x");
	assert_int_equal(cfg.nsuggest_regions, 1);
	assert_int_equal(cfg.azure_cloud, CONFIG_CLOUD_CHINA);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	config_release(&cfg);
}

/* A string setting (the char * at offset field of struct config) read
 * from env, then foundry_env, then flag, each set in turn to value[i] and
 * winning over the ones before: the setting is want[i]. The variables stay
 * set (env_set keeps the names: pass literals). */
static void expect_precedence(size_t field, const char *env, const char *foundry_env,
			      const char *flag, const char *const value[3],
			      const char *const want[3])
{
	struct config cfg;

	env_set(env, value[0]);
	OK(&cfg, "run");
	assert_string_equal(*(char **)((char *)&cfg + field), want[0]);
	config_release(&cfg);

	env_set(foundry_env, value[1]);
	OK(&cfg, "run");
	assert_string_equal(*(char **)((char *)&cfg + field), want[1]);
	config_release(&cfg);

	OK(&cfg, flag, value[2]);
	assert_string_equal(*(char **)((char *)&cfg + field), want[2]);
	config_release(&cfg);
}

static void test_kubeconfig_env(void **state)
{
	struct config cfg;

	(void)state;
	expect_precedence(offsetof(struct config, kubeconfig), "KUBECONFIG", "FOUNDRY_KUBECONFIG",
			  "--kubeconfig",
			  (const char *const[]){ "/home/u/.kube/config", "/foundry/kubeconfig",
						 "/flag/kubeconfig" },
			  (const char *const[]){ "/home/u/.kube/config", "/foundry/kubeconfig",
						 "/flag/kubeconfig" });
	env_clear();
	OK(&cfg, "run");
	assert_null(cfg.kubeconfig);
	config_release(&cfg);
}

/* ---- booleans ------------------------------------------------------------- */

static void test_booleans(void **state)
{
	static const struct {
		const char *arg;
		int want;
	} t[] = {
		{ "--leader-elect", 1 },
		{ "--leader-elect=true", 1 },
		{ "--leader-elect=false", 0 },
		{ "--leader-elect=1", 1 },
		{ "--leader-elect=0", 0 },
		{ "--leader-elect=TRUE", 1 },
		{ "--leader-elect=False", 0 },
		{ "--leader-elect=t", 1 },
		{ "--leader-elect=F", 0 },
	};
	struct config cfg;
	const char *msg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		OK(&cfg, t[i].arg);
		if (cfg.leader_elect != t[i].want)
			fail_msg("%s: %d", t[i].arg, cfg.leader_elect);
		config_release(&cfg);
	}
	/* a boolean never takes the next argument */
	msg = FAIL("--leader-elect", "false");
	assert_string_equal(msg, "unexpected argument \"false\" after --leader-elect: "
				 "write --leader-elect=false");
	OK(&cfg, "--leader-elect", "--namespace", "x");
	assert_true(cfg.leader_elect);
	assert_string_equal(cfg.namespace, "x");
	config_release(&cfg);

	msg = FAIL("--leader-elect=maybe");
	assert_string_equal(msg, "invalid value \"maybe\" for --leader-elect: use true or false");
	msg = FAIL("--leader-elect=");
	assert_contains(msg, "--leader-elect");

	env_set("FOUNDRY_LEADER_ELECT", "true");
	OK(&cfg, "run");
	assert_true(cfg.leader_elect);
	config_release(&cfg);
	OK(&cfg, "--leader-elect=false");
	assert_false(cfg.leader_elect);
	config_release(&cfg);
	env_clear();
	env_set("FOUNDRY_LEADER_ELECT", "yes");
	msg = FAIL("run");
	assert_string_equal(msg, "invalid value \"yes\" for FOUNDRY_LEADER_ELECT: use true or false");

	env_clear();
	OK(&cfg, "verify", "-f", "a", "--check-deployments");
	assert_true(cfg.check_deployments);
	config_release(&cfg);
	OK(&cfg, "verify", "--check-deployments=false", "a");
	assert_false(cfg.check_deployments);
	assert_int_equal(cfg.nfiles, 1);
	config_release(&cfg);
	msg = FAIL("verify", "a", "--check-deployments", "true");
	assert_contains(msg, "--check-deployments=true");
	env_set("FOUNDRY_CHECK_DEPLOYMENTS", "1");
	OK(&cfg, "verify", "a");
	assert_true(cfg.check_deployments);
	config_release(&cfg);
}

/* ---- errors name the flag ------------------------------------------------- */

static void test_errors(void **state)
{
	static const struct {
		const char *args[6];
		const char *want;   /* exact message, or a substring when sub is set */
		int sub;
	} t[] = {
		{ { "--foo" }, "unknown flag --foo for \"run\"", 0 },
		{ { "run", "--foo=bar" }, "unknown flag --foo for \"run\"", 0 },
		{ { "verify", "a", "-x" }, "unknown flag -x for \"verify\"", 0 },
		{ { "verify", "a", "--namespace", "x" },
		  "unknown flag --namespace for \"verify\" (it is a flag of run)", 0 },
		{ { "render", "a", "-o", "json" },
		  "unknown flag -o for \"render\" (it is a flag of verify)", 0 },
		{ { "version", "--log-level=debug" },
		  "unknown flag --log-level for \"version\" (it is a flag of run, verify and render)", 0 },
		{ { "run", "--filename", "x" },
		  "unknown flag --filename for \"run\" (it is a flag of verify and render)", 0 },
		{ { "-namespace", "x" }, "long flags take two dashes: --namespace", 1 },
		{ { "frobnicate" }, "unknown subcommand \"frobnicate\"", 1 },
		{ { "help", "frobnicate" }, "unknown subcommand \"frobnicate\"", 1 },
		{ { "run", "extra" }, "unexpected argument \"extra\" for \"run\"", 0 },
		{ { "version", "extra" }, "unexpected argument \"extra\" for \"version\"", 0 },
		{ { "--catalog-ttl", "abc" },
		  "invalid value \"abc\" for --catalog-ttl: not a duration (use e.g. 90s, 5m, 1h)", 0 },
		{ { "--catalog-ttl" }, "flag --catalog-ttl needs a value", 0 },
		{ { "--namespace", "--leader-elect" }, "flag --namespace needs a value", 0 },
		{ { "verify", "-f" }, "flag -f needs a value", 0 },
		{ { "verify", "--filename" }, "flag --filename needs a value", 0 },
		{ { "verify", "-f", "" }, "invalid value \"\" for -f: empty path", 0 },
		{ { "verify" }, "\"verify\" needs at least one manifest: -f PATH", 1 },
		{ { "render", "--configmap-name", "x" }, "\"render\" needs at least one manifest", 1 },
		{ { "verify", "a", "-o", "xml" }, "invalid value \"xml\" for -o: use table or json", 0 },
		{ { "verify", "a", "--output=yaml" },
		  "invalid value \"yaml\" for --output: use table or json", 0 },
		{ { "--azure-cloud", "Mars" },
		  "unknown --azure-cloud \"Mars\": use AzurePublicCloud, AzureChinaCloud or "
		  "AzureUSGovernment", 0 },
		{ { "--azure-validation", "strict" },
		  "invalid value \"strict\" for --azure-validation: use enforce, warn or off", 0 },
		{ { "--log-format", "xml" }, "invalid value \"xml\" for --log-format: use text or json", 0 },
		{ { "--log-level", "loud" },
		  "invalid value \"loud\" for --log-level: use debug, info, warn or error", 0 },
		{ { "--namespace", "Bad_NS" }, "invalid value \"Bad_NS\" for --namespace:", 1 },
		{ { "--namespace", "-a" }, "invalid value \"-a\" for --namespace:", 1 },
		{ { "--leader-election-namespace", "A" },
		  "invalid value \"A\" for --leader-election-namespace:", 1 },
		{ { "--configmap-name", "LLM" }, "invalid value \"LLM\" for --configmap-name:", 1 },
		{ { "--configmap-name=" }, "invalid value \"\" for --configmap-name: must not be empty", 0 },
		{ { "--configmap-name", "a..b" }, "invalid value \"a..b\" for --configmap-name:", 1 },
		{ { "--leader-election-id", "x_y" }, "invalid value \"x_y\" for --leader-election-id:", 1 },
		{ { "--suggest-regions", "East US" },
		  "invalid value \"East US\" for --suggest-regions: \"East US\" is not a region name", 1 },
		{ { "--suggest-regions", "eastus,west-us" }, "for --suggest-regions: \"west-us\"", 1 },
		{ { "--azure-arm-endpoint", "management.azure.com" },
		  "invalid value \"management.azure.com\" for --azure-arm-endpoint: not a URL", 1 },
		{ { "--azure-arm-endpoint", "http://example.com" },
		  "for --azure-arm-endpoint: must be https", 1 },
		{ { "--azure-arm-endpoint", "http://127.0.0.1.evil.com" },
		  "for --azure-arm-endpoint: must be https", 1 },
		{ { "--azure-arm-endpoint", "http://127.1:80" },
		  "for --azure-arm-endpoint: must be https", 1 },
		{ { "--azure-arm-endpoint", "http://127.0.0.256" },
		  "for --azure-arm-endpoint: must be https", 1 },
		{ { "--azure-arm-endpoint", "http://localhost.evil.com:80" },
		  "for --azure-arm-endpoint: must be https", 1 },
		{ { "--azure-authority-host", "http://login.example.com/" },
		  "for --azure-authority-host: must be https", 1 },
		{ { "--azure-arm-endpoint", "https://" }, "for --azure-arm-endpoint: URL without a host", 1 },
		{ { "--azure-arm-endpoint", "https://x/?a=b" }, "for --azure-arm-endpoint: not a base URL", 1 },
		{ { "--azure-imds-endpoint", "ftp://x" }, "for --azure-imds-endpoint: not a URL", 1 },
		{ { "--metrics-bind-address", "8080" }, "invalid value \"8080\" for --metrics-bind-address:", 1 },
		{ { "--health-probe-bind-address", ":99999" },
		  "invalid value \":99999\" for --health-probe-bind-address: port must be 0-65535", 1 },
		{ { "--kube-timeout", "0s" }, "invalid value \"0s\" for --kube-timeout: must be more than 0", 0 },
		{ { "--namespace", "a\nb" }, "invalid value \"a\\x0ab\" for --namespace:", 1 },
		{ { "--fo\no" }, "unknown flag --fo?o for \"run\"", 0 },
	};
	size_t i, n;
	const char *args[8];
	const char *msg;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		args[0] = "foundry-controller";
		for (n = 0; t[i].args[n]; n++)
			args[n + 1] = t[i].args[n];
		args[n + 1] = NULL;
		msg = fail_v(args);
		if (t[i].sub ? !strstr(msg, t[i].want) : strcmp(msg, t[i].want) != 0)
			fail_msg("row %zu (%s): got '%s', want '%s'", i, t[i].args[0], msg, t[i].want);
	}
}

static void test_long_values(void **state)
{
	char *big = malloc(5000);
	const char *msg;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	msg = FAIL("--kubeconfig", big);
	assert_contains(msg, "for --kubeconfig: too long");
	/* the message quotes at most 64 bytes of the value */
	assert_true(strlen(msg) < 200);
	free(big);
}

/* ---- clouds --------------------------------------------------------------- */

static void test_clouds(void **state)
{
	static const struct {
		const char *name;
		enum config_cloud cloud;
		const char *arm, *authority, *audience;
	} t[] = {
		{ "AzurePublicCloud", CONFIG_CLOUD_PUBLIC, "https://management.azure.com",
		  "https://login.microsoftonline.com/", "https://management.azure.com/" },
		{ "AzureChinaCloud", CONFIG_CLOUD_CHINA, "https://management.chinacloudapi.cn",
		  "https://login.chinacloudapi.cn/", "https://management.chinacloudapi.cn/" },
		{ "AzureUSGovernment", CONFIG_CLOUD_USGOV, "https://management.usgovcloudapi.net",
		  "https://login.microsoftonline.us/", "https://management.usgovcloudapi.net/" },
		{ "azurechinacloud", CONFIG_CLOUD_CHINA, "https://management.chinacloudapi.cn",
		  "https://login.chinacloudapi.cn/", "https://management.chinacloudapi.cn/" },
	};
	struct config cfg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		OK(&cfg, "--azure-cloud", t[i].name);
		assert_int_equal(cfg.azure_cloud, t[i].cloud);
		assert_string_equal(cfg.azure_arm_endpoint, t[i].arm);
		assert_string_equal(cfg.azure_authority_host, t[i].authority);
		assert_string_equal(cfg.azure_arm_audience, t[i].audience);
		config_release(&cfg);
		OK(&cfg, "verify", "m.yaml", "--azure-cloud", t[i].name);
		assert_string_equal(cfg.azure_arm_endpoint, t[i].arm);
		config_release(&cfg);
	}
	assert_string_equal(config_cloud_name(CONFIG_CLOUD_USGOV), "AzureUSGovernment");

	/* overrides: in any order relative to --azure-cloud; the audience stays */
	OK(&cfg, "--azure-arm-endpoint", "https://127.0.0.1:8443", "--azure-cloud=AzureChinaCloud");
	assert_string_equal(cfg.azure_arm_endpoint, "https://127.0.0.1:8443");
	assert_string_equal(cfg.azure_authority_host, "https://login.chinacloudapi.cn/");
	assert_string_equal(cfg.azure_arm_audience, "https://management.chinacloudapi.cn/");
	config_release(&cfg);

	/* AZURE_AUTHORITY_HOST, as the Azure SDKs read it; the flags win */
	expect_precedence(offsetof(struct config, azure_authority_host), "AZURE_AUTHORITY_HOST",
			  "FOUNDRY_AZURE_AUTHORITY_HOST", "--azure-authority-host",
			  (const char *const[]){ "https://127.0.0.1:8443", "https://foundry.example/",
						 "https://flag.example" },
			  (const char *const[]){ "https://127.0.0.1:8443/", "https://foundry.example/",
						 "https://flag.example/" });
	env_clear();
	env_set("AZURE_AUTHORITY_HOST", "http://login.evil.example/");
	assert_contains(FAIL("run"), "for AZURE_AUTHORITY_HOST: must be https");
	/* render has no Azure flags: the variable is not read */
	OK(&cfg, "render", "a.yaml");
	config_release(&cfg);

	env_clear();
	env_set("FOUNDRY_AZURE_CLOUD", "Mars");
	assert_string_equal(FAIL("verify", "a"),
			    "unknown FOUNDRY_AZURE_CLOUD \"Mars\": use AzurePublicCloud, "
			    "AzureChinaCloud or AzureUSGovernment");
}

/* ---- bind addresses ------------------------------------------------------- */

static void test_bind_addresses(void **state)
{
	static const struct {
		const char *in;
		const char *host;
		int port;
		int enabled;
	} good[] = {
		{ ":8080", NULL, 8080, 1 },
		{ "127.0.0.1:9090", "127.0.0.1", 9090, 1 },
		{ "0.0.0.0:1", "0.0.0.0", 1, 1 },
		{ "localhost:65535", "localhost", 65535, 1 },
		{ "[::1]:8081", "::1", 8081, 1 },
		{ "[::]:80", "::", 80, 1 },
		{ "my-host.example:443", "my-host.example", 443, 1 },
		{ "127.0.0.1:0", "127.0.0.1", 0, 1 },
		{ ":0", NULL, 0, 1 },
		{ "0", NULL, 0, 0 },
	};
	static const char *const bad[] = {
		"", "8080", ":", ":65536", ":123456", ":80x", ":-1", "a b:80", "::1:80",
		"[::1]8080", "[]:80", "[zz]:80", "host:", "00", "[::1]",
	};
	struct config cfg;
	char eq[128], want[128];
	const char *msg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		OK(&cfg, "--metrics-bind-address", good[i].in);
		assert_string_equal(cfg.metrics_bind.addr, good[i].in);
		if (good[i].host)
			assert_string_equal(cfg.metrics_bind.host, good[i].host);
		else
			assert_null(cfg.metrics_bind.host);
		assert_int_equal(cfg.metrics_bind.port, good[i].port);
		assert_int_equal(cfg.metrics_bind.enabled, good[i].enabled);
		config_release(&cfg);
		snprintf(eq, sizeof(eq), "--health-probe-bind-address=%s", good[i].in);
		OK(&cfg, eq);
		assert_int_equal(cfg.health_bind.port, good[i].port);
		assert_int_equal(cfg.health_bind.enabled, good[i].enabled);
		config_release(&cfg);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg = FAIL("--metrics-bind-address", bad[i]);
		snprintf(want, sizeof(want), "invalid value \"%s\" for --metrics-bind-address: ", bad[i]);
		if (strncmp(msg, want, strlen(want)))
			fail_msg("\"%s\": got '%s'", bad[i], msg);
	}
}

/* ---- suggest-regions ------------------------------------------------------ */

static void test_regions(void **state)
{
	struct config cfg;
	char many[64 * 12];
	size_t i, o = 0;

	(void)state;
	OK(&cfg, "--suggest-regions", " eastus2, SwedenCentral,,eastus2 ,southcentralus");
	assert_int_equal(cfg.nsuggest_regions, 3);
	assert_string_equal(cfg.suggest_regions[0], "eastus2");
	assert_string_equal(cfg.suggest_regions[1], "swedencentral");
	assert_string_equal(cfg.suggest_regions[2], "southcentralus");
	config_release(&cfg);

	OK(&cfg, "--suggest-regions=eastus", "--suggest-regions=westus,northeurope");
	assert_int_equal(cfg.nsuggest_regions, 2);
	assert_string_equal(cfg.suggest_regions[0], "westus");
	config_release(&cfg);

	OK(&cfg, "--suggest-regions=eastus", "--suggest-regions=");
	assert_int_equal(cfg.nsuggest_regions, 0);
	assert_null(cfg.suggest_regions);
	config_release(&cfg);

	for (i = 0; i < 65; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%sregion%zu", i ? "," : "", i);
	assert_contains(FAIL("--suggest-regions", many), "too many regions");
	many[strlen(many) - strlen(",region64")] = '\0';
	OK(&cfg, "--suggest-regions", many);
	assert_int_equal(cfg.nsuggest_regions, 64);
	config_release(&cfg);
}

/* ---- verify and render ---------------------------------------------------- */

static void test_verify_paths(void **state)
{
	static const char *const want[] = { "a.yaml", "b/", "c.yaml", "d.yaml", "e.yaml",
					     "f.yaml", "-", "--weird", "-g" };
	struct config cfg;
	size_t i;

	(void)state;
	OK(&cfg, "verify", "a.yaml", "-f", "b/", "--output", "json", "c.yaml", "-fd.yaml",
	   "-f=e.yaml", "--filename=f.yaml", "--check-deployments", "-", "--", "--weird", "-g");
	assert_int_equal(cfg.cmd, CONFIG_CMD_VERIFY);
	assert_int_equal(cfg.nfiles, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < cfg.nfiles; i++)
		assert_string_equal(cfg.files[i], want[i]);
	assert_int_equal(cfg.output, CONFIG_OUTPUT_JSON);
	assert_true(cfg.check_deployments);
	config_release(&cfg);

	OK(&cfg, "verify", "-ojson", "-f", "x");
	assert_int_equal(cfg.output, CONFIG_OUTPUT_JSON);
	config_release(&cfg);
	OK(&cfg, "verify", "-o=table", "x");
	assert_int_equal(cfg.output, CONFIG_OUTPUT_TABLE);
	config_release(&cfg);
	env_set("FOUNDRY_OUTPUT", "json");
	OK(&cfg, "verify", "x");
	assert_int_equal(cfg.output, CONFIG_OUTPUT_JSON);
	config_release(&cfg);
	env_clear();

	/* verify takes the Azure flags of run, but not the controller's */
	OK(&cfg, "verify", "--suggest-regions", "eastus2", "--retirement-warning=720h",
	   "--azure-arm-endpoint", "https://127.0.0.1:1", "--azure-ca-file", "/ca.pem",
	   "--azure-validation", "warn", "--log-format", "json", "--azure-imds-endpoint",
	   "http://127.0.0.1:2", "x");
	assert_int_equal(cfg.nsuggest_regions, 1);
	assert_int_equal(cfg.retirement_warning_ms, 720LL * 3600 * 1000);
	assert_string_equal(cfg.azure_arm_endpoint, "https://127.0.0.1:1");
	assert_string_equal(cfg.azure_ca_file, "/ca.pem");
	assert_string_equal(cfg.azure_imds_endpoint, "http://127.0.0.1:2");
	assert_int_equal(cfg.azure_validation, VALIDATION_WARN);
	assert_int_equal(cfg.log_format, LOG_FORMAT_JSON);
	config_release(&cfg);

	/* -f is not read from the environment */
	env_set("FOUNDRY_FILENAME", "env.yaml");
	assert_contains(FAIL("verify"), "needs at least one manifest");
	env_clear();

	OK(&cfg, "render", "-f", "m/", "--configmap-name", "other", "n.yaml");
	assert_int_equal(cfg.cmd, CONFIG_CMD_RENDER);
	assert_int_equal(cfg.nfiles, 2);
	assert_string_equal(cfg.files[0], "m/");
	assert_string_equal(cfg.files[1], "n.yaml");
	assert_string_equal(cfg.configmap_name, "other");
	config_release(&cfg);
}

/* ---- help and version ----------------------------------------------------- */

static void test_help_version(void **state)
{
	static const struct {
		const char *args[4];
		enum config_cmd cmd;
	} t[] = {
		{ { "--help" }, CONFIG_CMD_HELP },
		{ { "-h" }, CONFIG_CMD_HELP },
		{ { "help" }, CONFIG_CMD_HELP },
		{ { "--namespace", "x", "--help" }, CONFIG_CMD_HELP },
		{ { "help", "verify" }, CONFIG_CMD_VERIFY },
		{ { "help", "run", "--help" }, CONFIG_CMD_RUN },
		{ { "run", "--help" }, CONFIG_CMD_RUN },
		{ { "run", "-h" }, CONFIG_CMD_RUN },
		{ { "verify", "--help" }, CONFIG_CMD_VERIFY },  /* no -f needed */
		{ { "render", "-h", "--bogus" }, CONFIG_CMD_RENDER },
		{ { "version", "--help" }, CONFIG_CMD_VERSION },
	};
	struct config cfg;
	const char *args[6];
	size_t i, n;

	(void)state;
	env_set("FOUNDRY_CATALOG_TTL", "broken"); /* help does not read the env */
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		args[0] = "foundry-controller";
		for (n = 0; t[i].args[n]; n++)
			args[n + 1] = t[i].args[n];
		args[n + 1] = NULL;
		ok_v(&cfg, args);
		assert_true(cfg.help);
		assert_int_equal(cfg.cmd, t[i].cmd);
		config_release(&cfg);
	}
	/* an error before --help is still an error */
	assert_contains(FAIL("--bogus", "--help"), "unknown flag --bogus");

	OK(&cfg, "version");
	assert_int_equal(cfg.cmd, CONFIG_CMD_VERSION);
	assert_false(cfg.help);
	config_release(&cfg);
	OK(&cfg, "--version");
	assert_int_equal(cfg.cmd, CONFIG_CMD_VERSION);
	config_release(&cfg);
	assert_string_equal(FAIL("version", "--foo"), "unknown flag --foo for \"version\"");
	assert_string_equal(config_cmd_name(CONFIG_CMD_RENDER), "render");
}

/* Every flag is in the help of each subcommand that takes it, with its env
 * name, and the parser knows it there. */
static void test_usage_lists_flags(void **state)
{
	static const struct {
		const char *flag;
		const char *env;   /* NULL: no env */
		const char *value; /* NULL: boolean */
		unsigned cmds;
	} t[] = {
#define R (1u << CONFIG_CMD_RUN)
#define V (1u << CONFIG_CMD_VERIFY)
#define D (1u << CONFIG_CMD_RENDER)
		{ "--kubeconfig", "FOUNDRY_KUBECONFIG", "/k", R },
		{ "--namespace", "FOUNDRY_NAMESPACE", "ns", R },
		{ "--configmap-name", "FOUNDRY_CONFIGMAP_NAME", "cm", R | D },
		{ "--metrics-bind-address", "FOUNDRY_METRICS_BIND_ADDRESS", ":1", R },
		{ "--health-probe-bind-address", "FOUNDRY_HEALTH_PROBE_BIND_ADDRESS", ":2", R },
		{ "--leader-elect", "FOUNDRY_LEADER_ELECT", NULL, R },
		{ "--leader-election-namespace", "FOUNDRY_LEADER_ELECTION_NAMESPACE", "ns", R },
		{ "--leader-election-id", "FOUNDRY_LEADER_ELECTION_ID", "id", R },
		{ "--resync-period", "FOUNDRY_RESYNC_PERIOD", "1h", R },
		{ "--kube-timeout", "FOUNDRY_KUBE_TIMEOUT", "1s", R },
		{ "--azure-validation", "FOUNDRY_AZURE_VALIDATION", "warn", R | V },
		{ "--catalog-ttl", "FOUNDRY_CATALOG_TTL", "1h", R },
		{ "--deployment-ttl", "FOUNDRY_DEPLOYMENT_TTL", "1h", R },
		{ "--suggest-regions", "FOUNDRY_SUGGEST_REGIONS", "eastus", R | V },
		{ "--retirement-warning", "FOUNDRY_RETIREMENT_WARNING", "1h", R | V },
		{ "--azure-cloud", "FOUNDRY_AZURE_CLOUD", "AzurePublicCloud", R | V },
		{ "--azure-arm-endpoint", "FOUNDRY_AZURE_ARM_ENDPOINT", "https://a", R | V },
		{ "--azure-authority-host", "FOUNDRY_AZURE_AUTHORITY_HOST", "https://a", R | V },
		{ "--azure-imds-endpoint", "FOUNDRY_AZURE_IMDS_ENDPOINT", "http://a", R | V },
		{ "--azure-ca-file", "FOUNDRY_AZURE_CA_FILE", "/ca", R | V },
		{ "--filename", NULL, "x", V | D },
		{ "--output", "FOUNDRY_OUTPUT", "json", V },
		{ "--check-deployments", "FOUNDRY_CHECK_DEPLOYMENTS", NULL, V },
		{ "--log-format", "FOUNDRY_LOG_FORMAT", "json", R | V | D },
		{ "--log-level", "FOUNDRY_LOG_LEVEL", "debug", R | V | D },
		{ "--help", NULL, NULL, R | V | D },
#undef R
#undef V
#undef D
	};
	struct config cfg;
	char err[ERRLEN];
	const char *u, *args[6];
	unsigned c;
	size_t i, n;
	fc_err rc;

	(void)state;
	for (c = CONFIG_CMD_RUN; c <= CONFIG_CMD_RENDER; c++) {
		u = config_usage((enum config_cmd)c);
		assert_contains(u, "Usage:");
		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			if (!(t[i].cmds & (1u << c))) {
				/* not listed (as a whole flag) and not accepted */
				char spaced[80];

				snprintf(spaced, sizeof(spaced), "%s ", t[i].flag);
				if (strstr(u, spaced))
					fail_msg("%s help lists %s", config_cmd_name(c), t[i].flag);
				n = 0;
				args[n++] = "foundry-controller";
				args[n++] = config_cmd_name(c);
				args[n++] = t[i].flag;
				if (t[i].value)
					args[n++] = t[i].value;
				args[n] = NULL;
				rc = parse_v(&cfg, err, args);
				assert_int_equal(rc, FC_ERR_INVAL);
				assert_contains(err, "unknown flag");
				continue;
			}
			assert_contains(u, t[i].flag);
			if (t[i].env)
				assert_contains(u, t[i].env);
			n = 0;
			args[n++] = "foundry-controller";
			args[n++] = config_cmd_name(c);
			args[n++] = t[i].flag;
			if (t[i].value)
				args[n++] = t[i].value;
			if (c != CONFIG_CMD_RUN)
				args[n++] = "m.yaml";
			args[n] = NULL;
			rc = parse_v(&cfg, err, args);
			if (rc)
				fail_msg("%s %s: %s", config_cmd_name(c), t[i].flag, err);
			config_release(&cfg);
		}
	}
	/* defaults in the help */
	u = config_usage(CONFIG_CMD_RUN);
	assert_contains(u, "Default 1h. Env FOUNDRY_CATALOG_TTL");
	assert_contains(u, "Default 5m. Env FOUNDRY_DEPLOYMENT_TTL");
	assert_contains(u, "Default 10h");
	assert_contains(u, "Default 2160h (90 days)");
	assert_contains(u, "Default :8080");
	assert_contains(u, "Default :8081");
	assert_contains(u, "Default llm-config");
	assert_contains(u, "Default foundry-controller-leader");
	assert_contains(u, "Default enforce");
	assert_contains(u, "Default AzurePublicCloud");
	u = config_usage(CONFIG_CMD_HELP);
	assert_contains(u, "verify -f PATH");
	assert_contains(u, "render -f PATH");
	assert_contains(u, "--catalog-ttl");
	assert_contains(config_usage(CONFIG_CMD_VERSION), "Usage: foundry-controller version");
	assert_contains(config_usage(CONFIG_CMD_VERIFY), "Default table");
}

/* A failed allocation at every site is FC_ERR_NOMEM, "out of memory" and
 * nothing left allocated (LeakSanitizer and valgrind check the latter). */
static void fault_loop(const char *const *args)
{
	struct config cfg;
	char err[ERRLEN];
	unsigned long n;
	int argc = 0;
	fc_err rc;

	while (args[argc])
		argc++;
	for (n = 1;; n++) {
		failmalloc_start(n, 0);
		rc = config_parse(argc, args, fake_getenv, &cfg, err, sizeof(err));
		failmalloc_stop();
		if (!failmalloc_fired()) {
			assert_int_equal(rc, FC_OK);
			config_release(&cfg);
			break;
		}
		if (rc != FC_ERR_NOMEM)
			fail_msg("allocation %lu failed: rc %d, '%s'", n, (int)rc, err);
		assert_string_equal(err, "out of memory");
		/* nothing to free: all pointers NULL */
		assert_null(cfg.configmap_name);
		assert_null(cfg.files);
		assert_null(cfg.suggest_regions);
		config_release(&cfg);
	}
	assert_true(n > 10);
	{
		char what[64];

		snprintf(what, sizeof(what), "config parse (%s flags, env)", args[1]);
		failmalloc_report(what, n - 1);
	}
}

static void test_alloc_failures(void **state)
{
	(void)state;
	if (!failmalloc_works())
		skip();
	env_set("FOUNDRY_NAMESPACE", "ns");
	env_set("KUBECONFIG", "/k");
	env_set("AZURE_AUTHORITY_HOST", "https://127.0.0.1:1");
	fault_loop(ARGV("run", "--metrics-bind-address", "127.0.0.1:1",
			"--health-probe-bind-address=[::1]:2", "--suggest-regions", "a,b,c",
			"--azure-arm-endpoint", "https://127.0.0.1:1", "--azure-ca-file", "/ca",
			"--leader-election-namespace", "x", "--azure-cloud", "AzureChinaCloud",
			"--configmap-name", "cm", "--leader-election-id", "id",
			"--azure-imds-endpoint", "http://1.2.3.4"));
	fault_loop(ARGV("verify", "a", "-f", "b", "c", "--filename=d", "--suggest-regions=x,y",
			"--azure-authority-host", "https://login.example"));
	fault_loop(ARGV("render", "-f", "a", "--configmap-name", "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_duration_table, setup),
		cmocka_unit_test_setup(test_duration_flags, setup),
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_string_flags, setup),
		cmocka_unit_test_setup(test_env_precedence, setup),
		cmocka_unit_test_setup(test_kubeconfig_env, setup),
		cmocka_unit_test_setup(test_booleans, setup),
		cmocka_unit_test_setup(test_errors, setup),
		cmocka_unit_test_setup(test_long_values, setup),
		cmocka_unit_test_setup(test_clouds, setup),
		cmocka_unit_test_setup(test_bind_addresses, setup),
		cmocka_unit_test_setup(test_regions, setup),
		cmocka_unit_test_setup(test_verify_paths, setup),
		cmocka_unit_test_setup(test_help_version, setup),
		cmocka_unit_test_setup(test_usage_lists_flags, setup),
		cmocka_unit_test_setup(test_alloc_failures, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
