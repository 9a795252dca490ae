/*
 * sink_http: the HTTP sink — finding lines POSTed in batches (NDJSON or a
 * JSON array) to a receiver (a SIEM's HTTP collector, Splunk HEC's raw
 * endpoint, falcosidekick...) with libcurl, from a sender thread so the
 * judge thread only queues.  Failed requests are retried with exponential
 * backoff; while the receiver is down, lines wait in a bounded memory
 * queue and then in a bounded on-disk spool, delivered oldest first (also
 * by the next run that names the same spool).  Delivery is at least once:
 * a request that timed out after the receiver took it is sent again.
 * See sink.h for the interface.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "kguard/sink.h"

#define DEFAULT_BATCH 500
#define DEFAULT_TIMEOUT 10.0
#define DEFAULT_DRAIN 30.0
#define DEFAULT_SPOOL_MAX (256u << 20)
#define DEFAULT_QUEUE_MAX (16u << 20)
#define BACKOFF_FIRST 0.25      /* seconds before the first retry */
#define BACKOFF_MAX 30.0
#define SPOOL_CHUNK (1u << 20)  /* first read of the spool per batch */

typedef struct qline {
    struct qline *next;
    size_t len;
    char text[];
} qline;

typedef struct http_sink {
    /* settings (read-only once the thread runs) */
    char *url, *ca_file, *spool_path;
    struct curl_slist *headers;
    bool array;
    size_t batch, spool_max, queue_max;
    double timeout, drain;
    /* shared, under mu */
    pthread_mutex_t mu;
    pthread_cond_t work;        /* lines queued, or stop */
    pthread_cond_t progress;    /* a request ended */
    qline *head, *tail;
    size_t q_lines, q_bytes;
    int spool_fd;               /* -1: no spool */
    off_t spool_read, spool_end; /* undelivered bytes: [read, end) */
    bool busy;                  /* the sender holds a batch */
    bool healthy;               /* the last request was delivered */
    bool stop;
    kg_sink_counts n;
    unsigned long long retries;
    unsigned long long unreported; /* lines given up since the last report */
    char last_err[160];
    /* the sender's */
    pthread_t thread;
    bool started;
    CURL *curl;
} http_sink;

typedef struct batch {
    char *body;
    size_t len, lines;
    off_t spool_to;             /* > 0: the batch came from the spool */
} batch;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait on cv until woken or `seconds` have passed (CLOCK_REALTIME, as a
 * default condition variable uses). */
static void wait_for(pthread_cond_t *cv, pthread_mutex_t *mu, double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)seconds;
    ts.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

/* ---- building a request body (under mu) --------------------------------- */

static int body_add(batch *b, size_t *cap, const char *text, size_t len)
{
    size_t need = b->len + len + 2;
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 4096;
        char *nb;
        while (ncap < need)
            ncap *= 2;
        if (!(nb = realloc(b->body, ncap)))
            return -1;
        b->body = nb;
        *cap = ncap;
    }
    if (b->lines)
        b->body[b->len++] = '\n';
    memcpy(b->body + b->len, text, len);
    b->len += len;
    b->lines++;
    return 0;
}

/* The first lines of the memory queue (they stay queued until delivered). */
static int take_memory(http_sink *h, batch *b, size_t *cap)
{
    for (qline *l = h->head; l && b->lines < h->batch; l = l->next)
        if (body_add(b, cap, l->text, l->len) < 0)
            return -1;
    return 0;
}

/* The first lines of the spool; a chunk without a whole line is read again
 * twice as large. */
