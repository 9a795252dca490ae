/*
 * prescan: a validating walk over JSON text that builds nothing, used to
 * read an audit Event's top-level members (and the few nested ones
 * event_extract checks) before deciding whether to parse it at all.
 *
 * The walk accepts strict JSON only (RFC 8259, with cJSON's own limits:
 * no lone surrogate escapes, no number longer than MAX_NUMBER characters,
 * no nesting deeper than MAX_DEPTH), a subset of what cJSON parses, so a
 * text it accepts is one cJSON accepts.  The field tables mirror
 * event.c's: a text this module vouches for extracts without an error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "prescan.h"

#define MAX_DEPTH 64
#define MAX_NUMBER 40

enum { V_BAD, V_STR, V_OBJ, V_ARR, V_NUM, V_BOOL, V_NULL, V_ANY = 0 };

typedef struct cur {
    const char *p, *end;
} cur;

/* One member (or array element: key NULL) as the walk meets it. */
typedef struct member {
    const char *key;
    size_t klen;
    bool key_esc;
    int type;
    const char *v, *vend;
    bool v_esc;             /* a string value holding escapes */
} member;

typedef bool (*member_fn)(void *ud, const member *m);

static bool walk(cur *c, int depth, member_fn fn, void *ud);
static bool skip_flat(cur *c, int level);

static void ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static long hex4(const char *p, const char *end)
{
    long v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0'
              : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* p at a backslash: the byte after the escape, or NULL. */
static const char *skip_escape(const char *p, const char *end)
{
    long u, lo;
    if (end - p < 2)
        return NULL;
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return p + 2;
    default:
        break;
    }
    if (p[1] != 'u' || (u = hex4(p + 2, end)) < 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return NULL;
    if (u < 0xD800 || u > 0xDBFF)
        return p + 6;
    if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
        return NULL;            /* a high surrogate needs its low half */
    lo = hex4(p + 8, end);
    return lo >= 0xDC00 && lo <= 0xDFFF ? p + 12 : NULL;
}

/* The bytes of a word that are '"' or '\\', as the top bit of each (the
 * classic zero-byte test on the word XORed with each character; bits
 * above a true match may be false alarms, the lowest set bit never is). */
#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static inline uint64_t word_special(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"'), b = w ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b)) & HIGHS;
}

