/*
 * workload: what a request does to an object, for the rules that look
 * inside bodies, and the finding details built from it.
 *
 * The effective body is the requestObject of a create or update; for a
 * patch, the responseObject when it was logged (the object after the patch),
 * else the patch itself: a strategic-merge or JSON merge patch is already a
 * partial object, and a JSON patch (a list of operations) is turned into the
 * partial object its add/replace operations describe.  The pod spec is found
 * inside it by resource (pods, the controllers' templates, CronJobs).
 */
#ifndef KGUARD_WORKLOAD_H
#define KGUARD_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/event.h"

typedef enum kg_details {
    KG_DETAILS_NONE,
    KG_DETAILS_WORKLOAD,
    KG_DETAILS_ROLEBINDING
} kg_details;

/* Set ev->body, ev->pod_spec and ev->workload_kind (parsing deferred
 * bodies; may allocate ev->body_owned, which event_release frees). */
void workload_resolve(kg_event *ev);

/* The same, resolved on first use: what rules and findings read. */
const cJSON *workload_body(const kg_event *ev);
/* Whether there is a body, without parsing one when the types tell. */
bool workload_has_body(const kg_event *ev);
const cJSON *workload_pod_spec(const kg_event *ev);
const char *workload_kind(const kg_event *ev);

/* Turn a JSON patch (RFC 6902 operations) into the partial object its add
 * and replace operations describe; NULL when nothing usable is in it. */
cJSON *workload_from_json_patch(const cJSON *ops);

/* "docker.io/library/nginx:1.25" -> "docker.io/library"; "" without '/'.
 * out holds n bytes. */
const char *workload_image_prefix(const char *image, char *out, size_t n);

/* Facts about a pod spec, for declarative match conditions: does any
 * container (containers, initContainers, ephemeralContainers) have
 * securityContext.privileged true; does any volume mount a host path? */
bool workload_has_privileged(const cJSON *pod_spec);
bool workload_has_host_path(const cJSON *pod_spec);

/* resource.kubernetesDetails.kubernetesWorkloadDetails */
cJSON *workload_details(const kg_event *ev);
/* service.action.kubernetesRoleBindingDetails */
cJSON *workload_rolebinding_details(const kg_event *ev);

/* The subject that joins the aggregation key: "resource/namespace/name". */
void workload_subject(const kg_event *ev, char *out, size_t n);

#endif
