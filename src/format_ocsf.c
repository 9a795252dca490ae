/*
 * format_ocsf: a finding as an OCSF 1.4 Detection Finding (category 2
 * Findings, class_uid 2004) with the cloud profile: finding_info with the
 * rule as analytic, severity_id and status_id enums, Create/Update
 * activities, evidences (actor, api, src_endpoint), resources, and the
 * GuardDuty and kguard fields OCSF has no place for under unmapped.
 */
#include <stdio.h>
#include <string.h>
#include "format_int.h"

#define OCSF_VERSION "1.4.0" /* is_alert is 1.4 */
enum { OCSF_CATEGORY_FINDINGS = 2, OCSF_CLASS_DETECTION_FINDING = 2004 };
enum { OCSF_ACTIVITY_CREATE = 1, OCSF_ACTIVITY_UPDATE = 2 };
enum { OCSF_STATUS_NEW = 1, OCSF_STATUS_SUPPRESSED = 3 };
enum { OCSF_ANALYTIC_RULE = 1 };
enum { OCSF_ACCOUNT_AWS = 10 };

/* OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical. */
static int severity_id(double s)
{
    return s >= 9 ? 5 : s >= 7 ? 4 : s >= 4 ? 3 : s >= 1 ? 2 : 1;
}

static void add_time(cJSON *o, const char *k, long long ms)
{
    if (ms >= 0)
        cJSON_AddNumberToObject(o, k, (double)ms);
}

static void add_class(cJSON *o, const cJSON *f)
{
    int activity = format_is_update(f) ? OCSF_ACTIVITY_UPDATE : OCSF_ACTIVITY_CREATE;
    double sev = format_num(f, "severity", 0);
    int archived = cJSON_IsTrue(format_get(f, "service.archived"));

    cJSON_AddNumberToObject(o, "activity_id", activity);
    cJSON_AddStringToObject(o, "activity_name", activity == OCSF_ACTIVITY_CREATE ? "Create" : "Update");
    cJSON_AddNumberToObject(o, "category_uid", OCSF_CATEGORY_FINDINGS);
    cJSON_AddStringToObject(o, "category_name", "Findings");
    cJSON_AddNumberToObject(o, "class_uid", OCSF_CLASS_DETECTION_FINDING);
    cJSON_AddStringToObject(o, "class_name", "Detection Finding");
    cJSON_AddNumberToObject(o, "type_uid", OCSF_CLASS_DETECTION_FINDING * 100 + activity);
    cJSON_AddStringToObject(o, "type_name", activity == OCSF_ACTIVITY_CREATE
                            ? "Detection Finding: Create" : "Detection Finding: Update");
    cJSON_AddNumberToObject(o, "severity_id", severity_id(sev));
    cJSON_AddStringToObject(o, "severity", format_severity_word(sev));
    cJSON_AddNumberToObject(o, "status_id", archived ? OCSF_STATUS_SUPPRESSED : OCSF_STATUS_NEW);
    cJSON_AddStringToObject(o, "status", archived ? "Suppressed" : "New");
    add_time(o, "time", format_time_ms(f, "updatedAt"));
    add_time(o, "start_time", format_time_ms(f, "service.eventFirstSeen"));
    add_time(o, "end_time", format_time_ms(f, "service.eventLastSeen"));
    cJSON_AddNumberToObject(o, "count", format_num(f, "service.count", 1));
    format_add_str(o, "message", format_str(f, "title"));
    cJSON_AddBoolToObject(o, "is_alert", !archived);
}

static void add_metadata(cJSON *o, const cJSON *f, const kg_format_opts *opt)
{
    cJSON *m = cJSON_AddObjectToObject(o, "metadata"), *p;
    char uid[96];
    cJSON_AddStringToObject(m, "version", OCSF_VERSION);
    p = cJSON_AddObjectToObject(m, "product");
    cJSON_AddStringToObject(p, "name", "kguard");
    cJSON_AddStringToObject(p, "vendor_name", "kguard");
    cJSON_AddStringToObject(p, "version", opt && opt->version ? opt->version : "unknown");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "profiles"), cJSON_CreateString("cloud"));
    cJSON_AddStringToObject(m, "log_name", "kubernetes-audit");
    /* One uid per emitted event: the finding and its occurrence count. */
    snprintf(uid, sizeof uid, "%s-%.0f", format_str(f, "id"), format_num(f, "service.count", 1));
    cJSON_AddStringToObject(m, "uid", uid);
    format_add_str(m, "correlation_uid", format_str(f, "id"));
    add_time(m, "logged_time", format_time_ms(f, "updatedAt"));
}

