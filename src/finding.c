/*
 * finding: building the GuardDuty-shaped finding JSON (see finding.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>
#include "kguard/finding.h"
#include "kguard/timefmt.h"
#include "kguard/workload.h"

/* ---- ids -------------------------------------------------------------- */

static void hex128(const void *data, size_t len, char out[33])
{
    XXH128_hash_t h = XXH3_128bits(data, len);
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
}

static const char *caller_ip(const kg_event *ev, const kg_match *m)
{
    if (m->ip_index >= 0)
        return ev->ip_text[m->ip_index];
    if (ev->source_ips && cJSON_GetArraySize(ev->source_ips) > 0)
        return cJSON_GetArrayItem(ev->source_ips, 0)->valuestring;
    return "";
}

void finding_id(const kg_identity *id, const kg_event *ev, const kg_match *m,
                char out[33])
{
    char key[2048], subject[1024] = "";
    int n;
    if (m->rule->details != KG_DETAILS_NONE)
        workload_subject(ev, subject, sizeof subject);
    n = snprintf(key, sizeof key, "%s%c%s%c%s%c%s%c%s", m->rule->type, 0,
                 id->cluster, 0, ev->username ? ev->username : "", 0,
                 caller_ip(ev, m), 0, subject);
    hex128(key, n < 0 ? 0 : (size_t)n < sizeof key ? (size_t)n : sizeof key - 1, out);
}

/* ---- JSON helpers ------------------------------------------------------ */

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
}

static void add_copy(cJSON *o, const char *k, const cJSON *v)
{
    if (v)
        cJSON_AddItemToObject(o, k, cJSON_Duplicate(v, 1));
}