static int take_spool(http_sink *h, batch *b, size_t *cap)
{
    size_t want = SPOOL_CHUNK, have = (size_t)(h->spool_end - h->spool_read);
    char *buf = NULL;
    for (;;) {
        size_t n = want < have ? want : have, at = 0;
        char *nb = realloc(buf, n ? n : 1);
        ssize_t got;
        if (!nb)
            goto fail;
        buf = nb;
        got = pread(h->spool_fd, buf, n, h->spool_read);
        if (got < 0 || (size_t)got != n)
            goto fail;
        while (at < n && b->lines < h->batch) {
            char *nl = memchr(buf + at, '\n', n - at);
            size_t len = nl ? (size_t)(nl - (buf + at)) : n - at;
            if (!nl && n < have)
                break;          /* a partial line: read more */
            if (len && body_add(b, cap, buf + at, len) < 0)
                goto fail;
            at += len + (nl ? 1 : 0);
        }
        if (b->lines || at == n) {
            b->spool_to = h->spool_read + (off_t)at;
            free(buf);
            return 0;
        }
        want *= 2;
    }
fail:
    free(buf);
    return -1;
}

/* The next batch: the memory queue first (older), then the spool.  As a
 * JSON array, the lines' separators become commas inside brackets. */
static int take_batch(http_sink *h, batch *b)
{
    size_t cap = 0;
    char *arr;
    memset(b, 0, sizeof *b);
    if ((h->head ? take_memory(h, b, &cap) : take_spool(h, b, &cap)) < 0)
        return -1;
    if (!h->array || !b->body)
        return 0;
    if (!(arr = malloc(b->len + 2)))
        return -1;
    arr[0] = '[';
    for (size_t i = 0; i < b->len; i++)
        arr[i + 1] = b->body[i] == '\n' ? ',' : b->body[i];
    arr[b->len + 1] = ']';
    free(b->body);
    b->body = arr;
    b->len += 2;
    return 0;
}

/* ---- one request --------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* POST the body: 1 delivered, 0 worth retrying, -1 refused for good (a
 * 4xx that says the batch itself is wrong).  why gets the reason. */
static int post(http_sink *h, const batch *b, char *why, size_t whylen)
{
    long code = 0;
    CURLcode rc;
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, b->body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
    rc = curl_easy_perform(h->curl);
    if (rc != CURLE_OK) {
        snprintf(why, whylen, "%s", curl_easy_strerror(rc));
        return 0;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 200 && code < 300)
        return 1;
    snprintf(why, whylen, "HTTP %ld", code);
    return code == 400 || code == 413 || code == 422 ? -1 : 0;
}

static int setup_curl(http_sink *h)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(h->timeout * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)((h->timeout < 5 ? h->timeout : 5) * 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
    h->curl = c;
    return 0;
}

/* ---- the sender thread --------------------------------------------------- */

static bool has_work(const http_sink *h)
{
    return h->head || (h->spool_fd >= 0 && h->spool_read < h->spool_end);
}

/* The batch b was delivered (or refused for good): drop its lines. */
static void consume(http_sink *h, const batch *b)
{
    if (b->spool_to > 0) {
        h->spool_read = b->spool_to;
        if (h->spool_read >= h->spool_end && ftruncate(h->spool_fd, 0) == 0)
            h->spool_read = h->spool_end = 0;
        return;
    }
    for (size_t i = 0; i < b->lines && h->head; i++) {
        qline *l = h->head;
        h->head = l->next;
        h->q_lines--;
        h->q_bytes -= l->len;
        free(l);
    }
    if (!h->head)
        h->tail = NULL;
}

