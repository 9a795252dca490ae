/*
 * lists: loading and naming the engine's IP lists (see lists.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/lists.h"

static const char *const kind_names[] = {"tor", "malicious", "custom", "trusted"};

int lists_kind_from_name(const char *s)
{
    for (int k = 0; k < KG_LIST_KINDS; k++)
        if (strcmp(s, kind_names[k]) == 0)
            return k;
    return -1;
}

const char *lists_kind_name(kg_list_kind kind)
{
    return kind <= KG_LIST_TRUSTED ? kind_names[kind] : "?";
}

const kg_list *lists_find(const kg_lists *ls, const char *name)
{
    for (size_t i = 0; i < ls->n; i++)
        if (strcmp(ls->v[i].name, name) == 0)
            return &ls->v[i];
    return NULL;
}

bool lists_trusted(const kg_lists *ls, const kg_ip *ip)
{
    for (size_t i = 0; ls && i < ls->n; i++)
        if (ls->v[i].kind == KG_LIST_TRUSTED && ipset_contains(ls->v[i].set, ip))
            return true;
    return false;
}

static int push_list(kg_lists *ls, kg_list *l, char *err, size_t errlen)
{
    kg_list *nv;
    if (ipset_finalize(l->set) < 0 || !(nv = realloc(ls->v, (ls->n + 1) * sizeof *nv))) {
        snprintf(err, errlen, "out of memory loading list %s", l->name);
        return -1;
    }
    ls->v = nv;
    ls->v[ls->n++] = *l;
    return 0;
}

static void drop_list(kg_list *l)
{
    ipset_free(l->set);
    free(l->name);
    free(l->path);
}

int lists_add_entries(kg_lists *ls, kg_list_kind kind, const char *name,
                      char *const *entries, size_t n, kg_ipset_warn_fn warn,
                      void *ud, char *err, size_t errlen)
{
    kg_list l = {ipset_new(name), kind, strdup(name), strdup("(config)")};
    char msg[256];
    if (!l.set || !l.name || !l.path) {
        snprintf(err, errlen, "out of memory");
        drop_list(&l);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (ipset_add(l.set, entries[i], msg, sizeof msg) < 0 && warn)
            warn(ud, name, (long)i + 1, msg);
    if (push_list(ls, &l, err, errlen) < 0) {
        drop_list(&l);
        return -1;
    }
    return 0;
}

int lists_add(kg_lists *ls, kg_list_kind kind, const char *name,
              const char *path, kg_ipset_warn_fn warn, void *ud, char *err,
              size_t errlen)
{
    kg_list l = {0};

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
    if (ipset_load_file(l.set, path, warn, ud, err, errlen) < 0 ||
        push_list(ls, &l, err, errlen) < 0)
        goto fail;
    return 0;
oom:
    snprintf(err, errlen, "out of memory loading %s", path);
fail:
    drop_list(&l);
    return -1;
}

void lists_free(kg_lists *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        drop_list(&ls->v[i]);
    free(ls->v);
    ls->v = NULL;
    ls->n = 0;
}
