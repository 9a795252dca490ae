/*
 * Unit tests for options (the one table of options) and cli_parse, which
 * reads argv against it.
 */
#include <string.h>
#include "kguard/config.h"
#include "cli.h"
#include "tap.h"

static void table(void)
{
    size_t named = 0;
    for (size_t i = 0; i < options_count; i++) {
        const kg_option *o = &options_table[i];
        if (o->config_key && !config_key_known(o->config_key))
            ok(0, "--%s names config key %s, which config.c does not read", o->name,
               o->config_key);
        named += o->config_key != NULL;
        ok(options_find(o->name) == o, "--%s is found by name", o->name);
        ok(o->help && *o->help, "--%s has a help line", o->name);
    }
    ok(named >= 10, "the options the config can also say name their keys (%zu)", named);
    ok(!config_key_known("no_such_key") && !options_find("no-such-option"),
       "unknown names are unknown");
}

static int parse(kg_cli *c, const char *cmd, const char *a1, const char *a2, const char *a3)
{
    static char buf[4][64];
    char *argv[5] = {buf[0], buf[1], buf[2], buf[3], NULL};
    const char *src[4] = {cmd, a1, a2, a3};
    int argc = 0;
    for (int i = 0; i < 4 && src[i]; i++, argc++)
        snprintf(buf[i], sizeof buf[i], "%s", src[i]);
    argv[argc] = NULL;
    return cli_parse(argc, argv, c);
}

static void parsing(void)
{
    kg_cli c;
    ok(parse(&c, "scan", "--cluster", "prod-eu", "--stats") == 0 &&
       strcmp(c.cluster, "prod-eu") == 0 && c.stats, "a string and a flag");
    ok(parse(&c, "scan", "--publish-interval", "60", NULL) == 0 && c.publish_interval == 60,
       "seconds");
    ok(parse(&c, "scan", "--publish-interval", "-1", NULL) < 0, "negative seconds refused");
    ok(parse(&c, "scan", "--max-line-bytes", "4096", NULL) == 0 && c.max_line == 4096, "bytes");
    ok(parse(&c, "scan", NULL, NULL, NULL) == 0 && c.rule_max_failures == -1, "no --rule-max-failures: unset");
    ok(parse(&c, "scan", "--rule-max-failures", "0", NULL) == 0 && c.rule_max_failures == 0,
       "--rule-max-failures 0 (never)");
    ok(parse(&c, "scan", "--rule-max-failures", "5x", NULL) < 0, "a count with junk refused");
    ok(parse(&c, "scan", "--rule-max-failures", "-3", NULL) < 0, "a negative count refused");
    ok(parse(&c, "scan", "--max-line-bytes", "10", NULL) < 0, "bytes below the minimum");
    ok(parse(&c, "scan", "--threat-list", "corp=/etc/kguard/corp.txt", NULL) == 0 &&
       c.n_lists == 1 && c.lists[0].kind == KG_LIST_CUSTOM && c.lists[0].name_len == 4 &&
       strcmp(c.lists[0].path, "/etc/kguard/corp.txt") == 0, "a named list");
    ok(parse(&c, "run", "--follow", "/var/log/audit.log", "--from-start") == 0 &&
       c.n_follow == 1 && c.from_start, "run options for run");
    ok(parse(&c, "scan", "--follow", "/var/log/audit.log", NULL) < 0, "but not for scan");
    ok(parse(&c, "run", "--nats-url", "nats://127.0.0.1:4222", NULL) == 0 &&
       strcmp(c.nats_url, "nats://127.0.0.1:4222") == 0 && !c.nats_durable, "--nats-url for run");
    ok(parse(&c, "scan", "--nats-url", "nats://127.0.0.1:4222", NULL) < 0, "but not for scan");
    ok(parse(&c, "run", "--nats-output", "findings.prod", NULL) == 0 &&
       strcmp(c.nats_output, "findings.prod") == 0, "--nats-output for run");
    ok(parse(&c, "scan", "--nope", NULL, NULL) < 0, "unknown option");
    ok(parse(&c, "scan", "events.log", NULL, NULL) == 0 && c.nargs == 1 &&
       strcmp(c.args[0], "events.log") == 0, "operands are left");
}

