/*
 * event: one Kubernetes audit Event, parsed once.
 *
 * event_extract() checks the types of the fields kguard knows and points the
 * struct's members into the cJSON tree (nothing is copied), then computes the
 * facts every rule shares: anonymous caller, success, parsed caller IPs.
 * The tree stays owned by the caller and must outlive the kg_event.
 */
#ifndef KGUARD_EVENT_H
#define KGUARD_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/ipset.h"
#include "kguard/origin.h"

#define KG_EVENT_MAX_IPS 16

typedef struct kg_event {
    const cJSON *root;
    const char *api_version, *level, *audit_id, *stage, *verb, *request_uri,
               *user_agent, *received_at, *stage_at;
    /* user */
    const cJSON *user, *groups, *extra, *impersonated_user;
    const char *username, *user_uid;
    /* objectRef (all NULL for non-resource requests) */
    const cJSON *object_ref;
    const char *resource, *subresource, *ns, *name, *api_group,
               *object_api_version, *object_uid;
    const cJSON *source_ips, *response_status, *request_object,
                *response_object, *annotations;
    const char *decision; /* authorization.k8s.io/decision */
    int status_code;      /* -1 when absent */
    /* the event's time, epoch ms: requestReceivedTimestamp (v1beta1
     * timestamp), else stageTimestamp; -1 when none parses */
    long long time_ms;
    /* computed facts */
    bool anonymous;       /* system:anonymous or group system:unauthenticated */
    bool success;         /* 100 <= code < 400 and not forbidden */
    int nips;             /* caller IPs that parsed, in sourceIPs order */
    kg_ip ips[KG_EVENT_MAX_IPS];
    const char *ip_text[KG_EVENT_MAX_IPS];
    /* the request body as rules see it, set by workload_resolve (called by
     * the engine after event_extract); NULL without a body */
    const cJSON *body;
    const cJSON *pod_spec;      /* inside body, for workload resources */
    const char *workload_kind;  /* objectRef.resource of a workload */
    cJSON *body_owned;          /* built from a JSON patch; freed by event_release */
    /* where the record came from, for diagnostics and findings */
    const char *src_file;
    long src_line;
    /* the cluster its source named (the envelope, the webhook path, the
     * input's option), NULL for the default one (--cluster); what the
     * cloud's envelope said (NULL when none); set by the caller after
     * event_extract */
    const char *cluster;
    const kg_origin *origin;
} kg_event;

/* Extract from a parsed record.  Returns 0, or -1 with a message in err when
 * the record is not an audit Event or a known field has the wrong type. */
int event_extract(kg_event *ev, const cJSON *root, char *err, size_t errlen);

/* Free what was allocated for the event (a body built from a JSON patch by
 * workload_resolve). */
void event_release(kg_event *ev);

/* Does the request path (requestURI without its query) equal path, or
 * continue with '/' or '?' after it? */
bool event_path_under(const kg_event *ev, const char *path);

#endif
