/*
 * test_ipset.c: unit tests for the ipset module: entry and address parsing,
 * CIDR boundaries, merging, list files (real lists from ../shared/corpus
 * when present, plus a temporary file with bad lines) and a scale check.
 */
#include "kguard/ipset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

#define CORPUS "../shared/corpus/iplists/"

/* ---- helpers --------------------------------------------------------- */

/* Membership of a textual address; false also when it does not parse. */
static bool has(const kg_ipset *set, const char *text)
{
    kg_ip ip;
    return ipset_parse_ip(text, &ip) && ipset_contains(set, &ip);
}

/* A finalized set made of the given entries (NULL-terminated). */
static kg_ipset *make_set(const char *const *entries)
{
    char err[128];
    kg_ipset *set = ipset_new("t");
    for (size_t i = 0; set && entries[i]; i++)
        if (ipset_add(set, entries[i], err, sizeof err) != 0)
            printf("# unexpected add failure: %s\n", err);
    if (set && ipset_finalize(set) != 0)
        printf("# finalize failed\n");
    return set;
}

static void skip(const char *reason)
{
    ok(1, "# SKIP %s", reason);
}

typedef struct warnings {
    int n;
    long lines[16];
    char msgs[16][160];
    char path[256];
} warnings;

static void collect_warn(void *ud, const char *path, long line,
                         const char *msg)
{
    warnings *w = ud;
    if (w->n < 16) {
        w->lines[w->n] = line;
        snprintf(w->msgs[w->n], sizeof w->msgs[w->n], "%s", msg);
    }
    snprintf(w->path, sizeof w->path, "%s", path);
    w->n++;
}

static bool file_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* Lines of a file whose first token is `word`, or (word NULL) that are
 * neither blank nor comments; -1 when unreadable. */
static long count_lines(const char *path, const char *word)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    long n = 0;
    if (!f)
        return -1;
    while (getline(&line, &cap, f) != -1) {
        char first[64] = "";
        if (sscanf(line, "%63s", first) != 1 || first[0] == '#')
            continue;
        n += word ? strcmp(first, word) == 0 : 1;
    }
    free(line);
    fclose(f);
    return n;
}

/* ---- parsing --------------------------------------------------------- */

static void test_parse_ip(void)
{
    kg_ip a, b;
    char buf[64];

    ok(ipset_parse_ip("192.0.2.33", &a) && ipset_ip_is_v4(&a),
       "parse_ip: IPv4 is v4-mapped");
    ok(a.b[10] == 0xff && a.b[11] == 0xff && a.b[12] == 192 && a.b[15] == 33,
       "parse_ip: IPv4 stored as ::ffff:a.b.c.d");
    ok(ipset_parse_ip("::ffff:192.0.2.33", &b) && memcmp(&a, &b, 16) == 0,
       "parse_ip: ::ffff:192.0.2.33 equals 192.0.2.33");
    ok(ipset_parse_ip("2a0b:f4c2:0000:0000:0000:0000:0000:0010", &a) &&
           ipset_parse_ip("2a0b:f4c2::10", &b) && memcmp(&a, &b, 16) == 0,
       "parse_ip: expanded IPv6 equals compressed");
    ok(!ipset_ip_is_v4(&a), "parse_ip: IPv6 is not v4");
    ok(!ipset_parse_ip("1.2.3", &a), "parse_ip: partial IPv4 rejected");
    ok(!ipset_parse_ip("1.2.3.4/32", &a), "parse_ip: prefix rejected");
    ok(!ipset_parse_ip("256.1.1.1", &a), "parse_ip: octet > 255 rejected");
    ok(!ipset_parse_ip("", &a), "parse_ip: empty rejected");
    ok(!ipset_parse_ip("not-an-ip", &a), "parse_ip: garbage rejected");
    ok(!ipset_parse_ip("fe80::1%eth0", &a), "parse_ip: zone id rejected");

    ipset_parse_ip("2a0b:f4c2:0000:0000:0000:0000:0000:0010", &a);
    is_str(ipset_ip_format(&a, buf, sizeof buf), "2a0b:f4c2::10",
           "format: IPv6 in RFC 5952 form");
    ipset_parse_ip("::ffff:10.1.2.3", &a);
    is_str(ipset_ip_format(&a, buf, sizeof buf), "10.1.2.3",
           "format: v4-mapped as dotted quad");
    ipset_parse_ip("::1", &a);
    is_str(ipset_ip_format(&a, buf, sizeof buf), "::1", "format: ::1");
}

