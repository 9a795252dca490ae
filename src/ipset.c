/*
 * ipset.c: owns kg_ipset, the address/CIDR sets behind threat lists, Tor exit
 * lists and trusted-address lists: entry parsing (libcidr, with a strict
 * syntax gate in front of it), list-file loading, and the lookup tables.
 *
 * Representation.  Every entry becomes a range [start, end] of 128-bit keys
 * (IPv4 lives at ::ffff:a.b.c.d).  ipset_add appends ranges to a pending
 * array; ipset_finalize sorts and merges everything into sorted, disjoint,
 * non-adjacent ranges and splits them into two read-only tables: the parts
 * inside ::ffff:0:0/96 as 32-bit IPv4 ranges, and all other parts as
 * 128-bit ranges.  A table large enough gets a first-level index (at most
 * 2^16 buckets) over the bits that follow the prefix common to the whole
 * table, so a lookup is one index read, a short bisection and a branch-free
 * scan of a few adjacent ranges.
 *
 * Adding after ipset_finalize is allowed: the new entries stay pending and
 * ipset_contains keeps answering from the tables of the last finalize until
 * ipset_finalize is called again (which merges old tables and new entries).
 * A set that was never finalized contains nothing.
 */
#include "kguard/ipset.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <libcidr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

/* Longest entry text worth parsing: a full IPv6 with embedded IPv4 + /128. */
#define ENTRY_MAX_LEN 64
/* NUL bytes placed before the text given to libcidr (see parse_entry). */
#define LIBCIDR_PAD 16
/* Longest piece of bad text quoted back in a message. */
#define QUOTE_MAX_LEN 48
/* Tables with fewer ranges than this are searched without an index. */
#define INDEX_MIN_RANGES 64
/* At most 2^16 buckets (a 256 KiB index, small enough to stay cached),
 * aiming at about 4 ranges per bucket. */
#define INDEX_MAX_BITS 16
#define INDEX_RANGES_PER_BUCKET 4
/* Candidate runs this short (four cache lines of IPv4 ranges, two of IPv6
 * ranges) are scanned without branches rather than bisected. */
#define V4_SCAN_MAX 32
#define V6_SCAN_MAX 4

typedef struct u128 {
    uint64_t hi, lo;
} u128;

typedef struct range {
    u128 start, end;
} range;

/* An IPv4 range, as host-order 32-bit addresses. */
typedef struct v4range {
    uint32_t start, end;
} v4range;

/*
 * First-level index of a table: the ranges starting in bucket b are
 * [slot[b], slot[b + 1]).  The bucket of a key is the `bits` bits that
 * follow the first `shift` bits, which every key of the table shares.
 */
typedef struct bucket_index {
    unsigned shift;
    unsigned bits;   /* 0: no index */
    uint32_t *slot;  /* 2^bits + 1 entries */
} bucket_index;

/* Sorted, disjoint ranges inside ::ffff:0:0/96, as IPv4 addresses. */
typedef struct v4table {
    size_t n;
    v4range *r;
    uint32_t lo_key, hi_key;  /* r[0].start, r[n-1].end */
    bucket_index ix;
} v4table;

/* Sorted, disjoint ranges outside ::ffff:0:0/96. */
typedef struct v6table {
    size_t n;
    range *r;
    u128 lo_key, hi_key;
    bucket_index ix;
} v6table;

struct kg_ipset {
    char *name;
    size_t count;      /* entries added, before merging */
    range *pending;    /* added since the last finalize */
    size_t npending, cappending;
    v4table v4;
    v6table v6;
    /* Tables read in place from an image (ipset_from_image): their ranges
     * are not ours to free; release(release_ud) gives them back. */
    void (*release)(void *ud);
    void *release_ud;
};

/* Outcome of parsing or adding one entry. */
enum add_status { ADD_OK = 0, ADD_BAD = -1, ADD_NOMEM = -2 };

/* ::ffff:0:0/96, where IPv4 addresses live. */
static const uint8_t V4_PREFIX[12] = { 0, 0, 0, 0, 0, 0,
                                       0, 0, 0, 0, 0xff, 0xff };
static const u128 V4_FIRST = { 0, UINT64_C(0x0000ffff00000000) };
static const u128 V4_LAST = { 0, UINT64_C(0x0000ffffffffffff) };

/* ---- 128-bit helpers ------------------------------------------------- */

static inline bool u128_lt(u128 a, u128 b)
{
    return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo);
}

static inline bool u128_le(u128 a, u128 b)
{
    return !u128_lt(b, a);
}

static u128 u128_inc(u128 a)
{
    u128 r = { a.hi + (a.lo == UINT64_MAX), a.lo + 1 };
    return r;
}

