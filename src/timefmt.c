/*
 * timefmt: the one place kguard reads and writes timestamps (see timefmt.h).
 */
#include <stdio.h>
#include <time.h>
#include "kguard/timefmt.h"

int timefmt_parse(const char *s, long long *ms)
{
    struct tm tm = {0};
    int n = 0, frac_ms = 0, digits = 0;
    long long off = 0;
    time_t t;

    if (!s || sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
                     &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n == 0)
        return -1;
    s += n;
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 3)
                frac_ms = frac_ms * 10 + (*s - '0');
        for (; digits < 3; digits++)
            frac_ms *= 10;
    }
    if (*s == '+' || *s == '-') {
        int hh, mm;
        if (sscanf(s + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = (hh * 60LL + mm) * 60 * (*s == '+' ? 1 : -1);
    } else if (*s != 'Z' && *s != 'z' && *s != '\0') {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *ms = ((long long)t - off) * 1000 + frac_ms;
    return 0;
}

const char *timefmt_format(long long ms, char buf[32])
{
    time_t t;
    struct tm tm;
    size_t n;
    if (ms < 0)
        ms = 0;
    t = (time_t)(ms / 1000);
    gmtime_r(&t, &tm);
    n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 32 - n, ".%03uZ", (unsigned)(ms % 1000));
    return buf;
}
