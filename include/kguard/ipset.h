/*
 * ipset: sets of IPv4 and IPv6 addresses and CIDR blocks (threat lists,
 * Tor exits, trusted addresses) with fast membership lookup.
 *
 * Every address lives in one 128-bit space: IPv4 a.b.c.d is stored as the
 * v4-mapped IPv6 address ::ffff:a.b.c.d, so a list may mix both families and
 * "1.2.3.4", "::ffff:1.2.3.4" and a fully expanded IPv6 spelling of the same
 * address are one key.  Entries are parsed with libcidr while loading; the
 * lookup key is parsed with inet_pton (no allocation on the hot path).
 *
 * Life cycle: ipset_new -> ipset_add / ipset_load_file ... -> ipset_finalize
 * -> ipset_contains (any number of threads may look up a finalized set).
 */
#ifndef KGUARD_IPSET_H
#define KGUARD_IPSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address in the unified 128-bit space, network byte order. */
typedef struct kg_ip {
    uint8_t b[16];
} kg_ip;

typedef struct kg_ipset kg_ipset;

/* Called for each line of a list file that is reported and skipped. */
typedef void (*kg_ipset_warn_fn)(void *ud, const char *path, long line,
                                 const char *msg);

/* A new empty set; NULL when out of memory.  The name is copied. */
kg_ipset *ipset_new(const char *name);
void ipset_free(kg_ipset *set);

const char *ipset_name(const kg_ipset *set);
/* Number of entries (addresses or blocks) added, before merging. */
size_t ipset_count(const kg_ipset *set);

/*
 * Add one entry: an address or a CIDR block, IPv4 or IPv6 (compressed, fully
 * expanded with zero padding, or v4-mapped).  Host bits below the prefix are
 * ignored.  Returns 0, or -1 with a message in err for a malformed entry
 * (partial IPv4 such as "1.2.3" is malformed).
 */
int ipset_add(kg_ipset *set, const char *text, char *err, size_t errlen);

/*
 * Load a list file.  Accepted line forms, '#' starts a comment, blank lines
 * are skipped:
 *   - one IP or CIDR per line, optionally followed by whitespace and more
 *     columns (ipsum's "IP<TAB>count", FireHOL ipset/netset files);
 *   - the Tor Project's exit-addresses format: "ExitAddress <ip> <time>"
 *     lines are entries, "ExitNode", "Published" and "LastStatus" lines are
 *     skipped silently.
 * A bad line is passed to warn (may be NULL) with path:line and skipped.
 * Returns the number of entries added, or -1 with a message in err when the
 * file cannot be read.
 */
long ipset_load_file(kg_ipset *set, const char *path, kg_ipset_warn_fn warn,
                     void *ud, char *err, size_t errlen);

/* What ipset_subtract did to the entries added since the last finalize. */
typedef struct kg_ipset_cut {
    size_t dropped;  /* entries wholly inside the cut set, left out */
    size_t clipped;  /* entries overlapping it, reduced to the rest */
} kg_ipset_cut;

/*
 * Remove every address of `cut` (a finalized set) from the entries added
 * since the last finalize: an entry wholly inside `cut` is dropped, one that
 * overlaps it keeps only its parts outside (0.0.0.0/0 minus 10.0.0.0/8 is
 * everything else).  Tables built by earlier finalizes are not touched.
 * Returns 0 (counts in *out when out is not NULL), or -1 when out of memory
 * (the set is then unchanged).
 */
int ipset_subtract(kg_ipset *set, const kg_ipset *cut, kg_ipset_cut *out);

/* A finalized copy of a finalized set (same name and count); NULL when out
 * of memory.  Entries pending in src are not copied. */
kg_ipset *ipset_copy(const kg_ipset *src);

/* Sort and merge the entries; must be called before ipset_contains.
 * Returns 0, or -1 when out of memory. */
int ipset_finalize(kg_ipset *set);

/*
 * The tables of the last finalize as flat arrays, for the list cache:
 * v4 is n4 ranges of two host-order uint32_t (first, last address of the
 * IPv4 area), v6 is n6 ranges of four host-order uint64_t (first address
 * high and low half, last address high and low half), each array sorted
 * and disjoint, v6 outside ::ffff:0:0/96.  The arrays belong to the set.
 */
typedef struct kg_ipset_image {
    const void *v4;
    size_t n4;
    const void *v6;
    size_t n6;
} kg_ipset_image;

void ipset_image(const kg_ipset *set, kg_ipset_image *img);

/*
 * A finalized set answering from img's arrays in place (8-byte aligned, not
 * copied), with `count` as its entry count.  The arrays are checked first
 * (sorted, disjoint, v6 outside the IPv4 area): NULL with a message in err
 * when they are not, or when out of memory; the caller keeps them then.
 * On success the set holds them until it is freed or finalized again, and
 * then calls release(ud) (may be NULL).
 */
kg_ipset *ipset_from_image(const char *name, size_t count, const kg_ipset_image *img,
                           void (*release)(void *ud), void *ud, char *err, size_t errlen);

/* Is the address in the (finalized) set? */
bool ipset_contains(const kg_ipset *set, const kg_ip *ip);

/* Parse an address (no prefix) for lookup; false when it is not an IP. */
bool ipset_parse_ip(const char *text, kg_ip *out);

/* Is this a v4-mapped (i.e. IPv4) address? */
bool ipset_ip_is_v4(const kg_ip *ip);

/* Format as text: dotted quad for IPv4, RFC 5952 form for IPv6.
 * buf must hold at least 46 bytes. */
const char *ipset_ip_format(const kg_ip *ip, char *buf, size_t buflen);

#endif
