/*
 * follow: `tail -F` for one audit log path.
 *
 * What this module owns, all of it inside one kg_follow (no global state):
 * the fd of the file being read with its st_dev/st_ino and the byte offset
 * read so far, the number of complete lines seen in that file, the partial
 * last line waiting for its newline, the files found at the path since then
 * (opened, waiting their turn), a read buffer, and one inotify fd watching
 * the file's directory.
 *
 * A poll drains inotify (a wake-up only: nothing depends on its events, the
 * caller's timer makes up for a missed one) and stats the path: a file there
 * that is not already open (rename + create, or delete + create) is opened at
 * once and queued behind the current one; a missing path is noted "missing"
 * once, and the current fd is kept and still read (a renamed or unlinked
 * file stays readable, and a writer may not have switched yet).  Then the
 * current file is read to EOF (or until the byte budget is spent), and at
 * EOF:
 *   - same inode, size < offset -> "truncated" (copytruncate): any partial
 *     line is delivered, then the file is read again from 0;
 *   - a file is waiting -> the current one is read once more to its end,
 *     its unterminated last line delivered, "rotated" noted, and the next
 *     file read from offset 0 (a file that appears where none was is read
 *     from its start too, without a note).
 * Holding an fd keeps its inode allocated, so a new file at the path can
 * never get the inode number of one we hold: dev/ino comparison is reliable.
 *
 * Guarantees: every line of every file found at the path at open or at a
 * poll is delivered exactly once, in order, with its true line number in its
 * file (counting from 1) -- even when reading is behind by several rotations
 * (up to MAX_WAITING files wait their turn).  Lines are delivered
 * NUL-terminated (line[len] == '\0'; the bytes are valid only during the
 * callback), without their "\n" or "\r\n"; empty lines are delivered too.
 * Starting at the end reads the existing file once (chunked) to count its
 * lines, and starts after its last complete line, so a line being written
 * when following starts is delivered whole.
 *
 * Limits:
 *   - Two rotations between polls (A renamed away, B created, B renamed
 *     away, C created): A, held open, is read to its end and C from its
 *     start; B was never seen and is not read (nothing names it reliably:
 *     backup names are the writer's choice).  Poll faster than the writer
 *     rotates (the API server rotates at --audit-log-maxsize MB).  With
 *     MAX_WAITING files already waiting, newer ones are not opened until one
 *     is finished.
 *   - Truncation is seen as "size < offset".  A file truncated and then
 *     written past our offset between two polls looks like a file that grew:
 *     reading goes on from the old offset (tail -F has the same blind spot).
 *   - An unterminated last line is delivered only when the file is left
 *     (rotation or truncation); until then it waits for its newline.
 *   - A line over max_line is drained without being kept, noted as
 *     "line too long" with its number, and not delivered.
 *   - inotify watches the directory named in the path; when the path is a
 *     symlink into another directory, writes to the target do not wake the
 *     caller and only its timer does.
 *   - max_bytes bounds the bytes read per poll (lines are never split by
 *     it); truncation and the switch to a waiting file happen once the
 *     current file has been read to its end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "kguard/follow.h"
#include "util.h"

#define CHUNK ((size_t)64 << 10)
#define DEFAULT_MAX_LINE ((size_t)16 << 20)
#define MAX_WAITING 16 /* files found at the path, queued behind the current */
#define WATCH_MASK                                                         \
    (IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_MODIFY |     \
     IN_CLOSE_WRITE)

/* An open file and its identity. */
typedef struct held {
    int fd;
    dev_t dev;
    ino_t ino;
} held;

struct kg_follow {
    char *path, *dir;
    size_t max_line;
    kg_follow_line_fn line;
    kg_follow_note_fn note;
    void *ud;

    int fd;              /* current file; -1 until the path first exists */
    dev_t dev;
    ino_t ino;
    long long off;       /* bytes read from fd */
    long lineno;         /* complete lines seen in the current file */
    bool missing_noted;  /* "missing" reported since the path last existed */

    char *part;          /* the partial line, without its newline yet */
    size_t plen, pcap;
    bool skipping;       /* inside a line over max_line: drop to its newline */

    held waiting[MAX_WAITING]; /* later files, oldest first, read next */
    int nwaiting;

