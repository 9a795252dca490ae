/*
 * test_ipspecial.c: unit tests for leaving special-purpose ranges out of a
 * threat list: ipset_subtract (dropped and clipped entries, range edges in
 * IPv4 and IPv6, v4-mapped spellings) with the set of ipspecial.h, ipset_copy
 * (the previous version of a list kept on reload), and the real FireHOL level1
 * list from ../shared/corpus when present.
 */
#include "kguard/ipset.h"
#include "kguard/ipspecial.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"

#define FIREHOL "../shared/corpus/iplists/firehol_level1_first3000lines.netset"

static bool has(const kg_ipset *set, const char *text)
{
    kg_ip ip;
    return ipset_parse_ip(text, &ip) && ipset_contains(set, &ip);
}

/* A threat list of the given entries with the special ranges cut out. */
static kg_ipset *clipped(const char *const *entries, kg_ipset_cut *cut)
{
    char err[128];
    kg_ipset *special = ipspecial_set();
    kg_ipset *set = ipset_new("t");
    for (size_t i = 0; set && entries[i]; i++)
        if (ipset_add(set, entries[i], err, sizeof err) != 0)
            printf("# unexpected add failure: %s\n", err);
    if (!special || !set || ipset_subtract(set, special, cut) != 0 || ipset_finalize(set) != 0)
        printf("# building the clipped set failed\n");
    ipset_free(special);
    return set;
}

static void test_special_set(void)
{
    kg_ipset *s = ipspecial_set();
    static const char *const in[] = {
        "0.0.0.0", "0.255.255.255", "10.0.0.0", "10.255.255.255", "100.64.0.0", "100.127.255.255",
        "127.0.0.1", "169.254.169.254", "172.16.0.0", "172.31.255.255", "192.0.0.8", "192.0.0.11",
        "192.0.2.1", "192.168.99.1", "198.18.0.0", "198.19.255.255", "198.51.100.7", "203.0.113.9",
        "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
        "::", "::1", "::ffff:10.1.2.3", "::ffff:127.0.0.1", "64:ff9b:1::1", "100::1", "2001:2::1",
        "2001:10::1", "2001:db8::1", "3fff::1", "5f00::1", "fc00::1", "fd12:3456::1", "fe80::1",
        "febf:ffff::1", "fec0::1", "ff02::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL,
    };
    static const char *const out[] = {
        "1.0.0.0", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255",
        "128.0.0.0", "169.253.255.255", "172.15.255.255", "172.32.0.0", "192.0.0.9", "192.0.0.10",
        "192.0.1.255", "192.0.3.0", "192.88.99.1", "192.167.255.255", "192.169.0.0", "198.17.255.255",
        "198.20.0.0", "223.255.255.255", "8.8.8.8", "45.95.147.236",
        "::2", "::ffff:8.8.8.8", "64:ff9b::808:808", "2001::1", "2001:1::1", "2001:3::1",
        "2001:4:112::1", "2001:20::1", "2001:db7:ffff::1", "2001:db9::1", "2002:c000:0204::1",
        "2a00:1450::1", "fbff:ffff::1", "fe00::1", "fe7f::1", NULL,
    };
    ok(s != NULL, "the special-purpose set builds");
    for (size_t i = 0; in[i]; i++)
        ok(has(s, in[i]), "%s is special-purpose", in[i]);
    for (size_t i = 0; out[i]; i++)
        ok(!has(s, out[i]), "%s is globally reachable", out[i]);
    ipset_free(s);
}

static void test_dropped_and_kept(void)
{
    static const char *const e[] = {
        "10.1.2.3", "192.168.0.0/16", "127.0.0.0/8", "172.20.0.0/14", "fd00::/8", "fe80::1",
        "::1", "::ffff:100.64.1.1", "45.95.147.236", "2a06:4880:1000::/48", NULL,
    };
    kg_ipset_cut cut = { 99, 99 };
    kg_ipset *s = clipped(e, &cut);
    is_int((long)cut.dropped, 8L, "eight entries inside special ranges are dropped");
    is_int((long)cut.clipped, 0L, "none is clipped");
    ok(!has(s, "10.1.2.3") && !has(s, "192.168.99.1") && !has(s, "127.0.0.1") &&
       !has(s, "172.21.0.1") && !has(s, "fd00::5") && !has(s, "fe80::1") && !has(s, "::1") &&
       !has(s, "100.64.1.1"), "dropped entries do not match");
    ok(has(s, "45.95.147.236") && has(s, "2a06:4880:1000::7"), "public entries still match");
    is_int((long)ipset_count(s), 10L, "ipset_count still counts every entry read");
    ipset_free(s);
}

static void test_clip_v4(void)
{
    static const char *const e[] = { "0.0.0.0/0", NULL };
    kg_ipset_cut cut;
    kg_ipset *s = clipped(e, &cut);
    is_int((long)cut.dropped, 0L, "0.0.0.0/0: nothing dropped");
    is_int((long)cut.clipped, 1L, "0.0.0.0/0: clipped");
    ok(has(s, "8.8.8.8") && has(s, "1.0.0.0") && has(s, "223.255.255.255"), "public IPv4 still match");
    ok(has(s, "9.255.255.255") && !has(s, "10.0.0.0") && !has(s, "10.255.255.255") && has(s, "11.0.0.0"),
       "edges around 10.0.0.0/8");
    ok(has(s, "100.63.255.255") && !has(s, "100.64.0.0") && !has(s, "100.127.255.255") &&
       has(s, "100.128.0.0"), "edges around 100.64.0.0/10");
    ok(has(s, "192.0.0.9") && has(s, "192.0.0.10") && !has(s, "192.0.0.8") && !has(s, "192.0.0.11"),
       "the global anycast addresses inside 192.0.0.0/24 stay");
    ok(!has(s, "224.0.0.0") && !has(s, "255.255.255.255") && !has(s, "0.0.0.0"), "both ends are cut");
    ok(!has(s, "2a00:1450::1"), "an IPv4 entry does not reach IPv6");
    ipset_free(s);

    static const char *const e2[] = { "8.0.0.0/5", "172.16.0.0/11", NULL };
    s = clipped(e2, &cut);
    is_int((long)cut.clipped, 2L, "8.0.0.0/5 and 172.16.0.0/11 are clipped");
    ok(has(s, "8.8.8.8") && has(s, "15.255.255.255") && !has(s, "10.0.0.1"), "8.0.0.0/5 without 10/8");
    ok(has(s, "172.0.0.1") && has(s, "172.15.255.255") && !has(s, "172.16.0.0") &&
       !has(s, "172.31.255.255") && !has(s, "172.32.0.0"),
       "172.16.0.0/11 (i.e. 172.0.0.0/11) keeps 172.0.0.0/12 only");
    ipset_free(s);
}

