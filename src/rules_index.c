/*
 * rules_index: the verb/resource index of a generation.  Rules with an
 * `api` condition are listed under each "verb resource[/subresource]" key
 * they name; an event's candidates are the rules under its own key, under
 * "* resource[/sub]", and every rule without an api condition.
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

size_t rules_index_candidates(kg_ruleset *rs, const kg_event *ev, size_t *out, size_t max)
{
    char key[512];
    const id_list *s[2] = {NULL, NULL};
    size_t n = 0;
    int len;

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
