/*
 * event: extraction of an audit Event's fields from its cJSON tree, with
 * type checks, and the per-event facts shared by every rule.
 */
#include <stdio.h>
#include <string.h>
#include "kguard/event.h"
#include "kguard/workload.h"

/* Field accessors: absent or JSON null leaves *out unset and succeeds; a
 * value of another type fails with a message naming the field. */
static int want_string(const cJSON *obj, const char *key, const char *where,
                       const char **out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || !v->valuestring) {
        snprintf(err, errlen, "field %s%s must be a string", where, key);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

static int want_type(const cJSON *obj, const char *key, const char *where,
                     int type, const cJSON **out, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if ((v->type & 0xFF) != type) {
        snprintf(err, errlen, "field %s%s must be %s", where, key,
                 type == cJSON_Object ? "an object"
                 : type == cJSON_Array ? "an array" : "a number");
        return -1;
    }
    *out = v;
    return 0;
}

static int want_string_array(const cJSON *arr, const char *name, char *err,
                             size_t errlen)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it)) {
            snprintf(err, errlen, "field %s must hold only strings", name);
            return -1;
        }
    }
    return 0;
}

static int extract_user(kg_event *ev, char *err, size_t errlen)
{
    const cJSON *u = ev->user;
    if (want_string(u, "username", "user.", &ev->username, err, errlen) ||
        want_string(u, "uid", "user.", &ev->user_uid, err, errlen) ||
        want_type(u, "groups", "user.", cJSON_Array, &ev->groups, err, errlen) ||
        want_type(u, "extra", "user.", cJSON_Object, &ev->extra, err, errlen))
        return -1;
    if (ev->groups && want_string_array(ev->groups, "user.groups", err, errlen))
        return -1;
    return 0;
}

static int extract_object_ref(kg_event *ev, char *err, size_t errlen)
{
    const cJSON *o = ev->object_ref;
    if (!o)
        return 0;
    return want_string(o, "resource", "objectRef.", &ev->resource, err, errlen) ||
           want_string(o, "subresource", "objectRef.", &ev->subresource, err, errlen) ||
           want_string(o, "namespace", "objectRef.", &ev->ns, err, errlen) ||
           want_string(o, "name", "objectRef.", &ev->name, err, errlen) ||
           want_string(o, "apiGroup", "objectRef.", &ev->api_group, err, errlen) ||
           want_string(o, "apiVersion", "objectRef.", &ev->object_api_version, err, errlen) ||
           want_string(o, "uid", "objectRef.", &ev->object_uid, err, errlen)
               ? -1 : 0;
}

static int extract_status(kg_event *ev, char *err, size_t errlen)
{
    const cJSON *code = NULL;
    ev->status_code = -1;
    if (!ev->response_status)
        return 0;
    if (want_type(ev->response_status, "code", "responseStatus.", cJSON_Number,
                  &code, err, errlen))
        return -1;
    if (code) {
        double d = code->valuedouble;
        if (d < 0 || d > 999 || d != (int)d) {
            snprintf(err, errlen, "field responseStatus.code is not an HTTP status");
            return -1;
        }
        ev->status_code = (int)d;
    }
    return 0;
}

static void compute_facts(kg_event *ev)
{
    const cJSON *it;
    ev->anonymous = ev->username && strcmp(ev->username, "system:anonymous") == 0;
    if (!ev->anonymous && ev->groups) {
        cJSON_ArrayForEach(it, ev->groups) {
            if (strcmp(it->valuestring, "system:unauthenticated") == 0) {
                ev->anonymous = true;
                break;
            }
        }
    }
    ev->success = ev->status_code >= 100 && ev->status_code < 400 &&
                  !(ev->decision && strcmp(ev->decision, "forbid") == 0);
    ev->nips = 0;
    if (!ev->source_ips)
        return;
    cJSON_ArrayForEach(it, ev->source_ips) {
        if (ev->nips == KG_EVENT_MAX_IPS)
            break;
        if (ipset_parse_ip(it->valuestring, &ev->ips[ev->nips]))
            ev->ip_text[ev->nips++] = it->valuestring;
    }
}

