/*
 * cli: the options every kguard command shares, and turning them (with the
 * --config file) into what an engine needs: identity, lists, rule and
 * library directories, state and output sinks.  The command line wins over
 * the config file, which wins over the defaults.
 */
#ifndef KGUARD_CLI_H
#define KGUARD_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include "kguard/engine.h"

#define CLI_MAX_LISTS 64
#define CLI_MAX_FOLLOW 16

typedef struct cli_list {
    kg_list_kind kind;
    const char *name;     /* --threat-list NAME (points into argv) */
    size_t name_len;
    const char *path;
} cli_list;

typedef struct kg_cli {
    const char *cmd;
    const char *rules_dir, *lualib_dir, *config_path, *state_path;
    const char *archive_path, *trusted_path, *output_path;
    const char *cluster, *account_id, *region;
    cli_list lists[CLI_MAX_LISTS];
    size_t n_lists;
    size_t max_line;
    double publish_interval;   /* seconds; < 0 when not given */
    bool stats, drop_archived;
    bool literal_lists;        /* --literal-lists */
    bool accept_shrunk_lists;  /* --accept-shrunk-lists */
    /* kguard run */
    const char *follow[CLI_MAX_FOLLOW];
    size_t n_follow;
    bool from_start;
    const char *listen, *tls_cert, *tls_key, *client_ca, *token_file;
    size_t max_body;
    /* what is left: input files (scan) or fixture paths (test) */
    char **args;
    int nargs;
} kg_cli;

/* Parse argv (argv[0] is the command name).  Returns 0, 1 after --help was
 * printed, or -1 after a usage error was reported. */
int cli_parse(int argc, char **argv, kg_cli *c);

typedef struct kg_setup {
    kg_config *config;         /* NULL without --config */
    kg_lists lists;
    kg_engine_opts eo;         /* rules, lualib, identity, state, sinks */
    FILE *archive;             /* opened --archive file, or NULL */
    int problems;              /* config problems and bad list lines */
    char rules_buf[PATH_MAX + 32], lualib_buf[PATH_MAX + 32];
} kg_setup;

/* Load the config and the lists and fill s->eo.  Returns 0, or -1 after
 * reporting what is wrong on stderr.  Bad list lines are warnings (counted
 * in s->problems). */
int cli_setup(const kg_cli *c, kg_setup *s);
void cli_setup_free(kg_setup *s);

void cli_usage(FILE *to);

/* "kguard: " + message on stderr. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
