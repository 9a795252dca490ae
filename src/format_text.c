/*
 * format_text: one readable line per finding (time, severity, type, who,
 * from where, what, namespace/object, count for updates), coloured only
 * when asked; and the summary accumulator with its end-of-scan table.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hmap.h"
#include "format_int.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"

static const char *severity_colour(double s)
{
    return s >= 9 ? "\033[1;35m" : s >= 7 ? "\033[1;31m" : s >= 4 ? "\033[33m" : "\033[36m";
}

/* Audit fields are the caller's to choose: no control character (an escape
 * sequence in a username) reaches the terminal. */
static void put_clean(FILE *out, const char *s)
{
    for (; s && *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

static const char *dash(const char *s)
{
    return s ? s : "-";
}

static void put_word(FILE *out, const char *upper_of)
{
    for (; *upper_of; upper_of++)
        fputc(*upper_of >= 'a' && *upper_of <= 'z' ? *upper_of - 32 : *upper_of, out);
}

/* " in ns/name", " in ns", " name" (cluster-scoped) or " (cluster-wide)". */
static void put_object(FILE *out, const cJSON *a)
{
    const char *ns = format_str(a, "namespace"), *name = format_str(a, "resourceName");
    if (!ns && !name) {
        fputs(" (cluster-wide)", out);
        return;
    }
    fputs(ns ? " in " : " ", out);
    put_clean(out, ns);
    if (ns && name)
        fputc('/', out);
    put_clean(out, name);
}

char *format_text_render(const cJSON *f, const kg_format_opts *o)
{
    const cJSON *a = format_get(f, "service.action.kubernetesApiCallAction");
    const char *type = format_str(f, "type"), *list = format_str(f, "service.additionalInfo.threatListName");
    const char *when = format_str(f, "service.eventLastSeen"), *res = format_str(a, "resource");
    const char *sub = format_str(a, "subresource"), *ip = format_caller_ip(f);
    double sev = format_num(f, "severity", 0);
    int colour = o && o->colour;
    char *buf = NULL;
    size_t len = 0;
    FILE *out;

    if (!format_str(f, "id") || !type || !(out = open_memstream(&buf, &len)))
        return NULL;
    fprintf(out, "%s ", when ? when : format_str(f, "updatedAt") ? format_str(f, "updatedAt") : "-");
    fputs(colour ? severity_colour(sev) : "", out);
    put_word(out, format_severity_word(sev));
    fprintf(out, "%s %s", colour ? C_RESET : "", colour ? C_BOLD : "");
    put_clean(out, type);
    fputs(colour ? C_RESET : "", out);
    fputs(" user=", out);
    put_clean(out, dash(format_str(f, "resource.kubernetesDetails.kubernetesUserDetails.username")));
    fputs(" from=", out);
    put_clean(out, ip ? ip : "-");
    if (list) {
        fputs(" (", out);
        put_clean(out, list);
        fputc(')', out);
    }
    fputc(' ', out);
    put_clean(out, dash(format_str(a, "verb")));
    fputc(' ', out);
    put_clean(out, res ? res : dash(format_str(a, "requestUri")));
    if (sub) {
        fputc('/', out);
        put_clean(out, sub);
    }
    put_object(out, a);
    if (format_is_update(f))
        fprintf(out, " count=%.0f", format_num(f, "service.count", 1));
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- summary ------------------------------------------------------------ */

enum { SEV_CRITICAL, SEV_HIGH, SEV_MEDIUM, SEV_LOW, SEV_N };

typedef struct entry {
    char *type, *user, *ip;
    double severity, count;
} entry;

struct kg_summary {
    hmap ids;           /* finding id -> entry */
};

kg_summary *format_summary_new(void)
{
    return calloc(1, sizeof(kg_summary));
}

static void entry_free(void *p)
{
    entry *e = p;
    if (!e)
        return;
    free(e->type);
    free(e->user);
    free(e->ip);
    free(e);
}

void format_summary_free(kg_summary *s)
{
    if (!s)
        return;
    hmap_free(&s->ids, entry_free);
    free(s);
}

static char *dup_or(const char *s, const char *dflt)
{
    return strdup(s ? s : dflt);
}

int format_summary_add(kg_summary *s, const cJSON *f)
{
    const char *id = format_str(f, "id"), *type = format_str(f, "type");
    hmap_entry *he;
    entry *e;
    bool created;

    if (!id || !type || !(he = hmap_insert(&s->ids, id, strlen(id), &created)))
        return -1;
    if (created && !(he->ptr = calloc(1, sizeof(entry)))) {
        hmap_remove(&s->ids, he);
        return -1;
    }
    e = he->ptr;
    free(e->type);
    free(e->user);
    free(e->ip);
    e->type = dup_or(type, "-");
    e->user = dup_or(format_str(f, "resource.kubernetesDetails.kubernetesUserDetails.username"), "-");
    e->ip = dup_or(format_caller_ip(f), "-");
    e->severity = format_num(f, "severity", 0);
    e->count = format_num(f, "service.count", 1);
    return e->type && e->user && e->ip ? 0 : -1;
}

size_t format_summary_findings(const kg_summary *s)
{
    return s->ids.n;
}

double format_summary_occurrences(const kg_summary *s)
{
    double n = 0;
    for (size_t i = 0; i < s->ids.cap; i++)
        if (s->ids.slots[i].key)
            n += ((entry *)s->ids.slots[i].ptr)->count;
    return n;
}

/* One row of a grouped table: a key with finding counts per severity and
 * the occurrences. */
typedef struct row {
    const char *key;
    double by_sev[SEV_N], findings, events;
} row;

static int sev_index(double s)
{
    return s >= 9 ? SEV_CRITICAL : s >= 7 ? SEV_HIGH : s >= 4 ? SEV_MEDIUM : SEV_LOW;
}

static int row_cmp(const void *x, const void *y)
{
    const row *a = x, *b = y;
    if (a->findings != b->findings)
        return a->findings < b->findings ? 1 : -1;
    if (a->events != b->events)
        return a->events < b->events ? 1 : -1;
    return strcmp(a->key, b->key);
}

/* The row of key in rows (indexed by idx), added when new; NULL when out
 * of memory. */
static row *row_of(hmap *idx, row *rows, size_t *n, const char *key)
{
    bool created;
    hmap_entry *he = hmap_insert(idx, key, strlen(key), &created);
    if (!he)
        return NULL;
    if (created) {
        he->num = (double)*n;
        rows[(*n)++].key = key;
    }
    return &rows[(size_t)he->num];
}

/* Rows grouped by the entry field at offset off, sorted by findings. */
static row *group_by(const kg_summary *s, size_t off, size_t *nrows)
{
    row *rows = calloc(s->ids.n ? s->ids.n : 1, sizeof(row)), *r;
    hmap idx = {0};
    size_t n = 0;
    for (size_t i = 0; rows && i < s->ids.cap; i++) {
        const entry *e = s->ids.slots[i].key ? s->ids.slots[i].ptr : NULL;
        if (!e)
            continue;
        if (!(r = row_of(&idx, rows, &n, *(char *const *)((const char *)e + off)))) {
            free(rows);
            rows = NULL;
            break;
        }
        r->by_sev[sev_index(e->severity)]++;
        r->findings++;
        r->events += e->count;
    }
    hmap_free(&idx, NULL);
    if (rows)
        qsort(rows, n, sizeof(row), row_cmp);
    *nrows = n;
    return rows;
}

static void put_padded(FILE *out, const char *s, int width)
{
    int n = 0;
    for (; s[n] && n < width; n++)
        fputc((unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n], out);
    for (; n < width; n++)
        fputc(' ', out);
}

static void types_table(FILE *out, const kg_summary *s, int colour)
{
    size_t n = 0;
    row *rows = group_by(s, offsetof(entry, type), &n);
    if (!rows)
        return;
    fprintf(out, "%s%-56s %8s %5s %7s %4s %7s %7s%s\n", colour ? C_BOLD : "", "finding type",
            "critical", "high", "medium", "low", "total", "events", colour ? C_RESET : "");
    for (size_t i = 0; i < n; i++) {
        put_padded(out, rows[i].key, 56);
        fprintf(out, " %8.0f %5.0f %7.0f %4.0f %7.0f %7.0f\n", rows[i].by_sev[SEV_CRITICAL],
                rows[i].by_sev[SEV_HIGH], rows[i].by_sev[SEV_MEDIUM], rows[i].by_sev[SEV_LOW],
                rows[i].findings, rows[i].events);
    }
    free(rows);
}

static void top_table(FILE *out, const kg_summary *s, size_t off, const char *title,
                      int top, int colour)
{
    size_t n = 0;
    row *rows = group_by(s, off, &n);
    if (!rows)
        return;
    fprintf(out, "%s%-56s %8s %7s%s\n", colour ? C_BOLD : "", title, "findings", "events",
            colour ? C_RESET : "");
    for (size_t i = 0; i < n && (int)i < top; i++) {
        put_padded(out, rows[i].key, 56);
        fprintf(out, " %8.0f %7.0f\n", rows[i].findings, rows[i].events);
    }
    free(rows);
}

char *format_summary_table(const kg_summary *s, int top, int colour)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        return NULL;
    fprintf(out, "%zu findings, %.0f occurrences\n", format_summary_findings(s),
            format_summary_occurrences(s));
    if (s->ids.n) {
        types_table(out, s, colour);
        top_table(out, s, offsetof(entry, user), "top identities", top, colour);
        top_table(out, s, offsetof(entry, ip), "top source IPs", top, colour);
    }
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *format_text_summary(const kg_summary *s, const kg_format_opts *o)
{
    return format_summary_table(s, 5, o && o->colour);
}
