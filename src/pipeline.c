/*
 * pipeline: parse-and-extract workers feeding the judge thread (see
 * pipeline.h).
 *
 * The judge thread fills a batch with lines (text copied, with each line's
 * number); a full batch goes on the work queue and on the in-flight list,
 * which keeps the order batches were filled in.  A worker takes a batch,
 * lends itself the batch's arena, opens a region, and feeds each line
 * through input_feed_from with a recording sink: each callback the input
 * makes becomes an op (an extracted event, a bad-record message, a skipped
 * stage).  The judge takes batches off the head of the in-flight list once
 * they are done, lends itself the same arena, replays the ops to the
 * engine, and ends the region: the batch's trees die together, as one
 * line's do on one thread.
 *
 * Skipping stages: a worker may only skip what is skipped whatever came
 * before (skippable_always); for any other line prescan_stage read, the
 * op keeps the peek, and the judge asks the engine's own skippable, in
 * order, and checks the line with prescan_event as the input would have:
 * a line one thread skips unparsed is skipped here too.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"
#include "pipeline.h"
#include "prescan.h"

#define BATCH_MAX_BYTES (256u << 10)
#define BATCH_MAX_LINES 1024u
#define ARENA_KEEP (8u << 20)      /* a batch arena larger than this is renewed */

enum { OP_RECORD, OP_BAD, OP_SKIPPED };

typedef struct pl_op {
    int kind;
    size_t ix;                 /* the line's index in the batch */
    long line;                 /* as the input reported it */
    bool has_meta, has_peek;
    kg_input_meta meta;
    kg_input_peek peek;        /* points into the batch's text */
    kg_event ev;               /* OP_RECORD */
    char *msg;                 /* OP_BAD */
} pl_op;

typedef struct pl_line {
    size_t off, len;
    long line;
} pl_line;

typedef struct batch {
    struct batch *next;        /* work queue, or spare list */
    struct batch *after;       /* in-flight order */
    char *file;
    bool has_base;             /* what the source says of the lines' records */
    kg_input_meta base;
    char *text;
    size_t tlen, tcap;
    pl_line *lines;
    size_t nlines, lcap;
    pl_op *ops;
    size_t nops, ocap;
    unsigned long long lost;   /* ops that found no memory */
    arena *arena;
    arena_mark mark;
    bool parsed, done;
} batch;

struct kg_pipeline {
    kg_pipeline_ops ops;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t *tid;
    unsigned n;
    batch *qhead, *qtail;      /* waiting for a worker */
    batch *ohead, *otail;      /* handed over, in order */
    batch *spare;
    batch *fill;               /* being filled */
    size_t inflight, max_bytes, batch_bytes;
    bool stop;
};

/* What a worker's recording sink knows of the line it feeds. */
typedef struct rec_ctx {
    kg_pipeline *p;
    batch *b;
    size_t ix;
    bool have_peek;
    kg_input_peek peek;
} rec_ctx;

/* ---- the worker side ----------------------------------------------------- */

static pl_op *push_op(rec_ctx *c, int kind, const char *file, long line)
{
    batch *b = c->b;
    pl_op *op;
    (void)file;                /* always the batch's */
    if (b->nops == b->ocap) {
        size_t ncap = b->ocap ? b->ocap * 2 : 64;
        pl_op *n = realloc(b->ops, ncap * sizeof *n);
        if (!n) {
            b->lost++;
            return NULL;
        }
        b->ops = n;
        b->ocap = ncap;
    }
    op = &b->ops[b->nops++];
    memset(op, 0, offsetof(pl_op, ev));
    op->kind = kind;
    op->ix = c->ix;
    op->line = line;
    op->msg = NULL;
    if (c->have_peek) {
        op->has_peek = true;
        op->peek = c->peek;
    }
    return op;
}

