/* config.h - the command line of every subcommand (DESIGN.md §5).
 *
 *   foundry-controller [run] [flags]              the controller (default)
 *   foundry-controller verify -f PATH... [flags]  check manifests against Azure
 *   foundry-controller render -f PATH... [flags]  print the ConfigMap they give
 *   foundry-controller version | --version
 *   foundry-controller help [COMMAND] | --help | -h
 *
 * Flags take `--flag value` or `--flag=value`; short flags (-f, -o, -h) also
 * `-f value`, `-fvalue` and `-f=value`. A boolean is `--flag` or
 * `--flag=true|false` (never the next argument). `--` ends the flags. For
 * verify and render, flags and paths may be mixed in any order; a positional
 * argument is a path, as with -f. A repeated flag: the last one wins, except
 * -f which accumulates.
 *
 * Every long flag except --filename and --help is also read from the
 * environment as FOUNDRY_<FLAG> (upper case, dashes as underscores, e.g.
 * FOUNDRY_CATALOG_TTL); the command line wins, and only the flags of the
 * chosen subcommand are read. An empty value (flag or env) of an optional
 * string flag (--kubeconfig, --namespace, --leader-election-namespace,
 * --azure-ca-file) is the same as not giving it.
 * Further fallbacks: --kubeconfig <- $KUBECONFIG (run only); the authority
 * host <- $AZURE_AUTHORITY_HOST (as the Azure SDKs read it).
 *
 * Durations are Go-style: a sequence of decimal numbers, each with an
 * optional fraction and a unit (ns, us, µs, ms, s, m, h): "90s", "1h30m",
 * "1.5h", "250ms", "0s"; a lone "0" is accepted as in Go. Stored in
 * milliseconds, rounded up (so a positive duration is never 0). Negative
 * values, a missing or unknown unit and values over Go's limit
 * (2562047h47m16.854775807s) are errors.
 *
 * Bind addresses: "[HOST]:PORT" ("[::1]:PORT" for IPv6), PORT 0-65535 (0:
 * any free port, as in Go), an empty HOST meaning all interfaces; "0"
 * alone disables the server.
 *
 * Azure URLs (--azure-arm-endpoint, --azure-authority-host,
 * AZURE_AUTHORITY_HOST): https, or http for a loopback host only (the
 * emulator in tests); --azure-imds-endpoint may be http anywhere (IMDS is
 * plain http by design).
 *
 * Pure: no I/O; the environment is read through the getenv function given.
 */
#ifndef FC_CONFIG_H
#define FC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "log.h"
#include "spec.h"

enum config_cmd {
	CONFIG_CMD_RUN = 0,
	CONFIG_CMD_VERIFY,
	CONFIG_CMD_RENDER,
	CONFIG_CMD_VERSION,
	CONFIG_CMD_HELP,    /* top-level help: `help`, `--help`, `-h` */
	CONFIG_CMD__COUNT
};

enum config_output { CONFIG_OUTPUT_TABLE = 0, CONFIG_OUTPUT_JSON };

enum config_cloud {
	CONFIG_CLOUD_PUBLIC = 0,  /* AzurePublicCloud (default) */
	CONFIG_CLOUD_CHINA,       /* AzureChinaCloud */
	CONFIG_CLOUD_USGOV,       /* AzureUSGovernment */
};

/* A server's listen address. */
struct config_bind {
	char *addr;   /* as given (":8080", "127.0.0.1:9090", "0"), owned */
	char *host;   /* owned; NULL = all interfaces (IPv6 without brackets) */
	int port;     /* 0-65535; 0 with enabled: any free port (as Go's ":0") */
	int enabled;  /* 0 when the address is "0" (server disabled) */
};

#define CONFIG_DEFAULT_CONFIGMAP "llm-config"
#define CONFIG_DEFAULT_LEADER_ELECTION_ID "foundry-controller-leader"
#define CONFIG_DEFAULT_IMDS_ENDPOINT "http://169.254.169.254"
#define CONFIG_MAX_REGIONS 64

/* Every string is owned by the struct (freed by config_release); a NULL
 * optional string means "not given". Durations are in milliseconds. */
struct config {
	enum config_cmd cmd;
	int help;                          /* --help/-h/help: print config_usage(cmd), exit 0 */

