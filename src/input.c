/*
 * input: framing — the line reader and record splitter behind
 * kg_input_sink.  Which envelopes a batch can come in is input_decode.c's.
 *
 * Lines are read into a growing buffer; a line longer than the limit is
 * drained without being kept.  When the first non-blank line of a source is
 * not a complete JSON value but opens one ('{' or '['), the rest of the
 * source is buffered (up to max_doc) and parsed as one document; if that
 * fails too, the buffered bytes are read again line by line, so a broken
 * first line never costs the events after it.  A line the sink may skip
 * unparsed (RequestReceived, a stage already judged) is found by prescan.c
 * after the byte checks and never reaches cJSON.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/gunzip.h"
#include "kguard/input.h"
#include "arena.h"
#include "input_decode.h"
#include "prescan.h"

#define CHUNK (64u << 10)

typedef struct reader {
    FILE *fp;
    const kg_input_sink *sink;
    unsigned long long bytes;
    const char *file;
    char *buf;
    size_t cap, len, pos;  /* unread bytes are buf[pos..len) */
    bool eof, failed;
    long line;             /* number of the last line returned */
    size_t max_line;
    const kg_input_meta *base;  /* what the source says of its records, or NULL */
    bool streaming;        /* a pipe or terminal: lines may arrive slowly */
} reader;

/* ---- UTF-8 ------------------------------------------------------------ */

static size_t utf8_seq_len(const unsigned char *p, size_t left)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return left >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F))
            return 0; /* overlong, surrogate */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
            (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F))
            return 0; /* overlong, beyond U+10FFFF */
        return 4;
    }
    return 0;
}

int input_utf8_valid(const unsigned char *buf, size_t len, size_t *bad_at)
{
    size_t i = 0;
    while (i < len) {
        size_t n;
        if (buf[i] < 0x80) { /* ASCII fast path */
            i++;
            continue;
        }
        n = utf8_seq_len(buf + i, len - i);
        if (n == 0) {
            if (bad_at)
                *bad_at = i;
            return 0;
        }
        i += n;
    }
    return 1;
}

/* ---- records ---------------------------------------------------------- */

static void report(const kg_input_sink *s, const char *file, long line,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(const kg_input_sink *s, const char *file, long line,
                   const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (s->bad)
        s->bad(s->ud, file, line, msg);
}

static long line_of_offset(const char *text, size_t off, long first)
{
    long line = first;
    const char *p = text, *end = text + off;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        line++;
        p++;
    }
    return line;
}

/* Where the records being split come from: the source position, the
 * sink, the nesting depth and what the enclosing envelopes said. */
typedef struct split_ctx {
    const char *file;
    long line;
    const kg_input_sink *s;
    int depth;
    kg_input_meta meta;
} split_ctx;

static long split_records(const cJSON *root, const split_ctx *c);
static cJSON *parse_checked(const char *text, size_t len, const char *file,
                            long line, const kg_input_sink *s, bool quiet);

/* An event carried as JSON text inside an envelope. */
static long split_text(const kg_input_item *it, const split_ctx *c)
{
    cJSON *inner;
    long n;
    if (!(inner = parse_checked(it->text, it->len, c->file, c->line, c->s, true))) {
        report(c->s, c->file, c->line, "the embedded event is not valid JSON");
        return 0;
    }
    n = split_records(inner, c);
    cJSON_Delete(inner);
    return n;
}

/* Each item of a batch, unwrapped by the envelope's decoder (or as a plain
 * object); inner records are one level deeper and inherit meta. */
static long split_items(const cJSON *items, int (*unwrap)(const cJSON *, kg_input_item *),
                        const split_ctx *outer)
{
    const cJSON *v;
    split_ctx c = *outer;
    long n = 0, i = 0;
    c.depth++;
    cJSON_ArrayForEach(v, items) {
        kg_input_item it = {.meta = outer->meta};
        i++;
        if (unwrap(v, &it) < 0) {
            report(c.s, c.file, c.line, "item %ld of the batch is not an event", i);
            continue;
        }
        c.meta = it.meta;
        n += it.value ? split_records(it.value, &c) : split_text(&it, &c);
        free(it.owned);
    }
    return n;
}

static size_t max_doc(const kg_input_sink *s)
{
    return s->max_doc ? s->max_doc : KG_INPUT_DEFAULT_MAX_DOC;
}

/* An envelope that holds one record (a cloud's record, a push message):
 * what it unwraps to, one level deeper, with what it says about it. */
