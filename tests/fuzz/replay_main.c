/* replay_main.c - runs a fuzz target over its corpus without libFuzzer
 * (SQLite's fuzzcheck): `replay_<target> DIR|FILE...`.
 *
 * The files run in a child process (fork) that reports through a pipe which
 * input it is on: a crash or a sanitizer report is charged to that input,
 * and a new child goes on with the next one. A child that ran everything
 * but fails at exit (LeakSanitizer checks then) has its inputs rerun one
 * child each, to name the leaking input. The input is
 * passed in a malloc'ed buffer of exactly its size, so that ASan sees any
 * read past its end. Prints "<target>: N passed, M failed" and the failing
 * files; exits 1 when any failed, 2 on a usage or I/O error.
 * FUZZ_REPLAY_NOFORK=1 runs everything in this process (for a debugger).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

#define REPLAY_MAX_FILE (8u * 1024 * 1024)
#define REPLAY_TIMEOUT_S 60

static unsigned long passed, failed;
static int nofork;

struct list {
	char **v;
	size_t n, cap;
};

static void list_add(struct list *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->n++] = s;
}

static int read_all(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = NULL;
	long n;

	*out = NULL;
	*len = 0;
	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || (size_t)n > REPLAY_MAX_FILE ||
	    fseek(f, 0, SEEK_SET))
		goto fail;
	b = malloc(n ? (size_t)n : 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
		goto fail;
	fclose(f);
	*out = b;
	*len = (size_t)n;
	return 0;
fail:
	free(b);
	fclose(f);
	return -1;
}

/* Runs one input in this process. */
static void run_input(const char *path)
{
	uint8_t *data;
	size_t len;

	if (read_all(path, &data, &len)) {
		fprintf(stderr, "replay: cannot read %s: %s\n", path, strerror(errno));
		exit(2);
	}
	LLVMFuzzerTestOneInput(data, len);
	free(data);
}

static void report(const char *path, int st)
{
	if (WIFSIGNALED(st))
		fprintf(stderr, "FAILED: %s (signal %d%s)\n", path, WTERMSIG(st),
			WTERMSIG(st) == SIGALRM ? ": timeout" : "");
	else
		fprintf(stderr, "FAILED: %s (exit %d)\n", path, WEXITSTATUS(st));
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "replay: waitpid: %s\n", strerror(errno));
			exit(2);
		}
	}
	return st;
}

static pid_t spawn(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "replay: fork: %s\n", strerror(errno));
		exit(2);
	}
	return pid;
}

/* One child per input: exact attribution, slower (used to find which input
 * of a batch leaked). */
static void run_alone(const char *path)
{
	pid_t pid = spawn();
	int st;

	if (pid == 0) {
		alarm(REPLAY_TIMEOUT_S);
		run_input(path);
		exit(0); /* not _exit: LeakSanitizer checks at exit */
	}
	st = wait_child(pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		passed++;
		return;
	}
	failed++;
	report(path, st);
}

/* Runs files[from..n-1] in one child, which tells through a pipe which
 * input it starts and when it is done. When input k crashes, the inputs
 * before it have not been checked for leaks: they run again as a batch of
 * their own, then the rest goes on after k. */
static void run_batch(char **files, size_t n, size_t from)
{
	int fd[2], st;
	size_t cur = from, done = 0, got = 0;
	uint32_t msg;
	pid_t pid;

	if (pipe(fd)) {
		fprintf(stderr, "replay: pipe: %s\n", strerror(errno));
		exit(2);
	}
	pid = spawn();
	if (pid == 0) {
		close(fd[0]);
		for (size_t i = from; i < n; i++) {
			msg = (uint32_t)i;
			if (write(fd[1], &msg, sizeof(msg)) != sizeof(msg))
				_exit(2);
			alarm(REPLAY_TIMEOUT_S);
			run_input(files[i]);
		}
		msg = UINT32_MAX;
		if (write(fd[1], &msg, sizeof(msg)) != sizeof(msg))
			_exit(2);
		close(fd[1]);
		exit(0); /* LeakSanitizer checks the whole batch here */
	}
	close(fd[1]);
	while (read(fd[0], &msg, sizeof(msg)) == sizeof(msg)) {
		if (msg == UINT32_MAX)
			done = 1;
		else
			cur = msg, got = 1;
	}
	close(fd[0]);
	st = wait_child(pid);
	if (done && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		passed += n - from;
		return;
	}
	if (done || !got) {
		/* every input ran but the exit failed (a leak): find which */
		fprintf(stderr, "replay: the batch failed at exit; rerunning its inputs one by one\n");
		for (size_t i = from; i < n; i++)
			run_alone(files[i]);
		return;
	}
	failed++;
	report(files[cur], st);
	if (cur > from)
		run_batch(files, cur, from);
	if (cur + 1 < n)
		run_batch(files, n, cur + 1);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void collect(const char *path, struct list *out)
{
	struct stat sb;
	struct dirent *de;
	struct list names = {0};
	DIR *d;

	if (stat(path, &sb)) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (!S_ISDIR(sb.st_mode)) {
		char *p = strdup(path);

		if (!p)
			abort();
		list_add(out, p);
		return;
	}
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	while ((de = readdir(d))) {
		char *p;

		if (de->d_name[0] == '.')
			continue;
		if (!(p = malloc(strlen(path) + strlen(de->d_name) + 2)))
			abort();
		sprintf(p, "%s/%s", path, de->d_name);
		list_add(&names, p);
	}
	closedir(d);
	qsort(names.v, names.n, sizeof(*names.v), cmp);
	for (size_t i = 0; i < names.n; i++) {
		collect(names.v[i], out);
		free(names.v[i]);
	}
	free(names.v);
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');
	const char *nf = getenv("FUZZ_REPLAY_NOFORK");
	struct list files = {0};

	name = name ? name + 1 : argv[0];
	nofork = nf && *nf && strcmp(nf, "0") != 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", name);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		collect(argv[i], &files);
	if (nofork) {
		for (size_t i = 0; i < files.n; i++) {
			run_input(files.v[i]);
			passed++;
		}
	} else {
		if (files.n)
			run_batch(files.v, files.n, 0);
	}
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i]);
	free(files.v);
	printf("%s: %lu passed, %lu failed\n", name, passed, failed);
	return failed ? 1 : 0;
}
