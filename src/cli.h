/*
 * cli: the command line.  cli_parse reads argv against the options table
 * (options.h) into a kg_cli and checks options that go together; the
 * engine is assembled from it by setup.h.
 */
#ifndef KGUARD_CLI_H
#define KGUARD_CLI_H

#include <stdio.h>
#include "options.h"

/* Parse argv (argv[0] is the command name).  Returns 0, 1 after --help was
 * printed, or -1 after a usage error was reported. */
int cli_parse(int argc, char **argv, kg_cli *c);

void cli_usage(FILE *to);

/* "kguard: " + message on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
