/*
 * format: the table of output formats and the finding readers the format
 * modules share (see format.h, format_int.h).
 */
#include <stdlib.h>
#include <string.h>
#include "kguard/timefmt.h"
#include "format_int.h"

static const kg_format formats[] = {
    {"guardduty", "GuardDuty's finding JSON (lowerCamelCase wire form), one object a line",
     format_guardduty_render, NULL},
    {"asff", "AWS Security Finding Format, as Security Hub's BatchImportFindings takes it",
     format_asff_render, NULL},
    {"ocsf", "OCSF 1.4 Detection Finding (class_uid 2004)", format_ocsf_render, NULL},
    {"falco", "Falco's JSON alert (falcosidekick and Falco consumers)", format_falco_render, NULL},
    {"text", "one readable line a finding; a summary table at the end",
     format_text_render, format_text_summary},
};

const kg_format *format_find(const char *name)
{
    if (name && strcmp(name, "json") == 0)     /* the sinks' name for it */
        name = "guardduty";
    for (size_t i = 0; name && i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].name, name) == 0)
            return &formats[i];
    return NULL;
}

const kg_format *format_all(size_t *n)
{
    *n = sizeof formats / sizeof formats[0];
    return formats;
}

const char *format_names(void)
{
    return "guardduty, asff, ocsf, falco, text";
}

const char *format_severity_word(double s)
{
    return s >= 9 ? "Critical" : s >= 7 ? "High" : s >= 4 ? "Medium"
         : s >= 1 ? "Low" : "Informational";
}

char *format_guardduty_render(const cJSON *f, const kg_format_opts *o)
{
    (void)o;
    if (!format_str(f, "id") || !format_str(f, "type"))
        return NULL;
    return cJSON_PrintUnformatted(f);
}

/* ---- readers ----------------------------------------------------------- */

const cJSON *format_get(const cJSON *f, const char *path)
{
    char key[128];
    while (f && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        f = cJSON_IsObject(f) ? cJSON_GetObjectItemCaseSensitive(f, key) : NULL;
        path += n + (path[n] == '.');
    }
    return f;
}

const char *format_str(const cJSON *f, const char *path)
{
    const cJSON *v = format_get(f, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

double format_num(const cJSON *f, const char *path, double dflt)
{
    const cJSON *v = format_get(f, path);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

long long format_time_ms(const cJSON *f, const char *path)
{
    long long ms;
    return timefmt_parse(format_str(f, path), &ms) == 0 ? ms : -1;
}

const char *format_caller_ip(const cJSON *f)
{
    const char *ip = format_str(f, "service.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV4");
    const cJSON *ips;
    if (!ip)
        ip = format_str(f, "service.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV6");
    if (ip)
        return ip;
    ips = format_get(f, "service.action.kubernetesApiCallAction.sourceIPs");
    ips = cJSON_IsArray(ips) ? cJSON_GetArrayItem(ips, 0) : NULL;
    return cJSON_IsString(ips) ? ips->valuestring : NULL;
}

bool format_is_update(const cJSON *f)
{
    return format_num(f, "service.count", 1) > 1 ||
           format_time_ms(f, "updatedAt") > format_time_ms(f, "createdAt");
}

char *format_truncate(const char *s, size_t max)
{
    size_t chars = 0, i = 0, cut = 0, len = strlen(s);
    char *out;
    /* Walk code points; remember where max-3 of them end for the "...". */
    for (; i < len; chars++) {
        if (chars == (max > 3 ? max - 3 : 0))
            cut = i;
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    if (chars <= max)
        return strdup(s);
    if (max < 3)
        cut = 0;
    if (!(out = malloc(cut + 4)))
        return NULL;
    memcpy(out, s, cut);
    memcpy(out + cut, max < 3 ? "" : "...", max < 3 ? 1 : 4);
    return out;
}

void format_add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
}

void format_add_cut(cJSON *o, const char *k, const char *s, size_t max)
{
    char *c;
    if (!s || !(c = format_truncate(s, max)))
        return;
    cJSON_AddStringToObject(o, k, c);
    free(c);
}

char *format_join(const cJSON *arr, const char *open, const char *close)
{
    size_t len = strlen(open) + strlen(close) + 1;
    const cJSON *it;
    char *s;
    bool first = true;
    if (!cJSON_IsArray(arr))
        return NULL;
    cJSON_ArrayForEach(it, arr)
        if (cJSON_IsString(it))
            len += strlen(it->valuestring) + 1;
    if (!(s = malloc(len)))
        return NULL;
    strcpy(s, open);
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it))
            continue;
        if (!first)
            strcat(s, ",");
        strcat(s, it->valuestring);
        first = false;
    }
    strcat(s, close);
    return s;
}

char *format_print(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

const char *format_tactic(const char *type, char *buf, size_t n)
{
    size_t len = type ? strcspn(type, ":") : 0;
    if (!type || type[len] != ':' || len >= n)
        len = 0;
    memcpy(buf, type ? type : "", len);
    buf[len] = '\0';
    return buf;
}
