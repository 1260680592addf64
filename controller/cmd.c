#include "cmd.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "azure_auth.h"
#include "azure_client.h"
#include "controller.h"
#include "http.h"
#include "log.h"
#include "manifest.h"
#include "verify.h"

int cmd_run(const struct config *cfg)
{
	sigset_t set;
	int code;

	/* every thread inherits this mask; controller_run waits with sigwait */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
	/* One malloc arena: with one per thread (informers, workers), memory
	 * freed by one thread is not reused by the others and RSS adds up;
	 * these threads allocate little and rarely at once. A fixed mmap
	 * threshold keeps large buffers (list pages, bodies) out of the heap. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
	if (http_global_init()) {
		log_error("cannot initialise libcurl", NULL);
		return 1;
	}
	code = controller_run(cfg);
	http_global_cleanup();
	return code;
}

/* Writes len bytes to stdout; 0 or -1 (a closed pipe, a full disk). */
static int write_stdout(const char *data, size_t len)
{
	if (len && fwrite(data, 1, len, stdout) != len)
		return -1;
	return fflush(stdout) ? -1 : 0;
}

static void print_msgs(const char *sub, const struct verify_msgs *m)
{
	for (size_t i = 0; i < m->n; i++)
		fprintf(stderr, "%s: %s\n", sub, m->v[i]);
}

/* verify (DESIGN.md §5): exit 0 all available, 1 some unavailable, 2 an
 * unknown row, a malformed or unreadable manifest, unusable credentials. */
int cmd_verify(const struct config *cfg)
{
	struct manifest_set docs;
	struct http_transport *t = NULL;
	struct azure_auth *auth = NULL;
	struct azure_client *ac = NULL;
	struct verify_result res;
	struct verify_options opt;
	struct buf out;
	char err[MANIFEST_ERR_MAX];
	int code = 2;
	fc_err rc;

	memset(&res, 0, sizeof(res));
	manifest_set_init(&docs);
	buf_init(&out, VERIFY_MAX_OUTPUT);
	signal(SIGPIPE, SIG_IGN);
	if (manifest_load(&docs, cfg->files, cfg->nfiles, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (cfg->azure_validation != VALIDATION_SKIP) {
		struct azure_auth_options ao;
		struct azure_client_options co;

		if (http_transport_curl_new(&t)) {
			fprintf(stderr, "verify: cannot initialise libcurl\n");
			goto out;
		}
		controller_azure_options(cfg, t, &ao, &co);
		err[0] = '\0';
		if ((rc = azure_auth_new(&ao, &auth, err, sizeof(err)))) {
			fprintf(stderr, "verify: Azure credentials: %s\n", *err ? err : fc_strerror(rc));
			goto out;
		}
		co.auth = auth;
		if (azure_client_new(&co, &ac)) {
			fprintf(stderr, "verify: out of memory\n");
			goto out;
		}
	}
	memset(&opt, 0, sizeof(opt));
	opt.default_validation = cfg->azure_validation;
	opt.default_configmap = cfg->configmap_name;
	opt.check_deployments = cfg->check_deployments;
	opt.auth = auth;
	if (verify_run(&docs, ac, &opt, &res, err, sizeof(err))) {
		fprintf(stderr, "verify: %s\n", err);
		goto out;
	}
	print_msgs("verify", &res.warnings);
	print_msgs("verify", &res.errors);
	if (!res.nrows)
		fprintf(stderr, "verify: no FoundryModel in the given manifests\n");
	rc = cfg->output == CONFIG_OUTPUT_JSON ? verify_format_json(res.rows, res.nrows, &out)
					       : verify_format_table(res.rows, res.nrows, &out);
	if (rc || write_stdout(out.data, out.len)) {
		fprintf(stderr, "verify: cannot write the result: %s\n", fc_strerror(rc ? rc : FC_ERR_IO));
		goto out;
	}
	code = verify_exit_code(&res);
out:
	verify_result_release(&res);
	buf_release(&out);
	azure_client_free(ac);
	azure_auth_free(auth);
	http_transport_free(t);
	manifest_set_release(&docs);
	return code;
}

/* render: the ConfigMaps on stdout; exit 0, or 2 on a malformed or
 * invalid manifest (nothing printed then). */
int cmd_render(const struct config *cfg)
{
	struct manifest_set docs;
	struct verify_render_result res;
	char err[MANIFEST_ERR_MAX];
	int code = 2;

	memset(&res, 0, sizeof(res));
	manifest_set_init(&docs);
	signal(SIGPIPE, SIG_IGN);
	if (manifest_load(&docs, cfg->files, cfg->nfiles, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (verify_render(&docs, cfg->configmap_name, &res, err, sizeof(err))) {
		fprintf(stderr, "render: %s\n", err);
		goto out;
	}
	print_msgs("render", &res.warnings);
	print_msgs("render", &res.errors);
	if (res.errors.n)
		goto out;
	if (!res.nconfigmaps)
		fprintf(stderr, "render: these manifests give no ConfigMap keys\n");
	if (write_stdout(res.yaml, strlen(res.yaml))) {
		fprintf(stderr, "render: cannot write the result\n");
		goto out;
	}
	code = 0;
out:
	verify_render_result_release(&res);
	manifest_set_release(&docs);
	return code;
}
