/*
 * cmd_run: `kguard run` — judge events from followed files, the audit
 * webhook or stdin until stopped.  One thread judges; the webhook's HTTP
 * threads only queue bodies.  The loop waits with poll() on signals
 * (signalfd), inotify (rules, libraries, lists, config), the webhook queue,
 * followed files and stdin; it reloads between two events, publishes due
 * finding updates every second and saves the state every minute.  SIGTERM
 * and SIGINT stop it gracefully: no new webhook bodies, everything queued
 * (bounded by --max-drain seconds of judging) or written so far is judged, pending updates are published, the state is
 * saved.  SIGHUP forces a reload; SIGUSR1 reopens --output (logrotate).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include "collect.h"
#include "commands.h"
#include "metrics_http.h"
#include "version.h"
#include "kguard/metrics.h"
#include "kguard/follow.h"
#include "kguard/input_nats.h"
#include "kguard/webhook.h"

#define TICK_MS 250
#define RELOAD_DEBOUNCE 0.3       /* seconds after the last change */
#define SAVE_EVERY 60.0           /* seconds between state saves */
#define QUEUE_ITEMS 1024
#define QUEUE_BYTES (256u << 20)
#define DEFAULT_MAX_DRAIN 30.0    /* seconds of judging the queue may hold */
#define STDIN_CHUNK (64u << 10)
#define MAX_WATCH 64
#define NATS_BATCH 64
#define NATS_WAIT_MS 100          /* longest a fetch waits for a first message */

typedef struct watch {
    int wd;
    char *dir;
    char *name;                   /* a file in dir, or NULL: any *.lua */
} watch;

typedef struct run_ctx run_ctx;

/* One followed file's callback context: the cluster it belongs to ("":
 * the default one). */
typedef struct run_follow {
    run_ctx *r;
    const char *cluster;
} run_follow;

struct run_ctx {
    const kg_cli *cli;
    kg_engine *eng;
    kg_follow *follow[CLI_MAX_FOLLOW];
    run_follow follow_ctx[CLI_MAX_FOLLOW];
    size_t n_follow;
    kg_queue *queue;
    kg_webhook *hook;
    kg_nats_in *nats;
    kg_collect *metrics;          /* with --listen or --metrics-listen */
    metrics_http *metrics_srv;    /* --metrics-listen */
    kg_sinks *sinks;
    int sigfd, inofd;
    watch watches[MAX_WATCH];
    size_t n_watches;
    bool stop, use_stdin;
    double reload_at;             /* 0: none due */
    const char *reload_why;
    char *sbuf;                   /* stdin bytes not yet a full line */
    size_t slen;
    long sline;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- watching what a reload reads ------------------------------------- */

static void unwatch_all(run_ctx *r)
{
    for (size_t i = 0; i < r->n_watches; i++) {
        free(r->watches[i].dir);
        free(r->watches[i].name);
    }
    r->n_watches = 0;
    if (r->inofd >= 0)
        close(r->inofd);
    r->inofd = -1;
}

/* Watch dir for changes to name (or to any *.lua when name is NULL). */
static void watch_path(run_ctx *r, const char *dir, const char *name)
{
    watch *w;
    if (r->n_watches == MAX_WATCH || r->inofd < 0)
        return;
    w = &r->watches[r->n_watches];
    w->wd = inotify_add_watch(r->inofd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                                                 IN_CREATE | IN_DELETE | IN_ATTRIB);
    if (w->wd < 0)
        return;
    w->dir = strdup(dir);
    w->name = name ? strdup(name) : NULL;
    r->n_watches++;
}

static void watch_file(run_ctx *r, const char *path)
{
    char *a = strdup(path), *b = strdup(path);
    if (a && b)
        watch_path(r, dirname(a), basename(b));
    free(a);
    free(b);
}

/* Watch a directory's contents and its own name in its parent: a symlink
 * to it swapped for one to another directory is a change too. */
static void watch_dir(run_ctx *r, const char *dir)
{
    watch_path(r, dir, NULL);
    watch_file(r, dir);
}

/* What the running generation was built from: the rules and library
 * directories, the config file and the list files. */
static void rewatch(run_ctx *r, const kg_setup *s)
{
    unwatch_all(r);
    r->inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    watch_dir(r, s->eo.rules_dir);
    watch_dir(r, s->eo.lualib_dir);
    if (r->cli->config_path)
        watch_file(r, r->cli->config_path);
    for (size_t i = 0; i < s->lists.n; i++)
        if (strcmp(s->lists.v[i].path, "(config)") != 0)
            watch_file(r, s->lists.v[i].path);
}

/* A Kubernetes ConfigMap (or Secret) volume holds its files in a
 * timestamped directory behind the symlink "..data", and every file name
 * is a symlink through "..data": an update renames a new "..data" over the
 * old one, and no file name changes. */
#define CONFIGMAP_DATA "..data"

static bool relevant(const watch *w, const struct inotify_event *ev)
{
    size_t n;
    if (!ev->len)
        return false;
    if (strcmp(ev->name, CONFIGMAP_DATA) == 0)
        return true;
    if (w->name)
        return strcmp(ev->name, w->name) == 0;
    n = strlen(ev->name);
    return n > 4 && strcmp(ev->name + n - 4, ".lua") == 0 && ev->name[0] != '.';
}

static void drain_inotify(run_ctx *r)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(r->inofd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            for (size_t i = 0; i < r->n_watches; i++)
                if (r->watches[i].wd == ev->wd && relevant(&r->watches[i], ev))
                    r->reload_at = now_s() + RELOAD_DEBOUNCE;
            p += sizeof *ev + ev->len;
        }
    }
}

