/* metrics.h - a small thread-safe Prometheus registry.
 *
 * Metric families (counter, gauge, histogram) are declared up front with
 * their label names; series are then addressed by family name plus an array
 * of label values, one per declared label name, in declaration order:
 *
 *   metrics_declare(m, "workqueue_adds_total", "Total adds.",
 *                   METRICS_COUNTER, "name", NULL);
 *   metrics_counter_add(m, "workqueue_adds_total", METRICS_LABELS("cm"), 1);
 *
 * metrics_render() writes the Prometheus text exposition format 0.0.4 with
 * families sorted by name and series by label values (byte order), so the
 * output is deterministic.
 *
 * Memory is bounded: at most max_series series per family (default
 * METRICS_DEFAULT_MAX_SERIES). An update that would create a series past
 * the cap is dropped (FC_ERR_TOOBIG) and counted in
 * foundry_metrics_series_dropped_total{metric="<family>"}, which every
 * registry has. Label values are at most METRICS_MAX_LABEL_VALUE bytes of
 * valid UTF-8.
 *
 * All functions are safe to call from any thread. Everything except
 * metrics_update_process() is pure (no I/O, no logging): errors are
 * returned, never printed.
 */
#ifndef FC_METRICS_H
#define FC_METRICS_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

enum metrics_type { METRICS_COUNTER = 0, METRICS_GAUGE, METRICS_HISTOGRAM };

#define METRICS_MAX_LABELS 8          /* label names per family */
#define METRICS_MAX_FAMILIES 128      /* families per registry */
#define METRICS_MAX_BUCKETS 64        /* histogram bounds, +Inf excluded */
#define METRICS_MAX_NAME 128          /* metric and label name bytes */
#define METRICS_MAX_HELP 1024         /* help text bytes */
#define METRICS_MAX_LABEL_VALUE 1024  /* label value bytes */
#define METRICS_DEFAULT_MAX_SERIES 10000

/* Label values as a compound literal: METRICS_LABELS("ns", "true"). */
#define METRICS_LABELS(...) ((const char *const[]){ __VA_ARGS__ })

/* controller-runtime's default reconcile-time buckets (0.005 .. 60 s). */
extern const double metrics_reconcile_buckets[];
extern const size_t metrics_reconcile_buckets_len;
/* client-go workqueue buckets: 1e-8 .. 1e3 s, factor 10. */
extern const double metrics_workqueue_buckets[];
extern const size_t metrics_workqueue_buckets_len;
/* Azure request durations: 0.005 .. 60 s, roughly exponential. */
extern const double metrics_azure_buckets[];
extern const size_t metrics_azure_buckets_len;

struct metrics;

/* Creates an empty registry (holding only the series-dropped counter).
 * max_series caps the series of each family; 0 means
 * METRICS_DEFAULT_MAX_SERIES. Caller frees with metrics_free(). */
fc_err metrics_new(size_t max_series, struct metrics **out);

/* Frees the registry and all its series. NULL is a no-op. */
void metrics_free(struct metrics *m);

/* Declares a family: label names follow type, ended by NULL. A histogram
 * declared this way gets metrics_reconcile_buckets. A family without labels
 * has its single series (value 0) from the start. All strings are copied.
 * Errors: INVAL (bad metric/label name, help too long, duplicate label,
 * "le" on a histogram, more than METRICS_MAX_LABELS), CONFLICT (name
 * already declared), TOOBIG (METRICS_MAX_FAMILIES reached), NOMEM. */
fc_err metrics_declare(struct metrics *m, const char *name, const char *help,
		       enum metrics_type type, ...)
	__attribute__((sentinel));

/* Declares a histogram with n upper bounds (finite, strictly increasing,
 * at most METRICS_MAX_BUCKETS; a trailing +Inf is allowed and ignored; the
 * +Inf bucket is always implied). Label names follow n, ended by NULL.
 * bounds is copied. Errors as metrics_declare(). */
fc_err metrics_declare_histogram(struct metrics *m, const char *name,
				 const char *help, const double *bounds,
				 size_t n, ...)
	__attribute__((sentinel));

/* Series updates. label_values has exactly as many entries as the family
 * has label names (NULL is allowed for a family without labels); the
 * series is created on first use. Errors: NOTFOUND (undeclared family),
 * INVAL (wrong type for the call, a NULL / invalid UTF-8 label value, a
 * negative or NaN counter increment, a NaN observation), TOOBIG (a label
 * value longer than METRICS_MAX_LABEL_VALUE, or the family's series cap
 * reached: the update is dropped and counted), NOMEM. */
fc_err metrics_counter_add(struct metrics *m, const char *name,
			   const char *const *label_values, double v);
fc_err metrics_counter_inc(struct metrics *m, const char *name,
			   const char *const *label_values);
fc_err metrics_gauge_set(struct metrics *m, const char *name,
			 const char *const *label_values, double v);
fc_err metrics_gauge_add(struct metrics *m, const char *name,
			 const char *const *label_values, double v);