    char *rbuf;          /* CHUNK bytes */
    int ifd, wd;         /* inotify fd and its directory watch; -1 if none */
};

static void note(kg_follow *f, long lineno, const char *what)
{
    if (f->note)
        f->note(f->ud, f->path, lineno, what);
}

static void note_missing(kg_follow *f)
{
    if (f->missing_noted)
        return;
    f->missing_noted = true;
    note(f, f->lineno, "missing");
}

/* ---- lines ------------------------------------------------------------ */

/* Hand over line f->lineno, p[0..len) without its '\n'; p[len] is writable
 * (it held the newline).  Returns 1 when delivered, 0 when too long. */
static long deliver(kg_follow *f, char *p, size_t len)
{
    if (len > 0 && p[len - 1] == '\r')
        len--;
    if (len > f->max_line) {
        note(f, f->lineno, "line too long");
        return 0;
    }
    p[len] = '\0';
    f->line(f->ud, f->path, f->lineno, p, len);
    return 1;
}

/* Stop keeping the line being read: it is dropped up to its newline. */
static void start_skip(kg_follow *f, const char *why)
{
    note(f, f->lineno + 1, why);
    f->plen = 0;
    f->skipping = true;
}

/* Append to the partial line, room kept for one '\r' and the NUL; a line
 * that cannot fit under max_line (or in memory) is skipped instead. */
static void part_add(kg_follow *f, const char *p, size_t n)
{
    size_t need = f->plen + n + 1, cap;
    char *grown;
    if (f->plen + n > f->max_line + 1) {
        start_skip(f, "line too long");
        return;
    }
    if (need > f->pcap) {
        cap = f->pcap ? f->pcap : 256;
        while (cap < need)
            cap *= 2;
        if (cap > f->max_line + 2)
            cap = f->max_line + 2;
        if (!(grown = realloc(f->part, cap))) {
            start_skip(f, "out of memory");
            return;
        }
        f->part = grown;
        f->pcap = cap;
    }
    memcpy(f->part + f->plen, p, n);
    f->plen += n;
}

/* Split n bytes just read into lines; returns the number delivered.  A line
 * wholly inside p is delivered from p itself, without a copy. */
static long feed(kg_follow *f, char *p, size_t n)
{
    long got = 0;
    while (n > 0) {
        char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        bool direct = nl && !f->skipping && f->plen == 0;
        if (!direct && !f->skipping)
            part_add(f, p, seg);
        if (!nl)
            break;
        f->lineno++;
        if (f->skipping) {
            f->skipping = false;
        } else if (direct) {
            got += deliver(f, p, seg);
        } else {
            got += deliver(f, f->part, f->plen);
            f->plen = 0;
        }
        p = nl + 1;
        n -= seg + 1;
    }
    return got;
}

/* Leaving the current file: its unterminated last line is delivered now. */
static long flush_partial(kg_follow *f)
{
    long got = 0;
    if (!f->skipping && f->plen > 0) {
        f->lineno++;
        got = deliver(f, f->part, f->plen);
    }
    f->plen = 0;
    f->skipping = false;
    return got;
}

/* ---- files ------------------------------------------------------------ */

/* Open the path: 1 with *h and *st set, 0 when it does not exist, -1 on
 * another error. */
static int open_path(const kg_follow *f, held *h, struct stat *st, char *err,
                     size_t errlen)
{
    h->fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (h->fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 0;
        util_set_err(err, errlen, "%s: %s", f->path, strerror(errno));
        return -1;
    }
    if (fstat(h->fd, st) < 0) {
        util_set_err(err, errlen, "%s: %s", f->path, strerror(errno));
        close(h->fd);
        return -1;
    }
    h->dev = st->st_dev;
    h->ino = st->st_ino;
    return 1;
}

/* Make h the current file, read from its start. */
static void install(kg_follow *f, const held *h)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = h->fd;
    f->dev = h->dev;
    f->ino = h->ino;
    f->off = 0;
    f->lineno = 0;
    f->plen = 0;
    f->skipping = false;
}

