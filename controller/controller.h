/* controller.h - the `run` subcommand: informers, workqueue, workers,
 * leader election, probes and metrics, wired together.
 *
 * Threads: one per informer (FoundryAccount, FoundryModel, the managed
 * ConfigMaps), NWORKERS reconcile workers, the httpd service thread, the
 * leader-election thread, and the caller's thread, which waits for
 * SIGINT/SIGTERM. Only the leader reconciles; every replica keeps its
 * caches warm. Every write goes through a leadership check, so a replica
 * that loses its lease stops writing at once.
 */
#ifndef FC_CONTROLLER_H
#define FC_CONTROLLER_H

#include "azure_client.h"
#include "config.h"

/* Runs until SIGINT/SIGTERM (exit code 0) or a fatal error (1: bad
 * kubeconfig, lost leadership, ...). Signals must be blocked by the caller
 * in every thread before calling (controller_run waits for them with
 * sigwait). */
int controller_run(const struct config *cfg);

/* Fills ao and co (zeroed first) from cfg's Azure settings, both using
 * transport t (borrowed, as are the strings taken from cfg: they must
 * outlive the auth and client made from them). co->auth and the request
 * hooks are left NULL for the caller to set. */
void controller_azure_options(const struct config *cfg, struct http_transport *t,
			      struct azure_auth_options *ao, struct azure_client_options *co);

#endif /* FC_CONTROLLER_H */
