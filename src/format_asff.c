/*
 * format_asff: a finding in the AWS Security Finding Format, one object as
 * Security Hub's BatchImportFindings takes it (SchemaVersion 2018-10-08,
 * a custom integration's ProductArn, Types in namespace/category/classifier
 * form, Severity.Label and Normalized, ASFF's length limits).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "format_int.h"

/* ASFF's limits (AwsSecurityFinding): characters, and map sizes. */
enum {
    ASFF_TITLE_MAX = 256, ASFF_DESCRIPTION_MAX = 1024, ASFF_REMEDIATION_MAX = 512,
    ASFF_ID_MAX = 512, ASFF_PF_MAX = 50, ASFF_PF_KEY_MAX = 128, ASFF_PF_VALUE_MAX = 2048,
    ASFF_OTHER_VALUE_MAX = 1023
};

/* GuardDuty tactic prefix -> ASFF namespace/category. */
static const struct { const char *tactic, *category; } type_map[] = {
    {"InitialAccess", "TTPs/Initial Access"},
    {"Execution", "TTPs/Execution"},
    {"Persistence", "TTPs/Persistence"},
    {"PrivilegeEscalation", "TTPs/Privilege Escalation"},
    {"DefenseEvasion", "TTPs/Defense Evasion"},
    {"CredentialAccess", "TTPs/Credential Access"},
    {"Discovery", "TTPs/Discovery"},
    {"LateralMovement", "TTPs/Lateral Movement"},
    {"Collection", "TTPs/Collection"},
    {"CommandAndControl", "TTPs/Command and Control"},
    {"Exfiltration", "Effects/Data Exfiltration"},
    {"Impact", "Effects/Data Destruction"},
    {"Policy", "Software and Configuration Checks/Kubernetes Policy"},
};

/* "TTPs/Discovery/Discovery:Kubernetes-TorIPCaller": the classifier is the
 * type with its '/' turned into '-', as one path segment. */
static void add_types(cJSON *o, const char *type)
{
    cJSON *types = cJSON_AddArrayToObject(o, "Types");
    const char *category = "Unusual Behaviors/Application";
    char tactic[64], buf[512], *p;

    format_tactic(type, tactic, sizeof tactic);
    for (size_t i = 0; i < sizeof type_map / sizeof type_map[0]; i++)
        if (strcmp(type_map[i].tactic, tactic) == 0)
            category = type_map[i].category;
    snprintf(buf, sizeof buf, "%s/%s", category, type);
    for (p = buf + strlen(category) + 1; *p; p++)
        if (*p == '/')
            *p = '-';
    cJSON_AddItemToArray(types, cJSON_CreateString(buf));
    if (strstr(type, "AnomalousBehavior") && strcmp(category, "Unusual Behaviors/Application") != 0)
        cJSON_AddItemToArray(types, cJSON_CreateString("Unusual Behaviors/User"));
}

/* Label and Normalized (0-100, GuardDuty's 1-10 scaled by ten). */
static void add_severity(cJSON *o, double sev)
{
    cJSON *s = cJSON_AddObjectToObject(o, "Severity");
    char orig[32];
    const char *w = format_severity_word(sev);
    char label[16];
    size_t i;
    double norm = round(sev * 10);
    for (i = 0; w[i] && i < sizeof label - 1; i++)
        label[i] = (char)(w[i] >= 'a' && w[i] <= 'z' ? w[i] - 32 : w[i]);
    label[i] = '\0';
    cJSON_AddStringToObject(s, "Label", label);
    cJSON_AddNumberToObject(s, "Normalized", norm < 0 ? 0 : norm > 100 ? 100 : norm);
    snprintf(orig, sizeof orig, "%g", sev);
    cJSON_AddStringToObject(s, "Original", orig);
}

static cJSON *cluster_resource(const cJSON *f)
{
    cJSON *r = cJSON_CreateObject(), *d;
    cJSON_AddStringToObject(r, "Type", "AwsEksCluster");
    format_add_str(r, "Id", format_str(f, "resource.eksClusterDetails.arn"));
    format_add_str(r, "Partition", format_str(f, "partition"));
    format_add_str(r, "Region", format_str(f, "region"));
    d = cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "Details"), "AwsEksCluster");
    format_add_str(d, "Name", format_str(f, "resource.eksClusterDetails.name"));
    format_add_str(d, "Arn", format_str(f, "resource.eksClusterDetails.arn"));
    return r;
}

