/*
 * cli: shared option parsing and engine setup (see cli.h).
 */
#include <getopt.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

#ifndef KGUARD_DATADIR
#define KGUARD_DATADIR "/usr/local/share/kguard"
#endif

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
    fputs("usage: kguard scan  [options] [FILE...]   judge audit events from files (stdin: none or -)\n"
          "       kguard run   [options] [--follow FILE]... [--listen [HOST:]PORT]   run until stopped\n"
          "       kguard check [options]                 load rules, lists and config strictly\n"
          "       kguard test  [options] [PATH...]       run rule fixtures, print TAP\n"
          "\n"
          "options:\n"
          "  --config FILE          settings, teams, severities, suppression rules (Lua)\n"
          "  --rules DIR            rule files (default: the rules.d shipped with kguard)\n"
          "  --lualib DIR           shared Lua modules (default: the shipped lualib)\n"
          "  --tor-exits FILE       Tor exit list (exit-addresses format or one IP per line)\n"
          "  --malicious-ips FILE   known-malicious IPs and CIDRs\n"
          "  --threat-list NAME=FILE  your own threat list; hits give the .Custom types\n"
          "  --trusted-ips FILE     addresses never reported by the IP-list types\n"
          "  --literal-lists        match private, loopback and other special-purpose\n"
          "                         ranges the threat lists name (default: left out)\n"
          "  --accept-shrunk-lists  on reload, take a list that lost more than half its\n"
          "                         entries (default: keep the previous version)\n"
          "  --cluster NAME         cluster name in findings (default: kubernetes)\n"
          "  --account-id ID        account id in findings (default: 000000000000)\n"
          "  --region REGION        region in findings (default: local)\n"
          "  --state FILE           keep baselines and finding aggregation across runs\n"
          "  --publish-interval S   seconds between updates of one finding (default: 300)\n"
          "  --archive FILE         where suppressed findings go (default: with the others)\n"
          "  --drop-archived        drop suppressed findings instead\n"
          "  --max-line-bytes N     longest event line accepted (default: 16777216)\n"
          "  --stats                per-rule counters and Lua time on stderr at the end\n"
          "run only:\n"
          "  --follow FILE          follow an audit log across rotation (repeatable)\n"
          "  --from-start           read followed files from their start, not their end\n"
          "  --listen [HOST:]PORT   audit webhook receiver, POST /k8s-audit (host: 127.0.0.1)\n"
          "  --tls-cert FILE --tls-key FILE   serve HTTPS\n"
          "  --client-ca FILE       require client certificates signed by this CA\n"
          "  --auth-token-file FILE require this bearer token\n"
          "  --max-body-bytes N     largest webhook body (default: 33554432)\n"
          "  --output FILE          findings to FILE (appended; reopened on SIGUSR1)\n",
          to);
}

/* ---- parsing ---------------------------------------------------------- */

static int add_list(kg_cli *c, kg_list_kind kind, const char *arg)
{
    cli_list l = {kind, NULL, 0, arg};
    if (c->n_lists == CLI_MAX_LISTS) {
        cli_warn("too many lists");
        return -1;
    }
    if (kind == KG_LIST_CUSTOM) {
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg || !eq[1] ||
            strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
                != (size_t)(eq - arg)) {
            cli_warn("--threat-list wants NAME=FILE (NAME of letters, digits, . _ -), got '%s'", arg);
            return -1;
        }
        l.name = arg;
        l.name_len = (size_t)(eq - arg);
        l.path = eq + 1;
    } else {
        for (size_t i = 0; i < c->n_lists; i++) {
            if (c->lists[i].kind == kind) {
                cli_warn("--%s is given twice", kind == KG_LIST_TOR ? "tor-exits"
                         : kind == KG_LIST_MALICIOUS ? "malicious-ips" : "trusted-ips");
                return -1;
            }
        }
    }
    c->lists[c->n_lists++] = l;
    return 0;
}

static int parse_size(const char *opt, const char *s, size_t min, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || v < min || v > (1ull << 31)) {
        cli_warn("%s wants a number of bytes from %zu to 2147483648", opt, min);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static int parse_seconds(const char *opt, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 31536000)) {
        cli_warn("%s wants seconds from 0 to 31536000", opt);
        return -1;
    }
    *out = v;
    return 0;
}

