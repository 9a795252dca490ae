/*
 * util: shared helpers (see util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include "util.h"

char *util_read_file(const char *path, size_t max, size_t *len, int *err)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *err = 0;
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        *err = errno;
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        *err = S_ISDIR(st.st_mode) ? EISDIR : !S_ISREG(st.st_mode) ? EINVAL : EFBIG;
        goto fail;
    }
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        *err = ENOMEM;
        goto fail;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *err = n < 0 ? errno : EIO;
            goto fail;
        }
        got += (size_t)n;
    }
    buf[got] = '\0';
    *len = got;
    close(fd);
    return buf;
fail:
    free(buf);
    close(fd);
    return NULL;
}

void util_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