static void add_finding_info(cJSON *o, const cJSON *f)
{
    cJSON *fi = cJSON_AddObjectToObject(o, "finding_info"), *a;
    const char *type = format_str(f, "type"), *rule = format_str(f, "kguard.rule");
    const char *base = rule ? strrchr(rule, '/') : NULL;

    format_add_str(fi, "uid", format_str(f, "id"));
    format_add_str(fi, "title", format_str(f, "title"));
    format_add_str(fi, "desc", format_str(f, "description"));
    cJSON_AddItemToArray(cJSON_AddArrayToObject(fi, "types"), cJSON_CreateString(type));
    add_time(fi, "first_seen_time", format_time_ms(f, "service.eventFirstSeen"));
    add_time(fi, "last_seen_time", format_time_ms(f, "service.eventLastSeen"));
    add_time(fi, "created_time", format_time_ms(f, "createdAt"));
    add_time(fi, "modified_time", format_time_ms(f, "updatedAt"));
    a = cJSON_AddObjectToObject(fi, "analytic");
    cJSON_AddStringToObject(a, "uid", type);
    cJSON_AddStringToObject(a, "name", base ? base + 1 : rule ? rule : type);
    cJSON_AddNumberToObject(a, "type_id", OCSF_ANALYTIC_RULE);
    cJSON_AddStringToObject(a, "type", "Rule");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(fi, "data_sources"),
                         cJSON_CreateString("Kubernetes audit log"));
}

static void add_cloud(cJSON *o, const cJSON *f)
{
    cJSON *c = cJSON_AddObjectToObject(o, "cloud"), *acct;
    cJSON_AddStringToObject(c, "provider", "AWS");
    format_add_str(c, "region", format_str(f, "region"));
    acct = cJSON_AddObjectToObject(c, "account");
    format_add_str(acct, "uid", format_str(f, "accountId"));
    cJSON_AddNumberToObject(acct, "type_id", OCSF_ACCOUNT_AWS);
    cJSON_AddStringToObject(acct, "type", "AWS Account");
}

static cJSON *api_obj(const cJSON *f)
{
    const cJSON *a = format_get(f, "service.action.kubernetesApiCallAction");
    const char *verb = format_str(a, "verb");
    cJSON *api = cJSON_CreateObject(), *r;
    cJSON_AddStringToObject(api, "operation", verb ? verb : "unknown");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(api, "service"), "name", "kube-apiserver");
    r = cJSON_AddObjectToObject(api, "request");
    format_add_str(r, "uid", format_str(f, "kguard.auditID"));
    if (cJSON_IsNumber(format_get(a, "statusCode")))
        cJSON_AddNumberToObject(cJSON_AddObjectToObject(api, "response"), "code",
                                format_num(a, "statusCode", 0));
    return api;
}

static cJSON *actor_obj(const cJSON *f)
{
    const cJSON *u = format_get(f, "resource.kubernetesDetails.kubernetesUserDetails");
    const cJSON *groups = format_get(u, "groups"), *sess = format_get(u, "sessionName"), *g;
    const char *key = format_str(f, "resource.accessKeyDetails.accessKeyId");
    cJSON *actor = cJSON_CreateObject(), *user = cJSON_AddObjectToObject(actor, "user"), *gs, *s;

    format_add_str(user, "name", format_str(u, "username"));
    format_add_str(user, "uid", format_str(u, "uid"));
    format_add_str(user, "credential_uid", key);
    gs = cJSON_AddArrayToObject(user, "groups");
    cJSON_ArrayForEach(g, groups) {
        cJSON *go;
        if (!cJSON_IsString(g) || !(go = cJSON_CreateObject()))
            continue;
        cJSON_AddStringToObject(go, "name", g->valuestring);
        cJSON_AddItemToArray(gs, go);
    }
    sess = cJSON_IsArray(sess) ? cJSON_GetArrayItem(sess, 0) : NULL;
    if (!cJSON_IsString(sess) || !sess->valuestring[0])
        sess = NULL;
    if (sess || key) {
        s = cJSON_AddObjectToObject(actor, "session");
        format_add_str(s, "uid", sess ? sess->valuestring : NULL);
        format_add_str(s, "credential_uid", key);
    }
    return actor;
}

static cJSON *src_endpoint_obj(const cJSON *f)
{
    const cJSON *ips = format_get(f, "service.action.kubernetesApiCallAction.sourceIPs"), *it;
    const char *ip = format_caller_ip(f);
    cJSON *ep, *others = NULL;
    if (!ip)
        return NULL;
    ep = cJSON_CreateObject();
    cJSON_AddStringToObject(ep, "ip", ip);
    cJSON_ArrayForEach(it, ips) {
        if (!cJSON_IsString(it) || strcmp(it->valuestring, ip) == 0)
            continue;
        if (!others)
            others = cJSON_AddArrayToObject(ep, "intermediate_ips");
        cJSON_AddItemToArray(others, cJSON_CreateString(it->valuestring));
    }
    return ep;
}

