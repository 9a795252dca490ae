/*
 * lists: the IP lists an engine loads (Tor exits, known-malicious IPs, the
 * user's own threat lists), each with its kind and the name findings carry.
 */
#ifndef KGUARD_LISTS_H
#define KGUARD_LISTS_H

#include <stddef.h>
#include "kguard/ipset.h"

typedef enum kg_list_kind {
    KG_LIST_TOR,
    KG_LIST_MALICIOUS,
    KG_LIST_CUSTOM,
    KG_LIST_KINDS,         /* the kinds a rule can match on */
    KG_LIST_TRUSTED = KG_LIST_KINDS  /* addresses never judged against the others */
} kg_list_kind;

typedef struct kg_list {
    kg_ipset *set;
    kg_list_kind kind;
    char *name;
    char *path;
} kg_list;

typedef struct kg_lists {
    kg_list *v;
    size_t n;
} kg_lists;

/* "tor", "malicious" or "custom" -> kind; -1 for anything else. */
int lists_kind_from_name(const char *s);

/* Add a list of that kind and name built from entries (addresses and
 * CIDRs, e.g. written in the config); bad entries go to warn with line =
 * their index from 1.  Returns 0, or -1 with a message in err. */
int lists_add_entries(kg_lists *ls, kg_list_kind kind, const char *name,
                      char *const *entries, size_t n, kg_ipset_warn_fn warn,
                      void *ud, char *err, size_t errlen);

/* One list to load. */
typedef struct kg_list_spec {
    kg_list_kind kind;
    const char *name, *path;
} kg_list_spec;

/* Load several list files, up to `threads` at a time (each file is parsed
 * and sorted on its own), then add them in the order given.  Bad lines go
 * to warn, in file order, from the calling thread.  Returns 0, or -1 with a
 * message in err and the index of the failing spec in *failed. */
int lists_load_all(kg_lists *ls, const kg_list_spec *specs, size_t n, int threads,
                   kg_ipset_warn_fn warn, void *ud, size_t *failed, char *err,
                   size_t errlen);

/* Is ip on a trusted list? */
bool lists_trusted(const kg_lists *ls, const kg_ip *ip);

const kg_list *lists_find(const kg_lists *ls, const char *name);
void lists_free(kg_lists *ls);

#endif
