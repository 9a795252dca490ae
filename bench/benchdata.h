/*
 * benchdata.h: the deterministic pieces shared by the benchmark's generator
 * (bench/gen.c) and its IP-lookup program (bench/ipset_lookup.c).
 *
 * Everything is a pure function of the seed: entry i of list L is
 * bd_list_entry(seed, L, i), so the event generator can pick addresses that
 * are on a list (and the lookup program can build a hit mix) without reading
 * the list files back.
 *
 * Address plan.  Cluster-internal callers (nodes, pods, control plane) use
 * 10.0.0.0/16 and the cluster's IPv6 VPC prefix 2a05:d018:9f1:4b00::/56;
 * people and CI call from a few fixed public blocks (an office, a second
 * office, a NAT gateway range, an office IPv6 /48).  Threat-list entries are
 * drawn from the rest of the public space, so they never cover those blocks:
 * an event hits a list only when the generator meant it to (or, rarely, when
 * an internet scanner's random address happens to fall into a listed block,
 * as in real life).
 */
#ifndef KGUARD_BENCHDATA_H
#define KGUARD_BENCHDATA_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define BD_THREAT_LISTS 6
#define BD_THREAT_ENTRIES 250000
#define BD_TOR_LIST 6           /* list index of the Tor exits */
#define BD_TOR_ENTRIES 1300

/* ---- PRNG ------------------------------------------------------------- */

static inline uint64_t bd_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline uint64_t bd_hash(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = bd_mix64(seed + UINT64_C(0x9e3779b97f4a7c15));
    h = bd_mix64(h ^ (a + UINT64_C(0x632be59bd9b4e019)));
    h = bd_mix64(h ^ (b + UINT64_C(0x85ebca77c2b2ae63)));
    return bd_mix64(h ^ (c + UINT64_C(0x27d4eb2f165667c5)));
}

/* xoshiro256** stream */
typedef struct bd_rng {
    uint64_t s[4];
} bd_rng;

static inline void bd_rng_init(bd_rng *r, uint64_t seed, uint64_t stream)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = bd_hash(seed, stream, (uint64_t)i, 0x5eed);
}

static inline uint64_t bd_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t bd_next(bd_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = bd_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = bd_rotl(s[3], 45);
    return result;
}

/* uniform in [0, n) (n small; the bias is irrelevant here) */
static inline uint32_t bd_below(bd_rng *r, uint32_t n) { return (uint32_t)(bd_next(r) % n); }
static inline int bd_pct(bd_rng *r, unsigned p) { return bd_below(r, 100) < p; }

/* ---- addresses -------------------------------------------------------- */

typedef struct bd_entry {
    int v6;          /* 0: IPv4 in v4, 1: IPv6 in b */
    int plen;        /* 32 / 128 for a single address */
    uint32_t v4;     /* host order, network address */
    uint8_t b[16];   /* network address */
} bd_entry;

typedef struct bd_prefix4 {
    uint32_t net;
    int plen;
} bd_prefix4;

/* Never on a threat list: private and special ranges, and the public blocks
 * the legitimate callers of the generated cluster use. */
static const bd_prefix4 BD_PROTECTED4[] = {
    {0x00000000, 8},   /* 0/8 */
    {0x0A000000, 8},   /* 10/8: VPC, nodes, pods, load balancers */
    {0x64400000, 10},  /* 100.64/10 CGNAT */
    {0x7F000000, 8},   /* 127/8 */
    {0xA9FE0000, 16},  /* 169.254/16 */
    {0xAC100000, 12},  /* 172.16/12 */
    {0xC0000200, 24},  /* 192.0.2/24 */
    {0xC0A80000, 16},  /* 192.168/16 */
    {0xC6120000, 15},  /* 198.18/15 */
    {0xC6336400, 24},  /* 198.51.100/24 */
    {0xCB007100, 24},  /* 203.0.113/24 */
    {0xE0000000, 3},   /* 224/3 multicast and reserved */
    {0x34D00000, 13},  /* 52.208/13: the NAT gateways CI calls from */
    {0x51024500, 24},  /* 81.2.69/24: office A */
    {0xD5562300, 24},  /* 213.86.35/24: office B */
};

