/*
 * state_export: one cluster's share of the engine's state — its entries in
 * the state tables, its window and baseline keys, the learning start of its
 * baselines and its finding aggregation entries — as one JSON document, and
 * back.  This is what travels with a cluster when another kguard takes it
 * over (nats_group.h).  Keys of a named cluster carry the prefix
 * "<cluster>\x1f" (state.h), aggregation entries their cluster (aggregate.h);
 * the default cluster ("") has no prefix and cannot be exported.
 */
#ifndef KGUARD_STATE_EXPORT_H
#define KGUARD_STATE_EXPORT_H

#include <stddef.h>
#include "kguard/aggregate.h"
#include "kguard/state.h"

#define KG_CSTATE_FORMAT "kguard-cluster-state"
#define KG_CSTATE_VERSION 1

/* The cluster's document (malloc'd, *len its length), or NULL when out of
 * memory or cluster is "". */
char *state_export_cluster(const kg_state *st, const kg_agg *agg, const char *cluster,
                           size_t *len);

/* Replace the cluster's share of st and agg with the document's.  0, or -1
 * with a message (not JSON, another format or cluster, a bad shape); on -1
 * the cluster's share is left empty. */
int state_import_cluster(kg_state *st, kg_agg *agg, const char *cluster, const char *text,
                         size_t len, char *err, size_t errlen);

/* Forget the cluster's share (handed to another kguard). */
void state_drop_cluster(kg_state *st, kg_agg *agg, const char *cluster);

#endif
