/*
 * webhook.c: owns kg_webhook, the HTTP(S) receiver for kube-apiserver's
 * audit webhook backend, built on libmicrohttpd (0.9.75 APIs only).
 *
 * Routes: POST /k8s-audit (and /k8s-audit/CLUSTER, the body's events from
 * that cluster) takes one body (an EventList; not parsed here, the
 * consumer does that) and answers 200 `{}` only after queue_push accepted a
 * copy; a full (or closed) queue gets 429 with Retry-After, so the API server
 * retries the batch and nothing answered 2xx is ever lost.  GET /healthz
 * answers "ok" without any credentials.  Other methods on /k8s-audit get
 * 405, other paths 404, an empty body 400.  With a deliver callback
 * (--publish-to-nats) a body goes to it instead of the queue and is
 * answered with the status it gives (deliver_body).
 *
 * Content-Encoding: gzip (also x-gzip) bodies are decompressed
 * (kguard/gunzip.h) before they are queued, capped at max_body decompressed (413);
 * one that does not decompress gets 400.  Any other coding gets 415 before
 * the body is read: a body is never answered 200 and then found unreadable.
 *
 * Limits and checks, all decided on the first call of a request, before any
 * body is read: the bearer token (401), the client certificate (403), and a
 * Content-Length over max_body (413, answered at once; the connection is
 * closed without reading the body).  A chunked body that grows over the
 * limit is discarded as it arrives and answered 413 once it has ended
 * (libmicrohttpd 0.9.75 cannot answer in the middle of a body); one that
 * goes on past drain_limit() has its connection dropped instead.
 *
 * Client certificates: with client_ca, libmicrohttpd loads it as the trust
 * list and asks every TLS client for a certificate (GNUTLS_CERT_REQUEST).
 * The handshake still succeeds without one, so /healthz stays reachable for
 * probes; /k8s-audit verifies the peer against the trust list
 * (gnutls_certificate_verify_peers, client-auth purpose) and answers 403 to
 * a client without a valid certificate.
 *
 * Counters (webhook_stats): every answer by path and status code (respond
 * and reply_metrics count it, count_answer), and by what it means: accepted
 * (200), unauthorized (401 and 403), too_large (413 and dropped oversize
 * bodies), busy (429), bad_request (400, 404, 405, 415).  Every refusal is also reported through opts->log with
 * the peer's address (never the presented token), and so are
 * libmicrohttpd's own diagnostics.
 *
 * Slow and idle clients (webhook_guard.h): at most PER_IP_LIMIT connections
 * per client address (more are refused at accept, so one address cannot take
 * the slots of the API server or of /healthz probes) and CONNECTION_LIMIT in
 * all; a request's headers must be in within header_timeout of the
 * connection's accept or its previous answer, and its body within
 * BODY_TIMEOUT after them, however often the client sends a byte; a
 * connection silent for CONNECTION_TIMEOUT_S is closed (libmicrohttpd).
 *
 * Threads: libmicrohttpd's internal thread pool of two, and the guard's; the request handler
 * touches only the per-request state, the queue (thread-safe) and the atomic
 * counters.
 */
#include "kguard/webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "kguard/gunzip.h"
#include "util.h"
#include "webhook_guard.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_MAX_BODY ((size_t)32 << 20)
#define THREAD_POOL_SIZE 2u
#define CONNECTION_LIMIT 1000u
#define PER_IP_LIMIT 16u
#define CONNECTION_TIMEOUT_S 60u     /* idle: no byte at all in that time */
#define DEFAULT_HEADER_TIMEOUT 10.0  /* from accept (or the last answer) to the headers */
#define BODY_TIMEOUT 120.0           /* from the headers to the end of the body */
#define CUTS_LOGGED 10               /* then one message per 1000 */
/* Largest token or PEM file read (a certificate chain fits easily). */
#define TOKEN_FILE_MAX ((size_t)64 << 10)
#define PEM_FILE_MAX ((size_t)1 << 20)
/* First buffer for a body of unknown length; the body limit caps growth. */
#define INITIAL_BODY_CAP ((size_t)64 << 10)
/* See drain_limit(). */
#define DRAIN_MIN_EXTRA ((size_t)1 << 20)
#define PATH_AUDIT "/k8s-audit"
#define PATH_HEALTH "/healthz"
#define PATH_METRICS "/metrics"

