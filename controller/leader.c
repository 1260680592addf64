#include "leader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "buf.h"
#include "clock.h"
#include "json.h"
#include "log.h"

struct leader {
	struct kube_client *kc;
	struct leader_config cfg;
	char *ns, *name, *identity;
	char path[KUBE_PATH_MAX];
	char coll[KUBE_PATH_MAX];
	pthread_t thread;
	int started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	atomic_int leading;
	/* what we last observed of the record */
	char observed_holder[256];
	char observed_renew[64];
	char observed_rv[64];
	int64_t observed_at_ms;
	int64_t last_renew_ms;    /* start of the last successful acquire/renew (ours) */
	/* Writes are allowed until this monotonic time: the start of the last
	 * successful acquire/renew plus the renew deadline. Another replica
	 * needs a full lease duration (> renew deadline) after it saw that
	 * renewal, so before this time nobody else can hold the Lease, even if
	 * this process was frozen (SIGSTOP, a stalled VM) and the election
	 * thread has not yet noticed. */
	atomic_llong valid_until_ms;
};

/* MicroTime: 2006-01-02T15:04:05.000000Z */
static void micro_now(char *out, size_t n)
{
	struct timeval tv;
	struct tm tm;
	char base[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%06ldZ", base, (long)tv.tv_usec);
}

static fc_err lease_body(struct leader *l, const char *rv, const char *holder, long duration_s,
			 const char *acquire, const char *renew, long transitions, char **out)
{
	struct buf b;
	fc_err rc;

	buf_init(&b, 4096);
	rc = buf_appendf(&b,
			 "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
			 "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"%s%s%s},"
			 "\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":%ld,"
			 "\"acquireTime\":\"%s\",\"renewTime\":\"%s\",\"leaseTransitions\":%ld}}",
			 l->name, l->ns, rv ? ",\"resourceVersion\":\"" : "", rv ? rv : "", rv ? "\"" : "",
			 holder, duration_s, acquire, renew, transitions);
	if (rc) {
		buf_release(&b);
		return rc;
	}
	*out = buf_take(&b);
	return *out ? FC_OK : FC_ERR_NOMEM;
}

static void observe(struct leader *l, const char *holder, const char *renew, const char *rv)
{
	if (strcmp(holder, l->observed_holder) || strcmp(renew, l->observed_renew) ||
	    strcmp(rv, l->observed_rv)) {
		snprintf(l->observed_holder, sizeof(l->observed_holder), "%s", holder);
		snprintf(l->observed_renew, sizeof(l->observed_renew), "%s", renew);
		snprintf(l->observed_rv, sizeof(l->observed_rv), "%s", rv);
		l->observed_at_ms = clock_mono_ms();
	}
}

/* One try: 1 if we hold the lease afterwards, 0 if someone else does,
 * -1 on error. */
static int try_acquire_or_renew(struct leader *l)
{
	struct kube_status st;
	cJSON *lease = NULL;
	char now[64], *body = NULL;
	const char *holder, *renew, *rv, *acquire;
	int64_t transitions = 0, dur_s = l->cfg.lease_duration_ms / 1000;
	int result = -1;
	fc_err rc;

	micro_now(now, sizeof(now));
	rc = kube_get(l->kc, l->path, &lease, &st);
	if (rc == FC_ERR_NOTFOUND) {
		if (lease_body(l, NULL, l->identity, dur_s, now, now, 0, &body))
			goto out;
		rc = kube_create(l->kc, l->coll, body, NULL, &st);
		if (rc) {
			if (rc == FC_ERR_CONFLICT) /* another candidate created it first */
				log_debug("lease create lost the race", "lease", l->name, NULL);
			else
				log_warn("lease create failed", "lease", l->name, "error", fc_strerror(rc),
					 "message", st.message, NULL);
			goto out;
		}
		l->observed_holder[0] = '\0';
		result = 1;
		goto out;
	}
	if (rc) {
		log_warn("lease read failed", "lease", l->name, "error", fc_strerror(rc), "message", st.message, NULL);
		goto out;
	}
	holder = json_str_or(lease, "spec.holderIdentity", "");
	renew = json_str_or(lease, "spec.renewTime", "");
	rv = json_str_or(lease, "metadata.resourceVersion", "");
	acquire = json_str_or(lease, "spec.acquireTime", now);
	json_get_int64(lease, "spec.leaseTransitions", &transitions);
	{
		int64_t d = 0;

		if (!json_get_int64(lease, "spec.leaseDurationSeconds", &d) && d > 0)
			dur_s = d;
	}
	observe(l, holder, renew, rv);
	if (*holder && strcmp(holder, l->identity) &&
	    clock_mono_ms() - l->observed_at_ms < dur_s * 1000) {
		result = 0; /* held by another, not expired */
		goto out;
	}
	if (strcmp(holder, l->identity)) {
		/* taking over */
		transitions++;
		acquire = now;
	}
	if (lease_body(l, rv, l->identity, l->cfg.lease_duration_ms / 1000, acquire, now,
		       (long)transitions, &body))
		goto out;
	rc = kube_update(l->kc, l->path, body, NULL, &st);
	if (rc) {
		if (rc == FC_ERR_CONFLICT)
			log_debug("lease update lost the race", "lease", l->name, NULL);
		else
			log_warn("lease update failed", "lease", l->name, "error", fc_strerror(rc),
				 "message", st.message, NULL);
		result = rc == FC_ERR_CONFLICT ? 0 : -1;
		goto out;
	}
	result = 1;
out:
	free(body);
	cJSON_Delete(lease);
	return result;
}