static u128 u128_dec(u128 a)
{
    u128 r = { a.hi - (a.lo == 0), a.lo - 1 };
    return r;
}

static bool u128_is_max(u128 a)
{
    return a.hi == UINT64_MAX && a.lo == UINT64_MAX;
}

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return be64toh(v);
}

static inline u128 u128_from_ip(const kg_ip *ip)
{
    u128 r = { load_be64(ip->b), load_be64(ip->b + 8) };
    return r;
}

/* Mask with the top plen (0..128) bits set. */
static u128 prefix_mask(unsigned plen)
{
    u128 m = { 0, 0 };
    if (plen >= 128) {
        m.hi = m.lo = UINT64_MAX;
    } else if (plen > 64) {
        m.hi = UINT64_MAX;
        m.lo = UINT64_MAX << (128 - plen);
    } else if (plen > 0) {
        m.hi = UINT64_MAX << (64 - plen);
    }
    return m;
}

/* Number of leading bits a and b share. */
static unsigned common_prefix_len(u128 a, u128 b)
{
    uint64_t x = a.hi ^ b.hi;
    if (x)
        return (unsigned)__builtin_clzll(x);
    x = a.lo ^ b.lo;
    return x ? 64 + (unsigned)__builtin_clzll(x) : 128;
}

/* The 64 bits of k starting at bit `skip` (< 128), zero-filled. */
static inline uint64_t bits_after(u128 k, unsigned skip)
{
    if (skip == 0)
        return k.hi;
    if (skip < 64)
        return (k.hi << skip) | (k.lo >> (64 - skip));
    return k.lo << (skip - 64);
}

/* ---- messages -------------------------------------------------------- */

/* Copy text into out for quoting, shortened with "..." when long. */
static const char *quote_text(const char *text, char out[QUOTE_MAX_LEN + 4])
{
    size_t len = strlen(text);
    if (len <= QUOTE_MAX_LEN)
        return text;
    memcpy(out, text, QUOTE_MAX_LEN);
    memcpy(out + QUOTE_MAX_LEN, "...", 4);
    return out;
}

static int bad_entry(char *err, size_t errlen, const char *text,
                     const char *why)
{
    char q[QUOTE_MAX_LEN + 4];
    util_set_err(err, errlen, "bad address \"%s\": %s", quote_text(text, q), why);
    return ADD_BAD;
}

/* ---- entry parsing --------------------------------------------------- */

/* Decimal prefix length: 1-3 digits, no leading zero, at most maxlen. */
static bool valid_prefix_len(const char *s, unsigned maxlen)
{
    size_t n = strlen(s);
    unsigned v = 0;
    if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    return v <= maxlen;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += (*s == c);
    return n;
}

/*
 * Strict syntax check in front of libcidr, which is lenient (it takes
 * "1.2.3" as 1.2.0.3, "010.1.1.1" as octal, "1.2.3.4/-1", "1.2.3.4/" ...).
 * The address part must satisfy inet_pton; the address it denotes is
 * returned in addr so the libcidr result can be cross-checked.
 */
static int check_entry_syntax(const char *text, kg_ip *addr, char *err,
                              size_t errlen)
{
    char buf[ENTRY_MAX_LEN + 1];
    size_t len = strlen(text);
    if (len == 0)
        return bad_entry(err, errlen, text, "empty entry");
    if (len > ENTRY_MAX_LEN)
        return bad_entry(err, errlen, text, "too long for an address");
    memcpy(buf, text, len + 1);

    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    bool v6 = strchr(buf, ':') != NULL;
    size_t dots = v6 ? 3 : count_char(buf, '.');
    if (dots == 0)
        return bad_entry(err, errlen, text, "not an IP address");
    if (dots < 3)
        return bad_entry(err, errlen, text,
                         "partial IPv4 address (needs four octets)");
    if (!ipset_parse_ip(buf, addr))
        return bad_entry(err, errlen, text,
                         v6 ? "not an IPv6 address" : "not an IPv4 address");
    if (slash && !valid_prefix_len(slash + 1, v6 ? 128 : 32))
        return bad_entry(err, errlen, text,
                         v6 ? "prefix length must be 0..128"
                            : "prefix length must be 0..32");
    return ADD_OK;
}

