/*
 * setup: assembling what an engine needs from the command line and the
 * --config file (see setup.h): the command line wins over the config,
 * which wins over the defaults.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"
#include "output.h"
#include "setup.h"
#include "kguard/sink_nats.h"

#ifndef KGUARD_DATADIR
#define KGUARD_DATADIR "/usr/local/share/kguard"
#endif

static void warn_list_line(void *ud, const char *path, long line, const char *msg)
{
    kg_setup *s = ud;
    s->problems++;
    fprintf(stderr, "kguard: %s:%ld: %s (line skipped)\n", path, line, msg);
}

static void config_error(void *ud, const char *msg)
{
    (void)ud;
    fprintf(stderr, "kguard: %s\n", msg);
}

static int try_dir(char *out, size_t n, const char *dir, const char *name)
{
    struct stat st;
    int len = snprintf(out, n, "%s/%s", dir, name);
    return len > 0 && (size_t)len < n && stat(out, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Where the shipped data lives: next to the binary (a checkout), two levels
 * up for the checkout's build/asan/kguard, PREFIX/share/kguard beside PREFIX/bin, or the
 * data directory compiled in. */
static const char *data_dir(const char *name, char *out, size_t n)
{
    char exe[PATH_MAX], up[PATH_MAX + 32];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        *strrchr(exe, '/') = '\0';
        if (try_dir(out, n, exe, name))
            return out;
        len = (ssize_t)strlen(exe);
        if ((len > 11 && strcmp(exe + len - 11, "/build/asan") == 0) ||
            (len > 12 && strcmp(exe + len - 12, "/build/plain") == 0)) {
            snprintf(up, sizeof up, "%s/../..", exe);   /* a checkout's own builds */
            if (try_dir(out, n, up, name))
                return out;
        }
        snprintf(up, sizeof up, "%s/../share/kguard", exe);   /* PREFIX/bin/kguard */
        if (try_dir(out, n, up, name))
            return out;
    }
    if (try_dir(out, n, KGUARD_DATADIR, name))
        return out;
    snprintf(out, n, "%s", name);
    return out;
}

static const char *pick(const char *cli, const char *cfg, const char *dflt)
{
    return cli ? cli : cfg ? cfg : dflt;
}

static const cli_list *cli_kind(const kg_cli *c, kg_list_kind kind)
{
    for (size_t i = 0; i < c->n_lists; i++)
        if (c->lists[i].kind == kind)
            return &c->lists[i];
    return NULL;
}

static bool cli_has_custom(const kg_cli *c, const char *name)
{
    for (size_t i = 0; i < c->n_lists; i++)
        if (c->lists[i].kind == KG_LIST_CUSTOM && strlen(name) == c->lists[i].name_len &&
            strncmp(c->lists[i].name, name, c->lists[i].name_len) == 0)
            return true;
    return false;
}

/* The lists to load, each with where it was named (NULL: the command line). */
typedef struct list_plan {
    kg_list_spec specs[CLI_MAX_LISTS + 8];
    const char *config_key[CLI_MAX_LISTS + 8];
    char names[CLI_MAX_LISTS][256];
    size_t n;
} list_plan;

static void plan(list_plan *p, kg_list_kind kind, const char *name, const char *path,
                 const char *config_key)
{
    if (p->n == sizeof p->specs / sizeof p->specs[0])
        return;
    p->specs[p->n] = (kg_list_spec){kind, name, path, false};
    p->config_key[p->n++] = config_key;
}

/* A single list (Tor, malicious, trusted) by its option: the command
 * line's file, else the one the config names under the option's key. */
static void plan_single(list_plan *p, const kg_cli *c, const char *option, const char *cfg_path)
{
    const kg_option *o = options_find(option);
    const cli_list *l = cli_kind(c, (kg_list_kind)o->extra);
    if (l)
        plan(p, l->kind, o->name, l->path, NULL);
    else if (cfg_path)
        plan(p, (kg_list_kind)o->extra, o->name, cfg_path, o->config_key);
}

