/*
 * nats_group: the consumer group of the JetStream input (see nats_group.h).
 * Owns the leases (KV bucket DURABLE-owners), the per-cluster durable pull
 * subscriptions, the messages judged but not yet acknowledged, and the
 * checkpoints of each owned cluster's state (KV bucket DURABLE-state).
 * Everything runs on the caller's (the judging) thread.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <nats/nats.h>
#include "kguard/nats_group.h"

#define NAME_MAX_ 128
#define MAX_CLUSTERS 4096
#define CHUNK (256u << 10)         /* bytes of state per KV value */
#define COMMIT_EVERY 0.5           /* seconds a judged message may wait for its ack */
#define PENDING_MAX 2048           /* judged messages waiting, all clusters */
#define KV_WAIT_MS 2000            /* longest one KV request waits */
#define IDLE_SLEEP_MS 20

typedef enum { CL_FREE, CL_OWNED } cl_state;

typedef struct gcluster {
    char name[NAME_MAX_];
    cl_state st;
    uint64_t lease_rev;            /* revision of our owner.CLUSTER */
    double lease_until;            /* stop fetching after (monotonic seconds) */
    uint64_t state_rev;            /* revision of s.CLUSTER we read or wrote; 0: none */
    unsigned long long gen, chunks;   /* the chunks s.CLUSTER points to */
    natsSubscription *sub;
    natsMsg **pending;             /* judged, not acknowledged */
    int npending, cap;
    bool seen;                     /* still in the cluster list */
} gcluster;

struct kg_nats_group {
    natsConnection *nc;
    jsCtx *js;
    kvStore *owners, *states;
    kg_nats_group_opts o;
    char *prefix, *durable, *clusters;
    char instance[NAME_MAX_];
    gcluster *cl;
    size_t ncl, rr;
    double next_cycle, claim_after, oldest_pending;
    int total_pending;
    size_t members;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void say(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "kguard: nats group: ");
    fprintf(stderr, fmt, a, b ? b : "");
    fputc('\n', stderr);
}

static const char *why_of(natsStatus s)
{
    natsStatus ls = NATS_OK;
    const char *last = nats_GetLastError(&ls);
    return ls == s && last && *last ? last : natsStatus_GetText(s);
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* ---- the cluster list ------------------------------------------------- */

static gcluster *find(kg_nats_group *g, const char *name)
{
    for (size_t i = 0; i < g->ncl; i++)
        if (strcmp(g->cl[i].name, name) == 0)
            return &g->cl[i];
    return NULL;
}

static int add_cluster(kg_nats_group *g, const char *name, size_t len)
{
    gcluster *c, *nv;
    char tmp[NAME_MAX_];
    if (len == 0 || len >= NAME_MAX_)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!name_char(name[i]))
            return -1;
    memcpy(tmp, name, len);
    tmp[len] = '\0';
    if ((c = find(g, tmp)) != NULL) {
        c->seen = true;
        return 0;
    }
    if (g->ncl == MAX_CLUSTERS || !(nv = realloc(g->cl, (g->ncl + 1) * sizeof *nv)))
        return -1;
    g->cl = nv;
    c = &g->cl[g->ncl++];
    memset(c, 0, sizeof *c);
    memcpy(c->name, tmp, len + 1);
    c->seen = true;
    return 0;
}