static void w_record(void *ud, const cJSON *rec, const kg_input_meta *meta, const char *file,
                     long line)
{
    rec_ctx *c = ud;
    char err[256];
    pl_op *op = push_op(c, OP_RECORD, file, line);
    if (!op)
        return;
    op->has_meta = meta != NULL;
    if (meta) {
        op->meta = *meta;
        op->meta.bodies = NULL;    /* a stack array of the input's: the event keeps them */
    }
    op->ev.src_file = file;
    op->ev.src_line = line;
    if (c->p->ops.extract(c->p->ops.ud, &op->ev, rec, meta, err, sizeof err) < 0) {
        op->kind = OP_BAD;
        if (!(op->msg = strdup(err))) {
            c->b->nops--;
            c->b->lost++;
        }
    }
}

static void w_bad(void *ud, const char *file, long line, const char *msg)
{
    rec_ctx *c = ud;
    pl_op *op = push_op(c, OP_BAD, file, line);
    if (op && !(op->msg = strdup(msg))) {
        c->b->nops--;
        c->b->lost++;
    }
}

static bool w_skippable(void *ud, const kg_input_peek *peek, const kg_input_meta *meta)
{
    rec_ctx *c = ud;
    (void)meta;   /* skippable_always reads the stage only */
    c->have_peek = true;
    c->peek = *peek;
    return c->p->ops.skippable_always &&
           c->p->ops.skippable_always(c->p->ops.ud, peek);
}

static void w_skipped(void *ud, const kg_input_peek *peek, const kg_input_meta *meta,
                      const char *file, long line)
{
    rec_ctx *c = ud;
    pl_op *op = push_op(c, OP_SKIPPED, file, line);
    if (!op)
        return;
    op->peek = *peek;
    op->has_meta = meta != NULL;
    if (meta)
        op->meta = *meta;
}

/* Every line of b through the input, into ops, in b's arena. */
static void parse_batch(kg_pipeline *p, batch *b)
{
    const kg_input_sink *s = p->ops.sink;
    kg_input_sink ws = {0};
    rec_ctx c = {p, b, 0, false, {0}};
    arena *was = arena_use(b->arena);

    ws.record = w_record;
    ws.bad = w_bad;
    ws.ud = &c;
    ws.max_line = s->max_line;
    ws.max_doc = s->max_doc;
    ws.lazy_bodies = s->lazy_bodies;   /* spans point into b->text, alive until replayed */
    if (s->skippable) {
        ws.skippable = w_skippable;
        ws.skipped = w_skipped;
    }
    b->mark = arena_begin();
    b->parsed = true;
    for (size_t i = 0; i < b->nlines; i++) {
        const pl_line *l = &b->lines[i];
        c.ix = i;
        c.have_peek = false;
        input_feed_from(b->text + l->off, l->len, b->file, l->line,
                        b->has_base ? &b->base : NULL, &ws);
    }
    arena_use(was);
}

static void *worker(void *arg)
{
    kg_pipeline *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        batch *b;
        while (!p->qhead && !p->stop)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->stop)
            break;
        b = p->qhead;
        if (!(p->qhead = b->next))
            p->qtail = NULL;
        pthread_mutex_unlock(&p->mu);
        parse_batch(p, b);
        pthread_mutex_lock(&p->mu);
        b->done = true;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- the judge side ------------------------------------------------------ */

/* A record one thread would have skipped unparsed (a stage the engine
 * has judged already): true when it was handed to skipped instead. */
static bool skip_late(kg_pipeline *p, const batch *b, pl_op *op)
{
    const kg_input_sink *s = p->ops.sink;
    const pl_line *l = &b->lines[op->ix];
    kg_input_peek peek = op->peek;
    if (!op->has_peek || !s->skippable || !s->skippable(s->ud, &peek, b->has_base ? &b->base : NULL) ||
        !prescan_event(b->text + l->off, l->len, &peek))
        return false;
    event_release(&op->ev);
    s->skipped(s->ud, &peek, b->has_base ? &b->base : NULL, b->file, op->line);
    return true;
}

static void replay(kg_pipeline *p, batch *b, pl_op *op)
{
    const kg_input_sink *s = p->ops.sink;
    switch (op->kind) {
    case OP_RECORD:
        if (!skip_late(p, b, op))
            p->ops.judge(p->ops.ud, &op->ev, &op->meta);
        break;
    case OP_BAD:
        if (s->bad)
            s->bad(s->ud, b->file, op->line, op->msg);
        break;
    default:
        s->skipped(s->ud, &op->peek, op->has_meta ? &op->meta : NULL, b->file, op->line);
    }
}

