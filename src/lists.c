/*
 * lists: loading and naming the engine's IP lists (see lists.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/lists.h"

static const char *const kind_names[KG_LIST_KINDS] = {"tor", "malicious", "custom"};

int lists_kind_from_name(const char *s)
{
    for (int k = 0; k < KG_LIST_KINDS; k++)
        if (strcmp(s, kind_names[k]) == 0)
            return k;
    return -1;
}

const char *lists_kind_name(kg_list_kind kind)
{
    return kind < KG_LIST_KINDS ? kind_names[kind] : "?";
}

const kg_list *lists_find(const kg_lists *ls, const char *name)
{
    for (size_t i = 0; i < ls->n; i++)
        if (strcmp(ls->v[i].name, name) == 0)
            return &ls->v[i];
    return NULL;
}

int lists_add(kg_lists *ls, kg_list_kind kind, const char *name,
              const char *path, kg_ipset_warn_fn warn, void *ud, char *err,
              size_t errlen)
{
    kg_list l = {0}, *nv;

    if (lists_find(ls, name)) {
        snprintf(err, errlen, "list name '%s' is given twice", name);
        return -1;
    }
    l.kind = kind;
    l.name = strdup(name);
    l.path = strdup(path);
    l.set = ipset_new(name);
    if (!l.name || !l.path || !l.set)
        goto oom;
    if (ipset_load_file(l.set, path, warn, ud, err, errlen) < 0)
        goto fail;
    if (ipset_finalize(l.set) < 0)
        goto oom;
    nv = realloc(ls->v, (ls->n + 1) * sizeof *nv);
    if (!nv)
        goto oom;
    ls->v = nv;
    ls->v[ls->n++] = l;
    return 0;
oom:
    snprintf(err, errlen, "out of memory loading %s", path);
fail:
    ipset_free(l.set);
    free(l.name);
    free(l.path);
    return -1;
}

void lists_free(kg_lists *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        ipset_free(ls->v[i].set);
        free(ls->v[i].name);
        free(ls->v[i].path);
    }
    free(ls->v);
    ls->v = NULL;
    ls->n = 0;
}
