/*
 * gke: one Cloud Logging LogEntry of a GKE cluster's Kubernetes audit log
 * rebuilt as an audit.k8s.io/v1 Event.
 *
 * methodName (io.k8s.<group>.<version>.<resource>[.<subresource>].<verb>)
 * gives the verb, resource and subresource (io.k8s.readyz: a non-resource
 * GET of /readyz); resourceName
 * (<group>/<version>[/namespaces/<ns>]/<resource>[/<name>[/<sub>]]) the
 * group, version, namespace, name and the request path; the google.rpc
 * status code maps back to the HTTP code the API server answered.  What
 * Cloud Logging does not keep (the query string, the caller's groups) is
 * left out or derived as the API server itself would (see README.md).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/gke.h"
#include "b64.h"

#define MAX_TOKENS 16

typedef struct method {
    char buf[512];
    const char *tok[MAX_TOKENS];
    int n;          /* tokens */
    int version;    /* index of the version token, -1 for non-resource */
    const char *verb, *resource, *subresource, *version_s;
} method;

typedef struct target {
    char buf[1024];
    const char *group, *version, *ns, *name, *path;
} target;

/* google.rpc.Code -> HTTP status and the Kubernetes Status reason. */
static const struct rpc_map {
    int rpc, http;
    const char *reason;
} RPC[] = {
    {1, 499, "Cancelled"},          {2, 500, "InternalError"},
    {3, 400, "BadRequest"},         {4, 504, "Timeout"},
    {5, 404, "NotFound"},           {6, 409, "AlreadyExists"},
    {7, 403, "Forbidden"},          {8, 429, "TooManyRequests"},
    {9, 400, "BadRequest"},         {10, 409, "Conflict"},
    {11, 400, "BadRequest"},        {12, 501, "MethodNotAllowed"},
    {13, 500, "InternalError"},     {14, 503, "ServiceUnavailable"},
    {15, 500, "InternalError"},     {16, 401, "Unauthorized"},
};

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static const cJSON *obj(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsObject(v) ? v : NULL;
}

bool gke_is_entry(const cJSON *o)
{
    return cJSON_IsObject(o) && obj(o, "protoPayload") != NULL;
}

/* v1, v2, v1beta1, v1alpha2 ... */
static bool is_version(const char *t)
{
    const char *p = t;
    if (*p++ != 'v' || !isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p))
        p++;
    if (strncmp(p, "alpha", 5) == 0 || strncmp(p, "beta", 4) == 0) {
        p += *p == 'a' ? 5 : 4;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

static int split(char *buf, char sep, const char **tok, int max)
{
    int n = 0;
    char *p = buf;
    while (n < max) {
        char *e = strchr(p, sep);
        tok[n++] = p;
        if (!e)
            return n;
        *e = '\0';
        p = e + 1;
    }
    return -1;
}

static int parse_method(method *m, const char *name, char *err, size_t errlen)
{
    int after;
    if (strncmp(name, "io.k8s.", 7) != 0 || strlen(name) >= sizeof m->buf)
        goto bad;
    strcpy(m->buf, name + 7);
    if ((m->n = split(m->buf, '.', m->tok, MAX_TOKENS)) < 1)
        goto bad;
    for (int i = 0; i < m->n; i++)
        if (!m->tok[i][0])
            goto bad;
    m->verb = m->tok[m->n - 1];
    m->version = -1;
    for (int i = 0; i < m->n - 1; i++)
        if (is_version(m->tok[i])) {
            m->version = i;
            break;
        }
    if (m->version < 0) { /* a non-resource request: io.k8s.readyz, io.k8s.livez.ping */
        m->verb = "get";
        return 0;
    }
    m->version_s = m->tok[m->version];
    after = m->n - 1 - (m->version + 1); /* tokens between version and verb */
    if (after < 1 || after > 2)
        goto bad;
    m->resource = m->tok[m->version + 1];
    m->subresource = after == 2 ? m->tok[m->version + 2] : NULL;
    if (!m->verb[0] || !m->resource[0] || (m->subresource && !m->subresource[0]))
        goto bad;
    return 0;
bad:
    snprintf(err, errlen, "GKE record: methodName \"%.100s\" is not a Kubernetes API method", name);
    return -1;
}

/* The group methodName spells (io.k8s.authorization.rbac.v1: rbac.
 * authorization.k8s.io; core: the empty group; apps, batch ... have no
 * domain), for records without a resourceName. */
static void method_group(const method *m, char *out, size_t len)
{
    static const char *const bare[] = {"core", "apps", "batch", "autoscaling", "policy", "extensions"};
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; m->version == 1 && i < sizeof bare / sizeof bare[0]; i++)
        if (strcmp(m->tok[0], bare[i]) == 0) {
            snprintf(out, len, "%s", i ? bare[i] : "");
            return;
        }
    for (int i = m->version - 1; i >= 0 && used < len; i--)
        used += (size_t)snprintf(out + used, len - used, "%s.", m->tok[i]);
    if (used < len)
        snprintf(out + used, len - used, "k8s.io");
}