static void release(struct leader *l)
{
	struct kube_status st;
	cJSON *lease = NULL;
	char now[64], *body = NULL;
	int64_t transitions = 0;

	micro_now(now, sizeof(now));
	if (kube_get(l->kc, l->path, &lease, &st))
		return;
	if (strcmp(json_str_or(lease, "spec.holderIdentity", ""), l->identity)) {
		cJSON_Delete(lease);
		return;
	}
	json_get_int64(lease, "spec.leaseTransitions", &transitions);
	if (!lease_body(l, json_str_or(lease, "metadata.resourceVersion", ""), "", 1, now, now,
			(long)transitions, &body)) {
		if (kube_update(l->kc, l->path, body, NULL, &st) == FC_OK)
			log_info("leader lease released", "lease", l->name, NULL);
	}
	free(body);
	cJSON_Delete(lease);
}

/* Sleeps up to ms; returns 1 if asked to stop. */
static int wait_stop(struct leader *l, long ms)
{
	struct timespec ts;
	int stop;

	clock_deadline(CLOCK_REALTIME, ms, &ts);
	pthread_mutex_lock(&l->lock);
	while (!l->stop && pthread_cond_timedwait(&l->cond, &l->lock, &ts) == 0)
		;
	stop = l->stop;
	pthread_mutex_unlock(&l->lock);
	return stop;
}

static void *leader_main(void *arg)
{
	struct leader *l = arg;

	log_info("leader election: candidate", "lease", l->name, "namespace", l->ns,
		 "identity", l->identity, NULL);
	for (;;) {
		int64_t t0 = clock_mono_ms();
		int r;

		if (atomic_load(&l->leading) && t0 - l->last_renew_ms >= l->cfg.renew_deadline_ms) {
			/* the renew deadline passed while we were not running (a
			 * frozen process, a slow request): leadership is over,
			 * whatever a late renewal would say (client-go does the same) */
			atomic_store(&l->valid_until_ms, 0);
			atomic_store(&l->leading, 0);
			log_error("leader election: lost the lease", "lease", l->name,
				  "reason", "renew deadline exceeded", NULL);
			if (l->cfg.on_stopped_leading)
				l->cfg.on_stopped_leading(l->cfg.ud);
			if (wait_stop(l, l->cfg.retry_period_ms))
				break;
			continue;
		}
		r = try_acquire_or_renew(l);
		if (r == 1) {
			l->last_renew_ms = t0;
			atomic_store(&l->valid_until_ms, t0 + l->cfg.renew_deadline_ms);
			if (!atomic_load(&l->leading)) {
				atomic_store(&l->leading, 1);
				log_info("leader election: acquired", "lease", l->name, NULL);
				if (l->cfg.on_started_leading)
					l->cfg.on_started_leading(l->cfg.ud);
			}
		} else if (atomic_load(&l->leading) &&
			   (r == 0 || clock_mono_ms() - l->last_renew_ms >= l->cfg.renew_deadline_ms)) {
			/* another holds it now, or we could not renew in time */
			atomic_store(&l->valid_until_ms, 0);
			atomic_store(&l->leading, 0);
			log_error("leader election: lost the lease", "lease", l->name, NULL);
			if (l->cfg.on_stopped_leading)
				l->cfg.on_stopped_leading(l->cfg.ud);
		}
		if (wait_stop(l, l->cfg.retry_period_ms))
			break;
		/* a leader near its renew deadline must not sleep past it */
	}
	if (atomic_load(&l->leading)) {
		atomic_store(&l->valid_until_ms, 0);
		atomic_store(&l->leading, 0);
		release(l);
		if (l->cfg.on_stopped_leading)
			l->cfg.on_stopped_leading(l->cfg.ud);
	}
	return NULL;
}

fc_err leader_start(struct kube_client *kc, const struct leader_config *cfg, struct leader **out)
{
	struct leader *l;
	fc_err rc;

	*out = NULL;
	if (!cfg->ns || !cfg->name || !cfg->identity)
		return FC_ERR_INVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return FC_ERR_NOMEM;
	l->kc = kc;
	l->cfg = *cfg;
	if (!l->cfg.lease_duration_ms)
		l->cfg.lease_duration_ms = LEADER_LEASE_DURATION_MS;
	if (!l->cfg.renew_deadline_ms)
		l->cfg.renew_deadline_ms = LEADER_RENEW_DEADLINE_MS;
	if (!l->cfg.retry_period_ms)
		l->cfg.retry_period_ms = LEADER_RETRY_PERIOD_MS;
	l->ns = strdup(cfg->ns);
	l->name = strdup(cfg->name);
	l->identity = strdup(cfg->identity);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	if (!l->ns || !l->name || !l->identity) {
		rc = FC_ERR_NOMEM;
		goto fail;
	}
	rc = kube_path(l->path, sizeof(l->path), "coordination.k8s.io", "v1", l->ns, "leases", l->name, NULL);
	if (!rc)
		rc = kube_path(l->coll, sizeof(l->coll), "coordination.k8s.io", "v1", l->ns, "leases", NULL, NULL);
	if (rc)
		goto fail;
	/* published before the thread starts: its callbacks may already
	 * look at *out (leader_is_leading) */
	l->started = 1;
	*out = l;
	if (pthread_create(&l->thread, NULL, leader_main, l)) {
		l->started = 0;
		*out = NULL;
		rc = FC_ERR_NOMEM;
		goto fail;
	}
	return FC_OK;
fail:
	leader_free(l);
	return rc;
}

void leader_stop(struct leader *l)
{
	if (!l || !l->started)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = 1;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	l->started = 0;
}

void leader_free(struct leader *l)
{
	if (!l)
		return;
	leader_stop(l);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l->ns);
	free(l->name);
	free(l->identity);
	free(l);
}

int leader_is_leading(struct leader *l)
{
	return l && atomic_load(&l->leading) && clock_mono_ms() < atomic_load(&l->valid_until_ms);
}