/* ---- reload ----------------------------------------------------------- */

static void reload(run_ctx *r, const char *why)
{
    kg_setup s = {0};
    char err[512] = "";
    unsigned long long ok, failed;
    int rc = setup_load(r->cli, &s);

    if (rc == 0) {
        /* watch what this attempt read, before the engine takes the lists:
         * after a failure, fixing any of those files retries */
        rewatch(r, &s);
        collect_update(r->metrics, r->eng, r->sinks, r->queue, r->hook); /* the old rules' counts */
        rc = engine_reload(r->eng, &s.eo, &s.lists, &s.config, err, sizeof err);
    } else {
        engine_reload_failed(r->eng);
        snprintf(err, sizeof err, "see above");
    }
    engine_reload_counts(r->eng, &ok, &failed);
    if (rc == 0) {
        fprintf(stderr, "kguard: reload (%s): ok, %zu rules; %llu reloads, %llu failed\n", why,
                engine_rule_count(r->eng), ok, failed);
    } else {
        fprintf(stderr, "kguard: reload (%s) failed: %s; the running rules stay "
                "(%llu reloads, %llu failed)\n", why, err, ok, failed);
    }
    setup_free(&s);
}

/* ---- inputs ----------------------------------------------------------- */

static void on_follow_line(void *ud, const char *path, long lineno, const char *line,
                           size_t len)
{
    run_follow *f = ud;
    engine_set_source(f->r->eng, "follow");
    engine_feed_cluster(f->r->eng, line, len, path, lineno, f->cluster);
}

static void on_follow_note(void *ud, const char *path, long lineno, const char *what)
{
    (void)ud;
    fprintf(stderr, "kguard: %s:%ld: %s\n", path, lineno, what);
}

static int open_follows(run_ctx *r)
{
    char err[512];
    for (size_t i = 0; i < r->cli->n_follow; i++) {
        kg_follow_opts fo = {r->cli->follow[i], r->cli->from_start, r->cli->max_line,
                             on_follow_line, on_follow_note, &r->follow_ctx[i]};
        r->follow_ctx[i] = (run_follow){r, r->cli->follow_cluster[i]};
        if (!(r->follow[r->n_follow] = follow_open(&fo, err, sizeof err))) {
            cli_warn("cannot follow %s: %s", r->cli->follow[i], err);
            return -1;
        }
        r->n_follow++;
    }
    return 0;
}

