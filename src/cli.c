/*
 * cli: the command line: parsing argv against the options table, the
 * cross-option checks, --help and the "kguard: " warnings (see cli.h).
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

#define OPT_VAL_BASE 256   /* getopt values: OPT_VAL_BASE + table index */

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    fputs("kguard: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_usage(FILE *to)
{
    fputs("usage: kguard scan  [options] [--cluster-file CLUSTER=FILE]... [FILE...]\n"
          "                                           judge audit events from files (stdin: none or -)\n"
          "       kguard run   [options] [--follow FILE]... [--listen [HOST:]PORT]   run until stopped\n"
          "       kguard check [options]                 load rules, lists and config strictly\n"
          "       kguard test  [options] [PATH...]       run rule fixtures, print TAP\n"
          "\n"
          "options:\n", to);
    options_help(to, OPT_ALL);
    fputs("scan and run:\n", to);
    options_help(to, OPT_SCAN_RUN);
    fputs("run only:\n", to);
    options_help(to, OPT_RUN);
}

/* The getopt_long table, built from the options table. */
static void long_options(struct option lo[OPTIONS_MAX + 1])
{
    for (size_t i = 0; i < options_count; i++)
        lo[i] = (struct option){options_table[i].name,
                                options_table[i].arg ? required_argument : no_argument,
                                NULL, OPT_VAL_BASE + (int)i};
    lo[options_count] = (struct option){0, 0, 0, 0};
}

/* Options that only make sense together. */
/* --format and --http-* apply to the --output options after them: any
 * left after the last --output would apply to nothing. */
static int check_trailing(const kg_cli *c)
{
    cli_output last, next = c->next;
    if (!c->n_outputs)
        return 0;
    last = c->outputs[c->n_outputs - 1];
    last.dest = last.http.url = next.dest = next.http.url = NULL;
    if (memcmp(&last, &next, sizeof last) != 0) {
        cli_warn("--format and --http-* options apply to the --output options after them; "
                 "some come after the last --output");
        return -1;
    }
    return 0;
}

static int cross_check(const kg_cli *c)
{
    if (check_trailing(c) < 0)
        return -1;
    if ((c->cluster && !*c->cluster) || (c->account_id && !*c->account_id) ||
        (c->region && !*c->region)) {
        cli_warn("--cluster, --account-id and --region must not be empty");
        return -1;
    }
    if (c->n_cluster_files && strcmp(c->cmd, "scan") != 0) {
        cli_warn("--cluster-file is for kguard scan (kguard run: --follow-cluster)");
        return -1;
    }
    if (!c->tls_cert != !c->tls_key) {
        cli_warn("--tls-cert and --tls-key go together");
        return -1;
    }
    if (c->client_ca && !c->tls_cert) {
        cli_warn("--client-ca needs --tls-cert and --tls-key");
        return -1;
    }
    if ((c->tls_cert || c->token_file || c->max_body) && !c->listen) {
        cli_warn("--tls-cert, --tls-key, --client-ca, --auth-token-file and --max-body-bytes "
                 "go with --listen");
        return -1;
    }
    if (c->drop_archived && c->archive_path) {
        cli_warn("--archive and --drop-archived exclude each other");
        return -1;
    }
    return 0;
}

/* One option from getopt: 1 for --help, 0, or -1 after a message. */
static int take(kg_cli *c, int val, char **argv)
{
    const kg_option *o;
    char err[256];
    if (val == ':' || val == '?' || val < OPT_VAL_BASE ||
        val >= OPT_VAL_BASE + (int)options_count) {
        cli_warn(val == ':' ? "option %s needs an argument" : "unknown option %s",
                 argv[optind - 1]);
        return -1;
    }
    o = &options_table[val - OPT_VAL_BASE];
    if (o->scope == OPT_HELP) {
        cli_usage(stdout);
        return 1;
    }
    if (o->scope == OPT_RUN && strcmp(c->cmd, "run") != 0) {
        cli_warn("option --%s is for kguard run", o->name);
        return -1;
    }
    if (o->scope == OPT_SCAN_RUN && strcmp(c->cmd, "run") != 0 && strcmp(c->cmd, "scan") != 0) {
        cli_warn("option --%s is for kguard scan and run", o->name);
        return -1;
    }
    if (o->set(c, o, optarg, err, sizeof err) < 0) {
        cli_warn("%s", err);
        return -1;
    }
    return 0;
}

int cli_parse(int argc, char **argv, kg_cli *c)
{
    struct option lo[OPTIONS_MAX + 1];
    int val, rc;
    memset(c, 0, sizeof *c);
    c->cmd = argv[0];
    c->publish_interval = -1;
    c->next.http.drain = -1;   /* the HTTP sink's default */
    c->rule_max_failures = -1;
    c->threads = -1;
    long_options(lo);
    opterr = 0;
    optind = 1;
    while ((val = getopt_long(argc, argv, ":", lo, NULL)) != -1)
        if ((rc = take(c, val, argv)) != 0)
            return rc;
    if (cross_check(c) < 0)
        return -1;
    c->args = argv + optind;
    c->nargs = argc - optind;
    return 0;
}