static int add_list(kg_nats_group *g, const char *list)
{
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (add_cluster(g, p, n) < 0)
            return -1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* The clusters the streams' subjects PREFIX.CLUSTER name. */
static void discover(kg_nats_group *g)
{
    jsStreamNamesList *names = NULL;
    jsOptions jo;
    char filter[NAME_MAX_ + 4];
    size_t plen = strlen(g->prefix);
    if (js_StreamNames(&names, g->js, NULL, NULL) != NATS_OK)
        return;
    jsOptions_Init(&jo);
    snprintf(filter, sizeof filter, "%s.*", g->prefix);
    jo.Stream.Info.SubjectsFilter = filter;
    for (int i = 0; i < names->Count; i++) {
        jsStreamInfo *si = NULL;
        if (js_GetStreamInfo(&si, g->js, names->List[i], &jo, NULL) != NATS_OK)
            continue;
        for (int j = 0; si->State.Subjects && j < si->State.Subjects->Count; j++) {
            const char *s = si->State.Subjects->List[j].Subject;
            if (strncmp(s, g->prefix, plen) == 0 && s[plen] == '.')
                add_cluster(g, s + plen + 1, strlen(s + plen + 1));
        }
        jsStreamInfo_Destroy(si);
    }
    jsStreamNamesList_Destroy(names);
}

/* ---- messages judged, waiting for their acknowledgement ---------------- */

static int keep(kg_nats_group *g, gcluster *c, natsMsg *m)
{
    if (c->npending == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        natsMsg **nv = realloc(c->pending, (size_t)cap * sizeof *nv);
        if (!nv)
            return -1;
        c->pending = nv;
        c->cap = cap;
    }
    if (!g->total_pending)
        g->oldest_pending = mono();
    c->pending[c->npending++] = m;
    g->total_pending++;
    return 0;
}

/* Acknowledge (ok) or give back every judged message of c. */
static void settle(kg_nats_group *g, gcluster *c, bool ok)
{
    for (int i = 0; i < c->npending; i++) {
        if (ok)
            natsMsg_Ack(c->pending[i], NULL);
        else
            natsMsg_NakWithDelay(c->pending[i], 500, NULL);
        natsMsg_Destroy(c->pending[i]);
    }
    g->total_pending -= c->npending;
    c->npending = 0;
}

/* ---- state checkpoints ------------------------------------------------ */

/* Put value at key: created when we have no revision, else only over
 * revision *rev (the fencing token); *rev becomes the new revision. */
static natsStatus put_checked(kvStore *kv, const char *key, const char *v, size_t len,
                              uint64_t *rev)
{
    uint64_t nr = 0;
    natsStatus s = *rev ? kvStore_Update(&nr, kv, key, v, (int)len, *rev)
                        : kvStore_Create(&nr, kv, key, v, (int)len);
    if (s == NATS_OK)
        *rev = nr;
    return s;
}

/* Write the chunks of a large state, then (by the caller) the head naming them. */
static natsStatus put_chunks(kg_nats_group *g, gcluster *c, const char *doc, size_t len,
                             unsigned long long gen, unsigned long long n)
{
    char key[NAME_MAX_ + 64];
    natsStatus s = NATS_OK;
    for (unsigned long long i = 0; i < n && s == NATS_OK; i++) {
        size_t off = (size_t)i * CHUNK, part = len - off < CHUNK ? len - off : CHUNK;
        uint64_t rev = 0;
        snprintf(key, sizeof key, "s.%s.%llu.%llu", c->name, gen, i);
        s = kvStore_Put(&rev, g->states, key, doc + off, (int)part);
    }
    return s;
}

static void purge_chunks(kg_nats_group *g, const char *name, unsigned long long gen,
                         unsigned long long n)
{
    char key[NAME_MAX_ + 64];
    for (unsigned long long i = 0; i < n; i++) {
        snprintf(key, sizeof key, "s.%s.%llu.%llu", name, gen, i);
        kvStore_Purge(g->states, key, NULL);
    }
}

/* Save c's state: inline in s.CLUSTER when small, else in chunks that a
 * new head names.  Returns 0, -1 on a transport error, -2 when the
 * revision moved (another kguard took the cluster over). */
static int checkpoint(kg_nats_group *g, gcluster *c, const kg_nats_cb *cb)
{
    size_t len = 0, hlen;
    char *doc, head[96], key[NAME_MAX_ + 4], *val = NULL;
    unsigned long long n, gen = c->state_rev;
    natsStatus s;
    int rc = -1;

    if (!g->states || !cb->save)
        return 0;   /* static clusters: no state travels */
    if (!(doc = cb->save(cb->ud, c->name, &len)))
        return -1;
    n = len > CHUNK ? (len + CHUNK - 1) / CHUNK : 0;
    hlen = (size_t)snprintf(head, sizeof head, "kguard-cstate %llu %llu\n", n, gen);
    if (!(val = malloc(hlen + (n ? 0 : len)))) {
        free(doc);
        return -1;
    }
    memcpy(val, head, hlen);
    if (!n)
        memcpy(val + hlen, doc, len);
    snprintf(key, sizeof key, "s.%s", c->name);
    s = n ? put_chunks(g, c, doc, len, gen, n) : NATS_OK;
    if (s == NATS_OK)
        s = put_checked(g->states, key, val, hlen + (n ? 0 : len), &c->state_rev);
    if (s == NATS_OK) {
        if (c->chunks && c->gen != gen)
            purge_chunks(g, c->name, c->gen, c->chunks);
        c->gen = gen;
        c->chunks = n;
        rc = 0;
    } else {
        rc = s == NATS_ERR || s == NATS_NOT_FOUND ? -2 : -1;
        say("cluster %s: checkpoint failed: %s", c->name, why_of(s));
    }
    free(doc);
    free(val);
    return rc;
}

/* Read s.CLUSTER (and its chunks) into a malloc'd document; *len 0 and
 * NULL when there is none.  -1 on a transport error. */
static int read_state(kg_nats_group *g, gcluster *c, char **out, size_t *len, uint64_t *rev)
{
    char key[NAME_MAX_ + 64];
    kvEntry *e = NULL;
    unsigned long long n = 0, gen = 0;
    const char *v, *nl;
    size_t vlen, have = 0;
    char *doc = NULL;
    natsStatus s;

    *out = NULL;
    *len = 0;
    *rev = 0;
    snprintf(key, sizeof key, "s.%s", c->name);
    if ((s = kvStore_Get(&e, g->states, key)) == NATS_NOT_FOUND)
        return 0;
    if (s != NATS_OK)
        return -1;
    *rev = kvEntry_Revision(e);
    v = kvEntry_Value(e);
    vlen = (size_t)kvEntry_ValueLen(e);
    nl = v ? memchr(v, '\n', vlen) : NULL;
    if (!nl || sscanf(v, "kguard-cstate %llu %llu", &n, &gen) != 2) {
        kvEntry_Destroy(e);
        return 0;   /* not ours to read: start fresh */
    }
    if (!n) {
        vlen -= (size_t)(nl + 1 - v);
        if ((doc = malloc(vlen + 1)) != NULL) {
            memcpy(doc, nl + 1, vlen);
            have = vlen;
        }
    }
    kvEntry_Destroy(e);
    for (unsigned long long i = 0; i < n; i++) {
        char *nd;
        snprintf(key, sizeof key, "s.%s.%llu.%llu", c->name, gen, i);
        if (kvStore_Get(&e, g->states, key) != NATS_OK ||
            !(nd = realloc(doc, have + (size_t)kvEntry_ValueLen(e) + 1))) {
            kvEntry_Destroy(e);
            free(doc);
            return -1;
        }
        doc = nd;
        memcpy(doc + have, kvEntry_Value(e), (size_t)kvEntry_ValueLen(e));
        have += (size_t)kvEntry_ValueLen(e);
        kvEntry_Destroy(e);
        e = NULL;
    }
    c->gen = gen;
    c->chunks = n;
    *out = doc;
    *len = have;
    return 0;
}

/* Load c's state and take the fencing token: the head is written again
 * over the revision read, so a checkpoint of the previous owner that comes
 * later fails.  0, or -1. */
static int take_state(kg_nats_group *g, gcluster *c, const kg_nats_cb *cb)
{
    char key[NAME_MAX_ + 4], err[256], *doc = NULL;
    size_t len;
    uint64_t rev;
    int rc = -1;

    if (!g->states) {
        if (cb->drop)
            cb->drop(cb->ud, c->name);
        return 0;
    }
    snprintf(key, sizeof key, "s.%s", c->name);
    for (int attempt = 0; attempt < 3 && rc < 0; attempt++) {
        kvEntry *e = NULL;
        free(doc);
        if (read_state(g, c, &doc, &len, &rev) < 0)
            continue;
        c->state_rev = rev;
        if (rev) {   /* touch the head: same value, new revision */
            if (kvStore_GetRevision(&e, g->states, key, rev) != NATS_OK)
                continue;
            rc = put_checked(g->states, key, kvEntry_Value(e), (size_t)kvEntry_ValueLen(e),
                             &c->state_rev) == NATS_OK ? 0 : -1;
            kvEntry_Destroy(e);
        } else {
            c->gen = c->chunks = 0;
            rc = 0;
        }
    }
    if (rc == 0 && doc && cb->load && cb->load(cb->ud, c->name, doc, len, err, sizeof err) < 0)
        say("cluster %s: saved state unusable (%s); starting it fresh", c->name, err);
    else if (rc == 0 && !doc && cb->drop)
        cb->drop(cb->ud, c->name);
    if (rc == 0 && doc) {
        char note[64];
        snprintf(note, sizeof note, " (%zu bytes of state)", len);
        say("cluster %s: state loaded%s", c->name, note);
    }
    free(doc);
    return rc;
}

/* ---- owning a cluster --------------------------------------------------- */

static int bind(kg_nats_group *g, gcluster *c)
{
    char subject[2 * NAME_MAX_], durable[2 * NAME_MAX_];
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsStatus s;
    double wait = g->o.lease_s * 2 > 5 ? g->o.lease_s * 2 : 5;

    snprintf(subject, sizeof subject, "%s.%s", g->prefix, c->name);
    snprintf(durable, sizeof durable, "%s-%s", g->durable, c->name);
    jsSubOptions_Init(&so);
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = (int64_t)(wait * 1e9);
    so.Config.MaxAckPending = 4 * PENDING_MAX;
    s = js_PullSubscribe(&c->sub, g->js, subject, durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        say("cluster %s: cannot bind its consumer: %s", c->name, why_of(s));
        return -1;
    }
    return 0;
}

/* Stop consuming c and forget its state (another kguard has it now, or
 * will). */
static void let_go(kg_nats_group *g, gcluster *c, const kg_nats_cb *cb, const char *why)
{
    settle(g, c, false);
    natsSubscription_Destroy(c->sub);   /* the durable consumer stays */
    c->sub = NULL;
    if (cb->drop)
        cb->drop(cb->ud, c->name);
    c->st = CL_FREE;
    c->state_rev = c->lease_rev = 0;
    c->gen = c->chunks = 0;
    say("cluster %s: %s", c->name, why);
}

static char *owner_key(char *buf, size_t n, const gcluster *c)
{
    snprintf(buf, n, "owner.%s", c->name);
    return buf;
}

/* Take c: its lease (created, or ours already), its state, its consumer. */
static int claim(kg_nats_group *g, gcluster *c, const kg_nats_cb *cb)
{
    char key[NAME_MAX_ + 8];
    double t = mono();
    uint64_t rev = 0;
    natsStatus s = NATS_OK;

    if (g->owners) {
        s = kvStore_Create(&rev, g->owners, owner_key(key, sizeof key, c), g->instance,
                           (int)strlen(g->instance));
        if (s != NATS_OK)
            return -1;   /* someone holds it */
    }
    c->lease_rev = rev;
    c->lease_until = t + g->o.lease_s * 0.75;
    if (take_state(g, c, cb) < 0 || bind(g, c) < 0) {
        if (g->owners)
            kvStore_Delete(g->owners, key);
        c->lease_rev = 0;
        return -1;
    }
    c->st = CL_OWNED;
    say("cluster %s: claimed by %s", c->name, g->instance);
    return 0;
}

/* Commit c now (its messages judged), then hand it back. */
static void release(kg_nats_group *g, gcluster *c, const kg_nats_cb *cb, const char *why);

static void renew(kg_nats_group *g, gcluster *c, const kg_nats_cb *cb)
{
    char key[NAME_MAX_ + 8];
    double t = mono();
    uint64_t rev = 0;
    kvEntry *e = NULL;
    natsStatus s = kvStore_Update(&rev, g->owners, owner_key(key, sizeof key, c), g->instance,
                                  (int)strlen(g->instance), c->lease_rev);
    if (s != NATS_OK) {
        /* expired (no key) or taken: look */
        s = kvStore_Get(&e, g->owners, key);
        if (s == NATS_NOT_FOUND)
            s = kvStore_Create(&rev, g->owners, key, g->instance, (int)strlen(g->instance));
        else if (s == NATS_OK && strcmp(kvEntry_ValueString(e), g->instance) == 0)
            s = kvStore_Update(&rev, g->owners, key, g->instance, (int)strlen(g->instance),
                               kvEntry_Revision(e));
        else if (s == NATS_OK) {
            kvEntry_Destroy(e);
            let_go(g, c, cb, "lease taken by another kguard; stopped consuming");
            return;
        }
        kvEntry_Destroy(e);
    }
    if (s == NATS_OK) {
        c->lease_rev = rev;
        c->lease_until = t + g->o.lease_s * 0.75;
    }
}

/* ---- the lease cycle ---------------------------------------------------- */

static void count_members(kg_nats_group *g)
{
    kvKeysList keys = {0};
    size_t n = 0;
    bool self = false;
    if (kvStore_Keys(&keys, g->owners, NULL) != NATS_OK)
        return;
    for (int i = 0; i < keys.Count; i++) {
        n += strncmp(keys.Keys[i], "member.", 7) == 0;
        self = self || strcmp(keys.Keys[i] + (strncmp(keys.Keys[i], "member.", 7) ? 0 : 7),
                              g->instance) == 0;
    }
    kvKeysList_Destroy(&keys);
    if (self)   /* else the listing missed keys (a node away): keep the last count */
        g->members = n;
}

static size_t owned(const kg_nats_group *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->ncl; i++)
        n += g->cl[i].st == CL_OWNED;
    return n;
}

