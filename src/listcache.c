/*
 * listcache.c: owns the list cache files (see listcache.h): their layout,
 * the key of a list file, checking a cache file before trusting it, and
 * writing one atomically.
 *
 * Layout, host byte order, every part 8-byte aligned:
 *   lc_header
 *   n4 IPv4 ranges (2 x uint32_t), n6 other ranges (4 x uint64_t): the
 *   set's tables (ipset_image), used in place from the mapping
 *   n_notes notes: uint64_t line, uint64_t length, the text, zero padding
 *   to 8 bytes (notes_bytes in all)
 * The checksum is XXH3 of the payload seeded with XXH3 of the header up to
 * the checksum.  A file is trusted only when its magic, version, byte
 * order, key, sizes, checksum, notes and ranges all check out.
 */
#include "listcache.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include "util.h"

#define LC_MAGIC "KGLISTC\n"
/* Bump when the layout or what finalizing does changes. */
#define LC_VERSION 1u
#define LC_BYTE_ORDER 0x01020304u
#define LC_READ_CHUNK (1u << 20)

typedef struct lc_header {
    char magic[8];
    uint32_t version, byte_order;
    uint64_t size;
    int64_t mtime_s, mtime_ns;
    uint64_t content, recipe;
    uint64_t entries, dropped, clipped;
    uint64_t n4, n6, n_notes, notes_bytes;
    uint64_t checksum;
} lc_header;

typedef struct lc_map {
    void *addr;
    size_t len;
} lc_map;

/* ---- keys ------------------------------------------------------------ */

uint64_t listcache_recipe(const kg_ipset *special)
{
    XXH3_state_t *st = XXH3_createState();
    kg_ipset_image img = {0};
    uint64_t h;
    if (!st)
        return 0;   /* a recipe no cache file has: nothing matches */
    XXH3_64bits_reset(st);
    XXH3_64bits_update(st, special ? "special" : "literal", 7);
    if (special) {
        ipset_image(special, &img);
        if (img.n4)
            XXH3_64bits_update(st, img.v4, img.n4 * 8);
        if (img.n6)
            XXH3_64bits_update(st, img.v6, img.n6 * 32);
    }
    h = XXH3_64bits_digest(st) | 1;
    XXH3_freeState(st);
    return h;
}

int listcache_key_of(const char *path, uint64_t recipe, listcache_key *out)
{
    XXH3_state_t *st = XXH3_createState();
    char *buf = malloc(LC_READ_CHUNK);
    struct stat sb;
    ssize_t got = 0;
    int fd = -1, rc = -1;

    if (!st || !buf || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0 ||
        !S_ISREG(sb.st_mode))
        goto cleanup;
    XXH3_64bits_reset(st);
    while ((got = read(fd, buf, LC_READ_CHUNK)) > 0)
        XXH3_64bits_update(st, buf, (size_t)got);
    if (got < 0)
        goto cleanup;
    out->size = (uint64_t)sb.st_size;
    out->mtime_s = (int64_t)sb.st_mtim.tv_sec;
    out->mtime_ns = (int64_t)sb.st_mtim.tv_nsec;
    out->content = XXH3_64bits_digest(st);
    out->recipe = recipe;
    rc = 0;

cleanup:
    if (fd >= 0)
        close(fd);
    free(buf);
    XXH3_freeState(st);
    return rc;
}

bool listcache_path(const char *dir, const char *list_path, uint64_t recipe, char *buf,
                    size_t buflen)
{
    char *real = realpath(list_path, NULL);
    const char *p = real ? real : list_path;
    uint64_t h = XXH3_64bits_withSeed(p, strlen(p), recipe);
    int n = snprintf(buf, buflen, "%s/list-%016llx.kgc", dir, (unsigned long long)h);
    free(real);
    return n > 0 && (size_t)n < buflen;
}

static bool key_matches(const lc_header *h, const listcache_key *k)
{
    return h->size == k->size && h->mtime_s == k->mtime_s && h->mtime_ns == k->mtime_ns &&
           h->content == k->content && h->recipe == k->recipe;
}

/* ---- loading --------------------------------------------------------- */

static void unmap(void *ud)
{
    lc_map *m = ud;
    munmap(m->addr, m->len);
    free(m);
}

static void free_notes(listcache_note *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].msg);
    free(v);
}

/* The payload's sizes against the file's: exactly header + tables + notes
 * (each term bounded first, so the sum cannot overflow). */
static bool sizes_fit(const lc_header *h, uint64_t fsize)
{
    uint64_t rest = fsize - sizeof *h;
    if (h->n4 > rest / 8 || h->n6 > rest / 32 || h->notes_bytes > rest ||
        h->n_notes > h->notes_bytes / 16)
        return false;
    return h->n4 * 8 + h->n6 * 32 + h->notes_bytes == rest;
}