enum {
    O_RULES = 256, O_LUALIB, O_CONFIG, O_TOR, O_MAL, O_LIST, O_TRUSTED, O_CLUSTER,
    O_ACCOUNT, O_REGION, O_STATE, O_INTERVAL, O_ARCHIVE, O_DROP, O_MAXLINE, O_STATS,
    O_LITERAL, O_SHRUNK,
    O_FOLLOW, O_FROM_START, O_LISTEN, O_CERT, O_KEY, O_CA, O_TOKEN, O_MAXBODY,
    O_OUTPUT, O_HELP
};

static const struct option longopts[] = {
    {"rules", required_argument, 0, O_RULES}, {"lualib", required_argument, 0, O_LUALIB},
    {"config", required_argument, 0, O_CONFIG}, {"tor-exits", required_argument, 0, O_TOR},
    {"malicious-ips", required_argument, 0, O_MAL},
    {"threat-list", required_argument, 0, O_LIST},
    {"trusted-ips", required_argument, 0, O_TRUSTED},
    {"cluster", required_argument, 0, O_CLUSTER},
    {"account-id", required_argument, 0, O_ACCOUNT},
    {"region", required_argument, 0, O_REGION}, {"state", required_argument, 0, O_STATE},
    {"publish-interval", required_argument, 0, O_INTERVAL},
    {"archive", required_argument, 0, O_ARCHIVE}, {"drop-archived", no_argument, 0, O_DROP},
    {"max-line-bytes", required_argument, 0, O_MAXLINE}, {"stats", no_argument, 0, O_STATS},
    {"literal-lists", no_argument, 0, O_LITERAL},
    {"accept-shrunk-lists", no_argument, 0, O_SHRUNK},
    {"follow", required_argument, 0, O_FOLLOW}, {"from-start", no_argument, 0, O_FROM_START},
    {"listen", required_argument, 0, O_LISTEN}, {"tls-cert", required_argument, 0, O_CERT},
    {"tls-key", required_argument, 0, O_KEY}, {"client-ca", required_argument, 0, O_CA},
    {"auth-token-file", required_argument, 0, O_TOKEN},
    {"max-body-bytes", required_argument, 0, O_MAXBODY},
    {"output", required_argument, 0, O_OUTPUT}, {"help", no_argument, 0, O_HELP},
    {0, 0, 0, 0}
};

/* Options of `kguard run` only. */
static bool run_only(int o)
{
    return o >= O_FOLLOW && o <= O_OUTPUT;
}

static int apply(kg_cli *c, int o, const char *arg)
{
    switch (o) {
    case O_RULES: c->rules_dir = arg; break;
    case O_LUALIB: c->lualib_dir = arg; break;
    case O_CONFIG: c->config_path = arg; break;
    case O_TOR: return add_list(c, KG_LIST_TOR, arg);
    case O_MAL: return add_list(c, KG_LIST_MALICIOUS, arg);
    case O_LIST: return add_list(c, KG_LIST_CUSTOM, arg);
    case O_TRUSTED: return add_list(c, KG_LIST_TRUSTED, arg);
    case O_CLUSTER: c->cluster = arg; break;
    case O_ACCOUNT: c->account_id = arg; break;
    case O_REGION: c->region = arg; break;
    case O_STATE: c->state_path = arg; break;
    case O_INTERVAL: return parse_seconds("--publish-interval", arg, &c->publish_interval);
    case O_ARCHIVE: c->archive_path = arg; break;
    case O_DROP: c->drop_archived = true; break;
    case O_MAXLINE: return parse_size("--max-line-bytes", arg, 1024, &c->max_line);
    case O_STATS: c->stats = true; break;
    case O_LITERAL: c->literal_lists = true; break;
    case O_SHRUNK: c->accept_shrunk_lists = true; break;
    case O_FOLLOW:
        if (c->n_follow == CLI_MAX_FOLLOW) {
            cli_warn("at most %d --follow files", CLI_MAX_FOLLOW);
            return -1;
        }
        c->follow[c->n_follow++] = arg;
        break;
    case O_FROM_START: c->from_start = true; break;
    case O_LISTEN: c->listen = arg; break;
    case O_CERT: c->tls_cert = arg; break;
    case O_KEY: c->tls_key = arg; break;
    case O_CA: c->client_ca = arg; break;
    case O_TOKEN: c->token_file = arg; break;
    case O_MAXBODY: return parse_size("--max-body-bytes", arg, 1024, &c->max_body);
    case O_OUTPUT: c->output_path = arg; break;
    }
    return 0;
}