/* From p (inside a string): the first '"' or '\\', or end. */
static const char *next_special(const char *p, const char *end)
{
    while (end - p >= 8) {
        uint64_t w, m;
        memcpy(&w, p, 8);
        if ((m = word_special(w)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return p + (__builtin_ctzll(m) >> 3);
#else
            break;
#endif
        }
        p += 8;
    }
    while (p < end && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* A string from its opening quote.  Raw control characters in it are
 * accepted, as cJSON does (input.c has refused all but tab, CR and LF). */
static bool skip_string(cur *c, bool *esc)
{
    const char *p = c->p + 1, *end = c->end;
    *esc = false;
    while ((p = next_special(p, end)) < end) {
        if (*p == '"') {
            c->p = p + 1;
            return true;
        }
        *esc = true;
        if (!(p = skip_escape(p, end)))
            return false;
    }
    return false;
}

static bool digit(const cur *c, const char *p)
{
    return p < c->end && *p >= '0' && *p <= '9';
}

static bool skip_number(cur *c)
{
    const char *p = c->p;
    if (p < c->end && *p == '-')
        p++;
    if (!digit(c, p))
        return false;
    if (*p++ != '0')
        while (digit(c, p))
            p++;
    if (p < c->end && *p == '.') {
        if (!digit(c, ++p))
            return false;
        while (digit(c, p))
            p++;
    }
    if (p < c->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < c->end && (*p == '+' || *p == '-'))
            p++;
        if (!digit(c, p))
            return false;
        while (digit(c, p))
            p++;
    }
    if (p - c->p > MAX_NUMBER)
        return false;
    c->p = p;
    return true;
}

static bool literal(cur *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* One value from c->p: its type, or V_BAD. */
static int skip_value(cur *c, int depth, bool *esc)
{
    *esc = false;
    if (c->p >= c->end)
        return V_BAD;
    switch (*c->p) {
    case '"': return skip_string(c, esc) ? V_STR : V_BAD;
    case '{': return skip_flat(c, depth) ? V_OBJ : V_BAD;
    case '[': return skip_flat(c, depth) ? V_ARR : V_BAD;
    case 't': return literal(c, "true") ? V_BOOL : V_BAD;
    case 'f': return literal(c, "false") ? V_BOOL : V_BAD;
    case 'n': return literal(c, "null") ? V_NULL : V_BAD;
    default:  return skip_number(c) ? V_NUM : V_BAD;
    }
}

/* The member's key and colon, for an object. */
static bool read_key(cur *c, member *m)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    m->key = c->p + 1;
    if (!skip_string(c, &m->key_esc))
        return false;
    m->klen = (size_t)(c->p - 1 - m->key);
    ws(c);
    if (c->p >= c->end || *c->p != ':')
        return false;
    c->p++;
    ws(c);
    return true;
}

/* An object or array at c->p, each member handed to fn (when not NULL);
 * false on bad JSON or when fn says so. */
static bool walk(cur *c, int depth, member_fn fn, void *ud)
{
    bool obj = *c->p == '{';
    char close = obj ? '}' : ']';
    if (depth >= MAX_DEPTH)
        return false;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return true;
    }
    for (;;) {
        member m = {0};
        if (obj && !read_key(c, &m))
            return false;
        m.v = c->p;
        if ((m.type = skip_value(c, depth + 1, &m.v_esc)) == V_BAD)
            return false;
        m.vend = c->p;
        if (fn && !fn(ud, &m))
            return false;
        ws(c);
        if (c->p >= c->end)
            return false;
        if (*c->p == close) {
            c->p++;
            return true;
        }
        if (*c->p++ != ',')
            return false;
        ws(c);
    }
}

/* ---- the fields event_extract checks (event.c's tables) ---------------- */

typedef struct field {
    const char *name;
    size_t len;
    int type;               /* V_ANY: any type */
} field;

#define FLD(name, type) {name, sizeof name - 1, type}

enum { F_KIND, F_AUDIT, F_STAGE, F_VERB, F_USER, F_IPS, F_OREF, F_STATUS, F_ANN };

static const field top_fields[] = {
    [F_KIND] = FLD("kind", V_STR),       [F_AUDIT] = FLD("auditID", V_STR),
    [F_STAGE] = FLD("stage", V_STR),     [F_VERB] = FLD("verb", V_STR),
    [F_USER] = FLD("user", V_OBJ),       [F_IPS] = FLD("sourceIPs", V_ARR),
    [F_OREF] = FLD("objectRef", V_OBJ),  [F_STATUS] = FLD("responseStatus", V_OBJ),
    [F_ANN] = FLD("annotations", V_OBJ),
    FLD("apiVersion", V_STR), FLD("level", V_STR), FLD("requestURI", V_STR), FLD("userAgent", V_STR),
    FLD("requestReceivedTimestamp", V_STR), FLD("stageTimestamp", V_STR), FLD("timestamp", V_STR),
    FLD("impersonatedUser", V_OBJ), FLD("requestObject", V_ANY), FLD("responseObject", V_ANY),
};
#define N_TOP (sizeof top_fields / sizeof top_fields[0])

static const field user_fields[] = {
    FLD("groups", V_ARR), FLD("username", V_STR), FLD("uid", V_STR), FLD("extra", V_OBJ),
};
static const field oref_fields[] = {
    FLD("resource", V_STR), FLD("subresource", V_STR), FLD("namespace", V_STR), FLD("name", V_STR),
    FLD("apiGroup", V_STR), FLD("apiVersion", V_STR), FLD("uid", V_STR),
};
static const field status_fields[] = {FLD("code", V_NUM)};
static const field ann_fields[] = {FLD("authorization.k8s.io/decision", V_STR)};

/* The first occurrence of each field of a table, type-checked. */
typedef struct fields_seen {
    const field *f;
    size_t n;
    unsigned seen;
    unsigned stop_when;     /* stop the walk once these are all seen */
    bool stopped;
    bool events_only;       /* give up at a kind other than "Event" */
    member m[N_TOP];
} fields_seen;

static bool is_event_kind(const member *m)
{
    return m->type == V_STR && !m->v_esc && m->vend - m->v == 7 && memcmp(m->v, "\"Event\"", 7) == 0;
}

static bool take_field(void *ud, const member *m)
{
    fields_seen *s = ud;
    if (m->key_esc)
        return false;           /* a key cJSON would decode: not certain */
    for (size_t i = 0; i < s->n; i++) {
        if (s->f[i].len != m->klen || memcmp(s->f[i].name, m->key, m->klen) != 0)
            continue;
        if (s->seen & (1u << i))
            return true;
        s->seen |= 1u << i;
        s->m[i] = *m;
        if (m->type != V_NULL && s->f[i].type != V_ANY && m->type != s->f[i].type)
            return false;
        if (s->events_only && i == F_KIND && !is_event_kind(m))
            return false;       /* an EventList, an envelope: not for us */
        if (s->stop_when && (s->seen & s->stop_when) == s->stop_when) {
            s->stopped = true;
            return false;
        }
        return true;
    }
    return true;
}

/* The object m holds, its members checked against the table f. */
static bool walk_fields(const member *m, const field *f, size_t n, fields_seen *out)
{
    cur c = {m->v, m->vend};
    memset(out, 0, sizeof *out);
    out->f = f;
    out->n = n;
    return walk(&c, 0, take_field, out);
}

static bool only_strings(void *ud, const member *m)
{
    (void)ud;
    return m->type == V_STR;
}

static bool strings_array(const member *m)
{
    cur c = {m->v, m->vend};
    return m->type != V_ARR || walk(&c, 0, only_strings, NULL);
}

static bool present(const fields_seen *s, int i)
{
    return (s->seen & (1u << i)) && s->m[i].type != V_NULL;
}

/* responseStatus.code: a whole number from 0 to 999, as event.c wants. */
static bool status_ok(const member *m)
{
    fields_seen s;
    char num[MAX_NUMBER + 1];
    size_t n;
    double d;
    if (!walk_fields(m, status_fields, 1, &s))
        return false;
    if (!present(&s, 0))
        return true;
    n = (size_t)(s.m[0].vend - s.m[0].v);
    memcpy(num, s.m[0].v, n);
    num[n] = '\0';
    d = strtod(num, NULL);
    return d >= 0 && d <= 999 && d == (int)d;
}

static bool user_ok(const member *m)
{
    fields_seen s;
    return walk_fields(m, user_fields, sizeof user_fields / sizeof user_fields[0], &s) &&
           (!present(&s, 0) || strings_array(&s.m[0]));
}

static bool nested_ok(const fields_seen *top)
{
    fields_seen s;
    if (present(top, F_IPS) && !strings_array(&top->m[F_IPS]))
        return false;
    if (present(top, F_ANN) && !walk_fields(&top->m[F_ANN], ann_fields, 1, &s))
        return false;
    if (present(top, F_OREF) &&
        !walk_fields(&top->m[F_OREF], oref_fields, sizeof oref_fields / sizeof oref_fields[0], &s))
        return false;
    if (present(top, F_STATUS) && !status_ok(&top->m[F_STATUS]))
        return false;
    return user_ok(&top->m[F_USER]);
}

/* A plain string member (no escapes) as a span; NULL when absent or null. */
static bool raw_string(const fields_seen *s, int i, const char **p, size_t *n)
{
    *p = NULL;
    *n = 0;
    if (!present(s, i))
        return true;
    if (s->m[i].v_esc)
        return false;
    *p = s->m[i].v + 1;
    *n = (size_t)(s->m[i].vend - s->m[i].v) - 2;
    return true;
}

/* kind "Event", and the stage and auditID as plain strings. */
static int peek_of(const fields_seen *top, kg_input_peek *out)
{
    const char *kind;
    size_t kind_len;
    if (!raw_string(top, F_KIND, &kind, &kind_len) || !kind || kind_len != 5 ||
        memcmp(kind, "Event", 5) != 0)
        return 0;
    if (!raw_string(top, F_STAGE, &out->stage, &out->stage_len) ||
        !raw_string(top, F_AUDIT, &out->audit_id, &out->audit_id_len))
        return 0;
    return 1;
}

int prescan_stage(const char *text, size_t len, kg_input_peek *out)
{
    cur c = {text, text + len};
    fields_seen top = {top_fields, N_TOP, 0, 0, false, true, {{0}}};
    top.stop_when = 1u << F_KIND | 1u << F_STAGE | 1u << F_AUDIT;
    ws(&c);
    if (c.p >= c.end || *c.p != '{')
        return 0;
    if (!walk(&c, 0, take_field, &top) && !top.stopped)
        return 0;
    return peek_of(&top, out);
}

int prescan_event(const char *text, size_t len, kg_input_peek *out)
{
    cur c = {text, text + len};
    fields_seen top = {top_fields, N_TOP, 0, 0, false, false, {{0}}};

    ws(&c);
    if (c.p >= c.end || *c.p != '{' || !walk(&c, 0, take_field, &top))
        return 0;
    ws(&c);
    if (c.p != c.end || !peek_of(&top, out))
        return 0;
    if (!present(&top, F_VERB) || !present(&top, F_USER) || !nested_ok(&top))
        return 0;
    return 1;
}

/* ---- bodies left unparsed (input.c's lazy path) ------------------------ */

typedef struct bodies_seen {
    kg_json_span *out;
    unsigned seen;          /* bit per body, and 4: kind */
    bool event;             /* the first kind is "Event" */
} bodies_seen;

static int body_index(const member *m)
{
    if (m->klen == 13 && memcmp(m->key, "requestObject", 13) == 0)
        return KG_BODY_REQUEST;
    if (m->klen == 14 && memcmp(m->key, "responseObject", 14) == 0)
        return KG_BODY_RESPONSE;
    return -1;
}

static bool take_body(void *ud, const member *m)
{
    bodies_seen *s = ud;
    int i;
    if (m->key_esc)
        return false;
    if (m->klen == 4 && memcmp(m->key, "kind", 4) == 0) {
        if (!(s->seen & 4u))
            s->event = is_event_kind(m);
        s->seen |= 4u;
        return true;
    }
    if ((i = body_index(m)) < 0)
        return true;
    if (s->seen & (1u << i))
        return false;           /* repeated: the first wins in the tree */
    s->seen |= 1u << i;
    if (m->type != V_NULL)
        s->out[i] = (kg_json_span){m->v, (size_t)(m->vend - m->v)};
    return true;
}

/* ---- nested values, skipped without recursion -------------------------- */

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* From just after a string's opening quote: just after its closing quote,
 * or NULL (skip_string's rules). */
static const char *string_end(const char *p, const char *end)
{
    while ((p = next_special(p, end)) < end) {
        if (*p == '"')
            return p + 1;
        if (!(p = skip_escape(p, end)))
            return NULL;
    }
    return NULL;
}

/* A scalar other than a string at p: just after it, or NULL. */
static const char *scalar_end(const char *p, const char *end)
{
    cur c = {p, end};
    switch (*p) {
    case 't': return literal(&c, "true") ? c.p : NULL;
    case 'f': return literal(&c, "false") ? c.p : NULL;
    case 'n': return literal(&c, "null") ? c.p : NULL;
    default:  return skip_number(&c) ? c.p : NULL;
    }
}

/* After a value inside the containers open[0..*sp): past the containers
 * that close here and the comma before the next value (*key: that value
 * is an object member, so a key comes first).  p, or NULL on bad JSON. */
static const char *after_value(const char *p, const char *end, const char *open, int *sp,
                               bool *key)
{
    while (*sp > 0) {
        while (p < end && is_ws(*p))
            p++;
        if (p >= end)
            return NULL;
        if (*p == open[*sp - 1]) {
            p++;
            (*sp)--;
            continue;
        }
        if (*p != ',')
            return NULL;
        *key = open[*sp - 1] == '}';
        return p + 1;
    }
    return p;
}

/* The object or array at c->p, opened at nesting level `level` (walk's
 * depth), validated as walk validates it, but in one loop with a stack of
 * the open containers instead of recursion, calls and callbacks: the
 * bodies and every nested value are skipped this way. */
static bool skip_flat(cur *c, int level)
{
    char open[MAX_DEPTH];
    int sp = 0;
    bool key = false;
    const char *p = c->p, *end = c->end;
    for (;;) {
        while (p < end && is_ws(*p))
            p++;
        if (p >= end)
            return false;
        if (key) {              /* "key" : */
            if (*p != '"' || !(p = string_end(p + 1, end)))
                return false;
            while (p < end && is_ws(*p))
                p++;
            if (p >= end || *p++ != ':')
                return false;
            key = false;
            continue;
        }
        if (*p == '{' || *p == '[') {
            char close = *p == '{' ? '}' : ']';
            if (level + sp >= MAX_DEPTH)
                return false;
            p++;
            while (p < end && is_ws(*p))
                p++;
            if (p < end && *p == close) {
                p++;
            } else {
                open[sp++] = close;
                key = close == '}';
                continue;
            }
        } else if (!(p = *p == '"' ? string_end(p + 1, end) : scalar_end(p, end))) {
            return false;
        }
        if (sp == 0) {
            c->p = p;
            return true;
        }
        if (!(p = after_value(p, end, open, &sp, &key)))
            return false;
        if (sp == 0) {
            c->p = p;
            return true;
        }
    }
}

int prescan_bodies(const char *text, size_t len, kg_json_span out[KG_BODY_N])
{
    cur c = {text, text + len};
    bodies_seen s = {out, 0, false};
    memset(out, 0, KG_BODY_N * sizeof *out);
    ws(&c);
    if (c.p >= c.end || *c.p != '{' || !walk(&c, 0, take_body, &s))
        return 0;
    ws(&c);
    if (c.p != c.end || !s.event)
        return 0;
    return out[KG_BODY_REQUEST].text || out[KG_BODY_RESPONSE].text;
}
