/*
 * output: opening the sinks the command line asks for, each in its line
 * format, and the setters of the options that describe them (output.h).
 */
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "output.h"
#include "util.h"

/* ---- formats ---------------------------------------------------------- */

const char *output_format_names(void)
{
    return "guardduty";
}

int output_set_format(kg_sink *s, const char *name, bool colour, char *err, size_t errlen)
{
    (void)colour;
    if (!name || strcmp(name, "guardduty") == 0)
        return 0;
    util_set_err(err, errlen, "unknown format '%s' (formats: %s)", name, output_format_names());
    (void)s;
    return -1;
}

/* ---- opening ---------------------------------------------------------- */

static bool is_url(const char *d)
{
    return strncmp(d, "http://", 7) == 0 || strncmp(d, "https://", 8) == 0;
}

static bool is_stdout(const char *d)
{
    return strcmp(d, "-") == 0;
}

static kg_sink *open_dest(const cli_output *o, unsigned takes, char *err, size_t errlen)
{
    kg_sink *s;
    if (is_stdout(o->dest)) {
        if (!(s = sink_file_stream(stdout, "stdout", takes)))
            util_set_err(err, errlen, "out of memory");
        return s;
    }
    if (is_url(o->dest))
        return sink_http_open(&o->http, takes, err, errlen);
    return sink_file_open(o->dest, takes, err, errlen);
}

/* One sink, in its format, into the set (which takes it over). */
static int add_sink(kg_sinks *set, const cli_output *o, const char *what, unsigned takes,
                    bool flush_each)
{
    char err[512] = "out of memory";
    kg_sink *s = open_dest(o, takes, err, sizeof err);
    bool colour = is_stdout(o->dest) && isatty(STDOUT_FILENO);
    if (!s) {
        cli_warn("cannot open %s %s: %s", what, is_stdout(o->dest) ? "stdout" : o->dest, err);
        return -1;
    }
    s->flush_each = flush_each;
    if (output_set_format(s, o->format, colour, err, sizeof err) < 0) {
        cli_warn("%s %s: %s", what, s->name, err);
        sink_free(s);
        return -1;
    }
    if (sinks_add(set, s) < 0) {
        cli_warn("out of memory");
        return -1;
    }
    return 0;
}

/* --format or --http-* after the last --output would apply to nothing. */
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

int output_open(const kg_cli *c, kg_sinks *set, const char *archive_path,
                bool drop_archived, bool flush_each)
{
    unsigned takes = KG_SINK_FINDINGS;
    cli_output dflt = c->next;
    if (check_trailing(c) < 0)
        return -1;
    if (archive_path && !drop_archived) {
        cli_output a = {archive_path, c->archive_format, {0}};
        if (add_sink(set, &a, "the archive", KG_SINK_ARCHIVED, flush_each) < 0)
            return -1;
    }
    if (!drop_archived && !archive_path)
        takes |= KG_SINK_ARCHIVED;
    for (size_t i = 0; i < c->n_outputs; i++)
        if (add_sink(set, &c->outputs[i], "--output", takes, flush_each) < 0)
            return -1;
    dflt.dest = "-";
    if (!c->n_outputs && add_sink(set, &dflt, "--output", takes, flush_each) < 0)
        return -1;
    return 0;
}
