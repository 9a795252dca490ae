/*
 * hmap: a string-keyed open-addressing hash map (linear probing,
 * backward-shift deletion) shared by the state tables and the finding
 * aggregation.  Each entry carries a number, a time stamp and a pointer for
 * its owner's use.  Entry pointers are valid until the next insert or
 * remove.
 */
#ifndef KGUARD_HMAP_H
#define KGUARD_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hmap_entry {
    char *key;          /* NULL: empty slot */
    size_t klen;
    uint64_t hash;
    long long stamp;    /* last write, epoch ms */
    double num;
    void *ptr;
} hmap_entry;

typedef struct hmap {
    hmap_entry *slots;
    size_t cap;         /* power of two, or 0 */
    size_t n;
    uint64_t rng;
} hmap;

hmap_entry *hmap_find(hmap *m, const char *key, size_t klen);
/* Find or insert; *created tells which.  NULL when out of memory. */
hmap_entry *hmap_insert(hmap *m, const char *key, size_t klen, bool *created);
/* Remove an entry found in m (its ptr must already be released). */
void hmap_remove(hmap *m, hmap_entry *e);
/* The oldest (smallest stamp) of a few occupied slots picked at random;
 * NULL when empty.  Approximates least-recently-written. */
hmap_entry *hmap_oldest_sample(hmap *m, int samples);
/* Free every key (and every ptr with free_ptr when given). */
void hmap_free(hmap *m, void (*free_ptr)(void *));

#endif
