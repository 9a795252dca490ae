/*
 * prescan: reads an audit Event's JSON text without building a tree, far
 * enough to decide its stage (input.c asks before handing a line to cJSON).
 */
#ifndef KGUARD_PRESCAN_H
#define KGUARD_PRESCAN_H

#include <stddef.h>
#include "kguard/input_meta.h"
#include "kguard/input_peek.h"

/* Is text[0..len) one well-formed JSON object (strict JSON, which cJSON
 * accepts too) that event_extract would take as an audit Event: kind
 * "Event", verb and user present, every field kguard extracts of the type
 * it must be?  1, with the raw stage and auditID in *out (empty when
 * absent); 0 whenever that is not certain — anything unusual (escapes in
 * keys or in kind, stage, auditID; deep nesting; long numbers; a byte
 * order mark) counts as not certain, and the caller parses the text.
 * The text must have passed input.c's byte checks (UTF-8, controls). */
int prescan_event(const char *text, size_t len, kg_input_peek *out);

/* The cheap first look: the top-level members only as far as kind, stage
 * and auditID (an API server writes them first), checked as far as read.
 * 1 with *out filled when kind is "Event" and those are plain strings (or
 * absent); it vouches for nothing else: prescan_event does. */
int prescan_stage(const char *text, size_t len, kg_input_peek *out);

/* The top-level requestObject and responseObject of an audit Event's text
 * as spans (out[KG_BODY_*]; text NULL when absent or null), so that the
 * rest can be parsed without them.  1 when the whole text is strict JSON
 * (the walk of prescan_event), kind is "Event", no top-level key holds an
 * escape, neither body is repeated and at least one is present; 0
 * otherwise, and the caller parses the text whole. */
int prescan_bodies(const char *text, size_t len, kg_json_span out[KG_BODY_N]);

#endif
