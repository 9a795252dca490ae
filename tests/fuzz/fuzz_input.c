/*
 * fuzz_input: record framing.  The bytes are read as a source file would
 * be (gzip detection, JSON lines, multi-line documents, arrays, EventList
 * and the cloud shippers' envelopes, UTF-8 and depth checks), then fed as
 * one webhook body, bare and as POSTed to a cluster's path.  Every record handed on must be a JSON object.
 */
#include <stdio.h>
#include <stdlib.h>
#include "kguard/input.h"
#include "fuzz_util.h"

static void on_record(void *ud, const cJSON *rec, const kg_input_meta *meta, const char *file,
                      long line)
{
    (void)file;
    if (!cJSON_IsObject(rec) || line < 1 || !meta ||
        !memchr(meta->origin.cluster, '\0', sizeof meta->origin.cluster))
        abort();           /* the framing handed on something that is not an event */
    ++*(long *)ud;
}

static void on_bad(void *ud, const char *file, long line, const char *msg)
{
    (void)ud;
    if (!file || !msg || line < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long n = 0;
    char path[64], err[256];
    kg_input_meta base;
    kg_input_sink sink = {.record = on_record, .bad = on_bad, .ud = &n, .max_line = 1u << 20,
                          .max_doc = 4u << 20};
    int fd = fuzz_memfile(data, size, path, sizeof path);
    memset(&base, 0, sizeof base);
    snprintf(base.origin.cluster, sizeof base.origin.cluster, "prod-eu-1"); /* POST /k8s-audit/prod-eu-1 */
    if (fd >= 0) {
        input_read_path(path, &sink, err, sizeof err);
        close(fd);
    }
    input_feed((const char *)data, size, "fuzz", 1, &sink);
    input_feed_from((const char *)data, size, "fuzz", 1, &base, &sink);
    return 0;
}