static long split_one(const cJSON *root, const kg_input_decoder *d, const split_ctx *outer)
{
    split_ctx c = *outer;
    kg_input_item it = {.meta = outer->meta};
    char err[256] = "";
    long n = 0;
    it.meta.source = d->name;
    c.depth++;
    if (d->one(root, &it, max_doc(c.s), err, sizeof err) < 0) {
        report(c.s, c.file, c.line, "%s", err[0] ? err : "not an event");
    } else {
        c.meta = it.meta;
        n = it.value ? split_records(it.value, &c) : split_text(&it, &c);
    }
    free(it.owned);
    cJSON_Delete(it.tree);
    return n;
}

/* An envelope's items, with what it says about them. */
static long split_envelope(const cJSON *root, const kg_input_decoder *d, const split_ctx *outer)
{
    split_ctx c = *outer;
    const char *why = NULL;
    const cJSON *items;
    if (d->one)
        return split_one(root, d, outer);
    c.meta.source = d->name;
    items = d->items(root, &c.meta, &why);
    if (why)
        report(c.s, c.file, c.line, "%s", why);
    return items ? split_items(items, d->unwrap, &c) : 0;
}

/* A JSON array's elements, the events inside an envelope (input_decode.c),
 * or the object itself. */
static long split_records(const cJSON *root, const split_ctx *c)
{
    const kg_input_decoder *d;
    if (c->depth > 4) {
        report(c->s, c->file, c->line, "batches nested too deep");
        return 0;
    }
    if (cJSON_IsArray(root))
        return split_items(root, input_unwrap_object, c);
    if (!cJSON_IsObject(root)) {
        report(c->s, c->file, c->line, "not an audit Event (a JSON scalar)");
        return 0;
    }
    if ((d = input_decoder_find(root)) != NULL)
        return split_envelope(root, d, c);
    c->s->record(c->s->ud, root, &c->meta, c->file, c->line);
    return 1;
}

/* The records of a top-level JSON value from file:line; base (or nothing)
 * is what is known of them before any envelope speaks. */
static long split_top(const cJSON *root, const char *file, long line, const kg_input_sink *s,
                      const kg_input_meta *base)
{
    split_ctx c = {file, line, s, 0, {0}};
    if (base)
        c.meta = *base;
    return split_records(root, &c);
}

/* Parse text[0..len) (not NUL-terminated necessarily).  Returns the tree or
 * NULL; on NULL, *err_off is the offset where parsing failed. */
static cJSON *parse_text(const char *text, size_t len, size_t *err_off)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root) {
        /* only whitespace may follow the value */
        const char *p = end, *stop = text + len;
        while (p < stop && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            p++;
        if (p == stop)
            return root;
        cJSON_Delete(root);
        *err_off = (size_t)(p - text);
        return NULL;
    }
    *err_off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    return NULL;
}

/* Bytes of a 64-bit word, 8 at a time: has any byte its top bit set, or a
 * value below 0x20?  (Standard SWAR tests: a byte below n shows as a borrow
 * into its top bit when n is subtracted from every byte.) */
#define ONES  0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static inline bool word_plain(uint64_t w)
{
    return ((w | ((w - 0x20 * ONES) & ~w)) & HIGHS) == 0;
}

/* Raw control characters and invalid UTF-8: checked word by word, and
 * byte by byte only where a word holds something other than printable
 * ASCII.  Outside strings JSON allows tab, CR and LF (as white space); a
 * control character in a string is left to cJSON except NUL and the
 * characters JSON allows nowhere. */
static const char *scan_bytes(const unsigned char *p, size_t len, size_t *at)
{
    size_t i = 0;
    while (i < len) {
        if (len - i >= 8) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (word_plain(w)) {
                i += 8;
                continue;
            }
        }
        *at = i;
        if (p[i] >= 0x80) {
            size_t n = utf8_seq_len(p + i, len - i);
            if (n == 0)
                return "invalid UTF-8";
            i += n;
            continue;
        }
        if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return p[i] == 0 ? "a NUL byte" : "a raw control character";
        i++;
    }
    return NULL;
}

/* \u0000 escapes: cJSON decodes them into C strings that end there, so
 * "system:anonymous\u0000x" would read as "system:anonymous".  Only an
 * escaping backslash counts (an odd run of them). */
