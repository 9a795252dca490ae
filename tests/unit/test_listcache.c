/*
 * test_listcache.c: unit tests for the list cache (listcache.c) and the
 * ipset images it is built on: a saved set loads back with the same
 * members, counts and notes; a cache of another list version is stale; a
 * cache truncated at any length or with any byte flipped is refused; an
 * image with unsorted, overlapping or misplaced ranges is refused.
 */
#include "listcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

static const char *const ENTRIES[] = {"45.95.147.236", "141.98.10.0/24", "8.0.0.0/6",
                                      "2a03:b0c0:3:d0::/64", "2001:db8::1", "::/127", NULL};
static const char *const IN[] = {"45.95.147.236", "141.98.10.200", "9.1.2.3", "2a03:b0c0:3:d0::1",
                                 "2001:db8::1", "::1", NULL};
static const char *const OUT[] = {"45.95.147.237", "141.98.11.0", "12.0.0.1", "2a03:b0c0:3:d1::1",
                                  "2001:db8::2", "8000::1", NULL};

static bool has(const kg_ipset *set, const char *text)
{
    kg_ip ip;
    return ipset_parse_ip(text, &ip) && ipset_contains(set, &ip);
}

static kg_ipset *make_set(void)
{
    char err[128];
    kg_ipset *set = ipset_new("t");
    for (size_t i = 0; set && ENTRIES[i]; i++)
        ipset_add(set, ENTRIES[i], err, sizeof err);
    if (set)
        ipset_finalize(set);
    return set;
}

static bool same_members(const kg_ipset *set)
{
    for (size_t i = 0; IN[i]; i++)
        if (!has(set, IN[i]))
            return false;
    for (size_t i = 0; OUT[i]; i++)
        if (has(set, OUT[i]))
            return false;
    return true;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)n + 1)) && fread(b, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    fclose(f);
    return b;
}

static void spill(const char *path, const unsigned char *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(b, 1, len, f);
        fclose(f);
    }
}

static void free_meta(listcache_meta *m)
{
    for (size_t i = 0; i < m->n_notes; i++)
        free(m->notes[i].msg);
    free(m->notes);
}

/* Load cpath with key: 1 loaded, 0 refused silently (stale), -1 refused with a reason. */
static int try_load(const char *cpath, const listcache_key *key)
{
    listcache_meta meta;
    char why[256];
    kg_ipset *set = listcache_load(cpath, "t", key, &meta, why, sizeof why);
    if (set) {
        ipset_free(set);
        free_meta(&meta);
        return 1;
    }
    return why[0] ? -1 : 0;
}

static void test_round_trip(const char *cpath, const listcache_key *key)
{
    listcache_note notes[] = {{3, "bad address \"1.2.3\": partial IPv4 address"}, {17, "x"}};
    listcache_meta meta = {9, {1, 2}, notes, 2}, got;
    kg_ipset *set = make_set(), *back;
    char why[256];

    ok(listcache_save(cpath, key, set, &meta, why, sizeof why) == 0, "save (the directory is made)");
    back = listcache_load(cpath, "back", key, &got, why, sizeof why);
    ok(back != NULL, "load the saved cache");
    if (back) {
        ok(same_members(back), "same members as the set saved");
        is_int((long)ipset_count(back), 9, "the entry count comes from the cache");
        is_str(ipset_name(back), "back", "named by the caller");
        is_int((long)got.entries, 9, "entries");
        ok(got.cut.dropped == 1 && got.cut.clipped == 2, "dropped and clipped");
        ok(got.n_notes == 2 && got.notes[0].line == 3 && got.notes[1].line == 17 &&
           strcmp(got.notes[0].msg, notes[0].msg) == 0 && strcmp(got.notes[1].msg, "x") == 0,
           "the notes, lines and texts");
        /* adding to a set read from a cache and finalizing again */
        ok(ipset_add(back, "1.1.1.1", why, sizeof why) == 0 && ipset_finalize(back) == 0 &&
           has(back, "1.1.1.1") && same_members(back), "a cached set takes more entries");
        free_meta(&got);
        ipset_free(back);
    }
    ipset_free(set);
}

static void test_stale(const char *cpath, const listcache_key *key)
{
    listcache_key k = *key;
    k.content ^= 1;
    is_int(try_load(cpath, &k), 0, "another content hash: stale, without a reason");
    k = *key;
    k.mtime_ns++;
    is_int(try_load(cpath, &k), 0, "another mtime: stale");
    k = *key;
    k.recipe ^= 2;
    is_int(try_load(cpath, &k), 0, "another recipe (literal or not): stale");
    is_int(try_load("/nonexistent/list-0.kgc", key), 0, "no cache file: nothing to say");
}

