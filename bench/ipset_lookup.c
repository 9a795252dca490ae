/*
 * ipset_lookup: IP-set load and lookup speed of libkguard (kguard/ipset.h).
 *
 *   ipset_lookup --seed S --dir DIR [--ips N] [--passes P]
 *
 * Loads the benchmark lists that `gen lists` wrote to DIR (threat-1..6.txt,
 * 250,000 entries each, and tor-exits.txt) with ipset_load_file +
 * ipset_finalize, timing each list, then looks up a mix of N addresses
 * (default 1,000,000) in every list, as the engine does for every sourceIP:
 *
 *   40% cluster-internal IPv4 (10.0/16)      8% cluster-internal IPv6
 *   10% people / CI public blocks            2% loopback
 *   35% random public addresses (80% v4)     5% addresses on one of the lists
 *
 * One "lookup" is one ipset_contains(set, ip) call.  Lookups run in batches
 * of 256 addresses x 7 lists; each batch is timed with CLOCK_MONOTONIC and
 * the per-lookup time of the batch recorded; the median, p90 and p99 are
 * over all batches of all passes.  Also: parse (ipset_parse_ip) + all seven
 * lookups per address, and random public addresses only (the lookups that
 * land in populated parts of the tables).  Every address taken from a list
 * must be found in it (checked).
 *
 * Output: a readable report, then "result: key=value" lines for bench/run.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "kguard/ipset.h"
#include "benchdata.h"

#define N_SETS (BD_THREAT_LISTS + 1)
#define BATCH 256

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long vm_kb(const char *key)
{
    char line[256];
    long kb = -1;
    size_t n = strlen(key);
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0) {
            kb = strtol(line + n, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void warn_count(void *ud, const char *path, long line, const char *msg)
{
    long *bad = ud;
    if ((*bad)++ < 5)
        fprintf(stderr, "ipset_lookup: %s:%ld: %s\n", path, line, msg);
}

typedef struct stats {
    double median, p90, p99, per_s;
} stats;

static stats summarize(double *ns, size_t n, double total_lookups, double total_s)
{
    stats s;
    qsort(ns, n, sizeof *ns, cmp_double);
    s.median = ns[n / 2];
    s.p90 = ns[(size_t)((double)n * 0.90)];
    s.p99 = ns[(size_t)((double)n * 0.99)];
    s.per_s = total_lookups / total_s;
    return s;
}

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    const char *dir = NULL;
    size_t n_ips = 1000000;
    int passes = 3;
    kg_ipset *sets[N_SETS];
    double load_s[N_SETS];
    size_t entries_total = 0;
    long rss0, rss1;
    bd_rng r;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seed") == 0)
            seed = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--ips") == 0)
            n_ips = strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--passes") == 0)
            passes = atoi(argv[i + 1]);
    }
    if (!dir || n_ips < BATCH || passes < 1) {
        fputs("usage: ipset_lookup --seed S --dir DIR [--ips N] [--passes P]\n", stderr);
        return 2;
    }

    /* ---- load ---- */
    rss0 = vm_kb("VmRSS:");
    for (int l = 0; l < N_SETS; l++) {
        char path[4096], name[32], err[512];
        long bad = 0, n;
        double t0;
        if (l == BD_TOR_LIST) {
            snprintf(path, sizeof path, "%s/tor-exits.txt", dir);
            snprintf(name, sizeof name, "tor-exits");
        } else {
            snprintf(path, sizeof path, "%s/threat-%d.txt", dir, l + 1);
            snprintf(name, sizeof name, "threat-%d", l + 1);
        }
        t0 = now();
        sets[l] = ipset_new(name);
        n = sets[l] ? ipset_load_file(sets[l], path, warn_count, &bad, err, sizeof err) : -1;
        if (n < 0 || ipset_finalize(sets[l]) < 0) {
            fprintf(stderr, "ipset_lookup: %s: %s\n", path, n < 0 ? err : "finalize failed");
            return 1;
        }
        load_s[l] = now() - t0;
        entries_total += (size_t)n;
        printf("load %-10s %7ld entries %6.3f s%s\n", name, n, load_s[l], bad ? " (bad lines!)" : "");
        if (bad)
            return 1;
    }
    rss1 = vm_kb("VmRSS:");

    /* ---- the address mix ---- */
    kg_ip *ips = malloc(n_ips * sizeof *ips);
    char (*txt)[48] = malloc(n_ips * sizeof *txt);
    signed char *origin = malloc(n_ips);
    unsigned char *public_only = malloc(n_ips);
    size_t n_public = 0, n_listed = 0;
    if (!ips || !txt || !origin || !public_only) {
        perror("malloc");
        return 1;
    }
    bd_rng_init(&r, seed, 7);
    for (size_t i = 0; i < n_ips; i++) {
        unsigned c = bd_below(&r, 100);
        bd_entry e;
        memset(&e, 0, sizeof e);
        origin[i] = -1;
        public_only[i] = 0;
        if (c < 40) {
            snprintf(txt[i], 48, "10.0.%u.%u", bd_below(&r, 256), 1 + bd_below(&r, 254));
        } else if (c < 48) {
            snprintf(txt[i], 48, "2a05:d018:9f1:4b%02x:%x:%x:%x:%x", 10 + bd_below(&r, 3),
                     bd_below(&r, 0xFFFF), bd_below(&r, 0xFFFF), bd_below(&r, 0xFFFF), bd_below(&r, 0xFFFF));
        } else if (c < 58) {
            switch (bd_below(&r, 4)) {
            case 0: snprintf(txt[i], 48, "81.2.69.%u", 2 + bd_below(&r, 250)); break;
            case 1: snprintf(txt[i], 48, "213.86.35.%u", 2 + bd_below(&r, 250)); break;
            case 2: snprintf(txt[i], 48, "52.%u.%u.%u", 208 + bd_below(&r, 8), bd_below(&r, 256), 1 + bd_below(&r, 254)); break;
            default: snprintf(txt[i], 48, "2a02:c7c:5b4e:%x::%x", 1 + bd_below(&r, 40), bd_below(&r, 0xFFFF));
            }
        } else if (c < 60) {
            snprintf(txt[i], 48, "%s", c & 1 ? "::1" : "127.0.0.1");
        } else if (c < 95) {
            for (;;) {
                memset(&e, 0, sizeof e);
                if (bd_pct(&r, 80)) {
                    e.plen = 32;
                    e.v4 = bd_random4(bd_next(&r));
                    if (!bd_overlaps4(e.v4, 32))
                        break;
                } else {
                    e.v6 = 1;
                    e.plen = 128;
                    bd_random6(bd_next(&r), bd_next(&r), e.b);
                    if (!bd_overlaps6(e.b, 128))
                        break;
                }
            }
            bd_format(&e, 0, txt[i], 48);
            public_only[i] = 1;
            n_public++;
        } else {
            int l = (int)bd_below(&r, N_SETS);
            e = bd_listed_address(seed, l, bd_next(&r));
            bd_format(&e, bd_pct(&r, 10), txt[i], 48); /* some written expanded */
            origin[i] = (signed char)l;
            n_listed++;
        }
        if (!ipset_parse_ip(txt[i], &ips[i])) {
            fprintf(stderr, "ipset_lookup: cannot parse %s\n", txt[i]);
            return 1;
        }
    }

    /* ---- correctness: every listed address is found ---- */
    size_t missed = 0, on_any = 0;
    for (size_t i = 0; i < n_ips; i++) {
        int any = 0;
        for (int l = 0; l < N_SETS; l++)
            any |= ipset_contains(sets[l], &ips[i]);
        on_any += (size_t)any;
        if (origin[i] >= 0 && !ipset_contains(sets[origin[i]], &ips[i])) {
            if (missed++ < 5)
                fprintf(stderr, "ipset_lookup: %s not found in list %d\n", txt[i], origin[i]);
        }
    }

    /* ---- lookups: the mix ---- */
    size_t nb = n_ips / BATCH;
    double *ns = malloc((size_t)passes * nb * sizeof *ns);
    volatile unsigned long sink = 0;
    double total_s = 0;
    size_t k = 0;
    for (int p = 0; p < passes; p++) {
        for (size_t b = 0; b < nb; b++) {
            const kg_ip *batch = ips + b * BATCH;
            unsigned long hits = 0;
            double t0 = now(), dt;
            for (int i = 0; i < BATCH; i++)
                for (int l = 0; l < N_SETS; l++)
                    hits += ipset_contains(sets[l], &batch[i]);
            dt = now() - t0;
            sink += hits;
            total_s += dt;
            ns[k++] = dt * 1e9 / (BATCH * N_SETS);
        }
    }
    stats mix = summarize(ns, k, (double)k * BATCH * N_SETS, total_s);

    /* ---- lookups: random public addresses only ---- */
    kg_ip *pub = malloc(n_public * sizeof *pub);
    size_t np = 0;
    for (size_t i = 0; i < n_ips; i++)
        if (public_only[i])
            pub[np++] = ips[i];
    nb = np / BATCH;
    k = 0;
    total_s = 0;
    for (int p = 0; p < passes; p++) {
        for (size_t b = 0; b < nb; b++) {
            unsigned long hits = 0;
            double t0 = now(), dt;
            for (int i = 0; i < BATCH; i++)
                for (int l = 0; l < N_SETS; l++)
                    hits += ipset_contains(sets[l], &pub[b * BATCH + i]);
            dt = now() - t0;
            sink += hits;
            total_s += dt;
            ns[k++] = dt * 1e9 / (BATCH * N_SETS);
        }
    }
    stats pubs = summarize(ns, k, (double)k * BATCH * N_SETS, total_s);

    /* ---- parse + 7 lookups per address (what the engine does per sourceIP) ---- */
    nb = n_ips / BATCH;
    k = 0;
    total_s = 0;
    for (int p = 0; p < passes; p++) {
        for (size_t b = 0; b < nb; b++) {
            unsigned long hits = 0;
            double t0 = now(), dt;
            for (int i = 0; i < BATCH; i++) {
                kg_ip ip;
                if (ipset_parse_ip(txt[b * BATCH + i], &ip))
                    for (int l = 0; l < N_SETS; l++)
                        hits += ipset_contains(sets[l], &ip);
            }
            dt = now() - t0;
            sink += hits;
            total_s += dt;
            ns[k++] = dt * 1e9 / BATCH;
        }
    }
    stats per_ip = summarize(ns, k, (double)k * BATCH, total_s);

    double load_max = 0, load_sum = 0;
    for (int l = 0; l < BD_THREAT_LISTS; l++) {
        load_max = load_s[l] > load_max ? load_s[l] : load_max;
        load_sum += load_s[l];
    }
    printf("entries loaded: %zu in %d lists (+ %d Tor exits); RSS %.1f MB -> %.1f MB (+%.1f MB)\n",
           entries_total - BD_TOR_ENTRIES, BD_THREAT_LISTS, BD_TOR_ENTRIES, rss0 / 1024.0, rss1 / 1024.0,
           (rss1 - rss0) / 1024.0);
    printf("address mix: %zu addresses (%zu taken from the lists, %zu random public); on some list: %.2f%%; "
           "listed addresses not found: %zu\n",
           n_ips, n_listed, n_public, 100.0 * (double)on_any / (double)n_ips, missed);
    printf("lookup (mix):           median %.1f ns  p90 %.1f ns  p99 %.1f ns  %.1f M lookups/s\n", mix.median,
           mix.p90, mix.p99, mix.per_s / 1e6);
    printf("lookup (public only):   median %.1f ns  p90 %.1f ns  p99 %.1f ns  %.1f M lookups/s\n", pubs.median,
           pubs.p90, pubs.p99, pubs.per_s / 1e6);
    printf("parse + 7 lookups / IP: median %.1f ns  p90 %.1f ns  p99 %.1f ns  %.1f M IPs/s\n", per_ip.median,
           per_ip.p90, per_ip.p99, per_ip.per_s / 1e6);
    printf("result: entries=%zu load_max_s=%.4f load_mean_s=%.4f rss_lists_mb=%.1f "
           "lookup_median_ns=%.1f lookup_p99_ns=%.1f lookups_per_s=%.0f "
           "public_median_ns=%.1f public_lookups_per_s=%.0f ip_all_lists_median_ns=%.1f missed=%zu peak_kb=%ld\n",
           entries_total, load_max, load_sum / BD_THREAT_LISTS, (rss1 - rss0) / 1024.0, mix.median, mix.p99,
           mix.per_s, pubs.median, pubs.per_s, per_ip.median, missed, vm_kb("VmHWM:"));
    (void)sink;
    for (int l = 0; l < N_SETS; l++)
        ipset_free(sets[l]);
    free(ips);
    free(txt);
    free(origin);
    free(public_only);
    free(pub);
    free(ns);
    return missed ? 1 : 0;
}
