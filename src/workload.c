/*
 * workload: effective bodies, JSON patches, pod specs and the workload and
 * role-binding details of findings (see workload.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/workload.h"

/* Where each workload resource keeps its pod spec, as a path of keys. */
static const struct {
    const char *resource;
    const char *path[6];
} pod_spec_paths[] = {
    {"pods", {"spec", NULL}},
    {"deployments", {"spec", "template", "spec", NULL}},
    {"daemonsets", {"spec", "template", "spec", NULL}},
    {"statefulsets", {"spec", "template", "spec", NULL}},
    {"replicasets", {"spec", "template", "spec", NULL}},
    {"replicationcontrollers", {"spec", "template", "spec", NULL}},
    {"jobs", {"spec", "template", "spec", NULL}},
    {"cronjobs", {"spec", "jobTemplate", "spec", "template", "spec", NULL}},
    {"podtemplates", {"template", "spec", NULL}},
};

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static const char *get_str(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- JSON patch -> partial object ------------------------------------- */

/* Decode one JSON-pointer segment (~1 -> /, ~0 -> ~) into buf. */
static const char *pointer_segment(const char *p, char *buf, size_t n, const char **next)
{
    size_t i = 0;
    while (*p && *p != '/' && i + 1 < n) {
        if (p[0] == '~' && (p[1] == '0' || p[1] == '1')) {
            buf[i++] = p[1] == '0' ? '~' : '/';
            p += 2;
        } else {
            buf[i++] = *p++;
        }
    }
    buf[i] = '\0';
    while (*p && *p != '/')
        p++; /* an over-long segment is cut */
    *next = p;
    return buf;
}

static bool is_index(const char *s)
{
    if (strcmp(s, "-") == 0)
        return true;
    return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 6;
}

/* The child container for segment seg under node, created as an object or
 * an array (when the following segment is an index). */
static cJSON *child_for(cJSON *node, const char *seg, bool want_array)
{
    cJSON *c;
    if (cJSON_IsArray(node)) {
        int idx = strcmp(seg, "-") == 0 ? cJSON_GetArraySize(node) : atoi(seg);
        while (cJSON_GetArraySize(node) <= idx)
            cJSON_AddItemToArray(node, cJSON_CreateObject());
        c = cJSON_GetArrayItem(node, idx);
        if (want_array && !cJSON_IsArray(c))
            cJSON_ReplaceItemInArray(node, idx, c = cJSON_CreateArray());
        return c;
    }
    c = cJSON_GetObjectItemCaseSensitive(node, seg);
    if (!c || (want_array ? !cJSON_IsArray(c) : !cJSON_IsObject(c))) {
        if (c)
            cJSON_DeleteItemFromObjectCaseSensitive(node, seg);
        c = want_array ? cJSON_AddArrayToObject(node, seg) : cJSON_AddObjectToObject(node, seg);
    }
    return c;
}

#define MAX_PATH_DEPTH 64   /* far deeper than any Kubernetes object */

static void apply_op(cJSON *root, const char *path, const cJSON *value)
{
    char seg[256], nextseg[256];
    const char *p = path, *after;
    cJSON *node = root;
    int depth = 0;

    if (*p != '/')
        return;
    p++;
    for (;;) {
        if (++depth > MAX_PATH_DEPTH)
            return;             /* not a path into an object we judge */
        pointer_segment(p, seg, sizeof seg, &after);
        if (*after == '\0') {
            cJSON *copy = cJSON_Duplicate(value, 1);
            if (cJSON_IsArray(node)) {
                int idx = strcmp(seg, "-") == 0 ? cJSON_GetArraySize(node) : atoi(seg);
                if (idx > 4096) {
                    cJSON_Delete(copy);
                    return;
                }
                while (cJSON_GetArraySize(node) < idx)
                    cJSON_AddItemToArray(node, cJSON_CreateObject());
                if (idx < cJSON_GetArraySize(node))
                    cJSON_ReplaceItemInArray(node, idx, copy);
                else
                    cJSON_AddItemToArray(node, copy);
            } else if (cJSON_GetObjectItemCaseSensitive(node, seg)) {
                cJSON_ReplaceItemInObjectCaseSensitive(node, seg, copy);
            } else {
                cJSON_AddItemToObject(node, seg, copy);
            }
            return;
        }
        pointer_segment(after + 1, nextseg, sizeof nextseg, &(const char *){NULL});
        if (cJSON_IsArray(node) && (!is_index(seg) || atoi(seg) > 4096))
            return;
        node = child_for(node, seg, is_index(nextseg));
        if (!node)
            return;
        p = after + 1;
    }
}

cJSON *workload_from_json_patch(const cJSON *ops)
{
    cJSON *root = cJSON_CreateObject();
    const cJSON *op;
    int applied = 0;
    cJSON_ArrayForEach(op, ops) {
        const char *kind = get_str(op, "op"), *path = get_str(op, "path");
        const cJSON *value = get(op, "value");
        if (!kind || !path || !value ||
            (strcmp(kind, "add") != 0 && strcmp(kind, "replace") != 0))
            continue;
        if (*path == '\0') {           /* replaces the whole document */
            if (cJSON_IsObject(value)) {
                cJSON_Delete(root);
                root = cJSON_Duplicate(value, 1);
                applied++;
            }
            continue;
        }
        apply_op(root, path, value);
        applied++;
    }
    if (!applied) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ---- the effective body ----------------------------------------------- */

static bool is_patch(const kg_event *ev)
{
    return ev->verb && strcmp(ev->verb, "patch") == 0;
}

/* The effective body, parsing only the bodies it needs. */
static const cJSON *effective_body(kg_event *ev)
{
    bool patch = is_patch(ev);
    if (patch && event_body_type(ev, KG_BODY_RESPONSE) == cJSON_Object)
        return event_response_object(ev);
    if (patch && event_body_type(ev, KG_BODY_REQUEST) == cJSON_Array)
        return ev->body_owned = workload_from_json_patch(event_request_object(ev));
    if (event_body_type(ev, KG_BODY_REQUEST) == cJSON_Object)
        return event_request_object(ev);
    if (!patch && event_body_type(ev, KG_BODY_RESPONSE) == cJSON_Object)
        return event_response_object(ev);
    return NULL;
}

void workload_resolve(kg_event *ev)
{
    ev->resolved = true;
    cJSON_Delete(ev->body_owned);
    ev->body_owned = NULL;
    ev->body = effective_body(ev);
    ev->pod_spec = NULL;
    ev->workload_kind = NULL;
    if (!ev->resource)
        return;
    for (size_t i = 0; i < sizeof pod_spec_paths / sizeof pod_spec_paths[0]; i++) {
        const cJSON *node = ev->body;
        if (strcmp(ev->resource, pod_spec_paths[i].resource) != 0)
            continue;
        ev->workload_kind = pod_spec_paths[i].resource;
        for (const char *const *k = pod_spec_paths[i].path; *k && node; k++)
            node = get(node, *k);
        ev->pod_spec = cJSON_IsObject(node) ? node : NULL;
        return;
    }
}

/* An event is only ever its caller's own (non-const) object: resolving it
 * on read is sound. */
static const kg_event *resolved(const kg_event *ev)
{
    if (!ev->resolved)
        workload_resolve((kg_event *)ev);
    return ev;
}

bool workload_has_body(const kg_event *ev)
{
    bool patch = is_patch(ev);
    int req, resp;
    if (ev->resolved)
        return ev->body != NULL;
    req = event_body_type(ev, KG_BODY_REQUEST);
    resp = event_body_type(ev, KG_BODY_RESPONSE);
    if (patch && resp == cJSON_Object)
        return true;
    if (patch && req == cJSON_Array)    /* a JSON patch: only its operations tell */
        return workload_body(ev) != NULL;
    return req == cJSON_Object || (!patch && resp == cJSON_Object);
}

const cJSON *workload_body(const kg_event *ev)
{
    return resolved(ev)->body;
}

const cJSON *workload_pod_spec(const kg_event *ev)
{
    return resolved(ev)->pod_spec;
}

const char *workload_kind(const kg_event *ev)
{
    return resolved(ev)->workload_kind;
}

/* ---- facts for match conditions ----------------------------------------- */

static const char *const container_lists[] = {"initContainers", "containers",
                                              "ephemeralContainers"};

bool workload_has_privileged(const cJSON *spec)
{
    for (size_t i = 0; i < 3; i++) {
        const cJSON *l = get(spec, container_lists[i]), *c;
        if (!cJSON_IsArray(l))
            continue;
        cJSON_ArrayForEach(c, l)
            if (cJSON_IsTrue(get(get(c, "securityContext"), "privileged")))
                return true;
    }
    return false;
}

bool workload_has_host_path(const cJSON *spec)
{
    const cJSON *vols = get(spec, "volumes"), *v;
    if (!cJSON_IsArray(vols))
        return false;
    cJSON_ArrayForEach(v, vols)
        if (cJSON_IsObject(get(v, "hostPath")))
            return true;
    return false;
}

/* ---- finding details -------------------------------------------------- */

const char *workload_image_prefix(const char *image, char *out, size_t n)
{
    const char *slash = strrchr(image, '/');
    size_t len = slash ? (size_t)(slash - image) : 0;
    if (len >= n)
        len = n - 1;
    memcpy(out, image, len);
    out[len] = '\0';
    return out;
}

static void add_bool(cJSON *o, const char *k, const cJSON *spec, const char *field)
{
    cJSON_AddBoolToObject(o, k, cJSON_IsTrue(get(spec, field)));
}

static cJSON *container_obj(const cJSON *c)
{
    cJSON *o = cJSON_CreateObject(), *mounts;
    const cJSON *sc = get(c, "securityContext"), *vm, *m;
    const char *image = get_str(c, "image");
    char prefix[512];

    if (get_str(c, "name"))
        cJSON_AddStringToObject(o, "name", get_str(c, "name"));
    if (image) {
        cJSON_AddStringToObject(o, "image", image);
        cJSON_AddStringToObject(o, "imagePrefix", workload_image_prefix(image, prefix, sizeof prefix));
    }
    mounts = cJSON_AddArrayToObject(o, "volumeMounts");
    vm = get(c, "volumeMounts");
    if (cJSON_IsArray(vm)) {
        cJSON_ArrayForEach(m, vm) {
            cJSON *mo = cJSON_CreateObject();
            if (get_str(m, "name"))
                cJSON_AddStringToObject(mo, "name", get_str(m, "name"));
            if (get_str(m, "mountPath"))
                cJSON_AddStringToObject(mo, "mountPath", get_str(m, "mountPath"));
            cJSON_AddItemToArray(mounts, mo);
        }
    }
    if (cJSON_IsObject(sc)) {
        cJSON *so = cJSON_AddObjectToObject(o, "securityContext");
        if (cJSON_IsBool(get(sc, "privileged")))
            add_bool(so, "privileged", sc, "privileged");
        if (cJSON_IsBool(get(sc, "allowPrivilegeEscalation")))
            add_bool(so, "allowPrivilegeEscalation", sc, "allowPrivilegeEscalation");
    }
    return o;
}

static void add_containers(cJSON *arr, const cJSON *spec)
{
    for (size_t i = 0; i < 3; i++) {
        const cJSON *l = get(spec, container_lists[i]), *c;
        if (!cJSON_IsArray(l))
            continue;
        cJSON_ArrayForEach(c, l) {
            if (cJSON_IsObject(c))
                cJSON_AddItemToArray(arr, container_obj(c));
        }
    }
}

static void add_volumes(cJSON *arr, const cJSON *spec)
{
    const cJSON *vols = get(spec, "volumes"), *v;
    if (!cJSON_IsArray(vols))
        return;
    cJSON_ArrayForEach(v, vols) {
        const char *path = get_str(get(v, "hostPath"), "path");
        cJSON *o;
        if (!path)
            continue; /* only host paths are reported */
        o = cJSON_CreateObject();
        if (get_str(v, "name"))
            cJSON_AddStringToObject(o, "name", get_str(v, "name"));
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "hostPath"), "path", path);
        cJSON_AddItemToArray(arr, o);
    }
}

