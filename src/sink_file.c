/*
 * sink_file: the file sink — finding lines appended to a file (reopened
 * by its path after logrotate) or written to a stream the caller owns
 * (stdout, `kguard test`'s memory stream).  See sink.h.
 *
 * Every line is written with one write (sink_put_line): whole, or not at
 * all and the call fails, so the set can keep it and retry it (a partial
 * line cut short by a full disk or a file-size limit is cut off again).
 * Nothing is buffered here, so flush has nothing to do.  A FIFO is reopened
 * without blocking: with no reader the old descriptor stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kguard/sink.h"
#include "sink_spool.h"

typedef struct file_sink {
    int fd;         /* -1: write through fp (a stream without a descriptor) */
    FILE *fp;       /* the caller's stream, or NULL */
    char *path;     /* NULL: a stream the caller owns */
} file_sink;

static int file_write(kg_sink *s, const char *line, bool archived)
{
    file_sink *f = s->impl;
    (void)archived;
    if (f->fd < 0) {
        if (fputs(line, f->fp) == EOF || fputc('\n', f->fp) == EOF || fflush(f->fp) == EOF) {
            int e = errno;
            clearerr(f->fp);
            return sink_fail(s, "cannot write to %s: %s", s->name, e ? strerror(e) : "I/O error");
        }
        return 0;
    }
    if (sink_put_line(f->fd, line, strlen(line)) < 0)
        return sink_fail(s, "cannot write to %s: %s", s->name, strerror(errno));
    return 0;
}

/* Open path for appending; a FIFO without blocking (ENXIO: no reader yet)
 * unless wait_reader, then back to blocking writes. */
static int open_append(const char *path, bool wait_reader)
{
    struct stat st;
    bool fifo = stat(path, &st) == 0 && S_ISFIFO(st.st_mode);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                            (fifo && !wait_reader ? O_NONBLOCK : 0), 0644);
    if (fd >= 0 && fifo && !wait_reader)
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

static int file_reopen(kg_sink *s)
{
    file_sink *f = s->impl;
    int fd = open_append(f->path, false);
    if (fd < 0)
        return sink_fail(s, "cannot reopen %s: %s", f->path,
                         errno == ENXIO ? "a FIFO without a reader" : strerror(errno));
    close(f->fd);
    f->fd = fd;
    return 0;
}

static void file_close(kg_sink *s)
{
    file_sink *f = s->impl;
    if (!f)
        return;
    if (f->path) {
        close(f->fd);
        free(f->path);
    } else {
        fflush(f->fp);
    }
    free(f);
    s->impl = NULL;
}

static const kg_sink_ops file_ops = {"file", file_write, NULL, file_reopen, file_close,
                                     NULL, NULL};
static const kg_sink_ops stream_ops = {"file", file_write, NULL, NULL, file_close,
                                       NULL, NULL};

/* Where a file's unwritten lines wait: beside a regular file or a FIFO,
 * none for a device. */
static char *spool_path(const char *path, int fd)
{
    struct stat st;
    size_t n = strlen(path);
    char *p;
    if (fstat(fd, &st) != 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)))
        return NULL;
    if (!(p = malloc(n + sizeof ".spool")))
        return NULL;
    memcpy(p, path, n);
    memcpy(p + n, ".spool", sizeof ".spool");
    return p;
}

kg_sink *sink_file_open(const char *path, unsigned takes, char *err, size_t errlen)
{
    file_sink *f = calloc(1, sizeof *f);
    kg_sink *s = NULL;

    if (!f || !(f->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    if ((f->fd = open_append(path, true)) < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        goto cleanup;
    }
    if (!(s = sink_new(&file_ops, f, path, takes))) {
        snprintf(err, errlen, "out of memory");
        close(f->fd);
        goto cleanup;
    }
    s->spool = spool_path(path, f->fd);
    return s;
cleanup:
    if (f)
        free(f->path);
    free(f);
    return NULL;
}

kg_sink *sink_file_stream(FILE *fp, const char *name, unsigned takes)
{
    file_sink *f = calloc(1, sizeof *f);
    kg_sink *s;
    if (!f)
        return NULL;
    f->fp = fp;
    f->fd = fileno(fp);
    if (f->fd >= 0)
        fflush(fp);       /* what stdio still holds goes first */
    if (!(s = sink_new(&stream_ops, f, name, takes)))
        free(f);
    return s;
}
