/*
 * event: extraction of an audit Event's fields from its cJSON tree, with
 * type checks, and the per-event facts shared by every rule.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "kguard/event.h"
#include "kguard/timefmt.h"

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

/* The top-level fields, found in one pass over the object's members (the
 * first of duplicated keys wins, as with cJSON's own lookups).  prescan.c
 * mirrors these tables and checks: a new check here belongs there too. */
enum { T_STR, T_OBJ, T_ARR, T_ANY };

static const struct top_field {
    const char *name;
    int type;
    size_t off;
} top_fields[] = {
    {"kind", T_STR, (size_t)-1},
    {"apiVersion", T_STR, offsetof(kg_event, api_version)},
    {"level", T_STR, offsetof(kg_event, level)},
    {"auditID", T_STR, offsetof(kg_event, audit_id)},
    {"stage", T_STR, offsetof(kg_event, stage)},
    {"verb", T_STR, offsetof(kg_event, verb)},
    {"requestURI", T_STR, offsetof(kg_event, request_uri)},
    {"userAgent", T_STR, offsetof(kg_event, user_agent)},
    {"requestReceivedTimestamp", T_STR, offsetof(kg_event, received_at)},
    {"stageTimestamp", T_STR, offsetof(kg_event, stage_at)},
    {"timestamp", T_STR, (size_t)-2},            /* audit.k8s.io/v1beta1 */
    {"user", T_OBJ, offsetof(kg_event, user)},
    {"impersonatedUser", T_OBJ, offsetof(kg_event, impersonated_user)},
    {"sourceIPs", T_ARR, offsetof(kg_event, source_ips)},
    {"objectRef", T_OBJ, offsetof(kg_event, object_ref)},
    {"responseStatus", T_OBJ, offsetof(kg_event, response_status)},
    {"annotations", T_OBJ, offsetof(kg_event, annotations)},
    {"requestObject", T_ANY, offsetof(kg_event, request_object)},
    {"responseObject", T_ANY, offsetof(kg_event, response_object)},
};
#define N_TOP (sizeof top_fields / sizeof top_fields[0])

static const struct top_field user_fields[] = {
    {"username", T_STR, offsetof(kg_event, username)},
    {"uid", T_STR, offsetof(kg_event, user_uid)},
    {"groups", T_ARR, offsetof(kg_event, groups)},
    {"extra", T_OBJ, offsetof(kg_event, extra)},
};

static const struct top_field object_ref_fields[] = {
    {"resource", T_STR, offsetof(kg_event, resource)},
    {"subresource", T_STR, offsetof(kg_event, subresource)},
    {"namespace", T_STR, offsetof(kg_event, ns)},
    {"name", T_STR, offsetof(kg_event, name)},
    {"apiGroup", T_STR, offsetof(kg_event, api_group)},
    {"apiVersion", T_STR, offsetof(kg_event, object_api_version)},
    {"uid", T_STR, offsetof(kg_event, object_uid)},
};

static int type_error(const char *where, const char *name, int type, char *err,
                      size_t errlen)
{
    snprintf(err, errlen, "field %s%s must be %s", where, name,
             type == T_STR ? "a string" : type == T_OBJ ? "an object" : "an array");
    return -1;
}

/* Check v's type against f and store it in the event. */
static int take_field(kg_event *ev, const cJSON *v, const struct top_field *f,
                      const char *where, const char **kind, const char **timestamp,
                      char *err, size_t errlen)
{
    int t = v->type & 0xFF;
    if (t == cJSON_NULL)
        return 0;
    if ((f->type == T_STR && (t != cJSON_String || !v->valuestring)) ||
        (f->type == T_OBJ && t != cJSON_Object) || (f->type == T_ARR && t != cJSON_Array))
        return type_error(where, f->name, f->type, err, errlen);
    if (f->off == (size_t)-1)
        *kind = v->valuestring;
    else if (f->off == (size_t)-2)
        *timestamp = v->valuestring;
    else if (f->type == T_STR)
        *(const char **)((char *)ev + f->off) = v->valuestring;
    else
        *(const cJSON **)((char *)ev + f->off) = v;
    return 0;
}

/* The members of a small object in one pass (the first of duplicates). */
static int take_members(kg_event *ev, const cJSON *obj, const struct top_field *fields,
                        size_t n, const char *where, char *err, size_t errlen)
{
    unsigned seen = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, obj) {
        size_t len = v->string ? strlen(v->string) : 0;
        for (size_t i = 0; i < n; i++) {
            if (len != strlen(fields[i].name) || memcmp(v->string, fields[i].name, len) != 0)
                continue;
            if (!(seen & (1u << i))) {
                seen |= 1u << i;
                if (take_field(ev, v, &fields[i], where, NULL, NULL, err, errlen) < 0)
                    return -1;
            }
            break;
        }
    }
    return 0;
}

static int extract_user(kg_event *ev, char *err, size_t errlen)
{
    if (take_members(ev, ev->user, user_fields, sizeof user_fields / sizeof user_fields[0],
                     "user.", err, errlen) < 0)
        return -1;
    if (ev->groups && want_string_array(ev->groups, "user.groups", err, errlen))
        return -1;
    return 0;
}

