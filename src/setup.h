/*
 * setup: engine assembly, shared by scan, check, run (at start and on each
 * reload) and test.  It loads the --config file and the IP lists, finds
 * the rule and library directories, and fills the engine options
 * (identity, state, publish interval, archive) from the command line, else
 * the config, else the defaults.
 */
#ifndef KGUARD_SETUP_H
#define KGUARD_SETUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include "kguard/config.h"
#include "kguard/engine.h"
#include "kguard/lists.h"
#include "kguard/nats_conn.h"
#include "kguard/sink.h"
#include "options.h"

typedef struct kg_setup {
    kg_config *config;         /* NULL without --config */
    kg_lists lists;
    kg_engine_opts eo;         /* rules, lualib, identity, state, sinks */
    kg_sinks *sinks;           /* setup_open_sinks: outputs and archive, or NULL */
    bool drop_archived;        /* suppressed findings are dropped (asked for) */
    kg_nats_conn_opts nats;    /* NATS server, credentials, TLS (url NULL: none) */
    const char *nats_subject, *nats_durable;   /* the JetStream consumer */
    int problems;              /* config problems and bad list lines */
    char rules_buf[PATH_MAX + 32], lualib_buf[PATH_MAX + 32];
} kg_setup;

/* Load the config and the lists and fill s->eo.  Returns 0, or -1 after
 * reporting what is wrong on stderr (call setup_free either way).  Bad
 * list lines are warnings (counted in s->problems). */
int setup_load(const kg_cli *c, kg_setup *s);
/* The finding sinks of a command that writes findings (scan, run), in
 * s->sinks and s->eo.sinks: --output or stdout, and the archive file.
 * Returns 0, or -1 after reporting a file that cannot be opened. */
int setup_open_sinks(const kg_cli *c, kg_setup *s, bool flush_each);
void setup_free(kg_setup *s);

#endif