size_t nats_group_owned(const kg_nats_group *g)
{
    return g ? owned(g) : 0;
}

static void cycle(kg_nats_group *g, const kg_nats_cb *cb)
{
    char key[NAME_MAX_ + 8];
    size_t fair, mine, start;
    uint64_t rev;

    g->next_cycle = mono() + g->o.lease_s / 3;
    if (!g->o.clusters)
        discover(g);
    if (!g->owners) {
        for (size_t i = 0; i < g->ncl; i++)
            if (g->cl[i].st == CL_FREE)
                claim(g, &g->cl[i], cb);
        return;
    }
    snprintf(key, sizeof key, "member.%s", g->instance);
    if (kvStore_PutString(&rev, g->owners, key, g->instance) != NATS_OK)
        return;   /* JetStream unreachable: the fences decide */
    count_members(g);
    for (size_t i = 0; i < g->ncl; i++)
        if (g->cl[i].st == CL_OWNED)
            renew(g, &g->cl[i], cb);
    fair = (g->ncl + g->members - 1) / g->members;
    for (size_t i = g->ncl; i-- > 0 && (mine = owned(g)) > fair;)
        if (g->cl[i].st == CL_OWNED)
            release(g, &g->cl[i], cb, "released (fair share)");
    if (mono() < g->claim_after || !g->ncl)
        return;
    start = (size_t)getpid() % g->ncl;
    for (size_t k = 0; k < g->ncl && owned(g) < fair; k++) {
        gcluster *c = &g->cl[(start + k) % g->ncl];
        if (c->st == CL_FREE)
            claim(g, c, cb);
    }
}