static const char *meta_or(const kg_event *ev, const char *key, const char *fallback)
{
    const char *v = get_str(get(workload_body(ev), "metadata"), key);
    return v ? v : fallback;
}

/* The object's name; for one created with generateName (controllers'
 * pods), the prefix, so that different pods are not all nameless. */
static const char *object_name(const kg_event *ev)
{
    return meta_or(ev, "name", ev->name ? ev->name : meta_or(ev, "generateName", NULL));
}

cJSON *workload_details(const kg_event *ev)
{
    cJSON *w = cJSON_CreateObject();
    const cJSON *spec = workload_pod_spec(ev);
    const char *name = object_name(ev);
    const char *ns = meta_or(ev, "namespace", ev->ns);
    const char *uid = meta_or(ev, "uid", ev->object_uid);

    if (name)
        cJSON_AddStringToObject(w, "name", name);
    if (ev->resource)
        cJSON_AddStringToObject(w, "type", ev->resource);
    if (uid)
        cJSON_AddStringToObject(w, "uid", uid);
    if (ns)
        cJSON_AddStringToObject(w, "namespace", ns);
    if (spec) {
        add_bool(w, "hostNetwork", spec, "hostNetwork");
        add_bool(w, "hostIPC", spec, "hostIPC");
        add_bool(w, "hostPID", spec, "hostPID");
        if (get_str(spec, "serviceAccountName"))
            cJSON_AddStringToObject(w, "serviceAccountName", get_str(spec, "serviceAccountName"));
        add_containers(cJSON_AddArrayToObject(w, "containers"), spec);
        add_volumes(cJSON_AddArrayToObject(w, "volumes"), spec);
    }
    return w;
}

