/*
 * sink_file: the file sink — finding lines appended to a file (reopened
 * by its path after logrotate) or written to a stream the caller owns
 * (stdout, `kguard test`'s memory stream).  See sink.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "kguard/sink.h"

typedef struct file_sink {
    FILE *fp;
    char *path;     /* NULL: a stream the caller owns */
} file_sink;

static int file_write(kg_sink *s, const char *line, bool archived)
{
    file_sink *f = s->impl;
    (void)archived;
    if (fputs(line, f->fp) == EOF || fputc('\n', f->fp) == EOF)
        return sink_fail(s, "cannot write to %s: %s", s->name, strerror(errno));
    return 0;
}

static int file_flush(kg_sink *s)
{
    file_sink *f = s->impl;
    if (fflush(f->fp) == EOF || ferror(f->fp)) {
        int e = errno;
        clearerr(f->fp);
        return sink_fail(s, "cannot write to %s: %s", s->name, e ? strerror(e) : "I/O error");
    }
    return 0;
}

static int file_reopen(kg_sink *s)
{
    file_sink *f = s->impl;
    FILE *fp = fopen(f->path, "a");
    int rc;
    if (!fp)
        return sink_fail(s, "cannot reopen %s: %s", f->path, strerror(errno));
    rc = file_flush(s);  /* what the old file still held: its loss is reported */
    fclose(f->fp);
    f->fp = fp;
    return rc;
}

static void file_close(kg_sink *s)
{
    file_sink *f = s->impl;
    if (!f)
        return;
    if (f->path) {
        fclose(f->fp);
        free(f->path);
    } else {
        fflush(f->fp);
    }
    free(f);
    s->impl = NULL;
}

static const kg_sink_ops file_ops = {"file", file_write, file_flush, file_reopen, file_close};
static const kg_sink_ops stream_ops = {"file", file_write, file_flush, NULL, file_close};

kg_sink *sink_file_open(const char *path, unsigned takes, char *err, size_t errlen)
{
    file_sink *f = calloc(1, sizeof *f);
    kg_sink *s = NULL;

    if (!f || !(f->path = strdup(path))) {
        snprintf(err, errlen, "out of memory");
        goto cleanup;
    }
    if (!(f->fp = fopen(path, "a"))) {
        snprintf(err, errlen, "%s", strerror(errno));
        goto cleanup;
    }
    if (!(s = sink_new(&file_ops, f, path, takes))) {
        snprintf(err, errlen, "out of memory");
        fclose(f->fp);
        goto cleanup;
    }
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
    if (!(s = sink_new(&stream_ops, f, name, takes)))
        free(f);
    return s;
}
