/*
 * sink: where finding lines go.  A sink is a small table of callbacks
 * (write, flush, reopen, close) over its own state; a sink set fans each
 * line out to the sinks that take it.  Every callback returns 0, or -1 with
 * a message in the sink's err (see sink_fail), and the set hands each
 * failure to its caller's report callback: a line that could not be
 * written is never lost silently.
 *
 * Outages: a line a sink's write refuses is kept by the set, with every line
 * after it for that sink (in memory, then in the sink's spool file beside
 * its output: s->spool), and retried oldest first every second, on SIGUSR1
 * (sinks_reopen_one) and at the end (sinks_finish).  An outage is reported
 * once when it starts and once when the waiting lines are written; a line
 * that cannot even be kept is reported as lost.  So a write must take a
 * line whole or fail without leaving part of it behind, and a sink that
 * buffers must report (flush returning -1) what it could not push out.
 *
 * Routing: each sink says which lines it takes (KG_SINK_FINDINGS, the
 * findings nobody suppressed, and/or KG_SINK_ARCHIVED, the ones a
 * suppression rule archived).  An --archive file takes only the archived
 * ones and the outputs only the others; with --drop-archived nobody takes
 * them.  Each sink names its line format ("json", the GuardDuty finding as
 * kguard builds it, by default); a sink with a render callback gets each
 * line rendered in its format by the set.
 */
#ifndef KGUARD_SINK_H
#define KGUARD_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum {
    KG_SINK_FINDINGS = 1u << 0,   /* findings no suppression rule archived */
    KG_SINK_ARCHIVED = 1u << 1,   /* findings a suppression rule archived */
};

#define KG_SINK_FORMAT_DEFAULT "json"

typedef struct kg_sink kg_sink;
struct kg_sink_counts;
struct cJSON;

typedef struct kg_sink_ops {
    const char *kind;     /* "file", ... */
    /* One finding line, without its newline. */
    int (*write)(kg_sink *s, const char *line, bool archived);
    /* Push out what write buffered.  Optional. */
    int (*flush)(kg_sink *s);
    /* Reopen the destination (SIGUSR1, after logrotate moved a file); when
     * it cannot be reopened the old destination stays in use.  -1 also
     * when lines still buffered for the old one were lost.  Optional. */
    int (*reopen)(kg_sink *s);
    /* Flush and release everything; the sink is freed by the caller. */
    void (*close)(kg_sink *s);
    /* End of input: deliver (or spool) everything pending, waiting as long
     * as the sink allows; -1 when lines were given up.  Optional. */
    int (*finish)(kg_sink *s);
    /* Delivery counters of a sink that sends elsewhere (for the summary
     * and metrics); 0 when it keeps some.  Optional. */
    int (*counts)(kg_sink *s, struct kg_sink_counts *out);
} kg_sink_ops;

typedef struct kg_sink_counts {
    unsigned long long delivered;   /* lines the destination accepted */
    unsigned long long failed;      /* lines given up (reported): lost */
    unsigned long long spooled;     /* lines written to the on-disk spool */
    unsigned long long spool_bytes; /* bytes waiting in the spool now */
    unsigned long long pending;     /* lines waiting in memory now */
    unsigned long long errors;      /* failed callbacks (sinks_counts only) */
} kg_sink_counts;

/* A line format other than the default: render turns the finding (the
 * parsed default line) into the sink's line, malloc'd (freed with free);
 * NULL when it cannot. */
typedef char *(*kg_sink_render)(const struct cJSON *finding, const void *ud);

struct kg_sink {
    const kg_sink_ops *ops;
    void *impl;             /* the implementation's state */
    char name[256];         /* where it writes, for messages ("stdout", a path) */
    char format[16];        /* line format name */
    unsigned takes;         /* KG_SINK_FINDINGS | KG_SINK_ARCHIVED */
    bool flush_each;        /* flush after every line (kguard run) */
    char err[512];          /* what the last failed callback said */
    char *spool;            /* where unwritten lines wait (malloc'd; freed with
                             * the sink), NULL: in memory only */
    kg_sink_render render;  /* NULL: the default line as it is */
    const void *render_ud;
    bool internal;          /* kguard's own bookkeeping (the end-of-scan
                             * summary, metrics): no output, no metrics */
};

