/*
 * parse_baseline: the parse-only baseline of the kguard benchmark.
 *
 *   parse_baseline FILE|-
 *
 * Reads FILE line by line (getline) and parses each line with plain cJSON:
 * cJSON_Parse + cJSON_Delete, cJSON's default allocator (malloc/free), and
 * nothing else.  This is the floor any engine that builds a cJSON tree per
 * event would pay.  Prints "events=N bytes=B bad=K" on stderr.
 * Links only -lcjson.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cJSON.h>

int main(int argc, char **argv)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long long events = 0, bytes = 0, bad = 0;

    if (argc != 2) {
        fputs("usage: parse_baseline FILE|-\n", stderr);
        return 2;
    }
    f = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "r");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    while ((n = getline(&line, &cap, f)) != -1) {
        cJSON *doc;
        bytes += (unsigned long long)n;
        doc = cJSON_Parse(line);
        if (doc) {
            events++;
            cJSON_Delete(doc);
        } else {
            bad++;
        }
    }
    free(line);
    if (f != stdin)
        fclose(f);
    fprintf(stderr, "events=%llu bytes=%llu bad=%llu\n", events, bytes, bad);
    return 0;
}