	/* run */
	char *kubeconfig;                  /* --kubeconfig, else $KUBECONFIG; NULL = in-cluster */
	char *namespace;                   /* --namespace; NULL = all namespaces */
	char *configmap_name;              /* --configmap-name (run, render), "llm-config" */
	struct config_bind metrics_bind;   /* --metrics-bind-address, ":8080" */
	struct config_bind health_bind;    /* --health-probe-bind-address, ":8081" */
	int leader_elect;                  /* --leader-elect, false */
	char *leader_election_namespace;   /* NULL = the controller's own namespace */
	char *leader_election_id;          /* Lease name, "foundry-controller-leader" */
	int64_t resync_period_ms;          /* --resync-period, 10h; 0 = no periodic resync */
	int64_t kube_timeout_ms;           /* --kube-timeout, 30s, > 0 (non-watch requests) */

	/* Azure (run, verify) */
	enum validation_mode azure_validation; /* --azure-validation enforce|warn|off, enforce */
	int64_t catalog_ttl_ms;            /* --catalog-ttl, 1h; 0 = no cache */
	int64_t deployment_ttl_ms;         /* --deployment-ttl, 5m; 0 = no cache */
	char **suggest_regions;            /* --suggest-regions, lower case, deduplicated */
	size_t nsuggest_regions;
	int64_t retirement_warning_ms;     /* --retirement-warning, 2160h (90 days) */
	enum config_cloud azure_cloud;     /* --azure-cloud, AzurePublicCloud */
	char *azure_arm_endpoint;          /* no trailing '/'; cloud's or --azure-arm-endpoint */
	char *azure_authority_host;        /* exactly one trailing '/'; cloud's, or
					    * --azure-authority-host, or $AZURE_AUTHORITY_HOST */
	char *azure_arm_audience;          /* the cloud's, with a trailing '/'; the token
					    * scope is this without its '/' + "/.default" */
	char *azure_imds_endpoint;         /* no trailing '/'; "http://169.254.169.254" */
	char *azure_ca_file;               /* extra CA bundle, or NULL */

	/* verify, render */
	char **files;                      /* -f/--filename and positional paths, in order */
	size_t nfiles;                     /* >= 1 for verify and render */
	enum config_output output;         /* verify -o/--output table|json, table */
	int check_deployments;             /* verify --check-deployments, false */

	/* all but version/help */
	enum log_format log_format;        /* --log-format text|json, text */
	enum log_level log_level;          /* --log-level debug|info|warn|error, info */
};

/* Reads an environment variable (getenv's signature); NULL = not set. */
typedef char *(*config_getenv_fn)(const char *name);

/* Fills cfg with the defaults of every flag (subcommand run). Returns
 * FC_ERR_NOMEM (cfg then holds nothing). Release with config_release(). */
fc_err config_init(struct config *cfg);

/* Parses argv[1..argc-1] (argv[0] is the program name) and the environment
 * (getenv_fn may be NULL: no environment). On FC_ERR_INVAL writes a one-line
 * message naming the flag or env variable to errbuf, e.g.
 *   invalid value "abc" for --catalog-ttl: not a duration (use e.g. 90s, 5m, 1h)
 *   unknown flag --foo for "run"
 *   unknown subcommand "frobnicate"
 * (FC_ERR_NOMEM writes "out of memory"). On error cfg holds nothing to
 * free; on success the caller releases it with config_release(). When
 * cfg->help is set the rest of the command line is not checked. argv is
 * borrowed. */
fc_err config_parse(int argc, const char *const *argv, config_getenv_fn getenv_fn,
		    struct config *cfg, char *errbuf, size_t errlen);

/* Frees the contents of cfg and zeroes it; safe on a zeroed struct and
 * twice in a row. */
void config_release(struct config *cfg);

/* The help text of a subcommand (CONFIG_CMD_HELP: the overview plus run's
 * flags): every flag with its default and env name. Static storage. */
const char *config_usage(enum config_cmd cmd);

/* "run", "verify", "render", "version", "help". Static storage. */
const char *config_cmd_name(enum config_cmd cmd);

/* "AzurePublicCloud", "AzureChinaCloud", "AzureUSGovernment". Static. */
const char *config_cloud_name(enum config_cloud cloud);

/* Parses a Go-style duration (see above) into milliseconds. On FC_ERR_PARSE
 * *why (if not NULL) is a static reason ("not a duration (use e.g. 90s, 5m,
 * 1h)", "missing unit ...", "must not be negative", ...). */
fc_err config_parse_duration(const char *s, int64_t *out_ms, const char **why);

#endif /* FC_CONFIG_H */