/* Parse one entry with libcidr into a 128-bit range. */
static int parse_entry(const char *text, range *out, char *err,
                       size_t errlen)
{
    kg_ip expect;
    int rc = check_entry_syntax(text, &expect, err, errlen);
    if (rc != ADD_OK)
        return rc;

    /* libcidr 1.2.3 compares the last 8 characters against ".ip6.int"
     * without checking the length, reading before shorter strings; hand it
     * a copy preceded by NULs (check_entry_syntax bounded the length). */
    char padded[LIBCIDR_PAD + ENTRY_MAX_LEN + 1] = { 0 };
    memcpy(padded + LIBCIDR_PAD, text, strlen(text) + 1);

    uint8_t *bytes = NULL;
    errno = 0;
    CIDR *cidr = cidr_from_str(padded + LIBCIDR_PAD);
    if (!cidr) {
        rc = errno == ENOMEM
                 ? ADD_NOMEM
                 : bad_entry(err, errlen, text, "rejected by libcidr");
        goto cleanup;
    }
    bytes = cidr_get_addr(cidr);
    if (!bytes) {
        rc = ADD_NOMEM;
        goto cleanup;
    }
    if (memcmp(bytes, expect.b, sizeof expect.b) != 0) {
        rc = bad_entry(err, errlen, text, "libcidr reads it differently");
        goto cleanup;
    }
    int pflen = cidr_get_pflen(cidr);
    if (cidr_get_proto(cidr) == CIDR_IPV4)
        pflen += 96;
    if (pflen < 0 || pflen > 128) {
        rc = bad_entry(err, errlen, text, "bad prefix length");
        goto cleanup;
    }

    kg_ip ip;
    memcpy(ip.b, bytes, sizeof ip.b);
    u128 key = u128_from_ip(&ip);
    u128 mask = prefix_mask((unsigned)pflen);
    out->start.hi = key.hi & mask.hi;
    out->start.lo = key.lo & mask.lo;
    out->end.hi = out->start.hi | ~mask.hi;
    out->end.lo = out->start.lo | ~mask.lo;
    rc = ADD_OK;

cleanup:
    free(bytes);
    if (cidr)
        cidr_free(cidr);
    return rc;
}

/* ---- set life cycle -------------------------------------------------- */

static void v4table_free(v4table *t)
{
    free(t->r);
    free(t->ix.slot);
    memset(t, 0, sizeof *t);
}

static void v6table_free(v6table *t)
{
    free(t->r);
    free(t->ix.slot);
    memset(t, 0, sizeof *t);
}

/* Free the tables of the last finalize (or give back an image's). */
static void drop_tables(kg_ipset *set)
{
    if (set->release) {
        set->v4.r = NULL;
        set->v6.r = NULL;
        set->release(set->release_ud);
        set->release = NULL;
        set->release_ud = NULL;
    }
    v4table_free(&set->v4);
    v6table_free(&set->v6);
}

kg_ipset *ipset_new(const char *name)
{
    kg_ipset *set = calloc(1, sizeof *set);
    if (!set)
        return NULL;
    set->name = strdup(name ? name : "");
    if (!set->name) {
        free(set);
        return NULL;
    }
    return set;
}

void ipset_free(kg_ipset *set)
{
    if (!set)
        return;
    drop_tables(set);
    free(set->pending);
    free(set->name);
    free(set);
}

const char *ipset_name(const kg_ipset *set)
{
    return set->name;
}

size_t ipset_count(const kg_ipset *set)
{
    return set->count;
}

/* Make room for `extra` more pending ranges, growing geometrically. */
static int reserve_pending(kg_ipset *set, size_t extra)
{
    if (set->cappending - set->npending >= extra)
        return 0;
    if (extra > SIZE_MAX / sizeof(range) - set->npending)
        return -1;
    size_t need = set->npending + extra;
    size_t cap = set->cappending ? set->cappending : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / (2 * sizeof(range)) ? need : cap * 2;
    range *p = realloc(set->pending, cap * sizeof *p);
    if (!p)
        return -1;
    set->pending = p;
    set->cappending = cap;
    return 0;
}

/* ipset_add with a status telling malformed input from out-of-memory. */
static int add_entry(kg_ipset *set, const char *text, char *err,
                     size_t errlen)
{
    range r;
    int rc = parse_entry(text, &r, err, errlen);
    if (rc == ADD_OK && reserve_pending(set, 1) != 0)
        rc = ADD_NOMEM;
    if (rc == ADD_NOMEM) {
        util_set_err(err, errlen, "out of memory");
        return rc;
    }
    if (rc != ADD_OK)
        return rc;
    set->pending[set->npending++] = r;
    set->count++;
    return ADD_OK;
}

int ipset_add(kg_ipset *set, const char *text, char *err, size_t errlen)
{
    if (!text)
        return bad_entry(err, errlen, "", "no entry");
    return add_entry(set, text, err, errlen) == ADD_OK ? 0 : -1;
}

/* ---- list files ------------------------------------------------------ */