static void *sender(void *arg)
{
    http_sink *h = arg;
    double backoff = BACKOFF_FIRST;
    char why[sizeof h->last_err];
    pthread_mutex_lock(&h->mu);
    for (;;) {
        batch b;
        int ok;
        while (!h->stop && !has_work(h))
            pthread_cond_wait(&h->work, &h->mu);
        if (h->stop)
            break;
        if (take_batch(h, &b) < 0) {
            free(b.body);
            snprintf(h->last_err, sizeof h->last_err, "out of memory or spool unreadable");
            wait_for(&h->work, &h->mu, BACKOFF_MAX);
            continue;
        }
        h->busy = true;
        pthread_mutex_unlock(&h->mu);
        ok = post(h, &b, why, sizeof why);
        pthread_mutex_lock(&h->mu);
        h->busy = false;
        if (ok != 0)
            consume(h, &b);
        h->healthy = ok > 0;
        if (ok > 0) {
            h->n.delivered += b.lines;
            backoff = BACKOFF_FIRST;
        } else {
            snprintf(h->last_err, sizeof h->last_err, "%s", why);
            if (ok < 0) {
                h->n.failed += b.lines;
                h->unreported += b.lines;
            } else {
                h->retries++;
            }
        }
        free(b.body);
        pthread_cond_broadcast(&h->progress);
        if (ok == 0 && !h->stop) {
            wait_for(&h->work, &h->mu, backoff);
            backoff = backoff * 2 < BACKOFF_MAX ? backoff * 2 : BACKOFF_MAX;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* ---- the spool ------------------------------------------------------------ */

static int spool_append(http_sink *h, const char *line, size_t len)
{
    char nl = '\n';
    if (write(h->spool_fd, line, len) != (ssize_t)len || write(h->spool_fd, &nl, 1) != 1)
        return -1;
    h->spool_end += (off_t)len + 1;
    h->n.spooled++;
    return 0;
}

/* After the sender stopped: what is still in memory goes to the spool,
 * before what the spool holds, and the delivered part of the spool goes.
 * Returns the lines that could not be kept. */
static size_t spool_keep_rest(http_sink *h)
{
    char tmp[4200];
    size_t lost = 0;
    int fd = -1;
    off_t at = h->spool_read;
    if (h->spool_fd < 0 || (!h->head && h->spool_read == 0))
        goto count;
    snprintf(tmp, sizeof tmp, "%s.tmp", h->spool_path);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
        goto count;
    for (qline *l = h->head; l; l = l->next)
        if (write(fd, l->text, l->len) != (ssize_t)l->len || write(fd, "\n", 1) != 1)
            goto fail;
    while (at < h->spool_end) {
        char buf[65536];
        ssize_t got = pread(h->spool_fd, buf, sizeof buf, at);
        if (got <= 0 || write(fd, buf, (size_t)got) != got)
            goto fail;
        at += got;
    }
    if (fsync(fd) < 0 || close(fd) < 0 || rename(tmp, h->spool_path) < 0) {
        fd = -1;
        goto fail;
    }
    h->n.spooled += h->q_lines;
    h->q_lines = 0;
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
count:
    lost = h->q_lines;
    return lost;
}

/* ---- callbacks ------------------------------------------------------------ */

/* Without a spool, a full queue and a receiver that is keeping up: wait
 * (at most a request's timeout) for the sender to make room. */
static void wait_for_room(http_sink *h, size_t len)
{
    double until = now_s() + h->timeout;
    while (h->spool_fd < 0 && h->healthy && h->q_bytes && h->q_bytes + len > h->queue_max &&
           now_s() < until)
        wait_for(&h->progress, &h->mu, until - now_s());
}

static int http_write(kg_sink *s, const char *line, bool archived)
{
    http_sink *h = s->impl;
    size_t len = strlen(line);
    int rc = 0;
    (void)archived;
    pthread_mutex_lock(&h->mu);
    wait_for_room(h, len);
    if (h->spool_end > h->spool_read || h->q_bytes + len > h->queue_max) {
        if (h->spool_fd < 0)
            rc = sink_fail(s, "%s: queue full (receiver: %s) and no spool: finding dropped",
                           s->name, h->last_err[0] ? h->last_err : "slow");
        else if ((size_t)h->spool_end + len + 1 > h->spool_max)
            rc = sink_fail(s, "%s: spool %s full (%zu bytes): finding dropped", s->name,
                           h->spool_path, h->spool_max);
        else if (spool_append(h, line, len) < 0)
            rc = sink_fail(s, "%s: cannot write the spool %s: %s", s->name, h->spool_path,
                           strerror(errno));
    } else {
        qline *l = malloc(sizeof *l + len + 1);
        if (!l) {
            rc = sink_fail(s, "%s: out of memory", s->name);
        } else {
            memcpy(l->text, line, len + 1);
            l->len = len;
            l->next = NULL;
            *(h->tail ? &h->tail->next : &h->head) = l;
            h->tail = l;
            h->q_lines++;
            h->q_bytes += len;
        }
    }
    if (rc < 0)
        h->n.failed++;
    pthread_cond_signal(&h->work);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

/* Lines the sender gave up since the last call are reported here. */
static int http_flush(kg_sink *s)
{
    http_sink *h = s->impl;
    unsigned long long lost;
    pthread_mutex_lock(&h->mu);
    lost = h->unreported;
    h->unreported = 0;
    pthread_mutex_unlock(&h->mu);
    if (lost)
        return sink_fail(s, "%s refused %llu finding(s) for good: %s", s->name, lost,
                         h->last_err);
    return 0;
}

/* Stop the sender after its request in flight; keep what is left. */
static size_t stop_sender(http_sink *h)
{
    size_t lost;
    if (h->started) {
        pthread_mutex_lock(&h->mu);
        h->stop = true;
        pthread_cond_broadcast(&h->work);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
        h->started = false;
    }
    lost = spool_keep_rest(h);
    h->n.failed += lost;
    while (h->head) {
        qline *l = h->head;
        h->head = l->next;
        free(l);
    }
    h->tail = NULL;
    h->q_lines = h->q_bytes = 0;
    return lost;
}

static int http_finish(kg_sink *s)
{
    http_sink *h = s->impl;
    double until = now_s() + h->drain;
    size_t lost;
    int rc;
    pthread_mutex_lock(&h->mu);
    while ((has_work(h) || h->busy) && now_s() < until)
        wait_for(&h->progress, &h->mu, until - now_s() < 0.2 ? until - now_s() : 0.2);
    pthread_mutex_unlock(&h->mu);
    rc = http_flush(s);
    lost = stop_sender(h);
    if (lost)
        return sink_fail(s, "%s: %zu finding(s) not delivered (%s) and not spooled", s->name,
                         lost, h->last_err[0] ? h->last_err : "timed out");
    return rc;
}

static int http_counts(kg_sink *s, kg_sink_counts *out)
{
    http_sink *h = s->impl;
    pthread_mutex_lock(&h->mu);
    *out = h->n;
    out->spool_bytes = h->spool_fd >= 0 ? (unsigned long long)(h->spool_end - h->spool_read) : 0;
    out->pending = h->q_lines;
    pthread_mutex_unlock(&h->mu);
    return 0;
}

static void http_free(http_sink *h)
{
    if (h->spool_fd >= 0)
        close(h->spool_fd);
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->work);
    pthread_cond_destroy(&h->progress);
    free(h->url);
    free(h->ca_file);
    free(h->spool_path);
    free(h);
    curl_global_cleanup();
}

static void http_close(kg_sink *s)
{
    http_sink *h = s->impl;
    size_t lost;
    if (!h)
        return;
    if ((lost = stop_sender(h)) > 0)
        fprintf(stderr, "kguard: output %s: %zu finding(s) lost at exit\n", s->name, lost);
    http_free(h);
    s->impl = NULL;
}

static const kg_sink_ops http_ops = {"http", http_write, http_flush, NULL, http_close,
                                     http_finish, http_counts};

/* ---- opening ---------------------------------------------------------------- */

/* "Authorization: SCHEME TOKEN" from the first line of the token file. */
static int token_header(const kg_http_opts *o, struct curl_slist **hs, char *err, size_t errlen)
{
    char tok[4096], hdr[4200];
    FILE *fp = fopen(o->token_file, "r");
    size_t n;
    if (!fp) {
        snprintf(err, errlen, "cannot read the token file %s: %s", o->token_file, strerror(errno));
        return -1;
    }
    n = fgets(tok, sizeof tok, fp) ? strcspn(tok, "\r\n") : 0;
    fclose(fp);
    tok[n] = '\0';
    if (!n) {
        snprintf(err, errlen, "the token file %s is empty", o->token_file);
        return -1;
    }
    snprintf(hdr, sizeof hdr, "Authorization: %s %s", o->auth_scheme ? o->auth_scheme : "Bearer",
             tok);
    *hs = curl_slist_append(*hs, hdr);
    memset(tok, 0, sizeof tok);
    memset(hdr, 0, sizeof hdr);
    return *hs ? 0 : -1;
}

static int build_headers(http_sink *h, const kg_http_opts *o, char *err, size_t errlen)
{
    struct curl_slist *hs = curl_slist_append(NULL, o->array ? "Content-Type: application/json"
                                                            : "Content-Type: application/x-ndjson");
    for (size_t i = 0; hs && i < o->n_headers; i++) {
        if (!strchr(o->headers[i], ':') || strpbrk(o->headers[i], "\r\n")) {
            snprintf(err, errlen, "header '%s' is not 'Name: value'", o->headers[i]);
            curl_slist_free_all(hs);
            return -1;
        }
        hs = curl_slist_append(hs, o->headers[i]);
    }
    hs = hs ? curl_slist_append(hs, "Expect:") : NULL;  /* no 100-continue round trip */
    if (hs && o->token_file && token_header(o, &hs, err, errlen) < 0) {
        curl_slist_free_all(hs);
        return -1;
    }
    if (!hs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    h->headers = hs;
    return 0;
}

static int open_spool(http_sink *h, char *err, size_t errlen)
{
    struct stat st;
    h->spool_fd = -1;
    if (!h->spool_path)
        return 0;
    h->spool_fd = open(h->spool_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (h->spool_fd < 0 || fstat(h->spool_fd, &st) < 0) {
        snprintf(err, errlen, "cannot open the spool %s: %s", h->spool_path, strerror(errno));
        return -1;
    }
    h->spool_end = st.st_size;   /* left by an earlier run: delivered first */
    if (h->spool_end > 0) {      /* a run that died mid-line: end that line */
        char last;
        if (pread(h->spool_fd, &last, 1, h->spool_end - 1) == 1 && last != '\n' &&
            write(h->spool_fd, "\n", 1) == 1)
            h->spool_end++;
    }
    return 0;
}

static int copy_settings(http_sink *h, const kg_http_opts *o)
{
    h->array = o->array;
    h->batch = o->batch ? o->batch : DEFAULT_BATCH;
    h->timeout = o->timeout > 0 ? o->timeout : DEFAULT_TIMEOUT;
    h->drain = o->drain >= 0 ? o->drain : DEFAULT_DRAIN;
    h->spool_max = o->spool_max ? o->spool_max : DEFAULT_SPOOL_MAX;
    h->queue_max = o->queue_max ? o->queue_max : DEFAULT_QUEUE_MAX;
    h->url = strdup(o->url);
    h->ca_file = o->ca_file ? strdup(o->ca_file) : NULL;
    h->spool_path = o->spool_path ? strdup(o->spool_path) : NULL;
    return h->url && (!o->ca_file || h->ca_file) && (!o->spool_path || h->spool_path) ? 0 : -1;
}

kg_sink *sink_http_open(const kg_http_opts *o, unsigned takes, char *err, size_t errlen)
{
    http_sink *h = NULL;
    kg_sink *s = NULL;
    if (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0) {
        snprintf(err, errlen, "%s is not an http:// or https:// URL", o->url);
        return NULL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return NULL;
    }
    if (!(h = calloc(1, sizeof *h))) {
        curl_global_cleanup();
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->spool_fd = -1;
    h->healthy = true;          /* until a request says otherwise */
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->work, NULL);
    pthread_cond_init(&h->progress, NULL);
    snprintf(err, errlen, "out of memory");
    if (copy_settings(h, o) < 0 || build_headers(h, o, err, errlen) < 0 ||
        open_spool(h, err, errlen) < 0 || setup_curl(h) < 0)
        goto cleanup;
    if (!(s = sink_new(&http_ops, h, o->url, takes)))
        goto cleanup;
    if (pthread_create(&h->thread, NULL, sender, h) != 0) {
        snprintf(err, errlen, "cannot start the sender thread");
        s->impl = NULL;
        sink_free(s);
        s = NULL;
        goto cleanup;
    }
    h->started = true;
    return s;
cleanup:
    http_free(h);
    return NULL;
}