static int load_lists(const kg_cli *c, kg_setup *s)
{
    const kg_config *cfg = s->config;
    list_plan *p = calloc(1, sizeof *p);
    char err[512];
    size_t failed = 0, nc = 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int rc = -1;

    if (!p) {
        cli_warn("out of memory");
        return -1;
    }
    plan_single(p, c, "tor-exits", cfg ? cfg->tor_exits : NULL);
    plan_single(p, c, "malicious-ips", cfg ? cfg->malicious_ips : NULL);
    plan_single(p, c, "trusted-ips", cfg ? cfg->trusted_ips : NULL);
    for (size_t i = 0; cfg && i < cfg->n_threat_lists; i++)
        if (!cli_has_custom(c, cfg->threat_lists[i].name))
            plan(p, KG_LIST_CUSTOM, cfg->threat_lists[i].name, cfg->threat_lists[i].path,
                 options_find("threat-list")->config_key);
    for (size_t i = 0; i < c->n_lists && nc < CLI_MAX_LISTS; i++) {
        if (c->lists[i].kind != KG_LIST_CUSTOM)
            continue;
        snprintf(p->names[nc], sizeof p->names[nc], "%.*s", (int)c->lists[i].name_len,
                 c->lists[i].name);
        plan(p, KG_LIST_CUSTOM, p->names[nc++], c->lists[i].path, NULL);
    }
    for (size_t i = 0; i < p->n; i++)
        p->specs[i].literal = c->literal_lists || (cfg && cfg->literal_lists);
    if (lists_load_all(&s->lists, p->specs, p->n, cpus > 1 ? (int)cpus : 1, warn_list_line, s,
                       &failed, err, sizeof err) < 0) {
        if (failed < p->n && p->config_key[failed])
            cli_warn("%s (named by %s in %s)", err, p->config_key[failed], cfg->file);
        else
            cli_warn("%s", err);
        goto done;
    }
    lists_report_special(&s->lists, stderr);
    if (cfg && cfg->n_trusted_inline &&
        lists_add_entries(&s->lists, KG_LIST_TRUSTED, "trusted-ips (config)",
                          cfg->trusted_inline, cfg->n_trusted_inline, warn_list_line, s,
                          err, sizeof err) < 0) {
        cli_warn("%s", err);
        goto done;
    }
    rc = 0;
done:
    free(p);
    return rc;
}

/* --nats-output SUBJECT (with --nats-url): the findings --output takes,
 * published to JetStream. */
static int open_nats_output(const kg_cli *c, kg_setup *s)
{
    char err[512];
    kg_sink *sink;
    if (!c->nats_output)
        return 0;
    if (!c->nats_url) {
        cli_warn("--nats-output needs --nats-url");
        return -1;
    }
    if (!(sink = sink_nats_open(c->nats_url, c->nats_creds, c->nats_output,
                                KG_SINK_FINDINGS, err, sizeof err))) {
        cli_warn("cannot open --nats-output %s: %s", c->nats_output, err);
        return -1;
    }
    return sinks_add(s->sinks, sink);
}

int setup_open_sinks(const kg_cli *c, kg_setup *s, bool flush_each)
{
    if (!(s->sinks = sinks_new())) {
        cli_warn("out of memory");
        return -1;
    }
    s->eo.sinks = s->sinks;
    if (output_open(c, s->sinks, pick(c->archive_path, s->config ? s->config->archive_path
                                                                   : NULL, NULL),
                    s->drop_archived, flush_each) < 0 || open_nats_output(c, s) < 0)
        return -1;
    return 0;
}

int setup_load(const kg_cli *c, kg_setup *s)
{
    const kg_config *cfg;
    char err[512];
    double interval;

    memset(s, 0, sizeof *s);
    if (c->config_path) {
        s->config = config_load(c->config_path, config_error, NULL, err, sizeof err);
        if (!s->config) {
            cli_warn("%s", err);
            return -1;
        }
    }
    cfg = s->config;
    if (load_lists(c, s) < 0)
        return -1;
    s->eo.rules_dir = pick(c->rules_dir, cfg ? cfg->rules_dir : NULL, NULL);
    if (!s->eo.rules_dir)
        s->eo.rules_dir = data_dir("rules.d", s->rules_buf, sizeof s->rules_buf);
    s->eo.lualib_dir = pick(c->lualib_dir, cfg ? cfg->lualib_dir : NULL, NULL);
    if (!s->eo.lualib_dir)
        s->eo.lualib_dir = data_dir("lualib", s->lualib_buf, sizeof s->lualib_buf);
    s->eo.id.cluster = pick(c->cluster, cfg ? cfg->cluster : NULL, "kubernetes");
    s->eo.id.account_id = pick(c->account_id, cfg ? cfg->account_id : NULL, "000000000000");
    s->eo.id.region = pick(c->region, cfg ? cfg->region : NULL, "local");
    s->eo.id.partition = pick(NULL, cfg ? cfg->partition : NULL, "aws");
    s->eo.state_path = pick(c->state_path, cfg ? cfg->state_path : NULL, NULL);
    interval = c->publish_interval >= 0 ? c->publish_interval
             : cfg && cfg->publish_interval >= 0 ? cfg->publish_interval : 300;
    s->eo.publish_interval_ms = (long long)(interval * 1000);
    s->eo.max_line = c->max_line;
    s->eo.accept_shrunk_lists = c->accept_shrunk_lists;
    s->eo.rule_max_failures = (unsigned long)(c->rule_max_failures >= 0 ? c->rule_max_failures
                              : cfg && cfg->rule_max_failures >= 0 ? cfg->rule_max_failures
                              : KG_MAX_FAILURES_DEFAULT);
    s->eo.diag = stderr;
    s->eo.no_prescan = c->no_prescan;
    s->drop_archived = c->drop_archived || (!c->archive_path && cfg && cfg->archive_drop);
    return 0;
}

void setup_free(kg_setup *s)
{
    config_free(s->config);
    lists_free(&s->lists);
    sinks_free(s->sinks);
    memset(s, 0, sizeof *s);
}
