#include "cmd.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "controller.h"
#include "http.h"
#include "log.h"

static int not_implemented(const char *sub)
{
	fprintf(stderr, "foundry-controller %s: not implemented yet\n", sub);
	return 2;
}

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
	if (http_global_init()) {
		log_error("cannot initialise libcurl", NULL);
		return 1;
	}
	code = controller_run(cfg);
	http_global_cleanup();
	return code;
}

int cmd_verify(const struct config *cfg)
{
	(void)cfg;
	return not_implemented("verify");
}

int cmd_render(const struct config *cfg)
{
	(void)cfg;
	return not_implemented("render");
}
