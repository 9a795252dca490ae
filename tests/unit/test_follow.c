/* Unit tests for follow: start at end, partial lines, CRLF, rotation by
 * rename, double rotation, copytruncate, missing and recreated files,
 * over-long lines, inotify wake-ups and a 200,000-line file.  Every write is
 * made by the test itself and follow_poll is called explicitly, so nothing
 * depends on timing. */
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kguard/follow.h"
#include "tap.h"

/* What the callbacks saw: a log "L<n>:<text>|" / "N<n>:<what>|", or in
 * quiet mode only counts and a checksum. */
typedef struct rec {
    char *log;
    size_t len, cap;
    bool quiet;
    long lines, notes, last_lineno;
    bool numbers_ok, nul_ok;
    unsigned long long sum;
} rec;

static char tmpdir[] = "/tmp/kguard-follow-XXXXXX";

static void rec_add(rec *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        if (!(r->log = realloc(r->log, r->cap)))
            abort();
    }
    memcpy(r->log + r->len, s, n);
    r->len += n;
    r->log[r->len] = '\0';
}

static unsigned long long fnv(unsigned long long h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void on_line(void *ud, const char *path, long lineno, const char *line,
                    size_t len)
{
    rec *r = ud;
    char head[32];
    (void)path;
    if (line[len] != '\0')
        r->nul_ok = false;
    if (lineno != r->last_lineno + 1)
        r->numbers_ok = false;
    r->last_lineno = lineno;
    r->lines++;
    r->sum = fnv(r->sum, line, len + 1); /* the NUL separates lines */
    if (r->quiet)
        return;
    snprintf(head, sizeof head, "L%ld:", lineno);
    rec_add(r, head, strlen(head));
    rec_add(r, line, len);
    rec_add(r, "|", 1);
}

static void on_note(void *ud, const char *path, long lineno, const char *what)
{
    rec *r = ud;
    char buf[128];
    (void)path;
    r->notes++;
    if (strcmp(what, "rotated") == 0 || strcmp(what, "truncated") == 0)
        r->last_lineno = 0; /* numbering starts again */
    snprintf(buf, sizeof buf, "N%ld:%s|", lineno, what);
    rec_add(r, buf, strlen(buf));
}

static void rec_init(rec *r)
{
    memset(r, 0, sizeof *r);
    r->numbers_ok = r->nul_ok = true;
    r->sum = 14695981039346656037ull;
    rec_add(r, "", 0);
}

/* The log so far, then forgotten. */
static const char *take(rec *r)
{
    static char out[4096];
    snprintf(out, sizeof out, "%s", r->log);
    r->len = 0;
    r->log[0] = '\0';
    return out;
}

static char *pathof(const char *name)
{
    static char bufs[4][512];
    static int i;
    char *p = bufs[i++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static int wopen(const char *name)
{
    int fd = open(pathof(name), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        abort();
    return fd;
}

static void wr(int fd, const char *s)
{
    size_t n = strlen(s);
    if (write(fd, s, n) != (ssize_t)n || fsync(fd) < 0)
        abort();
}

static void put(const char *name, const char *s)
{
    int fd = wopen(name);
    wr(fd, s);
    close(fd);
}

static void mv(const char *from, const char *to)
{
    char a[512];
    snprintf(a, sizeof a, "%s", pathof(from));
    if (rename(a, pathof(to)) < 0)
        abort();
}

static void rm(const char *name)
{
    unlink(pathof(name));
}

static kg_follow *start(rec *r, const char *name, bool from_start, size_t max_line)
{
    kg_follow_opts o = {0};
    char err[256] = "";
    kg_follow *f;
    rec_init(r);
    o.path = pathof(name);
    o.from_start = from_start;
    o.max_line = max_line;
    o.line = on_line;
    o.note = on_note;
    o.ud = r;
    if (!(f = follow_open(&o, err, sizeof err)))
        printf("# follow_open: %s\n", err);
    return f;
}

static long poll1(kg_follow *f, size_t max_bytes)
{
    char err[256] = "";
    long n = follow_poll(f, max_bytes, err, sizeof err);
    if (n < 0)
        printf("# follow_poll: %s\n", err);
    return n;
}

static void finish(kg_follow *f, rec *r)
{
    follow_close(f);
    free(r->log);
}

/* ---- tests ------------------------------------------------------------ */

static void test_options(void)
{
    kg_follow_opts o = {0};
    char err[256] = "";
    ok(follow_open(&o, err, sizeof err) == NULL && err[0], "no path: refused with a message");
    o.path = pathof("x.log");
    err[0] = '\0';
    ok(follow_open(&o, err, sizeof err) == NULL && err[0], "no line callback: refused");
    ok(follow_open(NULL, NULL, 0) == NULL, "NULL options, NULL err: refused");
}

static void test_start_at_end(void)
{
    rec r;
    kg_follow *f;
    int w;
    put("end.log", "a\nb\nc\n");
    f = start(&r, "end.log", false, 0);
    is_int(follow_offset(f), 6, "at end: offset is the file size");
    is_int(poll1(f, 0), 0, "at end: existing lines not delivered");
    w = wopen("end.log");
    wr(w, "d\ne\n");
    is_int(poll1(f, 0), 2, "at end: two new lines");
    is_str(take(&r), "L4:d|L5:e|", "at end: new lines numbered after the existing three");
    finish(f, &r);
    close(w);

    /* A line being written when following starts is delivered whole. */
    put("end2.log", "a\nb\npar");
    f = start(&r, "end2.log", false, 0);
    is_int(follow_offset(f), 4, "at end: stands after the last complete line");
    is_int(poll1(f, 0), 0, "at end: the partial line waits");
    w = wopen("end2.log");
    wr(w, "tial\nx\n");
    poll1(f, 0);
    is_str(take(&r), "L3:partial|L4:x|", "at end: the line in progress is delivered whole");
    finish(f, &r);
    close(w);

    f = start(&r, "end.log", true, 0);
    is_int(poll1(f, 0), 5, "from_start: all five lines");
    is_str(take(&r), "L1:a|L2:b|L3:c|L4:d|L5:e|", "from_start: lines and numbers");
    is_int(follow_offset(f), 10, "from_start: offset after reading");
    finish(f, &r);
    rm("end.log");
    rm("end2.log");
}

static void test_partial_crlf(void)
{
    rec r;
    kg_follow *f;
    int w = wopen("p.log");
    f = start(&r, "p.log", true, 0);
    wr(w, "abc");
    is_int(poll1(f, 0), 0, "partial: nothing before the newline");
    wr(w, "def\nxy");
    is_int(poll1(f, 0), 1, "partial: completed by its newline");
    wr(w, "z\r\n");
    poll1(f, 0);
    is_str(take(&r), "L1:abcdef|L2:xyz|", "partial: joined across polls, CR stripped");
    wr(w, "a\r\nb\r\n\n\r\nc\rd\ne\r");
    poll1(f, 0);
    wr(w, "\n");
    poll1(f, 0);
    is_str(take(&r), "L3:a|L4:b|L5:|L6:|L7:c\rd|L8:e|",
           "CRLF stripped, empty lines kept, a CR inside kept, CR and LF split across polls");
    ok(r.nul_ok, "lines are NUL-terminated");
    finish(f, &r);
    close(w);
    rm("p.log");
}

static void test_rotation(void)
{
    rec r;
    kg_follow *f;
    int w = wopen("rot.log");
    wr(w, "1\n2\n3\n");
    f = start(&r, "rot.log", true, 0);
    poll1(f, 0);
    is_str(take(&r), "L1:1|L2:2|L3:3|", "rotation: first lines");
    /* Lines left unread in the old file, and a partial last line. */
    wr(w, "4\n5\npart");
    mv("rot.log", "rot.log.1");
    close(w);
    w = wopen("rot.log");
    wr(w, "n1\nn2\n");
    is_int(poll1(f, 0), 5, "rotation: five lines in one poll");
    is_str(take(&r), "L4:4|L5:5|L6:part|N6:rotated|L1:n1|L2:n2|",
           "rotation: old file to its end, its partial line, rotated, new file from 0");
    is_int(follow_offset(f), 6, "rotation: offset in the new file");
    wr(w, "n3\n");
    poll1(f, 0);
    is_str(take(&r), "L3:n3|", "rotation: following the new file");

    /* A poll in the gap between rename and create (the path is missing); the
     * writer still appends to the renamed file before switching. */
    wr(w, "o1\n");
    mv("rot.log", "rot.log.1");
    poll1(f, 0);
    is_str(take(&r), "L4:o1|N4:missing|", "gap: old lines read, missing noted");
    wr(w, "o2\no3");
    poll1(f, 0);
    is_str(take(&r), "L5:o2|", "gap: writes to the renamed file still read");
    close(w);
    w = wopen("rot.log");
    wr(w, "m1\n");
    poll1(f, 0);
    is_str(take(&r), "L6:o3|N6:rotated|L1:m1|", "gap: new file picked up after the old one");
    ok(r.numbers_ok && r.nul_ok, "rotation: numbers consecutive per file");
    finish(f, &r);
    close(w);
    rm("rot.log");
    rm("rot.log.1");
}

/* Two rotations between polls: guaranteed are the file held open (read to
 * its end) and the current one (from its start); the file in between was
 * never opened and is not read. */
static void test_double_rotation(void)
{
    rec r;
    kg_follow *f;
    int w = wopen("dbl.log");
    wr(w, "a1\n");
    f = start(&r, "dbl.log", true, 0);
    poll1(f, 0);
    take(&r);
    wr(w, "a2\na3\n");
    close(w);
    mv("dbl.log", "dbl.log.1");
    put("dbl.log", "b1\nb2\n");
    mv("dbl.log.1", "dbl.log.2");
    mv("dbl.log", "dbl.log.1");
    put("dbl.log", "c1\n");
    poll1(f, 0);
    is_str(take(&r), "L2:a2|L3:a3|N3:rotated|L1:c1|",
           "double rotation: held file to its end, then the current file; the middle one is not read");
    finish(f, &r);
    rm("dbl.log");
    rm("dbl.log.1");
    rm("dbl.log.2");
}

/* Reading behind by several rotations (small budgets): a file seen at the
 * path by any poll is opened at once and read in its turn. */
static void test_behind(void)
{
    rec r;
    kg_follow *f;
    int w = wopen("bh.log");
    wr(w, "a1\na2\na3\na4\n");
    f = start(&r, "bh.log", true, 0);
    poll1(f, 3);
    is_str(take(&r), "L1:a1|", "behind: a small budget reads a little");
    close(w);
    mv("bh.log", "bh.log.1");
    put("bh.log", "b1\nb2\n");
    poll1(f, 3);
    is_str(take(&r), "L2:a2|", "behind: still in the first file");
    mv("bh.log.1", "bh.log.2");
    mv("bh.log", "bh.log.1");
    put("bh.log", "c1\n");
    poll1(f, 3);
    mv("bh.log.2", "bh.log.3");
    mv("bh.log.1", "bh.log.2");
    mv("bh.log", "bh.log.1");
    put("bh.log", "d1\n");
    poll1(f, 0);
    is_str(take(&r), "L3:a3|L4:a4|N4:rotated|L1:b1|L2:b2|N2:rotated|L1:c1|N1:rotated|L1:d1|",
           "behind by three rotations: every file in turn, every line once");
    finish(f, &r);
    rm("bh.log");
    rm("bh.log.1");
    rm("bh.log.2");
    rm("bh.log.3");
}

static void test_truncation(void)
{
    rec r;
    kg_follow *f;
    int w = wopen("tr.log");
    wr(w, "one\ntwo\nthree\n");
    f = start(&r, "tr.log", true, 0);
    poll1(f, 0);
    take(&r);
    /* copytruncate: the copy is made, the file truncated in place; the
     * writer (O_APPEND) goes on at the new end. */
    if (ftruncate(w, 0) < 0)
        abort();
    wr(w, "x\n");
    is_int(poll1(f, 0), 1, "truncation: one new line");
    is_str(take(&r), "N3:truncated|L1:x|", "truncation: noted, new content read from 0");
    is_int(follow_offset(f), 2, "truncation: offset restarted");
    wr(w, "y\n");
    poll1(f, 0);
    is_str(take(&r), "L2:y|", "truncation: nothing twice afterwards");

    /* Truncated to empty: noted at once, later lines from line 1. */
    wr(w, "part");
    poll1(f, 0);
    if (ftruncate(w, 0) < 0)
        abort();
    poll1(f, 0);
    is_str(take(&r), "L3:part|N3:truncated|", "truncation to empty: partial line delivered, noted");
    wr(w, "z\n");
    poll1(f, 0);
    is_str(take(&r), "L1:z|", "truncation to empty: next line is line 1");
    finish(f, &r);
    close(w);
    rm("tr.log");
}

static void test_missing(void)
{
    rec r;
    kg_follow *f = start(&r, "late.log", false, 0);
    ok(f != NULL, "missing at start: follow_open succeeds");
    is_int(poll1(f, 0), 0, "missing: nothing");
    is_int(poll1(f, 0), 0, "missing: still nothing");
    is_str(take(&r), "N0:missing|", "missing: noted once");
    is_int(follow_offset(f), 0, "missing: offset 0");
    put("late.log", "a\nb\n");
    is_int(poll1(f, 0), 2, "appeared: read from its start although not from_start");
    is_str(take(&r), "L1:a|L2:b|", "appeared: numbered from 1");
    finish(f, &r);
    rm("late.log");
}

static void test_delete_recreate(void)
{
    rec r;
    kg_follow *f;
    int w = wopen("del.log");
    wr(w, "a\n");
    f = start(&r, "del.log", true, 0);
    poll1(f, 0);
    wr(w, "b\nc");
    rm("del.log");
    poll1(f, 0);
    is_str(take(&r), "L1:a|L2:b|N2:missing|", "deleted: unread lines read, missing noted");
    is_int(poll1(f, 0), 0, "deleted: nothing more");
    close(w);
    put("del.log", "d\n");
    poll1(f, 0);
    is_str(take(&r), "L3:c|N3:rotated|L1:d|", "recreated: old partial line, rotated, new file from 0");
    finish(f, &r);
    rm("del.log");
}

static void test_long_lines(void)
{
    rec r;
    kg_follow *f;
    char big[301];
    int w = wopen("long.log");
    memset(big, 'x', 300);
    big[300] = '\0';
    f = start(&r, "long.log", true, 10);
    wr(w, "short\n");
    wr(w, big);
    wr(w, "\nnext\n");
    poll1(f, 0);
    is_str(take(&r), "L1:short|N2:line too long|L3:next|", "over-long line in one read: noted with its number, skipped");
    /* Across polls: drained without being kept, noted once. */
    wr(w, "12345678");
    poll1(f, 0);
    wr(w, "12345678");
    poll1(f, 0);
    wr(w, "12345678\nok\n");
    poll1(f, 0);
    is_str(take(&r), "N4:line too long|L5:ok|", "over-long line across polls: noted once, next line delivered");
    /* Exactly max_line is fine, with or without CR; one more is not. */
    wr(w, "0123456789\n0123456789\r\n0123456789A\n");
    poll1(f, 0);
    is_str(take(&r), "L6:0123456789|L7:0123456789|N8:line too long|", "max_line bytes delivered, one more skipped");
    wr(w, "012");
    poll1(f, 0);
    wr(w, "3456789A\n");
    poll1(f, 0);
    is_str(take(&r), "N9:line too long|", "one byte over, buffered across polls: skipped");
    finish(f, &r);
    close(w);
    rm("long.log");

    /* Beyond one read chunk (64 KiB). */
    {
        size_t n = 300000;
        char *huge = malloc(n + 1);
        if (!huge)
            abort();
        memset(huge, 'y', n);
        huge[n] = '\0';
        w = wopen("long2.log");
        wr(w, "a\n");
        wr(w, huge);
        wr(w, "\nb\n");
        huge[200000] = '\0';
        wr(w, huge);
        wr(w, "\n");
        f = start(&r, "long2.log", true, 250000);
        poll1(f, 0);
        ok(r.lines == 3 && r.notes == 1 && strncmp(r.log, "L1:a|N2:line too long|L3:b|L4:yyy", 33) == 0,
           "300 KB line skipped across chunks, 200 KB line under the limit delivered");
        finish(f, &r);
        free(huge);
        close(w);
        rm("long2.log");
    }
}

static void test_inotify(void)
{
    rec r;
    kg_follow *f;
    struct pollfd p;
    int w = wopen("ino.log");
    f = start(&r, "ino.log", false, 0);
    p.fd = follow_fd(f);
    p.events = POLLIN;
    ok(p.fd >= 0, "follow_fd: an inotify fd");
    wr(w, "hello\n");
    is_int(poll(&p, 1, 1000), 1, "inotify: readable after a write");
    poll1(f, 0);
    is_str(take(&r), "L1:hello|", "inotify: the line");
    is_int(poll(&p, 1, 0), 0, "inotify: drained by follow_poll");
    mv("ino.log", "ino.log.1");
    is_int(poll(&p, 1, 1000), 1, "inotify: readable after a rename");
    poll1(f, 0);
    take(&r);
    finish(f, &r);
    close(w);
    rm("ino.log.1");
}

static void test_budget(void)
{
    rec r;
    kg_follow *f;
    long total = 0, n, polls = 0;
    put("bud.log", "alpha\nbeta\ngamma\ndelta\n");
    f = start(&r, "bud.log", true, 0);
    while ((n = poll1(f, 3)) > 0 || follow_offset(f) < 23) {
        total += n;
        if (++polls > 100)
            break;
    }
    is_int(total, 4, "max_bytes 3: all four lines over several polls");
    ok(polls >= 7, "max_bytes 3: several polls (%ld)", polls);
    is_str(take(&r), "L1:alpha|L2:beta|L3:gamma|L4:delta|", "max_bytes: lines never split");
    finish(f, &r);
    rm("bud.log");
}

/* A writer appending lines in random fragments and rotating at random (at
 * most once between polls, on line boundaries, sometimes polled in the gap
 * between rename and create, sometimes still appending to the renamed file),
 * the reader polling with random budgets: every line exactly once, in order. */
static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}

static void test_random(void)
{
    rec r;
    kg_follow *f;
    unsigned seed = 20240601u;
    unsigned long long want = 14695981039346656037ull;
    char line[96];
    size_t len = 0, pos = 0;
    long id = 0, rotations = 0, written = 0;
    static const size_t budgets[] = {0, 1, 7, 100, 4096};
    int w = wopen("rnd.log");
    f = start(&r, "rnd.log", true, 0);
    r.quiet = true;
    for (int op = 0; op < 30000; op++) {
        unsigned k = rnd(&seed) % 10;
        if (pos == len) { /* the next line */
            int n = snprintf(line, sizeof line, "line %ld %.*s", ++id,
                             (int)(rnd(&seed) % 60), "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefgh");
            want = fnv(want, line, (size_t)n + 1);
            line[n] = '\n';
            len = (size_t)n + 1;
            pos = 0;
            written++;
        }
        if (k < 6) {
            size_t n = 1 + rnd(&seed) % (len - pos);
            if (write(w, line + pos, n) != (ssize_t)n)
                abort();
            pos += n;
        } else if (k < 9 || pos != 0 || rotations > 0) {
            poll1(f, budgets[rnd(&seed) % 5]);
            rotations = 0;
        } else {
            mv("rnd.log", "rnd.log.1");
            if (rnd(&seed) % 2)
                poll1(f, 0);
            if (rnd(&seed) % 2) { /* one more whole line into the old file */
                if (write(w, line, len) != (ssize_t)len)
                    abort();
                pos = len;
            }
            close(w);
            w = wopen("rnd.log");
            rotations++;
        }
    }
    if (write(w, line + pos, len - pos) != (ssize_t)(len - pos))
        abort();
    while (poll1(f, 0) > 0)
        ;
    is_int(r.lines, written, "random rotations: every line delivered");
    ok(r.sum == want && r.numbers_ok, "random rotations: exactly once, in order, numbers consecutive (%ld lines, %ld notes)",
       r.lines, r.notes);
    finish(f, &r);
    close(w);
    rm("rnd.log");
    rm("rnd.log.1");
}

#define BIG 200000

static void write_big(const char *name, unsigned long long *sum)
{
    size_t cap = (size_t)BIG * 64, len = 0;
    char *buf = malloc(cap);
    int w;
    if (!buf)
        abort();
    *sum = 14695981039346656037ull;
    for (long i = 1; i <= BIG; i++) {
        char *line = buf + len;
        int k = snprintf(line, cap - len,
                         "{\"auditID\":\"%08lx\",\"verb\":\"get\",\"n\":%ld}%s",
                         i * 2654435761ul, i, i % 7 == 0 ? "\r\n" : "\n");
        size_t body = (size_t)k - (i % 7 == 0 ? 2 : 1);
        line[body] = '\0';
        *sum = fnv(*sum, line, body + 1);
        line[body] = i % 7 == 0 ? '\r' : '\n';
        len += (size_t)k;
    }
    w = wopen(name);
    if (write(w, buf, len) != (ssize_t)len || fsync(w) < 0)
        abort();
    close(w);
    free(buf);
}

static void test_big(void)
{
    rec r;
    kg_follow *f;
    unsigned long long want;
    int w;
    write_big("big.log", &want);
    f = start(&r, "big.log", true, 0);
    r.quiet = true;
    poll1(f, 0);
    is_int(r.lines, BIG, "200,000 lines from start");
    ok(r.sum == want, "checksum of every line matches");
    ok(r.numbers_ok && r.last_lineno == BIG, "numbers 1..200,000 in order");
    finish(f, &r);

    /* The same, in small bites. */
    f = start(&r, "big.log", true, 0);
    r.quiet = true;
    while (poll1(f, 10000) > 0)
        ;
    ok(r.lines == BIG && r.sum == want && r.numbers_ok, "200,000 lines with max_bytes 10000: count and checksum");
    finish(f, &r);

    /* Starting at the end counts the existing lines. */
    f = start(&r, "big.log", false, 0);
    w = wopen("big.log");
    wr(w, "last\n");
    poll1(f, 0);
    is_str(take(&r), "L200001:last|", "at end of 200,000 lines: the next is line 200001");
    finish(f, &r);
    close(w);
    rm("big.log");
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    test_options();
    test_start_at_end();
    test_partial_crlf();
    test_rotation();
    test_double_rotation();
    test_behind();
    test_truncation();
    test_missing();
    test_delete_recreate();
    test_long_lines();
    test_inotify();
    test_budget();
    test_random();
    test_big();
    rmdir(tmpdir);
    return done_testing();
}