/* Next whitespace-separated token of *cursor (modified in place), or NULL. */
static char *next_token(char **cursor)
{
    char *p = *cursor;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p)
        return NULL;
    char *tok = p;
    while (*p && !isspace((unsigned char)*p))
        p++;
    if (*p)
        *p++ = '\0';
    *cursor = p;
    return tok;
}

static bool is_tor_skip_keyword(const char *tok)
{
    return strcmp(tok, "ExitNode") == 0 || strcmp(tok, "Published") == 0 ||
           strcmp(tok, "LastStatus") == 0;
}

/*
 * Pick the entry out of one line (modified in place).  Returns the entry,
 * or NULL with *why set for a bad line and left NULL for a line to skip.
 */
static const char *line_entry(char *line, const char **why)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    char *cursor = line;
    char *tok = next_token(&cursor);
    *why = NULL;
    if (!tok || is_tor_skip_keyword(tok))
        return NULL;
    if (strcmp(tok, "ExitAddress") != 0)
        return tok;
    tok = next_token(&cursor);
    if (!tok)
        *why = "ExitAddress line without an address";
    return tok;
}

/* Handle one line: 1 when an entry was added, 0 when not, -1 on no memory. */
static int load_line(kg_ipset *set, char *line, const char *path, long lineno,
                     kg_ipset_warn_fn warn, void *ud)
{
    char msg[160];
    const char *why;
    const char *entry = line_entry(line, &why);
    if (!entry) {
        if (why && warn)
            warn(ud, path, lineno, why);
        return 0;
    }
    int rc = add_entry(set, entry, msg, sizeof msg);
    if (rc == ADD_NOMEM)
        return -1;
    if (rc != ADD_OK) {
        if (warn)
            warn(ud, path, lineno, msg);
        return 0;
    }
    return 1;
}

long ipset_load_file(kg_ipset *set, const char *path, kg_ipset_warn_fn warn,
                     void *ud, char *err, size_t errlen)
{
    long added = -1, lineno = 0, n = 0;
    char *line = NULL;
    size_t cap = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        util_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (getline(&line, &cap, f) != -1) {
        int rc = load_line(set, line, path, ++lineno, warn, ud);
        if (rc < 0) {
            util_set_err(err, errlen, "%s:%ld: out of memory", path, lineno);
            goto cleanup;
        }
        n += rc;
    }
    if (ferror(f)) {
        util_set_err(err, errlen, "%s: %s", path, strerror(errno));
        goto cleanup;
    }
    added = n;

cleanup:
    free(line);
    fclose(f);
    return added;
}

/* ---- merging --------------------------------------------------------- */

static int range_cmp(const void *a, const void *b)
{
    const range *x = a, *y = b;
    if (u128_lt(x->start, y->start))
        return -1;
    return u128_lt(y->start, x->start) ? 1 : 0;
}

static bool ranges_sorted(const range *r, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (u128_lt(r[i].start, r[i - 1].start))
            return false;
    return true;
}

/* Merge sorted ranges in place (overlapping or adjacent); new length. */
static size_t merge_ranges(range *r, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out > 0) {
            range *last = &r[out - 1];
            if (u128_is_max(last->end) ||
                u128_le(r[i].start, u128_inc(last->end))) {
                if (u128_lt(last->end, r[i].end))
                    last->end = r[i].end;
                continue;
            }
        }
        r[out++] = r[i];
    }
    return out;
}

/* Append the tables' ranges to the pending array (to merge them again). */
static int pending_append_tables(kg_ipset *set)
{
    if (reserve_pending(set, set->v4.n + set->v6.n) != 0)
        return -1;
    for (size_t i = 0; i < set->v4.n; i++) {
        range r = { { 0, V4_FIRST.lo | set->v4.r[i].start },
                    { 0, V4_FIRST.lo | set->v4.r[i].end } };
        set->pending[set->npending++] = r;
    }
    for (size_t i = 0; i < set->v6.n; i++)
        set->pending[set->npending++] = set->v6.r[i];
    return 0;
}

static bool below_v4(u128 s)
{
    return u128_lt(s, V4_FIRST);
}

static bool above_v4(u128 e)
{
    return u128_lt(V4_LAST, e);
}

static bool overlaps_v4(const range *r)
{
    return u128_le(r->start, V4_LAST) && u128_le(V4_FIRST, r->end);
}

static void v6_push(v6table *t, u128 start, u128 end)
{
    range r = { start, end };
    t->r[t->n++] = r;
}

/* The part of r inside the IPv4 area, as IPv4 addresses. */
static v4range v4_part(const range *r)
{
    v4range v = { below_v4(r->start) ? 0 : (uint32_t)r->start.lo,
                  above_v4(r->end) ? UINT32_MAX : (uint32_t)r->end.lo };
    return v;
}