struct kg_webhook {
    struct MHD_Daemon *daemon;
    kg_queue *queue;
    size_t max_body;
    char *token;            /* NULL: no bearer token required */
    size_t token_len;
    char *cert_pem, *key_pem, *ca_pem;   /* alive while the daemon runs */
    size_t key_len;
    bool require_client_cert;
    unsigned short port;
    void (*log)(void *ud, const char *msg);
    void *ud;
    char *(*metrics)(void *ud);
    void *metrics_ud;
    const char *metrics_type;
    kg_webhook_deliver deliver;   /* --publish-to-nats: instead of the queue */
    void *deliver_ud;
    wg_guard *guard;        /* header and body deadlines */
    atomic_ullong accepted, unauthorized, too_large, busy, bad_request;
    atomic_ullong answers[KG_WEBHOOK_PATHS][KG_WEBHOOK_CODES];   /* by path and status */
    atomic_ullong refused;  /* connections over a connection limit */
    atomic_ullong floods[2], cut_msgs;
};

/* One POST /k8s-audit in progress (libmicrohttpd's per-request pointer). */
typedef struct req {
    char *buf;
    size_t len, cap;
    size_t seen;            /* body bytes read, kept or not */
    size_t declared;        /* Content-Length (<= max_body), 0 when none */
    bool too_large;
    bool no_memory;
    bool gzip;              /* Content-Encoding: gzip (or x-gzip) */
    char origin[sizeof ((kg_queue_item *)0)->origin];
    char cluster[sizeof ((kg_queue_item *)0)->cluster];
} req;

/* Where an answer went, for the counts by path (names in path_names). */
typedef enum wh_path { WH_AUDIT, WH_HEALTH, WH_METRICS, WH_OTHER } wh_path;

/* ---- small helpers --------------------------------------------------- */

static void logf_(kg_webhook *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void logf_(kg_webhook *w, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (!w->log)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    w->log(w->ud, msg);
}

/* libmicrohttpd messages that come by the thousand under a connection flood;
 * the first is a refused connection (per-address or total limit). */
static const char *const FLOODS[] = {
    "reached connection limit",
    "closed when reading request",
};

/* libmicrohttpd's own diagnostics, routed to opts->log. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    kg_webhook *w = cls;
    char msg[512];
    size_t n;
    if (!w->log)
        return;
    vsnprintf(msg, sizeof msg, fmt, ap);
    n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    for (size_t i = 0; i < sizeof FLOODS / sizeof FLOODS[0]; i++) {
        /* what a flood of connections makes it say: a few, then a count */
        unsigned long long k;
        if (!strstr(msg, FLOODS[i]))
            continue;
        k = atomic_fetch_add(&w->floods[i], 1) + 1;
        if (i == 0)
            atomic_fetch_add(&w->refused, 1);
        if (k <= CUTS_LOGGED || k % 1000 == 0)
            logf_(w, "webhook: libmicrohttpd: %s (%llu times so far)", msg, k);
        return;
    }
    logf_(w, "webhook: libmicrohttpd: %s", msg);
}

/* Read a whole (small) file into a NUL-terminated malloc'd buffer; what
 * names the file's role in messages ("token file", "certificate"...). */
static char *slurp(const char *what, const char *path, size_t max, size_t *len_out, char *err,
                   size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0;
    if (!f) {
        util_set_err(err, errlen, "%s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    buf = malloc(max + 1);
    if (!buf) {
        util_set_err(err, errlen, "%s %s: out of memory", what, path);
        goto cleanup;
    }
    errno = 0;
    len = fread(buf, 1, max + 1, f);
    if (ferror(f)) {
        util_set_err(err, errlen, "%s %s: %s", what, path, errno ? strerror(errno) : "read error");
        goto fail;
    }
    if (len > max) {
        util_set_err(err, errlen, "%s %s: larger than %zu bytes", what, path, max);
        goto fail;
    }
    buf[len] = '\0';
    *len_out = len;
    {
        /* Give back the unused room; a copy (not realloc) so that a key or
         * token never lingers in freed memory. */
        char *fit = malloc(len + 1);
        if (fit) {
            memcpy(fit, buf, len + 1);
            explicit_bzero(buf, len);
            free(buf);
            buf = fit;
        }
    }
    goto cleanup;
fail:
    explicit_bzero(buf, len);
    free(buf);
    buf = NULL;
cleanup:
    fclose(f);
    return buf;
}

/* Compare a presented token with the expected one in time that depends
 * only on the expected token's length. */
static bool token_equal(const char *got, size_t got_len, const char *want, size_t want_len)
{
    volatile unsigned char diff = got_len != want_len;
    for (size_t i = 0; i < want_len; i++)
        diff |= (unsigned char)(want[i] ^ (i < got_len ? got[i] : 0));
    return diff == 0;
}

/* "webhook 10.0.0.1:4242" or "webhook [::1]:4242" for the queue item. */
static void peer_origin(struct MHD_Connection *c, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    bool v6 = false;
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
            port = ntohs(in->sin_port);
        } else if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
            inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
            port = ntohs(in6->sin6_port);
            v6 = true;
        }
    }
    snprintf(out, outlen, v6 ? "webhook [%s]:%u" : "webhook %s:%u", ip, port);
}

