/*
 * test_webhook.c: unit tests for the webhook module against a live daemon
 * on 127.0.0.1 (port 0), driven with curl (every call with --max-time) and a
 * small raw-socket client for what curl cannot send: routes, the bearer
 * token, body limits (declared and chunked), a full queue, TLS with a
 * certificate made here by openssl, and client-certificate checks.
 */
#include "kguard/webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

static const char *const EVENT_LIST =
    "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"metadata\":{},"
    "\"items\":[{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\","
    "\"auditID\":\"0b7a3c55-1d2e-4f60-9a1b-2c3d4e5f6a7b\",\"stage\":\"ResponseComplete\","
    "\"requestURI\":\"/api/v1/namespaces/default/secrets\",\"verb\":\"list\","
    "\"user\":{\"username\":\"system:anonymous\",\"groups\":[\"system:unauthenticated\"]},"
    "\"sourceIPs\":[\"198.51.100.7\"],\"objectRef\":{\"resource\":\"secrets\","
    "\"namespace\":\"default\",\"apiVersion\":\"v1\"},\"responseStatus\":{\"code\":200},"
    "\"requestReceivedTimestamp\":\"2024-03-12T10:15:30.123456Z\","
    "\"stageTimestamp\":\"2024-03-12T10:15:30.130001Z\"}]}";

static char tmpdir[256];

/* ---- helpers --------------------------------------------------------- */

/* A path inside the test's temporary directory. */
static const char *tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
    return buf;
}

static bool write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    bool good;
    if (!f)
        return false;
    good = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && good;
}

/* A whole file as a NUL-terminated string (NULL when unreadable). */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)(n < 0 ? 0 : n) + 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command (quiet); its exit status, -1 when it did not run. */
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int st;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    st = system(cmd);
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct reply {
    int status;          /* 0: no HTTP answer (connection refused, TLS failure...) */
    char *body;          /* malloc'd */
    char *headers;       /* malloc'd */
} reply;

static void reply_free(reply *r)
{
    free(r->body);
    free(r->headers);
    r->body = r->headers = NULL;
}