/* Split merged ranges into the IPv4 and IPv6 tables, keeping the order. */
static int split_ranges(const range *r, size_t n, v4table *v4, v6table *v6)
{
    size_t n4 = 0, n6 = 0;
    for (size_t i = 0; i < n; i++) {
        if (overlaps_v4(&r[i])) {
            n4++;
            n6 += below_v4(r[i].start) + above_v4(r[i].end);
        } else {
            n6++;
        }
    }
    v4->r = n4 ? malloc(n4 * sizeof *v4->r) : NULL;
    v6->r = n6 ? malloc(n6 * sizeof *v6->r) : NULL;
    if ((n4 && !v4->r) || (n6 && !v6->r))
        return -1;
    for (size_t i = 0; i < n; i++) {
        u128 s = r[i].start, e = r[i].end;
        if (!overlaps_v4(&r[i])) {
            v6_push(v6, s, e);
            continue;
        }
        if (below_v4(s))
            v6_push(v6, s, u128_dec(V4_FIRST));
        v4->r[v4->n++] = v4_part(&r[i]);
        if (above_v4(e))
            v6_push(v6, u128_inc(V4_LAST), e);
    }
    return 0;
}

/* ---- subtracting ------------------------------------------------------ */

/* A finalized set's tables as sorted, disjoint 128-bit ranges. */
static range *table_ranges(const kg_ipset *set, size_t *n)
{
    size_t total = set->v4.n + set->v6.n, k = 0, j = 0;
    range *r = malloc((total ? total : 1) * sizeof *r);
    if (!r)
        return NULL;
    for (; j < set->v6.n && below_v4(set->v6.r[j].start); j++)
        r[k++] = set->v6.r[j];
    for (size_t i = 0; i < set->v4.n; i++) {
        range v = { { 0, V4_FIRST.lo | set->v4.r[i].start },
                    { 0, V4_FIRST.lo | set->v4.r[i].end } };
        r[k++] = v;
    }
    for (; j < set->v6.n; j++)
        r[k++] = set->v6.r[j];
    *n = k;
    return r;
}

