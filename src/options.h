/*
 * options: every command-line option, declared once in options_table with
 * its name, argument, help line, the config-file key that says the same
 * (if any), the commands it is for and how it is stored in kg_cli.  The
 * getopt table, --help and the option/config-key correspondence all come
 * from that table; kg_cli holds what the command line said.
 */
#ifndef KGUARD_OPTIONS_H
#define KGUARD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "kguard/lists.h"
#include "kguard/sink.h"

#define CLI_MAX_LISTS 64
#define CLI_MAX_FOLLOW 16
#define CLI_MAX_OUTPUTS 16
#define OPTIONS_MAX 128      /* entries options_table may have */

typedef struct cli_list {
    kg_list_kind kind;
    const char *name;     /* --threat-list NAME (points into argv) */
    size_t name_len;
    const char *path;
} cli_list;

/* One --output: its destination with the --format and --http-* options
 * given before it (output.c). */
typedef struct cli_output {
    const char *dest;         /* "-" (stdout), a file, an http(s):// URL */
    const char *format;       /* NULL: the default */
    kg_http_opts http;
} cli_output;

/* A log read as one cluster's: --cluster-file / --follow-cluster NAME=FILE. */
typedef struct cli_source {
    char cluster[256];
    const char *path;         /* points into argv */
} cli_source;

typedef struct kg_cli {
    const char *cmd;
    const char *rules_dir, *lualib_dir, *config_path, *state_path;
    const char *archive_path, *archive_format;
    cli_output outputs[CLI_MAX_OUTPUTS];
    size_t n_outputs;
    cli_output next;          /* --format, --http-*: for the next --output */
    const char *cluster, *account_id, *region;
    cli_list lists[CLI_MAX_LISTS];
    size_t n_lists;
    size_t max_line;
    double publish_interval;   /* seconds; < 0 when not given */
    bool stats, drop_archived, summary, no_prescan;
    bool literal_lists;        /* --literal-lists */
    bool accept_shrunk_lists;  /* --accept-shrunk-lists */
    long rule_max_failures;    /* < 0 when not given */
    cli_source cluster_files[CLI_MAX_FOLLOW];   /* scan: --cluster-file */
    size_t n_cluster_files;
    /* kguard run */
    const char *follow[CLI_MAX_FOLLOW];
    char follow_cluster[CLI_MAX_FOLLOW][256];   /* "": --follow (the default cluster) */
    size_t n_follow;
    bool from_start;
    const char *listen, *tls_cert, *tls_key, *client_ca, *token_file;
    size_t max_body;
    const char *metrics_listen;
    double header_timeout;     /* seconds; 0: the default */
    double max_drain;          /* seconds of judging the webhook queue holds; 0: default */
    const char *nats_url, *nats_creds, *nats_subject, *nats_durable;   /* JetStream input */
    const char *nats_output;   /* findings to this JetStream subject */
    /* what is left: input files (scan) or fixture paths (test) */
    char **args;
    int nargs;
} kg_cli;

typedef enum opt_scope { OPT_ALL, OPT_RUN, OPT_HELP } opt_scope;

typedef struct kg_option kg_option;

/* Store arg (NULL for a flag) in c; -1 with a message in err when the
 * value is bad. */
typedef int (*opt_setter)(kg_cli *c, const kg_option *o, const char *arg,
                          char *err, size_t errlen);

struct kg_option {
    const char *name;         /* without the leading "--" */
    const char *arg;          /* the argument in --help; NULL: a flag */
    const char *help;
    const char *config_key;   /* the config key saying the same, or NULL */
    opt_scope scope;
    opt_setter set;
    size_t field;             /* offsetof(kg_cli, ...) for the setter */
    long extra;               /* a list kind, or a minimum size */
};

extern const kg_option options_table[];
extern const size_t options_count;

/* The option named name (without "--"), or NULL. */
const kg_option *options_find(const char *name);

/* The --help lines for the options of scope. */
void options_help(FILE *to, opt_scope scope);

#endif