typedef struct bd_prefix6 {
    uint8_t b[16];
    int plen;
} bd_prefix6;

static const bd_prefix6 BD_PROTECTED6[] = {
    {{0x2a, 0x05, 0xd0, 0x18}, 32},                 /* the cloud region (VPC) */
    {{0x2a, 0x02, 0x0c, 0x7c, 0x5b, 0x4e}, 48},     /* office IPv6 */
    {{0x20, 0x01, 0x0d, 0xb8}, 32},                 /* documentation */
    {{0x20, 0x02}, 16},                             /* 6to4 */
};

static inline uint32_t bd_mask4(int plen) { return plen == 0 ? 0 : 0xFFFFFFFFu << (32 - plen); }

static inline int bd_overlaps4(uint32_t net, int plen)
{
    for (size_t i = 0; i < sizeof BD_PROTECTED4 / sizeof BD_PROTECTED4[0]; i++) {
        int p = plen < BD_PROTECTED4[i].plen ? plen : BD_PROTECTED4[i].plen;
        if (((net ^ BD_PROTECTED4[i].net) & bd_mask4(p)) == 0)
            return 1;
    }
    return 0;
}

static inline int bd_prefix_eq6(const uint8_t *a, const uint8_t *b, int bits)
{
    int bytes = bits / 8, rem = bits % 8;
    if (memcmp(a, b, (size_t)bytes) != 0)
        return 0;
    if (rem == 0)
        return 1;
    uint8_t m = (uint8_t)(0xFF << (8 - rem));
    return ((a[bytes] ^ b[bytes]) & m) == 0;
}

static inline int bd_overlaps6(const uint8_t *net, int plen)
{
    for (size_t i = 0; i < sizeof BD_PROTECTED6 / sizeof BD_PROTECTED6[0]; i++) {
        int p = plen < BD_PROTECTED6[i].plen ? plen : BD_PROTECTED6[i].plen;
        if (bd_prefix_eq6(net, BD_PROTECTED6[i].b, p))
            return 1;
    }
    return 0;
}

static inline void bd_mask6(uint8_t *b, int plen)
{
    for (int i = 0; i < 16; i++) {
        int keep = plen - i * 8;
        if (keep >= 8)
            continue;
        b[i] = keep <= 0 ? 0 : (uint8_t)(b[i] & (0xFF << (8 - keep)));
    }
}

/* Fill b with a random global unicast address (2000::/3). */
static inline void bd_random6(uint64_t h1, uint64_t h2, uint8_t *b)
{
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(h1 >> (8 * i));
        b[8 + i] = (uint8_t)(h2 >> (8 * i));
    }
    b[0] = (uint8_t)(0x20 | (b[0] & 0x1F));
}

/* A public IPv4 address outside the protected ranges (first octet 1..223). */
static inline uint32_t bd_random4(uint64_t h)
{
    uint32_t a = (uint32_t)(h >> 16);
    uint32_t first = 1 + (uint32_t)((h & 0xFFFF) % 223);
    return (first << 24) | (a & 0x00FFFFFF);
}

/*
 * Entry i of list L.  Threat lists (L < 6): 68% single IPv4, 17% IPv4 CIDR
 * (mostly /24 to /29, a few up to /16), 11% single IPv6, 4% IPv6 CIDR
 * (/32 to /64).  About 4% of the entries of lists 1..5 repeat an entry of
 * list 0 (feeds overlap).  The Tor list (L == 6): single addresses, 85% IPv4.
 */
