/*
 * fuzz_listcache: list cache files (listcache.c).  The bytes are a cache
 * file; before loading, the target takes the file's own key as the list's
 * and writes the checksum the bytes should have, so the fuzzer gets past
 * the checksum to the size, notes and range checks behind it (offsets as
 * the layout in listcache.c: key fields at 16..55, checksum at 112, header
 * 120 bytes).  A loaded set must then answer lookups, copy and take more
 * entries without a sanitizer report.
 */
#include <xxhash.h>
#include "listcache.h"
#include "fuzz_util.h"

#define HDR 120
#define CHECKSUM_AT 112

static uint64_t u64_at(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void use(kg_ipset *set)
{
    static const char *const ips[] = {"45.95.147.236", "0.0.0.0", "255.255.255.255", "::", "::1",
                                      "2a03:b0c0:3:d0::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
    char err[128];
    kg_ip ip;
    kg_ipset *copy = ipset_copy(set);
    for (size_t i = 0; copy && i < sizeof ips / sizeof ips[0]; i++)
        if (ipset_parse_ip(ips[i], &ip) && ipset_contains(set, &ip) != ipset_contains(copy, &ip))
            abort();   /* a copy must hold what the original holds */
    ipset_free(copy);
    if (ipset_add(set, "10.0.0.0/8", err, sizeof err) == 0)
        ipset_finalize(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], why[256];
    listcache_key key = {0};
    listcache_meta meta;
    uint8_t *buf;
    kg_ipset *set;
    uint64_t sum;
    int fd;

    if (size < HDR || !(buf = malloc(size)))
        return 0;
    memcpy(buf, data, size);
    key.size = u64_at(buf + 16);
    key.mtime_s = (int64_t)u64_at(buf + 24);
    key.mtime_ns = (int64_t)u64_at(buf + 32);
    key.content = u64_at(buf + 40);
    key.recipe = u64_at(buf + 48);
    sum = XXH3_64bits_withSeed(buf + HDR, size - HDR, XXH3_64bits(buf, CHECKSUM_AT));
    memcpy(buf + CHECKSUM_AT, &sum, 8);
    fd = fuzz_memfile(buf, size, path, sizeof path);
    if (fd >= 0 && (set = listcache_load(path, "fuzz", &key, &meta, why, sizeof why)) != NULL) {
        use(set);
        for (size_t i = 0; i < meta.n_notes; i++)
            if (!meta.notes[i].msg || meta.notes[i].line < 1)
                abort();
            else
                free(meta.notes[i].msg);
        free(meta.notes);
        ipset_free(set);
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return 0;
}
