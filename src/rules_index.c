/*
 * rules_index: the verb/resource index of a generation.  Rules with an
 * `api` condition are listed under each "verb resource[/subresource]" key
 * they name; an event's candidates are the rules under its own key, under
 * "* resource[/sub]", and every rule without an api condition.  A
 * non-resource request (no objectRef) is looked up by its path instead:
 * "verb /path" and "verb /prefix/" plus "*" for the prefixes of the path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rules_int.h"

/* Rule ids under one key, ascending. */
typedef struct id_list {
    size_t *ids;
    size_t n;
} id_list;

static void id_list_free(void *p)
{
    id_list *l = p;
    if (l)
        free(l->ids);
    free(l);
}

void rules_index_free(hmap *index)
{
    hmap_free(index, id_list_free);
}

int rules_index_add(hmap *index, const char *key, size_t id)
{
    bool created;
    hmap_entry *e = hmap_insert(index, key, strlen(key), &created);
    id_list *l;
    size_t *nids;
    if (!e)
        return -1;
    if (created && !(e->ptr = calloc(1, sizeof(id_list))))
        return -1;
    l = e->ptr;
    if (l->n && l->ids[l->n - 1] == id)
        return 0; /* listed twice in one rule */
    nids = realloc(l->ids, (l->n + 1) * sizeof *nids);
    if (!nids)
        return -1;
    l->ids = nids;
    l->ids[l->n++] = id;
    return 0;
}

static const id_list *index_get(hmap *m, const char *key, size_t len)
{
    hmap_entry *e = hmap_find(m, key, len);
    return e ? e->ptr : NULL;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Append the ids of l that out[0, n) does not hold yet; the new count. */
static size_t add_new_ids(const id_list *l, size_t *out, size_t n, size_t max)
{
    for (size_t i = 0; l && i < l->n && n < max; i++) {
        size_t j = 0;
        while (j < n && out[j] != l->ids[i])
            j++;
        if (j == n)
            out[n++] = l->ids[i];
    }
    return n;
}

/* Rules for a non-resource request (no objectRef): indexed under "VERB PATH"
 * (requestURI without its query) or under "VERB PREFIX/" plus "*" for each
 * prefix of the path that ends before one of its slashes; VERB is the event's
 * verb or "*".  Unsorted, without duplicates. */
static size_t path_candidates(kg_ruleset *rs, const kg_event *ev, size_t *out, size_t max)
{
    const char *uri = ev->request_uri, *verbs[2] = {ev->verb, "*"};
    char key[512];
    size_t plen, n = 0;

    if (!uri || uri[0] != '/' || !ev->verb)
        return 0;
    plen = strcspn(uri, "?#");
    for (int v = 0; v < 2; v++) {
        size_t vlen = strlen(verbs[v]);
        if (vlen + plen + 4 > sizeof key)
            return n;
        memcpy(key, verbs[v], vlen);
        key[vlen] = ' ';
        memcpy(key + vlen + 1, uri, plen);
        n = add_new_ids(index_get(&rs->index, key, vlen + 1 + plen), out, n, max);
        for (size_t i = 1; i < plen; i++) {
            if (uri[i] != '/')
                continue;
            memcpy(key + vlen + 1, uri, i);
            memcpy(key + vlen + 1 + i, "/*", 2);
            n = add_new_ids(index_get(&rs->index, key, vlen + 3 + i), out, n, max);
        }
    }
    return n;
}

size_t rules_index_candidates(kg_ruleset *rs, const kg_event *ev, size_t *out, size_t max)
{
    char key[512];
    const id_list *s[2] = {NULL, NULL};
    size_t n = 0;
    int len;

    if (!ev->resource && (n = path_candidates(rs, ev, out, max)) > 0) {
        for (size_t i = 0; i < rs->n_always && n < max; i++)
            out[n++] = rs->always[i];
        qsort(out, n, sizeof *out, cmp_size);
        return n;
    }
    if (ev->resource) {
        len = snprintf(key, sizeof key, "%s %s%s%s", ev->verb, ev->resource,
                       ev->subresource ? "/" : "", ev->subresource ? ev->subresource : "");
        if (len > 0 && (size_t)len < sizeof key) {
            s[0] = index_get(&rs->index, key, (size_t)len);
            len = snprintf(key, sizeof key, "* %s%s%s", ev->resource,
                           ev->subresource ? "/" : "", ev->subresource ? ev->subresource : "");
            s[1] = index_get(&rs->index, key, (size_t)len);
        }
    }
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; s[k] && i < s[k]->n && n < max; i++)
            out[n++] = s[k]->ids[i];
    for (size_t i = 0; i < rs->n_always && n < max; i++)
        out[n++] = rs->always[i];
    if ((s[0] && s[1]) || (rs->n_always && (s[0] || s[1])))
        qsort(out, n, sizeof *out, cmp_size);
    return n;
}
