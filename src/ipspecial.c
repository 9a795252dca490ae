/*
 * ipspecial.c: owns the table of special-purpose (not globally reachable)
 * address ranges and builds the set of them (see ipspecial.h).
 *
 * The table follows IANA's IPv4 and IPv6 Special-Purpose Address Registries
 * (RFC 6890, updated by RFC 8190): every block whose "Globally Reachable"
 * is False is listed; blocks marked True (192.0.0.9 and .10, AS112, AMT,
 * 64:ff9b::/96, the anycast, ORCHIDv2 and DRIP parts of 2001::/23) stay
 * matchable, and so do the N/A ones (6to4 2002::/16, Teredo 2001::/32, the
 * deprecated 6to4 relay anycast 192.88.99.0/24).  Multicast and
 * the deprecated site-local fec0::/10 are added: no unicast caller can have
 * such an address.  IPv4-mapped IPv6 (::ffff:0:0/96) is where IPv4 lives in
 * an ipset, so ::ffff:10.1.2.3 is treated as 10.1.2.3 and is private.
 */
#include "kguard/ipspecial.h"

#include <stddef.h>

const char *const ipspecial_ranges[] = {
    /* IPv4 */
    "0.0.0.0/8",          /* "this network" (RFC 791) */
    "10.0.0.0/8",         /* private (RFC 1918) */
    "100.64.0.0/10",      /* shared address space, carrier-grade NAT (RFC 6598) */
    "127.0.0.0/8",        /* loopback (RFC 1122) */
    "169.254.0.0/16",     /* link-local (RFC 3927) */
    "172.16.0.0/12",      /* private (RFC 1918) */
    "192.0.0.0/29",       /* IETF protocol assignments (RFC 6890), DS-Lite (RFC 6333); */
    "192.0.0.8/32",       /*   192.0.0.0/24 without 192.0.0.9 (PCP anycast) and */
    "192.0.0.11/32",      /*   192.0.0.10 (TURN anycast), which are global */
    "192.0.0.12/30",
    "192.0.0.16/28",
    "192.0.0.32/27",
    "192.0.0.64/26",
    "192.0.0.128/25",
    "192.0.2.0/24",       /* documentation TEST-NET-1 (RFC 5737) */
    "192.168.0.0/16",     /* private (RFC 1918) */
    "198.18.0.0/15",      /* benchmarking (RFC 2544) */
    "198.51.100.0/24",    /* documentation TEST-NET-2 (RFC 5737) */
    "203.0.113.0/24",     /* documentation TEST-NET-3 (RFC 5737) */
    "224.0.0.0/4",        /* multicast (RFC 5771) */
    "240.0.0.0/4",        /* reserved (RFC 1112), with 255.255.255.255 broadcast */
    /* IPv6 */
    "::/128",             /* unspecified (RFC 4291) */
    "::1/128",            /* loopback (RFC 4291) */
    "64:ff9b:1::/48",     /* local-use IPv4/IPv6 translation (RFC 8215) */
    "100::/64",           /* discard-only (RFC 6666) */
    /* 2001::/23, IETF protocol assignments (RFC 2928), by /32 blocks:
     * 2001::/32 Teredo (N/A), 2001:1::/32 (PCP, TURN and DNS-SD anycast),
     * 2001:3::/32 (AMT), 2001:4::/32 (AS112-v6 at 2001:4:112::/48),
     * 2001:20::/28 (ORCHIDv2) and 2001:30::/28 (DRIP) stay matchable;
     * the rest, benchmarking 2001:2::/48 and old ORCHID 2001:10::/28
     * included, is not global. */
    "2001:2::/32",
    "2001:5::/32",
    "2001:6::/31",
    "2001:8::/29",
    "2001:10::/28",
    "2001:40::/26",
    "2001:80::/25",
    "2001:100::/24",
    "2001:db8::/32",      /* documentation (RFC 3849) */
    "3fff::/20",          /* documentation (RFC 9637) */
    "5f00::/16",          /* segment routing SIDs (RFC 9602) */
    "fc00::/7",           /* unique local (RFC 4193) */
    "fe80::/10",          /* link-local (RFC 4291) */
    "fec0::/10",          /* site-local, deprecated (RFC 3879) */
    "ff00::/8",           /* multicast (RFC 4291) */
    NULL,
};

kg_ipset *ipspecial_set(void)
{
    char err[128];
    kg_ipset *set = ipset_new("special-purpose");
    if (!set)
        return NULL;
    for (size_t i = 0; ipspecial_ranges[i]; i++)
        if (ipset_add(set, ipspecial_ranges[i], err, sizeof err) != 0)
            goto fail;
    if (ipset_finalize(set) != 0)
        goto fail;
    return set;
fail:
    ipset_free(set);
    return NULL;
}