/* user.extra[key][0], as EKS writes IAM data (lists of strings). */
static const char *extra_first(const kg_event *ev, const char *key)
{
    const cJSON *v = ev->extra ? cJSON_GetObjectItemCaseSensitive(ev->extra, key) : NULL;
    if (cJSON_IsArray(v))
        v = cJSON_GetArrayItem(v, 0);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *user_details(const kg_event *ev)
{
    cJSON *u = cJSON_CreateObject();
    const cJSON *sess = ev->extra ? cJSON_GetObjectItemCaseSensitive(ev->extra, "sessionName") : NULL;
    add_str(u, "username", ev->username);
    add_str(u, "uid", ev->user_uid);
    if (ev->groups)
        add_copy(u, "groups", ev->groups);
    else
        cJSON_AddItemToObject(u, "groups", cJSON_CreateArray());
    if (cJSON_IsArray(sess))
        add_copy(u, "sessionName", sess);
    else if (cJSON_IsString(sess))
        cJSON_AddItemToArray(cJSON_AddArrayToObject(u, "sessionName"),
                             cJSON_CreateString(sess->valuestring));
    if (ev->impersonated_user) {
        const cJSON *iu = ev->impersonated_user;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(iu, "username");
        const cJSON *groups = cJSON_GetObjectItemCaseSensitive(iu, "groups");
        cJSON *o = cJSON_AddObjectToObject(u, "impersonatedUser");
        if (cJSON_IsString(name))
            add_str(o, "username", name->valuestring);
        if (cJSON_IsArray(groups))
            add_copy(o, "groups", groups);
    }
    return u;
}

/* accessKeyDetails from an EKS IAM identity; NULL when there is none. */
static cJSON *access_key_details(const kg_event *ev)
{
    const char *arn = extra_first(ev, "arn");
    const char *key = extra_first(ev, "accessKeyId");
    const char *principal = extra_first(ev, "principalId");
    const char *type = "Unknown", *name = NULL, *p;
    cJSON *o;

    if (!arn && !key && !principal)
        return NULL;
    o = cJSON_CreateObject();
    if (arn && (p = strstr(arn, ":assumed-role/")) != NULL) {
        type = "AssumedRole";
        name = p + strlen(":assumed-role/");
    } else if (arn && (p = strstr(arn, ":user/")) != NULL) {
        type = "IAMUser";
        name = p + strlen(":user/");
    } else if (arn && strstr(arn, ":root")) {
        type = "Root";
        name = "root";
    }
    add_str(o, "accessKeyId", key);
    add_str(o, "principalId", principal);
    if (name) {
        size_t n = strcspn(name, "/");
        char buf[256];
        snprintf(buf, sizeof buf, "%.*s", (int)(n < 255 ? n : 255), name);
        add_str(o, "userName", buf);
    }
    add_str(o, "userType", type);
    return o;
}

static cJSON *resource_obj(const kg_identity *id, const kg_event *ev,
                           const kg_match *m)
{
    cJSON *r = cJSON_CreateObject(), *eks, *kd, *ak;
    char arn[512];
    add_str(r, "resourceType", "EKSCluster");
    eks = cJSON_AddObjectToObject(r, "eksClusterDetails");
    add_str(eks, "name", id->cluster);
    snprintf(arn, sizeof arn, "arn:%s:eks:%s:%s:cluster/%s", id->partition, id->region,
             id->account_id, id->cluster);
    add_str(eks, "arn", arn);
    kd = cJSON_AddObjectToObject(r, "kubernetesDetails");
    cJSON_AddItemToObject(kd, "kubernetesUserDetails", user_details(ev));
    if (m->rule->details == KG_DETAILS_WORKLOAD)
        cJSON_AddItemToObject(kd, "kubernetesWorkloadDetails", workload_details(ev));
    else
        cJSON_AddNullToObject(kd, "kubernetesWorkloadDetails");
    if ((ak = access_key_details(ev)) != NULL)
        cJSON_AddItemToObject(r, "accessKeyDetails", ak);
    return r;
}

static cJSON *remote_ip_details(const kg_event *ev, int ip_index)
{
    cJSON *d = cJSON_CreateObject(), *o;
    char buf[64];
    const kg_ip *ip = &ev->ips[ip_index];
    add_str(d, ipset_ip_is_v4(ip) ? "ipAddressV4" : "ipAddressV6",
            ipset_ip_format(ip, buf, sizeof buf));
    o = cJSON_AddObjectToObject(d, "organization");
    add_str(o, "asn", "0");
    add_str(o, "asnOrg", "UNKNOWN");
    add_str(o, "isp", "UNKNOWN");
    add_str(o, "org", "UNKNOWN");
    o = cJSON_AddObjectToObject(d, "country");
    add_str(o, "countryCode", "UNKNOWN");
    add_str(o, "countryName", "UNKNOWN");
    add_str(cJSON_AddObjectToObject(d, "city"), "cityName", "UNKNOWN");
    o = cJSON_AddObjectToObject(d, "geoLocation");
    cJSON_AddNumberToObject(o, "lat", 0.0);
    cJSON_AddNumberToObject(o, "lon", 0.0);
    return d;
}

static cJSON *api_call_action(const kg_event *ev, const kg_match *m)
{
    cJSON *a = cJSON_CreateObject();
    int ip_index = m->ip_index >= 0 ? m->ip_index : ev->nips > 0 ? 0 : -1;
    add_str(a, "requestUri", ev->request_uri);
    add_str(a, "verb", ev->verb);
    if (ev->source_ips)
        add_copy(a, "sourceIPs", ev->source_ips);
    add_str(a, "userAgent", ev->user_agent);
    if (ip_index >= 0)
        cJSON_AddItemToObject(a, "remoteIpDetails", remote_ip_details(ev, ip_index));
    if (ev->status_code >= 0)
        cJSON_AddNumberToObject(a, "statusCode", ev->status_code);
    if (ev->subresource && (strcmp(ev->subresource, "exec") == 0 ||
                            strcmp(ev->subresource, "attach") == 0) && ev->request_uri &&
        strchr(ev->request_uri, '?'))
        add_str(a, "parameters", strchr(ev->request_uri, '?') + 1);
    add_str(a, "resource", ev->resource);
    add_str(a, "subresource", ev->subresource);
    add_str(a, "namespace", ev->ns);
    add_str(a, "resourceName", ev->name);
    return a;
}

static const char *threat_list_name(const kg_match *m)
{
    if (!m->list)
        return NULL;
    switch (m->list->kind) {
    case KG_LIST_TOR: return "TorExitNodes";
    case KG_LIST_MALICIOUS: return "KnownMaliciousIPs";
    default: return m->list->name;
    }
}

long long finding_event_time(const kg_event *ev, long long fallback)
{
    long long ms;
    if (timefmt_parse(ev->received_at, &ms) == 0 ||
        timefmt_parse(ev->stage_at, &ms) == 0)
        return ms;
    return fallback;
}

static cJSON *service_obj(const kg_event *ev, const kg_match *m,
                          const kg_occurrence *occ, const char *detector)
{
    cJSON *s = cJSON_CreateObject(), *action, *info, *ev_o, *td;
    const char *list = threat_list_name(m);
    const char *threat = m->list && m->list->kind == KG_LIST_TOR ? "TorExitNode"
                       : m->list ? "MaliciousIP" : NULL;
    char t[32];

    add_str(s, "serviceName", "guardduty");
    add_str(s, "detectorId", detector);
    action = cJSON_AddObjectToObject(s, "action");
    add_str(action, "actionType", "KUBERNETES_API_CALL");
    cJSON_AddItemToObject(action, "kubernetesApiCallAction", api_call_action(ev, m));
    if (m->rule->details == KG_DETAILS_ROLEBINDING)
        cJSON_AddItemToObject(action, "kubernetesRoleBindingDetails",
                              workload_rolebinding_details(ev));
    add_str(s, "resourceRole", "TARGET");
    info = cJSON_AddObjectToObject(s, "additionalInfo");
    if (list) {
        add_str(info, "threatListName", list);
        add_str(info, "threatName", threat);
        ev_o = cJSON_AddObjectToObject(s, "evidence");
        td = cJSON_CreateObject();
        add_str(td, "threatListName", list);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(td, "threatNames"), cJSON_CreateString(threat));
        cJSON_AddItemToArray(cJSON_AddArrayToObject(ev_o, "threatIntelligenceDetails"), td);
    } else {
        cJSON_AddNullToObject(s, "evidence");
    }
    if (m->detection)
        cJSON_AddItemToObject(s, "detection", cJSON_Duplicate(m->detection, 1));
    add_str(s, "eventFirstSeen", timefmt_format(occ->first_seen_ms, t));
    add_str(s, "eventLastSeen", timefmt_format(occ->last_seen_ms, t));
    cJSON_AddBoolToObject(s, "archived", 0);
    cJSON_AddNumberToObject(s, "count", (double)occ->count);
    add_str(s, "featureName", "EksAuditLogMonitoring");
    return s;
}

