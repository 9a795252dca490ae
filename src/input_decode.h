/*
 * input_decode: the envelopes a batch of audit events can come in, one
 * table entry each (detect, items, unwrap).  input.c frames the bytes into
 * JSON values and asks the table whether a value is an envelope; a new log
 * source is one more entry in input_decode.c (see docs/HACKING.md).
 */
#ifndef KGUARD_INPUT_DECODE_H
#define KGUARD_INPUT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/input_meta.h"

/* One wrapped item, unwrapped: an event (or a nested batch) as a tree, or
 * as JSON text to parse. */
typedef struct kg_input_item {
    const cJSON *value;    /* the wrapped value, or NULL */
    const char *text;      /* else its JSON text, len bytes */
    size_t len;
    char *owned;           /* text the decoder allocated (freed after use) */
    cJSON *tree;           /* a tree the decoder built (freed after use) */
    kg_input_meta meta;    /* starts as the envelope's; unwrap may refine it */
} kg_input_item;

typedef struct kg_input_decoder {
    const char *name;
    /* Is root (a JSON object) this envelope? */
    bool (*detect)(const cJSON *root);
    /* The envelope's array of wrapped items (NULL: none, an empty batch),
     * and what the envelope says about them in *meta.  NULL with *why set
     * when the envelope is malformed. */
    const cJSON *(*items)(const cJSON *root, kg_input_meta *meta, const char **why);
    /* One item of that array into *it; -1 when it holds no event. */
    int (*unwrap)(const cJSON *item, kg_input_item *it);
    /* Instead of items and unwrap, for an envelope that holds one record
     * (a cloud's record, a push message): that record into *it (a
     * payload decoded or decompressed to at most max bytes), with what the
     * envelope says in it->meta; -1 with a message in err. */
    int (*one)(const cJSON *root, kg_input_item *it, size_t max, char *err,
               size_t errlen);
} kg_input_decoder;

/* The decoder whose envelope root is, or NULL for a bare event. */
const kg_input_decoder *input_decoder_find(const cJSON *root);

/* The unwrap of a plain batch (a JSON array, an EventList's items): each
 * item must be an object. */
int input_unwrap_object(const cJSON *item, kg_input_item *it);

#endif