/* ---- responses ------------------------------------------------------- */

/* The statuses counted apart (webhook.h); anything else is "other". */
static const struct {
    unsigned code;
    const char *name;
} answer_codes[KG_WEBHOOK_CODES] = {{200, "200"}, {400, "400"}, {401, "401"}, {403, "403"},
                                    {404, "404"}, {405, "405"}, {413, "413"}, {415, "415"},
                                    {429, "429"}, {500, "500"}, {503, "503"}, {0, "other"}};
static const char *const path_names[KG_WEBHOOK_PATHS] = {PATH_AUDIT, PATH_HEALTH, PATH_METRICS,
                                                         "other"};

/* Count one answer: every response goes through here. */
static void count_answer(kg_webhook *w, wh_path path, unsigned status)
{
    size_t i = 0;
    while (i < KG_WEBHOOK_CODES - 1 && answer_codes[i].code != status)
        i++;
    atomic_fetch_add(&w->answers[path][i], 1);
}

/* Queue a response with a static body and up to one extra header. */
static enum MHD_Result respond(kg_webhook *w, struct MHD_Connection *c, wh_path path,
                               unsigned status, const char *body, const char *ctype,
                               const char *hname, const char *hval)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    count_answer(w, path, status);
    resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (hname)
        MHD_add_response_header(resp, hname, hval);
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_text(kg_webhook *w, struct MHD_Connection *c, wh_path path,
                                  unsigned status, const char *body)
{
    return respond(w, c, path, status, body, "text/plain; charset=utf-8", NULL, NULL);
}

static enum MHD_Result reply_bad(kg_webhook *w, struct MHD_Connection *c, wh_path path,
                                 unsigned status, const char *body, const char *hname,
                                 const char *hval)
{
    atomic_fetch_add(&w->bad_request, 1);
    return respond(w, c, path, status, body, "text/plain; charset=utf-8", hname, hval);
}

static enum MHD_Result reply_unauthorized(kg_webhook *w, struct MHD_Connection *c,
                                          const char *why)
{
    char origin[64];
    peer_origin(c, origin, sizeof origin);
    atomic_fetch_add(&w->unauthorized, 1);
    logf_(w, "%s: 401 on " PATH_AUDIT ": %s", origin, why);
    return respond(w, c, WH_AUDIT, MHD_HTTP_UNAUTHORIZED, "unauthorized\n",
                   "text/plain; charset=utf-8", MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                   "Bearer realm=\"kguard\"");
}

static enum MHD_Result reply_too_large(kg_webhook *w, struct MHD_Connection *c, const char *how)
{
    char origin[64];
    peer_origin(c, origin, sizeof origin);
    atomic_fetch_add(&w->too_large, 1);
    logf_(w, "%s: 413 on " PATH_AUDIT ": %s over the %zu-byte limit", origin, how, w->max_body);
    return reply_text(w, c, WH_AUDIT, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
}

/* ---- checks made before reading a body ------------------------------- */

/* Whether the request carries "Authorization: Bearer <the token>". */
static bool token_ok(kg_webhook *w, struct MHD_Connection *c, const char **why)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h) {
        *why = "no Authorization header";
        return false;
    }
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
        *why = "Authorization is not a bearer token";
        return false;
    }
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    if (!token_equal(h, strlen(h), w->token, w->token_len)) {
        *why = "wrong bearer token";
        return false;
    }
    return true;
}

/* Whether the TLS peer presented a certificate that verifies against the
 * client CA (chain, validity period, client-auth key purpose). */
