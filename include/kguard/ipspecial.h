/*
 * ipspecial: the address ranges that are not globally reachable (IANA's
 * IPv4 and IPv6 special-purpose registries, RFC 6890 and its successors,
 * plus multicast and the reserved blocks).  A caller in them is inside the
 * cluster's own networks or cannot exist on the Internet, so threat lists
 * leave them out of matching (see lists.h).
 */
#ifndef KGUARD_IPSPECIAL_H
#define KGUARD_IPSPECIAL_H

#include "kguard/ipset.h"

/* A new finalized set holding every special-purpose range; NULL when out
 * of memory.  Free with ipset_free. */
kg_ipset *ipspecial_set(void);

/* The ranges as text (CIDR), NULL-terminated, for documentation and tests. */
extern const char *const ipspecial_ranges[];

#endif
