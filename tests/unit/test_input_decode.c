/* Unit tests for the envelope table: which decoder takes which document,
 * and what each one's items and unwrap give. */
#include <stdlib.h>
#include <string.h>
#include "input_decode.h"
#include "tap.h"

#define EVENT "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"verb\":\"list\"}"

static const char *name_of(const char *json)
{
    static char name[32];
    cJSON *root = cJSON_Parse(json);
    const kg_input_decoder *d = root ? input_decoder_find(root) : NULL;
    snprintf(name, sizeof name, "%s", d ? d->name : "(none)");
    cJSON_Delete(root);
    return name;
}

static void test_detect(void)
{
    is_str(name_of(EVENT), "(none)", "a bare Event has no decoder");
    is_str(name_of("{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[]}"),
           "eventlist", "an EventList");
    is_str(name_of("{\"messageType\":\"DATA_MESSAGE\",\"logGroup\":\"/aws/eks/prod/cluster\","
                   "\"logEvents\":[]}"), "cloudwatch", "a CloudWatch Logs payload");
    is_str(name_of("{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[]}"), "(none)",
           "logEvents without a logGroup is no CloudWatch payload");
    is_str(name_of("{\"records\":[]}"), "azure", "an Azure diagnostic export");
    is_str(name_of("{\"kind\":\"Event\",\"records\":[]}"), "(none)",
           "an object with a kind is never an envelope of a managed service");
}

static void test_unwrap(void)
{
    cJSON *root = cJSON_Parse("{\"records\":[{\"properties\":{\"log\":" EVENT "}},"
                              "{\"properties\":{\"log\":\"{\\\"kind\\\":\\\"Event\\\"}\"}},"
                              "{\"properties\":{\"stream\":\"stdout\"}}]}");
    const kg_input_decoder *d = input_decoder_find(root);
    kg_input_meta meta = {0};
    const char *why = NULL;
    const cJSON *items = d->items(root, &meta, &why);
    kg_input_item a = {0}, b = {0}, c = {0};

    ok(cJSON_IsArray(items) && !why, "the records array");
    ok(d->unwrap(cJSON_GetArrayItem(items, 0), &a) == 0 && cJSON_IsObject(a.value),
       "properties.log as an object is the event tree");
    ok(d->unwrap(cJSON_GetArrayItem(items, 1), &b) == 0 && !b.value && b.text &&
       b.len == strlen("{\"kind\":\"Event\"}"), "properties.log as a string is the event text");
    ok(d->unwrap(cJSON_GetArrayItem(items, 2), &c) < 0, "a record without a log holds no event");
    cJSON_Delete(root);

    root = cJSON_Parse("{\"kind\":\"EventList\",\"items\":{}}");
    d = input_decoder_find(root);
    why = NULL;
    ok(d->items(root, &meta, &why) == NULL, "an EventList whose items is no array has none");
    is_str(why, "EventList items must be an array", "and says why");
    cJSON_Delete(root);

    root = cJSON_Parse("{\"kind\":\"EventList\",\"items\":null}");
    why = NULL;
    ok(d->items(root, &meta, &why) == NULL && !why, "null items: an empty list, no complaint");
    cJSON_Delete(root);
}

int main(void)
{
    test_detect();
    test_unwrap();
    return done_testing();
}
