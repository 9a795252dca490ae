/*
 * sink_spool: a sink's backlog of unwritten finding lines, in memory and
 * then in a spool file beside the output, retried oldest first; and
 * sink_put_line, whole lines or nothing (sink_spool.h).
 *
 * Order: memory lines are always older than spool-file lines.  A line goes
 * to memory only while the spool file holds nothing; once something is in
 * the file, every new line follows it there.  The file is read from roff
 * (what was already delivered) and removed once it is all delivered; at
 * the end what is left is compacted (the delivered head cut off) so that
 * the next run writes each line once.
 */
#include "sink_spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "util.h"

typedef struct mline {
    struct mline *next;
    size_t len;
    char text[];
} mline;

struct sink_backlog {
    mline *head, *tail;
    size_t mem_bytes;
    unsigned long long mem_lines;
    char *spool;                 /* NULL: memory only */
    int wfd;                     /* the spool file for appending; -1: not open */
    long long roff, size;        /* delivered prefix, file size */
    unsigned long long spool_lines, adopted;
    unsigned long long spooled;  /* lines ever appended to the spool file */
};

int sink_put_line(int fd, const char *line, size_t len)
{
    struct stat st;
    bool reg = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    off_t start = reg ? lseek(fd, 0, SEEK_END) : (off_t)-1;
    size_t total = len + 1, done = 0;
    while (done < total) {
        struct iovec iov[2];
        int n = 0;
        ssize_t w;
        if (done < len)
            iov[n++] = (struct iovec){(void *)(line + done), len - done};
        iov[n++] = (struct iovec){(void *)"\n", 1};
        w = writev(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            if (done > 0 && reg && start >= 0 && ftruncate(fd, start) != 0)
                e = w < 0 ? e : errno;
            errno = e;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

/* Count the complete lines of an existing spool file and cut off a partial
 * last line (a crash in the middle of a write). */
static void adopt(sink_backlog *b)
{
    FILE *f = fopen(b->spool, "r+");
    long long last_nl = -1, pos = 0;
    int c;
    if (!f)
        return;
    while ((c = getc(f)) != EOF) {
        if (c == '\n') {
            last_nl = pos;
            b->spool_lines++;
        }
        pos++;
    }
    if (last_nl + 1 < pos && ftruncate(fileno(f), (off_t)(last_nl + 1)) != 0)
        b->spool_lines = 0;        /* cannot tidy it: leave it alone */
    fclose(f);
    b->size = b->spool_lines ? last_nl + 1 : 0;
    b->adopted = b->spool_lines;
}

sink_backlog *backlog_new(const char *spool)
{
    sink_backlog *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->wfd = -1;
    if (spool && !(b->spool = strdup(spool))) {
        free(b);
        return NULL;
    }
    if (b->spool)
        adopt(b);
    return b;
}

static void free_memory(sink_backlog *b);

void backlog_free(sink_backlog *b)
{
    if (!b)
        return;
    free_memory(b);
    if (b->wfd >= 0)
        close(b->wfd);
    free(b->spool);
    free(b);
}

bool backlog_empty(const sink_backlog *b)
{
    return !b || (!b->head && !b->spool_lines);
}

unsigned long long backlog_lines(const sink_backlog *b)
{
    return b ? b->mem_lines + b->spool_lines : 0;
}

unsigned long long backlog_adopted(const sink_backlog *b)
{
    return b ? b->adopted : 0;
}

const char *backlog_spool(const sink_backlog *b)
{
    return b ? b->spool : NULL;
}

void backlog_counts(const sink_backlog *b, unsigned long long *spooled,
                    unsigned long long *spool_bytes, unsigned long long *in_memory)
{
    *spooled = b ? b->spooled : 0;
    *spool_bytes = b && b->spool_lines && b->size > b->roff ? (unsigned long long)(b->size - b->roff) : 0;
    *in_memory = b ? b->mem_lines : 0;
}

static int spool_append(sink_backlog *b, const char *line, size_t len, char *err, size_t errlen)
{
    if (!b->spool) {
        util_set_err(err, errlen, "%zu bytes waiting in memory already, and no spool file",
                     b->mem_bytes);
        return -1;
    }
    if (b->size + (long long)len + 1 > SPOOL_FILE_MAX) {
        util_set_err(err, errlen, "spool file %s is full (%lld bytes)", b->spool, b->size);
        return -1;
    }
    if (b->wfd < 0 &&
        (b->wfd = open(b->spool, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
        util_set_err(err, errlen, "cannot open spool file %s: %s", b->spool, strerror(errno));
        return -1;
    }
    if (sink_put_line(b->wfd, line, len) < 0) {
        util_set_err(err, errlen, "cannot write to spool file %s: %s", b->spool, strerror(errno));
        return -1;
    }
    b->size += (long long)len + 1;
    b->spool_lines++;
    b->spooled++;
    return 0;
}

int backlog_keep(sink_backlog *b, const char *line, char *err, size_t errlen)
{
    size_t len = strlen(line);
    mline *m;
    if (b->spool_lines || b->mem_bytes + len > SPOOL_MEM_MAX)
        return spool_append(b, line, len, err, errlen);
    if (!(m = malloc(sizeof *m + len + 1))) {
        util_set_err(err, errlen, "out of memory");
        return -1;
    }
    memcpy(m->text, line, len + 1);
    m->len = len;
    m->next = NULL;
    if (b->tail)
        b->tail->next = m;
    else
        b->head = m;
    b->tail = m;
    b->mem_bytes += len;
    b->mem_lines++;
    return 0;
}

/* The spool file is all delivered: remove it. */
static void spool_reset(sink_backlog *b)
{
    if (b->wfd >= 0)
        close(b->wfd);
    b->wfd = -1;
    unlink(b->spool);
    b->roff = b->size = 0;
    b->spool_lines = 0;
}

static unsigned long long drain_spool(sink_backlog *b, backlog_put put, void *ud, bool *failed)
{
    FILE *f = fopen(b->spool, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long long put_n = 0;
    if (!f || fseeko(f, (off_t)b->roff, SEEK_SET) != 0) {
        *failed = true;
        goto cleanup;
    }
    while (b->spool_lines && (n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (put(ud, line) < 0) {
            *failed = true;
            goto cleanup;
        }
        b->roff += n;
        b->spool_lines--;
        put_n++;
    }
    if (b->spool_lines == 0 || b->roff >= b->size)
        spool_reset(b);
cleanup:
    free(line);
    if (f)
        fclose(f);
    return put_n;
}

unsigned long long backlog_drain(sink_backlog *b, backlog_put put, void *ud, bool *failed)
{
    unsigned long long n = 0;
    *failed = false;
    while (b->head) {
        mline *m = b->head;
        if (put(ud, m->text) < 0) {
            *failed = true;
            return n;
        }
        b->head = m->next;
        if (!b->head)
            b->tail = NULL;
        b->mem_bytes -= m->len;
        b->mem_lines--;
        free(m);
        n++;
    }
    if (b->spool_lines)
        n += drain_spool(b, put, ud, failed);
    return n;
}

/* Write the memory lines, then the undelivered rest of the spool file, to
 * a new spool file and rename it over the old one: one file, oldest line
 * first, nothing delivered twice.  0, or -1 (nothing changed). */
static int rewrite(sink_backlog *b, char *err, size_t errlen)
{
    char tmp[4096], buf[65536];
    FILE *in = NULL;
    int out = -1, rc = -1;
    size_t n;
    snprintf(tmp, sizeof tmp, "%s.tmp", b->spool);
    if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        goto cleanup;
    for (mline *m = b->head; m; m = m->next)
        if (sink_put_line(out, m->text, m->len) < 0)
            goto cleanup;
    if (b->spool_lines) {
        if (!(in = fopen(b->spool, "r")) || fseeko(in, (off_t)b->roff, SEEK_SET) != 0)
            goto cleanup;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            if (write(out, buf, n) != (ssize_t)n)
                goto cleanup;
        if (ferror(in))
            goto cleanup;
    }
    if (fsync(out) != 0 || rename(tmp, b->spool) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    if (rc < 0) {
        util_set_err(err, errlen, "cannot write spool file %s: %s", tmp, strerror(errno));
        unlink(tmp);
    }
    if (in)
        fclose(in);
    if (out >= 0)
        close(out);
    return rc;
}

static void free_memory(sink_backlog *b)
{
    for (mline *m = b->head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    b->head = b->tail = NULL;
    b->mem_bytes = 0;
    b->mem_lines = 0;
}

unsigned long long backlog_save(sink_backlog *b, char *err, size_t errlen)
{
    unsigned long long lost = 0;
    if (!b || (!b->head && !b->roff))
        return 0;
    if (!b->spool) {
        lost = b->mem_lines;
        util_set_err(err, errlen, "no spool file to keep them in");
    } else if (rewrite(b, err, errlen) < 0) {
        lost = b->mem_lines;       /* the old spool file, if any, is left as it was */
    } else {
        b->spool_lines += b->mem_lines;
        b->spooled += b->mem_lines;
    }
    free_memory(b);
    return lost;
}