static const char *scan_escapes(const unsigned char *p, size_t len, size_t *at)
{
    const unsigned char *q = p, *end = p + len;
    while ((q = memchr(q, '\\', (size_t)(end - q))) != NULL) {
        size_t run = 0;
        while (q + run < end && q[run] == '\\')
            run++;
        q += run;
        if (run % 2 == 1 && end - q >= 5 && memcmp(q, "u0000", 5) == 0) {
            *at = (size_t)(q - 1 - p);
            return "a NUL character (\\u0000) in a string";
        }
    }
    return NULL;
}

/* What cJSON would let through that kguard must not: NULL when the text is
 * clean, else what is wrong, with its offset. */
static const char *scan_text(const unsigned char *p, size_t len, size_t *at)
{
    const char *why = scan_bytes(p, len, at);
    return why ? why : scan_escapes(p, len, at);
}

/* The byte checks of parse_checked: false (reported unless quiet) when
 * the text holds invalid UTF-8, raw controls or NUL escapes. */
static bool text_clean(const char *text, size_t len, const char *file, long line,
                       const kg_input_sink *s, bool quiet)
{
    size_t bad = 0;
    const char *why = scan_text((const unsigned char *)text, len, &bad);
    if (why && !quiet)
        report(s, file, line_of_offset(text, bad, line), "%s at byte %zu", why, bad + 1);
    return why == NULL;
}

/* Parse a text that passed text_clean; reports bad JSON unless quiet. */
static cJSON *parse_clean(const char *text, size_t len, const char *file,
                          long line, const kg_input_sink *s, bool quiet)
{
    size_t bad = 0;
    cJSON *root = parse_text(text, len, &bad);
    if (!root && !quiet)
        report(s, file, line_of_offset(text, bad, line),
               "bad JSON near byte %zu (or nested too deep)", bad + 1);
    return root;
}

/* Check and parse one JSON text that starts at file:line: valid UTF-8, no
 * NUL escapes, well-formed.  Reports what is wrong unless quiet. */
static cJSON *parse_checked(const char *text, size_t len, const char *file,
                            long line, const kg_input_sink *s, bool quiet)
{
    if (!text_clean(text, len, file, line, s, quiet))
        return NULL;
    return parse_clean(text, len, file, line, s, quiet);
}

/* A clean text the sink may drop unparsed (prescan.h): true when it did. */
static bool skipped(const char *text, size_t len, const char *file, long line,
                    const kg_input_meta *base, const kg_input_sink *s)
{
    kg_input_peek peek;
    if (!s->skippable || !prescan_stage(text, len, &peek) || !s->skippable(s->ud, &peek, base) ||
        !prescan_event(text, len, &peek))
        return false;
    s->skipped(s->ud, &peek, base, file, line);
    return true;
}

/* A gzip-compressed text (a webhook body a forwarder compressed). */
static long feed_gzip(const char *text, size_t len, const char *file, long line,
                      const kg_input_meta *base, const kg_input_sink *s)
{
    char err[200], *plain = NULL;
    size_t plen = 0;
    long n = 0;
    if (gunzip_mem(text, len, max_doc(s), &plain, &plen, err, sizeof err) < 0)
        report(s, file, line, "%s", err);
    else if (gunzip_magic(plain, plen))
        report(s, file, line, "gzip data inside gzip data");
    else
        n = input_feed_from(plain, plen, file, line, base, s);
    free(plain);
    return n;
}

/* Does the text hold "...Object\"" anywhere (a body key, maybe)?  A
 * capital O is rare in audit JSON, so memchr does most of the work. */
static bool mentions_body(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while ((p = memchr(p, 'O', (size_t)(end - p))) != NULL) {
        if (end - p >= 7 && memcmp(p + 1, "bject\"", 6) == 0)
            return true;
        p++;
    }
    return false;
}

/* An Event line whose bodies prescan_bodies vouched for, parsed with each
 * body's value replaced by null (spans in bodies); NULL when the line has
 * no body, or anything is unusual: the caller parses it whole. */
static cJSON *parse_lazy(const char *text, size_t len, const kg_input_sink *s,
                         kg_json_span bodies[KG_BODY_N])
{
    const char *at = text;
    char *copy, *w;
    cJSON *root;
    if (!s->lazy_bodies || !mentions_body(text, len) ||
        !prescan_bodies(text, len, bodies) || !(copy = cJSON_malloc(len + 1)))
        return NULL;
    w = copy;
    for (int k = 0; k < KG_BODY_N; k++) {   /* in text order */
        bool swap = bodies[1].text && bodies[0].text > bodies[1].text;
        const kg_json_span *b = &bodies[k ^ swap];
        if (!b->text)
            continue;
        memcpy(w, at, (size_t)(b->text - at));
        w += b->text - at;
        memcpy(w, "null", 4);
        w += 4;
        at = b->text + b->len;
    }
    memcpy(w, at, (size_t)(text + len - at));
    w += text + len - at;
    root = cJSON_ParseWithLengthOpts(copy, (size_t)(w - copy), NULL, 0);
    cJSON_free(copy);
    return root;
}

