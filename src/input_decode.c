/*
 * input_decode: the envelope table (see input_decode.h).  Entries, in the
 * order they are tried:
 *   - EventList (audit.k8s.io; the audit webhook's batches): items[]
 *   - CloudWatch Logs subscription payloads (EKS): logEvents[].message,
 *     the event as a JSON string
 *   - Azure diagnostic exports (AKS): records[].properties.log, the event
 *     as an object or a JSON string
 */
#include <string.h>
#include "input_decode.h"

static const cJSON *member(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* A managed service's envelope has no "kind" (an audit Event always does). */
static bool no_kind(const cJSON *root)
{
    return member(root, "kind") == NULL;
}

/* An event as an object, or as JSON text in a string. */
static int take_value(const cJSON *v, kg_input_item *it)
{
    if (cJSON_IsString(v)) {
        it->text = v->valuestring;
        it->len = strlen(v->valuestring);
        return 0;
    }
    if (cJSON_IsObject(v)) {
        it->value = v;
        return 0;
    }
    return -1;
}

int input_unwrap_object(const cJSON *item, kg_input_item *it)
{
    if (!cJSON_IsObject(item))
        return -1;
    it->value = item;
    return 0;
}

/* ---- EventList --------------------------------------------------------- */

static bool eventlist_detect(const cJSON *root)
{
    const cJSON *kind = member(root, "kind");
    return cJSON_IsString(kind) && strcmp(kind->valuestring, "EventList") == 0;
}

static const cJSON *eventlist_items(const cJSON *root, kg_input_meta *meta, const char **why)
{
    const cJSON *items = member(root, "items");
    (void)meta;
    if (!items || cJSON_IsNull(items))
        return NULL;  /* an empty list */
    if (!cJSON_IsArray(items))
        *why = "EventList items must be an array";
    return cJSON_IsArray(items) ? items : NULL;
}

/* ---- CloudWatch Logs (EKS) --------------------------------------------- */

static bool cloudwatch_detect(const cJSON *root)
{
    return no_kind(root) && cJSON_IsArray(member(root, "logEvents")) &&
           member(root, "logGroup") != NULL;
}

static const cJSON *cloudwatch_items(const cJSON *root, kg_input_meta *meta, const char **why)
{
    (void)meta;
    (void)why;
    return member(root, "logEvents");
}

static int cloudwatch_unwrap(const cJSON *item, kg_input_item *it)
{
    return take_value(member(item, "message"), it);
}

/* ---- Azure diagnostic export (AKS) ------------------------------------- */

static bool azure_detect(const cJSON *root)
{
    return no_kind(root) && cJSON_IsArray(member(root, "records"));
}

static const cJSON *azure_items(const cJSON *root, kg_input_meta *meta, const char **why)
{
    (void)meta;
    (void)why;
    return member(root, "records");
}

static int azure_unwrap(const cJSON *item, kg_input_item *it)
{
    const cJSON *v = member(item, "properties");
    if (cJSON_IsObject(v))
        v = member(v, "log");
    return take_value(v, it);
}

/* ---- the table --------------------------------------------------------- */

static const kg_input_decoder decoders[] = {
    {"eventlist", eventlist_detect, eventlist_items, input_unwrap_object},
    {"cloudwatch", cloudwatch_detect, cloudwatch_items, cloudwatch_unwrap},
    {"azure", azure_detect, azure_items, azure_unwrap},
};

const kg_input_decoder *input_decoder_find(const cJSON *root)
{
    for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++)
        if (decoders[i].detect(root))
            return &decoders[i];
    return NULL;
}
