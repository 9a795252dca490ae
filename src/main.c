/*
 * main: the kguard command line.  `scan` judges files or stdin, `run`
 * stays up (follow, webhook, reload), `check` loads everything strictly,
 * `test` runs rule fixtures.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "arena.h"
#include "cli.h"
#include "commands.h"
#include "output.h"
#include "kguard/format.h"

#include "version.h"

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* An input must be readable before the scan starts. */
static int check_input(const char *file)
{
    struct stat st;
    if (strcmp(file, "-") == 0)
        return 0;
    if (access(file, R_OK) != 0 || stat(file, &st) != 0) {
        cli_warn("cannot read input %s: %s", file, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        cli_warn("input %s is a directory", file);
        return -1;
    }
    return 0;
}

static int check_inputs(const kg_cli *c, char **files, int n)
{
    for (int i = 0; i < n; i++)
        if (check_input(files[i]) < 0)
            return -1;
    for (size_t i = 0; i < c->n_cluster_files; i++)
        if (check_input(c->cluster_files[i].path) < 0)
            return -1;
    return 0;
}

/* Scan one input (cluster NULL: the default one); 0 or EXIT_RUNTIME. */
static int scan_one(kg_engine *eng, const char *file, const char *cluster)
{
    char err[512];
    engine_set_source(eng, strcmp(file, "-") == 0 ? "stdin" : "file");
    if (engine_scan_cluster(eng, file, cluster, err, sizeof err) < 0) {
        cli_warn("%s", err);
        return EXIT_RUNTIME;
    }
    return 0;
}

/* The table of --summary, on stderr. */
static void print_summary(const kg_summary *sum)
{
    char *t = sum ? format_summary_table(sum, 5, isatty(STDERR_FILENO)) : NULL;
    if (t)
        fputs(t, stderr);
    free(t);
}

static int cmd_scan(const kg_cli *c)
{
    kg_setup s = {0};
    kg_engine *eng = NULL;
    char err[512];
    char *stdin_only[] = {"-"};
    bool plain = c->nargs || !c->n_cluster_files;   /* --cluster-file alone: no stdin */
    char **files = c->nargs ? c->args : stdin_only;
    int nfiles = plain ? c->nargs ? c->nargs : 1 : 0, rc = EXIT_RUNTIME;
    kg_summary *sum = NULL;

    if (check_inputs(c, files, nfiles) < 0 || setup_load(c, &s) < 0 ||
        setup_open_sinks(c, &s, false) < 0)
        goto cleanup;
    if (output_wants_summary(c) &&
        (!(sum = format_summary_new()) || output_add_summary(s.sinks, sum) < 0)) {
        cli_warn("out of memory");
        goto cleanup;
    }
    s.eo.progress = isatty(STDERR_FILENO);
    if (!(eng = engine_new(&s.eo, &s.lists, &s.config, err, sizeof err))) {
        cli_warn("%s", err);
        goto cleanup;
    }
    rc = 0;
    for (size_t i = 0; i < c->n_cluster_files; i++)
        rc |= scan_one(eng, c->cluster_files[i].path, c->cluster_files[i].cluster);
    for (int i = 0; i < nfiles; i++)
        rc |= scan_one(eng, files[i], NULL);
    if (engine_finish(eng) < 0)
        rc = EXIT_RUNTIME;
    if (c->stats)
        engine_rule_stats(eng);
    engine_summary(eng);
    print_summary(sum);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_warn("writing findings: %s", strerror(errno));
        rc = EXIT_RUNTIME;
    }
cleanup:
    engine_free(eng);
    setup_free(&s);
    format_summary_free(sum);
    return rc;
}

/* Load config, lists and rules as a scan would, and report every problem. */
static int cmd_check(const kg_cli *c)
{
    kg_setup s = {0};
    kg_engine *eng = NULL;
    char err[512];
    int problems;

    if (c->nargs) {
        cli_warn("check takes no files");
        return EXIT_USAGE;
    }
    if (setup_load(c, &s) < 0) {
        setup_free(&s);
        return EXIT_RUNTIME;
    }
    s.eo.state_path = NULL;     /* check reads nothing and writes nothing */
    problems = s.problems;
    eng = engine_new(&s.eo, &s.lists, &s.config, err, sizeof err);
    if (!eng) {
        cli_warn("%s", err);
        problems++;
    } else {
        fprintf(stderr, "kguard: check: %zu rules in %s%s%s: %s\n", engine_rule_count(eng),
                s.eo.rules_dir, c->config_path ? ", config " : "",
                c->config_path ? c->config_path : "", problems ? "problems above" : "ok");
    }
    engine_free(eng);
    setup_free(&s);
    return problems ? EXIT_RUNTIME : 0;
}

int main(int argc, char **argv)
{
    kg_cli c;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        cli_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("kguard %s\n", KGUARD_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "scan") != 0 && strcmp(argv[1], "run") != 0 &&
        strcmp(argv[1], "check") != 0 && strcmp(argv[1], "test") != 0) {
        cli_warn("unknown command '%s'", argv[1]);
        cli_usage(stderr);
        return EXIT_USAGE;
    }
    rc = cli_parse(argc - 1, argv + 1, &c);
    if (rc != 0) {
        if (rc < 0)
            cli_warn("try 'kguard %s --help'", argv[1]);
        return rc < 0 ? EXIT_USAGE : 0;
    }
    arena_install();
    if (strcmp(c.cmd, "scan") == 0)
        rc = cmd_scan(&c);
    else if (strcmp(c.cmd, "check") == 0)
        rc = cmd_check(&c);
    else if (strcmp(c.cmd, "test") == 0)
        rc = cmd_test(&c);
    else
        rc = cmd_run(&c);
    arena_release();
    return rc;
}