/* Index of the first cut range ending at or after k. */
static size_t first_ending_after(const range *c, size_t m, u128 k)
{
    size_t lo = 0, hi = m;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (u128_lt(c[mid].end, k))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Write the parts of r outside the cut ranges c to out (at most cap of
 * them; out may be NULL with cap 0); *hit tells whether r overlapped any.
 * Returns the number of parts, also those beyond cap. */
static size_t cut_one(range r, const range *c, size_t m, range *out, size_t cap, bool *hit)
{
    size_t parts = 0;
    u128 cur = r.start;
    *hit = false;
    for (size_t i = first_ending_after(c, m, r.start); i < m && u128_le(c[i].start, r.end); i++) {
        *hit = true;
        if (u128_lt(cur, c[i].start)) {
            if (parts < cap)
                out[parts] = (range){ cur, u128_dec(c[i].start) };
            parts++;
        }
        if (u128_le(r.end, c[i].end))
            return parts;
        cur = u128_inc(c[i].end);
    }
    if (parts < cap)
        out[parts] = (range){ cur, r.end };
    return parts + 1;
}

/* Replace the pending entries by their parts outside c, into a buffer of
 * `total` ranges (in place when no entry splits in two). */
static int cut_pending(kg_ipset *set, const range *c, size_t m, size_t total, bool split)
{
    range *dst = set->pending;
    size_t w = 0;
    bool hit;
    if (split && !(dst = malloc((total ? total : 1) * sizeof *dst)))
        return -1;
    for (size_t i = 0; i < set->npending; i++)
        w += cut_one(set->pending[i], c, m, dst + w, total - w, &hit);
    if (split) {
        free(set->pending);
        set->pending = dst;
        set->cappending = total ? total : 1;
    }
    set->npending = w;
    return 0;
}

int ipset_subtract(kg_ipset *set, const kg_ipset *cut, kg_ipset_cut *out)
{
    kg_ipset_cut counts = { 0, 0 };
    size_t m = 0, total = 0;
    bool split = false;
    range *c = table_ranges(cut, &m);
    int rc = -1;

    if (!c)
        goto cleanup;
    /* First count: most lists have nothing to cut and are left as they are. */
    for (size_t i = 0; i < set->npending; i++) {
        bool hit;
        size_t parts = cut_one(set->pending[i], c, m, NULL, 0, &hit);
        counts.dropped += hit && parts == 0;
        counts.clipped += hit && parts > 0;
        split |= parts > 1;
        total += parts;
    }
    if ((counts.dropped || counts.clipped) && cut_pending(set, c, m, total, split) != 0)
        goto cleanup;
    if (out)
        *out = counts;
    rc = 0;

cleanup:
    free(c);
    return rc;
}

kg_ipset *ipset_copy(const kg_ipset *src)
{
    kg_ipset *set = ipset_new(src->name);
    size_t n = 0;
    range *r;
    if (!set)
        return NULL;
    if (!(r = table_ranges(src, &n))) {
        ipset_free(set);
        return NULL;
    }
    free(set->pending);
    set->pending = r;
    set->npending = n;
    set->cappending = n ? n : 1;
    set->count = src->count;
    if (ipset_finalize(set) != 0) {
        ipset_free(set);
        return NULL;
    }
    return set;
}

/* ---- index ----------------------------------------------------------- */

static unsigned index_bits_for(size_t n)
{
    unsigned bits = 1;
    while (bits < INDEX_MAX_BITS &&
           ((size_t)INDEX_RANGES_PER_BUCKET << bits) < n)
        bits++;
    return bits;
}

/* Allocate an index for n ranges of keybits-wide keys sharing `common`
 * leading bits; small tables get none. */
static int index_init(bucket_index *ix, size_t n, unsigned common,
                      unsigned keybits)
{
    memset(ix, 0, sizeof *ix);
    if (n < INDEX_MIN_RANGES)
        return 0;
    unsigned bits = index_bits_for(n);
    ix->slot = malloc((((size_t)1 << bits) + 1) * sizeof *ix->slot);
    if (!ix->slot)
        return -1;
    ix->bits = bits;
    ix->shift = common < keybits - bits ? common : keybits - bits;
    return 0;
}

/* Range i (ranges taken in order) starts in bucket b: point the buckets
 * from `next` up to b at it.  Returns the next bucket to fill. */
static size_t index_mark(bucket_index *ix, size_t next, uint32_t b, size_t i)
{
    while (next <= b)
        ix->slot[next++] = (uint32_t)i;
    return next;
}

static void index_finish(bucket_index *ix, size_t next, size_t n)
{
    size_t nb = (size_t)1 << ix->bits;
    while (next <= nb)
        ix->slot[next++] = (uint32_t)n;
}

static inline uint32_t v4_bucket(const bucket_index *ix, uint32_t k)
{
    return (uint32_t)((((uint64_t)k << 32) << ix->shift) >> (64 - ix->bits));
}

static inline uint32_t v6_bucket(const bucket_index *ix, u128 k)
{
    return (uint32_t)(bits_after(k, ix->shift) >> (64 - ix->bits));
}

static int v4table_build_index(v4table *t)
{
    if (t->n == 0)
        return 0;
    t->lo_key = t->r[0].start;
    t->hi_key = t->r[t->n - 1].end;
    uint32_t diff = t->lo_key ^ t->hi_key;
    unsigned common = diff ? (unsigned)__builtin_clz(diff) : 32;
    if (index_init(&t->ix, t->n, common, 32) != 0)
        return -1;
    if (!t->ix.slot)
        return 0;
    size_t next = 0;
    for (size_t i = 0; i < t->n; i++)
        next = index_mark(&t->ix, next, v4_bucket(&t->ix, t->r[i].start), i);
    index_finish(&t->ix, next, t->n);
    return 0;
}

static int v6table_build_index(v6table *t)
{
    if (t->n == 0)
        return 0;
    t->lo_key = t->r[0].start;
    t->hi_key = t->r[t->n - 1].end;
    unsigned common = common_prefix_len(t->lo_key, t->hi_key);
    if (index_init(&t->ix, t->n, common, 128) != 0)
        return -1;
    if (!t->ix.slot)
        return 0;
    size_t next = 0;
    for (size_t i = 0; i < t->n; i++)
        next = index_mark(&t->ix, next, v6_bucket(&t->ix, t->r[i].start), i);
    index_finish(&t->ix, next, t->n);
    return 0;
}

/* ---- finalize -------------------------------------------------------- */

static int v4range_cmp(const void *a, const void *b)
{
    const v4range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort and merge IPv4 ranges in place (overlapping or adjacent); new length. */
static size_t merge_v4(v4range *r, size_t n)
{
    size_t out = 0;
    qsort(r, n, sizeof *r, v4range_cmp);
    for (size_t i = 0; i < n; i++) {
        if (out > 0) {
            v4range *last = &r[out - 1];
            if (last->end == UINT32_MAX || r[i].start <= last->end + 1) {
                if (last->end < r[i].end)
                    last->end = r[i].end;
                continue;
            }
        }
        r[out++] = r[i];
    }
    return out;
}

/*
 * Move the pending ranges that lie wholly inside the IPv4 area (nearly
 * every entry of a real list) into an array of 8-byte IPv4 ranges, keep
 * the others at the front of pending and give back the room they took:
 * sorting and merging then need a quarter of the memory.  On failure
 * nothing has moved.
 */
static int take_v4(kg_ipset *set, v4table *out)
{
    size_t n = 0, w = 0;
    range *p = set->pending;
    for (size_t i = 0; i < set->npending; i++)
        n += !below_v4(p[i].start) && !above_v4(p[i].end);
    if (n == 0)
        return 0;
    if (!(out->r = malloc(n * sizeof *out->r)))
        return -1;
    for (size_t i = 0; i < set->npending; i++) {
        if (!below_v4(p[i].start) && !above_v4(p[i].end))
            out->r[out->n++] = (v4range){ (uint32_t)p[i].start.lo, (uint32_t)p[i].end.lo };
        else
            p[w++] = p[i];
    }
    set->npending = w;
    if ((p = realloc(set->pending, (w ? w : 1) * sizeof *p)) != NULL) {
        set->pending = p;
        set->cappending = w ? w : 1;
    }
    return 0;
}

/* Add the IPv4 parts split off ranges that cross the area's edges. */
static int v4_join(v4table *a, v4table *b)
{
    v4range *r;
    if (b->n == 0)
        return 0;
    if (!(r = realloc(a->r, (a->n + b->n) * sizeof *r)))
        return -1;
    memcpy(r + a->n, b->r, b->n * sizeof *r);
    a->r = r;
    a->n += b->n;
    return 0;
}

/* Merge the IPv4 ranges and fit the array to them. */
static void v4_settle(v4table *t)
{
    v4range *r;
    if (t->n == 0)
        return;
    t->n = merge_v4(t->r, t->n);
    if ((r = realloc(t->r, t->n * sizeof *r)) != NULL)
        t->r = r;
}

int ipset_finalize(kg_ipset *set)
{
    v4table v4 = { 0 }, cross4 = { 0 };
    v6table v6 = { 0 };
    int rc = -1;
    /* Nothing added since the last finalize: the tables are final. */
    if (set->npending == 0) {
        free(set->pending);
        set->pending = NULL;
        set->cappending = 0;
        return 0;
    }
    /* The index counts ranges in uint32_t. */
    if (set->npending > UINT32_MAX ||
        set->v4.n + set->v6.n > UINT32_MAX - set->npending)
        goto cleanup;
    if (pending_append_tables(set) != 0 || take_v4(set, &v4) != 0)
        goto cleanup;
    /* From here on failing loses the entries added since the last
     * finalize; the tables of the last finalize stay. */
    if (!ranges_sorted(set->pending, set->npending))
        qsort(set->pending, set->npending, sizeof *set->pending, range_cmp);
    set->npending = merge_ranges(set->pending, set->npending);
    if (split_ranges(set->pending, set->npending, &cross4, &v6) != 0 ||
        v4_join(&v4, &cross4) != 0)
        goto cleanup;
    v4_settle(&v4);
    if (v4table_build_index(&v4) != 0 || v6table_build_index(&v6) != 0)
        goto cleanup;

    drop_tables(set);
    set->v4 = v4;
    set->v6 = v6;
    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    rc = 0;

cleanup:
    free(set->pending);
    set->pending = NULL;
    set->npending = set->cappending = 0;
    v4table_free(&v4);
    v4table_free(&cross4);
    v6table_free(&v6);
    return rc;
}

/* ---- images (the list cache) ----------------------------------------- */

void ipset_image(const kg_ipset *set, kg_ipset_image *img)
{
    img->v4 = set->v4.r;
    img->n4 = set->v4.n;
    img->v6 = set->v6.r;
    img->n6 = set->v6.n;
}

/* Sorted and disjoint: what a lookup relies on. */
static bool v4_ranges_valid(const v4range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].start > r[i].end || (i > 0 && r[i].start <= r[i - 1].end))
            return false;
    return true;
}

