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

/* What an envelope says about the records it carries.  Inherited by the
 * records of nested envelopes; not handed to the engine yet (the next
 * issue derives the cluster from it). */
typedef struct kg_input_meta {
    const char *source;    /* the decoder that unwrapped the record; NULL: bare */
    const char *cluster;   /* the cluster the envelope names, or NULL */
} kg_input_meta;

/* One wrapped item, unwrapped: an event (or a nested batch) as a tree, or
 * as JSON text to parse. */
typedef struct kg_input_item {
    const cJSON *value;    /* the wrapped value, or NULL */
    const char *text;      /* else its JSON text, len bytes */
    size_t len;
    char *owned;           /* text the decoder allocated (freed after use) */
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
} kg_input_decoder;

/* The decoder whose envelope root is, or NULL for a bare event. */
const kg_input_decoder *input_decoder_find(const cJSON *root);

/* The unwrap of a plain batch (a JSON array, an EventList's items): each
 * item must be an object. */
int input_unwrap_object(const cJSON *item, kg_input_item *it);

#endif
