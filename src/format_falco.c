/*
 * format_falco: a finding as Falco's JSON alert (output, priority, rule,
 * time, output_fields, source, tags, hostname), the shape falcosidekick and
 * other Falco consumers read.  Fields use the k8saudit plugin's names
 * (ka.*) where one exists, kguard.* otherwise.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "format_int.h"

#define FALCO_NA "<NA>"

/* GuardDuty severity -> Falco priority (documented in README.md). */
static const char *priority_of(double s)
{
    return s >= 9 ? "Critical" : s >= 7 ? "Error" : s >= 4 ? "Warning"
         : s >= 1 ? "Notice" : "Informational";
}

/* Falco's time: RFC 3339 UTC with nanoseconds; the output line starts with
 * the time of day in the same precision. */
static void falco_times(long long ms, char iso[48], char tod[32])
{
    time_t t = (time_t)((ms < 0 ? 0 : ms) / 1000);
    unsigned frac = (unsigned)((ms < 0 ? 0 : ms) % 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(iso, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03u000000Z", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    snprintf(tod, 32, "%02d:%02d:%02d.%03u000000", tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

static void field(cJSON *of, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(of, k, v);
    else
        cJSON_AddNullToObject(of, k);
}

/* A list field the way Falco prints one: "(a,b)". */
static void field_list(cJSON *of, const char *k, const cJSON *arr)
{
    char *s = format_join(arr, "(", ")");
    field(of, k, s);
    free(s);
}

#define API "service.action.kubernetesApiCallAction."
#define USER "resource.kubernetesDetails.kubernetesUserDetails."

/* output_fields, in order: Falco's k8s_audit field names (ka.*) and kguard's
 * own, each the finding's value at path; absent strings are null. */
typedef enum of_kind { OF_STR, OF_LIST, OF_CODE, OF_NUM, OF_COUNT } of_kind;
static const struct {
    const char *name, *path;
    of_kind kind;
} of_fields[] = {
    {"ka.auditid", "kguard.auditID", OF_STR},
    {"ka.user.name", USER "username", OF_STR},
    {"ka.user.groups", USER "groups", OF_LIST},
    {"ka.impuser.name", USER "impersonatedUser.username", OF_STR},
    {"ka.verb", API "verb", OF_STR},
    {"ka.uri", API "requestUri", OF_STR},
    {"ka.target.resource", API "resource", OF_STR},
    {"ka.target.subresource", API "subresource", OF_STR},
    {"ka.target.namespace", API "namespace", OF_STR},
    {"ka.target.name", API "resourceName", OF_STR},
    {"ka.response.code", API "statusCode", OF_CODE},
    {"ka.useragent", API "userAgent", OF_STR},
    {"ka.sourceips", API "sourceIPs", OF_LIST},
    {"kguard.finding.id", "id", OF_STR},
    {"kguard.finding.type", "type", OF_STR},
    {"kguard.finding.severity", "severity", OF_NUM},
    {"kguard.finding.count", "service.count", OF_COUNT},
    {"kguard.cluster", "resource.eksClusterDetails.name", OF_STR},
    {"kguard.threat_list", "service.additionalInfo.threatListName", OF_STR},
    {"kguard.detail", "kguard.detail", OF_STR},
    {"kguard.source", "kguard.source", OF_STR},
};

static cJSON *output_fields(const cJSON *f)
{
    cJSON *of = cJSON_CreateObject();
    char code[16];
    for (size_t i = 0; of && i < sizeof of_fields / sizeof of_fields[0]; i++) {
        const char *k = of_fields[i].name, *path = of_fields[i].path;
        switch (of_fields[i].kind) {
        case OF_STR: field(of, k, format_str(f, path)); break;
        case OF_LIST: field_list(of, k, format_get(f, path)); break;
        case OF_CODE:
            snprintf(code, sizeof code, "%.0f", format_num(f, path, 0));
            field(of, k, cJSON_IsNumber(format_get(f, path)) ? code : NULL);
            break;
        case OF_NUM: cJSON_AddNumberToObject(of, k, format_num(f, path, 0)); break;
        case OF_COUNT: cJSON_AddNumberToObject(of, k, format_num(f, path, 1)); break;
        }
    }
    return of;
}

static const char *na(const cJSON *of, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(of, k);
    return cJSON_IsString(v) ? v->valuestring : FALCO_NA;
}

/* "09:05:03.140000000: Warning <title> (user=... verb=... ...)" */
static char *output_text(const char *tod, const char *prio, const cJSON *f, const cJSON *of)
{
    const char *title = format_str(f, "title");
    const char *fmt = "%s: %s %s (user=%s verb=%s uri=%s resource=%s ns=%s name=%s "
                      "sourceips=%s code=%s type=%s count=%.0f)";
    const char *args[] = {na(of, "ka.user.name"), na(of, "ka.verb"), na(of, "ka.uri"),
                          na(of, "ka.target.resource"), na(of, "ka.target.namespace"),
                          na(of, "ka.target.name"), na(of, "ka.sourceips"),
                          na(of, "ka.response.code"), na(of, "kguard.finding.type")};
    double count = format_num(f, "service.count", 1);
    int n = snprintf(NULL, 0, fmt, tod, prio, title ? title : args[8], args[0], args[1], args[2],
                     args[3], args[4], args[5], args[6], args[7], args[8], count);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (s)
        snprintf(s, (size_t)n + 1, fmt, tod, prio, title ? title : args[8], args[0], args[1],
                 args[2], args[3], args[4], args[5], args[6], args[7], args[8], count);
    return s;
}

/* "k8s", "kguard", and Falco's MITRE tag of the tactic ("mitre_discovery"). */
static cJSON *tags_of(const char *type)
{
    cJSON *tags = cJSON_CreateArray();
    char tactic[64], mitre[160] = "mitre_";
    size_t n = strlen(mitre);
    cJSON_AddItemToArray(tags, cJSON_CreateString("k8s"));
    cJSON_AddItemToArray(tags, cJSON_CreateString("kguard"));
    format_tactic(type, tactic, sizeof tactic);
    if (!tactic[0] || strcmp(tactic, "Policy") == 0)
        return tags;
    for (const char *p = tactic; *p && n < sizeof mitre - 2; p++) {
        if (isupper((unsigned char)*p) && p != tactic)
            mitre[n++] = '_';
        mitre[n++] = (char)tolower((unsigned char)*p);
    }
    mitre[n] = '\0';
    cJSON_AddItemToArray(tags, cJSON_CreateString(mitre));
    return tags;
}

char *format_falco_render(const cJSON *f, const kg_format_opts *opt)
{
    const char *type = format_str(f, "type");
    const char *prio = priority_of(format_num(f, "severity", 0));
    char iso[48], tod[32], host[256] = "";
    long long ms = format_time_ms(f, "service.eventLastSeen");
    cJSON *o, *of;
    char *out;

    if (!format_str(f, "id") || !type || !(o = cJSON_CreateObject()))
        return NULL;
    if (ms < 0)
        ms = format_time_ms(f, "updatedAt");
    falco_times(ms, iso, tod);
    if (opt && opt->hostname)
        snprintf(host, sizeof host, "%s", opt->hostname);
    else if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "localhost");
    of = output_fields(f);
    out = output_text(tod, prio, f, of);
    cJSON_AddStringToObject(o, "hostname", host);
    cJSON_AddStringToObject(o, "output", out ? out : "");
    free(out);
    cJSON_AddStringToObject(o, "priority", prio);
    cJSON_AddStringToObject(o, "rule", type);
    cJSON_AddStringToObject(o, "source", "k8s_audit");
    cJSON_AddItemToObject(o, "tags", tags_of(type));
    cJSON_AddStringToObject(o, "time", iso);
    cJSON_AddItemToObject(o, "output_fields", of);
    return format_print(o);
}
