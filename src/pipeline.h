/*
 * pipeline: --threads.  Lines of a line-per-record source are gathered in
 * batches; worker threads turn each line into what the input would hand
 * the sink (extracted events, bad-record reports, skipped stages), and the
 * judge thread (the caller's) replays those, batch after batch in the
 * order the lines were read, to the engine.  What the engine sees is what
 * one thread gives: the same callbacks, in the same order, with the same
 * file:line.  Lua and all engine state stay on the judge thread.
 *
 * Memory is bounded: at most max_bytes of line text (plus one batch) is in
 * flight; a batch's trees live in an arena of its own (arena.h) until it
 * was judged.
 */
#ifndef KGUARD_PIPELINE_H
#define KGUARD_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/event.h"
#include "kguard/input.h"

#define KG_PIPELINE_DEFAULT_BYTES (2u << 20)   /* line text in flight */

typedef struct kg_pipeline kg_pipeline;

typedef struct kg_pipeline_ops {
    /* Worker side (must touch no judge state): may a line with this peek
     * be skipped whatever the judge has seen (RequestReceived)?  Optional. */
    bool (*skippable_always)(void *ud, const kg_input_peek *peek);
    /* Worker side: extract a record into *ev (file and line set), with
     * what the input said of it (meta->bodies is only valid during the
     * call); -1 with a message in err (the event released). */
    int (*extract)(void *ud, kg_event *ev, const cJSON *rec, const kg_input_meta *meta,
                   char *err, size_t errlen);
    /* Judge side: an event extract gave, with what is known of it. */
    void (*judge)(void *ud, kg_event *ev, const kg_input_meta *meta);
    /* Judge side: bad, skippable and skipped as one thread would call
     * them; max_doc too. */
    const kg_input_sink *sink;
    void *ud;
} kg_pipeline_ops;

/* threads workers (>= 1) over at most max_bytes of lines in flight (0:
 * the default).  NULL with a message in err (the caller goes on with one
 * thread), also when the arena is not installed. */
kg_pipeline *pipeline_new(unsigned threads, size_t max_bytes, const kg_pipeline_ops *ops,
                          char *err, size_t errlen);

/* Hand over one line (copied) of file (copied) at line number line, with
 * what its source says of its records (copied; NULL: nothing).  May
 * judge batches that are done, and waits for the oldest while too much is
 * in flight. */
void pipeline_line(kg_pipeline *p, const char *text, size_t len, const char *file,
                   long line, const kg_input_meta *base);

/* Judge everything handed over, in order; returns when nothing is left. */
void pipeline_drain(kg_pipeline *p);

/* Lines handed over and not judged yet. */
bool pipeline_pending(const kg_pipeline *p);

/* Drain, stop the workers, free. */
void pipeline_free(kg_pipeline *p);

#endif
