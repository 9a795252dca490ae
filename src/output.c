/*
 * output: opening the sinks the command line asks for, each in its line
 * format (the destination decides the sink: -, a file, an http(s) URL or
 * nats:SUBJECT), and the setters of the options that describe them (output.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "output.h"
#include "util.h"
#include "version.h"
#include "kguard/format.h"
#include "kguard/sink_nats.h"

#define NATS_PREFIX "nats:"

static bool is_url(const char *d)
{
    return strncmp(d, "http://", 7) == 0 || strncmp(d, "https://", 8) == 0;
}

/* nats:SUBJECT: a JetStream subject on the --nats-url server. */
static bool is_nats(const char *d)
{
    return strncmp(d, NATS_PREFIX, strlen(NATS_PREFIX)) == 0;
}

static bool is_stdout(const char *d)
{
    return strcmp(d, "-") == 0;
}

/* ---- formats ---------------------------------------------------------- */

#define MAX_FORMATS 16

/* One format with the options it renders with: immutable once built, shared
 * by every sink of that format (render_ud). */
typedef struct out_format {
    const kg_format *fmt;
    kg_format_opts opts;
} out_format;

static out_format formats[MAX_FORMATS][2];   /* [format][colour] */

static char *render(const cJSON *f, const void *ud)
{
    const out_format *o = ud;
    return o->fmt->render(f, &o->opts);
}

const char *output_format_names(void)
{
    return format_names();
}

int output_set_format(kg_sink *s, const char *name, bool colour, char *err, size_t errlen)
{
    size_t n;
    const kg_format *all = format_all(&n), *f = name ? format_find(name) : NULL;
    out_format *o;
    if (!name || (f && f == format_find("guardduty")))
        return 0;               /* the line as the engine built it */
    if (!f || (size_t)(f - all) >= MAX_FORMATS) {
        util_set_err(err, errlen, "unknown format '%s' (formats: %s)", name, format_names());
        return -1;
    }
    o = &formats[f - all][colour];
    o->fmt = f;
    o->opts.version = KGUARD_VERSION;
    o->opts.colour = colour;
    sink_set_format(s, f->name, render, o);
    return 0;
}

/* ---- the end-of-scan summary ------------------------------------------ */

/* A sink that counts findings into a summary (the table at the end). */
static int summary_write(kg_sink *s, const char *line, bool archived)
{
    cJSON *f = cJSON_Parse(line);
    int rc = f ? format_summary_add(s->impl, f) : -1;
    (void)archived;
    cJSON_Delete(f);
    return rc < 0 ? sink_fail(s, "cannot count a finding in the summary") : 0;
}

static void summary_close(kg_sink *s)
{
    s->impl = NULL;             /* the summary is the caller's */
}

static const kg_sink_ops summary_ops = {"summary", summary_write, NULL, NULL, summary_close,
                                        NULL, NULL};

int output_add_summary(kg_sinks *set, kg_summary *sum)
{
    kg_sink *s = sink_new(&summary_ops, sum, "summary", KG_SINK_FINDINGS);
    if (s)
        s->internal = true;
    return sinks_add(set, s);
}

bool output_wants_summary(const kg_cli *c, const kg_config *cfg)
{
    const char *fmt = c->next.format;
    if (c->summary)
        return true;
    if (!isatty(STDOUT_FILENO))
        return false;
    for (size_t i = 0; i < c->n_outputs; i++)
        if (is_stdout(c->outputs[i].dest))
            fmt = c->outputs[i].format;
    for (size_t i = 0; !c->n_outputs && cfg && i < cfg->n_outputs; i++)
        if (is_stdout(cfg->outputs[i].dest))
            fmt = cfg->outputs[i].format;
    return fmt && strcmp(fmt, "text") == 0;
}

/* ---- opening ---------------------------------------------------------- */

/* nats:SUBJECT; lines JetStream did not take wait in memory, then in the
 * --nats-spool file (the sink set's backlog, sink_spool.h). */
static kg_sink *open_nats(const cli_output *o, const kg_nats_conn_opts *nats, unsigned takes,
                          char *err, size_t errlen)
{
    const char *subject = o->dest + strlen(NATS_PREFIX);
    kg_sink *s;
    if (!*subject || strpbrk(subject, " \t\r\n*>")) {
        util_set_err(err, errlen, "nats: wants a subject without spaces or wildcards");
        return NULL;
    }
    if (!nats || !nats->url) {
        util_set_err(err, errlen, "a nats: output needs --nats-url (or nats_url in the config)");
        return NULL;
    }
    if (!(s = sink_nats_open(nats, subject, takes, err, errlen)))
        return NULL;
    if (o->http.spool_path && !(s->spool = strdup(o->http.spool_path))) {
        util_set_err(err, errlen, "out of memory");
        sink_free(s);
        return NULL;
    }
    return s;
}

