/* leader.h - leader election on a coordination.k8s.io/v1 Lease.
 *
 * client-go's algorithm and defaults: lease duration 15 s, renew deadline
 * 10 s, retry period 2 s. A candidate acquires the Lease when it does not
 * exist, is held by nobody, or its holder has not renewed it for a lease
 * duration (measured on this replica's monotonic clock from when it last
 * saw the record change, so clock skew does not matter). The leader renews
 * every retry period; if it cannot renew within the renew deadline it calls
 * on_stopped_leading (before any other replica can take the Lease, which
 * needs the full lease duration). leader_stop() releases a held Lease
 * (empty holder, 1 s duration) so a standby takes over on its next retry.
 * Updates use the Lease's resourceVersion (optimistic concurrency).
 */
#ifndef FC_LEADER_H
#define FC_LEADER_H

#include "err.h"
#include "kube_client.h"

#define LEADER_LEASE_DURATION_MS 15000L
#define LEADER_RENEW_DEADLINE_MS 10000L
#define LEADER_RETRY_PERIOD_MS 2000L

struct leader_config {
	const char *ns;          /* Lease namespace */
	const char *name;        /* Lease name (--leader-election-id) */
	const char *identity;    /* holderIdentity, e.g. "host_1a2b3c" */
	long lease_duration_ms;  /* 0 = default */
	long renew_deadline_ms;
	long retry_period_ms;
	/* called on the election thread */
	void (*on_started_leading)(void *ud);
	void (*on_stopped_leading)(void *ud);
	void *ud;
};

struct leader;

/* Starts the election thread. kc is borrowed; cfg strings are copied.
 * Caller frees with leader_free() after leader_stop(). */
fc_err leader_start(struct kube_client *kc, const struct leader_config *cfg, struct leader **out);

/* Stops the thread; if leading, releases the Lease and calls
 * on_stopped_leading. Idempotent; NULL is a no-op. */
void leader_stop(struct leader *l);
void leader_free(struct leader *l);

/* 1 while this replica holds the Lease: the election thread has not seen
 * it lost, and the last successful renewal started less than the renew
 * deadline ago (so a frozen-then-resumed leader stops writing at once,
 * before its election thread runs again). Safe from any thread, and from
 * the callbacks (*out of leader_start is set before the thread starts). */
int leader_is_leading(struct leader *l);

#endif /* FC_LEADER_H */