/* Namespace and name out of resourceName's segments after group/version. */
static void target_names(target *t, const method *m, const char **seg, int n)
{
    int i = 0;
    if (n >= 2 && strcmp(seg[0], "namespaces") == 0 && strcmp(m->resource, "namespaces") != 0) {
        t->ns = seg[1];
        i = 2;
    }
    if (i < n && strcmp(seg[i], m->resource) == 0 && i + 1 < n)
        t->name = seg[i + 1];
}

static void parse_target(target *t, const method *m, const char *rname)
{
    const char *seg[MAX_TOKENS];
    int n;
    memset(t, 0, sizeof *t);
    if (!rname || strlen(rname) >= sizeof t->buf)
        return;
    strcpy(t->buf, rname);
    if ((n = split(t->buf, '/', seg, MAX_TOKENS)) < 3 || !is_version(seg[1]))
        return;
    t->group = strcmp(seg[0], "core") == 0 ? "" : seg[0];
    t->version = seg[1];
    target_names(t, m, seg + 2, n - 2);
    t->path = rname + (size_t)(seg[2] - t->buf); /* the part after group/version/ */
}

/* ---- the Event's parts ------------------------------------------------ */

static int status_http(const cJSON *pp, const method *m, const struct rpc_map **fail)
{
    const cJSON *st = obj(pp, "status"), *code = cJSON_GetObjectItemCaseSensitive(st, "code");
    const cJSON *az = cJSON_GetObjectItemCaseSensitive(pp, "authorizationInfo");
    const cJSON *first = cJSON_IsArray(az) ? cJSON_GetArrayItem(az, 0) : NULL;
    int rpc = cJSON_IsNumber(code) ? code->valueint : 0;
    *fail = NULL;
    if (rpc == 0 && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(first, "granted")))
        rpc = 7; /* denied, though no status was written */
    for (size_t i = 0; rpc && i < sizeof RPC / sizeof RPC[0]; i++)
        if (RPC[i].rpc == rpc) {
            *fail = &RPC[i];
            return RPC[i].http;
        }
    if (rpc) {
        *fail = &RPC[1]; /* an unknown code: UNKNOWN */
        return 500;
    }
    if (m->subresource && (strcmp(m->subresource, "exec") == 0 || strcmp(m->subresource, "attach") == 0 ||
                           strcmp(m->subresource, "portforward") == 0))
        return 101; /* the protocol upgrade a streaming request gets */
    return strcmp(m->verb, "create") == 0 ? 201 : 200;
}

static void add_status(cJSON *ev, const cJSON *pp, const method *m)
{
    const struct rpc_map *fail;
    int http = status_http(pp, m, &fail);
    cJSON *rs = cJSON_AddObjectToObject(ev, "responseStatus");
    const char *msg = str(obj(pp, "status"), "message");
    cJSON_AddObjectToObject(rs, "metadata");
    if (fail) {
        cJSON_AddStringToObject(rs, "status", "Failure");
        if (msg)
            cJSON_AddStringToObject(rs, "message", msg);
        cJSON_AddStringToObject(rs, "reason", fail->reason);
    }
    cJSON_AddNumberToObject(rs, "code", http);
}

