/*
 * input_peek: what a line says of its stage before it is parsed, as the
 * pre-scan (src/prescan.h) reads it and the input hands it to the sink's
 * skippable/skipped callbacks (input.h).
 */
#ifndef KGUARD_INPUT_PEEK_H
#define KGUARD_INPUT_PEEK_H

#include <stddef.h>

/* What a line holding one audit Event says of its stage, read before it is
 * parsed (prescan): the raw stage and auditID, not NUL-terminated, NULL
 * when absent or null. */
typedef struct kg_input_peek {
    const char *stage;
    size_t stage_len;
    const char *audit_id;
    size_t audit_id_len;
} kg_input_peek;

#endif
