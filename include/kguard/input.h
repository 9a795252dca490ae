/*
 * input: turns bytes into audit-event records.
 *
 * A source is a file or stdin holding one Event per line (the API server's
 * log backend), or one JSON document holding an EventList or an array of
 * events (the webhook's batches), on one line or pretty-printed; or the
 * managed clouds' records and envelopes of them (GKE, AKS, EKS: gke.h,
 * aks.h, eks.h); gzip-compressed or not (gunzip.h).  Every
 * record is parsed once with cJSON and handed to the sink; every bad record
 * (bad JSON, invalid UTF-8, too deep, over the size limit) is handed to the
 * sink's `bad` callback with its file:line, and reading goes on.
 */
#ifndef KGUARD_INPUT_H
#define KGUARD_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/input_meta.h"
#include "kguard/input_peek.h"

#define KG_INPUT_DEFAULT_MAX_LINE (16u << 20)   /* one event line */
#define KG_INPUT_DEFAULT_MAX_DOC  (256u << 20)  /* one multi-line document */

typedef struct kg_input_sink {
    /* One event record (an object; not yet checked to be an Event) and
     * what is known of it.  The tree is freed when the callback returns. */
    void (*record)(void *ud, const cJSON *rec, const kg_input_meta *meta,
                   const char *file, long line);
    /* A record that was reported and skipped. */
    void (*bad)(void *ud, const char *file, long line, const char *msg);
    /* Optional: called as reading goes on, with the bytes read so far. */
    void (*progress)(void *ud, const char *file, unsigned long long bytes);
    void *ud;
    size_t max_line;   /* 0: KG_INPUT_DEFAULT_MAX_LINE */
    size_t max_doc;    /* 0: KG_INPUT_DEFAULT_MAX_DOC */
    /* Optional, both or neither: may a line holding an audit Event with
     * this stage and auditID, from a source with this meta (NULL when it
     * says nothing), go unparsed (no side effects)?  If so, and the line is
     * a well-formed Event that would extract cleanly, skipped is called for
     * it instead of record (it counts the record). */
    bool (*skippable)(void *ud, const kg_input_peek *peek, const kg_input_meta *meta);
    void (*skipped)(void *ud, const kg_input_peek *peek, const kg_input_meta *meta,
                    const char *file, long line);
    /* Optional: takes each non-blank line of a line-per-record source
     * (with what the source says of its records, or NULL) instead of
     * input_feed_from (the pipeline, --threads, which feeds it to
     * this sink's callbacks later, in order). */
    void (*line)(void *ud, const char *text, size_t len, const char *file, long line,
                 const kg_input_meta *base);
    /* May an Event line be parsed without its bodies (requestObject,
     * responseObject)?  Then record's meta->bodies holds them as spans. */
    bool lazy_bodies;
} kg_input_sink;

/* Read a whole source ("-" is stdin) to its end.  Returns 0, or -1 with a
 * message in err when it cannot be opened or read. */
int input_read_path(const char *path, const kg_input_sink *sink, char *err,
                    size_t errlen);

/* input_read_path with what is known of the source's records beforehand
 * (the cluster --cluster-file names); an envelope's own word replaces it. */
int input_read_path_from(const char *path, const kg_input_meta *base,
                         const kg_input_sink *sink, char *err, size_t errlen);

/* Feed one complete JSON text (a line, or a webhook body, which may be
 * gzip-compressed) that starts at file:line.  Returns the number of records
 * handed to sink->record. */
long input_feed(const char *text, size_t len, const char *file, long line,
                const kg_input_sink *sink);

/* input_feed with what is known of the text's records beforehand (the
 * cluster a webhook path names); an envelope's own word replaces it. */
long input_feed_from(const char *text, size_t len, const char *file, long line,
                     const kg_input_meta *base, const kg_input_sink *sink);

/* Is buf valid UTF-8 (no overlongs, no surrogates)?  On failure *bad_at is
 * the offset of the first bad byte. */
int input_utf8_valid(const unsigned char *buf, size_t len, size_t *bad_at);

#endif
