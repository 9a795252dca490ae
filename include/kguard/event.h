/*
 * event: one Kubernetes audit Event, parsed once.
 *
 * event_extract() checks the types of the fields kguard knows and points the
 * struct's members into the cJSON tree (nothing is copied), then computes the
 * facts every rule shares: anonymous caller, success, parsed caller IPs.
 * The tree stays owned by the caller and must outlive the kg_event.
 *
 * The bodies (requestObject, responseObject) may come unparsed, as spans
 * of the record's text (event_defer_bodies): read them through
 * event_request_object / event_response_object, and the effective body
 * through workload.h's accessors, which parse and resolve on first use.
 */
#ifndef KGUARD_EVENT_H
#define KGUARD_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/input_meta.h"
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
    const cJSON *source_ips, *response_status, *annotations;
    /* read these through event_request_object / event_response_object */
    const cJSON *request_object, *response_object;
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
    /* bodies not parsed yet (text NULL once parsed), and the trees
     * parsed from them (freed by event_release) */
    kg_json_span lazy[KG_BODY_N];
    cJSON *lazy_tree[KG_BODY_N];
    bool deferred;              /* event_defer_bodies was called */
    bool resolved;              /* workload_resolve has run */
    /* the request body as rules see it, set by workload_resolve (on first
     * use, through workload_body); NULL without a body */
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

/* The bodies the input left unparsed (meta->bodies; the tree holds null
 * for them): parsed on first access.  The spans must outlive the event. */
void event_defer_bodies(kg_event *ev, const kg_json_span *bodies);

/* requestObject / responseObject, parsed now if they were deferred; NULL
 * when absent or null. */
const cJSON *event_request_object(const kg_event *ev);
const cJSON *event_response_object(const kg_event *ev);

/* The cJSON type of body i (KG_BODY_*) without parsing it: cJSON_Object,
 * cJSON_Array, another type (a scalar), or cJSON_Invalid when absent. */
int event_body_type(const kg_event *ev, int i);

/* A top-level member of the event as the whole record holds it (the
 * first of duplicates), deferred bodies included. */
const cJSON *event_member(const kg_event *ev, const char *key);

/* Free what was allocated for the event (a body built from a JSON patch by
 * workload_resolve, bodies parsed on first access). */
void event_release(kg_event *ev);

/* Does the request path (requestURI without its query) equal path, or
 * continue with '/' or '?' after it? */
bool event_path_under(const kg_event *ev, const char *path);

#endif