/* ---- commit: checkpoint, then acknowledge -------------------------------- */

static void commit_one(kg_nats_group *g, gcluster *c, const kg_nats_cb *cb, bool sinks_ok)
{
    int rc;
    if (!c->npending)
        return;
    if (!sinks_ok) {
        settle(g, c, false);
        return;
    }
    rc = checkpoint(g, c, cb);
    if (rc == -2) {
        let_go(g, c, cb, "taken over by another kguard before the checkpoint; its messages go back");
        return;
    }
    if (rc == 0)
        settle(g, c, true);
    /* a transport error: keep them and try again at the next commit */
}

static void commit_all(kg_nats_group *g, const kg_nats_cb *cb)
{
    bool ok;
    if (!g->total_pending)
        return;
    ok = cb->commit(cb->ud) == 0;
    for (size_t i = 0; i < g->ncl; i++)
        commit_one(g, &g->cl[i], cb, ok);
    natsConnection_FlushTimeout(g->nc, KV_WAIT_MS);
    if (g->total_pending)
        g->oldest_pending = mono();
}

static void release(kg_nats_group *g, gcluster *c, const kg_nats_cb *cb, const char *why)
{
    char key[NAME_MAX_ + 8];
    if (c->npending) {
        bool ok = cb->commit(cb->ud) == 0;
        commit_one(g, c, cb, ok);
        natsConnection_FlushTimeout(g->nc, KV_WAIT_MS);
    }
    if (c->st != CL_OWNED)
        return;   /* lost while committing */
    if (!c->npending && checkpoint(g, c, cb) == 0 && g->owners)
        kvStore_Delete(g->owners, owner_key(key, sizeof key, c));
    let_go(g, c, cb, why);
}

