/*
 * finding: renders a fired rule on an event as one GuardDuty-shaped finding
 * (lowerCamelCase wire form, see shared/reference/finding-format.md) with
 * kguard's own extras under the single extension key "kguard".
 */
#ifndef KGUARD_FINDING_H
#define KGUARD_FINDING_H

#include <stddef.h>
#include "kguard/event.h"
#include "kguard/aggregate.h"
#include "kguard/rules.h"

typedef struct kg_identity {
    const char *cluster;      /* resource.eksClusterDetails.name */
    const char *account_id;
    const char *region;
    const char *partition;    /* "aws", "aws-cn", "aws-us-gov", ... */
} kg_identity;

#define KG_DEFAULT_ACCOUNT "000000000000"

/* The identity of the event's cluster: base (--cluster, --account-id,
 * --region, the config's partition) with the cluster the event's source
 * named; then the fields the config's section for that cluster sets
 * (own: NULL, or its NULL fields, for none; own->cluster is not used); else,
 * for EKS, the account its CloudWatch envelope names when no account id was
 * given. */
void finding_identity_of(const kg_identity *base, const kg_identity *own,
                         const kg_event *ev, kg_identity *out);

/* The finding with id fid as a cJSON object (the caller deletes it); NULL
 * when out of memory.  occ gives the aggregate: count, event times,
 * createdAt and updatedAt. */
cJSON *finding_build(const kg_identity *id, const kg_event *ev,
                     const kg_match *m, const char *fid,
                     const kg_occurrence *occ);

/* The event's own time (requestReceivedTimestamp, else stageTimestamp) in
 * epoch ms, or fallback when it has none that parses. */
long long finding_event_time(const kg_event *ev, long long fallback);

/* The stable finding id: 32 lowercase hex of the aggregation key (type,
 * cluster, username, caller IP, and the subject for rules with details).
 * out must hold 33 bytes. */
void finding_id(const kg_identity *id, const kg_event *ev, const kg_match *m,
                char out[33]);

#endif
