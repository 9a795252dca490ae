/*
 * lists: the IP lists an engine loads (Tor exits, known-malicious IPs, the
 * user's own threat lists), each with its kind and the name findings carry.
 *
 * Threat lists (every kind but trusted) leave the special-purpose ranges of
 * ipspecial.h out of matching unless loaded literally: entries inside them
 * are dropped, entries covering them are clipped, and the list records how
 * many of each.
 */
#ifndef KGUARD_LISTS_H
#define KGUARD_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
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
    size_t entries;        /* entries read, before any was left out */
    kg_ipset_cut special;  /* what leaving out special-purpose ranges did */
    bool literal;          /* loaded without leaving them out */
    const char *cache;     /* "hit", "built", "unwritten"; NULL: no cache */
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

/* One list to load.  literal: keep special-purpose ranges in a threat list
 * (trusted lists always keep them). */
typedef struct kg_list_spec {
    kg_list_kind kind;
    const char *name, *path;
    bool literal;
} kg_list_spec;

/* The binary cache of finalized lists (listcache.h): dir NULL, no cache;
 * diag gets a line for a cache file ignored and for the first one that
 * could not be written. */
typedef struct kg_list_cache {
    const char *dir;
    FILE *diag;
} kg_list_cache;

/* Load several list files, up to `threads` at a time (each file is parsed
 * and sorted on its own, or taken from its cache file when cache is not
 * NULL and the cache matches), then add them in the order given.  Bad
 * lines go to warn, in file order, from the calling thread (also when the
 * list came from its cache).  Returns 0, or -1 with a message in err and
 * the index of the failing spec in *failed. */
int lists_load_all(kg_lists *ls, const kg_list_spec *specs, size_t n, int threads,
                   const kg_list_cache *cache, kg_ipset_warn_fn warn, void *ud,
                   size_t *failed, char *err, size_t errlen);

/* One line on diag for each threat list that lost or clipped entries to
 * the special-purpose ranges. */
void lists_report_special(const kg_lists *ls, FILE *diag);

/*
 * On reload: a list of `fresh` that shrank sharply against the list of the
 * same name in `old` (to fewer than half its entries, or to none; usually a
 * truncated download) is refused unless `accept`: it gets a copy of the old
 * version instead, and a line on diag says so.  Returns the number of lists
 * refused, or -1 when out of memory (fresh is then partly replaced).
 */
int lists_keep_shrunk(kg_lists *fresh, const kg_lists *old, bool accept, FILE *diag);

/* Per list: entries, dropped and clipped (the --stats lines). */
void lists_stats(const kg_lists *ls, FILE *diag);

/* Is ip on a trusted list? */
bool lists_trusted(const kg_lists *ls, const kg_ip *ip);

const kg_list *lists_find(const kg_lists *ls, const char *name);
void lists_free(kg_lists *ls);

#endif