/* ---- fetching ------------------------------------------------------------- */

static int fetch(kg_nats_group *g, gcluster *c, int max, const kg_nats_cb *cb)
{
    natsMsgList list = {0};
    jsFetchRequest req;
    natsStatus s;
    int n = 0;

    jsFetchRequest_Init(&req);
    req.Batch = max;
    req.NoWait = true;
    req.Expires = (int64_t)200 * 1000000;
    s = natsSubscription_FetchRequest(&list, c->sub, &req);
    if (s != NATS_OK) {
        natsMsgList_Destroy(&list);
        return 0;
    }
    for (int i = 0; i < list.Count; i++) {
        natsMsg *m = list.Msgs[i];
        char origin[2 * NAME_MAX_ + 32];
        jsMsgMetaData *meta = NULL;
        unsigned long long seq = 0;
        if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
            seq = (unsigned long long)meta->Sequence.Stream;
            jsMsgMetaData_Destroy(meta);
        }
        snprintf(origin, sizeof origin, "nats:%s#%llu", natsMsg_GetSubject(m), seq);
        cb->judge(cb->ud, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), c->name, origin);
        if (keep(g, c, m) < 0)
            natsMsg_Destroy(m);   /* redelivered after the ack wait */
        list.Msgs[i] = NULL;
        n++;
    }
    natsMsgList_Destroy(&list);
    return n;
}