/* ... and outside the IPv4 area. */
static bool v6_ranges_valid(const range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (u128_lt(r[i].end, r[i].start) || overlaps_v4(&r[i]) ||
            (i > 0 && u128_le(r[i].start, r[i - 1].end)))
            return false;
    return true;
}

kg_ipset *ipset_from_image(const char *name, size_t count, const kg_ipset_image *img,
                           void (*release)(void *ud), void *ud, char *err, size_t errlen)
{
    kg_ipset *set = NULL;
    if (img->n4 > UINT32_MAX || img->n6 > UINT32_MAX || (img->n4 && !img->v4) ||
        (img->n6 && !img->v6) || ((uintptr_t)img->v4 | (uintptr_t)img->v6) % 8) {
        util_set_err(err, errlen, "bad table sizes");
        return NULL;
    }
    if (!v4_ranges_valid(img->v4, img->n4) || !v6_ranges_valid(img->v6, img->n6)) {
        util_set_err(err, errlen, "ranges not sorted and disjoint");
        return NULL;
    }
    if (!(set = ipset_new(name)))
        goto nomem;
    set->count = count;
    set->v4.r = (v4range *)img->v4;
    set->v4.n = img->n4;
    set->v6.r = (range *)img->v6;
    set->v6.n = img->n6;
    set->release = release;
    set->release_ud = ud;
    if (v4table_build_index(&set->v4) != 0 || v6table_build_index(&set->v6) != 0)
        goto nomem;
    return set;

nomem:
    if (set) {
        set->v4.r = NULL;
        set->v6.r = NULL;
        set->release = NULL;   /* the caller keeps the image on failure */
        ipset_free(set);
    }
    util_set_err(err, errlen, "out of memory");
    return NULL;
}

