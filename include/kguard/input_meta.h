/*
 * input_meta: what is known of a record beyond its own fields, as the input
 * hands it on with the record (input.h) and the envelope decoders fill it
 * (input_decode.h): the envelope that carried it and what that envelope
 * said of its cluster.
 */
#ifndef KGUARD_INPUT_META_H
#define KGUARD_INPUT_META_H

#include "kguard/origin.h"

/* origin.cluster is "" when nothing named one.  Inherited by the records
 * of nested envelopes. */
typedef struct kg_input_meta {
    const char *source;    /* the decoder that unwrapped the record; NULL: bare */
    kg_origin origin;
} kg_input_meta;

#endif