static void poll_follows(run_ctx *r, size_t max_bytes)
{
    char err[512];
    for (size_t i = 0; i < r->n_follow; i++)
        if (follow_poll(r->follow[i], max_bytes, err, sizeof err) < 0)
            fprintf(stderr, "kguard: %s: %s\n", r->cli->follow[i], err);
}

static void drain_queue(run_ctx *r, size_t max_items)
{
    kg_queue_item it;
    engine_set_source(r->eng, "webhook");
    for (size_t n = 0; (max_items == 0 || n < max_items) && queue_pop(r->queue, &it); n++) {
        double t0 = now_s();
        engine_feed_cluster(r->eng, it.data, it.len, it.origin, 1, it.cluster);
        queue_note_cost(r->queue, it.len, now_s() - t0);
        free(it.data);
    }
}

/* Feed the complete lines of stdin read so far; at end of input, the rest. */
static void read_stdin(run_ctx *r)
{
    char *nb = realloc(r->sbuf, r->slen + STDIN_CHUNK);
    ssize_t got;
    size_t start = 0;
    if (!nb)
        return;
    r->sbuf = nb;
    engine_set_source(r->eng, "stdin");
    got = read(STDIN_FILENO, r->sbuf + r->slen, STDIN_CHUNK);
    if (got < 0 && errno == EINTR)
        return;
    if (got <= 0) {
        if (r->slen)
            engine_feed(r->eng, r->sbuf, r->slen, "<stdin>", ++r->sline);
        r->slen = 0;
        r->use_stdin = false;
        return;
    }
    r->slen += (size_t)got;
    for (size_t i = 0; i < r->slen; i++) {
        if (r->sbuf[i] != '\n')
            continue;
        engine_feed(r->eng, r->sbuf + start, i - start, "<stdin>", ++r->sline);
        start = i + 1;
    }
    memmove(r->sbuf, r->sbuf + start, r->slen - start);
    r->slen -= start;
}

static void on_nats_msg(void *ud, const char *data, size_t len, const char *cluster,
                        const char *origin)
{
    run_ctx *r = ud;
    engine_feed_cluster(r->eng, data, len, origin, 1, cluster);
}

/* Every finding of the batch written to every sink, none left waiting. */
static int on_nats_commit(void *ud)
{
    run_ctx *r = ud;
    return sinks_flush(r->sinks) == 0 && sinks_waiting(r->sinks) == 0 ? 0 : -1;
}

static int open_nats(run_ctx *r)
{
    const kg_cli *c = r->cli;
    kg_nats_in_opts o = {c->nats_url, c->nats_creds, c->nats_subject ? c->nats_subject : "audit.>",
                         c->nats_durable ? c->nats_durable : "kguard"};
    char err[512];
    if (!(r->nats = input_nats_open(&o, err, sizeof err))) {
        cli_warn("cannot consume from NATS: %s", err);
        return -1;
    }
    fprintf(stderr, "kguard: consuming %s from %s as %s\n", o.subject, o.url, o.durable);
    return 0;
}

static void poll_nats(run_ctx *r)
{
    kg_nats_in_cb cb = {on_nats_msg, on_nats_commit, r};
    char err[512];
    if (input_nats_poll(r->nats, NATS_BATCH, NATS_WAIT_MS, &cb, err, sizeof err) < 0)
        fprintf(stderr, "kguard: nats: %s\n", err);
}

static void webhook_log(void *ud, const char *msg)
{
    (void)ud;
    fprintf(stderr, "kguard: %s%s\n", strncmp(msg, "webhook", 7) == 0 ? "" : "webhook: ", msg);
}

/* --listen HOST:PORT, [V6]:PORT, :PORT or PORT (the last two on 127.0.0.1).
 * Returns 0, or -1 when it is not of that form. */
