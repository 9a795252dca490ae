/*
 * input_meta: what is known of a record beyond its own fields, as the input
 * hands it on with the record (input.h) and the envelope decoders fill it
 * (input_decode.h): the envelope that carried it and what that envelope
 * said of its cluster.
 */
#ifndef KGUARD_INPUT_META_H
#define KGUARD_INPUT_META_H

#include <stddef.h>
#include "kguard/origin.h"

/* A JSON value left unparsed in the record's text (checked to be strict
 * JSON), parsed when something first reads it. */
typedef struct kg_json_span {
    const char *text;      /* NULL: none */
    size_t len;
} kg_json_span;

/* The bodies of an Event that input.c parsed without them (they read as
 * null in the record's tree): requestObject, responseObject. */
enum { KG_BODY_REQUEST, KG_BODY_RESPONSE, KG_BODY_N };

/* origin.cluster is "" when nothing named one.  Inherited by the records
 * of nested envelopes (bodies never: they belong to one bare Event). */
typedef struct kg_input_meta {
    const char *source;    /* the decoder that unwrapped the record; NULL: bare */
    kg_origin origin;
    const kg_json_span *bodies;  /* [KG_BODY_N], or NULL: parsed with the record */
} kg_input_meta;

#endif
