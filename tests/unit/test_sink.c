/* Unit tests for the sink set (routing, failures reaching the caller) and
 * the file sink (append, flush, reopen after a rename, a full device). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "kguard/sink.h"
#include "sink_spool.h"
#define SPOOL_MEM_MAX_FOR_TEST SPOOL_MEM_MAX
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

static const kg_sink_ops mem_ops = {"memory", mem_write, mem_flush, mem_reopen, NULL,
                                    NULL, NULL};

typedef struct reported {
    int n;
    int notes;
    char last[1200];
} reported;

static void on_report(void *ud, const kg_sink *s, const char *what)
{
    reported *r = ud;
    if (!what) {
        r->notes++;
        snprintf(r->last, sizeof r->last, "%s: %s", s->name, s->err);
        return;
    }
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
    is_str(rep.last, "http://collector write: http://collector is down; keeping finding lines in "
           "memory and retrying", "the report names the sink, the call and the reason");
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
    ok(s->spool == NULL, "no spool file beside a device");
    is_int(sinks_write(set, "{\"n\":1}", false), 1, "writing to a full device fails");
    is_str(rep.last, "/dev/full write: cannot write to /dev/full: No space left on device; keeping "
           "finding lines in memory and retrying", "the failure names the file and the reason");
    is_int(sinks_finish(set), 1, "at the end: one line not written");
    is_str(rep.last, "/dev/full write: 1 finding line lost: no spool file to keep them in",
           "... reported lost");
    sinks_free(set);
}

/* A sink that checks the order of numbered lines and fails on demand. */
typedef struct seq_sink {
    long next;              /* the number the next line must carry */
    long got, disorder;
    bool fail;
} seq_sink;

static int seq_write(kg_sink *s, const char *line, bool archived)
{
    seq_sink *q = s->impl;
    (void)archived;
    if (q->fail)
        return sink_fail(s, "%s refuses", s->name);
    if (strtol(line + 5, NULL, 10) != q->next)   /* {"n":N, ... */
        q->disorder++;
    q->next = strtol(line + 5, NULL, 10) + 1;
    q->got++;
    return 0;
}

static const kg_sink_ops seq_ops = {"seq", seq_write, NULL, NULL, NULL, NULL, NULL};

static void write_numbered(kg_sinks *set, long from, long to, size_t pad)
{
    static char line[2048];
    for (long i = from; i < to; i++) {
        int n = snprintf(line, sizeof line, "{\"n\":%ld,\"pad\":\"", i);
        memset(line + n, 'x', pad);
        snprintf(line + n + pad, sizeof line - n - pad, "\"}");
        sinks_write(set, line, false);
    }
}

/* An outage: reported once, lines kept in order, written on a retry. */
static void test_outage(void)
{
    seq_sink q = {.fail = true};
    kg_sinks *set = sinks_new();
    reported rep = {0};
    sinks_add(set, sink_new(&seq_ops, &q, "collector", KG_SINK_FINDINGS));
    sinks_set_report(set, on_report, &rep);
    kg_sink_counts n;
    write_numbered(set, 0, 5, 10);
    is_int(rep.n, 1, "an outage is reported once");
    is_int((long)sinks_waiting(set), 5, "five lines wait");
    is_int(sinks_counts(set, 0, &n), 0, "counts of a sink without a counts callback");
    ok(n.delivered == 0 && n.pending == 5 && n.errors == 1 && n.failed == 0 && n.spooled == 0 &&
       n.spool_bytes == 0, "in the outage: 0 delivered, 5 in memory, 1 failed write, none lost");
    is_int(sinks_counts(set, 1, &n), -1, "no sink 1: -1");
    q.fail = false;
    write_numbered(set, 5, 6, 10);
    is_int(q.got, 0, "no retry before a second has passed: the new line waits behind the others");
    is_int(sinks_reopen_one(set, 0), 0, "SIGUSR1 (nothing to reopen) ...");
    is_int(q.got, 6, "... retries at once: six lines written");
    is_int(q.disorder, 0, "in order");
    is_int(rep.notes, 1, "the recovery is noted");
    is_str(rep.last, "collector: writing again: 6 waiting finding lines written", "... with the count");
    write_numbered(set, 6, 7, 10);
    is_int(q.got, 7, "then lines go straight through");
    sinks_counts(set, 0, &n);
    ok(n.delivered == 7 && n.pending == 0 && n.errors == 1,
       "after it: 7 delivered (the retried ones too), none waiting, still 1 failure");
    is_int(sinks_finish(set), 0, "nothing unwritten at the end");
    is_int(rep.n, 1, "no failure but the first");
    sinks_free(set);
}

/* Past the memory bound lines go to the spool file; at the end what waits
 * is kept there and the next run writes it first. */