static inline bd_entry bd_list_entry(uint64_t seed, int list, uint64_t i)
{
    bd_entry e;
    if (list > 0 && list < BD_TOR_LIST && bd_hash(seed, (uint64_t)list, i, 77) % 25 == 0)
        return bd_list_entry(seed, 0, i);
    for (uint64_t attempt = 0;; attempt++) {
        uint64_t h = bd_hash(seed, (uint64_t)list, i, attempt);
        uint64_t h2 = bd_hash(seed, (uint64_t)list + 100, i, attempt);
        unsigned kind = (unsigned)((h >> 40) % 100);
        memset(&e, 0, sizeof e);
        if (list == BD_TOR_LIST)
            kind = kind < 85 ? 0 : 70;
        if (kind < 85) {
            int plen = 32;
            if (kind >= 68) {
                unsigned p = (unsigned)((h2 >> 8) % 100);
                plen = p < 1 ? 16 + (int)(h2 % 4)          /* /16../19 */
                     : p < 15 ? 20 + (int)(h2 % 4)         /* /20../23 */
                     : p < 60 ? 24                          /* /24 */
                     : 25 + (int)(h2 % 6);                  /* /25../30 */
            }
            e.plen = plen;
            e.v4 = bd_random4(h) & bd_mask4(plen);
            if (bd_overlaps4(e.v4, plen))
                continue;
        } else {
            int plen = 128;
            if (kind >= 96) {
                static const int P[] = {32, 36, 40, 44, 48, 48, 48, 56, 56, 56, 64, 64, 64, 64};
                plen = P[(h2 >> 8) % (sizeof P / sizeof P[0])];
            }
            e.v6 = 1;
            e.plen = plen;
            bd_random6(h2, bd_mix64(h ^ h2), e.b);
            bd_mask6(e.b, plen);
            if (bd_overlaps6(e.b, plen))
                continue;
        }
        return e;
    }
}

static inline uint64_t bd_list_size(int list)
{
    return list == BD_TOR_LIST ? BD_TOR_ENTRIES : BD_THREAT_ENTRIES;
}

/* An address inside entry e (host bits from r). */
static inline bd_entry bd_address_in(bd_entry e, uint64_t r)
{
    if (!e.v6) {
        if (e.plen < 32)
            e.v4 |= (uint32_t)r & ~bd_mask4(e.plen);
        /* avoid the network and broadcast address of small blocks: cosmetic */
    } else if (e.plen < 128) {
        uint8_t host[16];
        bd_random6(r, bd_mix64(r), host);
        for (int i = 0; i < 16; i++) {
            int keep = e.plen - i * 8;
            uint8_t m = keep >= 8 ? 0xFF : keep <= 0 ? 0 : (uint8_t)(0xFF << (8 - keep));
            e.b[i] = (uint8_t)((e.b[i] & m) | (host[i] & (uint8_t)~m));
        }
    }
    e.plen = e.v6 ? 128 : 32;
    return e;
}

/* A listed address: a random entry of list L, a random host inside it. */
static inline bd_entry bd_listed_address(uint64_t seed, int list, uint64_t r)
{
    bd_entry e = bd_list_entry(seed, list, bd_mix64(r) % bd_list_size(list));
    return bd_address_in(e, bd_mix64(r ^ 0xabcdef));
}

/* Text of an entry: "a.b.c.d", "a.b.c.d/p", RFC 5952 IPv6, "v6/p";
 * expanded != 0 writes IPv6 fully expanded with zero padding. */
static inline const char *bd_format(const bd_entry *e, int expanded, char *buf, size_t n)
{
    char tmp[64];
    if (!e->v6) {
        uint32_t a = e->v4;
        snprintf(tmp, sizeof tmp, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    } else if (expanded) {
        const uint8_t *b = e->b;
        snprintf(tmp, sizeof tmp,
                 "%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x:%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                 b[12], b[13], b[14], b[15]);
    } else {
        inet_ntop(AF_INET6, e->b, tmp, sizeof tmp);
    }
    if (e->plen != (e->v6 ? 128 : 32))
        snprintf(buf, n, "%s/%d", tmp, e->plen);
    else
        snprintf(buf, n, "%s", tmp);
    return buf;
}

#endif