static int extract_object_ref(kg_event *ev, char *err, size_t errlen)
{
    if (!ev->object_ref)
        return 0;
    return take_members(ev, ev->object_ref, object_ref_fields,
                        sizeof object_ref_fields / sizeof object_ref_fields[0], "objectRef.",
                        err, errlen);
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

/* top_fields by name length, built once (by whichever thread extracts
 * first: the pipeline's workers extract in parallel). */
static signed char by_len[32][4];
static pthread_once_t by_len_once = PTHREAD_ONCE_INIT;

static void build_by_len(void)
{
    memset(by_len, -1, sizeof by_len);
    for (unsigned i = 0; i < N_TOP; i++) {
        size_t l = strlen(top_fields[i].name), j = 0;
        while (by_len[l][j] >= 0)
            j++;
        by_len[l][j] = (signed char)i;
    }
}

/* The top_fields index of a member name, or -1: by length first, so each
 * member costs a comparison or two rather than a walk of the table. */
static int top_index(const char *k)
{
    size_t len = strlen(k);
    pthread_once(&by_len_once, build_by_len);
    if (len >= 32)
        return -1;
    for (unsigned j = 0; j < 4 && by_len[len][j] >= 0; j++)
        if (memcmp(k, top_fields[by_len[len][j]].name, len) == 0)
            return by_len[len][j];
    return -1;
}

static int extract_top(kg_event *ev, const cJSON *root, char *err, size_t errlen)
{
    const char *kind = NULL, *timestamp = NULL;
    unsigned seen = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, root) {
        int i = v->string ? top_index(v->string) : -1;
        if (i < 0 || (seen & (1u << i)))
            continue;
        seen |= 1u << i;
        if (take_field(ev, v, &top_fields[i], "", &kind, &timestamp, err, errlen) < 0)
            return -1;
    }
    if (kind && strcmp(kind, "Event") != 0) {
        snprintf(err, errlen, "not an audit Event (kind \"%.40s\")", kind);
        return -1;
    }
    if (!ev->received_at)
        ev->received_at = timestamp;
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
    if (extract_top(ev, root, err, errlen) < 0)
        return -1;
    if (!ev->verb || !ev->user) {
        snprintf(err, errlen, "not an audit Event (no %s)", ev->verb ? "user" : "verb");
        return -1;
    }
    if (ev->source_ips && want_string_array(ev->source_ips, "sourceIPs", err, errlen))
        return -1;
    if (ev->annotations &&
        want_string(ev->annotations, "authorization.k8s.io/decision", "annotations.",
                    &ev->decision, err, errlen))
        return -1;
    if (extract_user(ev, err, errlen) || extract_object_ref(ev, err, errlen) ||
        extract_status(ev, err, errlen))
        return -1;
    compute_facts(ev);
    /* requestReceivedTimestamp first: a long request's ResponseComplete may
     * be written early with a stageTimestamp minutes ahead (watches) */
    if (timefmt_parse(ev->received_at, &ev->time_ms) < 0 &&
        timefmt_parse(ev->stage_at, &ev->time_ms) < 0)
        ev->time_ms = -1;
    return 0;
}

void event_release(kg_event *ev)
{
    cJSON_Delete(ev->body_owned);
    ev->body_owned = NULL;
    ev->body = ev->pod_spec = NULL;
    for (int i = 0; i < KG_BODY_N; i++) {
        cJSON_Delete(ev->lazy_tree[i]);
        ev->lazy_tree[i] = NULL;
        ev->lazy[i].text = NULL;
    }
}

/* ---- bodies parsed on first access ------------------------------------ */

void event_defer_bodies(kg_event *ev, const kg_json_span *bodies)
{
    ev->deferred = true;
    for (int i = 0; i < KG_BODY_N; i++)
        ev->lazy[i] = bodies[i];
}

/* Body i, parsed now if it is still a span.  An event is only ever its
 * caller's own (non-const) object, so filling it in on read is sound. */
static const cJSON *body_of(const kg_event *cev, int i)
{
    kg_event *ev = (kg_event *)cev;
    const cJSON **slot = i == KG_BODY_REQUEST ? &ev->request_object : &ev->response_object;
    kg_json_span *b = &ev->lazy[i];
    if (b->text) {
        /* prescan_bodies checked it: strict JSON, which cJSON takes */
        *slot = ev->lazy_tree[i] = cJSON_ParseWithLengthOpts(b->text, b->len, NULL, 0);
        b->text = NULL;
    }
    return *slot;
}

const cJSON *event_request_object(const kg_event *ev)
{
    return body_of(ev, KG_BODY_REQUEST);
}

const cJSON *event_response_object(const kg_event *ev)
{
    return body_of(ev, KG_BODY_RESPONSE);
}

int event_body_type(const kg_event *ev, int i)
{
    const kg_json_span *b = &ev->lazy[i];
    const cJSON *v = i == KG_BODY_REQUEST ? ev->request_object : ev->response_object;
    if (b->text)    /* strict JSON: the first byte names the type */
        return b->text[0] == '{' ? cJSON_Object : b->text[0] == '[' ? cJSON_Array : cJSON_Raw;
    return v ? v->type & 0xFF : cJSON_Invalid;
}

const cJSON *event_member(const kg_event *ev, const char *key)
{
    if (ev->deferred && strcmp(key, "requestObject") == 0)
        return event_request_object(ev);
    if (ev->deferred && strcmp(key, "responseObject") == 0)
        return event_response_object(ev);
    return cJSON_GetObjectItemCaseSensitive(ev->root, key);
}

bool event_path_under(const kg_event *ev, const char *path)
{
    size_t n = strlen(path);
    const char *uri = ev->request_uri;
    if (!uri || strncmp(uri, path, n) != 0)
        return false;
    return uri[n] == '\0' || uri[n] == '/' || uri[n] == '?';
}