/* Decode the notes section (p, len bytes) into meta. */
static int read_notes(const unsigned char *p, uint64_t len, uint64_t n, listcache_meta *meta,
                      char *why, size_t whylen)
{
    uint64_t off = 0;
    if (!(meta->notes = calloc(n ? n : 1, sizeof *meta->notes)))
        goto nomem;
    for (meta->n_notes = 0; meta->n_notes < n; meta->n_notes++) {
        uint64_t line, tlen, padded;
        if (len - off < 16)
            goto bad;
        memcpy(&line, p + off, 8);
        memcpy(&tlen, p + off + 8, 8);
        off += 16;
        padded = (tlen + 7) & ~(uint64_t)7;
        if (line < 1 || line > LONG_MAX || tlen > len - off || padded > len - off ||
            memchr(p + off, '\0', tlen))
            goto bad;
        if (!(meta->notes[meta->n_notes].msg = strndup((const char *)p + off, tlen)))
            goto nomem;
        meta->notes[meta->n_notes].line = (long)line;
        off += padded;
    }
    if (off == len)
        return 0;
bad:
    util_set_err(why, whylen, "bad notes section");
    return -1;
nomem:
    util_set_err(why, whylen, "out of memory");
    return -1;
}

/* Map the file, check the checksum and notes, build the set. */
static kg_ipset *adopt(int fd, const lc_header *h, uint64_t fsize, const char *name,
                       listcache_meta *meta, char *why, size_t whylen)
{
    lc_map *m = malloc(sizeof *m);
    const unsigned char *base, *pay;
    kg_ipset_image img;
    kg_ipset *set = NULL;
    char err[128];

    if (!m || fsize > SIZE_MAX) {
        util_set_err(why, whylen, "out of memory");
        free(m);
        return NULL;
    }
    m->len = (size_t)fsize;
    if ((m->addr = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0)) == MAP_FAILED) {
        util_set_err(why, whylen, "mmap: %s", strerror(errno));
        free(m);
        return NULL;
    }
    base = m->addr;
    pay = base + sizeof *h;
    if (XXH3_64bits_withSeed(pay, m->len - sizeof *h,
                             XXH3_64bits(base, offsetof(lc_header, checksum))) != h->checksum ||
        memcmp(base, h, sizeof *h) != 0) {
        util_set_err(why, whylen, "checksum mismatch");
        goto fail;
    }
    if (read_notes(pay + h->n4 * 8 + h->n6 * 32, h->notes_bytes, h->n_notes, meta, why,
                   whylen) < 0)
        goto fail;
    img = (kg_ipset_image){pay, (size_t)h->n4, pay + h->n4 * 8, (size_t)h->n6};
    if (!(set = ipset_from_image(name, (size_t)h->entries, &img, unmap, m, err, sizeof err))) {
        util_set_err(why, whylen, "%s", err);
        goto fail;
    }
    meta->entries = (size_t)h->entries;
    meta->cut.dropped = (size_t)h->dropped;
    meta->cut.clipped = (size_t)h->clipped;
    return set;

fail:
    free_notes(meta->notes, meta->n_notes);
    meta->notes = NULL;
    meta->n_notes = 0;
    unmap(m);
    return NULL;
}

