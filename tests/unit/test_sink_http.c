/* Unit tests for the HTTP sink: lines arrive whole and in order across a
 * failing receiver, batches, NDJSON and JSON arrays, the token header, a
 * receiver that is down with and without a spool, and refused settings.
 * The receiver is a thread of this test on 127.0.0.1, port 0. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "kguard/sink.h"
#include "tap.h"

/* ---- a receiver -------------------------------------------------------- */

typedef struct receiver {
    int fd;
    unsigned short port;
    const int *codes;           /* the answer to the n-th request; the last repeats */
    int n_codes, requests;
    char got[8192];             /* bodies answered 2xx, each followed by "|" */
    char auth[256], ctype[128]; /* headers of the last request */
    pthread_t thread;
} receiver;

static void header_value(const char *head, const char *name, char *out, size_t n)
{
    const char *p = strcasestr(head, name);
    out[0] = '\0';
    if (p)
        snprintf(out, n, "%.*s", (int)strcspn(p + strlen(name), "\r\n"), p + strlen(name));
}

/* One request: headers, then a Content-Length body; answered, closed. */
static void serve_one(receiver *r, int c)
{
    char buf[16384];
    size_t len = 0;
    long want = -1;
    char *end = NULL;
    int code = r->codes[r->requests < r->n_codes ? r->requests : r->n_codes - 1];
    while (len < sizeof buf - 1) {
        ssize_t got = read(c, buf + len, sizeof buf - 1 - len);
        if (got <= 0)
            break;
        len += (size_t)got;
        buf[len] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "Content-Length: ");
            want = cl ? strtol(cl + 16, NULL, 10) : 0;
        }
        if (end && (long)(len - (size_t)(end + 4 - buf)) >= want)
            break;
    }
    if (!end)
        return;
    *end = '\0';
    header_value(buf, "Authorization: ", r->auth, sizeof r->auth);
    header_value(buf, "Content-Type: ", r->ctype, sizeof r->ctype);
    r->requests++;
    if (code == 200 && strlen(r->got) + (size_t)want + 2 < sizeof r->got) {
        strncat(r->got, end + 4, (size_t)want);
        strcat(r->got, "|");
    }
    snprintf(buf, sizeof buf, "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", code);
    if (write(c, buf, strlen(buf)) < 0)
        return;
}

static void *serve(void *arg)
{
    receiver *r = arg;
    int c;
    while ((c = accept(r->fd, NULL, NULL)) >= 0) {
        serve_one(r, c);
        close(c);
    }
    return NULL;
}

static void receiver_start(receiver *r, const int *codes, int n)
{
    struct sockaddr_in a = {0};
    socklen_t alen = sizeof a;
    memset(r, 0, sizeof *r);
    r->codes = codes;
    r->n_codes = n;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(r->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(r->fd, 8) < 0 ||
        getsockname(r->fd, (struct sockaddr *)&a, &alen) < 0)
        abort();
    r->port = ntohs(a.sin_port);
    pthread_create(&r->thread, NULL, serve, r);
}

static void receiver_stop(receiver *r)
{
    shutdown(r->fd, SHUT_RDWR);
    close(r->fd);
    pthread_join(r->thread, NULL);
}

/* A port nobody listens on (bound, then closed). */
static unsigned short closed_port(void)
{
    receiver r;
    static const int c[] = {200};
    unsigned short p;
    receiver_start(&r, c, 1);
    p = r.port;
    receiver_stop(&r);
    return p;
}

/* ---- tests --------------------------------------------------------------- */

static const char *LINES[] = {"{\"id\":\"a\"}", "{\"id\":\"b\"}", "{\"id\":\"c\"}",
                              "{\"id\":\"d\"}", "{\"id\":\"e\"}"};

static kg_sink *open_at(unsigned short port, kg_http_opts *o, char *err, size_t n)
{
    static char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/ingest", port);
    o->url = url;
    return sink_http_open(o, KG_SINK_FINDINGS, err, n);
}

static void write_all(kg_sink *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s->ops->write(s, LINES[i], false) != 0)
            ok(0, "write %zu: %s", i, s->err);
}

static void test_retry_and_order(void)
{
    static const int codes[] = {500, 503, 200};
    receiver r;
    kg_http_opts o = {0};
    kg_sink_counts n;
    char err[256], tok[] = "/tmp/kg-test-token-XXXXXX";
    int fd = mkstemp(tok);
    kg_sink *s;
    if (fd < 0 || write(fd, "t0ken\n", 6) != 6)
        abort();
    close(fd);
    receiver_start(&r, codes, 3);
    o.batch = 2;
    o.timeout = 2;
    o.token_file = tok;
    o.drain = 20;
    s = open_at(r.port, &o, err, sizeof err);
    ok(s != NULL, "the sink opens");
    write_all(s, 5);
    is_int(s->ops->finish(s), 0, "finish: everything delivered");
    s->ops->counts(s, &n);
    is_int((long)n.delivered, 5, "5 lines delivered");
    is_int((long)n.failed, 0, "none failed");
    is_str(r.got, "{\"id\":\"a\"}\n{\"id\":\"b\"}|{\"id\":\"c\"}\n{\"id\":\"d\"}|{\"id\":\"e\"}|",
           "after two failures, batches of 2 in order, each line once");
    is_int(r.requests, 5, "two failed requests, three delivered");
    is_str(r.auth, "Bearer t0ken", "the token file's line as a bearer token");
    is_str(r.ctype, "application/x-ndjson", "NDJSON");
    sink_free(s);
    receiver_stop(&r);
    unlink(tok);
}