cJSON *workload_rolebinding_details(const kg_event *ev)
{
    cJSON *d = cJSON_CreateObject();
    const cJSON *ref = get(workload_body(ev), "roleRef");
    const char *kind = get_str(workload_body(ev), "kind");
    const char *name = meta_or(ev, "name", ev->name);
    const char *uid = meta_or(ev, "uid", ev->object_uid);

    if (!kind && ev->resource)
        kind = strcmp(ev->resource, "clusterrolebindings") == 0 ? "ClusterRoleBinding"
             : strcmp(ev->resource, "rolebindings") == 0 ? "RoleBinding" : NULL;
    if (kind)
        cJSON_AddStringToObject(d, "kind", kind);
    if (name)
        cJSON_AddStringToObject(d, "name", name);
    if (uid)
        cJSON_AddStringToObject(d, "uid", uid);
    if (get_str(ref, "name"))
        cJSON_AddStringToObject(d, "roleRefName", get_str(ref, "name"));
    if (get_str(ref, "kind"))
        cJSON_AddStringToObject(d, "roleRefKind", get_str(ref, "kind"));
    return d;
}

void workload_subject(const kg_event *ev, char *out, size_t n)
{
    const char *name = object_name(ev);
    snprintf(out, n, "%s/%s/%s", ev->resource ? ev->resource : "",
             meta_or(ev, "namespace", ev->ns ? ev->ns : ""), name ? name : "");
}
