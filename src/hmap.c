/*
 * hmap: open addressing with linear probing and backward-shift deletion
 * (see hmap.h).  Keys are hashed with XXH3.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "hmap.h"

static size_t home(const hmap *m, uint64_t h)
{
    return (size_t)h & (m->cap - 1);
}

static hmap_entry *probe(hmap *m, const char *key, size_t klen, uint64_t h)
{
    size_t i = home(m, h);
    while (m->slots[i].key) {
        hmap_entry *e = &m->slots[i];
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
        i = (i + 1) & (m->cap - 1);
    }
    return &m->slots[i];
}

hmap_entry *hmap_find(hmap *m, const char *key, size_t klen)
{
    hmap_entry *e;
    if (!m->cap)
        return NULL;
    e = probe(m, key, klen, XXH3_64bits(key, klen));
    return e->key ? e : NULL;
}

static int grow(hmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    hmap_entry *old = m->slots, *ns = calloc(ncap, sizeof *ns);
    size_t ocap = m->cap;
    if (!ns)
        return -1;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].key) {
            size_t j = home(m, old[i].hash);
            while (ns[j].key)
                j = (j + 1) & (ncap - 1);
            ns[j] = old[i];
        }
    }
    free(old);
    return 0;
}

hmap_entry *hmap_insert(hmap *m, const char *key, size_t klen, bool *created)
{
    uint64_t h = XXH3_64bits(key, klen);
    hmap_entry *e;
    *created = false;
    if ((m->n + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return NULL;
    e = probe(m, key, klen, h);
    if (e->key)
        return e;
    if (!(e->key = malloc(klen + 1)))
        return NULL;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    e->klen = klen;
    e->hash = h;
    e->stamp = 0;
    e->num = 0;
    e->ptr = NULL;
    m->n++;
    *created = true;
    return e;
}

void hmap_remove(hmap *m, hmap_entry *e)
{
    size_t i = (size_t)(e - m->slots), j = i;
    free(e->key);
    m->slots[i].key = NULL;
    m->n--;
    /* shift back the entries of the run that follows, where allowed */
    for (;;) {
        size_t k;
        j = (j + 1) & (m->cap - 1);
        if (!m->slots[j].key)
            break;
        k = home(m, m->slots[j].hash);
        /* can slot j move to i?  yes unless k lies cyclically in (i, j] */
        if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
            m->slots[i] = m->slots[j];
            m->slots[j].key = NULL;
            i = j;
        }
    }
}

hmap_entry *hmap_oldest_sample(hmap *m, int samples)
{
    hmap_entry *best = NULL;
    size_t i;
    if (!m->n)
        return NULL;
    m->rng = m->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    i = (size_t)(m->rng >> 17) & (m->cap - 1);
    for (size_t seen = 0; samples > 0 && seen < m->cap; seen++, i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i].key)
            continue;
        if (!best || m->slots[i].stamp < best->stamp)
            best = &m->slots[i];
        samples--;
    }
    return best;
}

void hmap_free(hmap *m, void (*free_ptr)(void *))
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key) {
            free(m->slots[i].key);
            if (free_ptr)
                free_ptr(m->slots[i].ptr);
        }
    }
    free(m->slots);
    memset(m, 0, sizeof *m);
}
