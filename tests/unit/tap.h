/*
 * tap.h: a minimal TAP producer for the C unit tests (run by prove).
 * ok(cond, name...) prints one test line; done_testing() prints the plan and
 * returns the exit status (non-zero when any test failed).
 */
#ifndef KGUARD_TAP_H
#define KGUARD_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_run, tap_failed;

static int tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    tap_run++;
    if (!cond)
        tap_failed++;
    printf("%sok %d - ", cond ? "" : "not ", tap_run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond)
        printf("#   Failed test at %s line %d\n", file, line);
    fflush(stdout);
    return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, name)                                              \
    do {                                                                     \
        const char *g_ = (got), *w_ = (want);                                \
        if (!ok(g_ && w_ ? strcmp(g_, w_) == 0 : g_ == w_, "%s", name))      \
            printf("#   got: '%s'\n#   expected: '%s'\n", g_ ? g_ : "(null)",\
                   w_ ? w_ : "(null)");                                      \
    } while (0)
#define is_int(got, want, name)                                              \
    do {                                                                     \
        long long g_ = (got), w_ = (want);                                   \
        if (!ok(g_ == w_, "%s", name))                                       \
            printf("#   got: %lld\n#   expected: %lld\n", g_, w_);           \
    } while (0)

static int done_testing(void)
{
    printf("1..%d\n", tap_run);
    return tap_failed ? 1 : 0;
}

#endif
