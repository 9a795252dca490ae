/*
 * commands: the kguard commands that live in their own modules.
 */
#ifndef KGUARD_COMMANDS_H
#define KGUARD_COMMANDS_H

#include "cli.h"
#include "setup.h"

/* kguard test: run fixture files and print TAP.  Exit status 0 when all
 * pass. */
int cmd_test(const kg_cli *c);

/* kguard run: judge followed files, stdin and the webhook until stopped. */
int cmd_run(const kg_cli *c);

#endif