/* Free what the ops hold (judged or not), and the batch's region. */
static void release_ops(batch *b, bool judged)
{
    arena *was = arena_use(b->arena);
    for (size_t i = 0; i < b->nops; i++) {
        if (!judged && b->ops[i].kind == OP_RECORD)
            event_release(&b->ops[i].ev);
        free(b->ops[i].msg);
    }
    if (b->parsed)
        arena_end(b->mark);
    arena_use(was);
}

static void judge_batch(kg_pipeline *p, batch *b)
{
    arena *was = arena_use(b->arena);
    const kg_input_sink *s = p->ops.sink;
    for (size_t i = 0; i < b->nops; i++)
        replay(p, b, &b->ops[i]);
    if (b->lost && s->bad && b->nlines)
        s->bad(s->ud, b->file, b->lines[0].line,
               "out of memory: records of this batch of lines were lost");
    arena_use(was);
    release_ops(b, true);
}

static void batch_free(batch *b)
{
    if (!b)
        return;
    arena_delete(b->arena);
    free(b->file);
    free(b->text);
    free(b->lines);
    free(b->ops);
    free(b);
}

/* Back to the spare list, emptied; large buffers are not kept. */
static void recycle(kg_pipeline *p, batch *b)
{
    free(b->file);
    b->file = NULL;
    b->tlen = b->nlines = b->nops = 0;
    b->lost = 0;
    b->parsed = b->done = false;
    if (b->tcap > 2 * p->batch_bytes + 4096) {
        free(b->text);
        b->text = NULL;
        b->tcap = 0;
    }
    if (arena_bytes(b->arena) > ARENA_KEEP) {
        arena_delete(b->arena);
        if (!(b->arena = arena_new())) {
            batch_free(b);
            return;
        }
    }
    b->next = p->spare;
    p->spare = b;
}

/* The oldest batch handed over, once it is done (waiting for it when
 * wait), off the in-flight list; NULL when there is none (or not done). */
static batch *take_done(kg_pipeline *p, bool wait)
{
    batch *b;
    pthread_mutex_lock(&p->mu);
    b = p->ohead;
    while (b && !b->done && wait)
        pthread_cond_wait(&p->done, &p->mu);
    if (b && b->done) {
        if (!(p->ohead = b->after))
            p->otail = NULL;
        p->inflight -= b->tlen;
    } else {
        b = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    return b;
}

/* Judge the done batches at the head; then, while more than max_bytes is
 * in flight, wait for the oldest. */
static void judge_ready(kg_pipeline *p)
{
    batch *b;
    while ((b = take_done(p, false)) != NULL) {
        judge_batch(p, b);
        recycle(p, b);
    }
    while (p->inflight > p->max_bytes && (b = take_done(p, true)) != NULL) {
        judge_batch(p, b);
        recycle(p, b);
    }
}

static void submit(kg_pipeline *p)
{
    batch *b = p->fill;
    if (!b)
        return;
    p->fill = NULL;
    b->next = b->after = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->qtail)
        p->qtail->next = b;
    else
        p->qhead = b;
    p->qtail = b;
    if (p->otail)
        p->otail->after = b;
    else
        p->ohead = b;
    p->otail = b;
    p->inflight += b->tlen;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    judge_ready(p);
}

static batch *batch_get(kg_pipeline *p, const char *file, const kg_input_meta *base)
{
    batch *b = p->spare;
    if (b) {
        p->spare = b->next;
    } else if (!(b = calloc(1, sizeof *b)) || !(b->arena = arena_new())) {
        free(b);
        return NULL;
    }
    if (!(b->file = strdup(file))) {
        b->next = p->spare;
        p->spare = b;
        return NULL;
    }
    b->has_base = base != NULL;
    if (base)
        b->base = *base;
    return b;
}

