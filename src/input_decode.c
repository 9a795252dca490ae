/*
 * input_decode: the envelope table (see input_decode.h).  Entries, in the
 * order they are tried:
 *   - EventList (audit.k8s.io; the audit webhook's batches): items[]
 *   - CloudWatch Logs subscription payloads (EKS): logEvents[].message,
 *     the event as a JSON string
 *   - Azure diagnostic exports (AKS): records[].properties.log, the event
 *     as an object or a JSON string (records of other categories: none)
 *   - one-record envelopes (a `one` callback instead of items and unwrap):
 *     Pub/Sub push messages and GKE Cloud Logging records (gke.c), Lambda
 *     events from CloudWatch Logs (eks.c), AKS diagnostic records (aks.c)
 * Each cloud's envelope names the cluster (kg_input_meta.origin).
 */
#include <string.h>
#include "kguard/aks.h"
#include "kguard/eks.h"
#include "kguard/gke.h"
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

/* What an envelope says of the cluster replaces what was known only when
 * it names one. */
static void take_origin(kg_input_meta *meta, const kg_origin *o)
{
    if (o->cluster[0])
        meta->origin = *o;
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
    kg_origin o;
    (void)why;
    if (eks_is_control(root))
        return NULL;  /* CloudWatch checking the destination: no events */
    eks_origin(root, &o);
    take_origin(meta, &o);
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
    char why[160];
    kg_origin o;
    if (aks_is_record(item) && !aks_log(item, why, sizeof why))
        return -1;  /* a record of another category */
    if (cJSON_IsObject(v))
        v = member(v, "log");
    aks_origin(item, &o);
    take_origin(&it->meta, &o);
    return take_value(v, it);
}

/* ---- one-record envelopes ------------------------------------------------ */

static bool gke_push_detect(const cJSON *root)
{
    return no_kind(root) && gke_is_push(root);
}

static int gke_push_one(const cJSON *root, kg_input_item *it, size_t max, char *err,
                        size_t errlen)
{
    it->owned = gke_push_data(root, max, &it->len, err, errlen);
    it->text = it->owned;
    return it->owned ? 0 : -1;
}

static bool gke_detect(const cJSON *root)
{
    return no_kind(root) && gke_is_entry(root);
}

static int gke_one(const cJSON *root, kg_input_item *it, size_t max, char *err, size_t errlen)
{
    kg_origin o;
    (void)max;
    if (!(it->tree = gke_event(root, &o, err, errlen)))
        return -1;
    it->value = it->tree;
    take_origin(&it->meta, &o);
    return 0;
}

static bool lambda_detect(const cJSON *root)
{
    return no_kind(root) && eks_is_lambda(root);
}

static int lambda_one(const cJSON *root, kg_input_item *it, size_t max, char *err,
                      size_t errlen)
{
    it->owned = eks_lambda_payload(root, max, &it->len, err, errlen);
    it->text = it->owned;
    return it->owned ? 0 : -1;
}

static bool aks_detect(const cJSON *root)
{
    return no_kind(root) && aks_is_record(root);
}

static int aks_one(const cJSON *root, kg_input_item *it, size_t max, char *err, size_t errlen)
{
    const cJSON *log = aks_log(root, err, errlen);
    kg_origin o;
    (void)max;
    if (!log || take_value(log, it) < 0)
        return -1;
    aks_origin(root, &o);
    take_origin(&it->meta, &o);
    return 0;
}


/* ---- the table --------------------------------------------------------- */

static const kg_input_decoder decoders[] = {
    {"eventlist", eventlist_detect, eventlist_items, input_unwrap_object, NULL},
    {"cloudwatch", cloudwatch_detect, cloudwatch_items, cloudwatch_unwrap, NULL},
    {"azure", azure_detect, azure_items, azure_unwrap, NULL},
    {"pubsub", gke_push_detect, NULL, NULL, gke_push_one},
    {"gke", gke_detect, NULL, NULL, gke_one},
    {"lambda", lambda_detect, NULL, NULL, lambda_one},
    {"aks", aks_detect, NULL, NULL, aks_one},
};

const kg_input_decoder *input_decoder_find(const cJSON *root)
{
    for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++)
        if (decoders[i].detect(root))
            return &decoders[i];
    return NULL;
}
