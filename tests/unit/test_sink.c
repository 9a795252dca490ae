/* Unit tests for the sink set (routing, failures reaching the caller) and
 * the file sink (append, flush, reopen after a rename, a full device). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kguard/sink.h"
#include "tap.h"

/* A sink that keeps its lines in memory and fails on demand. */
typedef struct mem_sink {
    char lines[8][128];
    int n, flushes, reopens;
    bool fail_write;
} mem_sink;

static int mem_write(kg_sink *s, const char *line, bool archived)
{
    mem_sink *m = s->impl;
    if (m->fail_write)
        return sink_fail(s, "%s is down", s->name);
    if (m->n < 8)
        snprintf(m->lines[m->n++], sizeof m->lines[0], "%s%s", archived ? "A:" : "", line);
    return 0;
}

static int mem_flush(kg_sink *s)
{
    ((mem_sink *)s->impl)->flushes++;
    return 0;
}

static int mem_reopen(kg_sink *s)
{
    ((mem_sink *)s->impl)->reopens++;
    return 0;
}

static const kg_sink_ops mem_ops = {"memory", mem_write, mem_flush, mem_reopen, NULL};

typedef struct reported {
    int n;
    char last[600];
} reported;

static void on_report(void *ud, const kg_sink *s, const char *what)
{
    reported *r = ud;
    r->n++;
    snprintf(r->last, sizeof r->last, "%s %s: %s", s->name, what, s->err);
}

static void test_routing(void)
{
    mem_sink out = {0}, arch = {0};
    kg_sinks *set = sinks_new();
    reported rep = {0};

    ok(!sinks_take(set, false) && !sinks_take(set, true), "an empty set takes nothing");
    ok(sinks_write(NULL, "{}", false) == 0 && sinks_flush(NULL) == 0 && sinks_count(NULL) == 0,
       "no set at all (kguard check) is an empty one");
    sinks_add(set, sink_new(&mem_ops, &out, "out", KG_SINK_FINDINGS));
    sinks_add(set, sink_new(&mem_ops, &arch, "archive", KG_SINK_ARCHIVED));
    sinks_set_report(set, on_report, &rep);
    is_int(sinks_count(set), 2, "two sinks");
    ok(sinks_take(set, true) && sinks_take(set, false), "both kinds are taken");
    is_int(sinks_write(set, "{\"type\":\"a\"}", false), 0, "a finding is written");
    is_int(sinks_write(set, "{\"type\":\"b\"}", true), 0, "an archived finding is written");
    is_int(out.n, 1, "the output got one line");
    is_str(out.lines[0], "{\"type\":\"a\"}", "the output got the active finding");
    is_int(arch.n, 1, "the archive got one line");
    is_str(arch.lines[0], "A:{\"type\":\"b\"}", "the archive got the archived finding, marked archived");
    is_int(out.flushes, 0, "no flush per line unless asked");
    sinks_get(set, 0)->flush_each = true;
    sinks_write(set, "{\"type\":\"c\"}", false);
    is_int(out.flushes, 1, "flush_each flushes after the line");
    is_int(sinks_reopen_one(set, 1), 1, "a sink with reopen is reopened");
    is_int(arch.reopens, 1, "its reopen ran");
    is_int(rep.n, 0, "nothing was reported");
    sinks_free(set);
}

static void test_failure(void)
{
    mem_sink bad = {.fail_write = true}, good = {0};
    kg_sinks *set = sinks_new();
    reported rep = {0};

    sinks_add(set, sink_new(&mem_ops, &bad, "http://collector", KG_SINK_FINDINGS));
    sinks_add(set, sink_new(&mem_ops, &good, "stdout", KG_SINK_FINDINGS | KG_SINK_ARCHIVED));
    sinks_set_report(set, on_report, &rep);
    is_int(sinks_write(set, "{\"type\":\"a\"}", false), 1, "one sink failed");
    is_int(rep.n, 1, "the failure was reported");
    is_str(rep.last, "http://collector write: http://collector is down",
           "the report names the sink, the call and the reason");
    is_int(good.n, 1, "the other sink still got the line");
    is_int(sinks_errors(set), 1, "the failure is counted");
    is_int(sinks_write(set, "{\"type\":\"b\"}", true), 0, "an archived line skips the failing sink");
    ok(sinks_add(set, NULL) == -1, "a failed constructor passed to sinks_add is refused");
    sinks_free(set);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
    return buf;
}

static void test_file_reopen(void)
{
    char dir[] = "/tmp/kguard-sink-XXXXXX", path[128], moved[128], err[256] = "";
    kg_sinks *set = sinks_new();
    kg_sink *s;

    ok(mkdtemp(dir) != NULL, "a temporary directory");
    snprintf(path, sizeof path, "%s/findings.jsonl", dir);
    snprintf(moved, sizeof moved, "%s/findings.jsonl.1", dir);
    s = sink_file_open(path, KG_SINK_FINDINGS, err, sizeof err);
    ok(s != NULL, "the file sink opens (%s)", err);
    is_str(s->format, "json", "the default format");
    sinks_add(set, s);
    sinks_write(set, "{\"n\":1}", false);
    is_int(sinks_flush(set), 0, "flushed");
    is_str(slurp(path), "{\"n\":1}\n", "the line is appended with a newline");
    ok(rename(path, moved) == 0, "logrotate moves the file");
    is_int(sinks_reopen_one(set, 0), 1, "reopened");
    sinks_write(set, "{\"n\":2}", false);
    sinks_flush(set);
    is_str(slurp(moved), "{\"n\":1}\n", "the moved file keeps the old line");
    is_str(slurp(path), "{\"n\":2}\n", "the new file has the line after the reopen");
    sinks_free(set);
    unlink(path);
    unlink(moved);
    rmdir(dir);

    ok(sink_file_open("/nonexistent-dir/out.jsonl", KG_SINK_FINDINGS, err, sizeof err) == NULL,
       "a file in a missing directory does not open");
    is_str(err, "No such file or directory", "and says why");
}

static void test_file_full(void)
{
    char err[256] = "";
    kg_sinks *set = sinks_new();
    reported rep = {0};
    kg_sink *s = sink_file_open("/dev/full", KG_SINK_FINDINGS, err, sizeof err);

    ok(s != NULL, "/dev/full opens (%s)", err);
    sinks_add(set, s);
    sinks_set_report(set, on_report, &rep);
    sinks_write(set, "{\"n\":1}", false);
    is_int(sinks_flush(set), 1, "flushing to a full device fails");
    is_str(rep.last, "/dev/full flush: cannot write to /dev/full: No space left on device",
           "the failure names the file and the reason");
    sinks_free(set);
}

int main(void)
{
    test_routing();
    test_failure();
    test_file_reopen();
    test_file_full();
    return done_testing();
}