static void add_evidence(cJSON *o, const cJSON *f)
{
    cJSON *e = cJSON_CreateObject(), *ep, *req;
    const char *ua = format_str(f, "service.action.kubernetesApiCallAction.userAgent");
    const char *uri = format_str(f, "service.action.kubernetesApiCallAction.requestUri");
    cJSON_AddItemToObject(e, "actor", actor_obj(f));
    cJSON_AddItemToObject(e, "api", api_obj(f));
    if ((ep = src_endpoint_obj(f)) != NULL)
        cJSON_AddItemToObject(e, "src_endpoint", ep);
    if (ua || uri) {
        req = cJSON_AddObjectToObject(e, "http_request");
        format_add_str(req, "user_agent", ua);
        if (uri) {
            cJSON *url = cJSON_AddObjectToObject(req, "url");
            size_t n = strcspn(uri, "?");
            char path[2048];
            snprintf(path, sizeof path, "%.*s", (int)(n < sizeof path - 1 ? n : sizeof path - 1), uri);
            cJSON_AddStringToObject(url, "path", path);
            if (uri[n] == '?')
                cJSON_AddStringToObject(url, "query_string", uri + n + 1);
        }
    }
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "evidences"), e);
}

static void add_resources(cJSON *o, const cJSON *f)
{
    const cJSON *a = format_get(f, "service.action.kubernetesApiCallAction");
    const cJSON *w = format_get(f, "resource.kubernetesDetails.kubernetesWorkloadDetails");
    cJSON *rs = cJSON_AddArrayToObject(o, "resources"), *c = cJSON_CreateObject(), *r;
    const char *res = format_str(a, "resource");

    cJSON_AddStringToObject(c, "type", "EKSCluster");
    format_add_str(c, "name", format_str(f, "resource.eksClusterDetails.name"));
    format_add_str(c, "uid", format_str(f, "resource.eksClusterDetails.arn"));
    format_add_str(c, "cloud_partition", format_str(f, "partition"));
    format_add_str(c, "region", format_str(f, "region"));
    cJSON_AddItemToArray(rs, c);
    if (!res)
        return;
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "type", res);
    format_add_str(r, "name", format_str(a, "resourceName") ? format_str(a, "resourceName") : format_str(w, "name"));
    format_add_str(r, "uid", format_str(w, "uid"));
    if (format_str(a, "namespace"))
        format_add_str(cJSON_AddObjectToObject(r, "group"), "name", format_str(a, "namespace"));
    cJSON_AddItemToArray(rs, r);
}

/* What OCSF has no attribute for: GuardDuty's own fields and kguard's. */
static void add_unmapped(cJSON *o, const cJSON *f)
{
    cJSON *u = cJSON_AddObjectToObject(o, "unmapped"), *gd = cJSON_AddObjectToObject(u, "guardduty");
    cJSON *k = (cJSON *)format_get(f, "kguard");
    const cJSON *wl, *rb, *imp;
    format_add_str(gd, "arn", format_str(f, "arn"));
    format_add_str(gd, "schemaVersion", format_str(f, "schemaVersion"));
    cJSON_AddNumberToObject(gd, "severity", format_num(f, "severity", 0));
    format_add_str(gd, "threatListName", format_str(f, "service.additionalInfo.threatListName"));
    format_add_str(gd, "threatName", format_str(f, "service.additionalInfo.threatName"));
    if (cJSON_IsObject(wl = format_get(f, "resource.kubernetesDetails.kubernetesWorkloadDetails")))
        cJSON_AddItemToObject(gd, "kubernetesWorkloadDetails", cJSON_Duplicate(wl, 1));
    if (cJSON_IsObject(rb = format_get(f, "service.action.kubernetesRoleBindingDetails")))
        cJSON_AddItemToObject(gd, "kubernetesRoleBindingDetails", cJSON_Duplicate(rb, 1));
    if (cJSON_IsObject(imp = format_get(f, "resource.kubernetesDetails.kubernetesUserDetails.impersonatedUser")))
        cJSON_AddItemToObject(gd, "impersonatedUser", cJSON_Duplicate(imp, 1));
    if (cJSON_IsObject(k) && (k = cJSON_Duplicate(k, 1)) != NULL) {
        cJSON_DeleteItemFromObjectCaseSensitive(k, "remediation"); /* mapped */
        cJSON_AddItemToObject(u, "kguard", k);
    }
}

char *format_ocsf_render(const cJSON *f, const kg_format_opts *opt)
{
    cJSON *o;
    const char *remediation = format_str(f, "kguard.remediation");
    if (!format_str(f, "id") || !format_str(f, "type") || !(o = cJSON_CreateObject()))
        return NULL;
    add_class(o, f);
    add_metadata(o, f, opt);
    add_finding_info(o, f);
    add_cloud(o, f);
    cJSON_AddItemToObject(o, "api", api_obj(f));
    add_evidence(o, f);
    add_resources(o, f);
    if (remediation)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "remediation"), "desc", remediation);
    add_unmapped(o, f);
    return format_print(o);
}
