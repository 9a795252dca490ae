/*
 * gke: Google Kubernetes Engine audit records (Cloud Logging LogEntry with a
 * google.cloud.audit.AuditLog protoPayload) turned into the audit.k8s.io/v1
 * Event the rules see, and the Pub/Sub push envelope that carries one.  The
 * field mapping is tabled in README.md ("GKE records").
 */
#ifndef KGUARD_GKE_H
#define KGUARD_GKE_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/origin.h"

/* Is o a LogEntry (an object with a protoPayload object)? */
bool gke_is_entry(const cJSON *o);

/* The Event for a LogEntry, a new tree the caller frees; origin gets the
 * cluster, project and location from resource.labels.  NULL with a message
 * in err when the entry is not a Kubernetes API audit record or lacks what
 * an Event needs (methodName, principalEmail). */
cJSON *gke_event(const cJSON *entry, kg_origin *origin, char *err, size_t errlen);

/* Is o a Pub/Sub push envelope ({"message": {"data": ...}, "subscription"})? */
bool gke_is_push(const cJSON *o);

/* The envelope's message.data, base64-decoded: a malloc'd, NUL-terminated
 * text of *len bytes (at most max).  NULL with a message in err. */
char *gke_push_data(const cJSON *env, size_t max, size_t *len, char *err,
                    size_t errlen);

#endif