/* The Kubernetes object the request was about, as an "Other" resource. */
static cJSON *object_resource(const cJSON *f)
{
    const char *res = format_str(f, "service.action.kubernetesApiCallAction.resource");
    const char *ns = format_str(f, "service.action.kubernetesApiCallAction.namespace");
    const char *name = format_str(f, "service.action.kubernetesApiCallAction.resourceName");
    const char *sub = format_str(f, "service.action.kubernetesApiCallAction.subresource");
    const char *cluster = format_str(f, "resource.eksClusterDetails.name");
    cJSON *r, *other;
    char id[ASFF_ID_MAX + 1];

    if (!res)
        return NULL;
    snprintf(id, sizeof id, "k8s://%s/%s%s%s%s%s", cluster ? cluster : "", ns ? "namespaces/" : "",
             ns ? ns : "", ns ? "/" : "", res, name ? "/" : "");
    if (name)
        strncat(id, name, sizeof id - strlen(id) - 1);
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "Type", "Other");
    cJSON_AddStringToObject(r, "Id", id);
    format_add_str(r, "Partition", format_str(f, "partition"));
    format_add_str(r, "Region", format_str(f, "region"));
    other = cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "Details"), "Other");
    format_add_cut(other, "resource", res, ASFF_OTHER_VALUE_MAX);
    format_add_cut(other, "subresource", sub, ASFF_OTHER_VALUE_MAX);
    format_add_cut(other, "namespace", ns, ASFF_OTHER_VALUE_MAX);
    format_add_cut(other, "name", name, ASFF_OTHER_VALUE_MAX);
    return r;
}

static cJSON *access_key_resource(const cJSON *f)
{
    const cJSON *ak = format_get(f, "resource.accessKeyDetails");
    const char *key = format_str(ak, "accessKeyId"), *principal = format_str(ak, "principalId");
    cJSON *r, *d;
    if (!key && !principal)
        return NULL;
    r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "Type", "AwsIamAccessKey");
    cJSON_AddStringToObject(r, "Id", key ? key : principal);
    format_add_str(r, "Partition", format_str(f, "partition"));
    format_add_str(r, "Region", format_str(f, "region"));
    d = cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "Details"), "AwsIamAccessKey");
    format_add_str(d, "PrincipalId", principal);
    format_add_str(d, "PrincipalName", format_str(ak, "userName"));
    format_add_str(d, "PrincipalType", format_str(ak, "userType"));
    return r;
}

static void add_resources(cJSON *o, const cJSON *f)
{
    cJSON *rs = cJSON_AddArrayToObject(o, "Resources"), *r;
    cJSON_AddItemToArray(rs, cluster_resource(f));
    if ((r = object_resource(f)) != NULL)
        cJSON_AddItemToArray(rs, r);
    if ((r = access_key_resource(f)) != NULL)
        cJSON_AddItemToArray(rs, r);
}

static void pf_add(cJSON *pf, const char *k, const char *v)
{
    if (v && cJSON_GetArraySize(pf) < ASFF_PF_MAX && strlen(k) <= ASFF_PF_KEY_MAX)
        format_add_cut(pf, k, v, ASFF_PF_VALUE_MAX);
}

/* The strings of arr as "a,b" (cut to the value limit); nothing for an
 * empty list. */
static void pf_add_joined(cJSON *pf, const char *k, const cJSON *arr)
{
    char *s;
    if (cJSON_GetArraySize(arr) == 0 || !(s = format_join(arr, "", "")))
        return;
    pf_add(pf, k, s);
    free(s);
}

#define API "service.action.kubernetesApiCallAction."
#define USER "resource.kubernetesDetails.kubernetesUserDetails."

/* kguard's extras in ProductFields, in order: each a key, the finding's
 * value at path and how it is written. */
typedef enum pf_kind { PF_STR, PF_JOINED, PF_WHOLE, PF_COUNT } pf_kind;
static const struct {
    const char *key, *path;
    pf_kind kind;
} pf_fields[] = {
    {"kguard/type", "type", PF_STR},
    {"kguard/findingId", "id", PF_STR},
    {"kguard/guardDutyArn", "arn", PF_STR},
    {"kguard/count", "service.count", PF_COUNT},
    {"kguard/username", USER "username", PF_STR},
    {"kguard/groups", USER "groups", PF_JOINED},
    {"kguard/sourceIPs", API "sourceIPs", PF_JOINED},
    {"kguard/verb", API "verb", PF_STR},
    {"kguard/requestUri", API "requestUri", PF_STR},
    {"kguard/userAgent", API "userAgent", PF_STR},
    {"kguard/resource", API "resource", PF_STR},
    {"kguard/subresource", API "subresource", PF_STR},
    {"kguard/namespace", API "namespace", PF_STR},
    {"kguard/resourceName", API "resourceName", PF_STR},
    {"kguard/statusCode", API "statusCode", PF_WHOLE},
    {"kguard/threatListName", "service.additionalInfo.threatListName", PF_STR},
    {"kguard/detail", "kguard.detail", PF_STR},
    {"kguard/rule", "kguard.rule", PF_STR},
    {"kguard/auditID", "kguard.auditID", PF_STR},
    {"kguard/source", "kguard.source", PF_STR},
    {"kguard/team", "kguard.team", PF_STR},
    {"kguard/suppressedBy", "kguard.suppressedBy", PF_STR},
};

