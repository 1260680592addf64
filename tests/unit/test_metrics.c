/* Unit tests: metrics.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "metrics.h"

#define RENDER_MAX (4u << 20)

static const double small_bounds[] = { 0.1, 1, 10 };

/* Renders m into a string the caller frees. */
static char *render(struct metrics *m)
{
	struct buf b;
	char *s;

	buf_init(&b, RENDER_MAX);
	assert_int_equal(metrics_render(m, &b), FC_OK);
	s = buf_take(&b);
	assert_non_null(s);
	return s;
}

static struct metrics *new_registry(size_t max_series)
{
	struct metrics *m = NULL;

	assert_int_equal(metrics_new(max_series, &m), FC_OK);
	assert_non_null(m);
	return m;
}

static void test_render_golden(void **state)
{
	struct metrics *m = new_registry(0);
	char *out;
	const char *want =
		"# HELP a_gauge A gauge.\n"
		"# TYPE a_gauge gauge\n"
		"a_gauge 2.5\n"
		"# HELP b_total Things done.\n"
		"# TYPE b_total counter\n"
		"b_total{controller=\"fa\",result=\"error\"} 1\n"
		"b_total{controller=\"fm\",result=\"error\"} 2\n"
		"b_total{controller=\"fm\",result=\"success\"} 3\n"
		"# HELP c_seconds Latency.\n"
		"# TYPE c_seconds histogram\n"
		"c_seconds_bucket{call=\"get\",le=\"0.1\"} 2\n"
		"c_seconds_bucket{call=\"get\",le=\"1\"} 3\n"
		"c_seconds_bucket{call=\"get\",le=\"10\"} 3\n"
		"c_seconds_bucket{call=\"get\",le=\"+Inf\"} 4\n"
		"c_seconds_sum{call=\"get\"} 100.65\n"
		"c_seconds_count{call=\"get\"} 4\n"
		"# HELP d_hist Unlabelled histogram.\n"
		"# TYPE d_hist histogram\n"
		"d_hist_bucket{le=\"0.1\"} 0\n"
		"d_hist_bucket{le=\"1\"} 0\n"
		"d_hist_bucket{le=\"10\"} 0\n"
		"d_hist_bucket{le=\"+Inf\"} 0\n"
		"d_hist_sum 0\n"
		"d_hist_count 0\n";

	(void)state;
	/* declared out of order: rendering sorts families by name */
	assert_int_equal(metrics_declare(m, "b_total", "Things done.", METRICS_COUNTER,
					 "controller", "result", NULL), FC_OK);
	assert_int_equal(metrics_declare_histogram(m, "c_seconds", "Latency.", small_bounds, 3,
						   "call", NULL), FC_OK);
	assert_int_equal(metrics_declare_histogram(m, "d_hist", "Unlabelled histogram.",
						   small_bounds, 3, NULL), FC_OK);
	assert_int_equal(metrics_declare(m, "a_gauge", "A gauge.", METRICS_GAUGE, NULL), FC_OK);
	assert_int_equal(metrics_declare(m, "e_empty", "No series yet.", METRICS_GAUGE, "x", NULL),
			 FC_OK);

	assert_int_equal(metrics_counter_add(m, "b_total", METRICS_LABELS("fm", "success"), 3), FC_OK);
	assert_int_equal(metrics_counter_inc(m, "b_total", METRICS_LABELS("fm", "error")), FC_OK);
	assert_int_equal(metrics_counter_inc(m, "b_total", METRICS_LABELS("fm", "error")), FC_OK);
	assert_int_equal(metrics_counter_inc(m, "b_total", METRICS_LABELS("fa", "error")), FC_OK);
	assert_int_equal(metrics_gauge_set(m, "a_gauge", NULL, 1), FC_OK);
	assert_int_equal(metrics_gauge_add(m, "a_gauge", NULL, 1.5), FC_OK);
	/* 0.1 is on a bound: it belongs to le="0.1" (upper bounds inclusive) */
	assert_int_equal(metrics_histogram_observe(m, "c_seconds", METRICS_LABELS("get"), 0.05), FC_OK);
	assert_int_equal(metrics_histogram_observe(m, "c_seconds", METRICS_LABELS("get"), 0.1), FC_OK);
	assert_int_equal(metrics_histogram_observe(m, "c_seconds", METRICS_LABELS("get"), 0.5), FC_OK);
	assert_int_equal(metrics_histogram_observe(m, "c_seconds", METRICS_LABELS("get"), 100), FC_OK);

	out = render(m);
	assert_string_equal(out, want);
	free(out);
	metrics_free(m);
}

