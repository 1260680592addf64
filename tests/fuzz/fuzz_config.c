/* fuzz_config.c - the command line and FOUNDRY_* environment (config.h):
 * config_parse and config_parse_duration.
 *
 * Input: tokens separated by NUL or newline bytes. A token "@NAME=value"
 * sets environment variable NAME (seen through config_parse's getenv);
 * the others are argv[1..] (argv[0] is the program name). Every token is
 * also parsed as a duration.
 * Properties: a duration is >= 0 and its "<n>ms" form parses back to it
 * (below Go's limit); an error has a message (a reason for durations); a
 * successful parse fills what the subcommand needs (verify/render: at least
 * one file; run: positive timeouts, ports in range, lower-case regions,
 * URLs with the documented trailing '/'); config_release twice is harmless.
 */
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define MAX_TOKENS 64

static const char *env_names[MAX_TOKENS];
static const char *env_values[MAX_TOKENS];
static size_t nenv;

static char *fake_getenv(const char *name)
{
	/* the last one set wins, as with setenv */
	for (size_t i = nenv; i-- > 0;)
		if (!strcmp(env_names[i], name))
			return (char *)env_values[i];
	return NULL;
}

static void duration(const char *s)
{
	int64_t ms = -1, ms2 = -1;
	const char *why = NULL;
	char again[64];

	if (config_parse_duration(s, &ms, &why) == FC_OK) {
		FUZZ_CHECK(ms >= 0);
		/* rounded up to ms, Go's maximum (in ns) can give one ms too many */
		if (ms > INT64_MAX / 1000000)
			return;
		snprintf(again, sizeof(again), "%lldms", (long long)ms);
		FUZZ_CHECK(config_parse_duration(again, &ms2, NULL) == FC_OK);
		FUZZ_CHECK(ms2 == ms);
	} else {
		FUZZ_CHECK(why && *why);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[MAX_TOKENS + 1];
	struct config cfg;
	char errbuf[512];
	char *copy;
	int argc = 1;
	fc_err rc;

	fuzz_quiet_log();
	if (size > 4096)
		return 0;
	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	nenv = 0;
	argv[0] = "foundry-controller";
	for (char *p = copy, *end = copy + size;
	     p <= end && argc < MAX_TOKENS && nenv < MAX_TOKENS;) {
		char *q = p;

		while (q < end && *q != '\0' && *q != '\n')
			q++;
		*q = '\0';
		duration(p);
		if (p[0] == '@' && strchr(p, '=')) {
			char *eq = strchr(p, '=');

			*eq = '\0';
			env_names[nenv] = p + 1;
			env_values[nenv++] = eq + 1;
		} else {
			argv[argc++] = p;
		}
		p = q + 1;
	}
	argv[argc] = NULL;
	memset(&cfg, 0, sizeof(cfg));
	memset(errbuf, 'x', sizeof(errbuf));
	rc = config_parse(argc, argv, fake_getenv, &cfg, errbuf, sizeof(errbuf));
	if (rc) {
		FUZZ_CHECK(memchr(errbuf, '\0', sizeof(errbuf)));
		FUZZ_CHECK(rc == FC_ERR_INVAL || rc == FC_ERR_NOMEM);
		FUZZ_CHECK(errbuf[0]);
	} else if (!cfg.help) {
		FUZZ_CHECK(cfg.cmd < CONFIG_CMD__COUNT);
		FUZZ_CHECK(config_cmd_name(cfg.cmd));
		FUZZ_CHECK(config_usage(cfg.cmd));
		if (cfg.cmd == CONFIG_CMD_VERIFY || cfg.cmd == CONFIG_CMD_RENDER) {
			FUZZ_CHECK(cfg.nfiles >= 1);
			for (size_t i = 0; i < cfg.nfiles; i++)
				FUZZ_CHECK(cfg.files[i]);
		}
		if (cfg.cmd == CONFIG_CMD_RUN) {
			FUZZ_CHECK(cfg.configmap_name && *cfg.configmap_name);
			FUZZ_CHECK(cfg.kube_timeout_ms > 0);
			FUZZ_CHECK(cfg.resync_period_ms >= 0 && cfg.catalog_ttl_ms >= 0 &&
				   cfg.deployment_ttl_ms >= 0 && cfg.retirement_warning_ms >= 0);
			FUZZ_CHECK(cfg.metrics_bind.port >= 0 && cfg.metrics_bind.port <= 65535);
			FUZZ_CHECK(cfg.health_bind.port >= 0 && cfg.health_bind.port <= 65535);
		}
		if (cfg.azure_arm_endpoint) {
			size_t n = strlen(cfg.azure_arm_endpoint);

			FUZZ_CHECK(n && cfg.azure_arm_endpoint[n - 1] != '/');
		}
		if (cfg.azure_authority_host) {
			size_t n = strlen(cfg.azure_authority_host);

			FUZZ_CHECK(n >= 2 && cfg.azure_authority_host[n - 1] == '/' &&
				   cfg.azure_authority_host[n - 2] != '/');
		}
		for (size_t i = 0; i < cfg.nsuggest_regions; i++)
			for (const char *c = cfg.suggest_regions[i]; *c; c++)
				FUZZ_CHECK(!(*c >= 'A' && *c <= 'Z'));
	}
	config_release(&cfg);
	config_release(&cfg);
	free(copy);
	return 0;
}