static bool client_cert_ok(struct MHD_Connection *c, const char **why)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t s;
    gnutls_typed_vdata_st purpose = {
        .type = GNUTLS_DT_KEY_PURPOSE_OID,
        .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT,
        .size = 0,
    };
    unsigned int status = 0, npeers = 0;
    if (!ci || !ci->tls_session) {
        *why = "no TLS session";
        return false;
    }
    s = (gnutls_session_t)ci->tls_session;
    if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509 ||
        !gnutls_certificate_get_peers(s, &npeers) || npeers == 0) {
        *why = "no client certificate";
        return false;
    }
    if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0 || status != 0) {
        *why = "client certificate does not verify against the client CA";
        return false;
    }
    return true;
}

/* The declared Content-Length, saturated; false when there is none (a
 * malformed one is left to libmicrohttpd). */
static bool declared_length(struct MHD_Connection *c, size_t *out)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long n;
    char *end;
    if (!h)
        return false;
    errno = 0;
    n = strtoull(h, &end, 10);
    if (end == h)
        return false;
    *out = errno == ERANGE || n > SIZE_MAX ? SIZE_MAX : (size_t)n;
    return true;
}

/* The body's Content-Encoding: 0 none (or identity), 1 gzip or x-gzip,
 * -1 anything else (415). */
static int body_encoding(struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_ENCODING);
    size_t n;
    if (!h)
        return 0;
    while (*h == ' ' || *h == '\t')
        h++;
    n = strcspn(h, " \t");
    if (h[n + strspn(h + n, " \t")] != '\0')
        return -1;              /* a list of codings: not something the API server sends */
    if (n == 0 || (n == 8 && strncasecmp(h, "identity", 8) == 0))
        return 0;
    if ((n == 4 && strncasecmp(h, "gzip", 4) == 0) || (n == 6 && strncasecmp(h, "x-gzip", 6) == 0))
        return 1;
    return -1;
}

/* ---- the request handler --------------------------------------------- */

/* First call of a POST /k8s-audit: credentials and declared size, then the
 * per-request state that collects the body. */
static enum MHD_Result begin_audit_post(kg_webhook *w, struct MHD_Connection *c,
                                        const char *cluster, void **con_cls)
{
    const char *why = NULL;
    size_t declared = 0;
    int encoding;
    req *r;
    if (w->require_client_cert && !client_cert_ok(c, &why)) {
        char origin[64];
        peer_origin(c, origin, sizeof origin);
        atomic_fetch_add(&w->unauthorized, 1);
        logf_(w, "%s: 403 on " PATH_AUDIT ": %s", origin, why);
        return reply_text(w, c, WH_AUDIT, MHD_HTTP_FORBIDDEN, "client certificate required\n");
    }
    if (w->token && !token_ok(w, c, &why))
        return reply_unauthorized(w, c, why);
    if (declared_length(c, &declared) && declared > w->max_body)
        return reply_too_large(w, c, "Content-Length");
    if ((encoding = body_encoding(c)) < 0) {
        char origin[64];
        peer_origin(c, origin, sizeof origin);
        logf_(w, "%s: 415 on " PATH_AUDIT ": Content-Encoding %s", origin,
              MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING));
        return reply_bad(w, c, WH_AUDIT, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                         "unsupported Content-Encoding (gzip or identity)\n",
                         "Accept-Encoding", "gzip, identity");
    }
    r = calloc(1, sizeof *r);
    if (!r)
        return MHD_NO;
    r->declared = declared;
    r->gzip = encoding == 1;
    snprintf(r->cluster, sizeof r->cluster, "%s", cluster);
    peer_origin(c, r->origin, sizeof r->origin);
    *con_cls = r;
    return MHD_YES;
}

