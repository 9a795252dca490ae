/*
 * fuzz_event: event extraction.  The bytes are parsed as one JSON record;
 * event_extract checks it and computes the shared facts, then the body is
 * resolved and the finding details a rule could ask for are built.
 */
#include "kguard/event.h"
#include "kguard/workload.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    kg_event ev;
    char err[256], subject[512];
    if (!root)
        return 0;
    memset(&ev, 0, sizeof ev);
    if (event_extract(&ev, root, err, sizeof err) == 0) {
        cJSON *w, *rb;
        ev.src_file = "fuzz";
        ev.src_line = 1;
        workload_resolve(&ev);
        w = workload_details(&ev);
        rb = workload_rolebinding_details(&ev);
        workload_subject(&ev, subject, sizeof subject);
        if (ev.pod_spec) {
            workload_has_privileged(ev.pod_spec);
            workload_has_host_path(ev.pod_spec);
        }
        for (int i = 0; i < ev.nips; i++)
            if (!ev.ip_text[i])
                abort();   /* a parsed caller IP always has its text */
        cJSON_Delete(w);
        cJSON_Delete(rb);
    }
    event_release(&ev);
    cJSON_Delete(root);
    return 0;
}