/* ---- lookup ---------------------------------------------------------- */

/*
 * Position of the range that may hold k: the number of starts <= k in
 * r[lo, hi), plus lo.  Bisect down to a short run, then count it without
 * branches: its loads are independent, so their cache misses overlap.
 */
static size_t v4_position(const v4range *r, size_t lo, size_t hi, uint32_t k)
{
    while (hi - lo > V4_SCAN_MAX) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].start <= k)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t pos = lo;
    for (size_t i = lo; i < hi; i++)
        pos += r[i].start <= k;
    return pos;
}

static size_t v6_position(const range *r, size_t lo, size_t hi, u128 k)
{
    while (hi - lo > V6_SCAN_MAX) {
        size_t mid = lo + (hi - lo) / 2;
        if (u128_le(r[mid].start, k))
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t pos = lo;
    for (size_t i = lo; i < hi; i++)
        pos += u128_le(r[i].start, k);
    return pos;
}

static bool v4table_contains(const v4table *t, uint32_t k)
{
    if (t->n == 0 || k < t->lo_key || k > t->hi_key)
        return false;
    size_t lo = 0, hi = t->n;
    if (t->ix.slot) {
        uint32_t b = v4_bucket(&t->ix, k);
        lo = t->ix.slot[b];
        hi = t->ix.slot[b + 1];
    }
    /* r[0].start <= k, so the position is at least 1. */
    size_t pos = v4_position(t->r, lo, hi, k);
    return pos > 0 && k <= t->r[pos - 1].end;
}

static bool v6table_contains(const v6table *t, u128 k)
{
    if (t->n == 0 || u128_lt(k, t->lo_key) || u128_lt(t->hi_key, k))
        return false;
    size_t lo = 0, hi = t->n;
    if (t->ix.slot) {
        uint32_t b = v6_bucket(&t->ix, k);
        lo = t->ix.slot[b];
        hi = t->ix.slot[b + 1];
    }
    size_t pos = v6_position(t->r, lo, hi, k);
    return pos > 0 && u128_le(k, t->r[pos - 1].end);
}

bool ipset_contains(const kg_ipset *set, const kg_ip *ip)
{
    if (!set || !ip)
        return false;
    if (ipset_ip_is_v4(ip)) {
        uint32_t k;
        memcpy(&k, ip->b + 12, sizeof k);
        return v4table_contains(&set->v4, be32toh(k));
    }
    return v6table_contains(&set->v6, u128_from_ip(ip));
}

/* ---- addresses ------------------------------------------------------- */

bool ipset_parse_ip(const char *text, kg_ip *out)
{
    if (!text || !out)
        return false;
    if (strchr(text, ':'))
        return inet_pton(AF_INET6, text, out->b) == 1;
    if (inet_pton(AF_INET, text, out->b + 12) != 1)
        return false;
    memcpy(out->b, V4_PREFIX, sizeof V4_PREFIX);
    return true;
}

bool ipset_ip_is_v4(const kg_ip *ip)
{
    return memcmp(ip->b, V4_PREFIX, sizeof V4_PREFIX) == 0;
}

const char *ipset_ip_format(const kg_ip *ip, char *buf, size_t buflen)
{
    const char *s;
    if (!buf || buflen == 0)
        return NULL;
    if (buflen > INET6_ADDRSTRLEN)
        buflen = INET6_ADDRSTRLEN;
    if (ipset_ip_is_v4(ip))
        s = inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)buflen);
    else
        s = inet_ntop(AF_INET6, ip->b, buf, (socklen_t)buflen);
    if (!s)
        buf[0] = '\0';
    return buf;
}
