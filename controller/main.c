/* main.c - parses the command line, sets up logging and dispatches to a
 * subcommand (cmd.h). The only place that calls exit().
 *
 * Exit codes: the subcommand's; 0 for help and version; 2 for a usage error
 * (one line naming the flag, then a pointer to --help, on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curlver.h>   /* version macros only: http.c is the curl user */
#include <lws_config.h>     /* version macros only: httpd.c is the lws user */
#include <yaml.h>

#include "cmd.h"
#include "config.h"
#include "log.h"

#ifndef FC_VERSION
#define FC_VERSION "0.0.0-dev"
#endif

#define ERR_MAX 512

/* "4.1.6-" -> "4.1.6": lws appends a '-' and its git hash when it has one. */
static void print_lib(const char *name, const char *version)
{
	size_t len = strlen(version);

	while (len && version[len - 1] == '-')
		len--;
	printf(" %s/%.*s", name, (int)len, version);
}

static int print_version(void)
{
	printf("foundry-controller %s\n", FC_VERSION);
	printf("built with");
	print_lib("libcurl", LIBCURL_VERSION);
	print_lib("cJSON", cJSON_Version());
	print_lib("libyaml", yaml_get_version_string());
	print_lib("libwebsockets", LWS_LIBRARY_VERSION);
	printf("\n");
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct config cfg;
	char err[ERR_MAX];
	int code;

	if (config_parse(argc, (const char *const *)argv, getenv, &cfg, err, sizeof(err))) {
		fprintf(stderr, "foundry-controller: %s\n"
			"Run 'foundry-controller --help' for usage.\n", err);
		exit(2);
	}
	if (cfg.help) {
		fputs(config_usage(cfg.cmd), stdout);
		code = fflush(stdout) ? 1 : 0;
		goto out;
	}
	log_setup(cfg.log_level, cfg.log_format, NULL);
	switch (cfg.cmd) {
	case CONFIG_CMD_RUN:
		code = cmd_run(&cfg);
		break;
	case CONFIG_CMD_VERIFY:
		code = cmd_verify(&cfg);
		break;
	case CONFIG_CMD_RENDER:
		code = cmd_render(&cfg);
		break;
	case CONFIG_CMD_VERSION:
		code = print_version();
		break;
	default:
		FC_BUG("unhandled subcommand %d", (int)cfg.cmd);
	}
out:
	config_release(&cfg);
	exit(code);
}