static void test_damage(const char *cpath, const listcache_key *key)
{
    size_t len = 0, refused = 0, silent = 0, loaded = 0;
    unsigned char *good = slurp(cpath, &len);
    ok(good && len > 120, "the cache file is read back");
    for (size_t n = 0; good && n < len; n++) {
        spill(cpath, good, n);
        refused += try_load(cpath, key) == -1;
    }
    is_int((long)refused, (long)len, "truncated at every length: refused with a reason");
    for (size_t i = 0; good && i < len; i++) {
        int r;
        good[i] ^= 0x20;
        spill(cpath, good, len);
        r = try_load(cpath, key);
        good[i] ^= 0x20;
        loaded += r == 1;
        silent += r == 0;
    }
    is_int((long)loaded, 0, "a byte flipped anywhere: never loaded");
    /* only the version and the key fields (4 + 5 x 8 bytes) read as another version */
    is_int((long)silent, 44, "refused with a reason unless the flip hits the version or the key");
    spill(cpath, good, len);
    is_int(try_load(cpath, key), 1, "restored: loads again");
    free(good);
}

static int released;
static void on_release(void *ud)
{
    (void)ud;
    released++;
}

static void test_images(void)
{
    uint32_t v4[] = {10, 20, 30, 40, 50, 60};
    uint64_t v6[] = {0, 1, 0, 5, UINT64_C(0x2000000000000000), 0, UINT64_C(0x2000000000000000), 99};
    kg_ipset_image img = {v4, 3, v6, 2};
    char err[128];
    kg_ipset *set = ipset_from_image("img", 7, &img, on_release, NULL, err, sizeof err);
    kg_ip ip;
    ok(set != NULL, "a good image is taken");
    if (set) {
        ok(ipset_parse_ip("::ffff:0.0.0.35", &ip) && ipset_contains(set, &ip), "IPv4 lookup in place");
        ok(ipset_parse_ip("::ffff:0.0.0.45", &ip) && !ipset_contains(set, &ip), "a gap");
        ok(ipset_parse_ip("::3", &ip) && ipset_contains(set, &ip), "IPv6 lookup in place");
        ipset_free(set);
    }
    is_int(released, 1, "freeing the set releases the image");

    v4[2] = 15;   /* overlaps the first */
    ok(!ipset_from_image("img", 7, &img, on_release, NULL, err, sizeof err), "overlapping IPv4 ranges refused");
    v4[2] = 30;
    v4[4] = 70;   /* start after end */
    ok(!ipset_from_image("img", 7, &img, on_release, NULL, err, sizeof err), "a range ending before it starts refused");
    v4[4] = 50;
    v6[4] = 0;
    v6[5] = UINT64_C(0x0000ffff00000001);   /* inside the IPv4 area */
    v6[6] = 0;
    v6[7] = UINT64_C(0x0000ffff00000002);
    ok(!ipset_from_image("img", 7, &img, on_release, NULL, err, sizeof err), "IPv6 ranges inside ::ffff:0:0/96 refused");
    img.n6 = 1;
    img.v4 = (const char *)v4 + 4;
    ok(!ipset_from_image("img", 7, &img, on_release, NULL, err, sizeof err), "a misaligned image refused");
    is_int(released, 1, "a refused image is not released");
}

int main(void)
{
    char dir[] = "/tmp/kguard-listcache-XXXXXX", cpath[256];
    listcache_key key = {1234, 1700000000, 5, 0xfeedULL, 0};
    if (!mkdtemp(dir))
        return 1;
    snprintf(cpath, sizeof cpath, "%s/cache/list-0.kgc", dir);
    kg_ipset *set = make_set();
    key.recipe = listcache_recipe(NULL);
    ok(key.recipe != listcache_recipe(set), "literal and special-purpose recipes differ");
    ok(listcache_recipe(set) == listcache_recipe(set), "a recipe is stable");
    ipset_free(set);
    test_round_trip(cpath, &key);
    test_stale(cpath, &key);
    test_damage(cpath, &key);
    test_images();
    unlink(cpath);
    snprintf(cpath, sizeof cpath, "%s/cache", dir);
    rmdir(cpath);
    rmdir(dir);
    return done_testing();
}