static void test_bad_entries(void)
{
    static const char *const bad[] = {
        "1.2.3", "1.2", "1", "1.2.3.", "1..2.3", "1.2.3.4.5", "256.1.1.1",
        "010.1.1.1", "0x1.2.3.4", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/-1",
        "1.2.3.4/08", "1.2.3.4/8/9", "1.2.3.4/255.0.0.0", "2001:db8::/129",
        "1:2:3:4:5:6:7:8:9", "fe80::1%eth0", "1.2.3.4 ", " 1.2.3.4", "abc",
        "", "/8", "2001:db8::g",
    };
    kg_ipset *set = ipset_new("bad");
    char err[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = ipset_add(set, bad[i], err, sizeof err);
        ok(rc == -1 && strstr(err, "bad address") &&
               strstr(err, bad[i]) != NULL,
           "add rejects \"%s\" (%s)", bad[i], err);
    }
    is_int(ipset_count(set), 0, "rejected entries are not counted");
    ipset_add(set, "1.2.3", err, sizeof err);
    ok(strstr(err, "partial IPv4") != NULL, "1.2.3 called partial: %s", err);

    char longtext[300];
    memset(longtext, '9', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    ok(ipset_add(set, longtext, err, sizeof err) == -1 &&
           strlen(err) < sizeof err - 1 && strstr(err, "..."),
       "overlong entry rejected, quoted text shortened");
    ok(ipset_add(set, "1.2.3", NULL, 0) == -1, "add works with no err buffer");
    ipset_free(set);
}

/* ---- membership ------------------------------------------------------ */

static void test_empty_and_unfinalized(void)
{
    kg_ipset *set = ipset_new("empty");
    char err[64];
    is_str(ipset_name(set), "empty", "name is kept");
    ok(!has(set, "1.2.3.4") && !has(set, "::"), "new set contains nothing");
    ipset_add(set, "1.2.3.4", err, sizeof err);
    ipset_add(set, "::/0", err, sizeof err);
    ok(!has(set, "1.2.3.4") && !has(set, "::1"),
       "set that was never finalized contains nothing");
    is_int(ipset_finalize(set), 0, "finalize");
    ok(has(set, "1.2.3.4") && has(set, "::1"), "after finalize: found");
    ipset_free(set);

    set = ipset_new("empty2");
    is_int(ipset_finalize(set), 0, "finalize of an empty set");
    ok(!has(set, "0.0.0.0") && !has(set, "::"), "empty finalized set");
    ok(!ipset_contains(set, NULL), "NULL address is not contained");
    ipset_free(set);
    ipset_free(NULL);
}

static void test_single_addresses(void)
{
    static const char *const e[] = {
        "192.0.2.1", "2001:db8::1", "2a0b:f4c2:0000:0000:0000:0000:0000:0010",
        "::ffff:198.51.100.7", "203.0.113.9", NULL,
    };
    kg_ipset *set = make_set(e);
    is_int(ipset_count(set), 5, "count of single addresses");
    ok(has(set, "192.0.2.1"), "v4 found");
    ok(!has(set, "192.0.2.0") && !has(set, "192.0.2.2"), "v4 neighbours not");
    ok(has(set, "2001:db8::1") && has(set, "2001:0db8:0:0:0:0:0:0001"),
       "v6 compressed found (either spelling)");
    ok(!has(set, "2001:db8::") && !has(set, "2001:db8::2"),
       "v6 neighbours not");
    ok(has(set, "2a0b:f4c2::10"), "expanded entry matches compressed key");
    ok(!has(set, "2a0b:f4c2::11"), "expanded entry: neighbour not");
    ok(has(set, "198.51.100.7"), "v4-mapped entry matches v4 key");
    ok(has(set, "::ffff:203.0.113.9"), "v4 entry matches v4-mapped key");
    ok(!has(set, "::198.51.100.7") && !has(set, "::c000:201"),
       "v4-compatible ::a.b.c.d is a different address");
    ipset_free(set);
}

static void test_cidr_boundaries(void)
{
    static const char *const e[] = {
        "10.20.0.0/14", "2001:db8:abcd::/48", "2001:db8:1::8000:0:0:0/65",
        "2001:db8:2::/63", "172.16.5.4/32", "::ffff:100.64.0.0/106", NULL,
    };
    kg_ipset *set = make_set(e);
    ok(has(set, "10.20.0.0") && has(set, "10.23.255.255"),
       "v4 /14: first and last address in");
    ok(!has(set, "10.19.255.255") && !has(set, "10.24.0.0"),
       "v4 /14: one below and one above out");
    ok(has(set, "2001:db8:abcd::") &&
           has(set, "2001:db8:abcd:ffff:ffff:ffff:ffff:ffff"),
       "v6 /48: first and last in");
    ok(!has(set, "2001:db8:abcc:ffff:ffff:ffff:ffff:ffff") &&
           !has(set, "2001:db8:abce::"),
       "v6 /48: one below and one above out");
    ok(has(set, "2001:db8:1:0:8000::") &&
           has(set, "2001:db8:1:0:ffff:ffff:ffff:ffff"),
       "v6 /65: first and last in");
    ok(!has(set, "2001:db8:1:0:7fff:ffff:ffff:ffff") &&
           !has(set, "2001:db8:1:1::"),
       "v6 /65: one below and one above out");
    ok(has(set, "2001:db8:2::") && has(set, "2001:db8:2:1:ffff:ffff:ffff:ffff"),
       "v6 /63: first and last in");
    ok(!has(set, "2001:db8:1:ffff:ffff:ffff:ffff:ffff") &&
           !has(set, "2001:db8:2:2::"),
       "v6 /63: one below and one above out");
    ok(has(set, "172.16.5.4") && !has(set, "172.16.5.5"), "v4 /32");
    ok(has(set, "100.64.0.0") && has(set, "100.127.255.255") &&
           !has(set, "100.63.255.255") && !has(set, "100.128.0.0"),
       "v4-mapped /106 is the v4 /10");
    ipset_free(set);
}

static void test_zero_prefix(void)
{
    static const char *const v4all[] = { "0.0.0.0/0", NULL };
    static const char *const all[] = { "::/0", NULL };
    kg_ipset *set = make_set(v4all);
    ok(has(set, "0.0.0.0") && has(set, "255.255.255.255") &&
           has(set, "8.8.8.8"),
       "0.0.0.0/0 holds every IPv4 address");
    ok(!has(set, "::") && !has(set, "2001:db8::1") &&
           !has(set, "::fffe:ffff:ffff") && !has(set, "::1:0:0:0"),
       "0.0.0.0/0 holds no IPv6 address");
    ipset_free(set);

    set = make_set(all);
    ok(has(set, "::") && has(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") &&
           has(set, "2001:db8::1") && has(set, "10.0.0.1") &&
           has(set, "255.255.255.255"),
       "::/0 holds everything, IPv4 included");
    ipset_free(set);
}

static void test_merges(void)
{
    static const char *const e[] = {
        /* overlapping, out of order, one inside another */
        "10.0.0.128/25", "10.0.0.0/24", "10.0.0.200", "10.0.0.0/16",
        "10.0.1.0/24",
        /* adjacent /24s and an adjacent single address */
        "192.168.1.0/24", "192.168.0.0/24", "192.168.2.0",
        /* adjacent v6 blocks and a duplicate */
        "2001:db8::/33", "2001:db8:8000::/33", "2001:db8::/33",
        /* the very top of the space, adjacent to a block below it */
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/125",
        /* blocks straddling the IPv4 area */
        "::fffe:ffff:ffff/128", "::ffff:0.0.0.0/127", NULL,
    };
    kg_ipset *set = make_set(e);
    is_int(ipset_count(set), 15, "count is before merging");
    ok(has(set, "10.0.0.0") && has(set, "10.0.0.200") &&
           has(set, "10.0.255.255") && !has(set, "10.1.0.0") &&
           !has(set, "9.255.255.255"),
       "overlapping blocks merge to 10.0.0.0/16");
    ok(has(set, "192.168.0.0") && has(set, "192.168.0.255") &&
           has(set, "192.168.1.0") && has(set, "192.168.2.0") &&
           !has(set, "192.168.2.1") && !has(set, "192.167.255.255"),
       "adjacent blocks merge: 192.168.0.0 - 192.168.2.0");
    ok(has(set, "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff") &&
           has(set, "2001:db8:8000::") &&
           has(set, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") &&
           !has(set, "2001:db9::") &&
           !has(set, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"),
       "adjacent v6 /33 blocks merge to the /32");
    ok(has(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff7") &&
           has(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") &&
           !has(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff8") &&
           !has(set, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffef"),
       "top of the address space");
    ok(has(set, "::fffe:ffff:ffff") && has(set, "0.0.0.0") &&
           has(set, "0.0.0.1") && !has(set, "0.0.0.2") &&
           !has(set, "::fffe:ffff:fffe"),
       "block adjacent to the IPv4 area on both sides of its edge");
    ipset_free(set);
}

static void test_host_bits(void)
{
    static const char *const e[] = { "10.1.2.3/8", "2001:db8::dead:beef/32",
                                     NULL };
    kg_ipset *set = make_set(e);
    ok(has(set, "10.0.0.0") && has(set, "10.255.255.255") &&
           !has(set, "11.0.0.0") && !has(set, "9.255.255.255"),
       "v4 host bits masked: 10.1.2.3/8 is 10.0.0.0/8");
    ok(has(set, "2001:db8::") && has(set, "2001:db8:ffff::1") &&
           !has(set, "2001:db9::") &&
           !has(set, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"),
       "v6 host bits masked");
    ipset_free(set);
}

static void test_add_after_finalize(void)
{
    static const char *const e[] = { "198.51.100.0/24", NULL };
    kg_ipset *set = make_set(e);
    char err[64];
    is_int(ipset_add(set, "203.0.113.5", err, sizeof err), 0,
           "add after finalize accepted");
    ok(has(set, "198.51.100.9") && !has(set, "203.0.113.5"),
       "before re-finalize: old contents, new entry not yet visible");
    is_int(ipset_finalize(set), 0, "re-finalize");
    ok(has(set, "198.51.100.9") && has(set, "203.0.113.5") &&
           !has(set, "203.0.113.6"),
       "after re-finalize: old and new entries");
    is_int(ipset_count(set), 2, "count covers both");
    is_int(ipset_finalize(set), 0, "finalize twice in a row");
    ok(has(set, "198.51.100.255") && has(set, "203.0.113.5"),
       "finalize is idempotent");
    ipset_free(set);
}

/* Entry i of the dense-prefix test, with `last` as its final group/octet:
 * IPv4 in 10.0.0.0/8, IPv6 spread over 2001:db8:0:0::/60. */
static const char *dense_v4(char *buf, size_t len, unsigned i, unsigned last)
{
    snprintf(buf, len, "10.%u.%u.%u", i, (i * 7) % 256, last);
    return buf;
}

static const char *dense_v6(char *buf, size_t len, unsigned i,
                            const char *tail)
{
    snprintf(buf, len, "2001:db8:0:%x:%x::%s", i % 16, (i * 331) & 0xffff,
             tail);
    return buf;
}

/* Many entries sharing a long prefix: the index then buckets on the bits
 * after it (for IPv6, across the middle of the address). */
static void test_dense_prefix(void)
{
    kg_ipset *set = ipset_new("dense");
    char t[64], err[128];
    int bad = 0, missing = 0, extra = 0;
    for (unsigned i = 0; i < 200; i++) {
        dense_v4(t, sizeof t, i, 2);
        bad += ipset_add(set, t, err, sizeof err) != 0;
        dense_v6(t, sizeof t, i, "1");
        bad += ipset_add(set, t, err, sizeof err) != 0;
    }
    ipset_finalize(set);
    for (unsigned i = 0; i < 200; i++) {
        missing += !has(set, dense_v4(t, sizeof t, i, 2));
        missing += !has(set, dense_v6(t, sizeof t, i, "1"));
        extra += has(set, dense_v4(t, sizeof t, i, 3));
        extra += has(set, dense_v4(t, sizeof t, i, 1));
        extra += has(set, dense_v6(t, sizeof t, i, "2"));
        extra += has(set, dense_v6(t, sizeof t, i, ""));
    }
    is_int(bad, 0, "dense prefix: 400 entries added");
    is_int(missing, 0, "dense prefix: every entry found");
    is_int(extra, 0, "dense prefix: no neighbour found");
    ok(!has(set, "10.200.0.2") && !has(set, "9.255.255.255") &&
           !has(set, "2001:db8:0:10::1") && !has(set, "2001:db8::"),
       "dense prefix: outside the covered span");
    ipset_free(set);
}

/* ---- list files ------------------------------------------------------ */

static void test_tor_exit_addresses(void)
{
    const char *path =
        CORPUS "tor_exit_addresses_torproject_2024-03-12_blocks1241-1841.txt";
    if (!file_exists(path)) {
        skip("corpus tor exit-addresses list not present");
        return;
    }
    kg_ipset *set = ipset_new("tor");
    warnings w = { 0 };
    char err[256];
    long want = count_lines(path, "ExitAddress");
    long n = ipset_load_file(set, path, collect_warn, &w, err, sizeof err);
    ok(want > 500, "exit-addresses file has ExitAddress lines (%ld)", want);
    is_int(n, want, "tor exit-addresses: one entry per ExitAddress line");
    is_int(w.n, 0, "tor exit-addresses: no warnings");
    is_int(ipset_finalize(set), 0, "finalize");
    ok(has(set, "192.42.116.215") && has(set, "45.141.215.56"),
       "tor exit-addresses: ExitAddress IPs found");
    ok(!has(set, "192.42.116.1"), "tor exit-addresses: other IP not found");
    ipset_free(set);
}

static void test_tor_secops(void)
{
    const char *path = CORPUS "tor_exit_nodes_secops_2024-02-27.lst";
    if (!file_exists(path)) {
        skip("corpus secops tor list not present");
        return;
    }
    kg_ipset *set = ipset_new("secops");
    warnings w = { 0 };
    char err[256];
    long n = ipset_load_file(set, path, collect_warn, &w, err, sizeof err);
    is_int(n, count_lines(path, NULL), "secops: every line is an entry");
    is_int(w.n, 0, "secops: no warnings");
    ipset_finalize(set);
    ok(has(set, "2001:470:1:908::9001") && has(set, "2001:620:20d0::19"),
       "secops: expanded IPv6 entries match compressed keys");
    ok(!has(set, "2001:620:20d0::18"), "secops: neighbour not found");
    ok(has(set, "101.99.92.179"), "secops: IPv4 entry found");
    ipset_free(set);
}

static void test_ipsum(void)
{
    const char *path = CORPUS "stamparm_ipsum_first2000lines.txt";
    if (!file_exists(path)) {
        skip("corpus ipsum list not present");
        return;
    }
    kg_ipset *set = ipset_new("ipsum");
    warnings w = { 0 };
    char err[256];
    long n = ipset_load_file(set, path, collect_warn, &w, err, sizeof err);
    is_int(n, count_lines(path, NULL), "ipsum: one entry per data line");
    is_int(w.n, 0, "ipsum: no warnings (count column ignored)");
    ipset_finalize(set);
    ok(has(set, "77.90.185.20") && has(set, "193.47.62.69"),
       "ipsum: listed IPs found");
    ok(!has(set, "77.90.185.21"), "ipsum: neighbour not found");
    ipset_free(set);
}

static void test_firehol(void)
{
    const char *path = CORPUS "firehol_level1_first3000lines.netset";
    if (!file_exists(path)) {
        skip("corpus firehol list not present");
        return;
    }
    kg_ipset *set = ipset_new("firehol");
    warnings w = { 0 };
    char err[256];
    long n = ipset_load_file(set, path, collect_warn, &w, err, sizeof err);
    is_int(n, count_lines(path, NULL), "firehol: one entry per data line");
    is_int(w.n, 0, "firehol: no warnings");
    ipset_finalize(set);
    ok(has(set, "10.123.45.67") && has(set, "10.0.0.0") &&
           has(set, "10.255.255.255"),
       "firehol: addresses inside 10.0.0.0/8 found");
    ok(!has(set, "8.8.8.8"), "firehol: 8.8.8.8 not listed");
    ipset_free(set);
}

static void write_bad_list(FILE *f)
{
    fputs("# header comment\n", f);                  /* 1 */
    fputs("1.2.3.4\n", f);                           /* 2 */
    fputs("1.2.3\n", f);                             /* 3: bad */
    fputs("\n", f);                                  /* 4 */
    fputs("garbage here\n", f);                      /* 5: bad */
    fputs("  10.0.0.0/8  # private\n", f);           /* 6 */
    fputs("5.6.7.8\r\n", f);                         /* 7 */
    fputs("ExitAddress\n", f);                       /* 8: bad */
    fputs("ExitNode ABCDEF\n", f);                   /* 9: skipped */
    for (int i = 0; i < 5000; i++)                   /* 10: bad, long */
        fputc('9', f);
    fputc('\n', f);
    fputs("2001:db8::1\tsome column\n", f);          /* 11 */
    fputs("ExitAddress 198.51.100.1 2024-03-12\n", f); /* 12 */
    fputs("   \t  \r\n", f);                         /* 13 */
    fputs("1.2.3.4/33", f);                          /* 14: bad, no EOL */
}

static void test_bad_file(void)
{
    char path[] = "/tmp/kguard_ipset_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        ok(0, "cannot create temp file: %s", strerror(errno));
        return;
    }
    write_bad_list(f);
    fclose(f);

    kg_ipset *set = ipset_new("badfile");
    warnings w = { 0 };
    char err[256];
    long n = ipset_load_file(set, path, collect_warn, &w, err, sizeof err);
    is_int(n, 5, "good lines of a file with bad lines are loaded");
    is_int(w.n, 5, "one warning per bad line");
    is_str(w.path, path, "warning carries the path");
    ok(w.lines[0] == 3 && w.lines[1] == 5 && w.lines[2] == 8 &&
           w.lines[3] == 10 && w.lines[4] == 14,
       "warnings name lines 3, 5, 8, 10, 14 (got %ld %ld %ld %ld %ld)",
       w.lines[0], w.lines[1], w.lines[2], w.lines[3], w.lines[4]);
    ok(strstr(w.msgs[0], "\"1.2.3\"") != NULL, "message names \"1.2.3\": %s",
       w.msgs[0]);
    ok(strstr(w.msgs[1], "garbage") != NULL, "message names garbage: %s",
       w.msgs[1]);
    ok(strstr(w.msgs[2], "ExitAddress") != NULL,
       "message for a bare ExitAddress: %s", w.msgs[2]);
    ok(strstr(w.msgs[4], "1.2.3.4/33") != NULL, "message names the CIDR: %s",
       w.msgs[4]);
    ipset_finalize(set);
    ok(has(set, "1.2.3.4") && has(set, "10.9.8.7") && has(set, "5.6.7.8") &&
           has(set, "2001:db8::1") && has(set, "198.51.100.1"),
       "good entries of the file found");
    ok(!has(set, "1.2.0.3"), "partial IPv4 was not loaded as 1.2.0.3");
    is_int(ipset_load_file(set, path, NULL, NULL, err, sizeof err), 5,
           "loading without a warn callback");
    unlink(path);
    ipset_free(set);
}

static void test_unreadable(void)
{
    kg_ipset *set = ipset_new("missing");
    char err[256] = "";
    long n = ipset_load_file(set, "tests/no/such/list.txt", NULL, NULL, err,
                             sizeof err);
    is_int(n, -1, "missing file: -1");
    ok(strstr(err, "tests/no/such/list.txt") &&
           strstr(err, strerror(ENOENT)),
       "missing file: err has path and reason (%s)", err);
    err[0] = '\0';
    n = ipset_load_file(set, "/tmp", NULL, NULL, err, sizeof err);
    ok(n == -1 && strstr(err, strerror(EISDIR)),
       "directory: -1 with reason (%s)", err);
    is_int(ipset_count(set), 0, "nothing added");
    ipset_free(set);
}

/* ---- scale ----------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int ip_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(kg_ip));
}

/* Random address: 3 in 4 IPv4, else IPv6 in 2001:db8::/96 (dense). */
static void random_ip(uint64_t *s, kg_ip *ip)
{
    uint64_t r = splitmix64(s);
    char text[64];
    if (r & 3)
        snprintf(text, sizeof text, "%u.%u.%u.%u", (unsigned)(r >> 56),
                 (unsigned)(r >> 48) & 255, (unsigned)(r >> 40) & 255,
                 (unsigned)(r >> 32) & 255);
    else
        snprintf(text, sizeof text, "2001:db8::%x:%x",
                 (unsigned)(r >> 48) & 0xffff, (unsigned)(r >> 32) & 0xffff);
    ipset_parse_ip(text, ip);
}

enum { SCALE_N = 250000, SCALE_PROBES = 200000 };

static void test_scale(void)
{
    char path[] = "/tmp/kguard_ipset_scale_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    kg_ip *ips = malloc(SCALE_N * sizeof *ips);
    kg_ipset *set = ipset_new("scale");
    uint64_t seed = 42;
    char text[64], err[256];
    if (!f || !ips || !set) {
        ok(0, "scale test setup");
        goto cleanup;
    }
    for (size_t i = 0; i < SCALE_N; i++) {
        random_ip(&seed, &ips[i]);
        fprintf(f, "%s\t%zu\n", ipset_ip_format(&ips[i], text, sizeof text),
                i);
    }
    fclose(f);
    f = NULL;
    is_int(ipset_load_file(set, path, NULL, NULL, err, sizeof err), SCALE_N,
           "scale: 250000 entries loaded");
    is_int(ipset_finalize(set), 0, "scale: finalize");

    size_t missing = 0;
    for (size_t i = 0; i < SCALE_N; i++)
        missing += !ipset_contains(set, &ips[i]);
    is_int(missing, 0, "scale: every inserted address found");

    /* Probes: random addresses and neighbours of members, checked against
     * a sorted copy of the inserted addresses. */
    qsort(ips, SCALE_N, sizeof *ips, ip_cmp);
    size_t wrong = 0, found = 0;
    for (size_t i = 0; i < SCALE_PROBES; i++) {
        kg_ip p;
        if (i & 1) {
            random_ip(&seed, &p);
        } else {
            p = ips[splitmix64(&seed) % SCALE_N];
            p.b[15] ^= 1;
        }
        bool want = bsearch(&p, ips, SCALE_N, sizeof *ips, ip_cmp) != NULL;
        bool got = ipset_contains(set, &p);
        wrong += want != got;
        found += got;
    }
    is_int(wrong, 0, "scale: probes agree with a sorted reference");
    ok(found < SCALE_PROBES / 10, "scale: non-members mostly not found (%zu)",
       found);

cleanup:
    if (f)
        fclose(f);
    unlink(path);
    free(ips);
    ipset_free(set);
}

int main(void)
{
    test_parse_ip();
    test_bad_entries();
    test_empty_and_unfinalized();
    test_single_addresses();
    test_cidr_boundaries();
    test_zero_prefix();
    test_merges();
    test_host_bits();
    test_add_after_finalize();
    test_dense_prefix();
    test_tor_exit_addresses();
    test_tor_secops();
    test_ipsum();
    test_firehol();
    test_bad_file();
    test_unreadable();
    test_scale();
    return done_testing();
}