/* Is the file st already open, as the current one or a waiting one? */
static bool known(const kg_follow *f, const struct stat *st)
{
    if (f->fd >= 0 && st->st_dev == f->dev && st->st_ino == f->ino)
        return true;
    for (int i = 0; i < f->nwaiting; i++)
        if (st->st_dev == f->waiting[i].dev && st->st_ino == f->waiting[i].ino)
            return true;
    return false;
}

/* Start at the end: count the lines already there (so numbers stay true)
 * and stand after the last complete one. */
static int skip_existing(kg_follow *f, off_t size, char *err, size_t errlen)
{
    long long pos = 0, after_nl = 0;
    long lines = 0;
    while (pos < (long long)size) {
        size_t want = CHUNK;
        ssize_t n;
        const char *p, *end, *q;
        if ((long long)want > (long long)size - pos)
            want = (size_t)((long long)size - pos);
        n = read(f->fd, f->rbuf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            util_set_err(err, errlen, "%s: %s", f->path, strerror(errno));
            return -1;
        }
        if (n == 0)
            break;
        end = f->rbuf + n;
        for (p = f->rbuf; (q = memchr(p, '\n', (size_t)(end - p))); p = q + 1) {
            lines++;
            after_nl = pos + (q - f->rbuf) + 1;
        }
        pos += n;
    }
    if (lseek(f->fd, (off_t)after_nl, SEEK_SET) < 0) {
        util_set_err(err, errlen, "%s: %s", f->path, strerror(errno));
        return -1;
    }
    f->off = after_nl;
    f->lineno = lines;
    return 0;
}

/* Read the current fd until EOF or until *budget is spent, delivering lines
 * into *got: 1 at EOF, 0 when the budget ran out, -1 on a read error. */
static int read_fd(kg_follow *f, size_t *budget, long *got, char *err,
                   size_t errlen)
{
    for (;;) {
        size_t want = CHUNK < *budget ? CHUNK : *budget;
        ssize_t n;
        if (want == 0)
            return 0;
        n = read(f->fd, f->rbuf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 1; /* a pipe with nothing yet */
        if (n < 0) {
            util_set_err(err, errlen, "%s: %s", f->path, strerror(errno));
            return -1;
        }
        if (n == 0)
            return 1;
        f->off += n;
        *budget -= (size_t)n;
        *got += feed(f, f->rbuf, (size_t)n);
    }
}

/* Same inode, now shorter than what was read: copytruncate.  Read it again
 * from the start.  Returns true when that happened. */
static bool check_truncated(kg_follow *f, long *got)
{
    struct stat st;
    if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
        (long long)st.st_size >= f->off)
        return false;
    if (lseek(f->fd, 0, SEEK_SET) < 0)
        return false;
    *got += flush_partial(f);
    note(f, f->lineno, "truncated");
    f->off = 0;
    f->lineno = 0;
    return true;
}

/* Has the path moved on?  A file there that is neither the current one nor
 * a waiting one is opened at once (so that a later rotation cannot take it
 * away) and queued behind the current file; with no current file it becomes
 * the current one.  1 when the path is missing (noted by the caller, after
 * reading), 0 otherwise, -1 on error. */
static int look_at_path(kg_follow *f, char *err, size_t errlen)
{
    struct stat st;
    held h;
    int r;
    if (stat(f->path, &st) < 0) {
        if (errno != ENOENT && errno != ENOTDIR) {
            util_set_err(err, errlen, "%s: %s", f->path, strerror(errno));
            return -1;
        }
        return 1;
    }
    f->missing_noted = false;
    if (known(f, &st) || f->nwaiting == MAX_WAITING)
        return 0;
    if ((r = open_path(f, &h, &st, err, errlen)) <= 0)
        return r < 0 ? -1 : 1;
    if (known(f, &st))
        close(h.fd); /* renamed back meanwhile */
    else if (f->fd < 0)
        install(f, &h); /* it appeared: a new file, read from its start */
    else
        f->waiting[f->nwaiting++] = h;
    return 0;
}

/* The current file is at its end and another waits: finish this one (bytes
 * written since, its unterminated last line), note "rotated", move on. */