/* The groups the API server adds to every identity of that kind. */
static void add_user(cJSON *ev, const char *username)
{
    cJSON *u = cJSON_AddObjectToObject(ev, "user"), *g;
    cJSON_AddStringToObject(u, "username", username);
    g = cJSON_AddArrayToObject(u, "groups");
    if (strcmp(username, "system:anonymous") == 0) {
        cJSON_AddItemToArray(g, cJSON_CreateString("system:unauthenticated"));
        return;
    }
    if (strncmp(username, "system:serviceaccount:", 22) == 0) {
        char ns[300];
        const char *colon = strchr(username + 22, ':');
        int len = colon ? (int)(colon - (username + 22)) : (int)strlen(username + 22);
        snprintf(ns, sizeof ns, "system:serviceaccounts:%.*s", len > 250 ? 250 : len, username + 22);
        cJSON_AddItemToArray(g, cJSON_CreateString("system:serviceaccounts"));
        cJSON_AddItemToArray(g, cJSON_CreateString(ns));
    }
    cJSON_AddItemToArray(g, cJSON_CreateString("system:authenticated"));
}

static void add_object_ref(cJSON *ev, const method *m, const target *t, const char *group)
{
    cJSON *ref = cJSON_AddObjectToObject(ev, "objectRef");
    cJSON_AddStringToObject(ref, "resource", m->resource);
    if (t->ns)
        cJSON_AddStringToObject(ref, "namespace", t->ns);
    if (t->name)
        cJSON_AddStringToObject(ref, "name", t->name);
    if (group[0])
        cJSON_AddStringToObject(ref, "apiGroup", group);
    cJSON_AddStringToObject(ref, "apiVersion", t->version ? t->version : m->version_s);
    if (m->subresource)
        cJSON_AddStringToObject(ref, "subresource", m->subresource);
}

/* The request path: from resourceName, else spelled by methodName (the
 * path's segments for a non-resource request). */
static void add_uri(cJSON *ev, const method *m, const target *t, const char *group,
                    const char *rname)
{
    char uri[1400];
    size_t used = 0;
    const char *version = t->version ? t->version : m->version_s;
    if (m->version < 0 && rname && rname[0] == '/')
        snprintf(uri, sizeof uri, "%s", rname);
    else if (m->version < 0)
        for (int i = 0; i < m->n && used < sizeof uri; i++)
            used += (size_t)snprintf(uri + used, sizeof uri - used, "/%s", m->tok[i]);
    else
        snprintf(uri, sizeof uri, "%s%s/%s/%s", group[0] ? "/apis/" : "/api", group, version,
                 t->path ? t->path : m->resource);
    cJSON_AddStringToObject(ev, "requestURI", uri);
}

/* request / response without the "@type" Cloud Logging adds. */
static void add_body(cJSON *ev, const char *name, const cJSON *body)
{
    cJSON *copy;
    if (!cJSON_IsObject(body) || !(copy = cJSON_Duplicate(body, true)))
        return;
    cJSON_DeleteItemFromObjectCaseSensitive(copy, "@type");
    cJSON_AddItemToObject(ev, name, copy);
}

static void add_ip_agent(cJSON *ev, const cJSON *pp)
{
    const cJSON *meta = obj(pp, "requestMetadata");
    const char *ip = str(meta, "callerIp"), *ua = str(meta, "callerSuppliedUserAgent");
    cJSON *ips = cJSON_AddArrayToObject(ev, "sourceIPs");
    if (!ip)
        ip = str(meta, "callerIP");
    if (ip)
        cJSON_AddItemToArray(ips, cJSON_CreateString(ip));
    if (ua)
        cJSON_AddStringToObject(ev, "userAgent", ua);
}

/* LogEntry labels hold the audit annotations; the authorization decision is
 * derived from authorizationInfo when they do not say it. */
static void add_annotations(cJSON *ev, const cJSON *entry, int http)
{
    const cJSON *labels = obj(entry, "labels"), *l;
    cJSON *ann = cJSON_CreateObject();
    cJSON_ArrayForEach(l, labels)
        if (cJSON_IsString(l))
            cJSON_AddStringToObject(ann, l->string, l->valuestring);
    if (!cJSON_GetObjectItemCaseSensitive(ann, "authorization.k8s.io/decision"))
        cJSON_AddStringToObject(ann, "authorization.k8s.io/decision", http == 403 ? "forbid" : "allow");
    cJSON_AddItemToObject(ev, "annotations", ann);
}

static void set_origin(kg_origin *o, const cJSON *entry)
{
    const cJSON *labels = obj(obj(entry, "resource"), "labels");
    const char *c = str(labels, "cluster_name"), *p = str(labels, "project_id"),
               *l = str(labels, "location");
    memset(o, 0, sizeof *o);
    snprintf(o->cloud, sizeof o->cloud, "gke");
    snprintf(o->cluster, sizeof o->cluster, "%s", c ? c : "");
    snprintf(o->account, sizeof o->account, "%s", p ? p : "");
    snprintf(o->region, sizeof o->region, "%s", l ? l : "");
}