fc_err metrics_histogram_observe(struct metrics *m, const char *name,
				 const char *const *label_values, double v);

/* Removes one series (e.g. the retirement gauge of a deleted model).
 * NOTFOUND if the family or the series does not exist. For a family
 * without labels the series is kept and reset to zero. */
fc_err metrics_delete(struct metrics *m, const char *name,
		      const char *const *label_values);

/* Removes every series of a family (for gauges recomputed as a whole, such
 * as foundry_models). A family without labels is reset to zero instead.
 * NOTFOUND if the family does not exist. */
fc_err metrics_clear(struct metrics *m, const char *name);

/* Reads a series: the value of a counter or gauge, the observation count
 * of a histogram. NOTFOUND if the family or series does not exist. */
fc_err metrics_get(struct metrics *m, const char *name,
		   const char *const *label_values, double *out);

/* Appends the whole registry to out in the text format 0.0.4. Families
 * without series are omitted. TOOBIG if out's maximum is reached (out then
 * holds a truncated exposition: discard it), NOMEM. */
fc_err metrics_render(struct metrics *m, struct buf *out);

/* Names of the families declared by metrics_register_defaults(). */
#define METRICS_RECONCILE_TOTAL "controller_runtime_reconcile_total"
#define METRICS_RECONCILE_ERRORS_TOTAL "controller_runtime_reconcile_errors_total"
#define METRICS_RECONCILE_TIME "controller_runtime_reconcile_time_seconds"
#define METRICS_ACTIVE_WORKERS "controller_runtime_active_workers"
#define METRICS_MAX_CONCURRENT "controller_runtime_max_concurrent_reconciles"
#define METRICS_WQ_DEPTH "workqueue_depth"
#define METRICS_WQ_ADDS_TOTAL "workqueue_adds_total"
#define METRICS_WQ_RETRIES_TOTAL "workqueue_retries_total"
#define METRICS_WQ_QUEUE_DURATION "workqueue_queue_duration_seconds"
#define METRICS_WQ_WORK_DURATION "workqueue_work_duration_seconds"
#define METRICS_LEADER_STATUS "leader_election_master_status"
#define METRICS_MODELS "foundry_models"
#define METRICS_ACCOUNTS "foundry_accounts"
#define METRICS_CONFIGMAP_WRITES_TOTAL "foundry_configmap_writes_total"
#define METRICS_STATUS_WRITES_TOTAL "foundry_status_writes_total"
#define METRICS_AZURE_REQUESTS_TOTAL "foundry_azure_requests_total"
#define METRICS_AZURE_REQUEST_DURATION "foundry_azure_request_duration_seconds"
#define METRICS_MODEL_RETIREMENT "foundry_model_retirement_timestamp_seconds"
#define METRICS_BUILD_INFO "foundry_build_info"
#define METRICS_SERIES_DROPPED_TOTAL "foundry_metrics_series_dropped_total"
#define METRICS_PROCESS_RSS "process_resident_memory_bytes"
#define METRICS_PROCESS_CPU "process_cpu_seconds_total"
#define METRICS_PROCESS_START "process_start_time_seconds"
#define METRICS_PROCESS_FDS "process_open_fds"

/* Declares the controller's families (label names in braces):
 *   counter   controller_runtime_reconcile_total{controller,result}
 *             result: success | error | requeue | requeue_after
 *   counter   controller_runtime_reconcile_errors_total{controller}
 *   histogram controller_runtime_reconcile_time_seconds{controller}
 *   gauge     controller_runtime_active_workers{controller}
 *   gauge     controller_runtime_max_concurrent_reconciles{controller}
 *   gauge     workqueue_depth{name}
 *   counter   workqueue_adds_total{name}
 *   counter   workqueue_retries_total{name}
 *   histogram workqueue_queue_duration_seconds{name}   (workqueue buckets)
 *   histogram workqueue_work_duration_seconds{name}    (workqueue buckets)
 *   gauge     leader_election_master_status{name}
 *   gauge     foundry_models{namespace,ready}
 *   gauge     foundry_accounts{namespace,ready}
 *   counter   foundry_configmap_writes_total{namespace}
 *   counter   foundry_status_writes_total{kind}
 *   counter   foundry_azure_requests_total{call,code}
 *   histogram foundry_azure_request_duration_seconds{call} (azure buckets)
 *   gauge     foundry_model_retirement_timestamp_seconds{namespace,name,model,version}
 *   gauge     foundry_build_info{version}   set to 1 for FC_VERSION
 *   gauge     process_resident_memory_bytes
 *   counter   process_cpu_seconds_total
 *   gauge     process_start_time_seconds
 *   gauge     process_open_fds
 * Errors as metrics_declare() (CONFLICT if called twice). */
fc_err metrics_register_defaults(struct metrics *m);

/* Refreshes the process_* families from /proc/self (Linux); the only
 * function here that does I/O. Call it before rendering. Errors: IO when
 * /proc cannot be read or parsed, NOTFOUND when the families are not
 * declared. */
fc_err metrics_update_process(struct metrics *m);

#endif /* FC_METRICS_H */
