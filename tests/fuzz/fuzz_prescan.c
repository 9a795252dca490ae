/*
 * fuzz_prescan: the pre-scan against the full path.  Whatever prescan
 * vouches for (a text input.c's byte checks let through), cJSON must parse
 * whole and event_extract must accept, with the same stage and auditID;
 * prescan_stage must read the same two values.  Whatever prescan_bodies
 * vouches for, cJSON must parse whole, and each body span must parse to
 * the member of that tree.  Anything else aborts.
 */
#include <stdlib.h>
#include <string.h>
#include "kguard/event.h"
#include "kguard/input.h"
#include "prescan.h"
#include "fuzz_util.h"

/* input.c's byte checks, conservatively: UTF-8, no controls but tab, CR
 * and LF, no "u0000" anywhere (input.c refuses the escape). */
static bool clean(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] < 0x20 && d[i] != '\t' && d[i] != '\r' && d[i] != '\n')
            return false;
    if (memmem(d, n, "u0000", 5))
        return false;
    return input_utf8_valid(d, n, NULL);
}

static bool same(const char *p, size_t n, const char *want)
{
    return want ? p && strlen(want) == n && memcmp(p, want, n) == 0 : p == NULL;
}

/* Whether two trees are the same JSON, member order and duplicate keys
 * included (cJSON_Compare looks members up by name: with a key repeated in
 * one object it calls equal trees different). */
static bool same_json(const cJSON *a, const cJSON *b)
{
    char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);
    bool same = x && y && strcmp(x, y) == 0;
    cJSON_free(x);
    cJSON_free(y);
    return same;
}

static void check_bodies(const char *text, size_t size)
{
    static const char *const names[KG_BODY_N] = {"requestObject", "responseObject"};
    kg_json_span b[KG_BODY_N];
    cJSON *root;
    if (prescan_bodies(text, size, b) != 1)
        return;
    if (!(root = cJSON_ParseWithLengthOpts(text, size, NULL, 0)))
        abort();
    for (int i = 0; i < KG_BODY_N; i++) {
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(root, names[i]);
        cJSON *got = b[i].text ? cJSON_ParseWithLengthOpts(b[i].text, b[i].len, NULL, 0) : NULL;
        if (cJSON_IsNull(want))
            want = NULL;
        if ((!got) != (!want) || (got && !same_json(got, want)))
            abort();
        cJSON_Delete(got);
    }
    cJSON_Delete(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *end = NULL;
    kg_input_peek pk, first;
    kg_event ev;
    char err[256];
    cJSON *root;
    if (!clean(data, size))
        return 0;
    check_bodies(text, size);
    if (prescan_event(text, size, &pk) != 1)
        return 0;
    if (prescan_stage(text, size, &first) != 1 || first.stage != pk.stage ||
        first.audit_id != pk.audit_id)
        abort();
    root = cJSON_ParseWithLengthOpts(text, size, &end, 0);
    if (!root)
        abort();
    while (end < text + size && strchr(" \t\r\n", *end))
        end++;
    memset(&ev, 0, sizeof ev);
    if (end != text + size || event_extract(&ev, root, err, sizeof err) < 0 ||
        !same(pk.stage, pk.stage_len, ev.stage) || !same(pk.audit_id, pk.audit_id_len, ev.audit_id))
        abort();
    event_release(&ev);
    cJSON_Delete(root);
    return 0;
}