static bool grow(void **buf, size_t *cap, size_t need, size_t size)
{
    size_t ncap = *cap ? *cap : 16;
    void *n;
    if (need <= *cap)
        return true;
    while (ncap < need)
        ncap *= 2;
    if (!(n = realloc(*buf, ncap * size)))
        return false;
    *buf = n;
    *cap = ncap;
    return true;
}

/* Copy a line into the batch being filled; false without memory. */
static bool append(batch *b, const char *text, size_t len, long line)
{
    pl_line *l;
    if (!grow((void **)&b->text, &b->tcap, b->tlen + len + 1, 1) ||
        !grow((void **)&b->lines, &b->lcap, b->nlines + 1, sizeof *b->lines))
        return false;
    l = &b->lines[b->nlines++];
    l->off = b->tlen;
    l->len = len;
    l->line = line;
    memcpy(b->text + b->tlen, text, len);
    b->text[b->tlen + len] = '\0';
    b->tlen += len + 1;
    return true;
}

/* ---- public -------------------------------------------------------------- */

/* Do the lines of batch b come from file, with base? */
static bool same_source(const batch *b, const char *file, const kg_input_meta *base)
{
    if (strcmp(b->file, file) != 0 || b->has_base != (base != NULL))
        return false;
    return !base || (b->base.source == base->source &&
                     memcmp(&b->base.origin, &base->origin, sizeof base->origin) == 0);
}

void pipeline_line(kg_pipeline *p, const char *text, size_t len, const char *file,
                   long line, const kg_input_meta *base)
{
    const kg_input_sink *s = p->ops.sink;
    if (p->fill && !same_source(p->fill, file, base))
        submit(p);
    if ((!p->fill && !(p->fill = batch_get(p, file, base))) ||
        !append(p->fill, text, len, line)) {
        pipeline_drain(p);       /* in order, then say what was lost */
        if (s->bad)
            s->bad(s->ud, file, line, "out of memory: the line was not judged");
        return;
    }
    if (p->fill->tlen >= p->batch_bytes || p->fill->nlines >= BATCH_MAX_LINES)
        submit(p);
}

void pipeline_drain(kg_pipeline *p)
{
    batch *b;
    if (p->fill && p->fill->nlines)
        submit(p);
    while ((b = take_done(p, true)) != NULL) {
        judge_batch(p, b);
        recycle(p, b);
    }
}

bool pipeline_pending(const kg_pipeline *p)
{
    return p->ohead != NULL || (p->fill && p->fill->nlines);
}

static void stop_workers(kg_pipeline *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n; i++)
        pthread_join(p->tid[i], NULL);
}

kg_pipeline *pipeline_new(unsigned threads, size_t max_bytes, const kg_pipeline_ops *ops,
                          char *err, size_t errlen)
{
    kg_pipeline *p;
    if (!arena_installed()) {
        snprintf(err, errlen, "the pipeline needs the arena");
        return NULL;
    }
    if (!(p = calloc(1, sizeof *p)) || !(p->tid = calloc(threads, sizeof *p->tid))) {
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->ops = *ops;
    p->max_bytes = max_bytes ? max_bytes : KG_PIPELINE_DEFAULT_BYTES;
    p->batch_bytes = p->max_bytes / (4 * (size_t)threads);
    p->batch_bytes = p->batch_bytes < 1 ? 1
                   : p->batch_bytes > BATCH_MAX_BYTES ? BATCH_MAX_BYTES : p->batch_bytes;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (; p->n < threads; p->n++) {
        int rc = pthread_create(&p->tid[p->n], NULL, worker, p);
        if (rc != 0) {
            snprintf(err, errlen, "cannot start a worker thread: %s", strerror(rc));
            pipeline_free(p);
            return NULL;
        }
    }
    return p;
}

void pipeline_free(kg_pipeline *p)
{
    batch *b;
    if (!p)
        return;
    stop_workers(p);
    /* what was handed over and not judged (an error path) is let go */
    while ((b = p->ohead) != NULL) {
        p->ohead = b->after;
        release_ops(b, false);
        batch_free(b);
    }
    batch_free(p->fill);
    while ((b = p->spare) != NULL) {
        p->spare = b->next;
        batch_free(b);
    }
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p->tid);
    free(p);
}