static void test_escaping(void **state)
{
	struct metrics *m = new_registry(0);
	char *out;
	const char *want =
		"# HELP esc Back\\\\slash \"quotes\" stay\\nnew line.\n"
		"# TYPE esc gauge\n"
		"esc{v=\"\"} 1\n"
		"esc{v=\"a\\\\b\\\"c\\nd\"} 2\n"
		"esc{v=\"caf\xc3\xa9 \xe2\x82\xac\"} 3\n";

	(void)state;
	assert_int_equal(metrics_declare(m, "esc", "Back\\slash \"quotes\" stay\nnew line.",
					 METRICS_GAUGE, "v", NULL), FC_OK);
	assert_int_equal(metrics_gauge_set(m, "esc", METRICS_LABELS("a\\b\"c\nd"), 2), FC_OK);
	assert_int_equal(metrics_gauge_set(m, "esc", METRICS_LABELS(""), 1), FC_OK);
	assert_int_equal(metrics_gauge_set(m, "esc", METRICS_LABELS("caf\xc3\xa9 \xe2\x82\xac"), 3),
			 FC_OK);
	/* invalid UTF-8: truncated sequence, overlong '/', surrogate, stray byte */
	assert_int_equal(metrics_gauge_set(m, "esc", METRICS_LABELS("caf\xc3"), 1), FC_ERR_INVAL);
	assert_int_equal(metrics_gauge_set(m, "esc", METRICS_LABELS("\xc0\xaf"), 1), FC_ERR_INVAL);
	assert_int_equal(metrics_gauge_set(m, "esc", METRICS_LABELS("\xed\xa0\x80"), 1), FC_ERR_INVAL);
	assert_int_equal(metrics_gauge_set(m, "esc", METRICS_LABELS("\x80"), 1), FC_ERR_INVAL);
	out = render(m);
	assert_string_equal(out, want);
	free(out);
	metrics_free(m);
}