int cli_parse(int argc, char **argv, kg_cli *c)
{
    int o;
    memset(c, 0, sizeof *c);
    c->cmd = argv[0];
    c->publish_interval = -1;
    opterr = 0;
    optind = 1;
    while ((o = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        if (o == O_HELP) {
            cli_usage(stdout);
            return 1;
        }
        if (o == ':') {
            cli_warn("option %s needs an argument", argv[optind - 1]);
            return -1;
        }
        if (o == '?') {
            cli_warn("unknown option %s", argv[optind - 1]);
            return -1;
        }
        if (run_only(o) && strcmp(c->cmd, "run") != 0) {
            cli_warn("option %s is for kguard run", argv[optind - 1]);
            return -1;
        }
        if (apply(c, o, optarg) < 0)
            return -1;
    }
    if ((c->cluster && !*c->cluster) || (c->account_id && !*c->account_id) ||
        (c->region && !*c->region)) {
        cli_warn("--cluster, --account-id and --region must not be empty");
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
    c->args = argv + optind;
    c->nargs = argc - optind;
    return 0;
}

/* ---- setup ------------------------------------------------------------ */

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

/* The single lists (Tor, malicious, trusted): the command line's, else the
 * config's. */
static void plan_single(list_plan *p, const kg_cli *c, kg_list_kind kind, const char *name,
                        const char *cfg_path, const char *cfg_key)
{
    const cli_list *l = cli_kind(c, kind);
    if (l)
        plan(p, kind, name, l->path, NULL);
    else if (cfg_path)
        plan(p, kind, name, cfg_path, cfg_key);
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
    plan_single(p, c, KG_LIST_TOR, "tor-exits", cfg ? cfg->tor_exits : NULL, "tor_exits");
    plan_single(p, c, KG_LIST_MALICIOUS, "malicious-ips", cfg ? cfg->malicious_ips : NULL,
                "malicious_ips");
    plan_single(p, c, KG_LIST_TRUSTED, "trusted-ips", cfg ? cfg->trusted_ips : NULL,
                "trusted_ips");
    for (size_t i = 0; cfg && i < cfg->n_threat_lists; i++)
        if (!cli_has_custom(c, cfg->threat_lists[i].name))
            plan(p, KG_LIST_CUSTOM, cfg->threat_lists[i].name, cfg->threat_lists[i].path,
                 "threat_lists");
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

static int open_archive(const kg_cli *c, kg_setup *s)
{
    const char *path = pick(c->archive_path, s->config ? s->config->archive_path : NULL, NULL);
    s->eo.drop_archived = c->drop_archived || (!c->archive_path && s->config &&
                                                s->config->archive_drop);
    if (!path || s->eo.drop_archived || !strcmp(c->cmd, "check") || !strcmp(c->cmd, "test"))
        return 0;   /* check and test write nothing */
    if (!(s->archive = fopen(path, "a"))) {
        cli_warn("cannot open the archive %s: %s", path, strerror(errno));
        return -1;
    }
    s->eo.archive = s->archive;
    return 0;
}

int cli_setup(const kg_cli *c, kg_setup *s)
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
    s->eo.state_path = pick(c->state_path, cfg ? cfg->state_path : NULL, NULL);
    interval = c->publish_interval >= 0 ? c->publish_interval
             : cfg && cfg->publish_interval >= 0 ? cfg->publish_interval : 300;
    s->eo.publish_interval_ms = (long long)(interval * 1000);
    s->eo.max_line = c->max_line;
    s->eo.accept_shrunk_lists = c->accept_shrunk_lists;
    s->eo.out = stdout;
    s->eo.diag = stderr;
    return open_archive(c, s);
}

void cli_setup_free(kg_setup *s)
{
    config_free(s->config);
    lists_free(&s->lists);
    if (s->archive)
        fclose(s->archive);
    memset(s, 0, sizeof *s);
}