/* argv from a NULL-terminated list (no copy: getopt only permutes). */
static int parse_v(kg_cli *c, const char **args)
{
    static char *argv[32];
    int argc = 0;
    while (args[argc] && argc < 31) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    return cli_parse(argc, argv, c);
}

static void outputs(void)
{
    kg_cli c;
    const char *two[] = {"run", "--format", "asff", "--output", "/var/lib/kguard/asff.jsonl",
                         "--http-header", "X-Team: sec", "--http-batch", "50", "--format", "falco",
                         "--output", "https://hec.example:8088/raw", NULL};
    const char *bad_header[] = {"scan", "--http-header", "X Team: sec", "--output", "-", NULL};
    const char *bad_batch[] = {"scan", "--http-batch", "0", "--output", "-", NULL};
    ok(parse_v(&c, two) == 0 && c.n_outputs == 2, "two outputs");
    is_str(c.outputs[0].dest, "/var/lib/kguard/asff.jsonl", "the first destination");
    is_str(c.outputs[0].format, "asff", "with the --format before it");
    ok(c.outputs[0].http.n_headers == 0 && c.outputs[0].http.batch == 0,
       "and none of the --http-* options after it");
    is_str(c.outputs[1].format, "falco", "the second: the later --format");
    is_str(c.outputs[1].http.url, "https://hec.example:8088/raw", "its URL");
    ok(c.outputs[1].http.n_headers == 1 && strcmp(c.outputs[1].http.headers[0], "X-Team: sec") == 0 &&
       c.outputs[1].http.batch == 50, "its header and batch size");
    ok(c.outputs[1].http.drain < 0, "the drain left to the sink's default");
    ok(parse_v(&c, bad_header) < 0, "a header name with a space is refused");
    ok(parse_v(&c, bad_batch) < 0, "a batch of 0 lines is refused");
}

/* --cluster-file / --follow-cluster CLUSTER=FILE: the name ends at the
 * first '=', the file is the rest, whatever it holds. */
static void cluster_sources(void)
{
    kg_cli c;
    const char *scan[] = {"scan", "--cluster-file", "prod-eu=/logs/eu=1/a:b@c.log.gz",
                          "--cluster-file", "prod.us_2=audit.log", "plain.log", NULL};
    const char *run[] = {"run", "--follow", "/var/log/a.log", "--follow-cluster",
                         "prod-cn=/var/log/cn=x.log", NULL};
    const char *bad[][4] = {
        {"scan", "--cluster-file", "/logs/audit.log", NULL},   /* no '=' */
        {"scan", "--cluster-file", "=/logs/audit.log", NULL},  /* no name */
        {"scan", "--cluster-file", "prod-eu=", NULL},          /* no file */
        {"scan", "--cluster-file", "prod/eu=a.log", NULL},     /* '/' in the name */
        {"run", "--cluster-file", "prod-eu=a.log", NULL},      /* scan only */
        {"scan", "--follow-cluster", "prod-eu=a.log", NULL},   /* run only */
        {"run", "--follow-cluster", "a.log", NULL},
    };
    ok(parse_v(&c, scan) == 0 && c.n_cluster_files == 2 && c.nargs == 1, "two cluster files and a plain one");
    is_str(c.cluster_files[0].cluster, "prod-eu", "the first cluster");
    is_str(c.cluster_files[0].path, "/logs/eu=1/a:b@c.log.gz", "its path, = : @ and all");
    is_str(c.cluster_files[1].cluster, "prod.us_2", "the second cluster");
    is_str(c.cluster_files[1].path, "audit.log", "its path");
    ok(parse_v(&c, run) == 0 && c.n_follow == 2, "a --follow and a --follow-cluster");
    ok(c.follow_cluster[0][0] == '\0' && strcmp(c.follow[0], "/var/log/a.log") == 0,
       "--follow: the default cluster");
    is_str(c.follow_cluster[1], "prod-cn", "--follow-cluster: its cluster");
    is_str(c.follow[1], "/var/log/cn=x.log", "and its path");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ok(parse_v(&c, bad[i]) < 0, "refused: %s %s %s", bad[i][0], bad[i][1], bad[i][2]);
}

int main(void)
{
    table();
    parsing();
    outputs();
    cluster_sources();
    return done_testing();
}