kg_ipset *listcache_load(const char *cpath, const char *name, const listcache_key *key,
                         listcache_meta *meta, char *why, size_t whylen)
{
    lc_header h;
    struct stat sb;
    kg_ipset *set = NULL;
    int fd = open(cpath, O_RDONLY | O_CLOEXEC);

    why[0] = '\0';
    memset(meta, 0, sizeof *meta);
    if (fd < 0) {
        if (errno != ENOENT)
            util_set_err(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < sizeof h ||
        pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        util_set_err(why, whylen, "truncated");
        goto cleanup;
    }
    if (memcmp(h.magic, LC_MAGIC, sizeof h.magic) != 0 || h.byte_order != LC_BYTE_ORDER) {
        util_set_err(why, whylen, "not a kguard list cache");
        goto cleanup;
    }
    if (h.version != LC_VERSION || !key_matches(&h, key))
        goto cleanup;   /* out of date: rebuilt without a word */
    if (!sizes_fit(&h, (uint64_t)sb.st_size) || h.entries > SIZE_MAX ||
        h.dropped > h.entries || h.clipped > h.entries) {
        util_set_err(why, whylen, "sizes do not fit the file (truncated?)");
        goto cleanup;
    }
    set = adopt(fd, &h, (uint64_t)sb.st_size, name, meta, why, whylen);

cleanup:
    close(fd);
    return set;
}

/* ---- saving ---------------------------------------------------------- */

typedef struct writer {
    FILE *f;
    XXH3_state_t *st;
} writer;

static void put(writer *w, const void *p, size_t n)
{
    if (!n)
        return;
    XXH3_64bits_update(w->st, p, n);
    fwrite(p, 1, n, w->f);
}

static uint64_t padded_len(size_t len)
{
    return ((uint64_t)len + 7) & ~(uint64_t)7;
}

static void put_notes(writer *w, const listcache_meta *meta)
{
    static const char zeros[8];
    for (size_t i = 0; i < meta->n_notes; i++) {
        uint64_t line = (uint64_t)meta->notes[i].line, len = strlen(meta->notes[i].msg);
        put(w, &line, 8);
        put(w, &len, 8);
        put(w, meta->notes[i].msg, (size_t)len);
        put(w, zeros, (size_t)(padded_len((size_t)len) - len));
    }
}

static void fill_header(lc_header *h, const listcache_key *key, const kg_ipset_image *img,
                        const listcache_meta *meta)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, LC_MAGIC, sizeof h->magic);
    h->version = LC_VERSION;
    h->byte_order = LC_BYTE_ORDER;
    h->size = key->size;
    h->mtime_s = key->mtime_s;
    h->mtime_ns = key->mtime_ns;
    h->content = key->content;
    h->recipe = key->recipe;
    h->entries = meta->entries;
    h->dropped = meta->cut.dropped;
    h->clipped = meta->cut.clipped;
    h->n4 = img->n4;
    h->n6 = img->n6;
    h->n_notes = meta->n_notes;
    for (size_t i = 0; i < meta->n_notes; i++)
        h->notes_bytes += 16 + padded_len(strlen(meta->notes[i].msg));
}

/* Header (its checksum written last), tables, notes. */
static int write_all(writer *w, const listcache_key *key, const kg_ipset *set,
                     const listcache_meta *meta)
{
    lc_header h;
    kg_ipset_image img;
    ipset_image(set, &img);
    fill_header(&h, key, &img, meta);
    XXH3_64bits_reset_withSeed(w->st, XXH3_64bits(&h, offsetof(lc_header, checksum)));
    fwrite(&h, 1, sizeof h, w->f);
    put(w, img.v4, img.n4 * 8);
    put(w, img.v6, img.n6 * 32);
    put_notes(w, meta);
    h.checksum = XXH3_64bits_digest(w->st);
    if (fflush(w->f) != 0 || ferror(w->f) ||
        pwrite(fileno(w->f), &h, sizeof h, 0) != (ssize_t)sizeof h)
        return -1;
    return 0;
}

/* Create the directory of cpath when it does not exist (one level). */
static void make_dir_of(const char *cpath)
{
    char dir[4096];
    const char *slash = strrchr(cpath, '/');
    if (!slash || slash == cpath || (size_t)(slash - cpath) >= sizeof dir)
        return;
    memcpy(dir, cpath, (size_t)(slash - cpath));
    dir[slash - cpath] = '\0';
    (void)mkdir(dir, 0700);   /* when it fails, creating the file says why */
}

int listcache_save(const char *cpath, const listcache_key *key, const kg_ipset *set,
                   const listcache_meta *meta, char *why, size_t whylen)
{
    char tmp[4200];
    writer w = {NULL, XXH3_createState()};
    bool created = false;
    int fd, rc = -1;

    if (!w.st || snprintf(tmp, sizeof tmp, "%s.XXXXXX", cpath) >= (int)sizeof tmp) {
        util_set_err(why, whylen, "%s", w.st ? "path too long" : "out of memory");
        goto cleanup;
    }
    make_dir_of(cpath);
    if ((fd = mkstemp(tmp)) < 0) {
        util_set_err(why, whylen, "cannot create %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    created = true;
    if (!(w.f = fdopen(fd, "w"))) {
        close(fd);
        goto write_error;
    }
    if (write_all(&w, key, set, meta) != 0)
        goto write_error;
    fd = fclose(w.f);
    w.f = NULL;
    if (fd != 0)
        goto write_error;
    if (rename(tmp, cpath) != 0) {
        util_set_err(why, whylen, "cannot rename %s to %s: %s", tmp, cpath, strerror(errno));
        goto cleanup;
    }
    created = false;
    rc = 0;
    goto cleanup;

write_error:
    util_set_err(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
cleanup:
    if (w.f)
        fclose(w.f);
    if (created)
        unlink(tmp);
    XXH3_freeState(w.st);
    return rc;
}
