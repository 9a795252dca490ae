/*
 * commands: the kguard commands that live in their own modules.
 */
#ifndef KGUARD_COMMANDS_H
#define KGUARD_COMMANDS_H

#include "cli.h"
#include "collect.h"
#include "metrics_http.h"
#include "setup.h"

/* kguard test: run fixture files and print TAP.  Exit status 0 when all
 * pass. */
int cmd_test(const kg_cli *c);

/* kguard run: judge followed files, stdin and the webhook until stopped. */
int cmd_run(const kg_cli *c);

/* --metrics-listen [HOST:]PORT (scan, and run without --listen): GET
 * /metrics with c's metrics on a listener of its own, its port said on
 * stderr.  0; -2 for a malformed argument, -1 when it cannot listen (both
 * said on stderr). */
int cmd_metrics_listen(const char *arg, kg_collect *c, metrics_http **out);

#endif
