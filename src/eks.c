/*
 * eks: what the CloudWatch Logs envelope tells about an EKS cluster, and
 * the Lambda event's compressed payload opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/eks.h"
#include "kguard/gunzip.h"
#include "b64.h"

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool eks_cluster_of_group(const char *lg, char *out, size_t len)
{
    const char *name, *end;
    out[0] = '\0';
    if (!lg || strncmp(lg, "/aws/eks/", 9) != 0)
        return false;
    name = lg + 9;
    end = strchr(name, '/');
    if (!end || end == name || strcmp(end, "/cluster") != 0 || (size_t)(end - name) >= len)
        return false;
    memcpy(out, name, (size_t)(end - name));
    out[end - name] = '\0';
    return true;
}

void eks_origin(const cJSON *payload, kg_origin *o)
{
    const char *owner = str(payload, "owner");
    memset(o, 0, sizeof *o);
    snprintf(o->cloud, sizeof o->cloud, "eks");
    eks_cluster_of_group(str(payload, "logGroup"), o->cluster, sizeof o->cluster);
    if (owner)
        snprintf(o->account, sizeof o->account, "%s", owner);
}

bool eks_is_control(const cJSON *payload)
{
    const char *t = str(payload, "messageType");
    return t && strcmp(t, "CONTROL_MESSAGE") == 0;
}

bool eks_is_lambda(const cJSON *o)
{
    const cJSON *aw = cJSON_GetObjectItemCaseSensitive(o, "awslogs");
    return cJSON_IsObject(aw) && str(aw, "data") != NULL;
}

char *eks_lambda_payload(const cJSON *o, size_t max, size_t *len, char *err,
                         size_t errlen)
{
    const char *data = str(cJSON_GetObjectItemCaseSensitive(o, "awslogs"), "data");
    char why[200], *raw, *text = NULL;
    size_t rawlen;
    if (!data) {
        snprintf(err, errlen, "Lambda event without awslogs.data");
        return NULL;
    }
    if (!(raw = b64_decode(data, max, &rawlen, why, sizeof why))) {
        snprintf(err, errlen, "awslogs.data: %s", why);
        return NULL;
    }
    if (!gunzip_magic(raw, rawlen))
        snprintf(err, errlen, "awslogs.data is not gzip-compressed");
    else if (gunzip_mem(raw, rawlen, max, &text, len, why, sizeof why) < 0)
        snprintf(err, errlen, "awslogs.data: %s", why);
    free(raw);
    return text;
}