/* Is it an AuditLog of the Kubernetes API server at all? */
static int check_payload(const cJSON *pp, char *err, size_t errlen)
{
    const char *type = str(pp, "@type"), *service = str(pp, "serviceName");
    if (type && strcmp(type, "type.googleapis.com/google.cloud.audit.AuditLog") != 0) {
        snprintf(err, errlen, "GKE record: protoPayload is a %.100s, not an AuditLog", type);
        return -1;
    }
    if (service && strcmp(service, "k8s.io") != 0) {
        snprintf(err, errlen, "GKE record: serviceName %.100s is not the Kubernetes API (k8s.io)", service);
        return -1;
    }
    if (!str(pp, "methodName")) {
        snprintf(err, errlen, "GKE record: no protoPayload.methodName");
        return -1;
    }
    if (!str(obj(pp, "authenticationInfo"), "principalEmail")) {
        snprintf(err, errlen, "GKE record: no protoPayload.authenticationInfo.principalEmail");
        return -1;
    }
    return 0;
}

static const char *level_of(const cJSON *pp)
{
    if (obj(pp, "response"))
        return "RequestResponse";
    return obj(pp, "request") ? "Request" : "Metadata";
}

cJSON *gke_event(const cJSON *entry, kg_origin *origin, char *err, size_t errlen)
{
    const cJSON *pp = obj(entry, "protoPayload");
    const char *rname, *id, *ts;
    method m = {0};
    target t;
    char group[256];
    cJSON *ev;
    const struct rpc_map *fail;

    if (!pp || check_payload(pp, err, errlen) < 0 ||
        parse_method(&m, str(pp, "methodName"), err, errlen) < 0)
        return NULL;
    rname = str(pp, "resourceName");
    memset(&t, 0, sizeof t);
    if (m.version >= 0)
        parse_target(&t, &m, rname);
    if (t.group)
        snprintf(group, sizeof group, "%s", t.group);
    else if (m.version >= 0)
        method_group(&m, group, sizeof group);
    id = str(entry, "insertId");
    if (!id)
        id = str(obj(entry, "operation"), "id");
    ts = str(entry, "timestamp");
    if (!ts)
        ts = str(pp, "timestamp");
    if (!(ev = cJSON_CreateObject())) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    cJSON_AddStringToObject(ev, "kind", "Event");
    cJSON_AddStringToObject(ev, "apiVersion", "audit.k8s.io/v1");
    cJSON_AddStringToObject(ev, "level", level_of(pp));
    if (id)
        cJSON_AddStringToObject(ev, "auditID", id);
    cJSON_AddStringToObject(ev, "stage", "ResponseComplete");
    add_uri(ev, &m, &t, group, rname);
    cJSON_AddStringToObject(ev, "verb", m.verb);
    add_user(ev, str(obj(pp, "authenticationInfo"), "principalEmail"));
    add_ip_agent(ev, pp);
    if (m.version >= 0)
        add_object_ref(ev, &m, &t, group);
    add_status(ev, pp, &m);
    add_body(ev, "requestObject", obj(pp, "request"));
    add_body(ev, "responseObject", obj(pp, "response"));
    if (ts) {
        cJSON_AddStringToObject(ev, "requestReceivedTimestamp", ts);
        cJSON_AddStringToObject(ev, "stageTimestamp", ts);
    }
    add_annotations(ev, entry, status_http(pp, &m, &fail));
    if (origin)
        set_origin(origin, entry);
    return ev;
}

/* ---- Pub/Sub push ----------------------------------------------------- */

bool gke_is_push(const cJSON *o)
{
    const cJSON *msg = obj(o, "message");
    return msg && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(msg, "data")) &&
           cJSON_GetObjectItemCaseSensitive(o, "subscription") != NULL;
}

char *gke_push_data(const cJSON *env, size_t max, size_t *len, char *err,
                    size_t errlen)
{
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(obj(env, "message"), "data");
    char why[160];
    char *text;
    if (!cJSON_IsString(data)) {
        snprintf(err, errlen, "Pub/Sub message without data");
        return NULL;
    }
    if (!(text = b64_decode(data->valuestring, max, len, why, sizeof why)))
        snprintf(err, errlen, "Pub/Sub message data: %s", why);
    return text;
}