long input_feed_from(const char *text, size_t len, const char *file, long line,
                     const kg_input_meta *base, const kg_input_sink *s)
{
    kg_input_meta meta = {0};
    kg_json_span bodies[KG_BODY_N];
    arena_mark m;
    cJSON *root;
    long n;
    if (gunzip_magic(text, len))
        return feed_gzip(text, len, file, line, base, s);
    if (!text_clean(text, len, file, line, s, false))
        return 0;
    if (skipped(text, len, file, line, base, s))
        return 1;
    if (base)
        meta = *base;
    m = arena_begin();              /* the record's tree dies at arena_end */
    meta.bodies = (root = parse_lazy(text, len, s, bodies)) ? bodies : NULL;
    if (!root)
        root = parse_clean(text, len, file, line, s, false);
    n = root ? split_top(root, file, line, s, &meta) : 0;
    if (!arena_end(m))
        cJSON_Delete(root);
    return n;
}

long input_feed(const char *text, size_t len, const char *file, long line,
                const kg_input_sink *s)
{
    return input_feed_from(text, len, file, line, NULL, s);
}

/* ---- the reader ------------------------------------------------------- */

/* Read more of the source into the buffer; false at end or on error.
 * Growth is bounded by the callers: a line stops being kept past max_line,
 * a document past max_doc. */
static bool reader_fill(reader *r)
{
    size_t got;
    if (r->eof)
        return false;
    if (r->pos > 0 && r->pos == r->len) {
        r->pos = r->len = 0;
    } else if (r->pos > r->cap / 2) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->cap - r->len < CHUNK) {
        size_t ncap = r->cap ? r->cap * 2 : 4 * CHUNK;
        char *nb = realloc(r->buf, ncap);
        if (!nb) {
            r->failed = true;
            return false;
        }
        r->buf = nb;
        r->cap = ncap;
    }
    got = fread(r->buf + r->len, 1, r->cap - r->len, r->fp);
    r->len += got;
    r->bytes += got;
    if (got && r->sink->progress)
        r->sink->progress(r->sink->ud, r->file, r->bytes);
    if (got == 0) {
        r->eof = true;
        if (ferror(r->fp))
            r->failed = true;
        return false;
    }
    return true;
}

enum { LINE_OK = 1, LINE_EOF = 0, LINE_TOO_LONG = -1 };

/* The next line, without its newline or CR, as (line, len); it stays in the
 * buffer until the next call. */
static int reader_line(reader *r, const char **line, size_t *len)
{
    size_t scanned = 0;
    for (;;) {
        char *nl = r->len > r->pos + scanned
                       ? memchr(r->buf + r->pos + scanned, '\n', r->len - r->pos - scanned)
                       : NULL;
        if (nl) {
            *line = r->buf + r->pos;
            *len = (size_t)(nl - *line);
            r->pos += *len + 1;
            if (*len > r->max_line) {
                r->line++;
                return LINE_TOO_LONG;
            }
            break;
        }
        scanned = r->len - r->pos;
        if (scanned > r->max_line) {
            /* drain the rest of this line without keeping it */
            r->line++;
            for (;;) {
                r->pos = r->len;
                if (!reader_fill(r))
                    return LINE_TOO_LONG;
                nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
                if (nl) {
                    r->pos = (size_t)(nl - r->buf) + 1;
                    return LINE_TOO_LONG;
                }
            }
        }
        if (!reader_fill(r)) {
            if (r->len == r->pos)
                return LINE_EOF;
            *line = r->buf + r->pos; /* last line without a newline */
            *len = r->len - r->pos;
            r->pos = r->len;
            if (*len > r->max_line) {
                r->line++;
                return LINE_TOO_LONG;
            }
            break;
        }
    }
    r->line++;
    if (*len && (*line)[*len - 1] == '\r')
        (*len)--;
    return LINE_OK;
}

static bool is_blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

static const char *first_char(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t')
            return p + i;
    return NULL;
}

static void feed_line(reader *r, const char *line, size_t len,
                      const kg_input_sink *s)
{
    if (is_blank(line, len))
        return;
    if (s->line && !r->streaming)   /* a stream's lines are judged as they come */
        s->line(s->ud, line, len, r->file, r->line, r->base);
    else
        input_feed_from(line, len, r->file, r->line, r->base, s);
}

