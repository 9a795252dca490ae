/*
 * state_export: a cluster's share of the state as one JSON document and back
 * (see state_export.h).  Built on the --state file's JSON (state_to_json,
 * agg_to_json), filtered to the cluster's keys, so the document reads like a
 * --state file holding that cluster alone.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/state_export.h"
#include "state_int.h"

#define PREFIX_MAX (KG_STATE_MAX_SCOPE + 2)

static size_t prefix_of(const char *cluster, char out[PREFIX_MAX])
{
    size_t n = strlen(cluster);
    if (n == 0 || n > KG_STATE_MAX_SCOPE)
        return 0;
    memcpy(out, cluster, n);
    out[n] = '\x1f';
    out[n + 1] = '\0';
    return n + 1;
}

/* Keep the rows of arr whose first item is a string starting with prefix
 * (exact: equal to it).  Returns how many are left. */
static int keep_rows(cJSON *arr, const char *prefix, size_t plen, bool exact)
{
    cJSON *row = arr ? arr->child : NULL;
    int kept = 0;
    while (row) {
        cJSON *next = row->next, *k = cJSON_GetArrayItem(row, 0);
        const char *s = cJSON_IsString(k) ? k->valuestring : NULL;
        if (s && strncmp(s, prefix, plen) == 0 && (!exact || s[plen] == '\0'))
            kept++;
        else
            cJSON_Delete(cJSON_DetachItemViaPointer(arr, row));
        row = next;
    }
    return kept;
}

/* The tables and series of the state, each cut down to the cluster; those
 * left empty are removed. */
static void filter_tables(cJSON *tables, const char *cluster, const char *prefix, size_t plen)
{
    cJSON *o = tables ? tables->child : NULL;
    while (o) {
        cJSON *next = o->next;
        int kept;
        if (cJSON_GetObjectItemCaseSensitive(o, "kind"))
            kept = keep_rows(cJSON_GetObjectItemCaseSensitive(o, "keys"), prefix, plen, false) +
                   keep_rows(cJSON_GetObjectItemCaseSensitive(o, "starts"), cluster,
                             strlen(cluster), true);
        else
            kept = keep_rows(cJSON_GetObjectItemCaseSensitive(o, "entries"), prefix, plen, false);
        if (!kept)
            cJSON_Delete(cJSON_DetachItemViaPointer(tables, o));
        o = next;
    }
}

static void filter_findings(cJSON *findings, const char *cluster)
{
    cJSON *o = findings ? findings->child : NULL;
    while (o) {
        cJSON *next = o->next, *c = cJSON_GetObjectItemCaseSensitive(o, "cluster");
        if (!cJSON_IsString(c) || strcmp(c->valuestring, cluster) != 0)
            cJSON_Delete(cJSON_DetachItemViaPointer(findings, o));
        o = next;
    }
}

char *state_export_cluster(const kg_state *st, const kg_agg *agg, const char *cluster,
                           size_t *len)
{
    char prefix[PREFIX_MAX], *printed = NULL, *text = NULL;
    size_t plen = prefix_of(cluster, prefix);
    cJSON *doc = NULL, *tables = NULL, *findings = NULL;

    if (!plen || !(doc = cJSON_CreateObject()))
        return NULL;
    tables = state_to_json(st);
    findings = agg_to_json(agg);
    if (!tables || !findings)
        goto cleanup;
    filter_tables(tables, cluster, prefix, plen);
    filter_findings(findings, cluster);
    cJSON_AddStringToObject(doc, "format", KG_CSTATE_FORMAT);
    cJSON_AddNumberToObject(doc, "version", KG_CSTATE_VERSION);
    cJSON_AddStringToObject(doc, "cluster", cluster);
    cJSON_AddItemToObject(doc, "tables", tables);
    cJSON_AddItemToObject(doc, "findings", findings);
    tables = findings = NULL;
    /* cJSON's allocator may be the arena's: hand back plain malloc'd text */
    if ((printed = cJSON_PrintUnformatted(doc)) != NULL && (text = strdup(printed)) != NULL)
        *len = strlen(text);
    cJSON_free(printed);
cleanup:
    cJSON_Delete(tables);
    cJSON_Delete(findings);
    cJSON_Delete(doc);
    return text;
}

void state_drop_cluster(kg_state *st, kg_agg *agg, const char *cluster)
{
    char prefix[PREFIX_MAX];
    size_t plen = prefix_of(cluster, prefix);
    cJSON *tables;
    if (!plen)
        return;
    agg_drop_scope(agg, cluster);
    series_drop_scope(st, prefix, plen, cluster);
    if (!(tables = state_to_json(st)))
        return;
    filter_tables(tables, cluster, prefix, plen);   /* the keys to remove */
    for (size_t i = 0; i < st->n; i++) {
        const cJSON *o, *row;
        cJSON_ArrayForEach(o, tables) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
            if (cJSON_GetObjectItemCaseSensitive(o, "kind") || !cJSON_IsString(name) ||
                strcmp(name->valuestring, table_name(st->tables[i])) != 0)
                continue;
            cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(o, "entries")) {
                const char *k = cJSON_GetArrayItem(row, 0)->valuestring;
                table_remove(st->tables[i], k, strlen(k));
            }
        }
    }
    cJSON_Delete(tables);
}

static const char *check_doc(const cJSON *doc, const char *cluster)
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(doc, "format");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(doc, "cluster");
    if (!cJSON_IsObject(doc))
        return "not a JSON object";
    if (!*cluster || strlen(cluster) > KG_STATE_MAX_SCOPE)
        return "no cluster named";
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, KG_CSTATE_FORMAT) != 0)
        return "not a kguard cluster state";
    if (!cJSON_IsNumber(ver) || ver->valueint != KG_CSTATE_VERSION)
        return "a cluster state of another format version";
    if (!cJSON_IsString(c) || strcmp(c->valuestring, cluster) != 0)
        return "the state of another cluster";
    return NULL;
}

int state_import_cluster(kg_state *st, kg_agg *agg, const char *cluster, const char *text,
                         size_t len, char *err, size_t errlen)
{
    cJSON *doc = cJSON_ParseWithLength(text, len);
    const char *bad = check_doc(doc, cluster);
    char prefix[PREFIX_MAX];
    size_t plen = prefix_of(cluster, prefix);
    int rc = -1;

    state_drop_cluster(st, agg, cluster);
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        goto cleanup;
    }
    /* another cluster's keys never come in through this cluster's document */
    filter_tables(cJSON_GetObjectItemCaseSensitive(doc, "tables"), cluster, prefix, plen);
    filter_findings(cJSON_GetObjectItemCaseSensitive(doc, "findings"), cluster);
    if (state_from_json(st, cJSON_GetObjectItemCaseSensitive(doc, "tables"), err, errlen) < 0 ||
        agg_from_json(agg, cJSON_GetObjectItemCaseSensitive(doc, "findings"), err, errlen) < 0) {
        state_drop_cluster(st, agg, cluster);
        goto cleanup;
    }
    rc = 0;
cleanup:
    cJSON_Delete(doc);
    return rc;
}