/* kguard's extras: string -> string, at most 50, keys <= 128, values <= 2048. */
static void add_product_fields(cJSON *o, const cJSON *f, const kg_format_opts *opt)
{
    cJSON *pf = cJSON_AddObjectToObject(o, "ProductFields");
    char buf[64];
    for (size_t i = 0; i < sizeof pf_fields / sizeof pf_fields[0]; i++) {
        const char *k = pf_fields[i].key, *path = pf_fields[i].path;
        switch (pf_fields[i].kind) {
        case PF_STR: pf_add(pf, k, format_str(f, path)); break;
        case PF_JOINED: pf_add_joined(pf, k, format_get(f, path)); break;
        case PF_WHOLE:
            if (!cJSON_IsNumber(format_get(f, path)))
                break;
            /* fall through */
        case PF_COUNT:
            snprintf(buf, sizeof buf, "%.0f", format_num(f, path, 1));
            pf_add(pf, k, buf);
            break;
        }
    }
    pf_add(pf, "kguard/version", opt && opt->version ? opt->version : "unknown");
}

/* The caller's address, and for threat-list hits the indicator. */
static void add_network(cJSON *o, const cJSON *f)
{
    const char *v4 = format_str(f, "service.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV4");
    const char *v6 = format_str(f, "service.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV6");
    const char *list = format_str(f, "service.additionalInfo.threatListName");
    cJSON *n, *ti;
    if (!v4 && !v6)
        return;
    n = cJSON_AddObjectToObject(o, "Network");
    cJSON_AddStringToObject(n, "Direction", "IN");
    format_add_str(n, v4 ? "SourceIpV4" : "SourceIpV6", v4 ? v4 : v6);
    if (!list)
        return;
    ti = cJSON_CreateObject();
    cJSON_AddStringToObject(ti, "Type", v4 ? "IPV4_ADDRESS" : "IPV6_ADDRESS");
    cJSON_AddStringToObject(ti, "Value", v4 ? v4 : v6);
    cJSON_AddStringToObject(ti, "Source", list);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "ThreatIntelIndicators"), ti);
}

static void add_identity(cJSON *o, const cJSON *f)
{
    const char *account = format_str(f, "accountId"), *region = format_str(f, "region");
    const char *partition = format_str(f, "partition"), *cluster = format_str(f, "resource.eksClusterDetails.name");
    const char *id = format_str(f, "id"), *type = format_str(f, "type");
    char buf[ASFF_ID_MAX + 64];

    cJSON_AddStringToObject(o, "SchemaVersion", "2018-10-08");
    /* Stable across updates: Security Hub replaces the finding with this Id. */
    if ((size_t)snprintf(buf, sizeof buf, "kguard/%s/%s", cluster ? cluster : "", id) > ASFF_ID_MAX)
        snprintf(buf, sizeof buf, "kguard/%s", id);
    cJSON_AddStringToObject(o, "Id", buf);
    snprintf(buf, sizeof buf, "arn:%s:securityhub:%s:%s:product/%s/default",
             partition ? partition : "aws", region, account, account);
    cJSON_AddStringToObject(o, "ProductArn", buf);
    cJSON_AddStringToObject(o, "ProductName", "kguard");
    cJSON_AddStringToObject(o, "CompanyName", "kguard");
    cJSON_AddStringToObject(o, "Region", region);
    snprintf(buf, sizeof buf, "kguard/%s", type);
    format_add_cut(o, "GeneratorId", buf, ASFF_ID_MAX);
    cJSON_AddStringToObject(o, "AwsAccountId", account);
}

char *format_asff_render(const cJSON *f, const kg_format_opts *opt)
{
    cJSON *o;
    const char *type = format_str(f, "type"), *remediation = format_str(f, "kguard.remediation");
    const char *title = format_str(f, "title"), *desc = format_str(f, "description");

    if (!format_str(f, "id") || !type || !format_str(f, "accountId") || !format_str(f, "region") ||
        !(o = cJSON_CreateObject()))
        return NULL;
    add_identity(o, f);
    add_types(o, type);
    format_add_str(o, "FirstObservedAt", format_str(f, "service.eventFirstSeen"));
    format_add_str(o, "LastObservedAt", format_str(f, "service.eventLastSeen"));
    format_add_str(o, "CreatedAt", format_str(f, "createdAt"));
    format_add_str(o, "UpdatedAt", format_str(f, "updatedAt"));
    add_severity(o, format_num(f, "severity", 0));
    format_add_cut(o, "Title", title ? title : type, ASFF_TITLE_MAX);
    format_add_cut(o, "Description", desc ? desc : title ? title : type, ASFF_DESCRIPTION_MAX);
    if (remediation)
        format_add_cut(cJSON_AddObjectToObject(cJSON_AddObjectToObject(o, "Remediation"),
                                            "Recommendation"), "Text", remediation,
                    ASFF_REMEDIATION_MAX);
    add_product_fields(o, f, opt);
    add_resources(o, f);
    add_network(o, f);
    cJSON_AddStringToObject(o, "RecordState",
                            cJSON_IsTrue(format_get(f, "service.archived")) ? "ARCHIVED" : "ACTIVE");
    return format_print(o);
}
