/*
 * fuzz_util: what the libFuzzer targets share: the fuzzer's bytes as a
 * file that kguard's own readers open by name (a memfd behind
 * /proc/self/fd/N), and as a NUL-terminated copy.
 */
#ifndef KGUARD_FUZZ_UTIL_H
#define KGUARD_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Write data to a fresh memfd; its path in path.  Returns the fd or -1. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t n)
{
    int fd = memfd_create("kguard-fuzz", MFD_CLOEXEC);
    size_t off = 0;
    if (fd < 0)
        return -1;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    snprintf(path, n, "/proc/self/fd/%d", fd);
    return fd;
}

/* A NUL-terminated copy of data (free it). */
static inline char *fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

#endif
