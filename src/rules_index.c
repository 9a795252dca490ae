/*
 * rules_index: the verb/resource index of a generation.  Rules with an
 * `api` condition are listed under each "verb resource[/subresource]" key
 * they name; an event's candidates are the rules under its own key, under
 * "* resource[/sub]", and every rule without an api condition.  A rule
 * that also names namespaces is listed under "verb resource\x1fns" for each
 * instead, and found only by events in one of them.  A
 * non-resource request (no objectRef) is looked up by its path instead:
 * "verb /path" and "verb /prefix/" plus "*" for the prefixes of the path.
 */
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

int rules_index_add_ns(hmap *index, const char *key, char *const *ns, size_t n_ns, size_t id)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < n_ns; i++) {
        size_t nlen = strlen(ns[i]);
        char *k = malloc(klen + nlen + 2);
        int rc;
        if (!k)
            return -1;
        memcpy(k, key, klen);
        k[klen] = '\x1f';
        memcpy(k + klen + 1, ns[i], nlen + 1);
        rc = rules_index_add(index, k, id);
        free(k);
        if (rc < 0)
            return -1;
    }
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

/* key = "resource[/sub]" after room for a verb: its length, or 0 when it
 * does not fit. */
static size_t resource_key(const kg_event *ev, char *key, size_t room, size_t at)
{
    size_t r = strlen(ev->resource), sub = ev->subresource ? strlen(ev->subresource) : 0;
    size_t n = r + (sub ? sub + 1 : 0);
    if (at + n + 1 > room)
        return 0;
    memcpy(key + at, ev->resource, r);
    if (sub) {
        key[at + r] = '/';
        memcpy(key + at + r + 1, ev->subresource, sub);
    }
    return n;
}

/* The lists under "verb resource[/sub]" and the same with "\x1fns", for the
 * event's verb and for "*": up to four, into s. */
static void resource_lists(kg_ruleset *rs, const kg_event *ev, const id_list *s[4])
{
    char key[512];
    const char *verbs[2] = {ev->verb, "*"};
    size_t nslen = ev->ns ? strlen(ev->ns) : 0;
    for (int v = 0; v < 2; v++) {
        size_t vlen = strlen(verbs[v]), rlen, len;
        if (vlen + 2 > sizeof key)
            continue;
        memcpy(key, verbs[v], vlen);
        key[vlen] = ' ';
        if (!(rlen = resource_key(ev, key, sizeof key, vlen + 1)))
            continue;
        len = vlen + 1 + rlen;
        s[2 * v] = index_get(&rs->index, key, len);
        if (ev->ns && len + 1 + nslen <= sizeof key) {
            key[len] = '\x1f';
            memcpy(key + len + 1, ev->ns, nslen);
            s[2 * v + 1] = index_get(&rs->index, key, len + 1 + nslen);
        }
    }
}

size_t rules_index_candidates(kg_ruleset *rs, const kg_event *ev, size_t *out, size_t max)
{
    const id_list *s[4] = {NULL, NULL, NULL, NULL};
    size_t n = 0;
    int sources = rs->n_always > 0;

    if (!ev->resource && (n = path_candidates(rs, ev, out, max)) > 0) {
        for (size_t i = 0; i < rs->n_always && n < max; i++)
            out[n++] = rs->always[i];
        qsort(out, n, sizeof *out, cmp_size);
        return n;
    }
    if (ev->resource && ev->verb)
        resource_lists(rs, ev, s);
    for (int k = 0; k < 4; k++) {
        sources += s[k] && s[k]->n;
        for (size_t i = 0; s[k] && i < s[k]->n && n < max; i++)
            out[n++] = s[k]->ids[i];
    }
    for (size_t i = 0; i < rs->n_always && n < max; i++)
        out[n++] = rs->always[i];
    if (sources > 1)
        qsort(out, n, sizeof *out, cmp_size);
    return n;
}
