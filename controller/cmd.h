/* cmd.h - the subcommands behind main: run, verify, render.
 *
 * Each takes the parsed command line (borrowed; see config.h) and returns
 * the process exit code, which main passes to exit():
 *   run     0 after a clean shutdown, 1 on a fatal error
 *   verify  0 all models available, 1 some unavailable, 2 usage or Azure
 *           error or an invalid manifest (DESIGN.md §5)
 *   render  0 printed, 2 on error
 * Until written, a subcommand prints
 *   foundry-controller <sub>: not implemented yet
 * to stderr and returns 2 (tests/e2e/test_cli.py skips its check once the
 * message is gone).
 */
#ifndef FC_CMD_H
#define FC_CMD_H

#include "config.h"

int cmd_run(const struct config *cfg);
int cmd_verify(const struct config *cfg);
int cmd_render(const struct config *cfg);

#endif /* FC_CMD_H */