/* GET /metrics: the text the metrics callback renders. */
static enum MHD_Result reply_metrics(kg_webhook *w, struct MHD_Connection *c)
{
    char *body = w->metrics(w->metrics_ud);
    struct MHD_Response *resp;
    enum MHD_Result ret;
    if (!body)
        return reply_text(w, c, WH_METRICS, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, w->metrics_type);
    count_answer(w, WH_METRICS, MHD_HTTP_OK);
    ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* The cluster an audit path names: "" for /k8s-audit, NAME for
 * /k8s-audit/NAME (letters, digits, '.', '_', '-'; what cluster names are
 * made of on EKS, GKE and AKS), NULL for any other path. */
static const char *audit_path_cluster(const char *url)
{
    const char *name;
    size_t n;
    if (strncmp(url, PATH_AUDIT, sizeof PATH_AUDIT - 1) != 0)
        return NULL;
    name = url + sizeof PATH_AUDIT - 1;
    if (!*name)
        return name;
    if (*name++ != '/')
        return NULL;
    n = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    if (n == 0 || name[n] || n >= sizeof ((kg_queue_item *)0)->cluster)
        return NULL;
    return name;
}

/* Route a request on its first call (headers only). */
static enum MHD_Result begin_request(kg_webhook *w, struct MHD_Connection *c, const char *url,
                                     const char *method, void **con_cls)
{
    const char *cluster;
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
               strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (strcmp(url, PATH_HEALTH) == 0) {
        if (!get)
            return reply_bad(w, c, WH_HEALTH, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                             MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        return reply_text(w, c, WH_HEALTH, MHD_HTTP_OK, "ok\n");
    }
    if (strcmp(url, PATH_METRICS) == 0 && w->metrics) {
        if (!get)
            return reply_bad(w, c, WH_METRICS, MHD_HTTP_METHOD_NOT_ALLOWED,
                             "method not allowed\n", MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        return reply_metrics(w, c);
    }
    if ((cluster = audit_path_cluster(url)) != NULL) {
        if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
            return reply_bad(w, c, WH_AUDIT, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                             MHD_HTTP_HEADER_ALLOW, "POST");
        return begin_audit_post(w, c, cluster, con_cls);
    }
    return reply_bad(w, c, WH_OTHER, MHD_HTTP_NOT_FOUND, "not found\n", NULL, NULL);
}

/* How much of a body is read in all before the connection is dropped
 * instead of answered 413 (libmicrohttpd 0.9.75 cannot answer before the
 * body has been read): twice the limit, and at least the limit + 1 MiB. */
static size_t drain_limit(const kg_webhook *w)
{
    size_t extra = w->max_body > DRAIN_MIN_EXTRA ? w->max_body : DRAIN_MIN_EXTRA;
    return w->max_body > SIZE_MAX - extra ? SIZE_MAX : w->max_body + extra;
}

/* Take one piece of the body.  Once over max_body the body is dropped and
 * the rest read and discarded; false (drop the connection) once the body
 * read in all is over drain_limit. */
static bool absorb(kg_webhook *w, req *r, const char *data, size_t n)
{
    r->seen = n > SIZE_MAX - r->seen ? SIZE_MAX : r->seen + n;
    if (!r->too_large && r->seen > w->max_body) {
        r->too_large = true;
        free(r->buf);
        r->buf = NULL;
        r->len = r->cap = 0;
    }
    if (r->too_large || r->no_memory)
        return r->seen <= drain_limit(w);
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : r->declared ? r->declared : INITIAL_BODY_CAP;
        char *nb;
        if (cap > w->max_body)
            cap = w->max_body;
        while (cap < r->len + n)
            cap = cap > w->max_body / 2 ? w->max_body : cap * 2;
        nb = realloc(r->buf, cap);
        if (!nb) {
            r->no_memory = true;
            free(r->buf);
            r->buf = NULL;
            r->len = r->cap = 0;
            return true;
        }
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    return true;
}

/* A compressed body replaced by what it decompresses to; an answer
 * already queued (400, 413, 503) when it cannot be. */
static bool decode_body(kg_webhook *w, struct MHD_Connection *c, req *r, enum MHD_Result *ret)
{
    char err[128], *plain = NULL;
    size_t len = 0;
    if (gunzip_mem(r->buf, r->len, w->max_body, &plain, &len, err, sizeof err) == 0) {
        free(r->buf);
        r->buf = plain;
        r->len = r->cap = len;
        return true;
    }
    /* gunzip_mem tells its failures apart only by their message */
    if (strncmp(err, "decompressed payload over", 25) == 0) {
        *ret = reply_too_large(w, c, "decompressed body");
    } else if (strcmp(err, "out of memory") == 0) {
        logf_(w, "%s: 503 on " PATH_AUDIT ": out of memory", r->origin);
        *ret = respond(w, c, WH_AUDIT, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n",
                       "text/plain; charset=utf-8", MHD_HTTP_HEADER_RETRY_AFTER, "1");
    } else {
        logf_(w, "%s: 400 on " PATH_AUDIT ": %s", r->origin, err);
        *ret = reply_bad(w, c, WH_AUDIT, MHD_HTTP_BAD_REQUEST, "body does not decompress\n", NULL, NULL);
    }
    return false;
}

/* --publish-to-nats: the body handed to deliver, answered by the status it
 * gives (200 only once stored). */
static enum MHD_Result deliver_body(kg_webhook *w, struct MHD_Connection *c, req *r)
{
    char err[512] = "";
    unsigned st = w->deliver(w->deliver_ud, r->buf, r->len, r->cluster, err, sizeof err);
    if (st == MHD_HTTP_OK) {
        atomic_fetch_add(&w->accepted, 1);
        return respond(w, c, WH_AUDIT, MHD_HTTP_OK, "{}", "application/json", NULL, NULL);
    }
    logf_(w, "%s: %u on " PATH_AUDIT ": %s", r->origin, st, err);
    if (st == MHD_HTTP_SERVICE_UNAVAILABLE) {
        atomic_fetch_add(&w->busy, 1);
        return respond(w, c, WH_AUDIT, st, "not stored, retry later\n", "text/plain; charset=utf-8",
                       MHD_HTTP_HEADER_RETRY_AFTER, "1");
    }
    return reply_bad(w, c, WH_AUDIT, st, st == MHD_HTTP_CONTENT_TOO_LARGE ? "request body too large\n"
                                                                 : "cannot store this body\n",
                     NULL, NULL);
}

/* The whole body is in: decompress it, queue it and answer. */
static enum MHD_Result finish_audit_post(kg_webhook *w, struct MHD_Connection *c, req *r)
{
    kg_queue_item item;
    enum MHD_Result ret = MHD_NO;
    if (r->too_large)
        return reply_too_large(w, c, "chunked body");
    if (r->no_memory) {
        logf_(w, "%s: 503 on " PATH_AUDIT ": out of memory", r->origin);
        return respond(w, c, WH_AUDIT, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n",
                       "text/plain; charset=utf-8", MHD_HTTP_HEADER_RETRY_AFTER, "1");
    }
    if (r->len == 0) {
        logf_(w, "%s: 400 on " PATH_AUDIT ": empty body", r->origin);
        return reply_bad(w, c, WH_AUDIT, MHD_HTTP_BAD_REQUEST, "empty body\n", NULL, NULL);
    }
    if (r->gzip && !decode_body(w, c, r, &ret))
        return ret;
    if (r->len == 0) {
        logf_(w, "%s: 400 on " PATH_AUDIT ": empty body once decompressed", r->origin);
        return reply_bad(w, c, WH_AUDIT, MHD_HTTP_BAD_REQUEST, "empty body\n", NULL, NULL);
    }
    if (w->deliver)
        return deliver_body(w, c, r);
    memset(&item, 0, sizeof item);
    item.data = r->buf;
    item.len = r->len;
    memcpy(item.origin, r->origin, sizeof item.origin);
    memcpy(item.cluster, r->cluster, sizeof item.cluster);
    if (!queue_push(w->queue, &item)) {
        atomic_fetch_add(&w->busy, 1);
        logf_(w, "%s: 429 on " PATH_AUDIT ": queue full", r->origin);
        return respond(w, c, WH_AUDIT, MHD_HTTP_TOO_MANY_REQUESTS, "queue full, retry later\n",
                       "text/plain; charset=utf-8", MHD_HTTP_HEADER_RETRY_AFTER, "1");
    }
    r->buf = NULL;           /* the queue owns it now */
    r->len = r->cap = 0;
    atomic_fetch_add(&w->accepted, 1);
    return respond(w, c, WH_AUDIT, MHD_HTTP_OK, "{}", "application/json", NULL, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    kg_webhook *w = cls;
    req *r = *con_cls;
    (void)version;
    if (!r) {
        wg_headers_done(w->guard, c);
        return begin_request(w, c, url, method, con_cls);
    }
    if (*upload_data_size) {
        bool keep = absorb(w, r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        if (!keep) {
            atomic_fetch_add(&w->too_large, 1);
            logf_(w, "%s: connection dropped: body far over the %zu-byte limit", r->origin,
                  w->max_body);
        }
        return keep ? MHD_YES : MHD_NO;
    }
    return finish_audit_post(w, c, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    kg_webhook *w = cls;
    req *r = *con_cls;
    (void)toe;
    wg_request_done(w->guard, c);
    if (!r)
        return;
    free(r->buf);
    free(r);
    *con_cls = NULL;
}

/* ---- start and stop -------------------------------------------------- */

/* Read the bearer token: trailing whitespace trimmed, non-empty, and no
 * whitespace or control characters inside. */
static bool load_token(kg_webhook *w, const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    char *tok = slurp("token file", path, TOKEN_FILE_MAX, &len, err, errlen);
    if (!tok)
        return false;
    while (len && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' ' ||
                   tok[len - 1] == '\t' || tok[len - 1] == '\v' || tok[len - 1] == '\f'))
        tok[--len] = '\0';
    if (len == 0) {
        util_set_err(err, errlen, "token file %s is empty", path);
        goto fail;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)tok[i];
        if (ch <= ' ' || ch == 0x7f) {
            util_set_err(err, errlen,
                    "token file %s: the token contains whitespace or control characters", path);
            goto fail;
        }
    }
    w->token = tok;
    w->token_len = len;
    return true;
fail:
    explicit_bzero(tok, len);
    free(tok);
    return false;
}

/* Load the certificate, the key and the client CA, and check with GnuTLS
 * that they parse and match, so a bad file is named in the message. */
static bool load_tls(kg_webhook *w, const kg_webhook_opts *o, char *err, size_t errlen)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_datum_t cert, key, ca;
    size_t len = 0;
    bool good = false;
    int rc;

    if (!o->tls_cert != !o->tls_key) {
        util_set_err(err, errlen, "webhook TLS needs both a certificate and a key");
        return false;
    }
    if (o->client_ca && !o->tls_cert) {
        util_set_err(err, errlen, "a client CA (%s) needs TLS: give a certificate and a key",
                o->client_ca);
        return false;
    }
    if (!o->tls_cert)
        return true;
    if (!(w->cert_pem = slurp("certificate", o->tls_cert, PEM_FILE_MAX, &len, err, errlen)))
        return false;
    if (!(w->key_pem = slurp("key", o->tls_key, PEM_FILE_MAX, &w->key_len, err, errlen)))
        return false;
    if (o->client_ca &&
        !(w->ca_pem = slurp("client CA", o->client_ca, PEM_FILE_MAX, &len, err, errlen)))
        return false;

    if (gnutls_certificate_allocate_credentials(&cred) < 0) {
        util_set_err(err, errlen, "webhook TLS: out of memory");
        return false;
    }
    cert.data = (unsigned char *)w->cert_pem;
    cert.size = (unsigned int)strlen(w->cert_pem);
    key.data = (unsigned char *)w->key_pem;
    key.size = (unsigned int)strlen(w->key_pem);
    rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        util_set_err(err, errlen, "certificate %s with key %s: %s", o->tls_cert, o->tls_key,
                gnutls_strerror(rc));
        goto cleanup;
    }
    if (w->ca_pem) {
        ca.data = (unsigned char *)w->ca_pem;
        ca.size = (unsigned int)strlen(w->ca_pem);
        rc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
        if (rc <= 0) {
            util_set_err(err, errlen, "client CA %s: %s", o->client_ca,
                    rc < 0 ? gnutls_strerror(rc) : "no certificate found");
            goto cleanup;
        }
        w->require_client_cert = true;
    }
    good = true;
cleanup:
    gnutls_certificate_free_credentials(cred);
    return good;
}

/* Resolve host:port into addr (numeric or a name; the first answer). */
static bool resolve(const char *host, unsigned short port, struct sockaddr_storage *addr,
                    char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char service[8];
    int rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof service, "%u", (unsigned)port);
    rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0 || !res) {
        util_set_err(err, errlen, "webhook address %s: %s", host, rc ? gai_strerror(rc) : "no address");
        return false;
    }
    memset(addr, 0, sizeof *addr);
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return true;
}