static void add_some(cJSON *o, const char *k, const char *v)
{
    add_str(o, k, v[0] ? v : NULL);
}

/* What a cloud's envelope said about the cluster: its own identity beside
 * the GuardDuty one.  account and location under one name for every cloud,
 * then in the cloud's own words (GCP project; Azure subscription, resource
 * group and resource id). */
static cJSON *cloud_obj(const kg_origin *o)
{
    cJSON *c = cJSON_CreateObject();
    add_str(c, "provider", o->cloud);
    add_some(c, "cluster", o->cluster);
    add_some(c, "account", o->account);
    add_some(c, "location", o->region);
    if (strcmp(o->cloud, "gke") == 0) {
        add_some(c, "project", o->account);
    } else if (strcmp(o->cloud, "aks") == 0) {
        add_some(c, "subscription", o->account);
        add_some(c, "resourceGroup", o->group);
        add_some(c, "resourceId", o->resource);
    }
    return c;
}

static cJSON *extension_obj(const kg_event *ev, const kg_match *m)
{
    cJSON *k = cJSON_CreateObject();
    char src[4200];
    add_str(k, "remediation", m->rule->remediation);
    add_str(k, "detail", m->detail);
    add_str(k, "rule", m->rule->file);
    add_str(k, "auditID", ev->audit_id);
    snprintf(src, sizeof src, "%s:%ld", ev->src_file ? ev->src_file : "-", ev->src_line);
    add_str(k, "source", src);
    if (ev->origin && ev->origin->cloud[0])
        cJSON_AddItemToObject(k, "cloud", cloud_obj(ev->origin));
    return k;
}

void finding_identity_of(const kg_identity *base, const kg_identity *own,
                         const kg_event *ev, kg_identity *out)
{
    *out = *base;
    if (ev->cluster && ev->cluster[0])
        out->cluster = ev->cluster;
    if (own && own->region)
        out->region = own->region;
    if (own && own->partition)
        out->partition = own->partition;
    if (own && own->account_id)
        out->account_id = own->account_id;
    else if (ev->origin && strcmp(ev->origin->cloud, "eks") == 0 && ev->origin->account[0] &&
             strcmp(base->account_id, KG_DEFAULT_ACCOUNT) == 0)
        out->account_id = ev->origin->account;
}

cJSON *finding_build(const kg_identity *id, const kg_event *ev,
                     const kg_match *m, const char *fid,
                     const kg_occurrence *occ)
{
    cJSON *f = cJSON_CreateObject();
    char detector[33], arn[512], t[32], key[512];
    int n;

    if (!f)
        return NULL;
    n = snprintf(key, sizeof key, "%s/%s/%s", id->account_id, id->region, id->cluster);
    hex128(key, n < 0 ? 0 : (size_t)n < sizeof key ? (size_t)n : sizeof key - 1, detector);
    snprintf(arn, sizeof arn, "arn:%s:guardduty:%s:%s:detector/%s/finding/%s",
             id->partition, id->region, id->account_id, detector, fid);
    add_str(f, "schemaVersion", "2.0");
    add_str(f, "accountId", id->account_id);
    add_str(f, "region", id->region);
    add_str(f, "partition", id->partition);
    add_str(f, "id", fid);
    add_str(f, "arn", arn);
    add_str(f, "type", m->rule->type);
    cJSON_AddItemToObject(f, "resource", resource_obj(id, ev, m));
    cJSON_AddItemToObject(f, "service", service_obj(ev, m, occ, detector));
    cJSON_AddNumberToObject(f, "severity", m->severity);
    add_str(f, "createdAt", timefmt_format(occ->created_ms, t));
    add_str(f, "updatedAt", timefmt_format(occ->updated_ms, t));
    add_str(f, "title", m->title);
    add_str(f, "description", m->description);
    cJSON_AddItemToObject(f, "kguard", extension_obj(ev, m));
    return f;
}