static void test_spool(void)
{
    char dir[] = "/tmp/kguard-spool-XXXXXX", spool[128];
    seq_sink q = {.fail = true}, q2 = {0};
    kg_sinks *set = sinks_new();
    reported rep = {0};
    kg_sink *s;
    long n = (long)(SPOOL_MEM_MAX_FOR_TEST / 1000) + 500;
    FILE *f;
    long lines = 0;
    int c;

    ok(mkdtemp(dir) != NULL, "a temporary directory");
    snprintf(spool, sizeof spool, "%s/findings.jsonl.spool", dir);
    s = sink_new(&seq_ops, &q, "findings.jsonl", KG_SINK_FINDINGS);
    s->spool = strdup(spool);
    sinks_add(set, s);
    sinks_set_report(set, on_report, &rep);
    write_numbered(set, 0, n, 1000);
    is_int(rep.n, 1, "one outage report for all the lines");
    is_int((long)sinks_waiting(set), n, "all wait");
    ok(access(spool, F_OK) == 0, "past 8 MiB in memory, the spool file was started");
    {
        kg_sink_counts k;
        sinks_counts(set, 0, &k);
        ok(k.spooled > 0 && k.spooled < (unsigned long long)n && k.pending + k.spooled == (unsigned long long)n,
           "counts: %llu in memory + %llu spooled = every line", k.pending, k.spooled);
        /* {"n":NNNN,"pad":"x...x"} and a newline: 1020 bytes */
        ok(k.spool_bytes == k.spooled * 1020, "counts: the spool's bytes (%llu)", k.spool_bytes);
        ok(k.delivered == 0 && k.failed == 0, "counts: nothing delivered, nothing lost");
    }
    is_int((long)sinks_finish(set), n, "at the end they are all unwritten ...");
    ok(strstr(rep.last, "not written: kept in ") && strstr(rep.last, "findings.jsonl.spool, written first"),
       "... and kept (noted): %s", rep.last);
    sinks_free(set);
    f = fopen(spool, "r");
    while (f && (c = getc(f)) != EOF)
        lines += c == '\n';
    if (f)
        fclose(f);
    is_int(lines, n, "the spool file holds every line");

    set = sinks_new();
    s = sink_new(&seq_ops, &q2, "findings.jsonl", KG_SINK_FINDINGS);
    s->spool = strdup(spool);
    sinks_add(set, s);
    sinks_set_report(set, on_report, &rep);
    write_numbered(set, n, n + 1, 10);
    is_int(q2.got, n + 1, "the next run writes the spooled lines first, then its own");
    is_int(q2.disorder, 0, "in order");
    ok(access(spool, F_OK) != 0, "the spool file is gone once written");
    is_int(sinks_finish(set), 0, "nothing unwritten");
    sinks_free(set);
    rmdir(dir);
}

/* A regular file over RLIMIT_FSIZE: no partial line is left, the line is
 * kept and written once the file is moved away and reopened. */
static void test_partial_line(void)
{
    char dir[] = "/tmp/kguard-fsize-XXXXXX", path[128], moved[128], err[256] = "", big[3000];
    kg_sinks *set = sinks_new();
    reported rep = {0};
    struct rlimit old, lim;
    kg_sink *s;

    ok(mkdtemp(dir) != NULL, "a temporary directory");
    snprintf(path, sizeof path, "%s/findings.jsonl", dir);
    snprintf(moved, sizeof moved, "%s/findings.jsonl.1", dir);
    s = sink_file_open(path, KG_SINK_FINDINGS, err, sizeof err);
    sinks_add(set, s);
    sinks_set_report(set, on_report, &rep);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    setrlimit(RLIMIT_FSIZE, &lim);
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "{\"a\":\"", 6);
    big[sizeof big - 3] = '"';
    big[sizeof big - 2] = '}';
    is_int(sinks_write(set, big, false), 0, "a first 3000-byte line fits under a 4096-byte limit");
    is_int(sinks_write(set, big, false), 1, "the second does not");
    ok(strstr(rep.last, "File too large") != NULL, "EFBIG is reported: %s", rep.last);
    is_int((long)strlen(slurp(path)), 3000, "no part of the second line is left in the file");
    setrlimit(RLIMIT_FSIZE, &old);
    ok(rename(path, moved) == 0, "logrotate moves the file");
    is_int(sinks_reopen_one(set, 0), 1, "SIGUSR1: reopened");
    is_int((long)strlen(slurp(path)), 3000, "the kept line is in the new file, whole");
    is_int(sinks_finish(set), 0, "nothing unwritten");
    sinks_free(set);
    unlink(path);
    unlink(moved);
    rmdir(dir);
}

int main(void)
{
    test_routing();
    test_failure();
    test_file_reopen();
    test_file_full();
    test_outage();
    test_spool();
    test_partial_line();
    return done_testing();
}