/* For implementations: set s->err and return -1. */
int sink_fail(kg_sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A new sink over ops and impl with the default format; NULL when out of
 * memory (impl is then the caller's to free). */
kg_sink *sink_new(const kg_sink_ops *ops, void *impl, const char *name, unsigned takes);
/* Close and free a sink that is in no set.  NULL is fine. */
void sink_free(kg_sink *s);
/* Give s a line format: its name (for messages) and how lines become it. */
void sink_set_format(kg_sink *s, const char *name, kg_sink_render render, const void *ud);

/* ---- the file sink (sink_file.c) --------------------------------------- */

/* Lines appended to path, reopened by path on reopen.  NULL with a message
 * in err when it cannot be opened. */
kg_sink *sink_file_open(const char *path, unsigned takes, char *err, size_t errlen);
/* Lines written to an open stream the caller keeps (stdout, a memory
 * stream): never closed, reopen does nothing. */
kg_sink *sink_file_stream(FILE *fp, const char *name, unsigned takes);

/* ---- the HTTP sink (sink_http.c) ---------------------------------------- */

#define KG_HTTP_MAX_HEADERS 8

typedef struct kg_http_opts {
    const char *url;                /* http:// or https:// */
    const char *headers[KG_HTTP_MAX_HEADERS]; /* "Name: value" */
    size_t n_headers;
    const char *token_file;         /* its first line: Authorization: SCHEME TOKEN */
    const char *auth_scheme;        /* default "Bearer" (Splunk HEC: "Splunk") */
    const char *ca_file;            /* TLS: trust this CA instead of the system's */
    bool array;                     /* a JSON array per request, not NDJSON */
    size_t batch;                   /* lines per request; 0: 500 */
    double timeout;                 /* seconds per request; 0: 10 */
    double drain;                   /* seconds finish() keeps trying; < 0: 30 */
    const char *spool_path;         /* lines the receiver did not take yet */
    size_t spool_max;               /* bytes; 0: 256 MiB */
    size_t queue_max;               /* bytes in memory before spooling; 0: 16 MiB */
} kg_http_opts;

/* POST lines to o->url from a sender thread (write only queues them);
 * failed requests are retried with exponential backoff; when the memory
 * queue is full, lines go to the spool file (delivered first next time).
 * NULL with a message in err (bad URL, unreadable token, spool). */
kg_sink *sink_http_open(const kg_http_opts *o, unsigned takes, char *err, size_t errlen);

/* ---- the set ----------------------------------------------------------- */

typedef struct kg_sinks kg_sinks;

/* Called once per failed callback: what ("write", "flush", "reopen") failed
 * on which sink; s->err says why.  what is NULL for news that is no failure
 * (waiting lines written, lines kept in the spool file at the end): the
 * text is in s->err. */
typedef void (*kg_sink_report)(void *ud, const kg_sink *s, const char *what);

/* A NULL set is an empty one (kguard check writes nothing). */
kg_sinks *sinks_new(void);
/* Close and free every sink, then the set.  NULL is fine. */
void sinks_free(kg_sinks *set);
/* The set takes over s, even on failure (-1: out of memory, s freed; or
 * s is NULL, so a failed constructor can be passed straight in). */
int sinks_add(kg_sinks *set, kg_sink *s);
size_t sinks_count(const kg_sinks *set);
kg_sink *sinks_get(const kg_sinks *set, size_t i);

/* Where failures are reported (NULL: not at all, only counted). */
void sinks_set_report(kg_sinks *set, kg_sink_report report, void *ud);

/* Write one line to every sink that takes it; flush it there when the sink
 * flushes each line.  Returns the number of sinks that failed (reported). */
int sinks_write(kg_sinks *set, const char *line, bool archived);
/* Does any sink take lines of this kind? */
bool sinks_take(const kg_sinks *set, bool archived);
/* Flush every sink.  Returns the number that failed (reported). */
int sinks_flush(kg_sinks *set);
/* Reopen sink i (when it can be reopened): 1 reopened, 0 nothing to
 * reopen, -1 failed (reported; the old destination stays).  Either way,
 * lines waiting for it are retried at once. */
int sinks_reopen_one(kg_sinks *set, size_t i);
/* Sink i's counts, for every kind of sink: what its own counts callback
 * says (a sink that delivers elsewhere) or, without one, the lines its
 * write took as delivered; plus what the set kept for it (lines lost,
 * spooled, waiting in the spool file and in memory) and its failed
 * callbacks (errors).  -1 when there is no sink i or its callback fails. */
int sinks_counts(const kg_sinks *set, size_t i, kg_sink_counts *out);
/* Failed callbacks so far. */
unsigned long long sinks_errors(const kg_sinks *set);
/* Lines waiting for a sink to recover, over all sinks. */
unsigned long long sinks_waiting(const kg_sinks *set);
/* At the end: a last retry, then what still waits goes to the spool files
 * (reported).  Returns the lines not written: kept in a spool file, lost,
 * or lost in a failed flush (counted as one each). */
unsigned long long sinks_finish(kg_sinks *set);

#endif