static kg_sink *open_dest(const cli_output *o, const kg_nats_conn_opts *nats, unsigned takes,
                          char *err, size_t errlen)
{
    kg_sink *s;
    if (is_stdout(o->dest)) {
        if (!(s = sink_file_stream(stdout, "stdout", takes)))
            util_set_err(err, errlen, "out of memory");
        return s;
    }
    if (is_url(o->dest))
        return sink_http_open(&o->http, takes, err, errlen);
    if (is_nats(o->dest))
        return open_nats(o, nats, takes, err, errlen);
    return sink_file_open(o->dest, takes, err, errlen);
}

/* One sink, in its format, into the set (which takes it over). */
static int add_sink(kg_sinks *set, const cli_output *o, const kg_nats_conn_opts *nats,
                    const char *what, unsigned takes, bool flush_each)
{
    char err[512] = "out of memory";
    bool colour = is_stdout(o->dest) && isatty(STDOUT_FILENO);
    kg_sink *s;
    if (o->http.array && is_url(o->dest) && o->format && strcmp(o->format, "text") == 0) {
        cli_warn("%s %s: --http-array sends JSON, and text lines are not", what, o->dest);
        return -1;
    }
    if (!(s = open_dest(o, nats, takes, err, sizeof err))) {
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

/* A config output as the command line would say it (pointing into o). */
static cli_output from_config(const kg_config_output *o)
{
    cli_output out = {o->dest, o->format, {0}};
    kg_http_opts *h = &out.http;
    h->url = o->dest;
    for (size_t i = 0; i < o->n_headers && i < KG_HTTP_MAX_HEADERS; i++)
        h->headers[h->n_headers++] = o->headers[i];
    h->token_file = o->token_file;
    h->auth_scheme = o->auth_scheme;
    h->ca_file = o->ca_file;
    h->array = o->array;
    h->batch = o->batch;
    h->timeout = o->timeout;
    h->drain = o->drain;
    h->spool_path = o->spool;
    h->spool_max = o->spool_max;
    return out;
}

/* The config's outputs, used when the command line names no --output: a
 * --format or --http-* option would then apply to nothing. */
static int open_config(const kg_cli *c, const kg_config *cfg, kg_sinks *set,
                       const kg_nats_conn_opts *nats, unsigned takes, bool flush_each)
{
    cli_output none;
    memset(&none, 0, sizeof none);   /* padding too: compared whole */
    none.http.drain = -1;
    if (memcmp(&none, &c->next, sizeof none) != 0) {
        cli_warn("--format and --http-* options apply to the --output options after them; "
                 "without --output, the outputs of %s are used and set their own", cfg->file);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_outputs; i++) {
        cli_output o = from_config(&cfg->outputs[i]);
        if (add_sink(set, &o, nats, "config output", takes, flush_each) < 0)
            return -1;
    }
    return 0;
}

/* --nats-output SUBJ: an alias of --output nats:SUBJ (in the default format). */
static int add_nats_alias(kg_sinks *set, const kg_cli *c, const kg_nats_conn_opts *nats,
                          unsigned takes, bool flush_each)
{
    char dest[512];
    cli_output o = {dest, NULL, {0}};
    if (!c->nats_output)
        return 0;
    snprintf(dest, sizeof dest, NATS_PREFIX "%s", c->nats_output);
    return add_sink(set, &o, nats, "--nats-output", takes, flush_each);
}

int output_open(const kg_cli *c, const kg_config *cfg, kg_sinks *set,
                const kg_nats_conn_opts *nats, const char *archive_path, bool drop_archived,
                bool flush_each)
{
    unsigned takes = KG_SINK_FINDINGS;
    cli_output dflt = c->next;
    if (archive_path && !drop_archived) {
        cli_output a = {archive_path, c->archive_format, {0}};
        if (add_sink(set, &a, nats, "the archive", KG_SINK_ARCHIVED, flush_each) < 0)
            return -1;
    }
    if (!drop_archived && !archive_path)
        takes |= KG_SINK_ARCHIVED;
    for (size_t i = 0; i < c->n_outputs; i++)
        if (add_sink(set, &c->outputs[i], nats, "--output", takes, flush_each) < 0)
            return -1;
    if (!c->n_outputs && cfg && cfg->n_outputs) {
        if (open_config(c, cfg, set, nats, takes, flush_each) < 0)
            return -1;
    } else {
        dflt.dest = "-";
        if (!c->n_outputs && add_sink(set, &dflt, nats, "--output", takes, flush_each) < 0)
            return -1;
    }
    if (add_nats_alias(set, c, nats, takes, flush_each) < 0)
        return -1;
    return 0;
}
