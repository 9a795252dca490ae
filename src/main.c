/*
 * main: the kguard command line.  Parses options, loads the lists and the
 * rules, and runs a scan over the named inputs.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kguard/engine.h"
#include "arena.h"

#ifndef KGUARD_DATADIR
#define KGUARD_DATADIR "/usr/local/share/kguard"
#endif
#define KGUARD_VERSION "0.1.0"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

typedef struct list_opt {
    kg_list_kind kind;
    char *name;
    const char *path;
} list_opt;

typedef struct scan_opts {
    const char *rules_dir, *lualib_dir;
    kg_identity id;
    list_opt lists[64];
    size_t n_lists;
    size_t max_line;
    const char *state_path;
    long long publish_interval_ms;
    int stats;
} scan_opts;

static void usage(FILE *to)
{
    fputs("usage: kguard scan [--rules DIR] [--tor-exits FILE] [--malicious-ips FILE]\n"
          "                   [--threat-list NAME=FILE]... [--cluster NAME]\n"
          "                   [--account-id ID] [--region REGION] [FILE...]\n"
          "\n"
          "Reads Kubernetes audit events from each FILE (stdin when none, or '-'),\n"
          "judges them with the rules and prints one finding per line (JSON).\n"
          "\n"
          "  --rules DIR            rule files (default: the rules.d shipped with kguard)\n"
          "  --lualib DIR           shared Lua modules (default: the shipped lualib)\n"
          "  --tor-exits FILE       Tor exit list (exit-addresses format or one IP per line)\n"
          "  --malicious-ips FILE   known-malicious IPs and CIDRs\n"
          "  --threat-list NAME=FILE  your own threat list; hits give the .Custom types\n"
          "  --cluster NAME         cluster name in findings (default: kubernetes)\n"
          "  --account-id ID        account id in findings (default: 000000000000)\n"
          "  --region REGION        region in findings (default: local)\n"
          "  --state FILE           keep baselines and finding aggregation across runs\n"
          "  --publish-interval S   seconds between updates of one finding (default: 300)\n"
          "  --max-line-bytes N     longest event line accepted (default: 16777216)\n"
          "  --stats                per-rule counters and Lua time on stderr at the end\n",
          to);
}

static void warn_list_line(void *ud, const char *path, long line, const char *msg)
{
    (void)ud;
    fprintf(stderr, "kguard: %s:%ld: %s (line skipped)\n", path, line, msg);
}

/* dir/name when it is a directory; dir may be relative to the binary. */
static int try_dir(char *out, size_t n, const char *dir, const char *name)
{
    struct stat st;
    snprintf(out, n, "%s/%s", dir, name);
    return stat(out, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Where the shipped data lives: next to the binary (a checkout), two levels
 * up (build/asan/kguard), or the installed data directory. */
static const char *data_dir(const char *name, char *out, size_t n)
{
    char exe[PATH_MAX], up[PATH_MAX + 8];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        *strrchr(exe, '/') = '\0';
        if (try_dir(out, n, exe, name))
            return out;
        snprintf(up, sizeof up, "%s/../..", exe);
        if (try_dir(out, n, up, name))
            return out;
    }
    if (try_dir(out, n, KGUARD_DATADIR, name))
        return out;
    snprintf(out, n, "%s", name);
    return out;
}

static int add_list_opt(scan_opts *o, kg_list_kind kind, const char *arg)
{
    const char *path = arg, *eq;
    char *name;
    if (o->n_lists == sizeof o->lists / sizeof o->lists[0]) {
        fprintf(stderr, "kguard: too many lists\n");
        return -1;
    }
    if (kind == KG_LIST_CUSTOM) {
        eq = strchr(arg, '=');
        if (!eq || eq == arg || !eq[1] ||
            strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
                != (size_t)(eq - arg)) {
            fprintf(stderr, "kguard: --threat-list wants NAME=FILE (NAME of letters, digits, . _ -), got '%s'\n", arg);
            return -1;
        }
        name = strndup(arg, (size_t)(eq - arg));
        path = eq + 1;
    } else {
        for (size_t i = 0; i < o->n_lists; i++) {
            if (o->lists[i].kind == kind) {
                fprintf(stderr, "kguard: --%s is given twice\n",
                        kind == KG_LIST_TOR ? "tor-exits" : "malicious-ips");
                return -1;
            }
        }
        name = strdup(kind == KG_LIST_TOR ? "tor-exits" : "malicious-ips");
    }
    o->lists[o->n_lists++] = (list_opt){kind, name, path};
    return 0;
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || v < 1024 || v > (1ull << 31))
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_scan_opts(int argc, char **argv, scan_opts *o)
{
    enum { O_RULES = 256, O_LUALIB, O_TOR, O_MAL, O_LIST, O_CLUSTER, O_ACCOUNT,
           O_REGION, O_MAXLINE, O_STATE, O_INTERVAL, O_STATS, O_HELP };
    static const struct option longopts[] = {
        {"rules", required_argument, 0, O_RULES},
        {"lualib", required_argument, 0, O_LUALIB},
        {"tor-exits", required_argument, 0, O_TOR},
        {"malicious-ips", required_argument, 0, O_MAL},
        {"threat-list", required_argument, 0, O_LIST},
        {"cluster", required_argument, 0, O_CLUSTER},
        {"account-id", required_argument, 0, O_ACCOUNT},
        {"region", required_argument, 0, O_REGION},
        {"max-line-bytes", required_argument, 0, O_MAXLINE},
        {"state", required_argument, 0, O_STATE},
        {"publish-interval", required_argument, 0, O_INTERVAL},
        {"stats", no_argument, 0, O_STATS},
        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case O_RULES: o->rules_dir = optarg; break;
        case O_LUALIB: o->lualib_dir = optarg; break;
        case O_TOR: if (add_list_opt(o, KG_LIST_TOR, optarg)) return -1; break;
        case O_MAL: if (add_list_opt(o, KG_LIST_MALICIOUS, optarg)) return -1; break;
        case O_LIST: if (add_list_opt(o, KG_LIST_CUSTOM, optarg)) return -1; break;
        case O_CLUSTER: o->id.cluster = optarg; break;
        case O_ACCOUNT: o->id.account_id = optarg; break;
        case O_REGION: o->id.region = optarg; break;
        case O_MAXLINE:
            if (parse_size(optarg, &o->max_line) < 0) {
                fprintf(stderr, "kguard: --max-line-bytes wants a number of bytes from 1024 to 2147483648\n");
                return -1;
            }
            break;
        case O_STATE: o->state_path = optarg; break;
        case O_STATS: o->stats = 1; break;
        case O_INTERVAL: {
            char *end;
            double v = strtod(optarg, &end);
            if (end == optarg || *end || !(v >= 0 && v <= 31536000)) {
                fprintf(stderr, "kguard: --publish-interval wants seconds from 0 to 31536000\n");
                return -1;
            }
            o->publish_interval_ms = (long long)(v * 1000);
            break;
        }
        case O_HELP: usage(stdout); exit(0);
        case ':':
            fprintf(stderr, "kguard: option %s needs an argument\n", argv[optind - 1]);
            return -1;
        default:
            fprintf(stderr, "kguard: unknown option %s\n", argv[optind - 1]);
            return -1;
        }
    }
    if (!*o->id.cluster || !*o->id.account_id || !*o->id.region) {
        fprintf(stderr, "kguard: --cluster, --account-id and --region must not be empty\n");
        return -1;
    }
    return 0;
}