/* After libmicrohttpd refused to start: say why binding fails, if it does. */
static void explain_listen_failure(const struct sockaddr_storage *addr, const char *host,
                                   unsigned short port, char *err, size_t errlen)
{
    socklen_t len = addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                 : sizeof(struct sockaddr_in);
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)addr, len) != 0) {
            util_set_err(err, errlen, "webhook cannot listen on %s:%u: %s", host, (unsigned)port,
                    strerror(errno));
            close(fd);
            return;
        }
        close(fd);
    }
    util_set_err(err, errlen, "webhook cannot start on %s:%u (libmicrohttpd refused; see the log)",
            host, (unsigned)port);
}

/* A connection the guard cut: logged (the first few, then one in 1000). */
static void on_cut(void *ud, const char *peer, const char *phase, double seconds)
{
    kg_webhook *w = ud;
    unsigned long long n = atomic_fetch_add(&w->cut_msgs, 1) + 1;
    if (n <= CUTS_LOGGED || n % 1000 == 0)
        logf_(w, "webhook %s: connection closed: %s not complete after %.0f s (%llu so far)", peer,
              phase, seconds, n);
}

static void webhook_free(kg_webhook *w)
{
    if (!w)
        return;
    wg_free(w->guard);
    if (w->token) {
        explicit_bzero(w->token, w->token_len);
        free(w->token);
    }
    if (w->key_pem) {
        explicit_bzero(w->key_pem, w->key_len);
        free(w->key_pem);
    }
    free(w->cert_pem);
    free(w->ca_pem);
    free(w);
}