static void test_clip_v6(void)
{
    static const char *const e[] = { "::/0", NULL };
    kg_ipset_cut cut;
    kg_ipset *s = clipped(e, &cut);
    is_int((long)cut.clipped, 1L, "::/0 is clipped");
    ok(has(s, "2a00:1450::1") && has(s, "64:ff9b::808:808") && has(s, "2001:4:112::1"),
       "global IPv6 still matches");
    ok(has(s, "8.8.8.8") && !has(s, "10.0.0.1") && !has(s, "::ffff:192.168.1.1"),
       "::/0 covers IPv4 too, without the private ranges");
    ok(!has(s, "::") && !has(s, "::1") && has(s, "::2"), "unspecified and loopback cut, ::2 stays");
    ok(has(s, "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") && !has(s, "fc00::") &&
       !has(s, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") && has(s, "fe00::"), "edges around fc00::/7");
    ok(has(s, "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff") && !has(s, "fe80::") && !has(s, "feff::1") &&
       !has(s, "ff00::") && !has(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
       "fe80::/10, fec0::/10 and multicast to the top of the space are cut");
    ok(has(s, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff") && !has(s, "2001:db8::") &&
       !has(s, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") && has(s, "2001:db9::"), "edges around 2001:db8::/32");
    ipset_free(s);

    static const char *const e2[] = { "f800::/5", "2001::/16", NULL };
    s = clipped(e2, &cut);
    is_int((long)cut.clipped, 2L, "f800::/5 and 2001::/16 are clipped");
    is_int((long)cut.dropped, 0L, "nothing dropped");
    ok(has(s, "f800::1") && has(s, "fbff::1") && !has(s, "fc00::1") && !has(s, "fdff::1") &&
       has(s, "fe00::1") && !has(s, "fe80::1") && !has(s, "ff02::1"),
       "f800::/5 keeps f800::/6 and fe00::/9");
    ok(has(s, "2001::1") && !has(s, "2001:2::1") && !has(s, "2001:db8::1") && has(s, "2001:4860::8888"),
       "2001::/16 without the non-global parts");
    ipset_free(s);
}

static void test_copy(void)
{
    static const char *const e[] = { "45.95.147.236", "141.98.10.0/24", "2a06:4880:1000::/48", NULL };
    kg_ipset_cut cut;
    kg_ipset *s = clipped(e, &cut);
    kg_ipset *c = ipset_copy(s);
    ok(c != NULL, "ipset_copy of a finalized set");
    is_str(ipset_name(c), "t", "the copy keeps the name");
    is_int((long)ipset_count(c), 3L, "and the entry count");
    ok(has(c, "45.95.147.236") && has(c, "141.98.10.255") && has(c, "2a06:4880:1000:ffff::1"),
       "the copy holds every entry");
    ok(!has(c, "141.98.11.0") && !has(c, "45.95.147.237"), "and nothing more");
    ipset_free(s);
    ok(has(c, "141.98.10.1"), "the copy outlives the original");
    ipset_free(c);
}

static void test_firehol(void)
{
    char err[256];
    kg_ipset *special = ipspecial_set();
    kg_ipset *s = ipset_new("firehol_level1");
    kg_ipset_cut cut = { 0, 0 };
    FILE *f = fopen(FIREHOL, "r");
    if (!f) {
        ok(1, "# SKIP %s absent", FIREHOL);
        ipset_free(special);
        ipset_free(s);
        return;
    }
    fclose(f);
    ok(ipset_load_file(s, FIREHOL, NULL, NULL, err, sizeof err) > 2000, "firehol level1 loads");
    ok(ipset_subtract(s, special, &cut) == 0 && ipset_finalize(s) == 0, "subtract and finalize");
    ok(cut.dropped >= 8, "firehol: bogon entries dropped (%zu)", cut.dropped);
    ok(cut.clipped >= 1, "firehol: entries covering special ranges clipped (%zu)", cut.clipped);
    ok(!has(s, "10.0.0.5") && !has(s, "127.0.0.1") && !has(s, "192.168.99.1") && !has(s, "172.17.0.1") &&
       !has(s, "100.64.0.10") && !has(s, "169.254.169.254") && !has(s, "224.0.0.251") &&
       !has(s, "0.0.0.0") && !has(s, "240.0.0.1"), "no private, loopback or other special caller matches");
    ok(has(s, "1.10.16.1") && has(s, "5.188.236.10"), "public firehol entries still match");
    ipset_free(special);
    ipset_free(s);
}

int main(void)
{
    test_special_set();
    test_dropped_and_kept();
    test_clip_v4();
    test_clip_v6();
    test_copy();
    test_firehol();
    return done_testing();
}