static void test_array(void)
{
    static const int codes[] = {500, 200};   /* by the retry, all 4 lines are queued */
    receiver r;
    kg_http_opts o = {0};
    char err[256];
    kg_sink *s;
    receiver_start(&r, codes, 2);
    o.array = true;
    o.batch = 3;
    o.drain = 10;
    s = open_at(r.port, &o, err, sizeof err);
    write_all(s, 4);
    is_int(s->ops->finish(s), 0, "array: delivered");
    is_str(r.got, "[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"}]|[{\"id\":\"d\"}]|",
           "JSON arrays of at most 3 lines, in order");
    is_str(r.ctype, "application/json", "JSON content type");
    sink_free(s);
    receiver_stop(&r);
}

/* No spool and a queue of one line: the writer waits for a receiver that
 * keeps up instead of dropping. */
static void test_backpressure(void)
{
    static const int codes[] = {200};
    receiver r;
    kg_http_opts o = {0};
    kg_sink_counts n;
    char err[256];
    kg_sink *s;
    receiver_start(&r, codes, 1);
    o.queue_max = 12;
    o.drain = 10;
    s = open_at(r.port, &o, err, sizeof err);
    write_all(s, 5);
    is_int(s->ops->finish(s), 0, "a one-line queue: delivered");
    s->ops->counts(s, &n);
    ok(n.delivered == 5 && n.failed == 0, "all 5 delivered, none dropped (%llu, %llu)", n.delivered,
       n.failed);
    for (char *p = r.got; *p; p++)
        *p = *p == '|' ? '\n' : *p;
    is_str(r.got, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n{\"id\":\"d\"}\n{\"id\":\"e\"}\n",
           "in order");
    sink_free(s);
    receiver_stop(&r);
}

static void test_down(void)
{
    kg_http_opts o = {0};
    kg_sink_counts n;
    char err[256];
    kg_sink *s;
    o.timeout = 1;
    o.drain = 0.3;
    s = open_at(closed_port(), &o, err, sizeof err);
    write_all(s, 3);
    is_int(s->ops->finish(s), -1, "down, no spool: finish fails");
    ok(strstr(s->err, "http://127.0.0.1:") && strstr(s->err, "3 finding(s) not delivered"),
       "the message names the URL and the loss: %s", s->err);
    s->ops->counts(s, &n);
    is_int((long)n.failed, 3, "3 failed");
    sink_free(s);
}

static void test_spool(void)
{
    static const int codes[] = {200};
    char spool[] = "/tmp/kg-test-spool-XXXXXX", err[256], buf[256] = "";
    int fd = mkstemp(spool);
    kg_http_opts o = {0};
    kg_sink_counts n;
    receiver r;
    kg_sink *s;
    FILE *fp;
    close(fd);
    o.timeout = 1;
    o.drain = 0.3;
    o.spool_path = spool;
    o.queue_max = 12;   /* the second line already goes to the spool */
    s = open_at(closed_port(), &o, err, sizeof err);
    write_all(s, 3);
    is_int(s->ops->finish(s), 0, "down, with a spool: nothing lost");
    s->ops->counts(s, &n);
    is_int((long)n.spooled, 3, "3 lines spooled");
    sink_free(s);
    fp = fopen(spool, "r");
    buf[fread(buf, 1, sizeof buf - 1, fp)] = '\0';
    fclose(fp);
    is_str(buf, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n", "the spool holds them in order");

    receiver_start(&r, codes, 1);
    o.drain = 10;
    o.queue_max = 0;
    s = open_at(r.port, &o, err, sizeof err);
    write_all(s, 5);
    is_int(s->ops->finish(s), 0, "the next sink delivers");
    for (char *p = r.got; *p; p++)   /* however they were batched */
        *p = *p == '|' ? '\n' : *p;
    is_str(r.got, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n"
                  "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n{\"id\":\"d\"}\n{\"id\":\"e\"}\n",
           "the spooled lines first, then the new ones, in order, once each");
    sink_free(s);
    receiver_stop(&r);
    fp = fopen(spool, "r");
    ok(fp && fgetc(fp) == EOF, "the spool is empty");
    if (fp)
        fclose(fp);
    unlink(spool);
}

static void test_refused(void)
{
    kg_http_opts o = {0};
    char err[256];
    o.url = "ftp://127.0.0.1/x";
    ok(!sink_http_open(&o, KG_SINK_FINDINGS, err, sizeof err), "an ftp URL is refused");
    is_str(err, "ftp://127.0.0.1/x is not an http:// or https:// URL", "... saying why");
    o.url = "http://127.0.0.1:9/";
    o.token_file = "/nonexistent/token";
    ok(!sink_http_open(&o, KG_SINK_FINDINGS, err, sizeof err), "a missing token file is refused");
    ok(strstr(err, "/nonexistent/token") != NULL, "... naming it: %s", err);
}

int main(void)
{
    test_refused();
    test_retry_and_order();
    test_array();
    test_backpressure();
    test_down();
    test_spool();
    return done_testing();
}