static void test_number_format(void **state)
{
	static const struct {
		double v;
		const char *want;
	} cases[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ -2, "-2" },
		{ 0.1, "0.1" },
		{ 2.5, "2.5" },
		{ 1e6, "1000000" },
		{ 1e15, "1e+15" },
		{ 123456789012345, "123456789012345" },
		{ 1e-4, "0.0001" },
		{ 1e-5, "1e-05" },
		{ 1.25e-3, "0.00125" },
		{ -0.5, "-0.5" },
		{ 123456789, "123456789" },
		{ 1.5e-7, "1.5e-07" },
		{ 1781222400, "1781222400" },
		{ 0.30000000000000004, "0.30000000000000004" },
		{ INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" },
		{ NAN, "NaN" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct metrics *m = new_registry(0);
		char want[128];
		char *out;

		assert_int_equal(metrics_declare(m, "g", "h", METRICS_GAUGE, NULL), FC_OK);
		assert_int_equal(metrics_gauge_set(m, "g", NULL, cases[i].v), FC_OK);
		out = render(m);
		snprintf(want, sizeof(want), "# HELP g h\n# TYPE g gauge\ng %s\n", cases[i].want);
		assert_string_equal(out, want);
		free(out);
		metrics_free(m);
	}
}

static void test_histogram_cumulative(void **state)
{
	struct metrics *m = new_registry(0);
	char *out, line[128];
	size_t i;
	double count;

	(void)state;
	/* default buckets for a histogram declared with metrics_declare */
	assert_int_equal(metrics_declare(m, "rt", "h", METRICS_HISTOGRAM, "controller", NULL), FC_OK);
	for (i = 0; i < 100; i++)
		assert_int_equal(metrics_histogram_observe(m, "rt", METRICS_LABELS("c"),
							   (double)i * 0.01), FC_OK);
	assert_int_equal(metrics_histogram_observe(m, "rt", METRICS_LABELS("c"), 61), FC_OK);
	assert_int_equal(metrics_histogram_observe(m, "rt", METRICS_LABELS("c"), -1), FC_OK);
	assert_int_equal(metrics_get(m, "rt", METRICS_LABELS("c"), &count), FC_OK);
	assert_true(count == 102);
	out = render(m);
	/* 0..0.99 step 0.01 plus -1: 0.005 holds {-1, 0} */
	assert_non_null(strstr(out, "rt_bucket{controller=\"c\",le=\"0.005\"} 2\n"));
	assert_non_null(strstr(out, "rt_bucket{controller=\"c\",le=\"0.5\"} 52\n"));
	assert_non_null(strstr(out, "rt_bucket{controller=\"c\",le=\"1\"} 101\n"));
	assert_non_null(strstr(out, "rt_bucket{controller=\"c\",le=\"60\"} 101\n"));
	assert_non_null(strstr(out, "rt_bucket{controller=\"c\",le=\"+Inf\"} 102\n"));
	assert_non_null(strstr(out, "rt_count{controller=\"c\"} 102\n"));
	/* every bound of the controller-runtime set, in order, non-decreasing */
	{
		const char *p = out;
		unsigned long long prev = 0;

		for (i = 0; i <= metrics_reconcile_buckets_len; i++) {
			char le[32];
			unsigned long long v;

			if (i < metrics_reconcile_buckets_len)
				snprintf(le, sizeof(le), "%g", metrics_reconcile_buckets[i]);
			else
				snprintf(le, sizeof(le), "+Inf");
			snprintf(line, sizeof(line), "rt_bucket{controller=\"c\",le=\"%s\"} ", le);
			p = strstr(p, line);
			assert_non_null(p);
			p += strlen(line);
			v = strtoull(p, NULL, 10);
			assert_true(v >= prev);
			prev = v;
		}
	}
	assert_int_equal(metrics_reconcile_buckets_len, 40);
	free(out);
	metrics_free(m);
}

static void test_errors(void **state)
{
	struct metrics *m = new_registry(0);
	static const double bad1[] = { 1, 1 };
	static const double bad2[] = { 2, 1 };
	static const double bad3[] = { 1, NAN };
	static const double inf_ok[] = { 1, 2, INFINITY };
	char big[METRICS_MAX_LABEL_VALUE + 2];
	double v;

	(void)state;
	assert_int_equal(metrics_declare(m, "c_total", "h", METRICS_COUNTER, "a", NULL), FC_OK);
	assert_int_equal(metrics_declare(m, "g", "h", METRICS_GAUGE, NULL), FC_OK);
	assert_int_equal(metrics_declare(m, "c_total", "h", METRICS_COUNTER, "a", NULL),
			 FC_ERR_CONFLICT);
	assert_int_equal(metrics_declare(m, "9bad", "h", METRICS_GAUGE, NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare(m, "bad-name", "h", METRICS_GAUGE, NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare(m, "", "h", METRICS_GAUGE, NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare(m, "ns:ok", "h", METRICS_GAUGE, NULL), FC_OK);
	assert_int_equal(metrics_declare(m, "x", "h", METRICS_GAUGE, "a:b", NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare(m, "x", "h", METRICS_GAUGE, "__a", NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare(m, "x", "h", METRICS_GAUGE, "a", "a", NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare(m, "x", "h", METRICS_HISTOGRAM, "le", NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare(m, "x", "h", METRICS_GAUGE, "le", NULL), FC_OK);
	assert_int_equal(metrics_declare(m, "y", "h", METRICS_GAUGE, "l1", "l2", "l3", "l4", "l5",
					 "l6", "l7", "l8", "l9", NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare(m, "y", NULL, METRICS_GAUGE, NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare(m, "y", "h", (enum metrics_type)7, NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare_histogram(m, "y", "h", bad1, 2, NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare_histogram(m, "y", "h", bad2, 2, NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare_histogram(m, "y", "h", bad3, 2, NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare_histogram(m, "y", "h", NULL, 2, NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_declare_histogram(m, "y", "h", inf_ok, 3, NULL), FC_OK);
	assert_int_equal(metrics_declare_histogram(m, "z", "h", NULL, 0, NULL), FC_OK);
	assert_int_equal(metrics_histogram_observe(m, "z", NULL, 5), FC_OK);

	assert_int_equal(metrics_counter_inc(m, "nope", NULL), FC_ERR_NOTFOUND);
	assert_int_equal(metrics_gauge_set(m, "c_total", METRICS_LABELS("x"), 1), FC_ERR_INVAL);
	assert_int_equal(metrics_counter_inc(m, "g", NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_histogram_observe(m, "g", NULL, 1), FC_ERR_INVAL);
	assert_int_equal(metrics_counter_add(m, "c_total", METRICS_LABELS("x"), -1), FC_ERR_INVAL);
	assert_int_equal(metrics_counter_add(m, "c_total", METRICS_LABELS("x"), NAN), FC_ERR_INVAL);
	assert_int_equal(metrics_histogram_observe(m, "y", NULL, NAN), FC_ERR_INVAL);
	assert_int_equal(metrics_counter_inc(m, "c_total", NULL), FC_ERR_INVAL);
	assert_int_equal(metrics_counter_inc(m, "c_total", METRICS_LABELS(NULL)), FC_ERR_INVAL);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(metrics_counter_inc(m, "c_total", METRICS_LABELS(big)), FC_ERR_TOOBIG);
	big[METRICS_MAX_LABEL_VALUE] = '\0';
	assert_int_equal(metrics_counter_inc(m, "c_total", METRICS_LABELS(big)), FC_OK);
	assert_int_equal(metrics_get(m, "c_total", METRICS_LABELS("x"), &v), FC_ERR_NOTFOUND);
	assert_int_equal(metrics_get(m, "nope", NULL, &v), FC_ERR_NOTFOUND);
	metrics_free(m);
	metrics_free(NULL);
}

static void test_delete_clear(void **state)
{
	struct metrics *m = new_registry(0);
	double v;
	char *out;

	(void)state;
	assert_int_equal(metrics_declare(m, "ret", "h", METRICS_GAUGE, "namespace", "name", NULL),
			 FC_OK);
	assert_int_equal(metrics_declare(m, "one", "h", METRICS_GAUGE, NULL), FC_OK);
	assert_int_equal(metrics_gauge_set(m, "ret", METRICS_LABELS("a", "m1"), 10), FC_OK);
	assert_int_equal(metrics_gauge_set(m, "ret", METRICS_LABELS("a", "m2"), 20), FC_OK);
	assert_int_equal(metrics_gauge_set(m, "ret", METRICS_LABELS("b", "m1"), 30), FC_OK);
	assert_int_equal(metrics_gauge_set(m, "one", NULL, 5), FC_OK);

	assert_int_equal(metrics_delete(m, "ret", METRICS_LABELS("a", "m2")), FC_OK);
	assert_int_equal(metrics_delete(m, "ret", METRICS_LABELS("a", "m2")), FC_ERR_NOTFOUND);
	assert_int_equal(metrics_delete(m, "nope", NULL), FC_ERR_NOTFOUND);
	assert_int_equal(metrics_get(m, "ret", METRICS_LABELS("a", "m2"), &v), FC_ERR_NOTFOUND);
	assert_int_equal(metrics_get(m, "ret", METRICS_LABELS("b", "m1"), &v), FC_OK);
	assert_true(v == 30);
	out = render(m);
	assert_string_equal(out, "# HELP one h\n# TYPE one gauge\none 5\n"
				 "# HELP ret h\n# TYPE ret gauge\n"
				 "ret{namespace=\"a\",name=\"m1\"} 10\n"
				 "ret{namespace=\"b\",name=\"m1\"} 30\n");
	free(out);

	assert_int_equal(metrics_delete(m, "one", NULL), FC_OK); /* reset, kept */
	assert_int_equal(metrics_clear(m, "ret"), FC_OK);
	assert_int_equal(metrics_clear(m, "nope"), FC_ERR_NOTFOUND);
	out = render(m);
	assert_string_equal(out, "# HELP one h\n# TYPE one gauge\none 0\n");
	free(out);
	/* usable after clear */
	assert_int_equal(metrics_gauge_set(m, "ret", METRICS_LABELS("c", "m"), 1), FC_OK);
	assert_int_equal(metrics_gauge_set(m, "one", NULL, 2), FC_OK);
	assert_int_equal(metrics_clear(m, "one"), FC_OK);
	assert_int_equal(metrics_get(m, "one", NULL, &v), FC_OK);
	assert_true(v == 0);
	metrics_free(m);
}

static void test_series_cap(void **state)
{
	struct metrics *m = new_registry(3);
	char name[16];
	double v;
	char *out;
	int i;

	(void)state;
	assert_int_equal(metrics_declare(m, "w_total", "h", METRICS_COUNTER, "id", NULL), FC_OK);
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		assert_int_equal(metrics_counter_inc(m, "w_total", METRICS_LABELS(name)),
				 i < 3 ? FC_OK : FC_ERR_TOOBIG);
	}
	/* existing series keep working at the cap */
	assert_int_equal(metrics_counter_inc(m, "w_total", METRICS_LABELS("n0")), FC_OK);
	assert_int_equal(metrics_get(m, "w_total", METRICS_LABELS("n0"), &v), FC_OK);
	assert_true(v == 2);
	assert_int_equal(metrics_get(m, METRICS_SERIES_DROPPED_TOTAL, METRICS_LABELS("w_total"), &v),
			 FC_OK);
	assert_true(v == 2);
	out = render(m);
	assert_string_equal(out,
			    "# HELP foundry_metrics_series_dropped_total Series updates dropped because "
			    "the family reached its series limit.\n"
			    "# TYPE foundry_metrics_series_dropped_total counter\n"
			    "foundry_metrics_series_dropped_total{metric=\"w_total\"} 2\n"
			    "# HELP w_total h\n# TYPE w_total counter\n"
			    "w_total{id=\"n0\"} 2\nw_total{id=\"n1\"} 1\nw_total{id=\"n2\"} 1\n");
	free(out);
	/* deleting frees a slot */
	assert_int_equal(metrics_delete(m, "w_total", METRICS_LABELS("n1")), FC_OK);
	assert_int_equal(metrics_counter_inc(m, "w_total", METRICS_LABELS("n9")), FC_OK);
	metrics_free(m);
}

static void test_series_cap_default(void **state)
{
	struct metrics *m = new_registry(0);
	char name[16];
	double v;
	int i;

	(void)state;
	assert_int_equal(metrics_declare(m, "boom", "h", METRICS_GAUGE, "id", NULL), FC_OK);
	for (i = 0; i < METRICS_DEFAULT_MAX_SERIES + 100; i++) {
		snprintf(name, sizeof(name), "%d", i);
		assert_int_equal(metrics_gauge_set(m, "boom", METRICS_LABELS(name), i),
				 i < METRICS_DEFAULT_MAX_SERIES ? FC_OK : FC_ERR_TOOBIG);
	}
	assert_int_equal(metrics_get(m, METRICS_SERIES_DROPPED_TOTAL, METRICS_LABELS("boom"), &v),
			 FC_OK);
	assert_true(v == 100);
	assert_int_equal(metrics_get(m, "boom", METRICS_LABELS("9999"), &v), FC_OK);
	assert_true(v == 9999);
	metrics_free(m);
}

static void test_render_toobig(void **state)
{
	struct metrics *m = new_registry(0);
	struct buf b;

	(void)state;
	assert_int_equal(metrics_declare(m, "g", "help text", METRICS_GAUGE, "x", NULL), FC_OK);
	assert_int_equal(metrics_gauge_set(m, "g", METRICS_LABELS("value"), 1), FC_OK);
	buf_init(&b, 30);
	assert_int_equal(metrics_render(m, &b), FC_ERR_TOOBIG);
	buf_release(&b);
	metrics_free(m);
}

struct worker_arg {
	struct metrics *m;
	int id;
};

#define THREAD_ITERS 20000

static void *worker(void *p)
{
	struct worker_arg *a = p;
	char own[16];
	int i;

	snprintf(own, sizeof(own), "t%d", a->id);
	for (i = 0; i < THREAD_ITERS; i++) {
		if (metrics_counter_inc(a->m, "hits_total", METRICS_LABELS("shared")))
			return (void *)1;
		if (metrics_counter_inc(a->m, "hits_total", METRICS_LABELS(own)))
			return (void *)1;
		if (metrics_histogram_observe(a->m, "lat", METRICS_LABELS("shared"), i * 1e-4))
			return (void *)1;
		if (metrics_gauge_add(a->m, "g", NULL, 1))
			return (void *)1;
		if (i % 1000 == 0) {
			struct buf b;
			fc_err rc;

			buf_init(&b, RENDER_MAX);
			rc = metrics_render(a->m, &b);
			buf_release(&b);
			if (rc)
				return (void *)1;
		}
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct metrics *m = new_registry(0);
	struct worker_arg args[2];
	pthread_t th[2];
	void *ret;
	double v;
	int i;

	(void)state;
	assert_int_equal(metrics_declare(m, "hits_total", "h", METRICS_COUNTER, "who", NULL), FC_OK);
	assert_int_equal(metrics_declare(m, "lat", "h", METRICS_HISTOGRAM, "who", NULL), FC_OK);
	assert_int_equal(metrics_declare(m, "g", "h", METRICS_GAUGE, NULL), FC_OK);
	for (i = 0; i < 2; i++) {
		args[i].m = m;
		args[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(metrics_get(m, "hits_total", METRICS_LABELS("shared"), &v), FC_OK);
	assert_true(v == 2 * THREAD_ITERS);
	assert_int_equal(metrics_get(m, "hits_total", METRICS_LABELS("t0"), &v), FC_OK);
	assert_true(v == THREAD_ITERS);
	assert_int_equal(metrics_get(m, "hits_total", METRICS_LABELS("t1"), &v), FC_OK);
	assert_true(v == THREAD_ITERS);
	assert_int_equal(metrics_get(m, "lat", METRICS_LABELS("shared"), &v), FC_OK);
	assert_true(v == 2 * THREAD_ITERS);
	assert_int_equal(metrics_get(m, "g", NULL, &v), FC_OK);
	assert_true(v == 2 * THREAD_ITERS);
	metrics_free(m);
}

static void test_defaults(void **state)
{
	static const char *const names[] = {
		"controller_runtime_reconcile_total",
		"controller_runtime_reconcile_errors_total",
		"controller_runtime_reconcile_time_seconds",
		"controller_runtime_active_workers",
		"controller_runtime_max_concurrent_reconciles",
		"workqueue_depth",
		"workqueue_adds_total",
		"workqueue_retries_total",
		"workqueue_queue_duration_seconds",
		"workqueue_work_duration_seconds",
		"leader_election_master_status",
		"foundry_models",
		"foundry_accounts",
		"foundry_configmap_writes_total",
		"foundry_status_writes_total",
		"foundry_azure_requests_total",
		"foundry_azure_request_duration_seconds",
		"foundry_model_retirement_timestamp_seconds",
		"foundry_build_info",
		"process_resident_memory_bytes",
		"process_cpu_seconds_total",
		"process_start_time_seconds",
		"process_open_fds",
		"foundry_metrics_series_dropped_total",
	};
	struct metrics *m = new_registry(0);
	char *out;
	double v;
	size_t i;

	(void)state;
	assert_int_equal(metrics_register_defaults(m), FC_OK);
	assert_int_equal(metrics_register_defaults(m), FC_ERR_CONFLICT);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(metrics_declare(m, names[i], "h", METRICS_GAUGE, NULL),
				 FC_ERR_CONFLICT);

	/* label arity and types as documented */
	assert_int_equal(metrics_counter_inc(m, METRICS_RECONCILE_TOTAL,
					     METRICS_LABELS("foundrymodel", "success")), FC_OK);
	assert_int_equal(metrics_counter_inc(m, METRICS_RECONCILE_ERRORS_TOTAL,
					     METRICS_LABELS("foundrymodel")), FC_OK);
	assert_int_equal(metrics_histogram_observe(m, METRICS_RECONCILE_TIME,
						   METRICS_LABELS("foundrymodel"), 0.02), FC_OK);
	assert_int_equal(metrics_gauge_set(m, METRICS_ACTIVE_WORKERS,
					   METRICS_LABELS("foundrymodel"), 1), FC_OK);
	assert_int_equal(metrics_gauge_set(m, METRICS_MAX_CONCURRENT,
					   METRICS_LABELS("foundrymodel"), 1), FC_OK);
	assert_int_equal(metrics_gauge_set(m, METRICS_WQ_DEPTH, METRICS_LABELS("fm"), 0), FC_OK);
	assert_int_equal(metrics_counter_inc(m, METRICS_WQ_ADDS_TOTAL, METRICS_LABELS("fm")), FC_OK);
	assert_int_equal(metrics_counter_inc(m, METRICS_WQ_RETRIES_TOTAL, METRICS_LABELS("fm")), FC_OK);
	assert_int_equal(metrics_histogram_observe(m, METRICS_WQ_QUEUE_DURATION, METRICS_LABELS("fm"),
						   1e-5), FC_OK);
	assert_int_equal(metrics_histogram_observe(m, METRICS_WQ_WORK_DURATION, METRICS_LABELS("fm"),
						   1e-3), FC_OK);
	assert_int_equal(metrics_gauge_set(m, METRICS_LEADER_STATUS, METRICS_LABELS("fc"), 1), FC_OK);
	assert_int_equal(metrics_gauge_set(m, METRICS_MODELS, METRICS_LABELS("ns", "true"), 3), FC_OK);
	assert_int_equal(metrics_gauge_set(m, METRICS_ACCOUNTS, METRICS_LABELS("ns", "false"), 1), FC_OK);
	assert_int_equal(metrics_counter_inc(m, METRICS_CONFIGMAP_WRITES_TOTAL, METRICS_LABELS("ns")),
			 FC_OK);
	assert_int_equal(metrics_counter_inc(m, METRICS_STATUS_WRITES_TOTAL,
					     METRICS_LABELS("FoundryModel")), FC_OK);
	assert_int_equal(metrics_counter_inc(m, METRICS_AZURE_REQUESTS_TOTAL,
					     METRICS_LABELS("catalog", "200")), FC_OK);
	assert_int_equal(metrics_histogram_observe(m, METRICS_AZURE_REQUEST_DURATION,
						   METRICS_LABELS("catalog"), 0.3), FC_OK);
	assert_int_equal(metrics_gauge_set(m, METRICS_MODEL_RETIREMENT,
					   METRICS_LABELS("ns", "gpt", "gpt-4o", "2024-08-06"),
					   1781222400), FC_OK);

	assert_int_equal(metrics_update_process(m), FC_OK);
	assert_int_equal(metrics_get(m, METRICS_PROCESS_RSS, NULL, &v), FC_OK);
	assert_true(v > 1024 * 1024);
	assert_int_equal(metrics_get(m, METRICS_PROCESS_FDS, NULL, &v), FC_OK);
	assert_true(v >= 3);
	assert_int_equal(metrics_get(m, METRICS_PROCESS_START, NULL, &v), FC_OK);
	assert_true(fabs(v - (double)time(NULL)) < 600);
	assert_int_equal(metrics_get(m, METRICS_PROCESS_CPU, NULL, &v), FC_OK);
	assert_true(v >= 0 && v < 600);

	out = render(m);
	for (i = 0; i < sizeof(names) / sizeof(names[0]) - 1; i++) {
		char line[160];

		snprintf(line, sizeof(line), "# TYPE %s ", names[i]);
		assert_non_null(strstr(out, line));
	}
	assert_non_null(strstr(out, "# TYPE controller_runtime_reconcile_time_seconds histogram\n"));
	assert_non_null(strstr(out, "# TYPE process_cpu_seconds_total counter\n"));
	assert_non_null(strstr(out, "\nfoundry_build_info{version=\""));
	assert_non_null(strstr(out, "workqueue_queue_duration_seconds_bucket{name=\"fm\",le=\"1e-08\"} 0\n"));
	assert_non_null(strstr(out, "workqueue_queue_duration_seconds_bucket{name=\"fm\",le=\"1e-05\"} 1\n"));
	assert_non_null(strstr(out, "foundry_model_retirement_timestamp_seconds{namespace=\"ns\","
				    "name=\"gpt\",model=\"gpt-4o\",version=\"2024-08-06\"} 1781222400\n"));
	if (getenv("FC_METRICS_DUMP")) {
		FILE *fp = fopen(getenv("FC_METRICS_DUMP"), "w");

		assert_non_null(fp);
		fputs(out, fp);
		fclose(fp);
	}
	free(out);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_golden),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_number_format),
		cmocka_unit_test(test_histogram_cumulative),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_delete_clear),
		cmocka_unit_test(test_series_cap),
		cmocka_unit_test(test_series_cap_default),
		cmocka_unit_test(test_render_toobig),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