static int load_lists(const scan_opts *o, kg_lists *lists)
{
    char err[512];
    for (size_t i = 0; i < o->n_lists; i++) {
        if (lists_add(lists, o->lists[i].kind, o->lists[i].name, o->lists[i].path,
                      warn_list_line, NULL, err, sizeof err) < 0) {
            fprintf(stderr, "kguard: %s\n", err);
            return -1;
        }
    }
    return 0;
}

/* Every input must be readable before the scan starts. */
static int check_inputs(char **files, int n)
{
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (strcmp(files[i], "-") == 0)
            continue;
        if (access(files[i], R_OK) != 0 || stat(files[i], &st) != 0) {
            perror(files[i]);
            fprintf(stderr, "kguard: cannot read input %s\n", files[i]);
            return -1;
        }
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "kguard: input %s is a directory\n", files[i]);
            return -1;
        }
    }
    return 0;
}

static int cmd_scan(int argc, char **argv)
{
    scan_opts o = {0};
    kg_lists lists = {0};
    kg_engine *eng = NULL;
    kg_engine_opts eo = {0};
    char rules_buf[PATH_MAX + 32], lualib_buf[PATH_MAX + 32], err[512];
    int rc = EXIT_RUNTIME;
    char *stdin_only[] = {"-"};
    char **files;
    int nfiles;

    o.id = (kg_identity){"kubernetes", "000000000000", "local"};
    o.publish_interval_ms = 300000;
    if (parse_scan_opts(argc, argv, &o) < 0) {
        fputs("kguard: try 'kguard scan --help'\n", stderr);
        rc = EXIT_USAGE;
        goto cleanup;
    }
    files = optind < argc ? argv + optind : stdin_only;
    nfiles = optind < argc ? argc - optind : 1;
    if (check_inputs(files, nfiles) < 0 || load_lists(&o, &lists) < 0)
        goto cleanup;
    eo.rules_dir = o.rules_dir ? o.rules_dir : data_dir("rules.d", rules_buf, sizeof rules_buf);
    eo.lualib_dir = o.lualib_dir ? o.lualib_dir : data_dir("lualib", lualib_buf, sizeof lualib_buf);
    eo.id = o.id;
    eo.max_line = o.max_line;
    eo.out = stdout;
    eo.diag = stderr;
    eo.progress = isatty(STDERR_FILENO);
    eo.state_path = o.state_path;
    eo.publish_interval_ms = o.publish_interval_ms;
    eng = engine_new(&eo, &lists, err, sizeof err);
    if (!eng) {
        fprintf(stderr, "kguard: %s\n", err);
        goto cleanup;
    }
    rc = 0;
    for (int i = 0; i < nfiles; i++) {
        if (engine_scan_path(eng, files[i], err, sizeof err) < 0) {
            fprintf(stderr, "kguard: %s\n", err);
            rc = EXIT_RUNTIME;
        }
    }
    if (engine_finish(eng) < 0)
        rc = EXIT_RUNTIME;
    if (o.stats)
        engine_rule_stats(eng);
    engine_summary(eng);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("kguard: writing findings");
        rc = EXIT_RUNTIME;
    }
cleanup:
    engine_free(eng);
    lists_free(&lists);
    for (size_t i = 0; i < o.n_lists; i++)
        free(o.lists[i].name);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("kguard %s\n", KGUARD_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "scan") == 0) {
        int rc;
        arena_install();
        rc = cmd_scan(argc - 1, argv + 1);
        arena_release();
        return rc;
    }
    fprintf(stderr, "kguard: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