kg_webhook *webhook_start(const kg_webhook_opts *opts, char *err, size_t errlen)
{
    const char *host = opts->host && *opts->host ? opts->host : DEFAULT_HOST;
    struct sockaddr_storage addr;
    struct MHD_OptionItem tls_opts[4];
    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    const union MHD_DaemonInfo *info;
    size_t n = 0;
    kg_webhook *w;

    if (!opts->queue) {
        util_set_err(err, errlen, "webhook: no queue");
        return NULL;
    }
    w = calloc(1, sizeof *w);
    if (!w) {
        util_set_err(err, errlen, "webhook: out of memory");
        return NULL;
    }
    w->queue = opts->queue;
    w->max_body = opts->max_body ? opts->max_body : DEFAULT_MAX_BODY;
    w->log = opts->log;
    w->deliver = opts->deliver;
    w->deliver_ud = opts->deliver_ud;
    w->ud = opts->ud;
    w->metrics = opts->metrics;
    w->metrics_ud = opts->metrics_ud;
    w->metrics_type = opts->metrics_type ? opts->metrics_type : "text/plain; charset=utf-8";
    if (!(w->guard = wg_new(opts->header_timeout > 0 ? opts->header_timeout : DEFAULT_HEADER_TIMEOUT,
                            BODY_TIMEOUT, on_cut, w))) {
        util_set_err(err, errlen, "webhook: cannot start the connection guard");
        goto fail;
    }
    if (opts->token_file && !load_token(w, opts->token_file, err, errlen))
        goto fail;
    if (!load_tls(w, opts, err, errlen))
        goto fail;
    if (!resolve(host, opts->port, &addr, err, errlen))
        goto fail;

    if (w->cert_pem) {
        flags |= MHD_USE_TLS;
        tls_opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, w->key_pem };
        tls_opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, w->cert_pem };
        if (w->ca_pem)
            tls_opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, w->ca_pem };
    }
    tls_opts[n] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;

    w->daemon = MHD_start_daemon(
        flags, opts->port, NULL, NULL, on_request, w,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, w,   /* first, so it sees everything */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, THREAD_POOL_SIZE,
        MHD_OPTION_CONNECTION_LIMIT, CONNECTION_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, PER_IP_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
        MHD_OPTION_NOTIFY_CONNECTION, wg_notify, w->guard,
        MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (!w->daemon) {
        explain_listen_failure(&addr, host, opts->port, err, errlen);
        goto fail;
    }
    info = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
    w->port = info && info->port ? info->port : opts->port;
    return w;
fail:
    webhook_free(w);
    return NULL;
}

unsigned short webhook_port(const kg_webhook *w)
{
    return w->port;
}

void webhook_stats(kg_webhook *w, kg_webhook_stats *out)
{
    out->accepted = atomic_load(&w->accepted);
    out->unauthorized = atomic_load(&w->unauthorized);
    out->too_large = atomic_load(&w->too_large);
    out->busy = atomic_load(&w->busy);
    out->bad_request = atomic_load(&w->bad_request);
    out->cut = wg_cut_count(w->guard);
    out->refused = atomic_load(&w->refused);
    for (size_t p = 0; p < KG_WEBHOOK_PATHS; p++)
        for (size_t i = 0; i < KG_WEBHOOK_CODES; i++)
            out->answers[p][i] = atomic_load(&w->answers[p][i]);
}

const char *webhook_code_name(size_t i)
{
    return i < KG_WEBHOOK_CODES ? answer_codes[i].name : NULL;
}

const char *webhook_path_name(size_t p)
{
    return p < KG_WEBHOOK_PATHS ? path_names[p] : NULL;
}

void webhook_stop(kg_webhook *w)
{
    if (!w)
        return;
    wg_stop(w->guard);
    if (w->daemon)
        MHD_stop_daemon(w->daemon);
    webhook_free(w);
}