int nats_group_poll(kg_nats_group *g, int max, int timeout_ms, const kg_nats_cb *cb,
                    char *err, size_t errlen)
{
    double t = mono();
    int got = 0;
    (void)err;
    (void)errlen;
    if (t >= g->next_cycle) {
        commit_all(g, cb);
        cycle(g, cb);
    }
    for (size_t k = 0; k < g->ncl && g->total_pending < PENDING_MAX; k++) {
        gcluster *c = &g->cl[(g->rr + k) % g->ncl];
        if (c->st == CL_OWNED && (!g->owners || mono() < c->lease_until))
            got += fetch(g, c, max, cb);
        /* judged messages wait at most about COMMIT_EVERY (and never an ack wait);
         * leases are renewed on time even when a round of fetches is long */
        if (g->total_pending && mono() - g->oldest_pending >= COMMIT_EVERY)
            commit_all(g, cb);
        if (mono() >= g->next_cycle) {
            commit_all(g, cb);
            cycle(g, cb);
        }
    }
    g->rr++;
    if (!got || g->total_pending >= PENDING_MAX || mono() - g->oldest_pending >= COMMIT_EVERY)
        commit_all(g, cb);
    if (!got) {
        struct timespec ts = {0, (long)(timeout_ms < IDLE_SLEEP_MS ? timeout_ms : IDLE_SLEEP_MS) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return got;
}

/* ---- open and close -------------------------------------------------------- */

static int open_bucket(kg_nats_group *g, kvStore **kv, const char *suffix, double ttl_s,
                       char *err, size_t errlen)
{
    char name[2 * NAME_MAX_];
    kvConfig kc;
    natsStatus s;
    snprintf(name, sizeof name, "%s-%s", g->durable, suffix);
    kvConfig_Init(&kc);
    kc.Bucket = name;
    kc.History = 1;
    kc.TTL = (int64_t)(ttl_s * 1e9);
    kc.Replicas = g->o.replicas > 0 ? g->o.replicas : 1;
    kc.StorageType = js_FileStorage;
    s = js_CreateKeyValue(kv, g->js, &kc);
    if (s != NATS_OK && js_KeyValue(kv, g->js, name) == NATS_OK)
        s = NATS_OK;   /* there already, with another configuration */
    if (s != NATS_OK) {
        snprintf(err, errlen, "KV bucket %s: %s", name, why_of(s));
        return -1;
    }
    return 0;
}

static void name_instance(kg_nats_group *g)
{
    char host[64] = "kguard";
    size_t j = 0;
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (size_t i = 0; host[i] && j < 60; i++)
        g->instance[j++] = name_char(host[i]) ? host[i] : '_';
    snprintf(g->instance + j, sizeof g->instance - j, "-%ld", (long)getpid());
}

kg_nats_group *nats_group_open(void *nc, const kg_nats_group_opts *o, char *err,
                               size_t errlen)
{
    kg_nats_group *g = calloc(1, sizeof *g);
    jsOptions jo;
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->nc = nc;
    g->o = *o;
    g->prefix = strdup(o->prefix);
    g->durable = strdup(o->durable);
    g->clusters = o->clusters ? strdup(o->clusters) : NULL;
    g->o.clusters = g->clusters;
    g->members = 1;
    name_instance(g);
    jsOptions_Init(&jo);
    jo.Wait = KV_WAIT_MS;
    if (!g->prefix || !g->durable || (o->clusters && !g->clusters)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (g->clusters && add_list(g, g->clusters) < 0) {
        snprintf(err, errlen, "--nats-clusters: a cluster name is empty, too long or holds a "
                              "character other than letters, digits, '-' and '_'");
        goto fail;
    }
    if (natsConnection_JetStream(&g->js, g->nc, &jo) != NATS_OK) {
        snprintf(err, errlen, "JetStream: %s", why_of(NATS_ERR));
        goto fail;
    }
    if (o->leases && (open_bucket(g, &g->owners, "owners", o->lease_s, err, errlen) < 0 ||
                      open_bucket(g, &g->states, "state", 0, err, errlen) < 0))
        goto fail;
    g->claim_after = mono() + (o->leases ? o->lease_s / 3 : 0);
    say("instance %s%s", g->instance, o->leases ? " (leases)" : " (static clusters)");
    return g;
fail:
    nats_group_close(g, NULL);
    return NULL;
}

void nats_group_close(kg_nats_group *g, const kg_nats_cb *cb)
{
    char key[NAME_MAX_ + 8];
    if (!g)
        return;
    if (cb) {
        commit_all(g, cb);
        for (size_t i = 0; i < g->ncl; i++)
            if (g->cl[i].st == CL_OWNED)
                release(g, &g->cl[i], cb, "released (stopping)");
        if (g->owners) {
            snprintf(key, sizeof key, "member.%s", g->instance);
            kvStore_Delete(g->owners, key);
        }
    }
    for (size_t i = 0; i < g->ncl; i++) {
        for (int j = 0; j < g->cl[i].npending; j++)
            natsMsg_Destroy(g->cl[i].pending[j]);
        free(g->cl[i].pending);
        natsSubscription_Destroy(g->cl[i].sub);
    }
    free(g->cl);
    kvStore_Destroy(g->owners);
    kvStore_Destroy(g->states);
    jsCtx_Destroy(g->js);
    free(g->prefix);
    free(g->durable);
    free(g->clusters);
    free(g);
}