static int check_kind(const cJSON *root, char *err, size_t errlen)
{
    const char *kind = NULL;
    if (want_string(root, "kind", "", &kind, err, errlen))
        return -1;
    if (kind && strcmp(kind, "Event") != 0) {
        snprintf(err, errlen, "not an audit Event (kind \"%.40s\")", kind);
        return -1;
    }
    return 0;
}

int event_extract(kg_event *ev, const cJSON *root, char *err, size_t errlen)
{
    const char *file = ev->src_file;
    long line = ev->src_line;

    memset(ev, 0, sizeof *ev);
    ev->src_file = file;
    ev->src_line = line;
    ev->root = root;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "not an audit Event (a JSON %s)",
                 cJSON_IsArray(root) ? "array" : "scalar");
        return -1;
    }
    if (check_kind(root, err, errlen) ||
        want_string(root, "apiVersion", "", &ev->api_version, err, errlen) ||
        want_string(root, "level", "", &ev->level, err, errlen) ||
        want_string(root, "auditID", "", &ev->audit_id, err, errlen) ||
        want_string(root, "stage", "", &ev->stage, err, errlen) ||
        want_string(root, "verb", "", &ev->verb, err, errlen) ||
        want_string(root, "requestURI", "", &ev->request_uri, err, errlen) ||
        want_string(root, "userAgent", "", &ev->user_agent, err, errlen) ||
        want_string(root, "requestReceivedTimestamp", "", &ev->received_at, err, errlen) ||
        want_string(root, "stageTimestamp", "", &ev->stage_at, err, errlen) ||
        want_type(root, "user", "", cJSON_Object, &ev->user, err, errlen) ||
        want_type(root, "impersonatedUser", "", cJSON_Object, &ev->impersonated_user, err, errlen) ||
        want_type(root, "sourceIPs", "", cJSON_Array, &ev->source_ips, err, errlen) ||
        want_type(root, "objectRef", "", cJSON_Object, &ev->object_ref, err, errlen) ||
        want_type(root, "responseStatus", "", cJSON_Object, &ev->response_status, err, errlen) ||
        want_type(root, "annotations", "", cJSON_Object, &ev->annotations, err, errlen))
        return -1;
    if (!ev->verb || !ev->user) {
        snprintf(err, errlen, "not an audit Event (no %s)", ev->verb ? "user" : "verb");
        return -1;
    }
    if (!ev->received_at &&
        want_string(root, "timestamp", "", &ev->received_at, err, errlen))
        return -1; /* audit.k8s.io/v1beta1 */
    if (ev->source_ips && want_string_array(ev->source_ips, "sourceIPs", err, errlen))
        return -1;
    if (ev->annotations &&
        want_string(ev->annotations, "authorization.k8s.io/decision", "annotations.",
                    &ev->decision, err, errlen))
        return -1;
    ev->request_object = cJSON_GetObjectItemCaseSensitive(root, "requestObject");
    ev->response_object = cJSON_GetObjectItemCaseSensitive(root, "responseObject");
    if (extract_user(ev, err, errlen) || extract_object_ref(ev, err, errlen) ||
        extract_status(ev, err, errlen))
        return -1;
    compute_facts(ev);
    workload_resolve(ev);
    return 0;
}

void event_release(kg_event *ev)
{
    cJSON_Delete(ev->body_owned);
    ev->body_owned = NULL;
    ev->body = ev->pod_spec = NULL;
}

bool event_stage_is(const kg_event *ev, const char *stage)
{
    return ev->stage && strcmp(ev->stage, stage) == 0;
}

bool event_path_under(const kg_event *ev, const char *path)
{
    size_t n = strlen(path);
    const char *uri = ev->request_uri;
    if (!uri || strncmp(uri, path, n) != 0)
        return false;
    return uri[n] == '\0' || uri[n] == '/' || uri[n] == '?';
}
