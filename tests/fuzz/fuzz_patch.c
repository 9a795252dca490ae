/*
 * fuzz_patch: request bodies of patches.  The bytes are a JSON value used
 * as the requestObject of a `patch` of each workload resource, as the API
 * server logs it: a JSON patch (an array of operations) is turned into the
 * partial object it describes, a merge or strategic-merge patch (an object)
 * is the body itself; then the pod spec and the finding details are read.
 */
#include "kguard/event.h"
#include "kguard/workload.h"
#include "fuzz_util.h"

static const char *const RESOURCES[] = {"pods", "deployments", "daemonsets", "statefulsets",
                                        "replicasets", "jobs", "cronjobs", "rolebindings",
                                        "clusterrolebindings"};

static void judge(cJSON *body, const char *resource)
{
    cJSON *root = cJSON_CreateObject(), *ref, *user, *ips;
    kg_event ev;
    char err[256];
    cJSON_AddStringToObject(root, "kind", "Event");
    cJSON_AddStringToObject(root, "apiVersion", "audit.k8s.io/v1");
    cJSON_AddStringToObject(root, "level", "RequestResponse");
    cJSON_AddStringToObject(root, "auditID", "0b6f1e55-3c1a-4c43-9d0e-6a3e5f0d2b71");
    cJSON_AddStringToObject(root, "stage", "ResponseComplete");
    cJSON_AddStringToObject(root, "requestURI", "/apis/apps/v1/namespaces/prod/deployments/web");
    cJSON_AddStringToObject(root, "verb", "patch");
    user = cJSON_AddObjectToObject(root, "user");
    cJSON_AddStringToObject(user, "username", "kubernetes-admin");
    ips = cJSON_AddArrayToObject(root, "sourceIPs");
    cJSON_AddItemToArray(ips, cJSON_CreateString("10.0.3.17"));
    ref = cJSON_AddObjectToObject(root, "objectRef");
    cJSON_AddStringToObject(ref, "resource", resource);
    cJSON_AddStringToObject(ref, "namespace", "prod");
    cJSON_AddStringToObject(ref, "name", "web");
    cJSON_AddItemReferenceToObject(root, "requestObject", body);
    memset(&ev, 0, sizeof ev);
    if (event_extract(&ev, root, err, sizeof err) == 0) {
        cJSON *w, *rb;
        workload_resolve(&ev);
        if (ev.pod_spec) {
            workload_has_privileged(ev.pod_spec);
            workload_has_host_path(ev.pod_spec);
        }
        w = workload_details(&ev);
        rb = workload_rolebinding_details(&ev);
        cJSON_Delete(w);
        cJSON_Delete(rb);
    }
    event_release(&ev);
    cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *body = cJSON_ParseWithLength((const char *)data, size);
    if (!body)
        return 0;
    if (cJSON_IsArray(body))
        cJSON_Delete(workload_from_json_patch(body));
    for (size_t i = 0; i < sizeof RESOURCES / sizeof RESOURCES[0]; i++)
        judge(body, RESOURCES[i]);
    cJSON_Delete(body);
    return 0;
}