static void next_file(kg_follow *f, long *got, bool *failed, char *err,
                      size_t errlen)
{
    size_t unlimited = SIZE_MAX;
    if (read_fd(f, &unlimited, got, err, errlen) < 0)
        *failed = true;
    *got += flush_partial(f);
    note(f, f->lineno, "rotated");
    install(f, &f->waiting[0]);
    f->nwaiting--;
    memmove(f->waiting, f->waiting + 1, (size_t)f->nwaiting * sizeof f->waiting[0]);
}

/* ---- inotify ---------------------------------------------------------- */

static void watch_dir(kg_follow *f)
{
    if (f->ifd >= 0 && f->wd < 0)
        f->wd = inotify_add_watch(f->ifd, f->dir, WATCH_MASK | IN_ONLYDIR);
}

/* Read every pending event; a watch removed by the kernel (the directory
 * went away) is added again once the directory is back. */
static void drain_inotify(kg_follow *f)
{
    _Alignas(struct inotify_event) char buf[4096];
    ssize_t n;
    if (f->ifd < 0)
        return;
    while ((n = read(f->ifd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        const char *p = buf;
        while (n > 0 && p < buf + n) {
            const struct inotify_event *ev = (const void *)p;
            if ((ev->mask & IN_IGNORED) && ev->wd == f->wd)
                f->wd = -1;
            p += sizeof *ev + ev->len;
        }
    }
    watch_dir(f);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* ---- API -------------------------------------------------------------- */

kg_follow *follow_open(const kg_follow_opts *opts, char *err, size_t errlen)
{
    kg_follow *f = NULL;
    struct stat st;
    held h;
    int r;
    if (!opts || !opts->path || !opts->path[0] || !opts->line) {
        util_set_err(err, errlen, "follow: a path and a line callback are needed");
        return NULL;
    }
    if (!(f = calloc(1, sizeof *f)))
        goto oom;
    f->fd = f->ifd = f->wd = -1;
    f->path = strdup(opts->path);
    f->dir = dir_of(opts->path);
    f->rbuf = malloc(CHUNK);
    if (!f->path || !f->dir || !f->rbuf)
        goto oom;
    f->max_line = opts->max_line ? opts->max_line : DEFAULT_MAX_LINE;
    if (f->max_line > SIZE_MAX / 4)
        f->max_line = SIZE_MAX / 4;
    f->line = opts->line;
    f->note = opts->note;
    f->ud = opts->ud;

    f->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC); /* -1: timer only */
    watch_dir(f);

    if ((r = open_path(f, &h, &st, err, errlen)) < 0)
        goto fail;
    if (r > 0) {
        install(f, &h);
        if (!opts->from_start && S_ISREG(st.st_mode) &&
            skip_existing(f, st.st_size, err, errlen) < 0)
            goto fail;
    }
    return f;
oom:
    util_set_err(err, errlen, "follow: out of memory");
fail:
    follow_close(f);
    return NULL;
}

long follow_poll(kg_follow *f, size_t max_bytes, char *err, size_t errlen)
{
    size_t budget = max_bytes ? max_bytes : SIZE_MAX;
    long got = 0;
    bool failed, missing;
    int r;
    drain_inotify(f);
    r = look_at_path(f, err, errlen);
    failed = r < 0;
    missing = r > 0;
    if (f->fd < 0) {
        if (missing)
            note_missing(f);
        return failed ? -1 : 0;
    }
    for (;;) {
        if ((r = read_fd(f, &budget, &got, err, errlen)) < 0)
            failed = true; /* unreadable: move on if another file waits */
        else if (r == 0)
            break; /* budget spent: the next file can wait */
        else if (check_truncated(f, &got))
            continue;
        if (f->nwaiting == 0)
            break;
        next_file(f, &got, &failed, err, errlen);
    }
    if (missing)
        note_missing(f); /* after what the old file still had */
    return failed ? -1 : got;
}

int follow_fd(const kg_follow *f)
{
    return f ? f->ifd : -1;
}

long long follow_offset(const kg_follow *f)
{
    return f && f->fd >= 0 ? f->off : 0;
}

void follow_close(kg_follow *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    for (int i = 0; i < f->nwaiting; i++)
        close(f->waiting[i].fd);
    if (f->ifd >= 0)
        close(f->ifd);
    free(f->part);
    free(f->rbuf);
    free(f->dir);
    free(f->path);
    free(f);
}
