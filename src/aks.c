/*
 * aks: recognising AKS diagnostic records, taking their event out of
 * properties.log, and the cluster identity out of resourceId.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "kguard/aks.h"

bool aks_is_record(const cJSON *o)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(o, "properties");
    return cJSON_IsObject(props) &&
           (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "category")) ||
            cJSON_GetObjectItemCaseSensitive(props, "log") != NULL);
}

const cJSON *aks_log(const cJSON *rec, char *err, size_t errlen)
{
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(rec, "category");
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(rec, "properties");
    const cJSON *log = cJSON_GetObjectItemCaseSensitive(props, "log");
    if (cJSON_IsString(cat) && strcasecmp(cat->valuestring, "kube-audit") != 0 &&
        strcasecmp(cat->valuestring, "kube-audit-admin") != 0) {
        snprintf(err, errlen, "AKS record of category %.60s, not kube-audit", cat->valuestring);
        return NULL;
    }
    if (!cJSON_IsObject(log) && !cJSON_IsString(log)) {
        snprintf(err, errlen, "AKS record without properties.log");
        return NULL;
    }
    return log;
}

/* The path segment after /KEY/ in id (case-insensitive), into out. */
static void segment_after(const char *id, const char *key, char *out, size_t len, bool lower)
{
    size_t klen = strlen(key), n;
    const char *p = id;
    out[0] = '\0';
    while ((p = strchr(p, '/')) != NULL) {
        p++;
        if (strncasecmp(p, key, klen) == 0 && p[klen] == '/') {
            p += klen + 1;
            n = strcspn(p, "/");
            if (n >= len)
                n = len - 1;
            for (size_t i = 0; i < n; i++)
                out[i] = lower ? (char)tolower((unsigned char)p[i]) : p[i];
            out[n] = '\0';
            return;
        }
    }
}

void aks_origin(const cJSON *rec, kg_origin *o)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "resourceId");
    memset(o, 0, sizeof *o);
    snprintf(o->cloud, sizeof o->cloud, "aks");
    if (!cJSON_IsString(id))
        return;
    segment_after(id->valuestring, "managedClusters", o->cluster, sizeof o->cluster, true);
    segment_after(id->valuestring, "subscriptions", o->account, sizeof o->account, true);
    segment_after(id->valuestring, "resourceGroups", o->group, sizeof o->group, true);
    snprintf(o->resource, sizeof o->resource, "%s", id->valuestring);
}