static int curl(reply *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* curl with the given arguments (URL included); fills status, body and
 * response headers.  Returns the status. */
static int curl(reply *out, const char *fmt, ...)
{
    char args[2048], cmd[4096], bodyf[300], hdrf[300], code[16] = "";
    va_list ap;
    FILE *p;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    tmp_path(bodyf, sizeof bodyf, "curl.body");
    tmp_path(hdrf, sizeof hdrf, "curl.headers");
    unlink(bodyf);
    unlink(hdrf);
    snprintf(cmd, sizeof cmd,
             "curl -q -sS --max-time 5 --noproxy '*' -o '%s' -D '%s' -w '%%{http_code}' %s "
             "2>/dev/null",
             bodyf, hdrf, args);
    p = popen(cmd, "r");
    if (p) {
        if (!fgets(code, sizeof code, p))
            code[0] = '\0';
        pclose(p);
    }
    out->status = atoi(code);
    out->body = read_all(bodyf);
    out->headers = read_all(hdrf);
    if (!out->body)
        out->body = calloc(1, 1);
    if (!out->headers)
        out->headers = calloc(1, 1);
    return out->status;
}

/* Status of a curl call, discarding the rest. */
static int curl_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int curl_status(const char *fmt, ...)
{
    char args[2048];
    reply r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    curl(&r, "%s", args);
    reply_free(&r);
    return r.status;
}

/* Send raw bytes to 127.0.0.1:port and read the answer until the server
 * closes or answered and went quiet (5 s at most).  Returns the HTTP status
 * of the answer, 0 when there was none. */
static int raw_http(unsigned short port, const char *request, size_t len)
{
    struct sockaddr_in sa;
    char buf[4096];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = 0;
    time_t deadline = time(NULL) + 5;
    if (fd < 0)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        goto done;
    if (send(fd, request, len, MSG_NOSIGNAL) != (ssize_t)len)
        goto done;
    while (got < sizeof buf - 1 && time(NULL) <= deadline) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        if (poll(&p, 1, 1000) <= 0)
            continue;
        n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    buf[got] = '\0';
    if (strncmp(buf, "HTTP/1.", 7) == 0 && got > 12)
        status = atoi(buf + 9);
done:
    close(fd);
    return status;
}

/* Pop everything; returns the number of items and keeps the first. */
static size_t drain(kg_queue *q, kg_queue_item *first)
{
    kg_queue_item it;
    size_t n = 0;
    if (first)
        memset(first, 0, sizeof *first);
    while (queue_pop(q, &it)) {
        if (n++ == 0 && first)
            *first = it;
        else
            free(it.data);
    }
    return n;
}

static kg_webhook *start(kg_webhook_opts *o, kg_queue *q, char *err, size_t errlen)
{
    o->host = "127.0.0.1";
    o->port = 0;
    o->queue = q;
    return webhook_start(o, err, errlen);
}

static bool has_header(const reply *r, const char *needle)
{
    return r->headers && strcasestr(r->headers, needle) != NULL;
}

/* Diagnostics sink: counts messages and keeps the last one (called from
 * the daemon's threads). */
typedef struct logsink {
    pthread_mutex_t mu;
    int count;
    char last[512];
} logsink;

static void collect(void *ud, const char *msg)
{
    logsink *s = ud;
    pthread_mutex_lock(&s->mu);
    s->count++;
    snprintf(s->last, sizeof s->last, "%s", msg);
    pthread_mutex_unlock(&s->mu);
}

/* ---- plain HTTP ------------------------------------------------------ */

/* The answers counted for path and code ("200", ..., "other"); -1 for a
 * name webhook.h does not list. */
static long long answers(const kg_webhook_stats *st, const char *path, const char *code)
{
    for (size_t p = 0; p < KG_WEBHOOK_PATHS; p++)
        for (size_t i = 0; i < KG_WEBHOOK_CODES; i++)
            if (!strcmp(webhook_path_name(p), path) && !strcmp(webhook_code_name(i), code))
                return (long long)st->answers[p][i];
    return -1;
}

/* Every answer counted, all paths and codes. */
static unsigned long long answers_all(const kg_webhook_stats *st)
{
    unsigned long long n = 0;
    for (size_t p = 0; p < KG_WEBHOOK_PATHS; p++)
        for (size_t i = 0; i < KG_WEBHOOK_CODES; i++)
            n += st->answers[p][i];
    return n;
}

static void test_routes(void)
{
    kg_queue *q = queue_new(16, 1 << 20);
    kg_webhook_opts o = { 0 };
    kg_webhook_stats st;
    kg_queue_item it;
    char err[256] = "", body[300], url[128];
    kg_webhook *w = start(&o, q, err, sizeof err);
    reply r;
    unsigned short port;

    ok(w != NULL, "webhook starts on 127.0.0.1 port 0 (%s)", err);
    if (!w)
        goto cleanup;
    port = webhook_port(w);
    ok(port != 0, "a port was picked: %u", port);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    write_file(tmp_path(body, sizeof body, "events.json"), EVENT_LIST, strlen(EVENT_LIST));

    curl(&r, "-H 'Content-Type: application/json' --data-binary @'%s' %s/k8s-audit", body, url);
    is_int(r.status, 200, "POST /k8s-audit: 200");
    is_str(r.body, "{}", "answer body {}");
    ok(has_header(&r, "Content-Type: application/json"), "answer is JSON");
    reply_free(&r);
    is_int(queue_len(q), 1, "one body queued");
    ok(queue_pop(q, &it), "pop it");
    ok(it.len == strlen(EVENT_LIST) && memcmp(it.data, EVENT_LIST, it.len) == 0,
       "exactly the posted body was queued");
    ok(strncmp(it.origin, "webhook 127.0.0.1:", 18) == 0 && atoi(it.origin + 18) > 0,
       "origin names the peer: %s", it.origin);
    is_str(it.cluster, "", "POST /k8s-audit names no cluster");
    free(it.data);

    is_int(curl_status("--data-binary @'%s' %s/k8s-audit/payments-eu_1.b", body, url), 200,
           "POST /k8s-audit/CLUSTER: 200");
    ok(queue_pop(q, &it), "pop it");
    is_str(it.cluster, "payments-eu_1.b", "the item carries the cluster the path names");
    free(it.data);

    curl(&r, "%s/healthz", url);
    is_int(r.status, 200, "GET /healthz: 200");
    is_str(r.body, "ok\n", "healthz says ok");
    reply_free(&r);
    is_int(curl_status("-X POST -d x %s/healthz", url), 405, "POST /healthz: 405");
    is_int(curl_status("%s/nope", url), 404, "unknown path: 404");
    is_int(curl_status("-d x %s/k8s-audit/x/y", url), 404, "two levels below /k8s-audit: 404");
    is_int(curl_status("-d x %s/k8s-audit/", url), 404, "an empty cluster name: 404");
    is_int(curl_status("-d x '%s/k8s-audit/a%%20b'", url), 404, "a cluster name with a space: 404");
    is_int(curl_status("%s/k8s-audit/x", url), 405, "GET /k8s-audit/CLUSTER: 405");
    curl(&r, "%s/k8s-audit", url);
    is_int(r.status, 405, "GET /k8s-audit: 405");
    ok(has_header(&r, "Allow: POST"), "405 names the allowed method");
    reply_free(&r);
    is_int(curl_status("-X PUT --data-binary @'%s' %s/k8s-audit", body, url), 405,
           "PUT /k8s-audit: 405");
    is_int(curl_status("-X POST -H 'Content-Length: 0' %s/k8s-audit", url), 400,
           "empty body: 400");
    is_int(queue_len(q), 0, "nothing queued by the rejected requests");

    /* Several clients at once (background curls, all waited for). */
    ok(run("for i in 1 2 3 4 5 6 7 8; do curl -q -sS --max-time 5 --noproxy '*' -o /dev/null "
           "--data-binary \"body-$i\" %s/k8s-audit & done; wait", url) == 0,
       "eight concurrent posts ran");
    {
        kg_queue_item x;
        unsigned seen = 0;
        size_t n = 0;
        while (queue_pop(q, &x)) {
            int i = (x.len == 6 && strncmp(x.data, "body-", 5) == 0) ? x.data[5] - '0' : 0;
            if (i >= 1 && i <= 8)
                seen |= 1u << i;
            n++;
            free(x.data);
        }
        is_int(n, 8, "eight bodies queued");
        is_int(seen, 0x1fe, "each of them once");
    }

    webhook_stats(w, &st);
    is_int(st.accepted, 10, "stats: 10 accepted");
    is_int(st.bad_request, 9, "stats: 9 bad requests (405 x4, 404 x4, 400)");
    is_int(st.unauthorized + st.too_large + st.busy, 0, "stats: nothing else");
    is_int(answers(&st, "/k8s-audit", "200"), 10, "answers: 200 x10 on /k8s-audit");
    is_int(answers(&st, "/k8s-audit", "405"), 3, "answers: 405 x3 on /k8s-audit");
    is_int(answers(&st, "/k8s-audit", "400"), 1, "answers: 400 x1 on /k8s-audit");
    is_int(answers(&st, "/healthz", "200"), 1, "answers: 200 x1 on /healthz");
    is_int(answers(&st, "/healthz", "405"), 1, "answers: 405 x1 on /healthz");
    is_int(answers(&st, "other", "404"), 4, "answers: 404 x4 on other paths");
    is_int(answers_all(&st), 20, "answers: 20 in all, one per request");
    is_int(answers(&st, "/k8s-audit", "302"), -1, "a code not in the table has no name of its own");
    is_str(webhook_code_name(KG_WEBHOOK_CODES - 1), "other", "the last code is other");
    ok(webhook_code_name(KG_WEBHOOK_CODES) == NULL && webhook_path_name(KG_WEBHOOK_PATHS) == NULL,
       "names past the tables: NULL");
cleanup:
    webhook_stop(w);
    queue_free(q);
}

static void test_limits(void)
{
    kg_queue *q = queue_new(16, 1 << 20);
    kg_webhook_opts o = { .max_body = 1024 };
    kg_webhook_stats st;
    char err[256] = "", big[300], exact[300], huge[300], url[128], *data;
    kg_webhook *w = start(&o, q, err, sizeof err);
    unsigned short port;
    static const char huge_decl[] =
        "POST /k8s-audit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000000000\r\n\r\n{";

    ok(w != NULL, "webhook with max_body 1024 starts (%s)", err);
    if (!w)
        goto cleanup;
    port = webhook_port(w);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/k8s-audit", port);
    data = malloc(4096);
    memset(data, 'a', 4096);
    write_file(tmp_path(big, sizeof big, "big.json"), data, 4096);
    write_file(tmp_path(exact, sizeof exact, "exact.json"), data, 1024);
    free(data);
    ok(run("head -c 3145728 /dev/zero > '%s'", tmp_path(huge, sizeof huge, "huge.json")) == 0,
       "a 3 MiB file");

    is_int(curl_status("-H 'Expect:' --data-binary @'%s' %s", big, url), 413,
           "4096 bytes with Content-Length: 413");
    is_int(curl_status("-H 'Expect: 100-continue' --data-binary @'%s' %s", big, url), 413,
           "4096 bytes with Expect: 100-continue: 413");
    is_int(curl_status("-H 'Transfer-Encoding: chunked' --data-binary @'%s' %s", big, url), 413,
           "4096 bytes chunked: 413");
    {
        /* curl reports 100 when only "100 Continue" came before the drop. */
        int st_huge =
            curl_status("-H 'Transfer-Encoding: chunked' --data-binary @'%s' %s", huge, url);
        ok(st_huge == 0 || st_huge == 100,
           "3 MiB chunked: the connection is dropped without a final answer (%d)", st_huge);
    }
    is_int(raw_http(port, huge_decl, sizeof huge_decl - 1), 413,
           "a declared 1 GB body is refused at once, without waiting for it");
    is_int(queue_len(q), 0, "nothing queued");
    is_int(curl_status("--data-binary @'%s' %s", exact, url), 200, "exactly 1024 bytes: 200");
    is_int(curl_status("-H 'Transfer-Encoding: chunked' --data-binary @'%s' %s", exact, url), 200,
           "exactly 1024 bytes chunked: 200");
    is_int(drain(q, NULL), 2, "both queued");
    webhook_stats(w, &st);
    is_int(st.too_large, 5, "stats: 5 too large");
    is_int(answers(&st, "/k8s-audit", "413"), 4,
           "answers: 413 x4 (the dropped connection got no answer)");
    is_int(st.accepted, 2, "stats: 2 accepted");
cleanup:
    webhook_stop(w);
    queue_free(q);
}

static void test_token(void)
{
    kg_queue *q = queue_new(16, 1 << 20);
    kg_webhook_opts o = { 0 };
    kg_webhook_stats st;
    char err[256] = "", tokf[300], url[128];
    kg_webhook *w;
    reply r;
    logsink sink = { .mu = PTHREAD_MUTEX_INITIALIZER };

    write_file(tmp_path(tokf, sizeof tokf, "token"), "s3cret-T0ken\n", 13);
    o.token_file = tokf;
    o.log = collect;
    o.ud = &sink;
    w = start(&o, q, err, sizeof err);
    ok(w != NULL, "webhook with a token file starts (%s)", err);
    if (!w)
        goto cleanup;
    snprintf(url, sizeof url, "http://127.0.0.1:%u", webhook_port(w));

    curl(&r, "-d '{}' %s/k8s-audit", url);
    is_int(r.status, 401, "no Authorization: 401");
    ok(has_header(&r, "WWW-Authenticate: Bearer"), "401 carries WWW-Authenticate");
    reply_free(&r);
    is_int(curl_status("-H 'Authorization: Bearer leaked-guess' -d '{}' %s/k8s-audit", url), 401,
           "wrong token: 401");
    pthread_mutex_lock(&sink.mu);
    ok(sink.count == 2 && strstr(sink.last, "webhook 127.0.0.1:") && strstr(sink.last, "401") &&
       strstr(sink.last, "wrong bearer token") && !strstr(sink.last, "leaked-guess"),
       "each refusal is logged with the peer, never the presented token (%d): %s",
       sink.count, sink.last);
    pthread_mutex_unlock(&sink.mu);
    is_int(curl_status("-H 'Authorization: Bearer s3cret-T0ke' -d '{}' %s/k8s-audit", url), 401,
           "a prefix of the token: 401");
    is_int(curl_status("-H 'Authorization: Bearer s3cret-T0ken2' -d '{}' %s/k8s-audit", url), 401,
           "the token plus a character: 401");
    is_int(curl_status("-H 'Authorization: Basic czNjcmV0LVQwa2Vu' -d '{}' %s/k8s-audit", url), 401,
           "basic auth: 401");
    is_int(queue_len(q), 0, "nothing queued");
    is_int(curl_status("-H 'Authorization: Bearer s3cret-T0ken' -d '{\"a\":1}' %s/k8s-audit", url),
           200, "right token: 200");
    is_int(curl_status("-H 'authorization: bearer s3cret-T0ken' -d '{\"a\":2}' %s/k8s-audit", url),
           200, "scheme and header name are case-insensitive");
    is_int(drain(q, NULL), 2, "both queued");
    is_int(curl_status("%s/healthz", url), 200, "healthz needs no token");
    webhook_stats(w, &st);
    is_int(st.unauthorized, 5, "stats: 5 unauthorized");
    webhook_stop(w);

    /* Bad token files fail the start with the file named. */
    write_file(tokf, " \n\t\n", 4);
    err[0] = '\0';
    w = start(&o, q, err, sizeof err);
    ok(w == NULL && strstr(err, tokf) && strstr(err, "empty"), "empty token file: %s", err);
    webhook_stop(w);
    tmp_path(tokf, sizeof tokf, "no-such-token");
    err[0] = '\0';
    w = start(&o, q, err, sizeof err);
    ok(w == NULL && strstr(err, tokf), "missing token file: %s", err);
    w = NULL;
cleanup:
    webhook_stop(w);
    queue_free(q);
}

static void test_queue_full(void)
{
    kg_queue *q = queue_new(1, 0);
    kg_webhook_opts o = { 0 };
    kg_webhook_stats st;
    kg_queue_item it;
    char err[256] = "", url[128];
    kg_webhook *w = start(&o, q, err, sizeof err);
    reply r;

    ok(w != NULL, "webhook with a 1-item queue starts (%s)", err);
    if (!w)
        goto cleanup;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/k8s-audit", webhook_port(w));
    is_int(curl_status("--data-binary first %s", url), 200, "first POST: 200");
    curl(&r, "--data-binary second %s", url);
    is_int(r.status, 429, "second POST while full: 429");
    ok(has_header(&r, "Retry-After: 1"), "429 carries Retry-After: 1");
    reply_free(&r);
    is_int(queue_len(q), 1, "still one item");
    ok(queue_pop(q, &it) && it.len == 5 && memcmp(it.data, "first", 5) == 0,
       "the first body is intact");
    free(it.data);
    is_int(curl_status("--data-binary third %s", url), 200, "after a pop: 200 again");
    is_int(drain(q, NULL), 1, "the third is queued");
    queue_close(q);
    is_int(curl_status("--data-binary fourth %s", url), 429, "closed queue: 429, never 200");
    webhook_stats(w, &st);
    is_int(st.busy, 2, "stats: 2 busy");
    is_int(st.accepted, 2, "stats: 2 accepted");
    is_int(answers(&st, "/k8s-audit", "429"), 2, "answers: 429 x2");
    is_int(answers(&st, "/k8s-audit", "200"), 2, "answers: 200 x2");
cleanup:
    webhook_stop(w);
    queue_free(q);
}

static void test_start_errors(void)
{
    kg_queue *q = queue_new(4, 0);
    kg_webhook_opts o = { 0 };
    char err[256] = "";
    kg_webhook *w = start(&o, q, err, sizeof err), *w2;

    ok(w != NULL, "first daemon starts (%s)", err);
    if (w) {
        o.port = webhook_port(w);
        err[0] = '\0';
        w2 = webhook_start(&o, err, sizeof err);
        ok(w2 == NULL && strstr(err, "in use"), "the same port again fails: %s", err);
        webhook_stop(w2);
    }
    webhook_stop(w);
    o.port = 0;
    o.host = "not an address";
    err[0] = '\0';
    w = webhook_start(&o, err, sizeof err);
    ok(w == NULL && strstr(err, "not an address"), "a bad host fails: %s", err);
    webhook_stop(w);
    o.host = NULL;
    o.tls_cert = "/nonexistent/cert.pem";
    err[0] = '\0';
    w = webhook_start(&o, err, sizeof err);
    ok(w == NULL && strstr(err, "key"), "a certificate without a key fails: %s", err);
    webhook_stop(w);
    queue_free(q);
}

/* Stopping with a request in flight (half a body sent) returns promptly,
 * queues nothing and frees the request (checked by ASan/valgrind runs). */
static void test_stop_in_flight(void)
{
    kg_queue *q = queue_new(4, 0);
    kg_webhook_opts o = { 0 };
    char err[256] = "";
    kg_webhook *w = start(&o, q, err, sizeof err);
    static const char partial[] = "POST /k8s-audit HTTP/1.1\r\nHost: x\r\n"
                                  "Content-Length: 100\r\n\r\n{\"kind\":";
    struct sockaddr_in sa;
    struct timespec t0, t1, nap = { 0, 200 * 1000 * 1000 };
    int fd = -1;

    ok(w != NULL, "webhook starts (%s)", err);
    if (!w)
        goto cleanup;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(webhook_port(w));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    ok(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
       send(fd, partial, sizeof partial - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof partial - 1),
       "half a request sent");
    nanosleep(&nap, NULL);   /* let the daemon read it */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    webhook_stop(w);
    w = NULL;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ok(t1.tv_sec - t0.tv_sec < 3, "webhook_stop returns promptly");
    is_int(queue_len(q), 0, "the half body was not queued");
cleanup:
    if (fd >= 0)
        close(fd);
    webhook_stop(w);
    queue_free(q);
}

/* ---- TLS ------------------------------------------------------------- */

/* Make a server cert (self-signed, 127.0.0.1), a client CA, a client cert
 * signed by it, and a stray self-signed client cert. */
static bool make_certs(void)
{
    return run("(cd '%s' && "
               "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 "
               "  -addext subjectAltName=IP:127.0.0.1 -keyout server.key -out server.pem && "
               "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=kguard-test-ca -days 1 "
               "  -keyout ca.key -out ca.pem && "
               "openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver "
               "  -keyout client.key -out client.csr && "
               "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
               "  -days 1 -out client.pem && "
               "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=stranger -days 1 "
               "  -keyout stray.key -out stray.pem) >/dev/null 2>&1",
               tmpdir) == 0;
}

static void test_tls(void)
{
    kg_queue *q = queue_new(16, 1 << 20);
    kg_webhook_opts o = { 0 };
    char err[256] = "", cert[300], key[300], ca[300], url[128], plain[128];
    kg_webhook *w;

    tmp_path(cert, sizeof cert, "server.pem");
    tmp_path(key, sizeof key, "server.key");
    tmp_path(ca, sizeof ca, "ca.pem");
    o.tls_cert = cert;
    o.tls_key = key;
    w = start(&o, q, err, sizeof err);
    ok(w != NULL, "TLS webhook starts (%s)", err);
    if (!w)
        goto cleanup;
    snprintf(url, sizeof url, "https://127.0.0.1:%u", webhook_port(w));
    snprintf(plain, sizeof plain, "http://127.0.0.1:%u", webhook_port(w));
    is_int(curl_status("--cacert '%s' --data-binary tls-body %s/k8s-audit", cert, url), 200,
           "POST over TLS with --cacert: 200");
    is_int(drain(q, NULL), 1, "queued");
    is_int(curl_status("%s/k8s-audit", url), 0, "an untrusting client gets no HTTP answer");
    is_int(curl_status("--data-binary x %s/k8s-audit", plain), 0,
           "plain HTTP to the TLS port gets no HTTP answer");
    is_int(queue_len(q), 0, "nothing queued by the failures");
    webhook_stop(w);

    /* Client certificates required. */
    o.client_ca = ca;
    err[0] = '\0';
    w = start(&o, q, err, sizeof err);
    ok(w != NULL, "TLS webhook with a client CA starts (%s)", err);
    if (!w)
        goto cleanup;
    snprintf(url, sizeof url, "https://127.0.0.1:%u", webhook_port(w));
    is_int(curl_status("--cacert '%s' --data-binary no-cert %s/k8s-audit", cert, url), 403,
           "no client certificate: 403");
    is_int(curl_status("--cacert '%s' --cert '%s/stray.pem' --key '%s/stray.key' "
                       "--data-binary stray %s/k8s-audit", cert, tmpdir, tmpdir, url), 403,
           "a client certificate from another CA: 403");
    is_int(queue_len(q), 0, "nothing queued without a good certificate");
    is_int(curl_status("--cacert '%s' --cert '%s/client.pem' --key '%s/client.key' "
                       "--data-binary with-cert %s/k8s-audit", cert, tmpdir, tmpdir, url), 200,
           "a client certificate signed by the CA: 200");
    {
        kg_queue_item it;
        ok(drain(q, &it) == 1 && it.len == 9 && memcmp(it.data, "with-cert", 9) == 0,
           "its body is queued");
        free(it.data);
    }
    is_int(curl_status("--cacert '%s' %s/healthz", cert, url), 200,
           "healthz needs no client certificate");
    {
        kg_webhook_stats st;
        webhook_stats(w, &st);
        is_int(st.unauthorized, 2, "stats: the two refusals count as unauthorized");
        is_int(answers(&st, "/k8s-audit", "403"), 2, "answers: 403 x2 on /k8s-audit");
        is_int(answers(&st, "/k8s-audit", "401"), 0, "answers: no 401 for a certificate refusal");
    }
    webhook_stop(w);

    /* Bad TLS material fails the start with the file named. */
    o.client_ca = key;   /* a key is not a certificate */
    err[0] = '\0';
    w = start(&o, q, err, sizeof err);
    ok(w == NULL && strstr(err, key), "a client CA without a certificate fails: %s", err);
    webhook_stop(w);
    o.client_ca = NULL;
    tmp_path(key, sizeof key, "stray.key");   /* does not match server.pem */
    err[0] = '\0';
    w = start(&o, q, err, sizeof err);
    ok(w == NULL && strstr(err, cert), "a key that does not match fails: %s", err);
    webhook_stop(w);
    o.tls_cert = "/nonexistent/cert.pem";
    err[0] = '\0';
    w = start(&o, q, err, sizeof err);
    ok(w == NULL && strstr(err, "/nonexistent/cert.pem"), "a missing certificate fails: %s", err);
    w = NULL;
cleanup:
    webhook_stop(w);
    queue_free(q);
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/kguard-webhook-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    if (run("curl --version >/dev/null 2>&1") != 0) {
        printf("1..0 # SKIP curl is not installed\n");
        run("rm -rf '%s'", tmpdir);
        return 0;
    }
    test_routes();
    test_limits();
    test_token();
    test_queue_full();
    test_start_errors();
    test_stop_in_flight();
    if (run("openssl version >/dev/null 2>&1") == 0 && make_certs())
        test_tls();
    else
        ok(1, "# SKIP openssl is not installed (or failed): no TLS tests");
    run("rm -rf '%s'", tmpdir);
    return done_testing();
}
