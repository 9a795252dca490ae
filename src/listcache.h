/*
 * listcache: the binary cache of finalized IP lists (private to the lists
 * module).  One cache file per list file and recipe (special-purpose ranges
 * left out or not), keyed by the list file's size, mtime and content hash;
 * a cache that does not match its list, or fails any check, is ignored.
 */
#ifndef KGUARD_LISTCACHE_H
#define KGUARD_LISTCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kguard/ipset.h"

/* A bad line of the list file, as reported when it was read. */
typedef struct listcache_note {
    long line;
    char *msg;
} listcache_note;

/* What a list file is and how it is finalized: the cache key. */
typedef struct listcache_key {
    uint64_t size;
    int64_t mtime_s, mtime_ns;
    uint64_t content;   /* XXH3 of the file's bytes */
    uint64_t recipe;    /* what else shapes the result (see listcache_recipe) */
} listcache_key;

/* Everything of a finalized list besides its tables. */
typedef struct listcache_meta {
    size_t entries;
    kg_ipset_cut cut;
    listcache_note *notes;
    size_t n_notes;
} listcache_meta;

/* The recipe of a list: with `special` (a finalized set) left out of it,
 * or literal (special NULL). */
uint64_t listcache_recipe(const kg_ipset *special);

/* Stat and hash the list file at path.  Returns 0, or -1 (errno set) when
 * it cannot be read (loading it will then say why). */
int listcache_key_of(const char *path, uint64_t recipe, listcache_key *out);

/* The cache file of a list file under dir, in buf; false when too long. */
bool listcache_path(const char *dir, const char *list_path, uint64_t recipe, char *buf,
                    size_t buflen);

/*
 * The finalized set named `name` from the cache file at cpath when it
 * matches key, with its entries, cut and notes in *meta (notes: the
 * caller frees them).  NULL when it does not: why is then empty when
 * there is no cache file or it is merely out of date, else says what was
 * wrong with it (truncated, checksum, bounds ...).
 */
kg_ipset *listcache_load(const char *cpath, const char *name, const listcache_key *key,
                         listcache_meta *meta, char *why, size_t whylen);

/* Write set (finalized) and meta as the cache file cpath, atomically
 * (a temporary file renamed over it), creating its directory when
 * missing.  Returns 0, or -1 with the reason in why. */
int listcache_save(const char *cpath, const listcache_key *key, const kg_ipset *set,
                   const listcache_meta *meta, char *why, size_t whylen);

#endif