/* The first line opened a JSON value it did not close: try the whole rest
 * of the source, from r->pos, as one document.  Returns true when it was
 * one; otherwise r->pos still points at the first line. */
static bool try_document(reader *r, long first_line, const kg_input_sink *s,
                         size_t max_doc)
{
    cJSON *root;
    arena_mark m;
    while (r->len - r->pos <= max_doc && reader_fill(r))
        ;
    if (!r->eof || r->failed)
        return false;
    m = arena_begin();
    root = parse_checked(r->buf + r->pos, r->len - r->pos, r->file, first_line, s, true);
    if (root)
        split_top(root, r->file, first_line, s, r->base);
    if (!arena_end(m))
        cJSON_Delete(root);
    if (!root)
        return false;
    r->pos = r->len;
    return true;
}

static int read_stream(reader *r, const kg_input_sink *s)
{
    const char *line;
    size_t len, max_doc = s->max_doc ? s->max_doc : KG_INPUT_DEFAULT_MAX_DOC;
    bool first = true;
    int rc;

    while ((rc = reader_line(r, &line, &len)) != LINE_EOF) {
        if (rc == LINE_TOO_LONG) {
            report(s, r->file, r->line, "line longer than %zu bytes, skipped",
                   r->max_line);
            first = false;
            continue;
        }
        if (first && !is_blank(line, len)) {
            const char *c = first_char(line, len);
            long first_line = r->line;
            cJSON *probe;
            first = false;
            if (c && (*c == '{' || *c == '[')) {
                arena_mark m = arena_begin();
                probe = parse_checked(line, len, r->file, r->line, s, true);
                if (probe)
                    split_top(probe, r->file, r->line, s, r->base);
                if (!arena_end(m))
                    cJSON_Delete(probe);
                if (probe)
                    continue;
                /* keep the line in the buffer and look at the whole */
                r->pos = (size_t)(line - r->buf);
                if (try_document(r, first_line, s, max_doc))
                    continue;
                r->line = first_line - 1;
                if (reader_line(r, &line, &len) != LINE_OK)
                    break;
            }
        }
        feed_line(r, line, len, s);
    }
    return r->failed ? -1 : 0;
}

/* Is fd a regular file (read at disk speed, never waiting for a writer)? */
static bool regular_file(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* raw, or raw decompressed: once, or twice (Firehose compressing records
 * CloudWatch Logs had compressed already).  err[0] is the outer stream's
 * message, err[1] the inner's. */
static FILE *open_layers(FILE *raw, bool is_stdin, bool *gz, char err[2][200])
{
    bool inner = false;
    FILE *fp = gunzip_wrap(raw, is_stdin, gz, err[0], sizeof err[0]), *fp2;
    if (!fp || !*gz)
        return fp;
    fp2 = gunzip_wrap(fp, false, &inner, err[1], sizeof err[1]);
    return fp2 ? fp2 : fp;
}

int input_read_path(const char *path, const kg_input_sink *sink, char *err,
                    size_t errlen)
{
    return input_read_path_from(path, NULL, sink, err, errlen);
}

int input_read_path_from(const char *path, const kg_input_meta *base,
                         const kg_input_sink *sink, char *err, size_t errlen)
{
    reader r = {.base = base};
    int rc;
    bool is_stdin = strcmp(path, "-") == 0, gz = false;
    char gz_err[2][200] = {"", ""};
    FILE *raw = is_stdin ? stdin : fopen(path, "rb");

    if (!raw || !(r.fp = open_layers(raw, is_stdin, &gz, gz_err))) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (raw && !is_stdin)
            fclose(raw);
        return -1;
    }
    r.file = is_stdin ? "<stdin>" : path;
    r.sink = sink;
    r.streaming = is_stdin && !regular_file(fileno(raw));
    r.max_line = sink->max_line ? sink->max_line : KG_INPUT_DEFAULT_MAX_LINE;
    rc = read_stream(&r, sink);
    if (rc < 0 && (gz_err[0][0] || gz_err[1][0]))
        snprintf(err, errlen, "%s: %s", r.file, gz_err[0][0] ? gz_err[0] : gz_err[1]);
    else if (rc < 0)
        snprintf(err, errlen, "%s: read error: %s", r.file,
                 errno ? strerror(errno) : "out of memory");
    if (gz || !is_stdin)
        fclose(r.fp);
    free(r.buf);
    return rc;
}