static int parse_listen(const char *arg, char *host, size_t n, long *port)
{
    const char *colon = strrchr(arg, ':');
    const char *p = colon ? colon + 1 : arg;
    char *end;
    *port = strtol(p, &end, 10);
    if (end == p || *end || *port < 0 || *port > 65535)
        return -1;
    if (!colon || colon == arg) {
        snprintf(host, n, "127.0.0.1");
        return 0;
    }
    if ((size_t)(colon - arg) >= n)
        return -1;
    snprintf(host, n, "%.*s", (int)(colon - arg), arg);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {   /* [::1]:8443 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    return 0;
}

static int start_webhook(run_ctx *r)
{
    kg_webhook_opts wo = {0};
    char host[256], err[512];
    long port;

    if (parse_listen(r->cli->listen, host, sizeof host, &port) < 0) {
        cli_warn("--listen wants [HOST:]PORT, got '%s'", r->cli->listen);
        return -2;
    }
    if (!(r->queue = queue_new(QUEUE_ITEMS, QUEUE_BYTES))) {
        cli_warn("out of memory");
        return -1;
    }
    queue_set_drain_limit(r->queue, r->cli->max_drain > 0 ? r->cli->max_drain : DEFAULT_MAX_DRAIN);
    wo.host = host;
    wo.port = (unsigned short)port;
    wo.tls_cert = r->cli->tls_cert;
    wo.tls_key = r->cli->tls_key;
    wo.client_ca = r->cli->client_ca;
    wo.token_file = r->cli->token_file;
    wo.max_body = r->cli->max_body;
    wo.header_timeout = r->cli->header_timeout;
    wo.queue = r->queue;
    wo.log = webhook_log;
    if (r->metrics) {
        wo.metrics = collect_render;
        wo.metrics_ud = r->metrics;
        wo.metrics_type = KG_METRICS_CONTENT_TYPE;
    }
    if (!(r->hook = webhook_start(&wo, err, sizeof err))) {
        cli_warn("cannot listen on %s: %s", r->cli->listen, err);
        return -1;
    }
    fprintf(stderr, "kguard: listening on %s port %u (POST /k8s-audit)\n", host,
            webhook_port(r->hook));
    return 0;
}

/* --metrics-listen: GET /metrics on a listener of its own. */
static int start_metrics(run_ctx *r)
{
    char host[256], err[512];
    long port;
    if (parse_listen(r->cli->metrics_listen, host, sizeof host, &port) < 0) {
        cli_warn("--metrics-listen wants [HOST:]PORT, got '%s'", r->cli->metrics_listen);
        return -2;
    }
    r->metrics_srv = metrics_http_start(host, (unsigned short)port, collect_render, r->metrics,
                                        KG_METRICS_CONTENT_TYPE, err, sizeof err);
    if (!r->metrics_srv) {
        cli_warn("%s", err);
        return -1;
    }
    fprintf(stderr, "kguard: metrics on %s port %u (GET /metrics)\n", host,
            metrics_http_port(r->metrics_srv));
    return 0;
}

/* ---- signals and output ----------------------------------------------- */

static int open_signals(run_ctx *r)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGPIPE);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
        (r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        cli_warn("cannot take signals: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void handle_signals(run_ctx *r)
{
    struct signalfd_siginfo si;
    while (read(r->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            r->stop = true;
        } else if (si.ssi_signo == SIGHUP) {
            r->reload_at = now_s();
            r->reload_why = "SIGHUP";
        } else if (si.ssi_signo == SIGUSR1) {
            engine_reopen(r->eng);   /* --output and the archive */
        }
    }
}

/* ---- the loop --------------------------------------------------------- */

static void loop(run_ctx *r)
{
    double next_tick = now_s() + 1, next_save = now_s() + SAVE_EVERY;
    while (!r->stop) {
        struct pollfd p[4 + CLI_MAX_FOLLOW];
        int n = 0, timeout = r->nats ? 0 : TICK_MS;   /* a fetch waits instead */
        double t;
        p[n++] = (struct pollfd){r->sigfd, POLLIN, 0};
        p[n++] = (struct pollfd){r->inofd, POLLIN, 0};
        p[n++] = (struct pollfd){r->queue ? queue_fd(r->queue) : -1, POLLIN, 0};
        p[n++] = (struct pollfd){r->use_stdin ? STDIN_FILENO : -1, POLLIN, 0};
        for (size_t i = 0; i < r->n_follow; i++)
            p[n++] = (struct pollfd){follow_fd(r->follow[i]), POLLIN, 0};
        if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        handle_signals(r);
        if (r->inofd >= 0 && (p[1].revents & POLLIN))
            drain_inotify(r);
        if (r->queue)
            drain_queue(r, 64);
        if (r->use_stdin && (p[3].revents & (POLLIN | POLLHUP)))
            read_stdin(r);
        poll_follows(r, 8u << 20);
        if (r->nats && !r->stop)
            poll_nats(r);
        t = now_s();
        if (r->reload_at > 0 && t >= r->reload_at) {
            r->reload_at = 0;
            reload(r, r->reload_why ? r->reload_why : "change");
            r->reload_why = NULL;
        }
        if (t >= next_tick) {
            engine_tick(r->eng);
            collect_update(r->metrics, r->eng, r->sinks, r->queue, r->hook);
            next_tick = t + 1;
        }
        if (t >= next_save) {
            engine_save(r->eng);
            next_save = t + SAVE_EVERY;
        }
        if (!r->use_stdin && !r->n_follow && !r->hook && !r->nats)
            r->stop = true;     /* stdin was the only input and it ended */
    }
}

/* Stop taking input, then judge everything already accepted. */
static void shutdown_inputs(run_ctx *r)
{
    if (r->hook) {
        webhook_stop(r->hook);
        r->hook = NULL;
    }
    if (r->queue)
        drain_queue(r, 0);
    poll_follows(r, 0);
}

int cmd_run(const kg_cli *c)
{
    run_ctx r = {0};
    kg_setup s = {0};
    char err[512];
    int rc = 1;

    r.cli = c;
    r.sigfd = r.inofd = -1;
    r.use_stdin = !c->n_follow && !c->listen && !c->nats_url;
    if (c->nargs) {
        cli_warn("run takes no file arguments: use --follow FILE");
        return 2;
    }
    if (open_signals(&r) < 0 || setup_load(c, &s) < 0 || setup_open_sinks(c, &s, true) < 0)
        goto cleanup;
    rewatch(&r, &s);          /* before the engine takes the lists over */
    r.sinks = s.sinks;
    if ((c->listen || c->metrics_listen) && !(r.metrics = collect_new(KGUARD_VERSION, s.eo.id.cluster))) {
        cli_warn("out of memory");
        goto cleanup;
    }
    if (r.metrics)
        s.eo.observer = collect_observer(r.metrics);
    s.eo.live = true;         /* the state's clock is wall time */
    if (!(r.eng = engine_new(&s.eo, &s.lists, &s.config, err, sizeof err))) {
        cli_warn("%s", err);
        goto cleanup;
    }
    if (open_follows(&r) < 0)
        goto cleanup;
    if ((c->listen && (rc = start_webhook(&r)) < 0) ||
        (c->metrics_listen && (rc = start_metrics(&r)) < 0)) {
        rc = rc == -2 ? 2 : 1;
        goto cleanup;
    }
    collect_update(r.metrics, r.eng, r.sinks, r.queue, r.hook);
    rc = 1;
    if (c->nats_url && open_nats(&r) < 0)
        goto cleanup;
    loop(&r);
    shutdown_inputs(&r);
    rc = engine_finish(r.eng) < 0 ? 1 : 0;
    if (c->stats)
        engine_rule_stats(r.eng);
    engine_summary(r.eng);
cleanup:
    metrics_http_stop(r.metrics_srv);
    if (r.hook)
        webhook_stop(r.hook);
    input_nats_close(r.nats);
    for (size_t i = 0; i < r.n_follow; i++)
        follow_close(r.follow[i]);
    queue_free(r.queue);
    engine_free(r.eng);
    unwatch_all(&r);
    if (r.sigfd >= 0)
        close(r.sigfd);
    free(r.sbuf);
    setup_free(&s);
    collect_free(r.metrics);
    return rc;
}
